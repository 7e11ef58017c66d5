"""Demographic and group affinity: which groups buy which categories (and products) more than everyone else.

For each group (age band, gender, region, country, source, the customers' own attributes such as industry or
plan, see :mod:`salesintel.analyses.groups`, and pairs of them) and item: the share of the
group's buyers who bought the item, the share among all other buyers, lift = group rate / other rate, a
two-proportion z-test (one-sided, group > others) and Benjamini-Hochberg adjusted p-values over every
comparison made. Groups with fewer than ``min_group_size`` buyers are not tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import numpy as np
import pyarrow as pa

from salesintel.analyses.groups import DIMENSIONS, custom_dimensions, customer_groups
from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.analyses.timeline import orders_until
from salesintel.errors import UserInputError
from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")
stats = lazy("scipy.stats")

COLUMNS = [
    "dimension",
    "group",
    "level",
    "item",
    "group_customers",
    "group_buyers",
    "group_rate",
    "other_rate",
    "lift",
    "revenue",
    "p_value",
    "q_value",
]


@dataclass(frozen=True)
class AffinityParams(Params):
    analysis_name: ClassVar[str] = "affinity"
    level: str = param(
        "category",
        "Compare groups on categories or on single products.",
        choices=("category", "product"),
        label="by {}",
    )
    min_group_size: int = param(
        100, "Groups with fewer buyers than this are not tested.", ge=1, label="groups of at least {} buyers"
    )
    pairs: bool = param(True, "Also test pairs of dimensions (e.g. age band x region).", label="pairs: {}")
    attributes: bool = param(
        True,
        "Also compare groups by the customers' own columns (text or yes/no, at most 30 values).",
        label="own attributes: {}",
    )


COLUMN_DECLS = (
    Col("dimension", "string", "Dimension"),
    Col("group", "string", "Group"),
    Col("level", "string", "Compared on"),
    Col("item", "string", "Category or product", refers="products"),
    Col("group_customers", "int", "Buyers in the group", "count"),
    Col("group_buyers", "int", "Of those, bought the item", "count"),
    Col("group_rate", "float", "Share of the group who bought it", "percent"),
    Col("other_rate", "float", "Share of everyone else who bought it", "percent"),
    Col("lift", "float", "Lift (group share / everyone else's)", "ratio"),
    Col("revenue", "float", "Revenue from the group", "money"),
    Col("p_value", "float", "p-value (one-sided two-proportion z-test)", "p"),
    Col("q_value", "float", "q-value (Benjamini-Hochberg)", "p"),
)


def group_affinity(
    orders: ir.Table,
    customers: ir.Table,
    products: ir.Table,
    *,
    as_of: date,
    level: str = "category",
    min_group_size: int = 100,
    pairs: bool = True,
    attributes: bool = True,
) -> pa.Table:
    """The affinity table (columns :data:`COLUMNS`), most significant lift first."""
    if level not in ("category", "product"):
        raise UserInputError(f"level must be category or product, not {level!r}")
    o = orders_until(orders, as_of)
    o = o.filter(o.amount > 0).join(products.select("product_id", "category"), "product_id")
    o = o.mutate(item=o.category if level == "category" else o.product_id)
    bought = o.group_by("customer_id", "item").aggregate(revenue=o.amount.sum())
    buyers = o.select("customer_id").distinct()
    dimensions = DIMENSIONS + tuple(custom_dimensions(customers) if attributes else ())
    groups = customer_groups(customers, as_of=as_of, dimensions=dimensions, pairs=pairs)
    groups = groups.semi_join(buyers, "customer_id")
    groups = groups.filter(~groups.dimension.isin(_one_valued(groups)))
    sizes = groups.group_by("dimension", "group").aggregate(group_customers=groups.count())
    sizes = sizes.filter(sizes.group_customers >= min_group_size)
    hits = (
        groups.join(bought, "customer_id")
        .group_by("dimension", "group", "item")
        .aggregate(group_buyers=ibis._.count(), revenue=ibis._.revenue.sum())
    )
    totals = bought.group_by("item").aggregate(item_buyers=bought.count())
    n_buyers = int(buyers.count().execute())
    df = hits.join(sizes, ["dimension", "group"]).join(totals, "item").execute()
    return _statistics(df, n_buyers, level)


def _one_valued(groups: ir.Table) -> list[str]:
    """Dimensions in which every buyer has the same value (everyone is in country DE), and the pairs built
    on them: a group with no one outside it has no comparison, so no lift."""
    n = groups.group_by("dimension").aggregate(values=groups.group.nunique()).execute()
    single = set(n.dimension[n["values"] < 2])
    parts = {d: set(d.split(" x ")) for d in n.dimension}
    return sorted(d for d, p in parts.items() if p & single)


def _statistics(df, n_buyers: int, level: str) -> pa.Table:
    """Rates, lift and multiple-comparison-corrected p-values on the aggregated counts."""
    df = df[df.group_customers < n_buyers].copy()  # a comparison group must have someone in it
    others = n_buyers - df.group_customers
    df["group_rate"] = df.group_buyers / df.group_customers
    df["other_rate"] = (df.item_buyers - df.group_buyers) / others
    # nobody else bought it: the lift is unbounded, reported as missing rather than as a huge number
    df["lift"] = (df.group_rate / df.other_rate).where(df.other_rate > 0)
    pooled = df.item_buyers / n_buyers
    se = np.sqrt(pooled * (1 - pooled) * (1 / df.group_customers + 1 / others))
    z = (df.group_rate - df.other_rate) / se.clip(lower=1e-12)
    df["p_value"] = stats.norm.sf(z)
    df["q_value"] = stats.false_discovery_control(df.p_value.to_numpy(), method="bh") if len(df) else []
    df["level"] = level
    df = df.sort_values(["q_value", "lift"], ascending=[True, False])
    return pa.Table.from_pandas(df[COLUMNS].reset_index(drop=True), preserve_index=False)


def _compute(ctx, params: AffinityParams) -> dict:
    table = group_affinity(
        ctx.table("orders"),
        ctx.table("customers"),
        ctx.table("products"),
        as_of=params.as_of,
        level=params.level,
        min_group_size=params.min_group_size,
        pairs=params.pairs,
        attributes=params.attributes,
    )
    return {"affinity": table}


def _charts(read) -> list:
    import numpy as np
    import plotly.express as px

    t = read("affinity")
    df = t.filter(~t.dimension.contains(" x ") & t.lift.notnull()).execute()
    if df.empty:
        return []
    grid = df.assign(label=df.dimension.str.replace("_", " ") + ": " + df.group).pivot_table(
        index="label", columns="item", values="lift"
    )
    # log2 colour scale capped at 4x either way: one extreme cell must not wash out the rest
    fig = px.imshow(
        np.log2(grid.clip(0.25, 4)),
        color_continuous_scale="RdBu_r",
        color_continuous_midpoint=0,
        zmin=-2,
        zmax=2,
        aspect="auto",
        labels={"color": "log2 lift", "x": "", "y": ""},
        title="Purchase lift by group (red: buys more than everyone else; 1 step = 2x)",
    )
    fig.update_traces(customdata=grid.to_numpy(), hovertemplate="%{y}<br>%{x}: %{customdata:.2f}x<extra></extra>")
    return [fig]


AFFINITY = register(
    Analysis(
        name="affinity",
        title="Which groups want which products",
        question="Which products should we focus on for a group, and which groups want a product most?",
        inputs=("orders", "customers", "products"),
        params=AffinityParams,
        outputs={
            "affinity": Output(
                COLUMN_DECLS,
                grain="one row per group and category (or product)",
                key=("dimension", "group", "item"),
                person_key=None,
                sort=("lift", True),
            )
        },
        compute=_compute,
        charts=_charts,
        python_step="z-tests and Benjamini-Hochberg on the aggregated counts",
    )
)
