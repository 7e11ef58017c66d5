"""Sequential rules: "bought A, then B for the first time within N days" with censoring and a matched baseline.

Definitions (docs/definitions.md):
- Only first purchases count: t_A and t_B are the dates of a customer's first positive order line of A and B.
- Denominator ``customers_a``: customers whose first A is at least ``window_days`` before the as-of date
  (right-censoring: the rest have not had the full window) and who did not own B by t_A.
- Numerator ``customers_a_then_b``: those with t_A < t_B <= t_A + window.
- ``baseline``: for each calendar month, the share of customers active that month (any order) and not yet
  owning B who buy B for the first time within the window after the month starts; averaged over months
  weighted by when the A buyers made their first A purchase (so seasonality and growth are matched).
- ``lift`` = confidence / baseline; ``p_value``: one-sided binomial test of confidence > baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from scipy import stats

from salesintel.analyses.registry import Analysis, register
from salesintel.analyses.timeline import days_between, orders_until, resolve_as_of

COLUMNS = ["antecedent", "consequent", "window_days", "customers_a", "customers_a_then_b", "confidence",
           "baseline", "lift", "p_value", "median_days"]


@dataclass(frozen=True)
class RuleParams:
    window_days: int = 180
    min_customers: int = 10
    min_lift: float = 1.0  # a pair bought no more often than the baseline is not a rule
    top: int | None = None
    by: str = "product"  # product or category
    antecedent: str | None = None
    as_of: date | None = None


def first_purchases(orders: ir.Table, products: ir.Table, *, as_of: date, by: str = "product") -> ir.Table:
    """One row per customer and item (product or category): ``customer_id, item, first_on`` (a date)."""
    o = orders_until(orders, as_of)
    o = o.filter(o.amount > 0)
    if by == "category":
        o = o.join(products.select("product_id", "category"), "product_id").filter(lambda t: t.category.notnull())
        item = o.category
    else:
        item = o.product_id
    o = o.mutate(item=item)
    return o.group_by("customer_id", "item").aggregate(first_on=o.ordered_at.min().date())


def rule_counts(first: ir.Table, *, as_of: date, window_days: int, antecedent: str | None = None) -> ir.Table:
    """Per ordered pair (A, B): customers_a, customers_a_then_b, median_days (engine-side, no baseline)."""
    last_full = ibis.literal(as_of - timedelta(days=window_days))
    a = first.filter(first.first_on <= last_full).select("customer_id", antecedent=first.item, a_on=first.first_on)
    if antecedent is not None:
        a = a.filter(a.antecedent == antecedent)
    n_a = a.group_by("antecedent").aggregate(eligible=a.count())
    b = first.select("customer_id", consequent=first.item, b_on=first.first_on)
    # B first bought after the window never counts: leave those pairs out of the join rather than filter later
    in_reach = b.b_on <= a.a_on + ibis.interval(days=window_days)
    pairs = a.join(b, [a.customer_id == b.customer_id, in_reach]).filter(lambda t: t.antecedent != t.consequent)
    pairs = pairs.mutate(lag=days_between(pairs.b_on, pairs.a_on))
    hit = pairs.lag > 0
    agg = pairs.group_by("antecedent", "consequent").aggregate(
        owned_before=(pairs.lag <= 0).sum(),
        customers_a_then_b=hit.sum(),
        median_days=pairs.lag.median(where=hit),
    )
    agg = agg.join(n_a, "antecedent")
    return agg.select("antecedent", "consequent",
                      customers_a=(agg.eligible - agg.owned_before).cast("int64"),
                      customers_a_then_b=agg.customers_a_then_b.cast("int64"), median_days=agg.median_days)


def monthly_baseline(orders: ir.Table, first: ir.Table, *, as_of: date, window_days: int) -> ir.Table:
    """Per item B and month: share of that month's active customers (not owning B) who first buy B in the window."""
    o = orders_until(orders, as_of)
    active = o.select("customer_id", month=o.ordered_at.date().truncate("M")).distinct()
    active = active.filter(active.month <= ibis.literal(as_of - timedelta(days=window_days)))
    size = active.group_by("month").aggregate(active=active.count())
    joined = active.join(first.rename(consequent="item"), "customer_id")
    lag = days_between(joined.first_on, joined.month)
    per = joined.group_by("consequent", "month").aggregate(
        owned=(lag < 0).sum(), bought=((lag >= 0) & (lag < window_days)).sum())
    per = per.join(size, "month")
    return per.select("consequent", "month",
                      rate=per.bought.cast("float64") / (per.active - per.owned).cast("float64"))


