"""Analyses, one module per business question, each registered once in :mod:`registry`."""

from salesintel.analyses import affinity, basket_rules, offers, profiles, sequential_rules  # noqa: F401 - registers

__all__ = ["affinity", "basket_rules", "offers", "profiles", "sequential_rules"]
