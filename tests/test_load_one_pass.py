"""The one-pass load (a clean first load of a plain CSV file, straight from DuckDB's reader into the table)
against the general path: for every file, both give the same stored rows, the same rejects, the same
report, or the same refusal. The general path is the oracle; the one pass may only be faster."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import DATA

from salesintel.errors import SalesIntelError
from salesintel.ingest import load as load_module
from salesintel.ingest import load_file
from salesintel.ingest.read import SourceOptions
from salesintel.store import Store

BROKEN = DATA / "broken"
ORDERS_HEADER = "order_id,line,customer_id,product_id,ordered_at,quantity,amount,channel\n"
CUSTOMERS_HEADER = "customer_id,name,country,segment\n"

#: (name, table, bytes) - the shapes where DuckDB's reader and ours could part ways
CASES = [
    ("clean", "orders", ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web\nO1,2,C2,P2,2024-01-03 10:00:00,2,3,store\n"),
    ("no last newline", "orders", ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web"),
    ("crlf", "orders", (ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web\n").replace("\n", "\r\n")),
    (
        "bare carriage return",
        "orders",
        ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web\rO2,1,C1,P1,2024-01-02,1,2,web\n",
    ),
    ("byte-order mark", "orders", "\ufeff" + ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web\n"),
    ("blank line", "orders", ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web\n\nO2,1,C1,P1,2024-01-02,1,2,web\n"),
    ("trailing blank lines", "orders", ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web\n\n\n"),
    ("newline in a quoted value", "customers", CUSTOMERS_HEADER + 'C1,"Ann\nSmith",DE,b2b\nC2,Bo,FR,b2c\n'),
    ("quoted quotes", "customers", CUSTOMERS_HEADER + 'C1,"Ann ""the"" baker",DE,b2b\n'),
    ("quote inside a value", "customers", CUSTOMERS_HEADER + 'C1,Ann "A" Smith,DE,b2b\n'),
    ("text after a closing quote", "customers", CUSTOMERS_HEADER + 'C1,"Ann"x,DE,b2b\nC2,Bo,FR,b2c\n'),
    ("unclosed quote", "customers", CUSTOMERS_HEADER + 'C1,"Ann,DE,b2b\nC2,Bo,FR,b2c\n'),
    ("too many fields", "customers", CUSTOMERS_HEADER + "C1,Ann,DE,b2b,x\nC2,Bo,FR,b2c\n"),
    ("too few fields", "customers", CUSTOMERS_HEADER + "C1,Ann,DE\nC2,Bo,FR,b2c\n"),
    ("empty and quoted empty", "customers", CUSTOMERS_HEADER + 'C1,,DE,b2b\nC2,"",FR,b2c\n'),
    (
        "blanks only",
        "customers",
        CUSTOMERS_HEADER + "C1, ,DE,b2b\nC2,\t,FR,b2c\nC3,\u00a0\u3000,FR,b2c\nC4, x ,FR,b2c\n",
    ),
    ("blank key", "customers", CUSTOMERS_HEADER + "C1,Ann,DE,b2b\n \u2003 ,Bo,FR,b2c\n"),
    ("key with blanks around", "customers", CUSTOMERS_HEADER + " C1 ,Ann,DE,b2b\n"),
    ("key twice", "customers", CUSTOMERS_HEADER + "C1,Ann,DE,b2b\nC1,Bo,FR,b2c\n"),
    ("key twice after trimming", "customers", CUSTOMERS_HEADER + "C1,Ann,DE,b2b\n C1,Bo,FR,b2c\n"),
    ("bad value", "orders", ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,twelve,web\nO2,1,C1,P1,2024-01-02,1,2,web\n"),
    ("every row bad", "orders", ORDERS_HEADER + "O1,1,C1,P1,never,1,2,web\n"),
    (
        "offsets",
        "orders",
        ORDERS_HEADER + "O1,1,C1,P1,2024-01-02T10:00:00+02:00,1,2,web\nO2,1,C1,P1,2024-01-02T10:00Z,1,2,web\n",
    ),
    ("unknown channel", "orders", ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,2,fax\n"),
    ("channel in capitals", "orders", ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,2, WEB \n"),
    (
        "no line column",
        "orders",
        "order_id,customer_id,product_id,ordered_at,amount\nO1,C1,P1,2024-01-02,2\nO1,C1,P2,2024-01-02,3\n",
    ),
    ("custom attributes", "customers", "customer_id,name,job,balance\nC1,Ann,baker,12.5\nC2,Bo,,x\n"),
    (
        "missing optional values",
        "orders",
        ORDERS_HEADER + "O1,,C1,P1,2024-01-02,,9.5,\nO2,1,C1,P1,2024-01-02,2,3,web\n",
    ),
    ("header only", "customers", CUSTOMERS_HEADER),
    ("not utf-8", "customers", CUSTOMERS_HEADER.encode() + b"C1,Ann\xff,DE,b2b\n"),
    ("NUL byte", "customers", CUSTOMERS_HEADER.encode() + b"C1,Ann\x00,DE,b2b\n"),
    ("unicode", "customers", CUSTOMERS_HEADER + "C1,Zoë Ørsted 李,DE,b2b\n"),
    ("tabs.tsv", "customers", 'customer_id\tname\tcountry\nC1\tAnn, A\tDE\nC2\t"Bo\tB"\tFR\n'),
    # the edges the one pass tests per value (space, tab) and those the file's bytes rule out
    ("key ends in a tab", "orders", ORDERS_HEADER + "O1\t,1,C1,P1,2024-01-02,1,9.5,web\n"),
    ("time ends in a tab", "orders", ORDERS_HEADER + "O1,1,C1,P1,2024-01-02\t,1,9.5,web\n"),
    ("key ends in a vertical tab", "orders", ORDERS_HEADER + "O1\x0b,1,C1,P1,2024-01-02,1,9.5,web\n"),
    ("reference ends in a form feed", "orders", ORDERS_HEADER + "O1,1,C1\x0c,P1,2024-01-02,1,9.5,web\n"),
    ("form feed inside a text", "customers", CUSTOMERS_HEADER + "C1,Ann\x0cB,DE,b2b\n"),
    ("quoted key ends in a tab.tsv", "customers", 'customer_id\tname\tcountry\n"C1\t"\tAnn\tDE\n'),
    ("key ends in a no-break space", "orders", ORDERS_HEADER + "O1\u00a0,1,C1,P1,2024-01-02,1,9.5,web\n"),
    # blanks only, one value a file (any refused row sends the whole file to the general path): typed
    # columns refuse them by their parse, keys by the edge test or the Unicode test, text needs its own
    *[
        (f"blank {what} {blank!r}", "orders", ORDERS_HEADER + row.format(blank) + "\n")
        for what, row in [
            ("key", "{},1,C1,P1,2024-01-02,1,9.5,web"),
            ("reference", "O1,1,{},P1,2024-01-02,1,9.5,web"),
            ("line", "O1,{},C1,P1,2024-01-02,1,9.5,web"),
            ("quantity", "O1,1,C1,P1,2024-01-02,{},9.5,web"),
            ("time", "O1,1,C1,P1,{},1,9.5,web"),
            ("channel", "O1,1,C1,P1,2024-01-02,1,9.5,{}"),
        ]
        for blank in (" ", "\t", "\u2003", "\u3000\u00a0", "\x1c")
    ],
    ("blank status", "customers", "customer_id,status\nC1,\u00a0\n"),
    ("blank note", "customers", "customer_id,note\nC1,\u00a0\n"),
    # shapes of times and numbers the engine's casts read and the checks refuse, one a file
    *[
        (f"time {t!r}", "orders", ORDERS_HEADER + f"O1,1,C1,P1,{t},1,2,web\n")
        for t in [
            "2024-1-02",
            "202-01-02",
            "-202-01-02",
            "+2024-01-02",
            "2024-01-2 10:00",
            "2024/01/02",
            "infinity",
            "2024-01-02x",
            "２０２４-01-02",
            "2024-01-02 10:00:00.1234567",
            "20240102",
            "2024-01-02T10:00:00+02:00",
            "2024-01-02 10:00:00Z",
        ]
    ],
    *[
        (f"number {q!r} {a!r}", "orders", ORDERS_HEADER + f"O1,1,C1,P1,2024-01-02,{q},{a},web\n")
        for q, a in [
            ("inf", "1"),
            ("1", "-inf"),
            ("nan", "1"),
            ("1", "NaN"),
            ("1_000", "1"),
            ("1", "1e-400"),
            ("0e5", "1"),
            ("1", "1e3"),
            ("1", " 2.5 "),
            ("0x10", "1"),
            ("1", "Infinity"),
            ("1", "1.0"),
        ]
    ],
    *[
        (f"line {n!r}", "orders", ORDERS_HEADER + f"O1,{n},C1,P1,2024-01-02,1,2,web\n")
        for n in ["1.0", " 2 ", "+3", "1.5"]
    ],
]


def _broken_cases() -> list[tuple[str, str, bytes]]:
    """The shared broken-input files that read with default options, each for its table."""
    cases = json.loads((BROKEN / "cases.json").read_text())
    out = []
    for case in cases:
        path = BROKEN / "files" / case["file"]
        if not case["args"] and path.suffix in (".csv", ".tsv") and path.exists():
            out.append((f"broken/{case['file']}", case["table"], path.read_bytes()))
    return out


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    """An empty store's file, copied for each load: opening a copy takes half the time of creating one,
    and this module loads some 400 files."""
    path = tmp_path_factory.mktemp("template") / "empty.duckdb"
    Store.open(str(path)).close()
    return path


def _outcome(
    tmp_path: Path, name: str, table: str, data: bytes, one_pass: bool, monkeypatch, empty: Path | None = None
) -> dict:
    """What loading ``data`` does: the stored rows, the rejects and the report, or the refusal."""
    monkeypatch.setattr(load_module, "ONE_PASS", one_pass)
    folder = tmp_path / ("one" if one_pass else "general")
    folder.mkdir(exist_ok=True)
    suffix = ".tsv" if name.endswith(".tsv") else ".csv"
    path = folder / f"{table}{suffix}"
    path.write_bytes(data)
    if empty is not None:
        shutil.copy(empty, folder / "store.duckdb")
    store = Store.open(str(folder / "store.duckdb"))
    try:
        try:
            [report] = load_file(store, path, table=table)
        except SalesIntelError as exc:
            return {"refused": type(exc).__name__, "message": str(exc), "rejects": _rejects(store)}
        rows = store.table(table).to_pyarrow()
        return {
            "rows": sorted(rows.to_pylist(), key=repr),
            "columns": rows.column_names,
            "rejects": _rejects(store),
            "report": {**report.as_row(), "attributes": report.attributes, "ignored": report.ignored},
            "one_pass": report.one_pass,
        }
    finally:
        store.close()


def _rejects(store: Store) -> list[tuple]:
    rows = store.table("rejects").to_pyarrow().to_pylist()
    return sorted((r["line"], r["column_name"], r["value"], r["reason"], r["record"], r["row_key"]) for r in rows)


@pytest.mark.parametrize("name,table,text", CASES + _broken_cases(), ids=lambda x: x if isinstance(x, str) else "")
def test_one_pass_and_general_path_agree(
    tmp_path: Path, monkeypatch, empty_store: Path, name: str, table: str, text
) -> None:
    data = text.encode() if isinstance(text, str) else text
    general = _outcome(tmp_path, name, table, data, False, monkeypatch, empty_store)
    one = _outcome(tmp_path, name, table, data, True, monkeypatch, empty_store)
    assert general.pop("one_pass", False) is False
    took_one_pass = one.pop("one_pass", False)
    assert one == general
    if took_one_pass:  # only a file with nothing to refuse may take it
        assert not general["rejects"] and general["report"]["rejected"] == 0


def test_a_clean_first_load_takes_one_pass_and_a_second_does_not(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web\nO1,2,C2,P2,2024-01-03,2,3,store\n")
    store = Store.open(str(tmp_path / "s.duckdb"))
    [first] = load_file(store, path, table="orders")
    assert first.one_pass and first.inserted == 2 and first.orphans == {"customer_id": 2, "product_id": 2}
    [again] = load_file(store, path, table="orders")  # the table holds rows: compare and upsert
    assert not again.one_pass and again.unchanged == 2
    loads = store.table("loads").to_pyarrow().to_pylist()
    assert [r["content_sha256"] for r in loads][0] == [r["content_sha256"] for r in loads][1]


def test_a_second_file_of_the_same_shape_reuses_the_compiled_load_and_stores_its_own_rows(
    tmp_path: Path, monkeypatch
) -> None:
    from collections import OrderedDict

    import salesintel.store.duckdb as duckdb_store

    monkeypatch.setattr(duckdb_store, "_COMPILED", OrderedDict())  # as in a new process
    built, build = [], load_module.v.valid_rows
    monkeypatch.setattr(load_module.v, "valid_rows", lambda *a, **k: built.append(1) or build(*a, **k))
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,9.5,web\n")
    second.write_text(ORDERS_HEADER + "O7,1,C9,P4,2025-05-06 07:08:09,3,1.25,store\nO7,2,C9,P5,2025-05-07,1,2,phone\n")
    rows = []
    for i, path in enumerate((first, second)):
        store = Store.open(str(tmp_path / f"s{i}.duckdb"))
        [report] = load_file(store, path, table="orders")
        assert report.one_pass
        rows.append(store.table("orders").order_by("line").to_pyarrow().select(["order_id", "amount", "channel"]))
        store.close()
    assert len(built) == 1  # the second file's statement was compiled for the first
    assert rows[1].to_pylist() == [
        {"order_id": "O7", "amount": 1.25, "channel": "store"},
        {"order_id": "O7", "amount": 2.0, "channel": "phone"},
    ]


def test_missing_optional_values_take_the_one_pass_with_their_defaults(tmp_path: Path) -> None:
    """The one pass stops on a true test only: a test that is null because a value is missing (an empty
    line, quantity or channel) refuses nothing, as in the general path, which stores the defaults."""
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_HEADER + "O1,,C1,P1,2024-01-02,,9.5,\n")
    store = Store.open(str(tmp_path / "s.duckdb"))
    [report] = load_file(store, path, table="orders")
    assert report.one_pass and report.inserted == 1
    [row] = store.table("orders").to_pyarrow().to_pylist()
    assert (row["line"], row["quantity"], row["channel"]) == (1, 1.0, None)
    store.close()


@pytest.mark.parametrize(
    "lines, scans",
    [
        # a row to refuse stops the insert before the scan of the bytes starts: the general path hashes
        ("O1,1,C1,P1,2024-01-02,1,twelve,web\nO2,1,C1,P1,2024-01-02,1,2,web\n", 0),
        # a repeated key is found after the insert, while the scan runs: the general path takes its hash
        ("O1,1,C1,P1,2024-01-02,1,12,web\nO1,1,C1,P1,2024-01-02,1,2,web\n", 1),
    ],
)
def test_a_file_the_one_pass_gives_up_on_is_hashed_once(tmp_path: Path, monkeypatch, lines, scans) -> None:
    """Whether the one pass gives up before or after its scan of the file's bytes, the file is hashed once:
    the general path that loads it takes the scan's hash when there is one instead of reading it again."""
    import hashlib
    from collections import OrderedDict

    from salesintel.ingest.read import PlainCsv

    monkeypatch.setattr(load_module, "_SHA256", OrderedDict())
    hashed, scanned = [], []
    monkeypatch.setattr(load_module.rejects_, "file_sha256", lambda path: hashed.append(path) or "not used")
    scan = PlainCsv.scan
    monkeypatch.setattr(PlainCsv, "scan", lambda self: scanned.append(self.path) or scan(self))
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_HEADER + lines)
    store = Store.open(str(tmp_path / "s.duckdb"))
    [report] = load_file(store, path, table="orders")
    store.close()
    assert not report.one_pass and report.rejected == 1
    assert (len(scanned), len(hashed)) == (scans, 1 - scans)
    if scans:
        assert report.content_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_the_one_pass_leaves_to_the_general_path(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "s.duckdb"))
    bad = tmp_path / "bad.csv"
    bad.write_text(ORDERS_HEADER + "O1,1,C1,P1,2024-01-02,1,twelve,web\nO2,1,C1,P1,2024-01-02,1,2,web\n")
    [report] = load_file(store, bad, table="orders")
    assert not report.one_pass and report.inserted == 1 and report.rejected == 1
    assert store.count("orders") == 1  # the rolled-back one pass left nothing behind
    latin = tmp_path / "customers.csv"
    latin.write_bytes(CUSTOMERS_HEADER.encode() + "C1,Zoë,DE,b2b\n".encode("latin-1"))
    [report] = load_file(store, latin, table="customers", source=SourceOptions(encoding="latin-1"))
    assert not report.one_pass and report.inserted == 1


