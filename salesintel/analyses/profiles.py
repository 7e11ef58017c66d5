"""Customer profiles: per customer, first and last order, orders, revenue, recency, tenure and RFM.

RFM scores are 1-5 from percent ranks (ties share a score; 5 = most recent, most frequent, highest
revenue); the segment names follow the usual R x F grid, see docs/definitions.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir

from salesintel.analyses.registry import Analysis, register
from salesintel.analyses.timeline import days_between, orders_until, resolve_as_of


@dataclass(frozen=True)
class ProfileParams:
    as_of: date | None = None


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
        r_score=_score(-per.recency_days), f_score=_score(per.orders), m_score=_score(per.revenue),
    )
    per = per.mutate(rfm_score=per.r_score.cast("string") + per.f_score.cast("string") + per.m_score.cast("string"),
                     rfm_segment=rfm_segment(per.r_score, per.f_score))
    return per.select("customer_id", "first_order_at", "last_order_at", "orders", "revenue", "avg_order_value",
                      "recency_days", "tenure_days", "products", "r_score", "f_score", "m_score", "rfm_score",
                      "rfm_segment")


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


def _run(store, params: ProfileParams) -> dict:
    orders = store.table("orders")
    as_of = resolve_as_of(orders, params.as_of)
    profiles = customer_profiles(orders, as_of=as_of)
    segments = profiles.group_by("rfm_segment").aggregate(
        customers=profiles.count(), revenue=profiles.revenue.sum(), avg_recency_days=profiles.recency_days.mean())
    return {"profiles": profiles, "segments": segments}


def _charts(results: dict) -> list:
    import plotly.express as px

    seg = results["segments"].sort_values("customers", ascending=False)
    return [px.bar(seg, x="rfm_segment", y="customers", hover_data=["revenue"], title="Customers per RFM segment")]


PROFILES = register(Analysis(
    name="profiles", title="Customer profiles and RFM segments",
    question="Who are our customers: how recently, how often and how much do they buy?",
    run=_run, params=ProfileParams, charts=_charts,
    order_by={"profiles": ("revenue", True), "segments": ("customers", True)},
))
