"""An analysis written as docs/writing-an-analysis.md describes: the share of each month's buyers who
had bought before. One module; nothing else in salesintel is touched to add it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.analyses.timeline import orders_until


@dataclass(frozen=True)
class RepeatShareParams(Params):
    analysis_name: ClassVar[str] = "repeat_share"
    min_buyers: int = param(
        1, "Leave out months with fewer buyers than this.", ge=1, label="months of {} buyers or more"
    )


COLUMNS = (
    Col("month", "date", "Month"),
    Col("buyers", "int", "Customers who ordered that month", "count"),
    Col("repeat_buyers", "int", "Of those, had ordered in an earlier month", "count"),
    Col("repeat_share", "float", "Share of buyers who came back", "percent"),
)


def repeat_share(orders, *, as_of, min_buyers: int = 1):
    """One row per month up to ``as_of``: buyers and the share of them who had bought before (in the engine)."""
    o = orders_until(orders, as_of)
    months = o.select("customer_id", month=o.ordered_at.date().truncate("M")).distinct()
    first = months.group_by("customer_id").aggregate(first=months.month.min())
    m = months.join(first, "customer_id")
    per = m.group_by("month").aggregate(buyers=m.count(), repeat_buyers=(m.month > m["first"]).sum())
    per = per.filter(per.buyers >= min_buyers)
    return per.mutate(repeat_share=per.repeat_buyers.cast("float64") / per.buyers)


def _compute(ctx, params: RepeatShareParams) -> dict:
    return {"months": repeat_share(ctx.table("orders"), as_of=params.as_of, min_buyers=params.min_buyers)}


def _charts(read) -> list:
    import plotly.express as px

    df = read("months").order_by("month").execute()
    return [px.line(df, x="month", y="repeat_share", title="Share of each month's buyers who had bought before")]


REPEAT_SHARE = register(
    Analysis(
        name="repeat_share",
        title="Repeat buyers by month",
        question="Of the customers who ordered in a month, how many had ordered before?",
        inputs=("orders",),
        params=RepeatShareParams,
        outputs={
            "months": Output(
                COLUMNS, grain="one row per calendar month", key=("month",), person_key=None, sort=("month", False)
            )
        },
        compute=_compute,
        charts=_charts,
        summary=lambda read: [
            f"{read('months').repeat_share.mean().execute():.0%} of a month's buyers have bought before."
        ],
    )
)