def test_the_blanks_the_one_pass_makes_missing_are_arrows() -> None:
    """The one pass turns the same values into missing ones as the general readers (Arrow's utf8_is_space)."""
    codes = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    blank = pc.utf8_is_space(pa.array([chr(c) for c in codes])).to_numpy(zero_copy_only=False)
    assert {c for c, b in zip(codes, blank) if b} == set(load_module._BLANK_CODES)


def test_keys_and_times_lose_surrounding_whitespace_of_every_kind(tmp_path: Path) -> None:
    """Line breaks and tabs around a key or a time are trimmed as spaces are (both paths share the rule)."""
    path = tmp_path / "orders.csv"
    path.write_text(
        ORDERS_HEADER + '"O1\n",1,C1,P1,"\t2024-01-02 10:00:00\r",1,9.5,web\nO2,1, C1 ,P1,2024-01-03 ,1,2,web\n'
    )
    store = Store.open(str(tmp_path / "s.duckdb"))
    [report] = load_file(store, path, table="orders")
    assert report.rejected == 0
    rows = store.table("orders").order_by("order_id").to_pyarrow().to_pylist()
    assert [(r["order_id"], r["customer_id"], str(r["ordered_at"])) for r in rows] == [
        ("O1", "C1", "2024-01-02 10:00:00"),
        ("O2", "C1", "2024-01-03 00:00:00"),
    ]


