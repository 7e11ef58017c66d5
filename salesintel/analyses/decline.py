"""Declining customers: whose buying fell, why (in words), what winning them back is worth, how to reach them.

Two tests (docs/definitions.md, "Declining customers"):
- window: purchases in the last ``window_days`` (and in the last two windows) against the customer's own
  average over the ``history_windows`` windows before; flagged when they fell by at least ``min_drop``, the
  customer had at least ``min_history_orders`` purchases then, and a Poisson count at the earlier pace would
  fall this low with a chance of at most ``max_chance``;
- overdue: a customer with at least ``min_repeat_purchases`` repeat purchases whose current silence would
  happen with a chance of at most ``max_silence_chance`` at their own pace (the Gamma-Poisson posterior of
  their purchase rate under BG/NBD, reused from the CLV run when it fitted the same data).

``value_at_risk`` is what the customer was worth per year at their pace before the decline. Customers silent
for more than ``lost_after_days`` are long gone, not declining, and are left out unless ``include_lost``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import ClassVar

import numpy as np
import pyarrow as pa

from salesintel.analyses.clv import UNIT_DAYS, fit_purchases, purchase_days, purchase_summary, training_fingerprint
from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.analyses.timeline import days_between
from salesintel.lazy import lazy
from salesintel.models import BGNBD

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")
pd = lazy("pandas")
stats = lazy("scipy.stats")

CHANNELS = ("phone", "email", "survey")


@dataclass(frozen=True)
class DeclineParams(Params):
    analysis_name: ClassVar[str] = "decline"
    window_days: int = param(
        90, "Compare the last this many days with the year before.", ge=7, le=730, label="the last {} days"
    )
    min_drop: float = param(
        0.5, "Window test: smallest drop in purchases to flag (0.5 = 50%).", gt=0, le=1, label="a drop of at least {}"
    )
    history_windows: int = param(
        4,
        "Window test: how many windows before the last make the earlier pace.",
        ge=1,
        le=12,
        label="against {} windows before",
    )
    min_history_orders: int = param(
        3, "Window test: purchases needed in the history to judge a drop.", ge=1, label="at least {} earlier purchases"
    )
    max_chance: float = param(
        0.01,
        "Window test: the drop must be this unlikely at the customer's earlier pace.",
        gt=0,
        le=0.5,
        label="chance at most {}",
    )
    min_repeat_purchases: int = param(
        4,
        "Overdue test: repeat purchases needed to know a customer's rhythm.",
        ge=1,
        label="at least {} repeat purchases",
    )
    # 4.5%: for a steady Poisson buyer the overdue test's false-alarm rate is this threshold by construction,
    # and the regular at 8-12 a year who stopped 4-7 months ago is found 90% of the time at it, not at 4%
    # (docs/definitions.md, "Checked on two planted shapes")
    max_silence_chance: float = param(
        0.045,
        "Overdue test: flag a silence this unlikely at the customer's own pace.",
        gt=0,
        le=0.5,
        label="silence chance at most {}",
    )
    lost_after_days: int = param(
        365, "No order for this long: long gone, not declining.", ge=1, label="long gone after {} days"
    )
    include_lost: bool = param(False, "Also list long-gone customers.", label="long gone listed: {}")


COLUMN_DECLS = (
    Col("customer_id", "string", "Customer", refers="customers"),
    Col("name", "string", "Name"),
    Col("owner_id", "string", "Owner", refers="reps"),
    Col("last_order_at", "date", "Last purchase"),
    Col("orders_prev", "float", "Purchases per window before"),
    Col("orders_recent", "int", "Purchases in the last window", "count"),
    Col("revenue_prev", "float", "Revenue per window before", "money"),
    Col("revenue_recent", "float", "Revenue in the last window", "money"),
    Col("drop_pct", "float", "Drop in purchases", "points"),
    Col("p_alive", "float", "Chance still active (BG/NBD)", "percent"),
    Col("silence_chance", "float", "Chance of a silence this long at their own pace", "percent"),
    Col("value_at_risk", "float", "Yearly value at risk", "money"),
    Col("reason", "string", "Why, in words", "text"),
    Col("suggested_channel", "string", "Suggested channel"),
)
COLUMNS = [c.name for c in COLUMN_DECLS]


def window_activity(orders: ir.Table, *, as_of: date, window_days: int, history_windows: int) -> ir.Table:
    """Per customer, from the purchase days up to ``as_of``:

    - ``orders_recent, revenue_recent``: the last window; ``orders_prev, revenue_prev``: the average window
      over the ``history_windows`` windows before it (``history_orders`` purchases in all);
    - ``orders_recent2, orders_prev2, history_orders2``: the same with the last two windows against the
      ``history_windows`` windows before those (a decline that began more than a window ago);
    - the rhythm: ``first_day, last_day, purchases, mean_gap_days, days_silent, revenue_total``.
    """
    days = purchase_days(orders, as_of=as_of)
    w = timedelta(days=window_days)
    recent = days.day > ibis.literal(as_of - w)
    history = (days.day > ibis.literal(as_of - w * (history_windows + 1))) & ~recent
    recent2 = days.day > ibis.literal(as_of - 2 * w)
    history2 = (days.day > ibis.literal(as_of - w * (history_windows + 2))) & ~recent2
    per = days.group_by("customer_id").aggregate(
        orders_recent=recent.sum(),
        revenue_recent=days.spend.sum(where=recent),
        history_orders=history.sum(),
        history_revenue=days.spend.sum(where=history),
        orders_recent2=recent2.sum(),
        history_orders2=history2.sum(),
        first_day=days.day.min(),
        last_day=days.day.max(),
        purchases=days.count(),
        revenue_total=days.spend.sum(),
    )
    span = days_between(per.last_day, per.first_day).cast("float64")
    return per.mutate(
        revenue_recent=per.revenue_recent.fill_null(0.0),
        orders_prev=per.history_orders.cast("float64") / history_windows,
        revenue_prev=per.history_revenue.fill_null(0.0) / history_windows,
        orders_prev2=per.history_orders2.cast("float64") * 2 / history_windows,
        mean_gap_days=ibis.ifelse(per.purchases > 1, span / (per.purchases - 1).cast("float64"), ibis.null("float64")),
        days_silent=days_between(ibis.literal(as_of), per.last_day),
    )


def declining_customers(
    orders: ir.Table,
    customers: ir.Table,
    tasks: ir.Table | None = None,
    *,
    as_of: date,
    params: DeclineParams | None = None,
    model: BGNBD | None = None,
    time_unit: str = "days",
) -> pa.Table:
    """The decline list (columns :data:`COLUMNS`), highest value at risk first.

    ``model`` is a BG/NBD fitted at ``as_of`` in ``time_unit`` (the CLV run's); without one it is fitted here.

    Example:
        >>> from salesintel.demo import generate_store
        >>> store = generate_store(customers=800, seed=3)
        >>> table = declining_customers(store.table("orders"), store.table("customers"), as_of=date(2025, 12, 31))
        >>> table.column_names[:3], table.num_rows > 0
        (['customer_id', 'name', 'owner_id'], True)
    """
    params = params or DeclineParams()
    act = window_activity(
        orders, as_of=as_of, window_days=params.window_days, history_windows=params.history_windows
    ).execute()
    act = act.sort_values("customer_id").reset_index(drop=True)
    act = _with_rhythm(act, orders, as_of=as_of, model=model, time_unit=time_unit)
    flagged = _flag(act, params)
    people = customers.select("customer_id", "name", "owner_id", "email", "phone", "email_opt_in", "phone_opt_in")
    # typed: with no one flagged the column would be null-typed, which PostgreSQL refuses
    ids = ibis.memtable(pa.table({"customer_id": pa.array(flagged["customer_id"], pa.string())}))
    people = people.semi_join(ids, "customer_id").execute()
    flagged = flagged.merge(people, on="customer_id", how="left")
    history = _past_responses(tasks, flagged.customer_id, as_of=as_of) if tasks is not None else None
    flagged["suggested_channel"] = suggest_channel(flagged, history)
    flagged = flagged.sort_values(["value_at_risk", "customer_id"], ascending=[False, True])
    return pa.Table.from_pandas(flagged[COLUMNS].reset_index(drop=True), preserve_index=False)


def _with_rhythm(
    act: pd.DataFrame, orders: ir.Table, *, as_of: date, model: BGNBD | None, time_unit: str
) -> pd.DataFrame:
    """Adds ``p_alive`` and ``silence_chance`` (BG/NBD at the as-of date) to the per-customer activity."""
    unit = UNIT_DAYS[time_unit]
    summary = purchase_summary(orders, as_of=as_of, time_unit=time_unit).execute()
    summary = summary.sort_values("customer_id").reset_index(drop=True)
    if model is None:
        model = fit_purchases(summary)
    x, t_x, T = summary.frequency, summary.recency, summary["T"]
    rhythm = pd.DataFrame(
        {
            "customer_id": summary.customer_id,
            "p_alive": model.p_alive(x, t_x, T),
            "silence_chance": model.silence_chance(x, t_x, T),
            "unit_days": unit,
        }
    )
    return act.merge(rhythm, on="customer_id", how="left")


def _flag(act: pd.DataFrame, params: DeclineParams) -> pd.DataFrame:
    """Apply both tests on the per-customer aggregates; build the reason and the value at risk."""
    w = params.window_days
    drop = 1 - act.orders_recent / act.orders_prev.where(act.orders_prev > 0)
    drop2 = 1 - act.orders_recent2 / act.orders_prev2.where(act.orders_prev2 > 0)
    # a drop that chance alone would produce less than 1 time in 100 at the customer's own earlier pace
    chance = stats.poisson.cdf(act.orders_recent, act.orders_prev)
    chance2 = stats.poisson.cdf(act.orders_recent2, act.orders_prev2)
    fell = (
        (act.history_orders >= params.min_history_orders)
        & (drop >= params.min_drop - 1e-12)
        & (chance <= params.max_chance)
    )
    fell2 = (
        (act.history_orders2 >= params.min_history_orders)
        & (drop2 >= params.min_drop - 1e-12)
        & (chance2 <= params.max_chance)
    )
    # overdue: a regular silent for longer than their own pace makes likely (docs/definitions.md)
    overdue = (act.purchases - 1 >= params.min_repeat_purchases) & (act.silence_chance <= params.max_silence_chance)
    # a customer buying more in the last window than before has not declined, whatever the longer view says
    keep = (fell | fell2 | overdue) & (act.days_silent > 0) & ~(drop < 0)
    if not params.include_lost:
        keep &= act.days_silent <= params.lost_after_days
    out = act[keep].copy()
    out["drop_pct"] = (drop[keep].fillna(1.0) * 100).round(1)
    # the pace before the decline: the better of the earlier windows and the whole active span
    pace = np.fmax(out.revenue_prev * (365.0 / w), out.revenue_total / (out.purchases * out.mean_gap_days) * 365.0)
    out["value_at_risk"] = pace.fillna(0.0).round(2)
    out["last_order_at"] = pd.to_datetime(out.last_day).dt.date
    out["reason"] = _reasons(out, fell[keep], fell2[keep] & ~fell[keep], overdue[keep], params)
    return out


def _reasons(
    out: pd.DataFrame, fell: pd.Series, fell2: pd.Series, overdue: pd.Series, params: DeclineParams
) -> pd.Series:
    """One sentence per customer a rep can say, built column-wise from the tests that fired."""
    if out.empty:
        return pd.Series([], index=out.index, dtype=object)
    w = params.window_days
    window = (
        "bought "
        + _times(out.orders_prev)
        + " per "
        + str(w)
        + " days on average over the year before, "
        + _times(out.orders_recent)
        + " in the last "
        + str(w)
        + " days"
    )
    window2 = (
        "bought "
        + _times(out.orders_prev2)
        + " per "
        + str(2 * w)
        + " days on average over the year before, "
        + _times(out.orders_recent2)
        + " in the last "
        + str(2 * w)
        + " days"
    )
    gap = out.mean_gap_days.round(0).fillna(0).astype(int)
    rhythm = (
        "usually buys every "
        + gap.astype(str)
        + " days and has bought nothing for "
        + out.days_silent.astype(str)
        + " days ("
        + (out.days_silent / gap.clip(lower=1)).round(1).astype(str)
        + " times the usual gap)"
    )
    parts = pd.concat([window.where(fell, ""), window2.where(fell2, ""), rhythm.where(overdue, "")], axis=1)
    text = parts.apply(lambda col: col.where(col == "", col + "; ")).sum(axis=1).str.rstrip("; ")
    lost = out.days_silent > params.lost_after_days
    text = text.where(~lost, "long gone: no order for " + out.days_silent.astype(str) + " days; " + text)
    return text.str.slice(0, 1).str.upper() + text.str.slice(1)


def _times(n: pd.Series) -> pd.Series:
    """Counts in words: "once", "twice", "3 times", "2.5 times"."""
    rounded = n.astype(float).round(1)
    text = rounded.map(lambda v: "once" if v == 1 else "twice" if v == 2 else "never" if v == 0 else f"{v:g} times")
    return text.astype(object)  # an empty list stays text, so the sentences below still add up


def suggest_channel(people: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.Series:
    """phone, email or survey for each customer, never a channel they opted out of (None when no channel is allowed).

    A channel that got an answer before is tried again; otherwise the most valuable quarter gets a call,
    the rest an e-mail, and the least valuable half a survey (sent by e-mail) that asks what changed.

    Example:
        >>> df = pd.DataFrame({"customer_id": ["a", "b"], "value_at_risk": [900.0, 10.0], "phone": ["1", "2"],
        ...     "email": ["a@x", None], "phone_opt_in": [True, False], "email_opt_in": [True, True]})
        >>> suggest_channel(df).tolist()
        ['phone', None]
    """
    phone_ok = people.phone_opt_in.eq(True) & people.phone.notna()
    email_ok = people.email_opt_in.eq(True) & people.email.notna()
    value = people.value_at_risk
    high = value >= value.quantile(0.75) if len(value) else value.astype(bool)
    low = value < value.quantile(0.5) if len(value) else value.astype(bool)
    answered = pd.Series(None, index=people.index, dtype=object)
    no_phone_answer = pd.Series(False, index=people.index)
    if history is not None and len(history):
        h = people[["customer_id"]].merge(history, on="customer_id", how="left").set_index(people.index)
        answered, no_phone_answer = h.answered_by, h.phone_no_answer.eq(True)
    allowed = {"phone": phone_ok, "email": email_ok, "survey": email_ok}
    choice = np.select(
        [(answered == c) & allowed[c] for c in CHANNELS]
        + [high & phone_ok & ~no_phone_answer, email_ok & ~low, email_ok, phone_ok],
        [*CHANNELS, "phone", "email", "survey", "phone"],
        default=None,
    )
    return pd.Series(choice, index=people.index, dtype=object)


def _past_responses(tasks: ir.Table, customer_ids: pd.Series, *, as_of: date) -> pd.DataFrame:
    """Per customer: the channel of their latest answered win-back task, and whether a call went unanswered
    (only outcomes recorded by the as-of date: later ones had not happened yet)."""
    recorded = tasks.completed_at < ibis.literal(datetime.combine(as_of + timedelta(days=1), time()))
    done = tasks.filter((tasks.status == "done") & recorded).semi_join(
        ibis.memtable(pd.DataFrame({"customer_id": customer_ids})), "customer_id"
    )
    answered = done.filter(done.outcome.isin(["reactivated", "promised"]))
    latest = answered.group_by("customer_id").aggregate(
        answered_by=answered.suggested_channel.argmax(answered.completed_at)
    )
    no_answer = done.filter((done.outcome == "no_answer") & (done.suggested_channel == "phone"))
    no_answer = no_answer.select("customer_id").distinct().mutate(phone_no_answer=True)
    return (
        latest.outer_join(no_answer, "customer_id")
        .select(
            customer_id=ibis.coalesce(ibis._.customer_id, ibis._.customer_id_right),
            answered_by=ibis._.answered_by,
            phone_no_answer=ibis._.phone_no_answer,
        )
        .execute()
    )


def _compute(ctx, params: DeclineParams) -> dict:
    orders = ctx.table("orders")
    model, unit = _kept_purchase_model(ctx, orders)
    table = declining_customers(
        orders,
        ctx.table("customers"),
        ctx.table("tasks"),
        as_of=params.as_of,
        params=params,
        model=model,
        time_unit=unit,
    )
    return {"customers": table}


def _kept_purchase_model(ctx, orders: ir.Table) -> tuple[BGNBD | None, str]:
    """The BG/NBD the CLV run fitted at this as-of date on the same data (no refit), in its time unit."""
    fingerprint = training_fingerprint(orders, as_of=ctx.as_of)
    for unit in ("weeks", "days"):
        model = ctx.load_model(f"bgnbd.{unit}", fingerprint=fingerprint)
        if model is not None:
            return model, unit
    return None, "days"


def _charts(read) -> list:
    import plotly.express as px

    t = read("customers")
    df = t.order_by(ibis.desc("value_at_risk")).limit(300).execute()
    if df.empty:
        return []
    cap = float(df.value_at_risk.quantile(0.98))
    fig = px.scatter(
        df.assign(value_at_risk=df.value_at_risk.clip(upper=cap)),
        x="drop_pct",
        y="value_at_risk",
        color="suggested_channel",
        hover_data=["customer_id", "name", "reason"],
        title="The 300 most valuable declining customers: drop against yearly value at risk",
        labels={
            "drop_pct": "drop in purchases (%)",
            "value_at_risk": "yearly value at risk (capped at the 98th percentile)",
            "suggested_channel": "channel",
        },
    )
    return [fig]


def _summary(read) -> list[str]:
    t = read("customers")
    row = (
        t.aggregate(n=t.count(), value=t.value_at_risk.sum(), phone=(t.suggested_channel == "phone").sum())
        .execute()
        .iloc[0]
    )
    if not row.n:
        return ["No customer's buying has declined."]
    return [
        f"Call first: {int(row.n):,} customers' buying has declined, {row.value:,.0f} a year at risk; "
        f"{int(row.phone or 0):,} of them are best reached by phone (salesintel winback makes the tasks)."
    ]


DECLINE = register(
    Analysis(
        name="decline",
        title="Declining customers",
        question="Whose buying has fallen, why, and what is winning them back worth?",
        inputs=("orders", "customers", "tasks"),
        params=DeclineParams,
        outputs={
            "customers": Output(
                COLUMN_DECLS,
                grain="one row per declining customer",
                key=("customer_id",),
                person_key="customer_id",
                sort=("value_at_risk", True),
                brief=(
                    "customer_id",
                    "name",
                    "owner_id",
                    "last_order_at",
                    "drop_pct",
                    "value_at_risk",
                    "reason",
                    "suggested_channel",
                ),
            )
        },
        compute=_compute,
        charts=_charts,
        summary=_summary,
        after=("clv",),
        python_step="Poisson and overdue tests on the per-customer window counts; BG/NBD reused from the CLV run",
    )
)
