"""Rejects belong to a load and stay open until a later load resolves them; a load's data, rejects and
``loads`` row commit together (docs/ingestion.md)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_csv

from salesintel import schema
from salesintel.errors import MappingError, TooManyRejects
from salesintel.ingest import load, load_file
from salesintel.ingest.rejects import listed, open_rejects
from salesintel.store import Store

ORDERS = """
order_id,line,customer_id,product_id,ordered_at,amount
O1,1,C1,P1,2024-01-05,10
O2,1,C1,P1,someday,12
O3,1,C2,P2,2024-02-01,twelve
"""
CORRECTED = """
order_id,line,customer_id,product_id,ordered_at,amount
O2,1,C1,P1,2024-01-07,12
"""


def _open(store: Store) -> list[tuple]:
    t = open_rejects(store).execute()
    return sorted(zip(t.source_file.map(lambda f: Path(f).name), t.line, t.column_name))


def test_rejects_carry_their_load_and_key(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", ORDERS)
    [report] = load_file(store, path, table="orders")
    loads = store.table("loads").execute()
    assert loads.load_id.tolist() == [report.load_id]
    assert loads.content_sha256.tolist() == [hashlib.sha256(path.read_bytes()).hexdigest()]
    rejects = store.table("rejects").execute()
    assert set(rejects.load_id) == {report.load_id}
    assert sorted(rejects.row_key) == ["O2, 1", "O3, 1"]


def test_reloading_a_file_or_its_copy_shows_its_problems_once(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", ORDERS)
    load_file(store, path, table="orders")
    [second] = load_file(store, path, table="orders")
    assert _open(store) == [("o.csv", 3, "ordered_at"), ("o.csv", 4, "amount")]
    history = store.table("rejects").execute()
    assert len(history) == 4 and set(history.closed_by.dropna()) == {second.load_id}
    copy = tmp_path / "elsewhere" / "orders_copy.csv"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    load_file(store, copy, table="orders")  # the same content under another name
    assert _open(store) == [("orders_copy.csv", 3, "ordered_at"), ("orders_copy.csv", 4, "amount")]
    assert listed(store, everything=True).count().execute() == 6


def test_a_corrected_row_closes_its_reject(store: Store, tmp_path: Path) -> None:
    load_file(store, write_csv(tmp_path / "o.csv", ORDERS), table="orders")
    [fix] = load_file(store, write_csv(tmp_path / "fix.csv", CORRECTED), table="orders")
    assert fix.inserted == 1
    assert _open(store) == [("o.csv", 4, "amount")]  # O3 is still wrong
    closed = store.table("rejects").execute().dropna(subset=["closed_by"])
    assert closed.row_key.tolist() == ["O2, 1"] and closed.closed_by.tolist() == [fix.load_id]
    load_file(store, write_csv(tmp_path / "other.csv", "rep_id,name\nR1,Ann\n"), table="reps")
    assert _open(store) == [("o.csv", 4, "amount")]  # another table's load closes nothing here


def test_a_refused_load_keeps_its_rejects_with_its_loads_row(store: Store, tmp_path: Path) -> None:
    with pytest.raises(TooManyRejects):
        load_file(store, write_csv(tmp_path / "o.csv", ORDERS), table="orders", max_reject_rate=0.5)
    assert store.count("orders") == 0
    [row] = store.table("loads").execute().to_dict("records")
    assert row["rejected"] == 2 and row["rows_read"] == 3
    assert all(row[c] is None or row[c] != row[c] for c in ("inserted", "updated", "unchanged"))  # None or NaN
    assert set(store.table("rejects").execute().load_id) == {row["load_id"]}


def test_a_failure_before_commit_leaves_nothing_of_the_load(store: Store, tmp_path: Path, monkeypatch) -> None:
    load_file(store, write_csv(tmp_path / "a.csv", ORDERS), table="orders")
    before = [store.table(t).execute().sort_values(list(store.table(t).columns)[:2]) for t in ("orders", "loads")]
    rejects_before = store.count("rejects")

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(load, "_record_load", crash)  # the last step of the transaction
    with pytest.raises(RuntimeError, match="power cut"):
        load_file(store, write_csv(tmp_path / "b.csv", CORRECTED + "O9,1,C1,P1,2024-03-01,5\n"), table="orders")
    monkeypatch.undo()
    after = [store.table(t).execute().sort_values(list(store.table(t).columns)[:2]) for t in ("orders", "loads")]
    assert all(a.equals(b) for a, b in zip(before, after))
    assert store.count("rejects") == rejects_before and len(_open(store)) == 2  # nothing closed either
    [rerun] = load_file(store, tmp_path / "b.csv", table="orders")
    assert (rerun.inserted, rerun.updated, rerun.unchanged) == (2, 0, 0)


SHOP = """
Invoice,Stock,Customer,Country,Day,Paid
I1,P1,C1,DE,2024-01-05,10
I1,P2,,DE,2024-01-05,5
I2,P1,C2,FR,someday,7
"""
SHOP_MAPPING = """
tables:
  products:
    repeated_keys: merge
    columns: {product_id: Stock, name: Stock}
  customers:
    repeated_keys: merge
    columns: {customer_id: Customer, country: Country}
  orders:
    columns:
      order_id: Invoice
      line: {sequence_within: [Invoice]}
      customer_id: Customer
      product_id: Stock
      ordered_at: Day
      amount: Paid
