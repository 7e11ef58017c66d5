"""The hand-written DuckDB SQL peer of the sequential rules (bench/sequential_rules.sql), and the check that it
computes what salesintel computes.

The peer runs the SQL file's statements on the store's own DuckDB connection (the same session settings,
``perfect_ht_threshold`` among them). Everything is SQL but the binomial tail of the p-values, which DuckDB
has no function for: scipy computes it on the reported rules, as salesintel does. It covers what the
benchmark asks (rules by product, no antecedent filter, no top K).

Run as a script it times each step of sequential_rules against the statements doing the same work:

    .venv/bin/python bench/sequential_sql.py [--customers 1000000] [--lines 10000000] [--repeat 3]
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.stats

from salesintel.analyses.sequential_rules import COLUMNS

SQL_FILE = Path(__file__).with_name("sequential_rules.sql")
TEMP_TABLES = (
    "seq_customers",
    "seq_products",
    "seq_coded",
    "seq_active",
    "seq_counts",
    "seq_weights",
    "seq_monthly",
    "seq_size",
    "seq_pairs",
    "seq_overlap",
    "seq_baseline",
    "seq_rules",
)


def statements() -> dict[str, str]:
    """The SQL file's statements by name (``-- name: x`` opens each)."""
    parts = re.split(r"^-- name: (\w+)\n", SQL_FILE.read_text(), flags=re.M)
    return {name: body.strip().rstrip(";") for name, body in zip(parts[1::2], parts[2::2])}


def _params(*, as_of: date, window_days: int, min_customers: int, min_lift: float, coded: str) -> dict:
    next_day = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    return {
        "next_day": f"TIMESTAMP '{next_day:%Y-%m-%d %H:%M:%S}'",
        "last_full": (as_of - timedelta(days=window_days) - date(1970, 1, 1)).days,
        "window": int(window_days),
        "min_customers": int(min_customers),
        "min_lift": float(min_lift),
        "coded": coded,
    }


def sql_pair_counts(con, coded: str, *, as_of: date, window_days: int, min_customers: int) -> None:
    """The pair-count stage alone, on a coded first-purchase table (``customer_id, item, day`` integers)
    into ``seq_counts``: the same input and output as salesintel's ``rule_counts`` + support floor + cache."""
    sql = statements()["pair_counts"].format(
        **_params(as_of=as_of, window_days=window_days, min_customers=min_customers, min_lift=0, coded=coded)
    )
    con.execute(sql)


def sql_sequential_rules(
    con, *, as_of: date, window_days: int = 180, min_customers: int = 10, min_lift: float = 1.0
) -> pa.Table:
    """The whole computation in hand-written SQL: the rules table (salesintel's columns), sorted by lift."""
    params = _params(
        as_of=as_of, window_days=window_days, min_customers=min_customers, min_lift=min_lift, coded="seq_coded"
    )
    todo = statements()
    last = todo.pop("medians")
    # insertion order kept only where the SQL asks for it (ORDER BY): CREATE TABLE AS runs unordered in parallel
    con.execute("SET preserve_insertion_order = false")
    try:
        for sql in todo.values():
            con.execute(sql.format(**params))
        df = con.execute(last.format(**params)).df()
        names = con.execute("SELECT code, product_id FROM seq_products").df().set_index("code").product_id
    finally:
        con.execute("RESET preserve_insertion_order")
        for table in TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    base = df.baseline.clip(lower=1e-9, upper=1.0)
    df["p_value"] = scipy.stats.binom.sf(df.customers_a_then_b - 1, df.customers_a, base)
    df["window_days"] = window_days
    df["antecedent"] = df.antecedent.map(names)
    df["consequent"] = df.consequent.map(names)
    df = df.sort_values(["lift", "customers_a_then_b"], ascending=[False, False], na_position="last")
    return pa.Table.from_pandas(df[COLUMNS], preserve_index=False)


def check_same_counts(ours: pd.DataFrame, peer: pd.DataFrame) -> None:
    """The pair-count stage: the same pairs with the same ``customers_a`` and ``customers_a_then_b``."""
    key = ["antecedent", "consequent"]
    mine = ours.set_index(key).sort_index()
    theirs = peer.set_index(key).sort_index()
    assert mine.index.equals(theirs.index), "the SQL pair count found other pairs"
    for col in ("customers_a", "customers_a_then_b"):
        assert (mine[col].to_numpy() == theirs[col].to_numpy()).all(), f"{col} differs"
    print(f"  SQL pair count agrees on all {len(mine):,} pairs")


def check_same_rules(ours: pa.Table, peer: pa.Table, *, rel: float = 1e-9, name: str = "SQL") -> None:
    """Same rules, same counts, baseline, lift, p-values (to ``rel``) and medians, or the ratio means nothing;
    ``name`` says which peer in the messages."""
    key = ["antecedent", "consequent"]
    mine = ours.to_pandas().set_index(key).sort_index()
    theirs = peer.to_pandas().set_index(key).sort_index()
    assert mine.index.equals(theirs.index), (
        f"different rules: {len(mine.index.difference(theirs.index))} only ours, "
        f"{len(theirs.index.difference(mine.index))} only the {name} peer's"
    )
    for col in ("window_days", "customers_a", "customers_a_then_b"):
        assert (mine[col] == theirs[col]).all(), f"{col} differs from the {name} peer"
    for col in ("confidence", "baseline", "lift", "p_value", "median_days"):
        a, b = mine[col].to_numpy(float), theirs[col].to_numpy(float)
        same = np.isclose(a, b, rtol=rel, atol=1e-300) | (np.isnan(a) & np.isnan(b))
        worst = np.nanmax(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)) if len(a) else 0.0
        assert same.all(), (
            f"{col} differs from the {name} peer on {int((~same).sum())} rules (worst relative {worst:.3g})"
        )
    print(f"  {name} peer agrees on all {len(mine):,} rules (counts, baseline, lift, p-values to {rel:g}, medians)")


