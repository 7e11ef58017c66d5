"""Validated load of 1,000,000 order lines against DuckDB's own bare CSV import of the same file.

    .venv/bin/python bench/load_orders.py [--rows 1000000]

Prints both times and the ratio (target: validated load within 3x of the bare import).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from salesintel.ingest import load_file
from salesintel.store import Store


def make_orders(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    idx = np.arange(rows)
    days = rng.integers(0, 1000, rows).astype("timedelta64[D]") + np.datetime64("2022-01-01")
    pacsv.write_csv(
        pa.table(
            {
                "order_id": np.char.add("o", (idx // 3).astype(str)),
                "line": idx % 3 + 1,
                "customer_id": np.char.add("c", rng.integers(0, 100_000, rows).astype(str)),
                "product_id": np.char.add("p", rng.integers(0, 2_000, rows).astype(str)),
                "ordered_at": days.astype(str),
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "orders.csv"
        make_orders(csv_path, args.rows)
        con = duckdb.connect(str(Path(tmp) / "bare.duckdb"))
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{csv_path}')")
        bare = time.perf_counter() - t0
        con.close()
        store = Store.open(str(Path(tmp) / "salesintel.duckdb"))
        t0 = time.perf_counter()
        [report] = load_file(store, csv_path, table="orders")
        ours = time.perf_counter() - t0
        assert report.inserted == args.rows
    print(f"rows: {args.rows:,}")
    print(f"duckdb bare read_csv import: {bare:.2f} s")
    print(f"salesintel validated load:   {ours:.2f} s  (types, required, enums, keys, orphans, rejects)")
    print(f"ratio: {ours / bare:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
