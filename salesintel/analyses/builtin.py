"""The built-in analyses, in the order front ends list them; importing this module registers them."""

from salesintel.analyses import (  # noqa: F401 - importing registers them
    profiles, sequential_rules, basket_rules, affinity, offers, clv, decline, reactivation,
)
