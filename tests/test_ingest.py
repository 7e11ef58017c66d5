from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import DATA, ROOT, write_csv

from salesintel import schema
from salesintel.demo import generate, load_order
from salesintel.errors import MappingError, NothingLoaded, TooManyRejects, UnreadableFile
from salesintel.ingest import load_file
from salesintel.ingest.rejects import open_rejects
from salesintel.store import Store


def _write(table: pa.Table, path: Path, fmt: str) -> Path:
    if fmt == "csv":
        pacsv.write_csv(table, path)
    elif fmt == "parquet":
        pq.write_table(table, path)
    else:
        path.write_text("".join(json.dumps(r, default=str) + "\n" for r in table.to_pylist()))
    return path


@pytest.mark.parametrize("fmt,ext", [("csv", "csv"), ("parquet", "parquet"), ("json", "jsonl")])
def test_every_table_loads_from_every_format(tmp_path: Path, fmt: str, ext: str) -> None:
    company = generate(customers=300, seed=3)
    store = Store.open(str(tmp_path / f"{fmt}.duckdb"))
    for name in load_order():
        table = company.tables[name]
        [report] = load_file(store, _write(table, tmp_path / f"{name}.{ext}", fmt), table=name)
        assert report.rejected == 0, name
        assert report.inserted == table.num_rows == store.count(name), name
        assert not report.orphans, name
    orders = store.table("orders").execute()
    expected = company.tables["orders"].to_pandas()
    assert orders.amount.sum() == pytest.approx(expected.amount.sum())
    assert orders.ordered_at.min() == expected.ordered_at.min()
    props = store.table("touchpoints").properties.execute()
    assert json.loads(props.iloc[0]) == {"device": "desktop"}


