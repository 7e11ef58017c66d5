"""How cost grows with data on DuckDB: the validated load and the key analyses at 1M, 10M and 100M order
lines (customers = lines / 10, 2,000 products), each step in its own process so its peak memory is its own.

    .venv/bin/python bench/scale.py [--lines 1000000,10000000,100000000] [--folder /tmp/salesintel-scale]
                                    [--timeout 3600]

The order lines have bench/rules.py's shape (orders of ~3 lines over three years, long-tailed products,
basket pairs), written to CSV in pieces of 10M lines so the generator never holds 100M lines. For each size:
DuckDB's bare import of the orders file (``CREATE TABLE AS SELECT * FROM read_csv``), salesintel's validated
load (products, customers, then orders: the orders time is the one reported), then sequential rules, group
affinity, customer profiles and the CLV features on the loaded store. A step that runs out of memory or
time is reported as such. Results go to FOLDER/scale.jsonl and print as the table in docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).parent))

from rules import AS_OF, WINDOW, make_data  # noqa: E402

PIECE = 10_000_000
STEPS = ("bare import", "validated load", "sequential rules", "group affinity", "customer profiles", "CLV features")


def write_files(folder: Path, lines: int) -> dict[str, Path]:
    """products.csv, customers.csv and orders.csv for ``lines`` order lines, written piece by piece."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("products", "customers", "orders")}
    if all(p.exists() for p in paths.values()):
        return paths
    customers = max(lines // 10, 100)
    writer = None
    for i, start in enumerate(range(0, lines, PIECE)):
        data = make_data(customers, min(PIECE, lines - start), 2_000, seed=i)
        orders = data["orders"]
        # order ids unique across pieces; customers are drawn from the whole range in every piece
        orders = orders.set_column(0, "order_id", pc.binary_join_element_wise(f"o{i}_", orders["order_id"], ""))
        if writer is None:
            for name in ("products", "customers"):
                pacsv.write_csv(data[name], paths[name])
            writer = pacsv.CSVWriter(paths["orders"], orders.schema)
        writer.write_table(orders)
        del data, orders
    writer.close()
    return paths


def run_step(step: str, folder: Path) -> dict:
    """One step in this process; returns seconds and peak memory."""
    import scipy.stats  # noqa: F401 - salesintel imports it lazily: keep its import out of the clock

    paths = {name: folder / f"{name}.csv" for name in ("products", "customers", "orders")}
    if step == "bare import":
        import duckdb

        db = folder / "bare.duckdb"
        db.unlink(missing_ok=True)
        con = duckdb.connect(str(db))
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{paths['orders']}')")
        seconds = time.perf_counter() - t0
        con.close()
        db.unlink()
        return _measured(seconds)
    from salesintel.store import Store

    db = folder / "salesintel.duckdb"
    if step == "validated load":
        from salesintel.ingest import load_file

        for f in (db, Path(f"{db}.wal")):
            f.unlink(missing_ok=True)
        store = Store.open(str(db))
        load_file(store, paths["products"], table="products")
        load_file(store, paths["customers"], table="customers")
        t0 = time.perf_counter()
        [report] = load_file(store, paths["orders"], table="orders")
        seconds = time.perf_counter() - t0
        return _measured(seconds, stored=report.stored)
    store = Store.open(str(db))
    orders, customers, products = (store.table(t) for t in ("orders", "customers", "products"))
    t0 = time.perf_counter()
    if step == "sequential rules":
        from salesintel.analyses.sequential_rules import sequential_rules

        rows = sequential_rules(orders, products, as_of=AS_OF, window_days=WINDOW, min_customers=10).num_rows
    elif step == "group affinity":
        from salesintel.analyses.affinity import group_affinity

        rows = group_affinity(orders, customers, products, as_of=AS_OF).num_rows
    elif step == "customer profiles":
        from salesintel.analyses.profiles import customer_profiles

        rows = customer_profiles(orders, as_of=AS_OF).to_pyarrow().num_rows
    else:
        from salesintel.analyses.clv import purchase_summary

        rows = purchase_summary(orders, as_of=AS_OF).to_pyarrow().num_rows
    return _measured(time.perf_counter() - t0, rows=rows)


def _measured(seconds: float, **extra) -> dict:
    return {"seconds": round(seconds, 2), "peak_gib": round(_peak_gib(), 2), **extra}


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", default="1000000,10000000,100000000")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/salesintel-scale"))
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.folder)))
        return
    out = args.folder / "scale.jsonl"
    for lines in (int(n) for n in args.lines.split(",")):
        folder = args.folder / f"{lines}"
        t0 = time.perf_counter()
        write_files(folder, lines)
        print(f"{lines:,} lines: files written in {time.perf_counter() - t0:.0f} s", flush=True)
        for step in STEPS:
            result = _run_in_process(step, folder, args.timeout)
            result.update(lines=lines, step=step)
            print(json.dumps(result), flush=True)
            with out.open("a") as fh:
                fh.write(json.dumps(result) + "\n")
            if step == "validated load" and "seconds" not in result:
                break  # nothing to analyse
    _print_table([json.loads(line) for line in out.read_text().splitlines()])


def _run_in_process(step: str, folder: Path, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--step", step, "--folder", str(folder)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"failed": f"not finished in {timeout:.0f} s"}
    if done.returncode != 0:
        killed = done.returncode < 0 or "MemoryError" in done.stderr or "Out of Memory" in done.stderr
        last = (done.stderr.strip().splitlines() or ["?"])[-1][:200]
        return {"failed": "out of memory" if killed else last}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_table(results: list[dict]) -> None:
    sizes = sorted({r["lines"] for r in results})
    print("| step | " + " | ".join(f"{n:,} lines" for n in sizes) + " |")
    print("| --- |" + " --- |" * len(sizes))
    for step in STEPS:
        cells = []
        for n in sizes:
            r = next((r for r in reversed(results) if r["lines"] == n and r["step"] == step), None)
            if r is None:
                cells.append("")
            elif "failed" in r:
                cells.append(r["failed"])
            else:
                cells.append(f"{r['seconds']:,.1f} s, {r['peak_gib']:.1f} GiB")
        print(f"| {step} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
