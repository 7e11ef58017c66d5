"""Export and erase one person everywhere: a small demo company loaded through ingestion on every engine,
every analysis run and win-back tasks created, then one customer erased and every table of the store
searched (all columns as text, system and result tables of every run included) for their id, name,
e-mail and phone."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from conftest import ENGINES, engine_url, postgres_service

from salesintel import schema
from salesintel.analyses import runner
from salesintel.demo import load_order, write_demo
from salesintel.ingest import load_file
from salesintel.models.storage import load_model
from salesintel.privacy import MODELS_NOTE, person_erase, person_export
from salesintel.store import Store
from salesintel.tasks import assign_winback

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("privacy-demo")
    write_demo(directory, customers=300, seed=11)
    return directory


def _load(store: Store, files: Path) -> None:
    for name in load_order():
        load_file(store, files / f"{name}.csv", table=name)


def _person(store: Store) -> dict:
    """A customer on the win-back list with orders, communications and a unique name, e-mail and phone."""
    tasks = store.table("tasks").customer_id.execute()
    c = store.table("customers").execute()
    unique = c[~c.name.duplicated(keep=False) & ~c.phone.duplicated(keep=False) & c.customer_id.isin(tasks)]
    reps = set(store.table("reps").name.execute())
    comms = set(store.table("communications").customer_id.execute())
    row = unique[unique.customer_id.isin(comms) & ~unique.name.isin(reps)].sort_values("customer_id").iloc[0]
    return {k: row[k] for k in ("customer_id", "name", "email", "phone")}


def _plant_rejects(store: Store, person: dict, tmp_path: Path) -> None:
    """Refused rows that carry the person's data: a customer row with a bad birth year, an order line
    with a bad amount, and a message of someone known only by e-mail."""
    bad = tmp_path / "customers_fix.csv"
    bad.write_text(
        "customer_id,name,email,phone,birth_year\n"
        f"{person['customer_id']},{person['name']},{person['email']},{person['phone']},nineteen\n"
        "CU999998,Someone Else,someone@else.example,+1 555 0100,1980\n"
    )
    load_file(store, bad, table="customers")
    orders = tmp_path / "orders_fix.csv"
    orders.write_text(
        "order_id,line,customer_id,product_id,ordered_at,amount\n"
        f"X1,1,{person['customer_id']},P1,2025-01-02,twelve\nX2,1,CU999999,P1,2025-01-02,5\n"
    )
    load_file(store, orders, table="orders")


def _build_company(store: Store, demo_files: Path, tmp_path: Path) -> dict:
    """The demo loaded, every analysis run, win-back tasks created and rejects planted; the person to erase."""
    _load(store, demo_files)
    records = runner.run_all(store)
    assert all(r.status in ("ok", "fallback", "skipped") for r in records), [(r.analysis, r.note) for r in records]
    assign_winback(store)
    person = _person(store)
    _plant_rejects(store, person, tmp_path)
    return person


@pytest.fixture(scope="module", params=ENGINES)
def built_company(request, demo_files: Path, tmp_path_factory) -> tuple[str, str, dict]:
    """The company built once per engine and closed: (engine, where it is, the person). Each test erases
    from its own copy (:func:`company`), so building it (8-11 s) is not repeated for every test."""
    folder = tmp_path_factory.mktemp(f"privacy-{request.param}")
    url = engine_url(request.param, folder, request)
    with Store.open(url) as store:
        person = _build_company(store, demo_files, folder)
    return request.param, url, person


@pytest.fixture
def company(built_company, demo_files: Path, request, tmp_path: Path) -> tuple[Store, dict]:
    """A copy of the built company, the whole database: a DuckDB file copied, a PostgreSQL database made
    from it as a template; on Spark, built again."""
    engine, url, person = built_company
    if engine == "duckdb":
        copy = str(tmp_path / "test.duckdb")
        shutil.copyfile(url, copy)
    elif engine == "postgres":
        server = request.getfixturevalue("postgres_server")
        copy = postgres_service.create_database(server, f"t_{uuid.uuid4().hex[:16]}", template=url.rsplit("/", 1)[1])
    else:
        copy = engine_url(engine, tmp_path, request)
        with Store.open(copy) as store:
            person = _build_company(store, demo_files, tmp_path)
    store = Store.open(copy)
    yield store, person
    store.close()


def _found(store: Store, needles: list[str]) -> dict[str, int]:
    """Rows per table (every table and view of the store, every column as text) containing any needle.

    Searched through a new connection: what the store keeps, not the in-memory tables (Ibis memtables) the
    test's own session still holds, which go with the process (docs/privacy.md)."""
    hits = {}
    with Store.open(store.url) as fresh:
        for name in fresh.list_tables():
            t = fresh.table(name)
            pred = ibis.literal(False)
            for col in t.columns:
                text = t[col].cast("string")
                for needle in needles:
                    pred |= text.contains(needle).fill_null(False)
            n = int(t.filter(pred).count().execute())
            if n:
                hits[name] = n
    return hits


