"""Declining customers: whose buying fell, why (in words), what winning them back is worth, how to reach them.

Two signals (docs/definitions.md, "Declining customers"):
- window: purchases in the last ``window_days`` (and in the last two windows) against the customer's own
  average over the ``history_windows`` windows before; flagged when they fell by at least ``min_drop``, the
  customer had at least ``min_history_orders`` purchases then, and a Poisson count at the earlier pace would
  fall this low with a chance of at most ``max_chance``;
- rhythm: a customer with at least 3 repeat purchases whose BG/NBD probability of being alive is below
  ``max_p_alive`` and who has been silent ``overdue_factor`` times their usual gap or whose P(alive) fell by
  ``p_alive_fall`` over the last window.

``value_at_risk`` is what the customer was worth per year at their pace before the decline. Customers silent
for more than ``lost_after_days`` are long gone, not declining, and are left out unless ``include_lost``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from salesintel.analyses.clv import fit_purchases, purchase_days, purchase_summary
from salesintel.analyses.registry import Analysis, register
from salesintel.analyses.timeline import days_between, resolve_as_of
from salesintel.errors import UserInputError

COLUMNS = ["customer_id", "name", "owner_id", "last_order_at", "orders_prev", "orders_recent", "revenue_prev",
           "revenue_recent", "drop_pct", "p_alive", "value_at_risk", "reason", "suggested_channel"]
CHANNELS = ("phone", "email", "survey")


@dataclass(frozen=True)
class DeclineParams:
    window_days: int = 90
    min_drop: float = 0.5
    history_windows: int = 4
    min_history_orders: int = 3
    max_chance: float = 0.01  # a drop must be this unlikely at the customer's earlier pace
    overdue_factor: float = 3.0
    p_alive_fall: float = 0.5
    max_p_alive: float = 0.3
    lost_after_days: int = 365
    include_lost: bool = False
    as_of: date | None = None


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
        orders_recent=recent.sum(), revenue_recent=days.spend.sum(where=recent),
        history_orders=history.sum(), history_revenue=days.spend.sum(where=history),
        orders_recent2=recent2.sum(), history_orders2=history2.sum(),
        first_day=days.day.min(), last_day=days.day.max(), purchases=days.count(), revenue_total=days.spend.sum())
    span = days_between(per.last_day, per.first_day).cast("float64")
    return per.mutate(
        revenue_recent=per.revenue_recent.fill_null(0.0),
        orders_prev=per.history_orders.cast("float64") / history_windows,
        revenue_prev=per.history_revenue.fill_null(0.0) / history_windows,
        orders_prev2=per.history_orders2.cast("float64") * 2 / history_windows,
        mean_gap_days=ibis.ifelse(per.purchases > 1, span / (per.purchases - 1).cast("float64"), ibis.null("float64")),
        days_silent=days_between(ibis.literal(as_of), per.last_day))


def declining_customers(orders: ir.Table, customers: ir.Table, tasks: ir.Table | None = None, *, as_of: date,
                        params: DeclineParams = DeclineParams()) -> pa.Table:
    """The decline list (columns :data:`COLUMNS`), highest value at risk first.

    Example:
        >>> # declining_customers(store.table("orders"), store.table("customers"), as_of=date(2025, 12, 31))
    """
    _check(params)
    act = window_activity(orders, as_of=as_of, window_days=params.window_days,
                          history_windows=params.history_windows).execute()
    act = act.merge(_p_alive(orders, as_of=as_of, window_days=params.window_days), on="customer_id", how="left")
    flagged = _flag(act, params)
    people = customers.select("customer_id", "name", "owner_id", "email", "phone", "email_opt_in", "phone_opt_in")
    people = people.semi_join(ibis.memtable(flagged[["customer_id"]]), "customer_id").execute()
    flagged = flagged.merge(people, on="customer_id", how="left")
    history = _past_responses(tasks, flagged.customer_id) if tasks is not None else None
    flagged["suggested_channel"] = suggest_channel(flagged, history)
    flagged = flagged.sort_values(["value_at_risk", "customer_id"], ascending=[False, True])
    return pa.Table.from_pandas(flagged[COLUMNS].reset_index(drop=True), preserve_index=False)


def _check(params: DeclineParams) -> None:
    if params.window_days <= 0 or params.history_windows <= 0:
        raise UserInputError("the window and the number of history windows must be positive")
    if not 0 < params.min_drop <= 1:
        raise UserInputError("--min-drop is a share between 0 and 1 (0.5 means a drop of at least 50%)")


def _p_alive(orders: ir.Table, *, as_of: date, window_days: int) -> pd.DataFrame:
    """P(alive) now and one window ago, under a BG/NBD model fitted on the data up to now (in days)."""
    now = purchase_summary(orders, as_of=as_of, time_unit="days").execute()
    model = fit_purchases(now)
    before = purchase_summary(orders, as_of=as_of - timedelta(days=window_days), time_unit="days").execute()
    out = pd.DataFrame({"customer_id": now.customer_id,
                        "p_alive": model.p_alive(now.frequency, now.recency, now["T"])})
    then = pd.DataFrame({"customer_id": before.customer_id,
                         "p_alive_before": model.p_alive(before.frequency, before.recency, before["T"])})
    return out.merge(then, on="customer_id", how="left")


def _flag(act: pd.DataFrame, params: DeclineParams) -> pd.DataFrame:
    """Apply both signals on the per-customer aggregates; build the reason and the value at risk."""
    w = params.window_days
    drop = 1 - act.orders_recent / act.orders_prev.where(act.orders_prev > 0)
    drop2 = 1 - act.orders_recent2 / act.orders_prev2.where(act.orders_prev2 > 0)
    # a drop chance alone would produce less than 1 time in 100 at the customer's own earlier pace
    chance = stats.poisson.cdf(act.orders_recent, act.orders_prev)
    chance2 = stats.poisson.cdf(act.orders_recent2, act.orders_prev2)
    fell = (act.history_orders >= params.min_history_orders) & (drop >= params.min_drop - 1e-12) & (chance <= params.max_chance)
    fell2 = (act.history_orders2 >= params.min_history_orders) & (drop2 >= params.min_drop - 1e-12) & (chance2 <= params.max_chance)
    by_window = fell | fell2
    overdue = act.days_silent / act.mean_gap_days
    fading = (overdue >= params.overdue_factor) | (act.p_alive_before - act.p_alive >= params.p_alive_fall)
    by_rhythm = (act.purchases >= 4) & (act.p_alive < params.max_p_alive) & fading
    keep = (by_window | by_rhythm) & (act.days_silent > 0)
    if not params.include_lost:
        keep &= act.days_silent <= params.lost_after_days
    out = act[keep].copy()
    out["drop_pct"] = (drop[keep] * 100).round(1)
    # the pace before the decline: the better of the earlier windows and the whole active span
    pace = np.fmax(out.revenue_prev * (365.0 / w), out.revenue_total / (out.purchases * out.mean_gap_days) * 365.0)
    out["value_at_risk"] = pace.fillna(0.0).round(2)
    out["last_order_at"] = out.last_day
    out["reason"] = _reasons(out, fell[keep], fell2[keep] & ~fell[keep], by_rhythm[keep], overdue[keep], params)
    return out


def _reasons(out: pd.DataFrame, fell: pd.Series, fell2: pd.Series, by_rhythm: pd.Series, overdue: pd.Series,
             params: DeclineParams) -> pd.Series:
    """One sentence per customer, built column-wise from the signals that fired."""
    w = params.window_days
    window = ("bought " + out.orders_prev.round(1).astype(str) + " times per " + str(w) + " days in the year before, "
              + out.orders_recent.astype(int).astype(str) + " in the last " + str(w))
    window2 = ("bought " + out.orders_prev2.round(1).astype(str) + " times per " + str(2 * w) + " days in the year before, "
               + out.orders_recent2.astype(int).astype(str) + " in the last " + str(2 * w))
    rhythm = ("usually buys every " + out.mean_gap_days.round(0).fillna(0).astype(int).astype(str)
              + " days, silent for " + out.days_silent.astype(str) + " (" + overdue.round(1).astype(str) + "x)")
    alive = "P(alive) " + out.p_alive_before.round(2).astype(str) + " -> " + out.p_alive.round(2).astype(str)
    parts = pd.concat([window.where(fell, ""), window2.where(fell2, ""), rhythm.where(by_rhythm, ""), alive], axis=1)
    text = parts.apply(lambda col: col.where(col == "", col + "; ")).sum(axis=1).str.rstrip("; ")
    lost = out.days_silent > params.lost_after_days
    return text.where(~lost, "long gone (no order for " + out.days_silent.astype(str) + " days); " + text)


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
    phone_ok = people.phone_opt_in.fillna(False).astype(bool) & people.phone.notna()
    email_ok = people.email_opt_in.fillna(False).astype(bool) & people.email.notna()
    value = people.value_at_risk
    high = value >= value.quantile(0.75) if len(value) else value.astype(bool)
    low = value < value.quantile(0.5) if len(value) else value.astype(bool)
    answered = pd.Series(None, index=people.index, dtype=object)
    no_phone_answer = pd.Series(False, index=people.index)
    if history is not None and len(history):
        h = people[["customer_id"]].merge(history, on="customer_id", how="left").set_index(people.index)
        answered, no_phone_answer = h.answered_by, h.phone_no_answer.fillna(False).astype(bool)
    allowed = {"phone": phone_ok, "email": email_ok, "survey": email_ok}
    choice = np.select(
        [(answered == c) & allowed[c] for c in CHANNELS]
        + [high & phone_ok & ~no_phone_answer, email_ok & ~low, email_ok, phone_ok],
        [*CHANNELS, "phone", "email", "survey", "phone"], default=None)
    return pd.Series(choice, index=people.index, dtype=object)


def _past_responses(tasks: ir.Table, customer_ids: pd.Series) -> pd.DataFrame:
    """Per customer: the channel of their latest answered win-back task, and whether a call went unanswered."""
    done = tasks.filter(tasks.status == "done").semi_join(
        ibis.memtable(pd.DataFrame({"customer_id": customer_ids})), "customer_id")
    answered = done.filter(done.outcome.isin(["reactivated", "promised"]))
    latest = answered.group_by("customer_id").aggregate(
        answered_by=answered.suggested_channel.argmax(answered.completed_at))
    no_answer = done.filter((done.outcome == "no_answer") & (done.suggested_channel == "phone"))
    no_answer = no_answer.select("customer_id").distinct().mutate(phone_no_answer=True)
    return latest.outer_join(no_answer, "customer_id").select(
        customer_id=ibis.coalesce(ibis._.customer_id, ibis._.customer_id_right),
        answered_by=ibis._.answered_by, phone_no_answer=ibis._.phone_no_answer).execute()


def _run(store, params: DeclineParams) -> dict:
    orders = store.table("orders")
    as_of = resolve_as_of(orders, params.as_of)
    tasks = store.table("tasks") if store.has_table("tasks") else None
    return {"customers": declining_customers(orders, store.table("customers"), tasks, as_of=as_of, params=params)}


def _charts(results: dict) -> list:
    import plotly.express as px

    df = results["customers"].head(200)
    return [px.scatter(df, x="drop_pct", y="value_at_risk", color="suggested_channel", hover_data=["customer_id", "reason"],
                       title="Declining customers: drop against value at risk")]


DECLINE = register(Analysis(
    name="decline", title="Declining customers",
    question="Whose buying has fallen, why, and what is winning them back worth?",
    run=_run, params=DeclineParams, charts=_charts, order_by={"customers": ("value_at_risk", True)},
))
