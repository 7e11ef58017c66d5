"""``load all`` of an Online Retail-shaped export (one file -> products, customers, orders) against DuckDB's
bare import of the same file, each in its own process so that peak memory is measured apart.

    .venv/bin/python bench/load_retail.py [--lines 541909] [--repeat 3]

The file has the shape of the UCI Online Retail export (InvoiceNo, StockCode, Description, Quantity,
InvoiceDate as m/d/Y H:M, UnitPrice, CustomerID, Country; latin-1; about a quarter of the lines without a
CustomerID, which the shipped mapping refuses as orders) and is loaded with examples/online_retail.yaml.
Each time runs until the database is closed, as a `salesintel load all` command's does (DuckDB checkpoints
at close what is still in its log). Prints time and peak resident memory of each run, alternating, and the
ratios (targets, issue 12: time within 3x of the bare import, peak memory within 2x).

salesintel keeps the statements it compiles (salesintel/store/compiled.py): a load of a shape it has loaded
before compiles next to nothing. The runs share a cache folder of their own, filled by one load before the
clock, as a second load of the same export finds it; "nothing kept" runs the same load with the cache off
(SALESINTEL_SQL_CACHE=off), as the very first load of a shape does.

A third peer, bench/load_retail.sql, writes the same rows and rejects in hand-written DuckDB SQL with only
the checks this file needs: the floor of this work in DuckDB, so the figures say how much of the gap to the
bare import is the work itself and how much is salesintel. After the runs, the last database of each is
compared: the same products, customers and orders, and the same rejects.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
SQL_FILE = Path(__file__).with_name("load_retail.sql")
COUNTRIES = ["United Kingdom"] * 18 + ["Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Portugal"]
WORDS = ["WHITE", "HANGING", "HEART", "T-LIGHT", "HOLDER", "LANTERN", "CUPID", "COAT", "HANGER", "CAFÉ", "MUG"]


def make_retail(path: Path, lines: int, seed: int = 0) -> None:
    """Invoices of ~21 lines, 4,070 stock codes, 4,372 customers, a quarter of the lines without a customer."""
    rng = np.random.default_rng(seed)
    invoice_of_line = np.sort(rng.integers(0, max(lines // 21, 1), lines))
    invoices = np.char.add("5", (36365 + invoice_of_line).astype(str))
    cancelled = rng.random(lines) < 0.02
    invoices = np.where(cancelled, np.char.add("C", invoices), invoices)
    codes = rng.zipf(1.3, lines) % 4070
    stock = np.char.add((20000 + codes).astype(str), np.where(codes % 7 == 0, "A", ""))
    names = np.array([f"{WORDS[i % 11]} {WORDS[(i // 11) % 11]} {i}" for i in range(4070)])
    customer_of_invoice = rng.integers(12346, 12346 + 4372, invoice_of_line.max() + 1).astype(str)
    guest = rng.random(invoice_of_line.max() + 1) < 0.25
    customer = np.where(guest, "", customer_of_invoice)[invoice_of_line]
    minutes = np.sort(rng.integers(0, 373 * 24 * 60, invoice_of_line.max() + 1))[invoice_of_line]
    stamps = np.datetime64("2010-12-01T08:00") + minutes.astype("timedelta64[m]")
    day = stamps.astype("datetime64[D]").astype(object)
    hm = (minutes % (24 * 60)).astype(int)
    dates = [f"{d.month}/{d.day}/{d.year} {h // 60}:{h % 60:02d}" for d, h in zip(day, hm)]
    quantity = rng.integers(1, 25, lines) * np.where(cancelled, -1, 1)
    prices = np.round(0.5 + (codes % 50) * 0.35, 2)
    table = pa.table(
        {
            "InvoiceNo": invoices,
            "StockCode": stock,
            "Description": names[codes],
            "Quantity": quantity,
            "InvoiceDate": dates,
            "UnitPrice": prices,
            "CustomerID": customer,
            "Country": np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), invoice_of_line.max() + 1)][invoice_of_line],
        }
    )
    utf8 = path.with_suffix(".utf8.csv")
    pacsv.write_csv(table, utf8, write_options=pacsv.WriteOptions(quoting_style="needed"))
    path.write_bytes(utf8.read_text(encoding="utf-8").replace('""', "").encode("latin-1"))
    utf8.unlink()


def run_one(kind: str, csv_path: Path, folder: Path) -> dict:
    """One measured load in this process: time and peak resident memory."""
    if kind == "bare":
        import duckdb

        con = duckdb.connect(str(folder / "bare.duckdb"))
        t0 = time.perf_counter()
        con.execute("SET preserve_insertion_order = false")  # as the load's writes run: the import's fastest way
        con.execute(f"CREATE TABLE retail AS SELECT * FROM read_csv('{csv_path}', encoding = 'latin-1')")
        con.close()
        seconds = time.perf_counter() - t0
    elif kind == "sql":
        seconds = _hand_written_sql(csv_path, folder / "sql.duckdb")
    else:  # ours, or cold: the same with the cache of compiled statements off (set by the caller)
        import scipy.stats  # noqa: F401 - imported lazily by salesintel; keep its import out of the clock

        from salesintel.ingest import load_file
        from salesintel.store import Store

        store = Store.open(str(folder / "salesintel.duckdb"))
        t0 = time.perf_counter()
        reports = load_file(store, csv_path, mapping=ROOT / "examples" / "online_retail.yaml")
        store.close()  # the checkpoint DuckDB writes at close is part of the load (0.5 s here: the rejects)
        seconds = time.perf_counter() - t0
        assert {r.table: r.stored for r in reports}["orders"] > 0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mib": peak_mib}


def _hand_written_sql(csv_path: Path, db: Path) -> float:
    """bench/load_retail.sql on a store of salesintel's tables (made before the clock, as ours is): the
    tables and their loads rows in one transaction, as salesintel's load commits a file; seconds until the
    database is closed."""
    from salesintel.store import Store

    store = Store.open(str(db))  # the schema's tables and salesintel's session settings
    con = store.con.con
    parts = re.split(r"^-- name: (\w+)\n", SQL_FILE.read_text(), flags=re.M)
    ids = {f"load_{t}": uuid.uuid4().hex for t in ("products", "customers", "orders")}
    params = {"file": str(csv_path), **ids}
    sql = {name: _filled(body.strip().rstrip(";"), params) for name, body in zip(parts[1::2], parts[2::2])}
    t0 = time.perf_counter()
    con.execute(sql["source"])  # numbered in file order: the row order kept here
    con.execute("SET preserve_insertion_order = false")
    con.execute(sql["orders_numbered"])
    con.execute("BEGIN TRANSACTION")
    for table in ("products", "customers", "orders"):
        con.execute(sql[table])
    con.execute("SET preserve_insertion_order = true")  # the rejects in whole row groups, as salesintel's
    con.execute(sql["rejects"])
    for table in ("products", "customers", "orders"):
        con.execute(
            "INSERT INTO loads (load_id, table_name, source_file, loaded_at, rows_read, rejected) "
            "SELECT ?, ?, ?, now()::TIMESTAMP, (SELECT count(*) FROM retail_src), "
            "(SELECT count(*) FROM rejects WHERE load_id = ?)",
            [ids[f"load_{table}"], table, str(csv_path), ids[f"load_{table}"]],
        )
    con.execute("COMMIT")
    store.close()
    return time.perf_counter() - t0


def _filled(statement: str, params: dict[str, str]) -> str:
    """The statement with its {name} parameters filled in (not str.format: struct literals use braces)."""
    for name, value in params.items():
        statement = statement.replace("{" + name + "}", value)
    return statement


def check_same_results(ours: Path, sql: Path) -> None:
    """The two databases hold the same products, customers and orders rows and the same rejects."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{ours}' AS ours (READ_ONLY)")
    con.execute(f"ATTACH '{sql}' AS peer (READ_ONLY)")
    shown = "table_name, source_file, line, column_name, value, reason, record, row_key"
    for table in ("products", "customers", "orders", "rejects"):
        cols = shown if table == "rejects" else "*"
        for a, b in (("ours", "peer"), ("peer", "ours")):
            q = f"SELECT count(*) FROM (SELECT {cols} FROM {a}.{table} EXCEPT ALL SELECT {cols} FROM {b}.{table})"
            extra = con.execute(q).fetchone()[0]
            if extra:
                raise SystemExit(f"{table}: {extra} rows of the {a} database are not in the other one")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=541_909)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", choices=["bare", "sql", "ours", "cold"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.file, args.folder)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "OnlineRetail.csv"
        make_retail(csv_path, args.lines)
        runs: dict[str, list[dict]] = {"bare": [], "sql": [], "ours": [], "cold": []}
        cache = Path(tmp) / "sql-cache"
        for i in range(-1, args.repeat):  # round -1: the load that fills the cache, not counted
            for kind in ("ours",) if i < 0 else runs:  # alternating, each in a fresh process and database
                folder = Path(tmp) / f"{kind}{i}"
                folder.mkdir()
                cmd = [sys.executable, __file__, "--one", kind, "--file", str(csv_path), "--folder", str(folder)]
                env = {**os.environ, "SALESINTEL_SQL_CACHE": "off" if kind == "cold" else str(cache)}
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
                if i >= 0:
                    runs[kind].append(json.loads(out.strip().splitlines()[-1]))
        last = args.repeat - 1
        peer = Path(tmp) / f"sql{last}" / "sql.duckdb"
        for kind in ("ours", "cold"):  # with the statements kept and without: the same rows either way
            check_same_results(Path(tmp) / f"{kind}{last}" / "salesintel.duckdb", peer)
    print(f"lines: {args.lines:,} (Online Retail shape, examples/online_retail.yaml), {args.repeat} alternating runs")
    labels = {
        "bare": "duckdb bare read_csv import",
        "sql": "hand-written SQL, same rows",
        "ours": "salesintel load all (3 tables)",
        "cold": "  the same, nothing kept",
    }
    for kind, label in labels.items():
        secs = [r["seconds"] for r in runs[kind]]
        mibs = [r["peak_mib"] for r in runs[kind]]
        print(f"{label:32s} {_spread(secs, 's')}   peak {_spread(mibs, 'MiB', 0)}")
    print("results: the hand-written SQL and salesintel (statements kept or not) stored the same rows and rejects")
    print(f"time ratio   {_spread(_ratios(runs, 'ours', 'bare'), 'x')} (target <= 3x)")
    print(f"  nothing kept {_spread(_ratios(runs, 'cold', 'bare'), 'x')} (the first load of a shape)")
    print(f"memory ratio {_spread(_ratios(runs, 'ours', 'bare', 'peak_mib'), 'x')} (target <= 2x)")
    print(f"hand-written SQL / bare import   {_spread(_ratios(runs, 'sql', 'bare'), 'x')} (the work itself)")
    print(f"salesintel / hand-written SQL    {_spread(_ratios(runs, 'ours', 'sql'), 'x')} (what salesintel adds)")


def _ratios(runs: dict[str, list[dict]], top: str, bottom: str, field: str = "seconds") -> list[float]:
    """Per round of the alternating runs: the ratio of one kind's figure to another's."""
    return [t[field] / b[field] for t, b in zip(runs[top], runs[bottom])]


def _spread(values: list[float], unit: str, digits: int = 2) -> str:
    return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f} / {max(values):.{digits}f} {unit}"


if __name__ == "__main__":
    main()