def sequential_rules(orders: ir.Table, products: ir.Table, *, as_of: date, window_days: int = 180,
                     by: str = "product", antecedent: str | None = None, min_customers: int = 10,
                     min_lift: float = 1.0, top: int | None = None) -> pa.Table:
    """The rules table (columns :data:`COLUMNS`), sorted by lift; one row per ordered pair with enough support.

    Example:
        >>> # sequential_rules(store.table("orders"), store.table("products"), as_of=date(2025, 12, 31))
    """
    # first purchases feed three joins below: compute them once (a temporary table in the engine)
    with first_purchases(orders, products, as_of=as_of, by=by).cache() as first:
        return _rules(orders, first, as_of=as_of, window_days=window_days, antecedent=antecedent,
                      min_customers=min_customers, min_lift=min_lift, top=top)


def _rules(orders: ir.Table, first: ir.Table, *, as_of: date, window_days: int, antecedent: str | None,
           min_customers: int, min_lift: float, top: int | None) -> pa.Table:
    counts = rule_counts(first, as_of=as_of, window_days=window_days, antecedent=antecedent)
    # the pair count is the heavy part and is read twice below: materialise it once
    with counts.filter(counts.customers_a_then_b >= min_customers).cache() as counts:
        df = _with_baseline(orders, first, counts, as_of=as_of, window_days=window_days)
    return _finish(df, window_days, min_lift, top)


def _with_baseline(orders: ir.Table, first: ir.Table, counts: ir.Table, *, as_of: date, window_days: int):
    rates = monthly_baseline(orders, first, as_of=as_of, window_days=window_days)
    a = first.filter(first.first_on <= ibis.literal(as_of - timedelta(days=window_days)))
    weights = a.group_by(antecedent=a.item, month=a.first_on.truncate("M")).aggregate(w=a.count())
    wb = counts.select("antecedent", "consequent").join(weights, "antecedent").join(rates, ["consequent", "month"])
    baseline = wb.group_by("antecedent", "consequent").aggregate(
        baseline=(wb.w * wb.rate).sum() / wb.w.sum().cast("float64"))
    return counts.left_join(baseline, ["antecedent", "consequent"]).select(
        "antecedent", "consequent", "customers_a", "customers_a_then_b", "median_days", "baseline").execute()


def _finish(df, window_days: int, min_lift: float, top: int | None) -> pa.Table:
    """Confidence, lift and p-values on the aggregated pairs (a few thousand rows at most)."""
    df["window_days"] = window_days
    df["confidence"] = df.customers_a_then_b / df.customers_a
    base = df.baseline.fillna(0.0).clip(lower=1e-9)
    df["lift"] = df.confidence / base
    df["p_value"] = stats.binom.sf(df.customers_a_then_b - 1, df.customers_a, base.clip(upper=1.0))
    df = df[df.lift > min_lift].sort_values(["lift", "customers_a_then_b"], ascending=[False, False])
    if top:
        df = df.head(top)
    df["median_days"] = df.median_days.astype(float)
    return pa.Table.from_pandas(df[COLUMNS].reset_index(drop=True), preserve_index=False)


def _run(store, params: RuleParams) -> dict:
    orders = store.table("orders")
    as_of = resolve_as_of(orders, params.as_of)
    rules = sequential_rules(orders, store.table("products"), as_of=as_of, window_days=params.window_days,
                             by=params.by, antecedent=params.antecedent, min_customers=params.min_customers,
                             min_lift=params.min_lift, top=params.top)
    return {"rules": rules}


def _charts(results: dict) -> list:
    import plotly.express as px

    df = results["rules"].head(25).copy()
    df["rule"] = df.antecedent + " then " + df.consequent
    return [px.bar(df.iloc[::-1], x="lift", y="rule", orientation="h", hover_data=["confidence", "customers_a",
                   "p_value", "median_days"], title="Top sequential rules by lift")]


RULES = register(Analysis(
    name="rules", title="What customers buy next (A then B)",
    question="Of the customers who bought A, how many bought B for the first time within the window?",
    run=_run, params=RuleParams, charts=_charts, order_by={"rules": ("lift", True)},
))

