"""Customer profiles: per customer, first and last order, orders, revenue, recency, tenure and RFM; per
customer group (region, source, the customers' own attributes such as industry or plan ...), the same in sum.

RFM scores are 1-5 from percent ranks (ties share a score; 5 = most recent, most frequent, highest
revenue); the segment names follow the usual R x F grid, see docs/definitions.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from salesintel.analyses.groups import DIMENSIONS, custom_dimensions, customer_groups
from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params
from salesintel.analyses.timeline import days_between, orders_until
from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")


@dataclass(frozen=True)
class ProfileParams(Params):
    analysis_name: ClassVar[str] = "profiles"


def customer_profiles(orders: ir.Table, *, as_of: date) -> ir.Table:
    """One row per customer with at least one order up to ``as_of``.

    Columns: customer_id, first_order_at, last_order_at, orders, revenue, avg_order_value, recency_days,
    tenure_days, products, r_score, f_score, m_score, rfm_score, rfm_segment.
    """
    o = orders_until(orders, as_of)
    per = o.group_by("customer_id").aggregate(
        first_order_at=o.ordered_at.min(),
        last_order_at=o.ordered_at.max(),
        orders=o.order_id.nunique(),
        revenue=o.amount.sum(),
        products=o.product_id.nunique(),
    )
    today = ibis.literal(as_of)
    per = per.mutate(
        avg_order_value=per.revenue / per.orders.cast("float64"),
        recency_days=days_between(today, per.last_order_at.date()),
        tenure_days=days_between(today, per.first_order_at.date()),
    )
    per = per.mutate(
        r_score=_score(-per.recency_days),
        f_score=_score(per.orders),
        m_score=_score(per.revenue),
    )
    per = per.mutate(
        rfm_score=per.r_score.cast("string") + per.f_score.cast("string") + per.m_score.cast("string"),
        rfm_segment=rfm_segment(per.r_score, per.f_score),
    )
    return per.select(
        "customer_id",
        "first_order_at",
        "last_order_at",
        "orders",
        "revenue",
        "avg_order_value",
        "recency_days",
        "tenure_days",
        "products",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "rfm_segment",
    )


def _score(value: ir.NumericValue) -> ir.IntegerValue:
    """1-5 by percent rank: ties get the same score, the top fifth gets 5."""
    rank = ibis.percent_rank().over(order_by=value)
    return (ibis.least(rank * 5, 4.999).floor() + 1).cast("int64")


def rfm_segment(r: ir.IntegerValue, f: ir.IntegerValue) -> ir.StringValue:
    """The segment name for recency and frequency scores (first matching rule wins)."""
    return ibis.cases(
        ((r >= 4) & (f >= 4), "champions"),
        ((r <= 2) & (f >= 4), "cannot lose them"),
        ((r >= 3) & (f >= 3), "loyal"),
        ((r >= 4) & (f == 1), "new"),
        (r >= 4, "potential loyalists"),
        (r == 3, "need attention"),
        ((r <= 2) & (f >= 3), "at risk"),
        else_="hibernating",
    )


PROFILE_COLUMNS = (
    Col("customer_id", "string", "Customer", refers="customers"),
    Col("first_order_at", "timestamp", "First order"),
    Col("last_order_at", "timestamp", "Last order"),
    Col("orders", "int", "Orders", "count"),
    Col("revenue", "float", "Revenue", "money"),
    Col("avg_order_value", "float", "Average order value", "money"),
    Col("recency_days", "int", "Days since the last order", "days"),
    Col("tenure_days", "int", "Days since the first order", "days"),
    Col("products", "int", "Different products bought", "count"),
    Col("r_score", "int", "Recency score (5 = most recent)"),
    Col("f_score", "int", "Frequency score (5 = most orders)"),
    Col("m_score", "int", "Monetary score (5 = highest revenue)"),
    Col("rfm_score", "string", "RFM score (recency, frequency, monetary)"),
    Col("rfm_segment", "string", "RFM segment"),
)
SEGMENT_COLUMNS = (
    Col("rfm_segment", "string", "RFM segment"),
    Col("customers", "int", "Customers", "count"),
    Col("revenue", "float", "Revenue", "money"),
    Col("avg_recency_days", "float", "Average days since the last order", "days"),
)


GROUP_COLUMNS = (
    Col("dimension", "string", "Dimension (built-in or the customers' own attribute)"),
    Col("group", "string", "Group"),
    Col("customers", "int", "Customers who ordered", "count"),
    Col("revenue", "float", "Revenue", "money"),
    Col("revenue_share", "float", "Share of all revenue", "percent"),
    Col("avg_order_value", "float", "Average order value", "money"),
    Col("avg_recency_days", "float", "Average days since the last order", "days"),
)


def group_profiles(profiles: ir.Table, customers: ir.Table, *, as_of: date) -> ir.Table:
    """One row per dimension and group (see :mod:`salesintel.analyses.groups`): customers who ordered, their
    revenue and share of all revenue, average order value and recency."""
    dimensions = DIMENSIONS + tuple(custom_dimensions(customers))
    groups = customer_groups(customers, as_of=as_of, dimensions=dimensions, pairs=False)
    g = groups.join(profiles, "customer_id")
    per = g.group_by("dimension", "group").aggregate(
        customers=g.count(),
        revenue=g.revenue.sum(),
        order_count=g.orders.sum(),
        avg_recency_days=g.recency_days.mean(),
    )
    total = profiles.aggregate(all_revenue=profiles.revenue.sum())
    per = per.cross_join(total)
    return per.select(
        "dimension",
        "group",
        "customers",
        "revenue",
        revenue_share=per.revenue / per.all_revenue.nullif(0),
        avg_order_value=per.revenue / per.order_count.cast("float64"),
        avg_recency_days=per.avg_recency_days,
    )


def _compute(ctx, params: ProfileParams) -> dict:
    profiles = customer_profiles(ctx.table("orders"), as_of=params.as_of)
    segments = profiles.group_by("rfm_segment").aggregate(
        customers=profiles.count(), revenue=profiles.revenue.sum(), avg_recency_days=profiles.recency_days.mean()
    )
    groups = group_profiles(profiles, ctx.table("customers"), as_of=params.as_of)
    return {"profiles": profiles, "segments": segments, "groups": groups}


def _charts(read) -> list:
    import plotly.express as px

    seg = read("segments").order_by(ibis.desc("customers")).execute()
    fig = px.bar(
        seg,
        x="rfm_segment",
        y="customers",
        hover_data=["revenue"],
        title="Customers per RFM segment",
        labels={"rfm_segment": "segment", "customers": "customers"},
    )
    return [fig]


def _summary(read) -> list[str]:
    seg = read("segments").execute()
    if seg.empty:
        return []
    total = int(seg.customers.sum())
    risk = seg[seg.rfm_segment.isin(["cannot lose them", "at risk"])]
    quiet = int(risk.customers.sum())
    who = "buyer has" if quiet == 1 else "buyers have"
    return [
        f"{total:,} customers have ordered; by RFM score {quiet:,} frequent {who} "
        f"not ordered lately (segments 'cannot lose them' and 'at risk'), worth {risk.revenue.sum():,.0f} in past "
        f"revenue. The decline list above tests each customer against their own pace instead."
    ]


PROFILES = register(
    Analysis(
        name="profiles",
        title="Customer profiles and RFM segments",
        question="Who are our customers: how recently, how often and how much do they buy?",
        inputs=("orders", "customers"),
        params=ProfileParams,
        outputs={
            "profiles": Output(
                PROFILE_COLUMNS,
                grain="one row per customer with an order up to the as-of date",
                key=("customer_id",),
                person_key="customer_id",
                sort=("revenue", True),
            ),
            "segments": Output(
                SEGMENT_COLUMNS,
                grain="one row per RFM segment",
                key=("rfm_segment",),
                person_key=None,
                sort=("customers", True),
            ),
            "groups": Output(
                GROUP_COLUMNS,
                grain="one row per customer group (dimension and value)",
                key=("dimension", "group"),
                person_key=None,
                sort=("revenue", True),
            ),
        },
        compute=_compute,
        charts=_charts,
        summary=_summary,
    )
)
