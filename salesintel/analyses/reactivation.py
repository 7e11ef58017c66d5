"""Reactivation: did the win-back tasks bring customers back? Contacted against not contacted customers.

A task counts as reactivated when the customer ordered within ``follow_up_days`` after the task was created,
or when the rep recorded the outcome ``reactivated``. Contacted = done with an outcome where someone answered
(reactivated, promised, lost). Tasks whose follow-up period reaches past the last order in the data are
pending, not failures. Rates carry 95% Wilson intervals and the difference a Newcombe interval. The
comparison is observational: reps choose whom they reach (docs/definitions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import ClassVar

import pyarrow as pa

from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.lazy import lazy
from salesintel.stats import newcombe, wilson
from salesintel.tasks import CONTACTED

ibis = lazy("ibis")


@dataclass(frozen=True)
class ReactivationParams(Params):
    analysis_name: ClassVar[str] = "reactivation"
    follow_up_days: int = param(
        90,
        "A purchase within this many days after the task counts as reactivated.",
        ge=1,
        le=730,
        label="an order within {} days",
    )


COLUMN_DECLS = (
    Col("group", "string", "Group"),
    Col("tasks", "int", "Tasks with a full follow-up period", "count"),
    Col("reactivated", "int", "Of those, reactivated", "count"),
    Col("rate", "float", "Reactivation rate (difference: contacted minus not)", "percent"),
    Col("ci_low", "float", "95% interval, low", "percent"),
    Col("ci_high", "float", "95% interval, high", "percent"),
    Col("pending", "int", "Tasks whose follow-up period is not over yet", "count"),
    Col("follow_up_days", "int", "Follow-up period in days", "days"),
)


def reactivation(tasks, orders, *, as_of, follow_up_days: int = 90) -> pa.Table:
    """One row each for contacted, not contacted and their difference (columns :data:`COLUMN_DECLS`)."""
    cutoff = datetime.combine(as_of + timedelta(days=1), time())
    o = orders.filter(orders.ordered_at < cutoff).select("customer_id", "ordered_at")
    t = tasks.filter(tasks.created_at < cutoff)
    t = t.mutate(
        contacted=(t.status == "done") & t.outcome.isin(CONTACTED),
        said_reactivated=(t.outcome == "reactivated").fill_null(False),
        until=t.created_at + ibis.interval(days=follow_up_days),
    )
    j = t.left_join(o, [t.customer_id == o.customer_id, o.ordered_at > t.created_at, o.ordered_at <= t.until])
    per = j.group_by("task_id", "contacted", "said_reactivated", "until").aggregate(bought=j.ordered_at.count() > 0)
    per = per.mutate(back=per.bought | per.said_reactivated, complete=per.until <= ibis.literal(cutoff))
    agg = (
        per.group_by("contacted")
        .aggregate(tasks=per.complete.sum(), reactivated=(per.complete & per.back).sum(), pending=(~per.complete).sum())
        .execute()
    )
    counts = {
        bool(r.contacted): (int(r.tasks or 0), int(r.reactivated or 0), int(r.pending or 0)) for r in agg.itertuples()
    }
    rows = []
    for label, key in (("contacted", True), ("not contacted", False)):
        n, k, pending = counts.get(key, (0, 0, 0))
        low, high = wilson(k, n)
        rows.append(
            {
                "group": label,
                "tasks": n,
                "reactivated": k,
                "rate": k / n if n else float("nan"),
                "ci_low": low,
                "ci_high": high,
                "pending": pending,
            }
        )
    d, low, high = newcombe(rows[0]["reactivated"], rows[0]["tasks"], rows[1]["reactivated"], rows[1]["tasks"])
    rows.append(
        {
            "group": "difference",
            "tasks": rows[0]["tasks"] + rows[1]["tasks"],
            "reactivated": None,
            "rate": d,
            "ci_low": low,
            "ci_high": high,
            "pending": rows[0]["pending"] + rows[1]["pending"],
        }
    )
    for row in rows:
        row["follow_up_days"] = follow_up_days
    return pa.Table.from_pylist(rows, schema=pa.schema([(c.name, _ARROW[c.type]) for c in COLUMN_DECLS]))


_ARROW = {"string": pa.string(), "int": pa.int64(), "float": pa.float64()}


def _compute(ctx, params: ReactivationParams) -> dict:
    return {
        "reactivation": reactivation(
            ctx.table("tasks"), ctx.table("orders"), as_of=params.as_of, follow_up_days=params.follow_up_days
        )
    }


def _summary(read) -> list[str]:
    df = read("reactivation").execute().set_index("group")
    if df.empty or not df.loc["contacted", "tasks"]:
        return []
    c, n, d = df.loc["contacted"], df.loc["not contacted"], df.loc["difference"]
    interval = f"95% interval {d.ci_low * 100:+.1f} to {d.ci_high * 100:+.1f}"
    if d.ci_low > 0:
        verdict = f"contacting helped: {d.rate * 100:+.1f} points ({interval})"
    elif d.ci_high < 0:
        verdict = f"the contacted came back less: {d.rate * 100:+.1f} points"
    else:
        verdict = (
            f"the difference, {d.rate * 100:+.1f} points (95% interval {d.ci_low * 100:+.1f} to "
            f"{d.ci_high * 100:+.1f}), could be chance"
        )
    return [
        f"Win-back: {c.rate:.0%} of {int(c.tasks):,} contacted customers came back against {n.rate:.0%} of "
        f"{int(n.tasks):,} not reached; {verdict}. Reps choose whom they reach, so this is not proof either way."
    ]


REACTIVATION = register(
    Analysis(
        name="reactivation",
        title="Win-back: did contacting customers bring them back?",
        question="Of the customers on the win-back list, how many came back, contacted against not contacted?",
        inputs=("tasks", "orders"),
        params=ReactivationParams,
        outputs={
            "reactivation": Output(
                COLUMN_DECLS,
                grain="one row per group (contacted, not contacted, difference)",
                key=("group",),
                person_key=None,
            )
        },
        compute=_compute,
        summary=_summary,
        python_step="Wilson and Newcombe intervals on the two groups' counts",
    )
)
