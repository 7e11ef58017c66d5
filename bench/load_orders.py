"""Validated load of 1,000,000 order lines against DuckDB's own bare CSV import of the same file.

    .venv/bin/python bench/load_orders.py [--rows 1000000] [--repeat 3] [--bad-rows 0]

Prints both times and the ratio over alternating runs (target, issue 12: within 1.5x of the bare import).
``--bad-rows N`` spreads N lines with a date that does not parse through the file: salesintel then keeps
them in rejects and loads the rest by its general path (read, check table, store) instead of the one pass
a clean file gets, which is what most real exports take. The documented figures are for 1M lines; below
about 200,000 the fixed costs of a load (compiling its statements, opening the store) dominate.
Each time runs until the database is closed, as a `salesintel load` command's does: what DuckDB writes at
close belongs to the load. The bare import runs with the row order free, as the load's writes do: its
fastest way.

A third peer writes the same rows into salesintel's orders table with DuckDB's own casts and none of the
checks (hand-written SQL): the floor of any load that stores these typed rows, so the figures say how
much of the gap to the bare import is the checks. The last databases of it and of salesintel are
compared: the same rows.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from salesintel.ingest import load_file
from salesintel.store import Store


def make_orders(path: Path, rows: int, seed: int = 0, bad_rows: int = 0) -> None:
    """``rows`` order lines; ``bad_rows`` of them, spread evenly, with an order date that does not parse."""
    rng = np.random.default_rng(seed)
    idx = np.arange(rows)
    days = rng.integers(0, 1000, rows).astype("timedelta64[D]") + np.datetime64("2022-01-01")
    dates = days.astype(str).astype(object)
    dates[np.linspace(0, rows - 1, bad_rows).astype(int) if bad_rows else []] = "not a date"
    pacsv.write_csv(
        pa.table(
            {
                "order_id": np.char.add("o", (idx // 3).astype(str)),
                "line": idx % 3 + 1,
                "customer_id": np.char.add("c", rng.integers(0, 100_000, rows).astype(str)),
                "product_id": np.char.add("p", rng.integers(0, 2_000, rows).astype(str)),
                "ordered_at": dates.astype(str),
                "quantity": rng.integers(1, 5, rows),
                "amount": np.round(rng.random(rows) * 100, 2),
                "channel": rng.choice(["web", "store", "phone"], rows),
            }
        ),
        path,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bad-rows", type=int, default=0, help="lines whose date does not parse")
    args = parser.parse_args()
    bare, casts, ours = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "orders.csv"
        make_orders(csv_path, args.rows, bad_rows=args.bad_rows)
        for i in range(args.repeat):  # alternating, each into a fresh database file
            con = duckdb.connect(str(Path(tmp) / f"bare{i}.duckdb"))
            t0 = time.perf_counter()
            # the bare import at its fastest, as the load's writes run: in DuckDB's default order-keeping
            # mode it takes 2.2-2.5 s to a closed database instead of 1.3 s (docs/performance.md)
            con.execute("SET preserve_insertion_order = false")
            con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{csv_path}')")
            con.close()  # the clock runs until the database is closed: a checkpoint at close is part of the load
            bare.append(time.perf_counter() - t0)
            casts.append(_casts_only(csv_path, Path(tmp) / f"casts{i}.duckdb", args.bad_rows > 0))
            store = Store.open(str(Path(tmp) / f"salesintel{i}.duckdb"))
            t0 = time.perf_counter()
            [report] = load_file(store, csv_path, table="orders")
            store.close()
            ours.append(time.perf_counter() - t0)
            assert report.inserted == args.rows - args.bad_rows and report.rejected == args.bad_rows
            assert report.one_pass == (args.bad_rows == 0)  # the path this benchmark means to time
        last = args.repeat - 1
        _check_same_rows(Path(tmp) / f"salesintel{last}.duckdb", Path(tmp) / f"casts{last}.duckdb")
    path = "clean (salesintel's one pass)"
    if args.bad_rows:
        path = f"{args.bad_rows:,} of them with a bad date (salesintel's general path)"
    runs = f"{args.repeat} alternating runs" if args.repeat > 1 else "1 run"
    print(f"rows: {args.rows:,}, {path}, {runs} (min / median / max)")
    print(f"duckdb bare read_csv import: {_spread(bare, 's')}")
    dropped = ", bad dates dropped, no rejects" if args.bad_rows else ""
    print(f"duckdb casts only, same rows: {_spread(casts, 's')}  (hand-written SQL, no checks{dropped})")
    print(f"salesintel validated load:   {_spread(ours, 's')}  (types, required, enums, keys, orphans, rejects)")
    print("results: the casts-only insert and salesintel stored the same rows")
    target = "the 1.5x target is the clean file's" if args.bad_rows else "target <= 1.5x"
    print(f"salesintel / bare import:    {_spread([o / b for o, b in zip(ours, bare)], 'x')} ({target})")
    print(f"casts only / bare import:    {_spread([c / b for c, b in zip(casts, bare)], 'x')} (the floor's ratio)")
    print(f"salesintel / casts only:     {_spread([o / c for o, c in zip(ours, casts)], 'x')} (what the checks add)")


def _casts_only(csv_path: Path, db: Path, drop_bad_dates: bool = False) -> float:
    """The file's rows into salesintel's orders table with DuckDB's casts and no checks; seconds to close.
    The store (its tables and session settings) is made before the clock, as the load's is.
    ``drop_bad_dates``: rows whose date does not cast are left out (nothing keeps them)."""
    store = Store.open(str(db))
    con = store.con.con
    t0 = time.perf_counter()
    con.execute("SET preserve_insertion_order = false")  # as the load's writes run
    cast = "TRY_CAST" if drop_bad_dates else "CAST"
    con.execute(
        "INSERT INTO orders (order_id, line, customer_id, product_id, ordered_at, quantity, amount, channel) "
        f"SELECT order_id, CAST(line AS BIGINT), customer_id, product_id, {cast}(ordered_at AS TIMESTAMP), "
        "CAST(quantity AS DOUBLE), CAST(amount AS DOUBLE), channel "
        f"FROM read_csv('{csv_path}', all_varchar = true, header = true)"
        + (" WHERE TRY_CAST(ordered_at AS TIMESTAMP) IS NOT NULL" if drop_bad_dates else "")
    )
    store.close()
    return time.perf_counter() - t0


def _check_same_rows(ours: Path, peer: Path) -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{ours}' AS ours (READ_ONLY)")
    con.execute(f"ATTACH '{peer}' AS peer (READ_ONLY)")
    for a, b in (("ours", "peer"), ("peer", "ours")):
        extra = con.execute(f"SELECT count(*) FROM (FROM {a}.orders EXCEPT ALL FROM {b}.orders)").fetchone()[0]
        if extra:
            raise SystemExit(f"orders: {extra} rows of the {a} database are not in the other one")
    con.close()


def _spread(values: list[float], unit: str) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} {unit}"


if __name__ == "__main__":
    main()
