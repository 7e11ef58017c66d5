"""Purchase intelligence at scale: sequential rules, basket rules and affinity on generated data, each next to
a peer measured in the same run.

    .venv/bin/python bench/rules.py [--customers 1000000] [--lines 10000000] [--products 2000] [--repeat 3]

Peers:
- sequential rules, whole computation: hand-written DuckDB SQL of the same definitions
  (bench/sequential_rules.sql, run by bench/sequential_sql.py: first purchases, codes, pair counts with
  censoring and owned-before, the exact baseline, p-values, median lags of the reported rules), on the
  same connection; every run checks that it gives the same rules, counts, baseline, lift, p-values
  (to 1e-9) and medians;
- sequential rules, pair-count stage: salesintel's ``rule_counts`` with the support floor, into a temporary
  table, against the SQL file's ``pair_counts`` statement on the same coded first purchases;
- sequential rules, whole computation: a plain pandas implementation of the same definitions
  (bench/sequential_pandas.py: first purchases, one self-merge per customer for the pair counts with
  censoring and owned-before, the overlap of the baseline and the lags, the exact baseline, p-values by
  scipy, median lags of the reported rules), on a DataFrame of the orders with categorical ids built before
  the clock starts; pandas runs on one core, DuckDB on all of them; every run checks that it gives the same
  rules, counts, baseline, lift, p-values (to 1e-9) and medians as ours;
- basket rules: mlxtend's fpgrowth + association_rules on the same baskets, given a ready one-hot sparse
  DataFrame (building it is not timed);
- affinity: no peer library does it in one call; its time is printed against the 60 s budget.
The sequential peers run alternately with salesintel, ``--repeat`` rounds (min / median / max printed).

Targets: issue 12, sequential_rules within 1.5x of the hand-written SQL and its pair-count stage within
1.15x of the SQL pair count; issue 3, sequential rules on 10M lines < 60 s and >= 5x faster than pandas
(the whole computation); basket rules faster than mlxtend.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.stats  # noqa: F401 - salesintel imports it lazily, on first use; import it before the clock starts
from sequential_pandas import pandas_sequential_rules
from sequential_sql import check_same_counts, check_same_rules, sql_pair_counts, sql_sequential_rules

from salesintel.analyses.affinity import group_affinity
from salesintel.analyses.basket_rules import basket_rules, order_baskets
from salesintel.analyses.sequential_rules import _engine_tables, rule_counts, sequential_rules
from salesintel.store import Store

START = np.datetime64("2022-01-01")
DAYS = 3 * 365
AS_OF = date(2024, 12, 31)
WINDOW = 180


def _ids(prefix: str, values: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pa.array(values).cast(pa.string()), "")


def make_data(customers: int, lines: int, products: int, seed: int = 0) -> dict[str, pa.Table]:
    """Orders of ~3 lines on random days over three years; product popularity is long-tailed; the second
    line of an order is often the first line's partner product (2k <-> 2k+1), so there are basket pairs."""
    rng = np.random.default_rng(seed)
    sizes = np.clip(rng.poisson(2.0, lines // 2) + 1, 1, 8)
    cum = np.cumsum(sizes)
    n_orders = int(np.searchsorted(cum, lines)) + 1
    sizes = sizes[:n_orders]
    sizes[-1] -= cum[n_orders - 1] - lines
    order_customer = rng.integers(0, customers, n_orders)
    order_day = rng.integers(0, DAYS, n_orders)
    order_of_line = np.repeat(np.arange(n_orders), sizes)
    line_no = np.arange(lines) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
    weights = 1.0 / (np.arange(products) + 20.0) ** 0.9
    product = rng.choice(products, lines, p=weights / weights.sum())
    # basket pairs: the second line of an order repeats the first line's partner product half the time
    first_of_order = np.repeat(product[np.cumsum(sizes) - sizes], sizes)
    partner = (line_no == 2) & (rng.random(lines) < 0.5)
    product = np.where(partner, first_of_order ^ 1, product)
    day = order_day[order_of_line]
    cust = order_customer[order_of_line]
    orders = pa.table(
        {
            "order_id": _ids("o", order_of_line),
            "line": line_no.astype(np.int64),
            "customer_id": _ids("c", cust),
            "product_id": _ids("p", product),
            "ordered_at": pa.array((START + day.astype("timedelta64[D]")).astype("datetime64[us]")),
            "quantity": np.ones(lines),
            "amount": np.round(rng.gamma(2.0, 20.0, lines), 2),
        }
    )
    ids = np.arange(customers)
    cust_table = pa.table(
        {
            "customer_id": _ids("c", ids),
            "birth_year": rng.integers(1945, 2005, customers),
            "gender": rng.choice(["f", "m", "d"], customers, p=[0.49, 0.49, 0.02]),
            "country": rng.choice(["DE", "AT", "CH"], customers),
            "region": rng.choice([f"R{i}" for i in range(12)], customers),
            "source": rng.choice(["web", "referral", "fair", "ad"], customers),
        }
    )
    prod_ids = np.arange(products)
    prod_table = pa.table(
        {
            "product_id": _ids("p", prod_ids),
            "name": _ids("Product ", prod_ids),
            "category": _ids("cat", prod_ids // 100),
            "price": np.full(products, 50.0),
        }
    )
    return {"customers": cust_table, "products": prod_table, "orders": orders}


def mlxtend_rules(onehot: pd.DataFrame, *, min_support: float, min_confidence: float) -> pd.DataFrame:
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    itemsets = fpgrowth(onehot, min_support=min_support, use_colnames=True)
    return association_rules(itemsets, metric="confidence", min_threshold=min_confidence)


def onehot_baskets(orders: pa.Table) -> pd.DataFrame:
    from scipy import sparse

    order = pc.dictionary_encode(orders["order_id"]).combine_chunks()
    product = pc.dictionary_encode(orders["product_id"]).combine_chunks()
    m = sparse.csr_matrix(
        (np.ones(len(orders), dtype=bool), (order.indices.to_numpy(), product.indices.to_numpy())),
        shape=(len(order.dictionary), len(product.dictionary)),
    )
    m.data[:] = True  # repeated lines of one product in one order
    return pd.DataFrame.sparse.from_spmatrix(m, columns=product.dictionary.to_pylist())


def timed(label: str, fn):
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    print(f"  {label:<58} {seconds:8.2f} s", flush=True)
    return result, seconds


def alternately(rounds: int, runs: dict, check) -> dict[str, list[float]]:
    """Each round runs every entry of ``runs`` (label -> function) once, in turn: on a shared machine the
    peers see the same load. ``check(results)`` verifies each round's results agree."""
    times: dict[str, list[float]] = {label: [] for label in runs}
    for r in range(rounds):
        print(f"  round {r + 1} of {rounds}")
        results = {}
        for label, fn in runs.items():
            results[label], seconds = timed(label, fn)
            times[label].append(seconds)
        check(results)
        del results
    return times


def spread(ts: list[float]) -> str:
    return f"{min(ts):.2f} / {statistics.median(ts):.2f} / {max(ts):.2f} s"


def ratio(ours: list[float], peer: list[float]) -> str:
    """Median over median, and the range of the per-round ratios."""
    per_round = [a / b for a, b in zip(ours, peer)]
    return (
        f"{statistics.median(ours) / statistics.median(peer):.2f}x "
        f"(per round {min(per_round):.2f}x-{max(per_round):.2f}x)"
    )


def pair_count_stage(store: Store, orders, products, *, rounds: int, min_customers: int) -> dict:
    """The pair-count stage alone: salesintel's rule_counts + support floor into a temporary table, as
    sequential_rules runs it, against the SQL's pair_counts statement on the same coded first purchases."""
    con = store.con.con
    with _engine_tables(orders, products, as_of=AS_OF, window_days=WINDOW, by="product") as tables:

        def ours():
            counts = rule_counts(tables.coded, as_of=AS_OF, window_days=WINDOW)
            return counts.filter(counts.customers_a_then_b >= min_customers).cache()

        def peer():
            coded = tables.coded.get_name()
            return sql_pair_counts(con, coded, as_of=AS_OF, window_days=WINDOW, min_customers=min_customers)

        def check(results):
            with results["salesintel pair count"] as mine:
                check_same_counts(mine.to_pandas(), con.execute("SELECT * FROM seq_counts").df())
            con.execute("DROP TABLE seq_counts")

        return alternately(rounds, {"salesintel pair count": ours, "hand-written SQL pair count": peer}, check)


def sequential(store: Store, data: dict, *, rounds: int, min_customers: int) -> tuple[dict, int]:
    orders, products = store.table("orders"), store.table("products")
    df = data["orders"].select(["customer_id", "product_id", "ordered_at", "amount"]).to_pandas()
    df["customer_id"] = df.customer_id.astype("category")
    df["product_id"] = df.product_id.astype("category")
    labels = ("salesintel sequential_rules", "hand-written SQL, whole computation", "pandas, whole computation")
    runs = {
        labels[0]: lambda: sequential_rules(
            orders, products, as_of=AS_OF, window_days=WINDOW, min_customers=min_customers
        ),
        labels[1]: lambda: sql_sequential_rules(
            store.con.con, as_of=AS_OF, window_days=WINDOW, min_customers=min_customers
        ),
        labels[2]: lambda: pandas_sequential_rules(df, as_of=AS_OF, window_days=WINDOW, min_customers=min_customers),
    }
    n_rules = []

    def check(results):
        check_same_rules(results[labels[0]], results[labels[1]])
        check_same_rules(results[labels[0]], results[labels[2]], name="pandas")
        n_rules.append(results[labels[0]].num_rows)

    times = alternately(rounds, runs, check)
    return times, n_rules[0]


def print_sequential_summary(seq: dict, stage: dict, n_rules: int, rounds: int) -> None:
    ours, sql, pandas_whole = seq.values()
    stage_ours, stage_sql = stage.values()
    print(f"sequential rules (min / median / max of {rounds} rounds; {n_rules:,} rules)")
    print(f"  salesintel sequential_rules:    {spread(ours)}")
    print(f"  hand-written SQL, whole:        {spread(sql)}  -> ours / SQL {ratio(ours, sql)} (target <= 1.5x)")
    print(f"  salesintel pair-count stage:    {spread(stage_ours)}")
    print(
        f"  hand-written SQL pair count:    {spread(stage_sql)}  -> ours / SQL {ratio(stage_ours, stage_sql)} "
        "(target <= 1.15x)"
    )
    print(
        f"  pandas, whole computation:      {spread(pandas_whole)}  -> pandas / ours {ratio(pandas_whole, ours)} "
        "(target >= 5x; ours < 60 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--min-support", type=float, default=0.001)
    parser.add_argument("--min-confidence", type=float, default=0.1)
    parser.add_argument("--skip-mlxtend", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds of the sequential-rules peers")
    args = parser.parse_args()
    data = make_data(args.customers, args.lines, args.products)
    print(f"{args.customers:,} customers, {len(data['orders']):,} order lines, {args.products:,} products")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "bench.duckdb"))
        for name in ("customers", "products", "orders"):
            store.append(name, data[name])
        orders, products = store.table("orders"), store.table("products")

        print(f"sequential rules (A then B within {WINDOW} days), {args.repeat} alternating rounds")
        seq, n_rules = sequential(store, data, rounds=args.repeat, min_customers=10)
        print("sequential rules, pair-count stage")
        stage = pair_count_stage(store, orders, products, rounds=args.repeat, min_customers=10)
        print_sequential_summary(seq, stage, n_rules, args.repeat)  # now too, in case a later part fails

        print(f"basket rules (min support {args.min_support}, min confidence {args.min_confidence})")
        baskets = order_baskets(orders, as_of=AS_OF)
        mine, t_basket = timed(
            "salesintel basket_rules",
            lambda: basket_rules(baskets, min_support=args.min_support, min_confidence=args.min_confidence),
        )
        t_ml = None
        if not args.skip_mlxtend:
            onehot = onehot_baskets(data["orders"])
            theirs, t_ml = timed(
                "mlxtend fpgrowth + association_rules",
                lambda: mlxtend_rules(onehot, min_support=args.min_support, min_confidence=args.min_confidence),
            )
            print(f"  rules: salesintel {mine.num_rows:,}, mlxtend {len(theirs):,}")
            del onehot

        print("affinity (groups and pairs of groups x categories)")
        aff, t_aff = timed(
            "salesintel group_affinity",
            lambda: group_affinity(orders, store.table("customers"), products, as_of=AS_OF, level="category"),
        )
        store.close()

    print()
    print_sequential_summary(seq, stage, n_rules, args.repeat)
    if t_ml is not None:
        print(
            f"basket rules:     {t_basket:.1f} s vs mlxtend {t_ml:.1f} s -> {t_ml / t_basket:.1f}x faster (target > 1x)"
        )
    print(f"affinity:         {t_aff:.1f} s; {aff.num_rows:,} group x category rows")


if __name__ == "__main__":
    main()
