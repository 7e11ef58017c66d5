"""The same company on every engine: what is loaded, and what every registered analysis returns, equals
DuckDB's (sorted by key, floats within a stated tolerance); the SQL the key analyses send to each engine is
kept as a snapshot so an unintended change shows up in review.

Regenerate the snapshots after an intended change with ``SALESINTEL_UPDATE_SNAPSHOTS=1 make test``.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from conftest import SPARK, engine_url, postgres_service

from salesintel import schema
from salesintel.analyses import registry, results, runner
from salesintel.analyses.builtin import MACHINERY  # noqa: F401 - registers the built-in analyses
from salesintel.demo import load_order, play_winback_round, write_demo
from salesintel.ingest import load_file
from salesintel.store import Store

AS_OF = date(2025, 12, 30)
# Engines add floats in different orders, so a per-customer sum can differ in its last bit; the Gamma-Gamma
# fit stops at its optimizer's tolerance and carries such a difference to about 2e-8 relative in expected
# spend (measured on this demo). Everything else agrees to 1e-12.
FLOAT_RTOL = 1e-6
SNAPSHOTS = Path(__file__).parent / "data" / "sql"
OTHER_ENGINES = ("postgres", *(("spark",) if SPARK else ()))


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("engines-demo")
    write_demo(directory, customers=1_500, seed=5)
    return directory


def _loaded(url: str, files: Path) -> Store:
    store = Store.open(url)
    for name in load_order():
        load_file(store, files / f"{name}.csv", table=name)
    play_winback_round(store)
    runner.run_all(store, as_of=AS_OF)
    return store


@pytest.fixture(scope="module")
def duckdb_demo(demo_files, tmp_path_factory) -> Store:
    store = _loaded(str(tmp_path_factory.mktemp("engines-duck") / "demo.duckdb"), demo_files)
    yield store
    store.close()


@pytest.fixture(scope="module", params=OTHER_ENGINES)
def other_demo(request, demo_files, tmp_path_factory) -> Store:
    store = _loaded(engine_url(request.param, tmp_path_factory.mktemp("engines"), request), demo_files)
    yield store
    store.close()


def _sorted(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def _frames_equal(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=FLOAT_RTOL, obj=what)


# columns that say when something happened on this machine, not what the data says
WALL_CLOCK = {"loaded_at", "added_at", "created_at", "assigned_at", "done_at", "fitted_at"}


@pytest.mark.parametrize("table", [t.name for t in schema.CANONICAL])
def test_loaded_tables_equal_duckdb(duckdb_demo, other_demo, table) -> None:
    """COPY and the staged upsert store every value exactly as DuckDB does: empty text stays empty, floats
    keep every digit, timestamps every microsecond."""
    key = list(schema.get(table).key) or list(duckdb_demo.table(table).columns)
    cols = [c for c in duckdb_demo.table(table).columns if not (table == "tasks" and c in WALL_CLOCK)]
    want = _sorted(duckdb_demo.table(table).select(cols).to_pandas(), key)
    got = _sorted(other_demo.table(table).select(cols).to_pandas(), key)
    _frames_equal(got, want, f"{table} on {other_demo.engine.name}")


def _results(store: Store, name: str) -> dict[str, pd.DataFrame]:
    analysis = registry.get(name)
    out = {}
    for result, output in analysis.outputs.items():
        df = results.read(store, name, result).to_pandas()
        df = df[[c for c in df.columns if c not in WALL_CLOCK]]
        out[result] = _sorted(df, list(output.key) or list(df.columns))
    return out


@pytest.mark.parametrize("name", registry.names())
def test_every_analysis_equals_duckdb(duckdb_demo, other_demo, name) -> None:
    runs = {s.engine.name: s.table("analysis_runs") for s in (duckdb_demo, other_demo)}
    for engine, table in runs.items():
        status = table.filter(table.analysis == name).status.to_pandas().tolist()
        assert status and set(status) <= {"ok", "fallback"}, f"{name} on {engine}: {status}"
    want, got = _results(duckdb_demo, name), _results(other_demo, name)
    for result in want:
        assert len(want[result]) > 0 or name == "reactivation", f"{name}.{result} is empty on the demo"
        _frames_equal(got[result], want[result], f"{name}.{result} on {other_demo.engine.name}")


SNAPSHOT_ANALYSES = {
    "rules": lambda s: _rules_sql(s),
    "affinity": lambda s: _affinity_sql(s),
    "profiles": lambda s: _profiles_sql(s),
}


def _rules_sql(store: Store):
    from salesintel.analyses.sequential_rules import first_purchases, rule_counts

    first = first_purchases(store.table("orders"), store.table("products"), as_of=AS_OF)
    return rule_counts(first, as_of=AS_OF, window_days=180)


def _affinity_sql(store: Store):
    from salesintel.analyses.groups import DIMENSIONS, customer_groups

    return customer_groups(store.table("customers"), as_of=AS_OF, dimensions=DIMENSIONS, pairs=True)


def _profiles_sql(store: Store):
    from salesintel.analyses.profiles import customer_profiles

    return customer_profiles(store.table("orders"), as_of=AS_OF)


DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "spark": "pyspark"}


@pytest.mark.parametrize("engine", ("duckdb", *OTHER_ENGINES))
@pytest.mark.parametrize("name", sorted(SNAPSHOT_ANALYSES))
def test_compiled_sql_matches_its_snapshot(duckdb_store, engine, name, request, tmp_path) -> None:
    """What each key analysis sends to each engine: compiled by the dialect alone, or for Spark (whose
    compiler reads the session's settings) by a connection to the test session."""
    import ibis
    import sqlglot

    expr = SNAPSHOT_ANALYSES[name](duckdb_store)
    if engine == "spark":
        with Store.open(engine_url("spark", tmp_path, request)) as spark_store:
            # one line as compiled; laid out by sqlglot so that a change reads as a diff in review
            sql = sqlglot.parse_one(str(spark_store.con.compile(expr)), read="spark").sql("spark", pretty=True) + "\n"
    else:
        sql = ibis.to_sql(expr, dialect=DIALECTS[engine]) + "\n"
    path = SNAPSHOTS / f"{name}.{engine}.sql"
    if os.environ.get("SALESINTEL_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    assert path.exists(), f"no snapshot {path.name}; write it with SALESINTEL_UPDATE_SNAPSHOTS=1"
    assert sql == path.read_text(), f"the SQL {name} sends to {engine} changed; review it, then update the snapshot"


def test_reloading_a_changed_file_replaces_rows_by_key(store, tmp_path) -> None:
    """The staged upsert on every engine (a MERGE-like delete and insert on DuckDB and PostgreSQL, a rewrite of
    the table on Spark): changed rows replaced, new rows added, the rest kept."""
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name,city\nc1,Ann,Bonn\nc2,Bob,Berlin\n", encoding="utf-8")
    load_file(store, path, table="customers")
    path.write_text("customer_id,name,city\nc2,Bob,Hamburg\nc3,Cem,Essen\n", encoding="utf-8")
    (report,) = load_file(store, path, table="customers")
    assert (report.inserted, report.updated) == (1, 1)
    rows = store.table("customers").select("customer_id", "name", "city").order_by("customer_id").to_pyarrow()
    assert rows.to_pylist() == [
        {"customer_id": "c1", "name": "Ann", "city": "Bonn"},
        {"customer_id": "c2", "name": "Bob", "city": "Hamburg"},
        {"customer_id": "c3", "name": "Cem", "city": "Essen"},
    ]


def test_bulk_writes_keep_every_value(store) -> None:
    """The bulk path of each engine (DuckDB's Arrow scan, PostgreSQL's COPY, Spark's Arrow DataFrame): empty
    text stays empty and apart from null, text with quotes, commas and new lines stays whole, floats keep
    every digit and timestamps every microsecond."""
    rows = pa.table(
        {
            "order_id": ["o1", "o2", "o3"],
            "line": [1, 1, 1],
            "customer_id": ["", 'a "quoted", comma', "line\nbreak"],
            "product_id": ["p", "p", "p"],
            "ordered_at": [
                datetime(2024, 1, 1, 9, 30, 0, 123456),
                datetime(1999, 12, 31, 23, 59, 59),
                datetime(2030, 6, 1),
            ],
            "amount": [0.1 + 0.2, 1 / 3, -1e-300],
            "channel": [None, "", "web"],
        }
    )
    store.append("orders", rows)
    got = store.table("orders").select(*rows.column_names).order_by("order_id").to_pyarrow()
    assert got.to_pylist() == rows.to_pylist()


def test_a_password_in_the_url_is_never_shown(postgres_server, tmp_path, capsys) -> None:
    """Messages, the report and the CLI's table titles show the URL with the password masked."""
    from salesintel.errors import NotFound, UserInputError
    from salesintel.report import build_report

    url = postgres_service.create_database(postgres_server, "t_password").replace("postgres@", "postgres:S3cretPW@")
    with Store.open(url) as store:
        assert "S3cretPW" not in store.shown_url and "postgres:***@" in store.shown_url
        with pytest.raises(NotFound) as missing:
            store.table("nosuch")
        assert "S3cretPW" not in str(missing.value)
        report = build_report(store, tmp_path / "report.html")
        assert "S3cretPW" not in Path(report).read_text()
    closed_port = re.sub(r":\d+/", ":1/", url)  # nothing listens on port 1
    for bad in (url.replace("postgresql", "postgress"), closed_port, closed_port + "?password=S3cretPW"):
        with pytest.raises(UserInputError) as refused:
            Store.open(bad)
        assert "S3cretPW" not in str(refused.value)
