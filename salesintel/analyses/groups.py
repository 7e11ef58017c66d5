"""Customer groups: the dimensions a customer belongs to a group of, the built-in ones and their own.

Built-in dimensions are age band (from ``birth_year``), gender, region, country and source. A customers
export's own columns (industry, plan, loyalty tier ... kept as custom attributes at load) are dimensions
too when they are text or yes/no with at most ``max_values`` different values: a column with a value per
customer (an e-mail, a note) makes groups of one, which compare nothing.

Example:
    >>> import ibis, datetime as d
    >>> customers = ibis.memtable({"customer_id": ["c1", "c2"], "birth_year": [1990, 1950],
    ...                            "industry": ["retail", "banking"]})
    >>> custom_dimensions(customers)
    ['industry']
    >>> groups = customer_groups(customers, as_of=d.date(2025, 1, 1), dimensions=("age_band", "industry"),
    ...                          pairs=False)
    >>> sorted(groups.execute().itertuples(index=False, name=None))  # doctest: +NORMALIZE_WHITESPACE
    [('c1', 'age_band', '30-44'), ('c1', 'industry', 'retail'),
     ('c2', 'age_band', '60+'), ('c2', 'industry', 'banking')]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date

from salesintel import schema
from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")

DIMENSIONS = ("age_band", "gender", "region", "country", "source")
MAX_VALUES = 30


def age_band(birth_year: ir.IntegerValue, as_of: date) -> ir.StringValue:
    age = as_of.year - birth_year
    return ibis.cases(
        (age < 30, "18-29"), (age < 45, "30-44"), (age < 60, "45-59"), (age >= 60, "60+"), else_=ibis.null("string")
    )


def custom_dimensions(customers: ir.Table, *, max_values: int = MAX_VALUES) -> list[str]:
    """The customers' own text or yes/no columns with 1 to ``max_values`` different values, by name."""
    canonical = set(schema.get("customers").names)
    typed = customers.schema()
    candidates = [
        c for c in customers.columns if c not in canonical and (typed[c].is_string() or typed[c].is_boolean())
    ]
    if not candidates:
        return []
    counts = customers.aggregate(**{c: customers[c].nunique() for c in candidates}).execute().iloc[0]
    return sorted(c for c in candidates if 0 < int(counts[c]) <= max_values)


def customer_groups(
    customers: ir.Table, *, as_of: date, dimensions: Sequence[str] = DIMENSIONS, pairs: bool = True
) -> ir.Table:
    """One row per customer and group they belong to: ``customer_id, dimension, group``.

    With ``pairs``, every pair of dimensions is a dimension too (``age_band x region``, group ``30-44 & north``).
    """
    c = customers.mutate(age_band=age_band(customers.birth_year, as_of))
    dims = [(d,) for d in dimensions] + (list(itertools.combinations(dimensions, 2)) if pairs else [])
    parts = []
    for dim in dims:
        value = (
            ibis.literal(" & ").join([c[d].cast("string") for d in dim]) if len(dim) > 1 else c[dim[0]].cast("string")
        )
        part = c.select("customer_id", dimension=ibis.literal(" x ".join(dim)), group=value)
        parts.append(part.filter(part.group.notnull()))
    return ibis.union(*parts)


__all__ = ["DIMENSIONS", "MAX_VALUES", "age_band", "custom_dimensions", "customer_groups"]