@pytest.mark.parametrize(
    "spec,value",
    [
        ("{concat: [a, b], separator: '-'}", "\t"),
        ("{column: a, values: {' ': C9}}", " "),
        ("{column: a, default: C9}", "\u00a0"),
        ("a\n      city: {concat: [a, n]}", "\u2003"),
    ],
)
def test_a_blank_only_value_a_mapping_transforms_is_made_missing_first(
    tmp_path: Path, monkeypatch, spec: str, value: str
) -> None:
    """The one pass skips the blank test of a column only where the target's own checks refuse a blank-only
    value; a value the mapping concatenates or looks up is tested as before (the general path is the oracle)."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(f"tables:\n  customers:\n    columns:\n      customer_id: {spec}\n      name: n\n")
    outcomes = []
    for one_pass in (False, True):
        monkeypatch.setattr(load_module, "ONE_PASS", one_pass)
        folder = tmp_path / str(one_pass)
        folder.mkdir()
        path = folder / "c.csv"
        path.write_text(f"a,b,n\nC1,x,Ann\n{value},y,Bo\n")
        store = Store.open(str(folder / "s.duckdb"))
        [report] = load_file(store, path, mapping=mapping)
        outcomes.append((sorted(store.table("customers").to_pyarrow().to_pylist(), key=repr), _rejects(store)))
        store.close()
    assert outcomes[0] == outcomes[1]
