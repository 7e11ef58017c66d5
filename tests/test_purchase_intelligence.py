"""Rules, basket rules, affinity and offers against brute force, arules' published Groceries table and the
demo company's planted truths."""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from conftest import DATA, ROOT
from hypothesis import example, given, settings
from hypothesis import strategies as st

from salesintel.analyses import results, runner
from salesintel.analyses.basket_rules import basket_rules
from salesintel.analyses.sequential_rules import first_purchases, rule_counts, sequential_rules
from salesintel.ingest import load_file
from salesintel.store import Store

END = date(2025, 12, 31)


def brute_force_counts(orders: pd.DataFrame, as_of: date, window: int) -> dict:
    """Python oracle: for each (A, B): customers_a and customers_a_then_b as docs/definitions.md states them."""
    o = orders[(orders.ordered_at.dt.date <= as_of) & (orders.amount > 0)]
    first = {(c, p): d.date() for (c, p), d in o.groupby(["customer_id", "product_id"]).ordered_at.min().items()}
    products = sorted({p for _, p in first})
    customers = sorted({c for c, _ in first})
    out = {}
    for a in products:
        for b in products:
            if a == b:
                continue
            n, lags = 0, []
            for c in customers:
                ta, tb = first.get((c, a)), first.get((c, b))
                if ta is None or ta > as_of - timedelta(days=window):
                    continue
                if tb is not None and tb <= ta:
                    continue
                n += 1
                if tb is not None and (tb - ta).days <= window:
                    lags.append((tb - ta).days)
            if lags:
                out[(a, b)] = (n, len(lags), statistics.median(lags))
    return out


def brute_force_baselines(orders: pd.DataFrame, as_of: date, window: int) -> dict:
    """Python oracle of the baseline as docs/definitions.md states it: per month m (its 1st, at least W days
    before as_of), among customers with an order in m (and a purchase by as_of) who did not own B at m and
    did not buy A before m + W, the share whose first B falls in [m, m + W); averaged with weights =
    eligible A buyers whose first A fell in m, over the months with at least one comparable customer."""
    o = orders[orders.ordered_at.dt.date <= as_of]
    first = {
        (c, p): d.date()
        for (c, p), d in o[o.amount > 0].groupby(["customer_id", "product_id"]).ordered_at.min().items()
    }
    last_start = as_of - timedelta(days=window)
    buyers = {c for c, _ in first}  # a customer who only ever returned goods is in no comparison group
    active: dict[date, set] = {}
    for c, t in zip(o.customer_id, o.ordered_at):
        m = t.date().replace(day=1)
        if m <= last_start and c in buyers:
            active.setdefault(m, set()).add(c)
    products = sorted({p for _, p in first})
    out = {}
    for a in products:
        weights: dict[date, int] = {}
        for (c, p), t in first.items():
            if p == a and t <= last_start:
                weights[t.replace(day=1)] = weights.get(t.replace(day=1), 0) + 1
        for b in products:
            if a == b:
                continue
            num = den = 0.0
            for m, w in weights.items():
                end = m + timedelta(days=window)
                comparable = [
                    c
                    for c in active.get(m, ())
                    if not (first.get((c, b)) and first[(c, b)] < m) and not (first.get((c, a)) and first[(c, a)] < end)
                ]
                if comparable:
                    bought = sum(1 for c in comparable if first.get((c, b)) and first[(c, b)] < end)
                    num += w * bought / len(comparable)
                    den += w
            out[(a, b)] = num / den if den else None
    return out