def test_gzip_csv_loads(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "reps.csv.gz"
    path.write_bytes(gzip.compress(b"rep_id,name\nR1,Ann\nR2,Bob\n"))
    [report] = load_file(store, path, table="reps")
    assert report.inserted == 2


BAD_ORDERS = """
order_id,line,customer_id,product_id,ordered_at,quantity,amount,channel
o1,1,c1,p1,2024-01-05,1,10.5,web
o2,1,c2,p1,2024-02-30,1,10,store
o3,1,,p1,2024-03-01,1,10,store
o4,1,c3,p1,2024-03-01,1,twelve,store
o5,1.5,c3,p1,2024-03-01,1,12,store
o1,1,c1,p1,2024-01-06T09:00:00+01:00,2,11,web
"""


def _rejects(store: Store) -> list[dict]:
    return store.table("rejects").order_by(["line", "column_name"]).execute().to_dict("records")


def test_rejects_carry_line_column_value_and_reason(store: Store, tmp_path: Path) -> None:
    [report] = load_file(store, write_csv(tmp_path / "orders.csv", BAD_ORDERS), table="orders")
    assert (report.rows_read, report.inserted, report.rejected) == (6, 1, 5)
    got = [(r["line"], r["column_name"], r["value"], r["reason"]) for r in _rejects(store)]
    assert got == [
        (2, "order_id,line", "o1, 1", "superseded by line 7"),
        (
            3,
            "ordered_at",
            "2024-02-30",
            "'2024-02-30' is not a date or date-time (ISO-8601, e.g. 2024-03-31 or 2024-03-31T14:05:00)",
        ),
        (4, "customer_id", None, "missing required value"),
        (5, "amount", "twelve", "'twelve' is not a number"),
        (6, "line", "1.5", "'1.5' is not a whole number"),
    ]
    record = json.loads(_rejects(store)[3]["record"])
    assert record["amount"] == "twelve" and record["order_id"] == "o4"
    row = store.table("orders").execute().iloc[0]
    assert str(row.ordered_at) == "2024-01-06 08:00:00"  # the +01:00 offset converted to UTC
    assert row.amount == 11


def test_unknown_enum_and_bad_boolean_are_refused(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        """
customer_id,status,email_opt_in,birth_year
c1,Prospect,YES,1980
c2,vip,no,1990
c3,customer,maybe,x
""",
    )
    [report] = load_file(store, path, table="customers")
    assert report.inserted == 1 and report.rejected == 2
    reasons = {(r["line"], r["column_name"]): r["reason"] for r in _rejects(store)}
    assert reasons[(3, "status")] == "unknown value 'vip'; allowed: customer, prospect, lost"
    assert "yes/no" in reasons[(4, "email_opt_in")]
    assert reasons[(4, "birth_year")] == "'x' is not a whole number"
    stored = store.table("customers").execute().iloc[0]
    assert stored.status == "prospect" and bool(stored.email_opt_in) is True


def test_touchpoint_needs_customer_or_anonymous_id(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "tp.csv",
        """
event_id,occurred_at,type,customer_id,anonymous_id
e1,2024-01-01,page_view,c1,
e2,2024-01-01,page_view,,cookie9
e3,2024-01-01,page_view,,
""",
    )
    [report] = load_file(store, path, table="touchpoints")
    assert (report.inserted, report.rejected) == (2, 1)
    assert _rejects(store)[0]["reason"] == "needs customer_id or anonymous_id"


def test_loading_twice_changes_nothing(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", BAD_ORDERS)
    load_file(store, path, table="orders")
    before = (store.table("orders").execute(), open_rejects(store).count().execute())
    [again] = load_file(store, path, table="orders")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert store.table("orders").execute().equals(before[0])
    assert open_rejects(store).count().execute() == before[1]  # the first load's rejects are history now


def test_later_file_replaces_rows_by_key(store: Store, tmp_path: Path) -> None:
    load_file(store, write_csv(tmp_path / "a.csv", "rep_id,name\nR1,Ann\nR2,Bob\n"), table="reps")
    [r] = load_file(store, write_csv(tmp_path / "b.csv", "rep_id,name\nR2,Robert\nR3,Cy\n"), table="reps")
    assert (r.inserted, r.updated, r.unchanged) == (1, 1, 0)
    assert sorted(store.table("reps").name.execute()) == ["Ann", "Cy", "Robert"]


def test_orphans_are_kept_and_counted(store: Store, tmp_path: Path) -> None:
    [r] = load_file(store, write_csv(tmp_path / "o.csv", BAD_ORDERS), table="orders")
    assert r.orphans == {"customer_id": 1, "product_id": 1}
    assert store.count("orders") == 1


def test_clear_errors_for_malformed_files(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="has no column amount, which orders requires"):
        load_file(
            store,
            write_csv(tmp_path / "o.csv", "order_id,customer_id,product_id,ordered_at\n1,2,3,2024-01-01\n"),
            table="orders",
        )
    latin = tmp_path / "latin.csv"
    latin.write_bytes("rep_id,name\nR1,J\xfcrgen\n".encode("latin-1"))
    with pytest.raises(UnreadableFile, match="not utf-8 text"):
        load_file(store, latin, table="reps")
    [r] = load_file(
        store, latin, table="reps", source=__import__("salesintel").ingest.SourceOptions(encoding="latin-1")
    )
    assert store.table("reps").name.execute().tolist() == ["J\xfcrgen"] and r.inserted == 1
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00\x00binary")
    with pytest.raises(UnreadableFile, match="looks binary"):
        load_file(store, binary, table="reps")
    with pytest.raises(UnreadableFile, match="cannot tell the format"):
        load_file(store, write_csv(tmp_path / "x.xlsx", "a"), table="reps")


def test_nothing_loaded_and_reject_rate(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NothingLoaded):
        load_file(store, write_csv(tmp_path / "r.csv", "rep_id,name\n,Ann\n"), table="reps")
    assert store.count("rejects") == 1  # the refused row is still kept
    with pytest.raises(TooManyRejects):
        load_file(store, write_csv(tmp_path / "o.csv", BAD_ORDERS), table="orders", max_reject_rate=0.5)
    assert store.count("orders") == 0


def test_short_form_mapping(store: Store, tmp_path: Path) -> None:
    mapping = write_csv(
        tmp_path / "m.yaml",
        """
rename: {Kunde: customer_id, Art: status, Seit: created_at}
values: {status: {Interessent: prospect, Kunde: customer}}
dates: {created_at: "%d.%m.%Y"}
constants: {country: DE}
""",
    )
    data = write_csv(
        tmp_path / "k.csv", "Kunde,Art,Seit\nK1,Interessent,31.12.2023\nK2,Kunde,01.02.2024\nK3,Kunde,31.02.2024\n"
    )
    [r] = load_file(store, data, table="customers", mapping=mapping)
    assert (r.inserted, r.rejected) == (2, 1)
    got = store.table("customers").order_by("customer_id").execute()
    assert got.status.tolist() == ["prospect", "customer"] and set(got.country) == {"DE"}
    assert str(got.created_at.iloc[0]) == "2023-12-31 00:00:00"
    with pytest.raises(MappingError, match="does not have"):
        load_file(
            store, data, table="customers", mapping=write_csv(tmp_path / "bad.yaml", "rename: {Nope: customer_id}\n")
        )


def test_online_retail_mapping(store: Store) -> None:
    reports = {
        r.table: r
        for r in load_file(store, DATA / "online_retail_sample.csv", mapping=ROOT / "examples" / "online_retail.yaml")
    }
    assert reports["orders"].inserted == 10 and reports["orders"].rejected == 1  # the guest line
    orders = store.table("orders").order_by(["order_id", "line"]).execute()
    first = orders.iloc[0]
    assert (first.order_id, first.line, first.product_id) == ("536365", 1, "85123A")
    assert first.amount == pytest.approx(6 * 2.55) and str(first.ordered_at) == "2010-12-01 08:26:00"
    assert orders[orders.order_id == "C536379"].amount.iloc[0] == pytest.approx(-27.5)
    assert store.count("customers") == 5 and reports["customers"].merged == 5
    products = store.table("products").execute().set_index("product_id")
    assert products.loc["22139", "name"] == "(no description)"
    assert products.loc["22745", "name"] == "POPPY'S PLAYHOUSE BEDROOM "  # trailing blank kept


def test_multiply_reads_its_factors_as_strictly_as_numbers(store: Store, tmp_path: Path) -> None:
    """A factor DuckDB's cast reads but a number column refuses (a digit separator, a value too small for a
    double, an infinity) leaves the product unread, so the line is refused with its factors as written."""
    mapping = write_csv(
        tmp_path / "m.yaml",
        """
tables:
  orders:
    columns:
      order_id: Invoice
      customer_id: Customer
      product_id: Stock
      ordered_at: Day
      amount: {multiply: [Qty, Price]}
""",
    )
    lines = ["1,2.5", " 3 ,2", "1_000,2.5", "1e-400,3", "inf,2", "x,2", ",2"]
    lines += ["1e200,1e200", "1e-200,1e-200", "0,1e-200"]
    rows = [f"O{i},C1,P1,2024-01-05,{q}" for i, q in enumerate(lines)]
    data = write_csv(tmp_path / "o.csv", "Invoice,Customer,Stock,Day,Qty,Price\n" + "\n".join(rows) + "\n")
    [report] = load_file(store, data, mapping=mapping)
    assert (report.inserted, report.rejected) == (3, 7)
    amounts = store.table("orders").order_by("order_id").execute().amount.tolist()
    assert amounts == [2.5, 6.0, 0.0]  # 0 x 1e-200 is 0: a factor is 0
    rejects = store.table("rejects").order_by("line").execute()
    assert rejects.column_name.tolist() == ["amount"] * 7
    # a product a double cannot hold (too large, or rounded to 0 from factors that are not) is refused too;
    # a missing factor leaves the product missing
    products = ("1_000*2.5", "1e-400*3", "inf*2", "x*2", None, "1e200*1e200", "1e-200*1e-200")
    expected = [f"'{v}' is not a number" if v else "missing required value" for v in products]
    assert rejects.reason.tolist() == expected


def test_a_missing_factor_takes_the_default_of_its_product(store: Store, tmp_path: Path) -> None:
    """Before: `amount: {multiply: [Qty, Price], default: 0}` refused a line without Qty as '*2.5' is not a
    number, so the default never applied."""
    mapping = write_csv(
        tmp_path / "m.yaml",
        "tables:\n  orders:\n    columns: {order_id: Invoice, customer_id: Customer, product_id: Stock, "
        "ordered_at: Day, amount: {multiply: [Qty, Price], default: 0}}\n",
    )
    data = write_csv(tmp_path / "o.csv", "Invoice,Customer,Stock,Day,Qty,Price\nO1,C1,P1,2024-01-05,,2.5\n")
    [report] = load_file(store, data, mapping=mapping)
    assert (report.inserted, report.rejected) == (1, 0)
    assert store.table("orders").execute().amount.tolist() == [0.0]


def cdnow_master() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    return Path(spec.origin).parent / "datasets" / "CDNOW_master.txt"


@pytest.mark.slow
def test_cdnow_mapping_loads_the_master_file(store: Store) -> None:
    reports = {r.table: r for r in load_file(store, cdnow_master(), mapping=ROOT / "examples" / "cdnow.yaml")}
    assert store.count("customers") == 23_570
    assert store.count("orders") == 69_659 and reports["orders"].rejected == 0
    orders = store.table("orders")
    assert orders.ordered_at.min().execute().date().isoformat() == "1997-01-01"
    assert orders.amount.sum().execute() == pytest.approx(2_500_315.63, abs=0.01)


def test_schema_docs_are_generated_from_the_schema() -> None:
    assert (ROOT / "docs" / "schema.md").read_text().strip() == schema.markdown().strip()


def test_extra_columns_are_kept_as_typed_custom_attributes(store: Store, tmp_path: Path) -> None:
    """Before: job and balance were dropped without a word."""
    path = write_csv(
        tmp_path / "c.csv", "customer_id,name,job,balance,Loyalty Tier,code\nC1,Ann,baker,12.5,2,007\nC2,Bo,,7,3,120\n"
    )
    [report] = load_file(store, path, table="customers")
    assert report.attributes == {"job": "string", "balance": "float", "loyalty_tier": "int", "code": "string"}
    rows = store.table("customers").order_by("customer_id").execute()
    assert rows.balance.tolist() == [12.5, 7.0] and rows.code.tolist() == ["007", "120"]  # a leading zero stays
    listed = store.table("custom_attributes").execute()
    assert set(listed.column_name) == {"job", "balance", "loyalty_tier", "code"}
    # a later file keeps the stored type: a value that is not a number is refused, not changed
    later = write_csv(tmp_path / "c2.csv", "customer_id,name,balance\nC3,Cy,lots\nC4,Di,3\n")
    [again] = load_file(store, later, table="customers")
    assert again.inserted == 1 and again.rejected == 1
    reject = store.table("rejects").filter(lambda t: t.column_name == "balance").execute().iloc[0]
    assert reject.value == "lots" and "is not a number" in reject.reason


def test_an_attribute_is_typed_only_where_validation_reads_every_value(store: Store, tmp_path: Path) -> None:
    """Before: DuckDB's cast read '1_000' and '1e-400' as numbers and a nanosecond time as a time, so the
    attribute was typed so, and then validation refused every row for it."""
    path = write_csv(
        tmp_path / "c.csv",
        "customer_id,code,tiny,stamp,price,seen,big\n"
        "C1,1_000,1e-400,2024-01-01 10:00:00.1234567,1.5,2024-01-01 10:00:00,1234567890123456789\n"
        "C2,2_000,2e-400,2024-01-02,2,2024-02-01T08:30:00Z,5\n",
    )
    [report] = load_file(store, path, table="customers")
    assert report.attributes == {
        "code": "string",
        "tiny": "string",
        "stamp": "string",
        "price": "float",
        "seen": "timestamp",  # longer than 18 characters, and still a time (was text)
        "big": "string",  # 19 digits: a number would change it
    }
    assert (report.inserted, report.rejected) == (2, 0)
    rows = store.table("customers").order_by("customer_id").execute()
    assert rows.code.tolist() == ["1_000", "2_000"] and rows.tiny.tolist() == ["1e-400", "2e-400"]


def test_mapping_declares_and_drops_attributes(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "id,name,plan,secret\nC1,Ann,gold,x\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("rename: {id: customer_id}\nattributes: {plan: string}\ndrop: [secret]\n")
    [report] = load_file(store, path, table="customers", mapping=mapping)
    assert report.attributes == {"plan": "string"} and report.dropped == ["secret"]
    assert "secret" not in store.table("customers").columns


def test_a_full_form_mapping_names_the_columns_no_table_stores(store: Store, tmp_path: Path) -> None:
    """Before: a column no table of a full-form mapping used (a comment) was left out without a word."""
    mapping = write_csv(
        tmp_path / "m.yaml",
        "tables:\n  customers:\n    columns: {customer_id: Kunde}\n    attributes: {Plan: string}\n"
        "    drop: [Secret]\n",
    )
    head = "Kunde,Plan,Secret,Comment\n"
    for name, body in (("clean.csv", "C1,gold,x,hi\n"), ("refused.csv", "C2,gold,x,hi\n,gold,x,hi\n")):
        [report] = load_file(store, write_csv(tmp_path / name, head + body), mapping=mapping)
        assert report.unused == ["Comment"]  # the one pass (clean) and the general path (a row refused)
    assert "comment" not in store.table("customers").columns


def test_loading_one_table_of_a_full_form_mapping_counts_the_columns_its_other_sections_read(
    store: Store, tmp_path: Path
) -> None:
    """Before: `load customers` with a mapping whose orders section read Amount said Amount was stored by no
    table of the mapping."""
    mapping = write_csv(
        tmp_path / "m.yaml",
        "tables:\n  customers:\n    columns: {customer_id: Kunde}\n"
        "  orders:\n    columns: {order_id: Nr, customer_id: Kunde, product_id: Artikel, ordered_at: Datum, "
        "amount: Amount}\n",
    )
    head = "Nr,Kunde,Artikel,Datum,Amount,Comment\n"
    for name, body in (
        ("clean.csv", "O1,C1,P1,2024-01-01,5,hi\n"),
        ("refused.csv", "O1,C1,P1,2024-01-01,5,hi\n,,,,,\n"),
    ):
        [report] = load_file(store, write_csv(tmp_path / name, head + body), table="customers", mapping=mapping)
        assert report.unused == ["Comment"]  # the one pass (clean) and the general path (a row refused)


def test_order_lines_without_a_line_column_are_numbered_within_the_order(store: Store, tmp_path: Path) -> None:
    """Before: every second line of an order was rejected as superseded."""
    path = write_csv(
        tmp_path / "o.csv",
        "Invoice,customer_id,product_id,ordered_at,amount\n"
        "I1,C1,P1,2024-01-01,5\nI1,C1,P2,2024-01-01,6\nI2,C1,P1,2024-01-02,5\n",
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text("rename: {Invoice: order_id}\n")
    [report] = load_file(store, path, table="orders", mapping=mapping)
    assert report.inserted == 3 and report.rejected == 0
    lines = store.table("orders").order_by(["order_id", "line"]).execute()
    assert lines.line.tolist() == [1, 2, 1]
    plain = write_csv(
        tmp_path / "orders.csv",
        "order_id,customer_id,product_id,ordered_at,amount\nI9,C1,P1,2024-01-01,5\nI9,C1,P2,2024-01-01,6\n",
    )
    [report] = load_file(store, plain, table="orders")
    assert report.inserted == 2 and report.rejected == 0


def test_extra_columns_of_other_tables_are_named_not_dropped_silently(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reps.csv", "rep_id,name,desk\nR1,Ann,4\n")
    [report] = load_file(store, path, table="reps")
    assert report.ignored == ["desk"]


def test_reload_with_fewer_columns_keeps_the_others(store: Store, tmp_path: Path) -> None:
    """On every engine: the second file updates e-mail only; name, country and the attribute stay."""
    first = write_csv(tmp_path / "first.csv", "customer_id,name,country,loyalty_tier\nC1,Ann,DE,gold\nC2,Bo,FR,x\n")
    second = write_csv(tmp_path / "second.csv", "customer_id,email\nC1,ann@x.de\nC3,cy@x.it\n")
    load_file(store, first, table="customers")
    [report] = load_file(store, second, table="customers")
    assert (report.inserted, report.updated) == (1, 1)
    rows = store.table("customers").order_by("customer_id").execute().set_index("customer_id")
    assert (rows.loc["C1", "name"], rows.loc["C1", "country"], rows.loc["C1", "loyalty_tier"]) == ("Ann", "DE", "gold")
    assert rows.loc["C1", "email"] == "ann@x.de" and rows.loc["C2", "name"] == "Bo"


def test_latin1_files_become_the_same_utf8_as_pythons_codec() -> None:
    """The fast Latin-1 transcoding (a replace per distinct accented byte) against Python's own codec, on
    every byte and on random files with few or many accented bytes, including those whose UTF-8 form is
    made of bytes another replacement would rewrite (C2, C3, 80-BF)."""
    import random

    from salesintel.ingest.read import latin1_to_utf8

    every = bytes(range(256))
    assert latin1_to_utf8(every) == every.decode("latin-1").encode("utf-8")
    rng = random.Random(7)
    for _ in range(3000):
        accented = rng.sample(range(0x80, 0x100), rng.randint(0, 6)) + rng.sample([0xC2, 0xC3, 0x83, 0xA3], 2)
        pool = list(range(0x80)) + accented[: rng.randint(0, len(accented))]
        data = bytes(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        assert latin1_to_utf8(data) == data.decode("latin-1").encode("utf-8"), data


@pytest.mark.parametrize("pieces", [False, True], ids=["whole", "in-pieces"])
def test_a_load_keeps_no_arrow_data_of_its_file(tmp_path: Path, monkeypatch, pieces: bool) -> None:
    """A file's records are let go once its load is done: Ibis keeps every Arrow table it is given on the
    DuckDB connection until the process exits, so a large file read in pieces held all of them (a 100M-line
    load was killed at 24 GiB) and a process loading many files held every file."""
    from salesintel.ingest import read
    from salesintel.store.staging import registered_arrow

    if pieces:
        monkeypatch.setattr(read, "CHUNK_BYTES", 64)
    lines = "".join(f"C{i},Name {i},2024-01-0{1 + i % 9}\n" for i in range(40))
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name,created_at\n" + lines + "C99,Bad,not a date\n")  # the general path
    store = Store.open(str(tmp_path / "x.duckdb"))
    [report] = load_file(store, path, table="customers")
    assert (report.inserted, report.rejected, store.count("customers")) == (40, 1, 40)
    assert registered_arrow(store.con) == []
