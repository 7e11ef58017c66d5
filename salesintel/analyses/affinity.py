"""Demographic and group affinity: which groups buy which categories (and products) more than everyone else.

For each group (age band, gender, region, country, source and pairs of them) and item: the share of the
group's buyers who bought the item, the share among all other buyers, lift = group rate / other rate, a
two-proportion z-test (one-sided, group > others) and Benjamini-Hochberg adjusted p-values over every
comparison made. Groups with fewer than ``min_group_size`` buyers are not tested.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from scipy import stats

from salesintel.analyses.registry import Analysis, register
from salesintel.analyses.timeline import orders_until, resolve_as_of

DIMENSIONS = ("age_band", "gender", "region", "country", "source")
COLUMNS = ["dimension", "group", "level", "item", "group_customers", "group_buyers", "group_rate", "other_rate",
           "lift", "revenue", "p_value", "q_value"]


@dataclass(frozen=True)
class AffinityParams:
    level: str = "category"  # category or product
    min_group_size: int = 100
    pairs: bool = True
    as_of: date | None = None


def age_band(birth_year: ir.IntegerValue, as_of: date) -> ir.StringValue:
    age = as_of.year - birth_year
    return ibis.cases((age < 30, "18-29"), (age < 45, "30-44"), (age < 60, "45-59"), (age >= 60, "60+"),
                      else_=ibis.null("string"))


def customer_groups(customers: ir.Table, *, as_of: date, pairs: bool = True) -> ir.Table:
    """One row per customer and group they belong to: ``customer_id, dimension, group``."""
    c = customers.mutate(age_band=age_band(customers.birth_year, as_of))
    dims = [(d,) for d in DIMENSIONS] + (list(itertools.combinations(DIMENSIONS, 2)) if pairs else [])
    parts = []
    for dim in dims:
        value = ibis.literal(" & ").join([c[d].cast("string") for d in dim]) if len(dim) > 1 else c[dim[0]].cast("string")
        part = c.select("customer_id", dimension=ibis.literal(" x ".join(dim)), group=value)
        parts.append(part.filter(part.group.notnull()))
    return ibis.union(*parts)


def group_affinity(orders: ir.Table, customers: ir.Table, products: ir.Table, *, as_of: date,
                   level: str = "category", min_group_size: int = 100, pairs: bool = True) -> pa.Table:
    """The affinity table (columns :data:`COLUMNS`), most significant lift first."""
    o = orders_until(orders, as_of)
    o = o.filter(o.amount > 0).join(products.select("product_id", "category"), "product_id")
    o = o.mutate(item=o.category if level == "category" else o.product_id)
    bought = o.group_by("customer_id", "item").aggregate(revenue=o.amount.sum())
    buyers = o.select("customer_id").distinct()
    groups = customer_groups(customers, as_of=as_of, pairs=pairs).semi_join(buyers, "customer_id")
    sizes = groups.group_by("dimension", "group").aggregate(group_customers=groups.count())
    sizes = sizes.filter(sizes.group_customers >= min_group_size)
    hits = groups.join(bought, "customer_id").group_by("dimension", "group", "item").aggregate(
        group_buyers=ibis._.count(), revenue=ibis._.revenue.sum())
    totals = bought.group_by("item").aggregate(item_buyers=bought.count())
    n_buyers = int(buyers.count().execute())
    df = hits.join(sizes, ["dimension", "group"]).join(totals, "item").execute()
    return _statistics(df, n_buyers, level)


def _statistics(df, n_buyers: int, level: str) -> pa.Table:
    """Rates, lift and multiple-comparison-corrected p-values on the aggregated counts."""
    others = n_buyers - df.group_customers
    df["group_rate"] = df.group_buyers / df.group_customers
    df["other_rate"] = (df.item_buyers - df.group_buyers) / others.clip(lower=1)
    df["lift"] = df.group_rate / df.other_rate.clip(lower=1e-9)
    pooled = df.item_buyers / n_buyers
    se = np.sqrt(pooled * (1 - pooled) * (1 / df.group_customers + 1 / others.clip(lower=1)))
    z = (df.group_rate - df.other_rate) / se.clip(lower=1e-12)
    df["p_value"] = stats.norm.sf(z)
    df["q_value"] = stats.false_discovery_control(df.p_value.to_numpy(), method="bh") if len(df) else []
    df["level"] = level
    df = df.sort_values(["q_value", "lift"], ascending=[True, False])
    return pa.Table.from_pandas(df[COLUMNS].reset_index(drop=True), preserve_index=False)


def _run(store, params: AffinityParams) -> dict:
    orders = store.table("orders")
    as_of = resolve_as_of(orders, params.as_of)
    table = group_affinity(orders, store.table("customers"), store.table("products"), as_of=as_of,
                           level=params.level, min_group_size=params.min_group_size, pairs=params.pairs)
    return {"affinity": table}


def _charts(results: dict) -> list:
    import plotly.express as px

    df = results["affinity"]
    single = df[~df.dimension.str.contains(" x ")]
    grid = single.assign(label=single.dimension + ": " + single.group).pivot_table(
        index="label", columns="item", values="lift")
    return [px.imshow(grid, color_continuous_scale="RdBu_r", color_continuous_midpoint=1.0, aspect="auto",
                      title="Purchase lift by group and category (1 = like everyone else)")]


AFFINITY = register(Analysis(
    name="affinity", title="Which groups want which products",
    question="Which products should we focus on for a group, and which groups want a product most?",
    run=_run, params=AffinityParams, charts=_charts, order_by={"affinity": ("lift", True)},
))
