"""Export or erase everything salesintel holds about one person, driven by the declarations.

Where a person's data lives is never listed here: every table in :mod:`salesintel.schema` names its
``person_key`` (the column saying whose row it is) and its ``person_text`` (free-text columns that may carry
anyone's data), and every declared analysis output names its ``person_key``. So a new table or analysis is
reached by export and erasure the moment it is declared. See docs/privacy.md.

A person is named by customer id or by e-mail address. Erasure removes, in one transaction and with one
engine-side DELETE per table:

- the rows of every table with a person key (customers, orders, touch-points, communications, ... tasks);
- the rows of every kept run of every result table whose output has a person key (older result tables
  renamed aside, ``result_*__vN``, included);
- rows whose free text mentions the person: the id as a whole JSON value, the e-mail address, and in
  system tables (rejects) also the phone number and the name;

marks the kept models fitted on a table the person had rows in as stale (the next run refits), and records
the erasure in ``erasures`` with counts only, never who.

Example:
    >>> import pyarrow as pa
    >>> from salesintel.store import Store
    >>> store = Store.open(":memory:")
    >>> store.append("customers", pa.table({"customer_id": ["c1"], "name": ["Ann"], "email": ["ann@x.example"]}))
    >>> person_export(store, "c1")["tables"]["customers"][0]["name"]
    'Ann'
    >>> person_erase(store, email="ANN@x.example", by="dpo").rows_removed
    {'customers': 1}
    >>> store.count("customers"), store.count("erasures")
    (0, 1)
"""

from __future__ import annotations

import getpass
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from salesintel import schema
from salesintel.analyses import registry
from salesintel.errors import NotFound, UserInputError
from salesintel.lazy import lazy
from salesintel.store import Store, now_utc

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")

__all__ = ["ErasureReport", "MODELS_NOTE", "person_erase", "person_export", "person_tables"]

