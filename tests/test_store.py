from __future__ import annotations

from datetime import datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from salesintel import schema
from salesintel.errors import NotFound
from salesintel.store import Store


def test_every_table_exists_with_the_schema_types(store: Store) -> None:
    for table in schema.TABLES.values():
        stored = store.table(table.name).schema()
        assert list(stored.names) == list(schema.ibis_schema(table).names)
        for name, dtype in schema.ibis_schema(table).items():
            assert type(stored[name]) is type(dtype), (table.name, name)
    assert store.schema_version() == schema.SCHEMA_VERSION


def test_ddl_round_trip(store: Store) -> None:
    """Create, list, read and drop: catches the Ibis/sqlglot/duckdb version breaks in STACK-NOTES.md."""
    store.con.create_table("round_trip", obj=pa.table({"a": [1, 2]}))
    assert "round_trip" in store.list_tables()
    assert store.table("round_trip").a.sum().execute() == 3
    store.con.drop_table("round_trip")
    assert "round_trip" not in store.list_tables()


def test_reopening_keeps_data(tmp_path) -> None:
    path = str(tmp_path / "x.duckdb")
    with Store.open(path) as s:
        s.append("reps", pa.table({"rep_id": ["R1"], "name": ["Ann"]}))
    with Store.open(f"duckdb://{path}") as s:
        assert s.table("reps").execute().rep_id.tolist() == ["R1"]


def test_upsert_counts_new_changed_and_identical(store: Store) -> None:
    store.append("reps", pa.table({"rep_id": ["R1", "R2"], "name": ["Ann", "Bob"]}))
    rows = ibis.memtable(pa.table({"rep_id": ["R1", "R2", "R3"], "name": ["Ann", "Bobby", "Cy"]}))
    staged = store.stage(rows.to_pyarrow())
    counts = store.upsert("reps", staged, ("rep_id",))
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 1)
    assert dict(store.table("reps").select("rep_id", "name").execute().values.tolist()) == {
        "R1": "Ann",
        "R2": "Bobby",
        "R3": "Cy",
    }


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_export_keeps_microseconds(tmp_path: Path, fmt: str) -> None:
    """A stored time is written as stored: JSON's default millisecond precision would cut .123456 to .123."""
    store = Store.open(str(tmp_path / "s.duckdb"))
    store.append("reps", pa.table({"rep_id": ["R1"], "name": ["Ann"]}))
    t = store.table("reps")
    expr = t.select("rep_id", at=ibis.timestamp("2024-03-01 04:30:00.123456"))
    store.export_expr(expr, tmp_path / f"out.{fmt}", fmt)
    assert "04:30:00.123456" in (tmp_path / f"out.{fmt}").read_text()


def test_csv_export_writes_yes_no_as_true_and_false(tmp_path: Path) -> None:
    """As DuckDB, PostgreSQL and the JSON export write them; a missing value stays empty."""
    store = Store.open(str(tmp_path / "s.duckdb"))
    rows = ibis.memtable(pa.table({"rep_id": ["R1", "R2", "R3"], "active": pa.array([True, False, None])}))
    store.export_expr(rows, tmp_path / "out.csv", "csv")
    assert (tmp_path / "out.csv").read_text().splitlines() == ["rep_id,active", "R1,true", "R2,false", "R3,"]


def test_a_load_frees_the_row_order_only_while_it_runs(tmp_path: Path) -> None:
    """DuckDB writes a load's rows on every thread while the order is free; the session keeps the order
    again afterwards, a refused load included, so that later queries see what they always did."""
    from salesintel.errors import NothingLoaded
    from salesintel.ingest import load_file

    def order_kept(s: Store) -> bool:
        return bool(s.engine.scalar("SELECT current_setting('preserve_insertion_order')"))

    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("rep_id,name\nR1,Ann\nR2,Bob\n")
    bad.write_text("rep_id,name\n,Ann\n")
    with Store.open(str(tmp_path / "x.duckdb")) as s:
        seen = []
        with s.unordered_writes():
            seen.append(order_kept(s))
        assert seen == [False] and order_kept(s)
        load_file(s, good, table="reps")
        assert order_kept(s)
        with pytest.raises(NothingLoaded):
            load_file(s, bad, table="reps")
        assert order_kept(s)
        assert sorted(s.table("reps").execute().rep_id) == ["R1", "R2"]


