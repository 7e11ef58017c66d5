"""The demo company (Crema & Co., home coffee equipment) with planted truths; see docs/demo.md."""

from salesintel.demo.generate import Company, generate, generate_store, load_order, write_demo
from salesintel.demo.winback_round import play_winback_round

__all__ = ["Company", "generate", "generate_store", "load_order", "play_winback_round", "write_demo"]
