"""Merge tables checked once per distinct row of values (``load.DISTINCT_MERGE``) against checking every
line: for every file, both store the same rows, write the same rejects and report the same counts. Checking
every line is the oracle; the distinct rows may only be faster."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import DATA, ROOT, engine_url

from salesintel.ingest import load as load_module
from salesintel.ingest import load_file
from salesintel.store import Store

MAPPING = """
tables:
  products:
    repeated_keys: merge
    columns:
      product_id: Stock
      name: {column: Name, default: "(no name)"}
      price: Price
  customers:
    repeated_keys: merge
    columns: {customer_id: Customer, country: Country, status: Status}
  orders:
    columns:
      order_id: Invoice
      line: {sequence_within: [Invoice]}
      customer_id: Customer
      product_id: Stock
      ordered_at: Day
      amount: Price
"""

#: values that pass, values that are refused, blanks, whitespace a key loses, text that only differs in case
STOCK = ["P1", "P2", " P1", "P1 ", "P3", "", "  ", "p1"]
NAME = ["Mug", "Mug ", "Cup", "", "\u00a0", "Tea, green", '"quoted"']
PRICE = ["1.5", "2", "x", "", "1_0", "inf", "0.00", "1e-400", " 3 "]
CUSTOMER = ["C1", "C2", "", " C1", "C3"]
COUNTRY = ["DE", "FR", "", "UK"]
STATUS = ["customer", "Prospect", "", "lead", " customer "]


def _random_file(path: Path, seed: int, lines: int = 200) -> Path:
    rng = random.Random(seed)
    out = ["Invoice,Stock,Name,Price,Customer,Country,Status,Day"]
    for i in range(lines):
        row = [f"I{i // 4}", *(rng.choice(values) for values in (STOCK, NAME, PRICE, CUSTOMER, COUNTRY, STATUS))]
        row.append(rng.choice(["2024-01-05", "2024-02-30", "2024-03-01 10:00"]))
        out.append(",".join(f'"{v}"' if "," in v or '"' in v else v for v in row).replace('"quoted"', '"""q"""'))
    path.write_text("\n".join(out) + "\n")
    return path


def _outcome(url: str, files: list[Path], mapping: Path, distinct: bool, monkeypatch) -> dict:
    monkeypatch.setattr(load_module, "DISTINCT_MERGE", distinct)
    store = Store.open(url)
    try:
        reports = []
        for path in files:  # a second file meets stored keys: the upsert path
            reports += [
                {**r.as_row(), "merged": r.merged, "attributes": r.attributes}
                for r in load_file(store, path, mapping=mapping)
            ]
        tables = {
            t: sorted(store.table(t).to_pyarrow().to_pylist(), key=repr) for t in ("products", "customers", "orders")
        }
        rejects = store.table("rejects").to_pyarrow().to_pylist()
        kept = ("table_name", "line", "column_name", "value", "reason", "record", "row_key", "closed_by")
        tables["rejects"] = sorted(
            (tuple(r[c] is not None if c == "closed_by" else r[c] for c in kept) for r in rejects), key=repr
        )
        return {"reports": reports, **tables}
    finally:
        store.close()


@pytest.mark.parametrize("seed", range(4))
def test_distinct_rows_and_every_line_agree_on_random_files(tmp_path: Path, monkeypatch, seed: int) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    files = [_random_file(tmp_path / "a.csv", seed), _random_file(tmp_path / "b.csv", seed + 100, lines=60)]
    every = _outcome(str(tmp_path / "every.duckdb"), files, mapping, False, monkeypatch)
    distinct = _outcome(str(tmp_path / "distinct.duckdb"), files, mapping, True, monkeypatch)
    assert distinct == every
    assert any(r["merged"] for r in every["reports"]) and every["rejects"]  # the cases are there
    for r in every["reports"]:  # docs/ingestion.md: every valid line beyond the one stored per key is merged
        stored = r["inserted"] + r["updated"] + r["unchanged"]
        assert r["merged"] == (r["read"] - r["rejected"] - stored if r["table"] != "orders" else 0)


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_distinct_rows_and_every_line_agree_on_online_retail(tmp_path: Path, monkeypatch, request, engine) -> None:
    mapping = ROOT / "examples" / "online_retail.yaml"
    files = [DATA / "online_retail_sample.csv"]
    outcomes = [
        _outcome(engine_url(engine, tmp_path / str(distinct), request), files, mapping, distinct, monkeypatch)
        for distinct in (False, True)
        if (tmp_path / str(distinct)).mkdir() is None
    ]
    assert outcomes[1] == outcomes[0]
    assert {r["table"]: r["merged"] for r in outcomes[0]["reports"]}["customers"] == 5