MODELS_NOTE = (
    "Kept models (table models) hold population parameters and aggregate fingerprints of their training data "
    "(row counts, revenue sums), not per-person features; nothing in them is about one person. Models fitted "
    "on data that included an erased person are marked stale and refitted by the next run."
)


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure did: counts per table, never the erased values."""

    erasure_id: str
    key_kind: str  # customer_id or email
    customers: int  # customer rows the key matched
    rows_removed: dict[str, int] = field(default_factory=dict)  # only tables that lost rows
    models_stale: int = 0

    @property
    def total(self) -> int:
        return sum(self.rows_removed.values())


@dataclass(frozen=True)
class _Person:
    """What identifies the person in the store: ids, and the e-mails, phones and names on their rows."""

    ids: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Target:
    """One store table to search: its person key (or None) and its free-text columns."""

    name: str
    person_key: str | None
    text: tuple[str, ...]
    system: bool


# -- where a person's data lives -----------------------------------------------------------------------------
def person_tables(store: Store) -> list[_Target]:
    """Every store table that may hold a person's rows, from the declarations: schema tables with a person key
    or free-text columns, then every kept result table (and older versions renamed aside) of an output
    with a person key."""
    targets = [
        _Target(t.name, t.person_key, t.person_text, t.system)
        for t in schema.TABLES.values()
        if t.person_key or t.person_text
    ]
    present = store.list_tables()
    for name in registry.names():
        analysis = registry.get(name)
        for result, output in analysis.outputs.items():
            if output.person_key is None:
                continue
            base = analysis.result_table(result)
            for table in present:
                if table == base or re.fullmatch(re.escape(base) + r"__v\d+", table):
                    if output.person_key in store.table(table).columns:
                        targets.append(_Target(table, output.person_key, (), True))
    return targets


def _resolve(store: Store, customer_id: str | None, email: str | None) -> tuple[_Person, int]:
    """The person named by id or e-mail (matched without case), and how many customer rows matched."""
    if (customer_id is None) == (email is None):
        raise UserInputError("name the person by customer id or by --email, one of the two")
    c = store.table("customers")
    if customer_id is not None:
        match = c.customer_id == customer_id
    else:
        email = email.strip()
        if "@" not in email:
            raise UserInputError(f"--email {email!r} is not an e-mail address")
        match = c.email.lower() == email.lower()
    rows = c.filter(match).select("customer_id", "email", "phone", "name").execute()
    ids = {customer_id} if customer_id is not None else set()
    emails = {email.lower()} if email is not None else set()
    ids |= set(rows.customer_id.dropna())
    emails |= {e.lower() for e in rows.email.dropna() if e.strip()}
    phones = {p for p in rows.phone.dropna() if p.strip()}
    names = {n for n in rows.name.dropna() if n.strip()}
    person = _Person(*(tuple(sorted(s)) for s in (ids, emails, phones, names)))
    return person, len(rows)


# -- matching, once in Ibis (to read) and once in SQL (to delete) --------------------------------------------
def _needles(person: _Person, *, erase: bool) -> tuple[list[str], list[str]]:
    """(id patterns, lower-case texts) to find in the free-text columns.

    An id is matched as a whole word (``customer CU1 called`` and ``"CU1"`` find CU1, ``CU12`` does not);
    an e-mail as a substring. Erasing also matches the person's phone numbers and names as substrings:
    a note that names them is about them (export leaves those out, so it never hands out another person's
    rows that mention the same name)."""
    patterns = [_WORD.format(re.escape(i)) for i in person.ids]
    loose = list(person.emails)
    if erase:
        loose += [p.lower() for p in person.phones] + [n.lower() for n in person.names if len(n.strip()) > 3]
    return patterns, loose


#: an id as a whole word: not preceded or followed by a letter, digit or underscore
_WORD = r"(^|[^A-Za-z0-9_]){}([^A-Za-z0-9_]|$)"


def _ibis_match(t: ir.Table, person: _Person, target: _Target, *, erase: bool) -> ir.BooleanValue:
    pred = ibis.literal(False)
    if target.person_key and person.ids:
        pred |= t[target.person_key].isin(list(person.ids))
    patterns, loose = _needles(person, erase=erase)
    for col in target.text:
        if col not in t.columns:
            continue
        text = t[col].cast("string")
        for pattern in patterns:
            pred |= text.re_search(pattern).fill_null(False)
        for needle in loose:
            pred |= text.lower().contains(needle).fill_null(False)
    return pred


def _sql_match(store: Store, person: _Person, target: _Target, columns: list[str]) -> tuple[str, list]:
    q = store.engine.quote
    parts, params = [], []
    if target.person_key and person.ids:
        parts.append(f"{q(target.person_key)} IN ({', '.join('?' for _ in person.ids)})")
        params += list(person.ids)
    patterns, loose = _needles(person, erase=True)
    for col in target.text:
        if col not in columns:
            continue
        text = store.engine.text_sql(q(col))
        for pattern in patterns:
            parts.append(store.engine.regex_sql(text))
            params.append(pattern)
        for needle in loose:
            parts.append(f"position(? IN lower({text})) > 0")
            params.append(needle)
    return " OR ".join(f"COALESCE({p}, FALSE)" for p in parts), params


# -- export --------------------------------------------------------------------------------------------------
def person_export(store: Store, customer_id: str | None = None, *, email: str | None = None) -> dict:
    """Everything salesintel holds about one person, as one JSON-ready document.

    ``tables`` holds the rows of every schema table (canonical and system) that belong to the person or
    whose free text carries their id or e-mail; ``results`` the rows of every kept run of every result with a
    person key, each with its ``run_id``; ``models`` what the kept models hold (no per-person features).
    """
    person, matched = _resolve(store, customer_id, email)
    doc: dict[str, Any] = {
        "person": {"customer_id": customer_id} if customer_id is not None else {"email": email},
        "customer_ids": list(person.ids),
        "exported_at": now_utc().isoformat(timespec="seconds"),
        "database": store.shown_url,
        "tables": {},
        "results": {},
        "models": {"note": MODELS_NOTE, "kept": _models_kept(store)},
    }
    for target in person_tables(store):
        t = store.table(target.name)
        rows = _rows(t.filter(_ibis_match(t, person, target, erase=False)))
        if rows:
            doc["results" if target.name.startswith("result_") else "tables"][target.name] = rows
    doc["notes"] = [
        "loads keeps the paths of loaded files and row counts only; analysis_runs keeps parameters and counts.",
        "No table of this database is a backup or an exported file: copies made outside it are not included.",
    ]
    if not matched and not any(doc["tables"].values()) and not doc["results"]:
        raise NotFound(f"salesintel holds nothing about {_shown(customer_id, email)}; check the id or address")
    if not matched:
        doc["notes"].insert(0, "No customer row matched; the rows below name the person in their text.")
    return doc


def _shown(customer_id: str | None, email: str | None) -> str:
    return f"customer {customer_id}" if customer_id is not None else f"e-mail address {email}"


def _rows(expr: ir.Table) -> list[dict]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in expr.to_pyarrow().to_pylist()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _models_kept(store: Store) -> list[dict]:
    t = store.table("models").select("model_id", "name", "kind", "analysis", "as_of", "fitted_at", "stale")
    return _rows(t.order_by(t.fitted_at))


# -- erasure -------------------------------------------------------------------------------------------------
def person_erase(
    store: Store, customer_id: str | None = None, *, email: str | None = None, by: str | None = None
) -> ErasureReport:
    """Remove every row about one person (see the module docstring), mark the models fitted on their data
    stale and record the erasure (counts only) in ``erasures``; all in one transaction."""
    person, matched = _resolve(store, customer_id, email)
    removed: dict[str, int] = {}
    with store.transaction():
        for target in person_tables(store):
            where, params = _sql_match(store, person, target, store.table(target.name).columns)
            if not where:
                continue
            n = int(
                store.engine.scalar(f"SELECT count(*) FROM {store.engine.quote(target.name)} WHERE {where}", params)
            )
            if n:
                store.engine.delete_where(target.name, where, params)
                removed[target.name] = n
        if not removed:  # a mistyped id must not leave a receipt for an erasure that never happened
            raise NotFound(f"salesintel holds nothing about {_shown(customer_id, email)}; nothing erased")
        stale = _mark_models_stale(store, {t for t in removed if t in schema.TABLES})
        report = ErasureReport(
            uuid.uuid4().hex[:12], "customer_id" if customer_id is not None else "email", matched, removed, stale
        )
        _record(store, report, by or _os_user())
    return report


def _mark_models_stale(store: Store, tables: set[str]) -> int:
    """Mark stale every kept model whose analysis reads one of ``tables`` (a model saved outside an analysis:
    whenever a canonical table lost rows). Returns how many."""
    if not tables:
        return 0
    m = store.table("models")
    kept = m.filter(~m.stale.fill_null(False)).select("model_id", "analysis").execute()
    names = set(registry.names())
    ids = [
        row.model_id
        for row in kept.itertuples()  # one row per kept model, not per person's row
        if row.analysis not in names or tables & set(registry.get(row.analysis).inputs)
    ]
    store.update_in("models", "model_id", ids, {"stale": True})
    return len(ids)


def _record(store: Store, report: ErasureReport, by: str) -> None:
    store.append(
        "erasures",
        pa.table(
            {
                "erasure_id": pa.array([report.erasure_id], pa.string()),
                "erased_at": pa.array([now_utc()], pa.timestamp("us")),
                "erased_by": pa.array([by], pa.string()),
                "key_kind": pa.array([report.key_kind], pa.string()),
                "customers": pa.array([report.customers], pa.int64()),
                "tables": pa.array([json.dumps(sorted(report.rows_removed))], pa.string()),
                "rows_removed": pa.array([json.dumps(report.rows_removed, sort_keys=True)], pa.string()),
                "models_stale": pa.array([report.models_stale], pa.int64()),
            }
        ),
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (some containers)
        return "unknown"
