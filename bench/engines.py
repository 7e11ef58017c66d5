"""Engines at scale: the validated load and the key analyses on DuckDB, PostgreSQL and Spark, each next to the
engine's own bare import of the same file, measured in the same run.

    .venv/bin/python bench/engines.py [--lines 10000000] [--spark-lines 1000000] [--engines duckdb,postgres,spark]
                                      [--postgres URL] [--demo-customers 10000]

- demo load: the demo company (every table, CSV) through ``salesintel load``'s path into each engine;
- orders load: the generated order lines (CSV) through the validated load, against the engine's bare import
  of the same file (DuckDB ``read_csv``; PostgreSQL ``COPY FROM STDIN``; Spark ``read.csv`` written as Parquet);
- analyses: sequential rules, group affinity, customer profiles and the CLV features (purchase summary),
  computed inside the engine.

PostgreSQL is started from the machine's binaries (scripts/postgres.py) unless ``--postgres`` names a server.
Spark runs ``local[2]`` on a subset (``--spark-lines``): a local Spark session is for trying the engine, a
cluster is where it pays (docs/scale.md).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv
import scipy.stats  # noqa: F401 - salesintel imports it lazily; import it before any clock starts

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))

import postgres as postgres_service  # noqa: E402
from rules import AS_OF, WINDOW, make_data  # noqa: E402

from salesintel.analyses.affinity import group_affinity  # noqa: E402
from salesintel.analyses.clv import purchase_summary  # noqa: E402
from salesintel.analyses.profiles import customer_profiles  # noqa: E402
from salesintel.analyses.sequential_rules import sequential_rules  # noqa: E402
from salesintel.demo import load_order, write_demo  # noqa: E402
from salesintel.ingest import load_file  # noqa: E402
from salesintel.store import Store  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def write_files(directory: Path, lines: int) -> dict[str, Path]:
    customers = max(lines // 10, 100)
    data = make_data(customers, lines, 2_000)
    paths = {}
    for name in ("products", "customers", "orders"):
        paths[name] = directory / f"{name}.csv"
        pacsv.write_csv(data[name], paths[name])
    return paths


def engine_url(engine: str, directory: Path, postgres_server: str | None, tag: str) -> str:
    if engine == "duckdb":
        return str(directory / f"{tag}.duckdb")
    if engine == "postgres":
        return postgres_service.create_database(postgres_server, f"bench_{tag}")
    return f"spark://local[2]?warehouse={directory / 'spark'}&database={tag}"  # one warehouse per process


def bare_import(engine: str, store: Store, path: Path) -> float:
    """The engine's own import of the CSV file, no validation: what a user would otherwise type."""
    if engine == "duckdb":
        return timed(lambda: store.con.raw_sql(f"CREATE TABLE bare AS SELECT * FROM read_csv('{path}')"))[0]
    if engine == "postgres":
        cols = (
            "order_id text, line bigint, customer_id text, product_id text, ordered_at timestamp, "
            "quantity double precision, amount double precision"
        )

        def copy() -> None:
            con = store.con.con
            with con.cursor() as cur:
                cur.execute(f"CREATE TABLE bare ({cols})")
                with cur.copy("COPY bare FROM STDIN WITH (FORMAT csv, HEADER true)") as c, open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        c.write(chunk)

        return timed(copy)[0]
    spark = store.engine.session
    out = str(Path(tempfile.mkdtemp()) / "bare.parquet")
    return timed(lambda: spark.read.csv(str(path), header=True, inferSchema=True).write.parquet(out))[0]


def analyses(store: Store) -> dict[str, float]:
    orders, customers, products = store.table("orders"), store.table("customers"), store.table("products")
    return {
        "sequential rules": timed(
            lambda: sequential_rules(orders, products, as_of=AS_OF, window_days=WINDOW, min_customers=10)
        )[0],
        "group affinity": timed(lambda: group_affinity(orders, customers, products, as_of=AS_OF))[0],
        "customer profiles": timed(lambda: customer_profiles(orders, as_of=AS_OF).to_pyarrow())[0],
        "CLV features": timed(lambda: purchase_summary(orders, as_of=AS_OF).to_pyarrow())[0],
    }


def load_demo(url: str, files: Path) -> float:
    def load() -> None:
        with Store.open(url) as store:
            for name in load_order():
                load_file(store, files / f"{name}.csv", table=name)

    return timed(load)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--spark-lines", type=int, default=1_000_000)
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    parser.add_argument("--postgres", help="URL of a PostgreSQL server to create the bench databases on")
    parser.add_argument("--demo-customers", type=int, default=10_000)
    parser.add_argument("--skip-analyses", action="store_true")
    args = parser.parse_args()
    engines = args.engines.split(",")
    work = Path(tempfile.mkdtemp(prefix="salesintel-bench-"))
    pg_dir = None
    server = args.postgres
    if "postgres" in engines and not server:
        pg_dir = Path(tempfile.mkdtemp(prefix="salesintel-bench-pg-"))
        server = postgres_service.start(pg_dir)
    try:
        demo = work / "demo"
        write_demo(demo, customers=args.demo_customers, seed=42)
        print(f"demo company, {args.demo_customers:,} customers: validated load of every table")
        demo_times = {}
        for engine in engines:
            demo_times[engine] = load_demo(engine_url(engine, work, server, "demo"), demo)
            ratio = demo_times[engine] / demo_times[engines[0]]
            print(f"  {engine:<10} {demo_times[engine]:8.2f} s   ({ratio:.2f}x {engines[0]})", flush=True)

        for engine in engines:
            lines = args.spark_lines if engine == "spark" else args.lines
            files = work / f"lines-{lines}"
            if not files.exists():
                files.mkdir()
                write_files(files, lines)
            url = engine_url(engine, work, server, f"orders{lines}")
            with Store.open(url) as store:
                loads = {}
                for name in ("products", "customers", "orders"):
                    loads[name] = timed(lambda name=name: load_file(store, files / f"{name}.csv", table=name))[0]
                bare = bare_import(engine, store, files / "orders.csv")
                print(f"{engine}, {lines:,} order lines")
                print(
                    f"  validated load of the orders  {loads['orders']:8.2f} s   bare import {bare:8.2f} s   "
                    f"-> {loads['orders'] / bare:.2f}x",
                    flush=True,
                )
                if not args.skip_analyses:
                    for what, seconds in analyses(store).items():
                        print(f"  {what:<28} {seconds:8.2f} s", flush=True)
    finally:
        if pg_dir:
            postgres_service.stop(pg_dir)
            shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