order_rows = st.lists(
    st.tuples(st.integers(0, 6), st.sampled_from("ABCD"), st.integers(0, 120), st.sampled_from([5.0, 5.0, 5.0, -5.0])),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(rows=order_rows, window=st.integers(5, 60))
def test_sequential_counts_match_brute_force(rows, window) -> None:
    start = date(2024, 1, 1)
    df = pd.DataFrame(
        {
            "customer_id": [f"c{r[0]}" for r in rows],
            "product_id": [r[1] for r in rows],
            "ordered_at": pd.to_datetime([start + timedelta(days=r[2]) for r in rows]),
            "amount": [r[3] for r in rows],
        }
    )
    as_of = start + timedelta(days=100)  # orders after as_of exist and must be ignored
    first = first_purchases(ibis.memtable(df), ibis.memtable({"product_id": ["A"], "category": ["x"]}), as_of=as_of)
    got = rule_counts(first, as_of=as_of, window_days=window).execute()
    got = {
        (r.antecedent, r.consequent): (r.customers_a, r.customers_a_then_b)
        for r in got.itertuples()
        if r.customers_a_then_b
    }
    assert got == {pair: (n, hits) for pair, (n, hits, _) in brute_force_counts(df, as_of, window).items()}


@settings(max_examples=15, deadline=None)
@given(rows=order_rows, window=st.integers(5, 60))
# c2's A comes too late for a full window: its quick B must not pull the median of A -> B down to 5
@example(
    rows=[
        (0, "A", 10, 5.0),
        (0, "B", 15, 5.0),
        (1, "A", 10, 5.0),
        (1, "B", 30, 5.0),
        (2, "A", 95, 5.0),
        (2, "B", 97, 5.0),
    ],
    window=30,
)
def test_sequential_rules_in_a_store_match_brute_force(rows, window) -> None:
    """The whole path on a real DuckDB store: integer codes, the pair count, the median of the hits."""
    start = date(2024, 1, 1)
    orders = pa.table(
        {
            "order_id": [f"o{i}" for i in range(len(rows))],
            "line": [1] * len(rows),
            "customer_id": [f"c{r[0]}" for r in rows],
            "product_id": [r[1] for r in rows],
            "ordered_at": [datetime(2024, 1, 1) + timedelta(days=r[2], hours=9) for r in rows],
            "amount": [r[3] for r in rows],
        }
    )
    as_of = start + timedelta(days=100)
    with Store.open(":memory:") as store:
        store.append("orders", orders)
        rules = sequential_rules(
            store.table("orders"),
            store.table("products"),
            as_of=as_of,
            window_days=window,
            min_customers=1,
            min_lift=0.0,
        ).to_pandas()
    got = {
        (r.antecedent, r.consequent): (r.customers_a, r.customers_a_then_b, r.median_days) for r in rules.itertuples()
    }
    assert got == brute_force_counts(orders.to_pandas(), as_of, window)
    expected = brute_force_baselines(orders.to_pandas(), as_of, window)
    for r in rules.itertuples():
        want = expected[(r.antecedent, r.consequent)]
        assert (pd.isna(r.baseline) and want is None) or r.baseline == pytest.approx(want, abs=1e-12)


def _groceries() -> ibis.Table:
    lines = (DATA / "groceries.csv").read_text().split("\n")  # never strip items: two end in a space
    baskets = [(i, item) for i, line in enumerate(filter(None, lines)) for item in line.split(",")]
    return ibis.memtable(pa.table({"basket": [b for b, _ in baskets], "item": [i for _, i in baskets]}))


@pytest.mark.slow
def test_groceries_basket_rules_match_arules() -> None:
    """arules: apriori(Groceries, support = 0.001, confidence = 0.5) gives 5,668 rules (shared/data/README.md)."""
    rules = basket_rules(_groceries(), min_support=0.001, min_confidence=0.5).to_pandas()
    assert len(rules) == 5668
    assert rules["size"].value_counts().sort_index().to_dict() == {2: 11, 3: 1461, 4: 3211, 5: 939, 6: 46}
    top = rules.iloc[0]
    assert (top.antecedent, top.consequent) == ("Instant food products, soda", "hamburger meat")
    assert top.support == pytest.approx(0.001220, abs=1e-6) and top.confidence == pytest.approx(0.6316, abs=1e-4)
    assert top.lift == pytest.approx(18.996, abs=1e-3)
    assert len(rules[rules.confidence >= 0.8]) == 410 and len(rules[rules.confidence >= 0.9]) == 129


def test_planted_pairs_are_the_top_rules(demo_store, truth) -> None:
    rules = sequential_rules(
        demo_store.table("orders"), demo_store.table("products"), as_of=END, window_days=180
    ).to_pandas()
    planted = {(p["antecedent"], p["consequent"]) for p in truth["pairs"]}
    top = set(zip(rules.antecedent.head(len(planted)), rules.consequent.head(len(planted))))
    assert top == planted
    for a, b in planted:
        row = rules[(rules.antecedent == a) & (rules.consequent == b)].iloc[0]
        assert row.p_value < 0.01 and row.lift > 1.5
        lo, hi = next(p["lag_days"] for p in truth["pairs"] if p["antecedent"] == a)
        assert lo <= row.median_days <= hi


def test_long_lag_pair_needs_the_longer_window(demo_store, truth) -> None:
    pair = (truth["long_lag_pair"]["antecedent"], truth["long_lag_pair"]["consequent"])
    short = sequential_rules(
        demo_store.table("orders"), demo_store.table("products"), as_of=END, window_days=180
    ).to_pandas()
    assert pair not in set(zip(short.antecedent, short.consequent))
    long = sequential_rules(
        demo_store.table("orders"), demo_store.table("products"), as_of=END, window_days=365
    ).to_pandas()
    row = long[(long.antecedent == pair[0]) & (long.consequent == pair[1])].iloc[0]
    assert row.p_value < 0.01 and row.name < 5  # among the top five rules at a 365-day window


def test_planted_demographic_preferences_are_the_top_affinities(demo_store, truth) -> None:
    runner.run(demo_store, "affinity")
    aff = results.read(demo_store, "affinity").execute()
    single = aff[aff.dimension == "age_band"].sort_values("q_value")
    planted = {(a["group"], a["category"]) for a in truth["affinities"]}
    assert set(zip(single.group.head(2), single["item"].head(2))) == planted
    assert (single.head(2).lift > 1.5).all() and (single.head(2).q_value < 0.01).all()


def test_offers_have_reasons_and_respect_ownership(demo_store) -> None:
    runner.run(demo_store, "offers")
    offers = results.read(demo_store, "offers").execute()
    assert offers.groupby("customer_id")["rank"].max().le(3).all()
    assert offers.reason.str.len().gt(20).all() and set(offers.kind) == {"cross-sell", "upsell"}
    orders = demo_store.table("orders")
    owned = orders.filter(orders.amount > 0).select("customer_id", "product_id").distinct().execute()
    clash = offers.merge(owned, on=["customer_id", "product_id"])
    assert clash.empty
    cross = offers[offers.kind == "cross-sell"].iloc[0]
    assert "% of buyers add" in cross.reason and "x the usual rate" in cross.reason
    optout = demo_store.table("customers").execute()
    optout = set(optout[~optout.email_opt_in.fillna(False) & ~optout.phone_opt_in.fillna(False)].customer_id)
    assert not offers[offers.customer_id.isin(optout)].contact_ok.any()
    assert offers.customer_id.isin(optout).any()  # opted-out customers are still scored


@pytest.mark.slow
def test_rules_run_on_cdnow_with_censoring(store) -> None:
    from test_ingest import cdnow_master

    load_file(store, cdnow_master(), mapping=ROOT / "examples" / "cdnow.yaml")
    as_of = date(1998, 6, 30)
    first = first_purchases(store.table("orders"), store.table("products"), as_of=as_of)
    orders = store.table("orders")
    paying = orders.filter(orders.amount > 0).customer_id.nunique().execute()
    assert first.count().execute() == paying == 23_502  # 68 CDNOW customers only ever spent $0
    rules = sequential_rules(store.table("orders"), store.table("products"), as_of=as_of, window_days=180)
    assert rules.num_rows == 0  # a single product has no pairs; the run itself must work on real dates
    cat = sequential_rules(store.table("orders"), store.table("products"), as_of=as_of, window_days=180, by="category")
    assert cat.num_rows == 0


@pytest.mark.slow
def test_rules_on_cdnow_dates_match_brute_force(store, tmp_path) -> None:
    """Real dates with pairs: the number of CDs in a purchase stands in for the product ("1 CD", "2 CDs"...).

    The as-of date falls inside the data (1997-09-30, 180-day window): first purchases after 1997-04-03
    are censored. Of the 15,669 customers whose first "1 CD" purchase is in the data, 2,297 made it after
    that day and must not be in any denominator.
    """
    from test_ingest import cdnow_master

    mapping = (
        (ROOT / "examples" / "cdnow.yaml")
        .read_text()
        .replace("product_id: {constant: CD}\n      ordered_at", "product_id: number_of_cds\n      ordered_at")
    )
    (tmp_path / "cdnow_by_cds.yaml").write_text(mapping)
    load_file(store, cdnow_master(), mapping=tmp_path / "cdnow_by_cds.yaml")
    as_of, window = date(1997, 9, 30), 180
    rules = sequential_rules(
        store.table("orders"), store.table("products"), as_of=as_of, window_days=window, min_customers=1, min_lift=0.0
    ).to_pandas()
    got = {
        (r.antecedent, r.consequent): (r.customers_a, r.customers_a_then_b, r.median_days)
        for r in rules.itertuples()
        if {r.antecedent, r.consequent} <= {"1", "2", "3"}
    }
    # a pair's counts depend on the rows of its two products only: the oracle needs no other rows
    orders = store.table("orders").execute()
    few = orders[orders.product_id.isin(["1", "2", "3"])]
    assert got == brute_force_counts(few, as_of, window)
    assert len(got) == 6 and 1000 < got[("1", "2")][0] <= 15_669 - 2_297


def test_basket_rules_with_no_frequent_pairs_is_an_empty_typed_table() -> None:
    t = ibis.memtable({"basket": [1, 2, 3], "item": ["a", "b", "c"]})
    rules = basket_rules(t, min_support=0.5, min_confidence=0.5)
    assert rules.num_rows == 0 and rules.schema.field("lift").type == pa.float64()


def test_a_dimension_with_one_value_is_not_tested(demo_store) -> None:
    """Every demo customer is in country DE: before, its 'lift' divided by an empty comparison group."""
    aff = runner.run(demo_store, "affinity", save=False)["affinity"].execute()
    assert not aff.dimension.str.contains("country").any()
    assert aff.lift.dropna().max() < 100 and (aff.group_customers < aff.group_customers.max() + 1).all()


def test_one_order_has_one_timestamp_and_the_planted_basket_pair_is_found(demo_store, truth) -> None:
    orders = demo_store.table("orders")
    per_order = orders.group_by("order_id").aggregate(times=orders.ordered_at.nunique())
    assert per_order.times.max().execute() == 1
    rules = runner.run(demo_store, "basket_rules", save=False)["basket_rules"].execute()
    pair = truth["basket_pair"]
    row = rules[(rules.antecedent == pair["lhs"]) & (rules.consequent == pair["rhs"])]
    assert len(row) == 1 and row.lift.iloc[0] > 2 and row.confidence.iloc[0] >= 0.5


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3), st.integers(0, 200)), min_size=1, max_size=40),
    window=st.integers(5, 90),
)
def test_upsell_rates_are_censored_and_match_brute_force(rows, window) -> None:
    """Before: the rate counted the whole ownership history, so long-standing customers weighed in forever."""
    from salesintel.analyses.offers import upsell_rates

    start, as_of = date(2024, 1, 1), date(2024, 6, 30)
    df = pd.DataFrame(rows, columns=["c", "tier", "day"])
    df["first_on"] = [start + timedelta(days=d) for d in df.day]
    mine = (
        df.assign(customer_id="c" + df.c.astype(str), category="k")
        .groupby(["customer_id", "category", "tier"], as_index=False)
        .first_on.min()
    )
    got = upsell_rates(ibis.memtable(mine), as_of=as_of, window_days=window).execute()
    got = {int(r.tier): r.rate for r in got.itertuples()}
    first = {(r.customer_id, r.tier): r.first_on for r in mine.itertuples()}
    want = {}
    for t in (1, 2, 3):
        owners = up = 0
        for (c, tier), day in first.items():
            if tier != t or day > as_of - timedelta(days=window):
                continue
            nxt = first.get((c, t + 1))
            if nxt is not None and nxt <= day:
                continue  # owned the next tier already
            owners += 1
            up += nxt is not None and (nxt - day).days <= window
        if owners:
            want[t] = up / owners
    assert got.keys() == want.keys() and all(abs(got[t] - want[t]) < 1e-12 for t in want)
