"""The plain pandas peer of the sequential rules: the whole computation, as bench/sequential_rules.sql and
docs/definitions.md define it, in pandas (merges and group-bys on the categorical codes) with scipy's
binomial tail for the p-values.

Steps, as the SQL file's statements: first purchases per customer and product (positive lines up to the
as-of date), the months each buyer ordered in, one self-merge of the first purchases per customer (all
ordered pairs of a customer's products), from which come the pair counts (censoring, owned-before, the
support floor), the per-pair overlap of the baseline and the lags of the medians; the monthly owned / held
counts per product, the baseline (comparable customers who did not hold A, weighted by the month of the
first A), lift, p-values, and the median lag of the reported rules.

``orders`` is a DataFrame ``customer_id, product_id, ordered_at, amount`` with ``customer_id`` and
``product_id`` categorical (the codes are the integer ids every merge and group-by works on).

A pair with no baseline (nobody comparable in its months) has no lift and no p-value and passes only a
lift floor of 0, as docs/definitions.md, salesintel and bench/sequential_rules.sql have it.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.stats

from salesintel.analyses.sequential_rules import COLUMNS

PAIR = ["antecedent", "consequent"]


def _day_numbers(ts: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of a timestamp column (its calendar date), as int32."""
    return ts.to_numpy().astype("datetime64[D]").astype(np.int32)


