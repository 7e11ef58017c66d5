"""Sequential rules: "bought A, then B for the first time within N days" with censoring and a matched baseline.

Definitions (docs/definitions.md):
- Only first purchases count: t_A and t_B are the dates of a customer's first positive order line of A and B.
- Denominator ``customers_a``: customers whose first A is at least ``window_days`` before the as-of date
  (right-censoring: the rest have not had the full window) and who did not own B by t_A.
- Numerator ``customers_a_then_b``: those with t_A < t_B <= t_A + window.
- ``baseline``: for each calendar month, the share of comparable customers who buy B for the first time
  within the window after the month starts, where comparable means active that month (any order), not yet
  owning B, and not buying A before the window ends; averaged over months weighted by when the A buyers
  made their first A purchase (so seasonality and growth are matched).
- ``lift`` = confidence / baseline; ``p_value``: one-sided binomial test of confidence > baseline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import pyarrow as pa

from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.analyses.timeline import orders_until
from salesintel.errors import UserInputError
from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")
selectors = lazy("ibis.selectors")
stats = lazy("scipy.stats")

COLUMNS = [
    "antecedent",
    "consequent",
    "window_days",
    "customers_a",
    "customers_a_then_b",
    "confidence",
    "baseline",
    "lift",
    "p_value",
    "median_days",
]


@dataclass(frozen=True)
class RuleParams(Params):
    analysis_name: ClassVar[str] = "rules"
    window_days: int = param(
        180, "B must be bought for the first time within this many days after A.", ge=1, label="within {} days"
    )
    min_customers: int = param(
        10, "Support floor: at least this many customers bought A then B.", ge=1, label="at least {} customers"
    )
    min_lift: float = param(
        1.0, "Report a pair only when its lift exceeds this (1 = no better than chance).", ge=0, label="lift above {}"
    )
    top: int | None = param(None, "Keep only the K rules with the highest lift.", ge=1, label="top {}")
    by: str = param(
        "product", "Rules between products or between categories.", choices=("product", "category"), label="by {}"
    )
    antecedent: str | None = param(
        None, "Only rules that start from this product (or category).", label="starting from {}"
    )


COLUMN_DECLS = (
    Col("antecedent", "string", "Bought first (A)", refers="products"),
    Col("consequent", "string", "Then bought (B)", refers="products"),
    Col("window_days", "int", "Window in days", "days"),
    Col("customers_a", "int", "Customers who bought A with a full window", "count"),
    Col("customers_a_then_b", "int", "Of those, bought B within the window", "count"),
    Col("confidence", "float", "Share of A buyers who then bought B", "percent"),
    Col("baseline", "float", "Share of comparable customers without A who bought B", "percent"),
    Col("lift", "float", "Lift (confidence / baseline)", "ratio"),
    Col("p_value", "float", "p-value (one-sided binomial test)", "p"),
    Col("median_days", "float", "Median days from A to B", "days"),
)
BY_CHOICES = ("product", "category")
PAIR_MONTH = ["antecedent", "consequent", "month"]


def first_purchases(orders: ir.Table, products: ir.Table, *, as_of: date, by: str = "product") -> ir.Table:
    """One row per customer and item (product or category): ``customer_id, item, first_on`` (a date)."""
    o = _bought(orders, products, as_of=as_of, by=by)
    return o.group_by("customer_id", "item").aggregate(first_on=o.ordered_at.min().date())


def _bought(orders: ir.Table, products: ir.Table, *, as_of: date, by: str) -> ir.Table:
    """The positive order lines up to ``as_of``, with ``item`` (the product or its category)."""
    if by not in BY_CHOICES:
        raise UserInputError(f"by must be product or category, not {by!r}")
    o = orders_until(orders, as_of)
    o = o.filter(o.amount > 0)
    if by == "category":
        o = o.join(products.select("product_id", "category"), "product_id").filter(lambda t: t.category.notnull())
        item = o.category
    else:
        item = o.product_id
    return o.mutate(item=item)


def with_days(first: ir.Table) -> ir.Table:
    """Add ``day``, the first purchase as a day number: lags become integer arithmetic on every engine."""
    return first if "day" in first.columns else first.mutate(day=first.first_on.epoch_days().cast("int32"))


def rule_counts(first: ir.Table, *, as_of: date, window_days: int, antecedent=None) -> ir.Table:
    """Per ordered pair (A, B): ``customers_a`` and ``customers_a_then_b`` (engine-side, no baseline).

    ``first`` is a :func:`first_purchases` table, with its string ids or with the integer codes of
    :func:`coded_first_purchases`; ``antecedent`` is an item (or its code) to restrict A to.

    >>> import ibis, datetime as d
    >>> first = ibis.memtable({"customer_id": ["c1", "c1", "c2"], "item": ["A", "B", "A"],
    ...                        "first_on": [d.date(2024, 1, 1), d.date(2024, 2, 1), d.date(2024, 1, 5)]})
    >>> rule_counts(first, as_of=d.date(2024, 12, 31), window_days=90).order_by("antecedent").execute()
      antecedent consequent  customers_a  customers_a_then_b
    0          A          B            2                   1
    1          B          A            0                   0
    """
    first = with_days(first)
    a, b = _pair_sides(first, as_of=as_of, window_days=window_days)
    if antecedent is not None:
        a = a.filter(a.antecedent == antecedent)
    # not ``a.group_by(...)``: a subquery used twice becomes a CTE, which DuckDB materialises (2x slower at 10M)
    n_a = first.group_by(antecedent=first.item).aggregate(
        eligible=first.count(where=first.day <= _last_full_day(as_of, window_days))
    )
    # B first bought after the window never counts: leave those pairs out of the join rather than filter later
    pairs = a.join(b, [a.customer_id == b.customer_id, b.b_day <= a.a_day + window_days])
    pairs = pairs.filter(pairs.antecedent != pairs.consequent)
    # every joined pair is either owned before A (B on or before A's day) or a hit: two counts. COUNT(*)
    # FILTER, not SUM(CAST(... AS INT)): DuckDB sums integers as 128-bit HUGEINTs (pair count 1.35x slower)
    agg = pairs.group_by("antecedent", "consequent").aggregate(
        joined=pairs.count(), owned_before=pairs.count(where=pairs.b_day <= pairs.a_day)
    )
    agg = agg.join(n_a, "antecedent")
    return agg.select(
        "antecedent",
        "consequent",
        customers_a=(agg.eligible - agg.owned_before).cast("int64"),
        customers_a_then_b=(agg.joined - agg.owned_before).cast("int64"),
    )


def median_lags(first: ir.Table, pairs: ir.Table, *, as_of: date, window_days: int) -> ir.Table:
    """``antecedent, consequent, median_days``: the median days from first A to first B among the hits.

    Computed only for ``pairs`` (the reported rules): the holistic median is the dearest aggregate here.
    Driven from the pairs (each A's buyers, then their row of B), not from the per-customer self-join of
    everything: there are few reported rules.
    """
    a, b = _pair_sides(with_days(first), as_of=as_of, window_days=window_days)
    hits = pairs.join(a, "antecedent")
    hits = hits.join(
        b,
        [
            hits.customer_id == b.customer_id,
            hits.consequent == b.consequent,
            b.b_day > hits.a_day,
            b.b_day <= hits.a_day + window_days,
        ],
    )
    return hits.group_by("antecedent", "consequent").aggregate(median_days=(hits.b_day - hits.a_day).median())


def customer_months(orders: ir.Table, *, as_of: date, window_days: int) -> ir.Table:
    """``customer_id, month``: the calendar months (as the day number of their 1st) a customer ordered in,
    up to the last month whose window ends by ``as_of``."""
    o = orders_until(orders, as_of)
    o = o.select("customer_id", month=o.ordered_at.date().truncate("M").epoch_days().cast("int32"))
    return o.filter(o.month <= _last_full_day(as_of, window_days)).distinct()


def monthly_baseline(active: ir.Table, first: ir.Table, *, window_days: int) -> ir.Table:
    """Per item and month, among that month's active customers: how many ``owned`` the item at the month's
    start and how many ``held`` it before the window ended (owned, or first bought within the window).

    ``active`` is a :func:`customer_months` table with the same customer ids as ``first``. An item with no
    row for a month has zero of both. Per pair (A, B) the comparison group is
    ``active - owned(B) - (held(A) - owned_both)``, with ``owned_both`` from :func:`pair_month_overlap`.
    """
    first = with_days(first)
    f = first.select("customer_id", item=first.item, day=first.day)
    # an item first bought after the window holds nowhere: leave it out of the join rather than count it
    joined = active.join(f, [active.customer_id == f.customer_id, f.day < active.month + window_days])
    return joined.group_by("item", "month").aggregate(
        owned=joined.count(where=joined.day < joined.month), held=joined.count()
    )


def pair_month_overlap(active: ir.Table, first: ir.Table, pairs: ir.Table, *, window_days: int) -> ir.Table:
    """Per unordered pair (``lo < hi``) and month, among that month's active customers who held both items
    before the window ended: ``both_held`` of them, ``owned_lo`` and ``owned_hi`` of them already owned
    lo, hi at the month's start.

    For a rule A -> B these are the A holders to take out of B's monthly comparison group: owned both =
    owned B, bought both = both_held - owned B. The count is symmetric but for who owned which, so each
    customer's pair is joined and grouped once, not twice. Only the pairs of ``pairs`` (either direction)
    are computed, and only for customers who hold both (``first`` has integer item codes).
    """
    first = with_days(first)
    wanted = pairs.select(
        lo=ibis.least(pairs.antecedent, pairs.consequent), hi=ibis.greatest(pairs.antecedent, pairs.consequent)
    ).distinct()
    x = first.select("customer_id", lo=first.item, lo_day=first.day)
    y = first.select(customer_id_y=first.customer_id, hi=first.item, hi_day=first.day)
    both = x.join(y, [x.customer_id == y.customer_id_y, x.lo < y.hi])
    # the semi-join on the plain columns: on a computed key PostgreSQL's planner (blind on temporary tables,
    # which have no statistics) crossed every pair with every row and filled the disk at 1M lines
    both = both.semi_join(wanted, ["lo", "hi"])
    # a month counts when both items were held before its window ended: month > max(lo_day, hi_day) - window
    both = both.select(
        "customer_id", "lo", "hi", "lo_day", "hi_day", start=ibis.greatest(both.lo_day, both.hi_day) - window_days
    )
    both = both.view()  # a fresh relation: Ibis refuses the inequality against the self-join's own columns
    j = both.join(active, [both.customer_id == active.customer_id, active.month > both.start])
    return j.group_by("lo", "hi", "month").aggregate(
        both_held=j.count(), owned_lo=j.count(where=j.lo_day < j.month), owned_hi=j.count(where=j.hi_day < j.month)
    )


def encode_purchases(bought: ir.Table) -> tuple[ir.Table, ir.Table]:
    """Integer codes for the customers and items of the positive order lines: ``(customer_codes, item_codes)``.

    The pair counts group tens of millions of joined rows by (A, B); two small integers hash far faster
    than two strings, and small dense codes let DuckDB use its perfect hash table.
    """
    customers = bought.select("customer_id").distinct()
    items = bought.select("item").distinct()
    return (customers.mutate(code=ibis.row_number().cast("int32")), items.mutate(code=ibis.row_number().cast("int32")))


def coded_first_purchases(bought: ir.Table, customers: ir.Table, items: ir.Table) -> ir.Table:
    """``customer_id, item, day, first_on``: first purchases with integer codes and the day as a number.

    The codes are joined onto the order lines before grouping, so the grouping hashes two integers, not
    two strings; ``first_on`` rides along for the month of the first purchase (the baseline's weights).
    """
    lines = bought.join(customers, "customer_id").join(items, "item")
    lines = lines.select(customer_id=lines.code, item=lines.code_right, ordered_at=lines.ordered_at)
    first = lines.group_by("customer_id", "item").aggregate(first_on=lines.ordered_at.min().date())
    return first.mutate(day=first.first_on.epoch_days().cast("int32"))


def sequential_rules(
    orders: ir.Table,
    products: ir.Table,
    *,
    as_of: date,
    window_days: int = 180,
    by: str = "product",
    antecedent: str | None = None,
    min_customers: int = 10,
    min_lift: float = 1.0,
    top: int | None = None,
) -> pa.Table:
    """The rules table (columns :data:`COLUMNS`), sorted by lift; one row per ordered pair with enough support.

    >>> import datetime as d, pyarrow as pa
    >>> from salesintel.store import Store
    >>> store = Store.open(":memory:")
    >>> store.append("orders", pa.table({  # c3 and c4 are the comparison group without A; c4 buys B
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"], "line": [1] * 6,
    ...     "customer_id": ["c1", "c1", "c2", "c3", "c4", "c4"], "product_id": ["A", "B", "A", "C", "C", "B"],
    ...     "amount": [10.0] * 6, "ordered_at": [d.datetime(2024, 1, 1), d.datetime(2024, 2, 1),
    ...     d.datetime(2024, 1, 5), d.datetime(2024, 1, 3), d.datetime(2024, 1, 4), d.datetime(2024, 2, 10)]}))
    >>> rules = sequential_rules(store.table("orders"), store.table("products"), as_of=d.date(2024, 12, 31),
    ...                          window_days=90, min_customers=1, min_lift=0.0).to_pylist()
    >>> {k: rules[0][k] for k in ("antecedent", "consequent", "confidence", "baseline", "median_days")}
    {'antecedent': 'A', 'consequent': 'B', 'confidence': 0.5, 'baseline': 0.5, 'median_days': 31.0}
    """
    with _engine_tables(orders, products, as_of=as_of, window_days=window_days, by=by) as tables:
        names = tables.items.execute().set_index("code")["item"]
        counts = rule_counts(
            tables.coded,
            as_of=as_of,
            window_days=window_days,
            antecedent=None if antecedent is None else _code_of(names, antecedent),
        )
        with counts.filter(counts.customers_a_then_b >= min_customers).cache() as counts:
            df = _with_baseline(counts, tables, as_of=as_of, window_days=window_days)
        df = _finish(df, window_days, min_lift, top)
        df = _with_median(df, tables.coded, as_of=as_of, window_days=window_days)
    df["antecedent"] = df.antecedent.map(names)
    df["consequent"] = df.consequent.map(names)
    return pa.Table.from_pandas(df[COLUMNS], preserve_index=False)


@dataclass(frozen=True)
class _Tables:
    items: ir.Table  # item, code
    coded: ir.Table  # customer_id, item, day, first_on: integer codes and day numbers
    active: ir.Table  # customer_id (code), month: the months each customer ordered in


@contextmanager
def _engine_tables(
    orders: ir.Table, products: ir.Table, *, as_of: date, window_days: int, by: str
) -> Iterator[_Tables]:
    """The inputs every step reads, cached once as temporary engine tables and dropped on exit."""
    with ExitStack() as temp:

        def keep(table: ir.Table) -> ir.Table:
            return temp.enter_context(table.cache())

        bought = _bought(orders, products, as_of=as_of, by=by)
        customers, items = (keep(t) for t in encode_purchases(bought))
        # ordered by customer, the self-joins probe neighbouring rows (about 1.5x faster at 10M lines)
        coded = keep(coded_first_purchases(bought, customers, items).order_by("customer_id"))
        active = customer_months(orders, as_of=as_of, window_days=window_days).join(customers, "customer_id")
        active = keep(active.select(customer_id=active.code, month=active.month))
        yield _Tables(items, coded, active)


def _code_of(names, item: str) -> int:
    """The integer code of ``item``; -1 (no rows) for an item nobody bought."""
    match = names.index[names == item]
    return int(match[0]) if len(match) else -1


def _last_full_day(as_of: date, window_days: int) -> int:
    """The last day (a day number) a first purchase may fall on and still have a full window by ``as_of``."""
    return (as_of - timedelta(days=window_days) - date(1970, 1, 1)).days


def _pair_sides(first: ir.Table, *, as_of: date, window_days: int) -> tuple[ir.Table, ir.Table]:
    """The two sides of the per-customer self-join: A (only first purchases with a full window), and B."""
    a = first.filter(first.day <= _last_full_day(as_of, window_days))
    return (
        a.select("customer_id", antecedent=a.item, a_day=a.day),
        first.select("customer_id", consequent=first.item, b_day=first.day),
    )


def _first_month_weights(coded: ir.Table, *, as_of: date, window_days: int) -> ir.Table:
    """How many eligible A buyers made their first A purchase in each month: the baseline's weights."""
    a = coded.filter(coded.day <= _last_full_day(as_of, window_days))
    month = a.first_on.truncate("M").epoch_days().cast("int32")
    return a.group_by(antecedent=a.item, month=month).aggregate(w=a.count())


def _with_baseline(counts: ir.Table, tables: _Tables, *, as_of: date, window_days: int):
    """The counts with ``baseline``: B's monthly rate among comparable customers without A, weighted by
    when the A buyers first bought A. A month with no comparable customer carries no weight."""
    weights = _first_month_weights(tables.coded, as_of=as_of, window_days=window_days)
    monthly = monthly_baseline(tables.active, tables.coded, window_days=window_days)
    overlap = pair_month_overlap(tables.active, tables.coded, counts, window_days=window_days)
    # cached apart: as one query over all the inputs DuckDB picks a plan that is 3x slower
    with weights.cache() as weights, monthly.cache() as monthly, overlap.cache() as overlap:
        return _baseline(counts, weights, monthly, overlap, tables.active).execute()


def _baseline(counts: ir.Table, weights: ir.Table, monthly: ir.Table, overlap: ir.Table, active: ir.Table):
    """Per pair and month, comparable = active - owned B - held A + owned both and bought = held B - owned B
    - bought both; the weighted mean of the monthly rates, joined onto ``counts``."""
    size = active.group_by("month").aggregate(active=active.count())
    wb = counts.select("antecedent", "consequent").join(weights, "antecedent").join(size, "month")
    b_side = monthly.select(consequent=monthly.item, month=monthly.month, owned=monthly.owned, held=monthly.held)
    a_side = monthly.select(antecedent=monthly.item, month=monthly.month, held_a=monthly.held)
    # per rule A -> B, the overlap row of the pair {A, B}: owned both is "owned B" of the pair
    both = overlap.select(
        antecedent=overlap.lo,
        consequent=overlap.hi,
        month=overlap.month,
        both_held=overlap.both_held,
        owned_both=overlap.owned_hi,
    ).union(
        overlap.select(
            antecedent=overlap.hi,
            consequent=overlap.lo,
            month=overlap.month,
            both_held=overlap.both_held,
            owned_both=overlap.owned_lo,
        )
    )
    for side, keys in ((b_side, ["consequent", "month"]), (a_side, ["antecedent", "month"]), (both, PAIR_MONTH)):
        wb = wb.left_join(side, keys).select(~selectors.endswith("_right"))
    owned, held, held_a = wb.owned.fill_null(0), wb.held.fill_null(0), wb.held_a.fill_null(0)
    owned_both, both_held = wb.owned_both.fill_null(0), wb.both_held.fill_null(0)
    wb = wb.mutate(comparable=wb.active - owned - held_a + owned_both, bought=held - owned - (both_held - owned_both))
    wb = wb.filter(wb.comparable > 0)
    wb = wb.mutate(w=wb.w.cast("float64"), rate=wb.bought.cast("float64") / wb.comparable.cast("float64"))
    # the weights summed as floats (exact for counts below 2^53): DuckDB sums integers as 128-bit HUGEINTs
    baseline = wb.group_by("antecedent", "consequent").aggregate(baseline=(wb.w * wb.rate).sum() / wb.w.sum())
    return counts.left_join(baseline, ["antecedent", "consequent"]).select(
        "antecedent", "consequent", "customers_a", "customers_a_then_b", "baseline"
    )


def _with_median(df, coded: ir.Table, *, as_of: date, window_days: int):
    pairs = ibis.memtable(df[["antecedent", "consequent"]].astype("int32"))
    medians = median_lags(coded, pairs, as_of=as_of, window_days=window_days).execute()
    df = df.merge(medians, on=["antecedent", "consequent"], how="left")
    df["median_days"] = df.median_days.astype(float)
    return df


def _finish(df, window_days: int, min_lift: float, top: int | None):
    """Confidence, lift and p-values on the aggregated pairs; the rules worth reporting, best first."""
    df["window_days"] = window_days
    df["confidence"] = df.customers_a_then_b / df.customers_a
    # no baseline: nobody active in those months was without A, so there is nothing to compare with
    base = df.baseline.clip(lower=1e-9)
    df["lift"] = df.confidence / base
    df["p_value"] = stats.binom.sf(df.customers_a_then_b - 1, df.customers_a, base.clip(upper=1.0))
    keep = (df.lift > min_lift) | (df.lift.isna() & (min_lift == 0))  # an unknown lift passes no floor
    df = df[keep].sort_values(["lift", "customers_a_then_b"], ascending=[False, False], na_position="last")
    return (df.head(top) if top else df).reset_index(drop=True)


def _compute(ctx, params: RuleParams) -> dict:
    rules = sequential_rules(
        ctx.table("orders"),
        ctx.table("products"),
        as_of=params.as_of,
        window_days=params.window_days,
        by=params.by,
        antecedent=params.antecedent,
        min_customers=params.min_customers,
        min_lift=params.min_lift,
        top=params.top,
    )
    return {"rules": rules}


def _charts(read) -> list:
    import plotly.express as px

    df = read.named(read("rules").order_by(ibis.desc("lift")).limit(20).execute(), "rules")
    if df.empty:
        return []
    df["rule"] = df.antecedent_name + " → " + df.consequent_name
    fig = px.bar(
        df.iloc[::-1],
        x="lift",
        y="rule",
        orientation="h",
        hover_data=["confidence", "customers_a", "median_days"],
        title="Top 20 'bought A, then B' rules (lift: times the usual rate)",
        labels={"lift": "lift (x the rate of comparable customers)", "rule": ""},
    )
    return [fig]


RULES = register(
    Analysis(
        name="rules",
        title="What customers buy next (A then B)",
        question="Of the customers who bought A, how many bought B for the first time within the window?",
        inputs=("orders", "products"),
        params=RuleParams,
        outputs={
            "rules": Output(
                COLUMN_DECLS,
                grain="one row per ordered pair of products (or categories)",
                key=("antecedent", "consequent"),
                person_key=None,
                sort=("lift", True),
            )
        },
        compute=_compute,
        charts=_charts,
        python_step="p-values (binomial test) on the aggregated pair counts",
    )
)