def test_export_holds_the_persons_rows_from_every_table_as_json(company) -> None:
    store, person = company
    doc = json.loads(json.dumps(person_export(store, person["customer_id"])))
    tables, results = doc["tables"], doc["results"]
    assert tables["customers"][0]["email"] == person["email"]
    for name in ("orders", "communications", "tasks", "rejects"):
        assert tables[name], name
    assert {row["customer_id"] for name in ("orders", "tasks") for row in tables[name]} == {person["customer_id"]}
    assert all(person["customer_id"] in (r["record"] or "") for r in tables["rejects"])
    assert "result_decline_customers" in results and "result_profiles_profiles" in results
    assert all(row["run_id"] for rows in results.values() for row in rows)
    assert doc["models"]["note"] == MODELS_NOTE and doc["models"]["kept"]


def test_erase_leaves_nothing_about_the_person_anywhere(company) -> None:
    store, person = company
    needles = [person[k] for k in ("customer_id", "name", "email", "phone")]
    before = _found(store, needles)
    assert {"customers", "orders", "tasks", "rejects", "result_decline_customers"} <= set(before)
    report = person_erase(store, person["customer_id"], by="dpo")
    assert report.customers == 1 and report.rows_removed["customers"] == 1
    assert _found(store, needles) == {}
    assert store.count("customers") > 250  # everyone else is still there


def test_the_audit_row_holds_counts_not_the_person(company) -> None:
    store, person = company
    report = person_erase(store, person["customer_id"], by="dpo")
    audit = store.table("erasures").execute()
    assert len(audit) == 1
    row = audit.iloc[0]
    assert row.erasure_id == report.erasure_id and row.erased_by == "dpo" and row.key_kind == "customer_id"
    assert json.loads(row.rows_removed) == report.rows_removed
    text = " ".join(str(v) for v in row.tolist())
    assert not any(person[k] in text for k in ("customer_id", "name", "email", "phone"))


def test_erase_by_email_reaches_the_customer_and_messages_carrying_the_address(company) -> None:
    store, person = company
    address = "only.by.mail@elsewhere.example"
    msgs = store.table("communications").limit(1).to_pyarrow().to_pandas()
    msgs["message_id"], msgs["customer_id"] = "MSG-EMAIL", None
    msgs["text"] = f"Please stop writing to {address.upper()}"
    store.append("communications", pa.Table.from_pandas(msgs, preserve_index=False))
    report = person_erase(store, email=address)
    assert report.customers == 0 and report.rows_removed == {"communications": 1}
    report = person_erase(store, email=person["email"].upper())
    assert report.customers == 1 and report.rows_removed["orders"] > 0
    assert _found(store, [person["customer_id"], person["email"], address]) == {}
    assert store.table("erasures").key_kind.execute().tolist() == ["email", "email"]


def test_models_fitted_on_the_persons_data_are_stale_and_refitted(company, monkeypatch) -> None:
    from salesintel.analyses import clv, decline

    store, person = company
    as_of = runner.run(store, "clv").record.as_of
    fingerprint = clv.training_fingerprint(store.table("orders"), as_of=as_of)
    assert load_model(store, "bgnbd.weeks", as_of=as_of, fingerprint=fingerprint) is not None
    report = person_erase(store, person["customer_id"])
    assert report.models_stale >= 1
    assert load_model(store, "bgnbd.weeks", as_of=as_of, fingerprint=fingerprint) is None  # stale: never reused
    assert load_model(store, "bgnbd.weeks", as_of=as_of) is None
    fits = []
    real = decline.fit_purchases
    monkeypatch.setattr(decline, "fit_purchases", lambda *a, **k: fits.append(1) or real(*a, **k))
    assert runner.run(store, "decline", as_of=as_of).record.status == "ok"
    assert fits == [1]
    runner.run(store, "clv", as_of=as_of)
    assert load_model(store, "bgnbd.weeks", as_of=as_of) is not None  # refitted without the person


def test_every_table_naming_a_customer_declares_its_person_key() -> None:
    for table in schema.TABLES.values():
        names = [c.name for c in table.columns if c.name == "customer_id" or c.references == "customers.customer_id"]
        assert table.person_key == (names[0] if names else None), table.name
        assert all(col in table.names for col in table.person_text), table.name


