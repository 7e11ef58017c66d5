"""The built-in analyses, in the order front ends list them; importing this module registers them."""

from salesintel.analyses import (  # noqa: F401 - importing registers them
    affinity,
    basket_rules,
    clv,
    decline,
    offers,
    profiles,
    reactivation,
    sequential_rules,
)
