"""Analyses, one module per business question, each registered once in :mod:`registry`."""

from salesintel.analyses import (  # noqa: F401 - importing registers them
    affinity, basket_rules, clv, decline, offers, profiles, sequential_rules,
)

__all__ = ["affinity", "basket_rules", "clv", "decline", "offers", "profiles", "sequential_rules"]