def test_cli_exports_and_erases_a_person(demo_files, tmp_path) -> None:
    db = tmp_path / "cli.duckdb"
    with Store.open(str(db)) as store:
        _load(store, demo_files)
        runner.run(store, "profiles")
        customer = store.table("customers").customer_id.min().execute()
    exe = str(ROOT / ".venv" / "bin" / "salesintel")
    out = tmp_path / "person.json"
    subprocess.run([exe, "person", "export", customer, "--db", str(db), "-o", str(out)], check=True)
    doc = json.loads(out.read_text())
    assert doc["tables"]["customers"][0]["customer_id"] == customer and doc["results"]["result_profiles_profiles"]
    shown = subprocess.run([exe, "person", "export", customer, "--db", str(db)], check=True, capture_output=True)
    assert json.loads(shown.stdout)["person"] == {"customer_id": customer}
    refused = subprocess.run(
        [exe, "person", "erase", customer, "--db", str(db)], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert refused.returncode == 2 and "--yes" in refused.stderr
    erased = subprocess.run(
        [exe, "person", "erase", customer, "--db", str(db), "--yes", "--by", "dpo"], capture_output=True, text=True
    )
    assert erased.returncode == 0, erased.stderr
    assert "customers: 1 rows removed" in erased.stderr
    again = subprocess.run([exe, "person", "export", customer, "--db", str(db)], capture_output=True, text=True)
    assert again.returncode == 2 and "holds nothing about" in again.stderr and again.stdout == ""


def test_a_person_is_named_by_id_or_email_not_both(tmp_path) -> None:
    from salesintel.errors import UserInputError

    store = Store.open(str(tmp_path / "e.duckdb"))
    with pytest.raises(UserInputError, match="one of the two"):
        person_erase(store, "CU1", email="a@b.example")
    with pytest.raises(UserInputError, match="not an e-mail"):
        person_export(store, email="nobody")
    store.close()


def test_erase_finds_the_id_as_a_word_and_the_phone_and_name_in_free_text(store: Store, tmp_path: Path) -> None:
    """A call note of another customer saying "customer C1 called" and a web form with C1's phone and name
    are about C1; a note about C12 is not."""
    from datetime import datetime

    at = datetime(2024, 5, 1, 10)
    store.append(
        "customers",
        pa.table(
            {
                "customer_id": ["C1", "C12"],
                "name": ["Ann Lee", "Bo"],
                "phone": ["+49 30 111", "+49 30 222"],
                "email": ["ann@x.de", "bo@x.de"],
            }
        ),
    )
    store.append(
        "communications",
        pa.table(
            {
                "message_id": ["m1", "m2", "m3"],
                "customer_id": ["C12", "C12", None],
                "occurred_at": [at] * 3,
                "channel": ["phone"] * 3,
                "text": ["customer C1 called", "about C12 only", "ring +49 30 111 back"],
            }
        ),
    )
    store.append(
        "touchpoints",
        pa.table(
            {
                "event_id": ["e1", "e2"],
                "occurred_at": [at] * 2,
                "type": ["form", "form"],
                "anonymous_id": ["a1", "a2"],
                "properties": ['{"phone": "+49 30 111", "name": "Ann Lee"}', '{"name": "Bo"}'],
            }
        ),
    )
    report = person_erase(store, "C1", by="test")
    assert sorted(store.table("communications").message_id.execute()) == ["m2"]
    assert sorted(store.table("touchpoints").event_id.execute()) == ["e2"]
    assert sorted(store.table("customers").customer_id.execute()) == ["C12"]
    assert report.rows_removed == {"communications": 2, "customers": 1, "touchpoints": 1}


def test_erasing_nobody_is_refused_and_leaves_no_receipt(store: Store) -> None:
    from salesintel.errors import NotFound

    store.append("customers", pa.table({"customer_id": ["C1"], "name": ["Ann Lee"]}))
    with pytest.raises(NotFound, match="holds nothing about customer C9"):
        person_erase(store, "C9", by="test")
    with pytest.raises(NotFound):
        person_export(store, email="nobody@nowhere.example")
    assert store.count("erasures") == 0 and store.count("customers") == 1


def test_declining_the_prompt_erases_nothing_in_one_sentence(tmp_path: Path) -> None:
    """At a terminal, answering no: one sentence, exit 2, no 'Aborted!'."""
    db = tmp_path / "p.duckdb"
    with Store.open(str(db)) as s:
        s.append("customers", pa.table({"customer_id": ["C1"], "name": ["Ann Lee"]}))
    cmd = f"{ROOT / '.venv' / 'bin' / 'salesintel'} person erase C1 --db {db}"
    out = subprocess.run(["script", "-qec", cmd, "/dev/null"], input="n\n", capture_output=True, text=True)
    assert out.returncode == 2 and "Aborted" not in out.stdout, out.stdout
    assert "nothing about C1 was erased" in out.stdout
    with Store.open(str(db)) as s:
        assert s.count("customers") == 1