"""


def test_a_mapping_naming_a_missing_column_to_number_within_stops_the_load(store: Store, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "shop.csv", SHOP)
    wrong = write_csv(
        tmp_path / "wrong.yaml", SHOP_MAPPING.replace("sequence_within: [Invoice]", "sequence_within: [Nope]")
    )
    with pytest.raises(MappingError, match="refers to column 'Nope', which shop.csv does not have"):
        load_file(store, data, mapping=wrong)
    assert store.count("products") == store.count("orders") == store.count("loads") == 0


def test_a_file_loads_all_its_tables_or_none(store: Store, tmp_path: Path, monkeypatch) -> None:
    """A crash while the last table of a mapping is stored takes the tables before it back too."""
    data, mapping = write_csv(tmp_path / "shop.csv", SHOP), write_csv(tmp_path / "shop.yaml", SHOP_MAPPING)
    store_good = load._store_good

    def crash_at_orders(store_, staging, good, target, *args, **kwargs):
        if target.name == "orders":
            raise RuntimeError("power cut")
        return store_good(store_, staging, good, target, *args, **kwargs)

    monkeypatch.setattr(load, "_store_good", crash_at_orders)
    with pytest.raises(RuntimeError, match="power cut"):
        load_file(store, data, mapping=mapping)
    monkeypatch.undo()
    assert {t: store.count(t) for t in ("products", "customers", "orders", "rejects", "loads")} == dict.fromkeys(
        ("products", "customers", "orders", "rejects", "loads"), 0
    )
    reports = {r.table: r for r in load_file(store, data, mapping=mapping)}
    assert {t: r.inserted for t, r in reports.items()} == {"products": 2, "customers": 2, "orders": 1}
    # one write of every table's rejects, each with its own load and line
    got = sorted(zip(*[store.table("rejects").execute()[c] for c in ("table_name", "line", "column_name")]))
    assert got == [("customers", 3, "customer_id"), ("orders", 3, "customer_id"), ("orders", 4, "ordered_at")]
    by_table = store.table("rejects").execute().groupby("table_name").load_id.unique().to_dict()
    assert {t: list(ids) for t, ids in by_table.items()} == {t: [reports[t].load_id] for t in ("customers", "orders")}


def test_a_refused_table_ends_the_load_and_keeps_what_came_before(store: Store, tmp_path: Path) -> None:
    data, mapping = write_csv(tmp_path / "shop.csv", SHOP), write_csv(tmp_path / "shop.yaml", SHOP_MAPPING)
    refused = (
        "2 of 3 rows of shop.csv were refused for orders .* no orders row was stored; products and customers stored"
    )
    with pytest.raises(TooManyRejects, match=refused):
        load_file(store, data, mapping=mapping, max_reject_rate=0.4)
    # products (no reject) is stored, customers (1 of 3 refused) too; orders (2 of 3) stores no row
    assert (store.count("products"), store.count("customers"), store.count("orders")) == (2, 2, 0)
    loads = store.table("loads").execute().set_index("table_name")
    assert sorted(loads.index) == ["customers", "orders", "products"] and loads.loc["orders", "rejected"] == 2
    assert loads.loc["orders", "inserted"] is None or loads.loc["orders", "inserted"] != loads.loc["orders", "inserted"]
    assert sorted(store.table("rejects").execute().table_name) == ["customers", "orders", "orders"]


def test_an_older_store_gains_the_new_columns_on_open(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    Store.open(str(path)).close()
    con = duckdb.connect(str(path))
    for table, column in (("rejects", "load_id"), ("rejects", "row_key"), ("rejects", "closed_by")):
        con.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')
    con.execute("ALTER TABLE loads DROP COLUMN content_sha256")
    con.execute("UPDATE schema_version SET version = 2")
    con.close()
    with Store.open(str(path)) as store:
        assert store.schema_version() == schema.SCHEMA_VERSION
        assert {"load_id", "row_key", "closed_by"} <= set(store.table("rejects").columns)
        load_file(store, write_csv(tmp_path / "o.csv", ORDERS), table="orders")
        assert len(_open(store)) == 2


def test_the_rejects_command_shows_open_problems_and_history(tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    path = write_csv(tmp_path / "o.csv", ORDERS)
    for _ in range(2):
        assert _cli("load", "orders", str(path), "--db", db).returncode == 0
    shown = json.loads(_cli("rejects", "--db", db, "--format", "json").stdout)
    assert [(r["line"], r["column_name"]) for r in shown] == [(3, "ordered_at"), (4, "amount")]
    everything = json.loads(_cli("rejects", "--all", "--db", db, "--format", "json").stdout)
    assert len(everything) == 4 and sum(r["closed_by"] is None for r in everything) == 2
    table = _cli("rejects", "--table", "reps", "--db", db)
    assert table.returncode == 0 and "no open rejects" in table.stderr


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesintel", *args], capture_output=True, text=True)
