"""The demo company (Crema & Co., home coffee equipment) with planted truths; see docs/demo.md."""

from salesintel.demo.generate import Company, generate, load_order, write_demo

__all__ = ["Company", "generate", "load_order", "write_demo"]