def _month_numbers(days: np.ndarray) -> np.ndarray:
    """The day number of the 1st of the month of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)


def pandas_sequential_rules(
    orders: pd.DataFrame, *, as_of: date, window_days: int = 180, min_customers: int = 10, min_lift: float = 1.0
) -> pa.Table:
    """The rules table (salesintel's columns), sorted by lift, computed in pandas."""
    window = int(window_days)
    last_full = (as_of - timedelta(days=window_days) - date(1970, 1, 1)).days
    until = orders[orders.ordered_at < pd.Timestamp(as_of + timedelta(days=1))]
    bought = until[until.amount > 0]
    n_items = len(orders.product_id.cat.categories)

    # first purchase per customer and product: (customer, item, day) integers, sorted by customer
    first = (
        bought.groupby([bought.customer_id.cat.codes.rename("customer"), bought.product_id.cat.codes.rename("item")])
        .ordered_at.min()
        .reset_index()
    )
    first["day"] = _day_numbers(first.pop("ordered_at"))

    # the months each buyer ordered in (any line), up to the last month with a full window
    active = pd.DataFrame(
        {"customer": until.customer_id.cat.codes, "month": _month_numbers(_day_numbers(until.ordered_at))}
    )
    active = active[(active.month <= last_full) & active.customer.isin(first.customer.unique())]
    active = active.drop_duplicates(ignore_index=True)

    # every ordered pair of a customer's first purchases, A's then B's. sort=True: the rows come out in the
    # order of the keys, without re-sorting the joined rows back into the left frame's order (2x faster)
    both = first.merge(first, on="customer", suffixes=("_a", "_b"), sort=True)
    lag = both.day_b - both.day_a

    # pair counts: A with a full window, B another product bought no later than A + window; each such pair
    # is either owned before (B on or before A's day) or a hit. Pairs with enough hits only.
    counted = (both.item_a != both.item_b) & (both.day_a <= last_full) & (lag <= window)
    pairs = pd.DataFrame({"item_a": both.item_a[counted], "item_b": both.item_b[counted], "lag": lag[counted]})
    agg = (pairs.lag <= 0).groupby([pairs.item_a, pairs.item_b], sort=False).agg(["size", "sum"])
    agg = agg[agg["size"] - agg["sum"] >= min_customers].reset_index()
    eligible = first[first.day <= last_full].groupby("item").size()
    counts = pd.DataFrame(
        {
            "antecedent": agg.item_a,
            "consequent": agg.item_b,
            "customers_a": (eligible.reindex(agg.item_a).to_numpy() - agg["sum"]).astype(np.int64),
            "customers_a_then_b": (agg["size"] - agg["sum"]).astype(np.int64),
        }
    )
    # the hits of the counted pairs, for the median lags; a lookup table of the counted pairs by code
    is_counted = np.zeros((n_items, n_items), dtype=bool)
    is_counted[counts.antecedent, counts.consequent] = True
    hits = pairs[(pairs.lag > 0) & is_counted[pairs.item_a, pairs.item_b]]
    del pairs

    # the customers holding both products of a counted pair (either direction), each unordered pair once
    wanted = (both.item_a < both.item_b) & (is_counted | is_counted.T)[both.item_a, both.item_b]
    holders = pd.DataFrame(
        {
            "customer": both.customer[wanted],
            "lo": both.item_a[wanted],
            "hi": both.item_b[wanted],
            "lo_day": both.day_a[wanted],
            "hi_day": both.day_b[wanted],
        }
    )
    del both, lag, counted, wanted

    baseline = _baseline(counts, first, active, holders, window=window, last_full=last_full)
    rules = counts.merge(baseline, on=PAIR, how="left")
    rules["confidence"] = rules.customers_a_then_b / rules.customers_a
    rules["lift"] = rules.confidence / rules.baseline.clip(lower=1e-9)  # no baseline: no lift
    rules = rules[(rules.lift > min_lift) | (rules.lift.isna() & (min_lift == 0))].copy()
    rules["p_value"] = scipy.stats.binom.sf(
        rules.customers_a_then_b - 1, rules.customers_a, rules.baseline.clip(lower=1e-9, upper=1.0)
    )

    # median lag of the hits, for the reported rules only
    is_reported = np.zeros((n_items, n_items), dtype=bool)
    is_reported[rules.antecedent, rules.consequent] = True
    hits = hits[is_reported[hits.item_a, hits.item_b]]
    medians = hits.groupby(["item_a", "item_b"]).lag.median().rename("median_days").astype(float)
    rules = rules.join(medians, on=PAIR)

    rules["window_days"] = window_days
    names = orders.product_id.cat.categories
    rules["antecedent"] = names[rules.antecedent]
    rules["consequent"] = names[rules.consequent]
    rules = rules.sort_values(["lift", "customers_a_then_b"], ascending=[False, False], na_position="last")
    return pa.Table.from_pandas(rules[COLUMNS], preserve_index=False)


def _baseline(
    counts: pd.DataFrame, first: pd.DataFrame, active: pd.DataFrame, holders: pd.DataFrame, *, window, last_full
) -> pd.DataFrame:
    """``antecedent, consequent, baseline`` for the pairs of ``counts``: per month, comparable = active -
    owned B - held A + owned both, bought = held B - owned B - bought both; the mean of the monthly rates
    weighted by the eligible A buyers' first-A months, over the months with a comparable customer.
    ``holders`` are the customers holding both products of a counted pair (``lo < hi``, their days)."""
    eligible = first[first.day <= last_full]
    weights = eligible.groupby([eligible.item.rename("antecedent"), _month_numbers(eligible.day.to_numpy())]).size()
    weights = weights.rename_axis(["antecedent", "month"]).rename("w").reset_index()
    size = active.groupby("month").size().rename("active").reset_index()

    # per product and month, among the month's active customers: owned at its start, held before its window ended
    held = active.merge(first, on="customer", sort=True)
    held = held[held.day < held.month + window]
    monthly = (held.day < held.month).groupby([held.item, held.month]).agg(["sum", "size"])
    b_side = monthly.set_axis(["owned", "held"], axis=1).rename_axis(["consequent", "month"]).reset_index()
    a_side = monthly["size"].rename("held_a").rename_axis(["antecedent", "month"]).reset_index()
    del held

    # per unordered pair and month, the active customers who held both before the window ended
    # (month > max(lo_day, hi_day) - window): how many, and how many owned lo, hi at the month's start
    ov = holders.assign(start=np.maximum(holders.lo_day, holders.hi_day) - window).merge(
        active, on="customer", sort=True
    )
    ov = ov[ov.month > ov.start]
    owned = pd.DataFrame({"owned_lo": ov.lo_day < ov.month, "owned_hi": ov.hi_day < ov.month})
    overlap = owned.groupby([ov.lo, ov.hi, ov.month], sort=False).agg(
        both_held=("owned_lo", "size"), owned_lo=("owned_lo", "sum"), owned_hi=("owned_hi", "sum")
    )
    overlap = overlap.reset_index()
    del ov, owned
    # per rule A -> B the overlap row of {A, B}: owned both is that row's "owned" of B
    keys = ["antecedent", "consequent", "month"]
    pair_side = pd.concat(
        [
            overlap.rename(columns={"lo": "antecedent", "hi": "consequent", "owned_hi": "owned_both"}),
            overlap.rename(columns={"hi": "antecedent", "lo": "consequent", "owned_lo": "owned_both"}),
        ]
    )[[*keys, "both_held", "owned_both"]]

    wb = counts[PAIR].merge(weights, on="antecedent").merge(size, on="month")
    wb = wb.merge(b_side, on=["consequent", "month"], how="left")
    wb = wb.merge(a_side, on=["antecedent", "month"], how="left")
    wb = wb.merge(pair_side, on=keys, how="left")
    wb = wb.fillna({"owned": 0, "held": 0, "held_a": 0, "both_held": 0, "owned_both": 0})
    comparable = wb.active - wb.owned - wb.held_a + wb.owned_both
    bought = wb.held - wb.owned - (wb.both_held - wb.owned_both)
    wb = pd.DataFrame({"antecedent": wb.antecedent, "consequent": wb.consequent, "w": wb.w.astype(float)})
    wb["wrate"] = wb.w * (bought / comparable)
    sums = wb[comparable > 0].groupby(PAIR)[["wrate", "w"]].sum()
    return (sums.wrate / sums.w).rename("baseline").reset_index()