# -- the pieces, side by side: each step of sequential_rules against the SQL statements doing the same work,
# alternately, on bench/rules.py's generated data

STAGES = {  # salesintel's step -> the SQL file's statements doing the same work
    "codes": ("customers", "products"),
    "first purchases, coded": ("coded",),
    "customer months": ("active",),
    "pair count": ("pair_counts",),
    "weights": ("weights",),
    "monthly owned / held": ("monthly",),
    "pair-month overlap": ("unordered_pairs", "overlap"),
    "baseline join": ("size", "baseline"),
    "lift floor, p-values": ("rules",),
    "median lags": ("medians",),
}


def ours_by_stage(orders, products, *, as_of: date, window_days: int, min_customers: int) -> dict[str, float]:
    """sequential_rules' steps (as it composes them), each timed; the tables are dropped at the end."""
    from contextlib import ExitStack

    from salesintel.analyses import sequential_rules as sr

    seconds: dict[str, float] = {}

    def step(name, fn):
        t0 = time.perf_counter()
        out = fn()
        seconds[name] = time.perf_counter() - t0
        return out

    with ExitStack() as temp:

        def keep(table):
            return temp.enter_context(table.cache())

        bought = sr._bought(orders, products, as_of=as_of, by="product")
        customers, items = step("codes", lambda: [keep(t) for t in sr.encode_purchases(bought)])
        coded = step(
            "first purchases, coded",
            lambda: keep(sr.coded_first_purchases(bought, customers, items).order_by("customer_id")),
        )

        def months():
            active = sr.customer_months(orders, as_of=as_of, window_days=window_days).join(customers, "customer_id")
            return keep(active.select(customer_id=active.code, month=active.month))

        active = step("customer months", months)
        counts = sr.rule_counts(coded, as_of=as_of, window_days=window_days)
        counts = step("pair count", lambda: keep(counts.filter(counts.customers_a_then_b >= min_customers)))
        weights = step("weights", lambda: keep(sr._first_month_weights(coded, as_of=as_of, window_days=window_days)))
        monthly = step(
            "monthly owned / held", lambda: keep(sr.monthly_baseline(active, coded, window_days=window_days))
        )
        overlap = step(
            "pair-month overlap",
            lambda: keep(sr.pair_month_overlap(active, coded, counts, window_days=window_days)),
        )
        df = step("baseline join", lambda: sr._baseline(counts, weights, monthly, overlap, active).execute())
        df = step("lift floor, p-values", lambda: sr._finish(df, window_days, 1.0, None))
        step("median lags", lambda: sr._with_median(df, coded, as_of=as_of, window_days=window_days))
    return seconds


def sql_by_stage(con, *, as_of: date, window_days: int, min_customers: int) -> dict[str, float]:
    params = _params(as_of=as_of, window_days=window_days, min_customers=min_customers, min_lift=1.0, coded="seq_coded")
    todo = statements()
    seconds: dict[str, float] = {}
    con.execute("SET preserve_insertion_order = false")
    try:
        for stage, names in STAGES.items():
            t0 = time.perf_counter()
            for name in names:
                con.execute(todo[name].format(**params)).fetchall()
            seconds[stage] = time.perf_counter() - t0
    finally:
        con.execute("RESET preserve_insertion_order")
        for table in TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return seconds


def main() -> None:
    import argparse
    import statistics
    import tempfile

    from rules import AS_OF, WINDOW, make_data

    from salesintel.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = make_data(args.customers, args.lines, args.products)
    ours: dict[str, list[float]] = {stage: [] for stage in STAGES}
    sql: dict[str, list[float]] = {stage: [] for stage in STAGES}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "bench.duckdb"))
        for name in ("customers", "products", "orders"):
            store.append(name, data[name])
        del data
        for r in range(args.repeat):
            mine = ours_by_stage(
                store.table("orders"), store.table("products"), as_of=AS_OF, window_days=WINDOW, min_customers=10
            )
            theirs = sql_by_stage(store.con.con, as_of=AS_OF, window_days=WINDOW, min_customers=10)
            for stage in STAGES:
                ours[stage].append(mine[stage])
                sql[stage].append(theirs[stage])
            print(f"round {r + 1}: salesintel {sum(mine.values()):.2f} s, SQL {sum(theirs.values()):.2f} s", flush=True)
        store.close()
    print(f"{'stage':<24} {'salesintel min / median / max':>30} {'SQL min / median / max':>30} {'ratio':>7}")
    for stage in STAGES:
        a, b = ours[stage], sql[stage]
        ratio = statistics.median(a) / max(statistics.median(b), 1e-9)
        print(
            f"{stage:<24} {min(a):8.2f} / {statistics.median(a):6.2f} / {max(a):6.2f} s"
            f"   {min(b):8.2f} / {statistics.median(b):6.2f} / {max(b):6.2f} s {ratio:6.2f}x"
        )


if __name__ == "__main__":
    main()