def test_count_filters_by_equal_and_missing_values_and_names_a_missing_table(store: Store) -> None:
    rows = {"table_name": ["orders", "orders", "customers"], "closed_by": [None, "L1", None]}
    store.append("rejects", pa.table(rows))
    with store.transaction():  # a missing table leaves the transaction usable
        with pytest.raises(NotFound, match="no table 'nope'"):
            store.count("nope")
        assert store.count("rejects") == 3
        assert store.count("rejects", table_name="orders", closed_by=None) == 1
        assert store.count("rejects", closed_by="L1") == 1


def test_the_duckdb_memory_limit_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    """$SALESINTEL_MEMORY_LIMIT bounds what the embedded DuckDB holds before it spills (a 100M-line load
    peaks near DuckDB's default of 80% of the machine); a value DuckDB does not read is one sentence."""
    from salesintel.errors import UserInputError

    monkeypatch.setenv("SALESINTEL_MEMORY_LIMIT", "1GB")
    store = Store.open(str(tmp_path / "a.duckdb"))
    assert store.engine.scalar("SELECT current_setting('memory_limit')") == "953.6 MiB"
    store.close()
    monkeypatch.setenv("SALESINTEL_MEMORY_LIMIT", "8 gigs")
    with pytest.raises(UserInputError, match="SALESINTEL_MEMORY_LIMIT '8 gigs' is not an amount of memory"):
        Store.open(str(tmp_path / "b.duckdb"))
    assert not (tmp_path / "b.duckdb").exists()  # refused before the database is made
    monkeypatch.setenv("SALESINTEL_MEMORY_LIMIT", "1 gib")
    store = Store.open(str(tmp_path / "b.duckdb"))
    assert store.engine.scalar("SELECT current_setting('memory_limit')") == "1.0 GiB"


def test_result_versions_with_the_same_columns_fold_back_kept_runs_only(store: Store) -> None:
    """An earlier version renamed results with a time column aside at every run (the declared timestamp
    read back with its precision): the rows of kept runs come back, those of pruned runs go with the old
    table, and a table a view holds (PostgreSQL views follow a rename) is left as it was."""
    name, at = "result_demo_rows", pa.array([datetime(2024, 1, 1)] * 2, pa.timestamp("us"))
    columns = ibis.schema({"x": "int64", "at": "timestamp", "run_id": "string"})

    def split(rows: pa.Table) -> None:
        store.ensure_result_table(name, columns)
        store.append(name, rows)
        store.engine.execute(f'ALTER TABLE "{name}" RENAME TO "{name}__v1"')
        store.ensure_result_table(name, columns)

    split(pa.table({"x": [1, 2], "at": at, "run_id": ["kept", "pruned"]}))
    assert store.fold_back_versions(name, lambda: ["kept"]) == [f"{name}__v1"]
    assert store.table(name).execute()[["x", "run_id"]].values.tolist() == [[1, "kept"]]
    assert f"{name}__v1" not in store.list_tables()

    store.engine.execute(f'DROP TABLE "{name}"')
    store.engine.execute(f'CREATE TABLE "{name}" ("x" BIGINT, "at" TIMESTAMP, "run_id" VARCHAR)')
    store.engine.execute(f'CREATE VIEW "mine" AS SELECT * FROM "{name}"')  # a user's view
    store.engine.execute(f'ALTER TABLE "{name}" RENAME TO "{name}__v1"')
    store.ensure_result_table(name, columns)
    folded = store.fold_back_versions(name, lambda: ["kept"])
    assert (f"{name}__v1" in store.list_tables()) == (store.engine.name == "postgres") == (folded == [])


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_export_writes_numbers_exactly(tmp_path: Path, fmt: str) -> None:
    """pandas' JSON writer keeps ten decimals: a p-value of 1.2e-11 came out as 0.0."""
    import json

    store = Store.open(str(tmp_path / "s.duckdb"))
    values = [1.2e-11, 4.4e-15, 0.16265137029955387, 5.05e-101]
    store.export_expr(ibis.memtable(pa.table({"p": values})), tmp_path / f"out.{fmt}", fmt)
    text = (tmp_path / f"out.{fmt}").read_text()
    rows = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert [r["p"] for r in rows] == values
