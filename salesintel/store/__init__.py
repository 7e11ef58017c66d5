"""The store: an Ibis connection chosen by URL, embedded DuckDB by default.

Every read and analysis goes through Ibis expressions so the same code runs on
DuckDB, PostgreSQL or Spark. Engine-specific SQL (upserts, session settings)
lives in this package and nowhere else.

Example:
    >>> from salesintel.store import Store
    >>> store = Store.open("duckdb://:memory:")
    >>> store.table("orders").count().execute()
    0
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa

from salesintel import schema
from salesintel.config import database_url, open_wait
from salesintel.errors import NotFound, UserInputError
from salesintel.formatting import csv_ready, json_rows
from salesintel.lazy import lazy
from salesintel.store.engine import safe_url

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")
dt = lazy("ibis.expr.datatypes")

__all__ = ["Store", "UpsertCounts", "conform_arrow", "now_utc", "open_engine", "safe_url"]


def now_utc() -> datetime:
    """The current time as a naive UTC timestamp (the store keeps UTC without zone)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int


def open_engine(url: str, *, create: bool = True, wait: float = 0.0):
    """The engine for a user-given URL or bare file path (see docs/scale.md for which to choose).

    ``wait``: seconds to keep retrying a DuckDB file another process holds before :class:`StoreBusy`.
    """
    if "://" not in url:
        from salesintel.store.duckdb import DuckDBEngine

        return DuckDBEngine(url, create=create, wait=wait)
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme == "duckdb":
        from salesintel.store.duckdb import DuckDBEngine

        return DuckDBEngine(rest or ":memory:", create=create, wait=wait)
    if scheme in ("postgres", "postgresql"):
        from salesintel.store.postgres import PostgresEngine

        return PostgresEngine(url)
    if scheme in ("spark", "sc"):
        from salesintel.store.spark import SparkEngine

        return SparkEngine(url)
    raise UserInputError(
        f"unsupported database URL {safe_url(url)!r}; use a .duckdb path, duckdb://PATH, postgresql://USER@HOST/DB, "
        "spark://local[2] or sc://HOST:PORT"
    )


class Store:
    """A salesintel database: the canonical tables, system tables and analysis results."""

    def __init__(self, engine, url: str) -> None:
        self.engine = engine  # the engine-specific part: salesintel.store.engine.Engine
        self.con = engine.con
        self.url = url
        self.shown_url = safe_url(url)  # what messages and reports show: never a password

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | None = None, *, create: bool = True, wait: float | None = None) -> "Store":
        """Open (and by default create) the store at ``url``; see :func:`salesintel.config.database_url`.

        A DuckDB file held by another process raises :class:`~salesintel.errors.StoreBusy`, after retrying for
        ``wait`` seconds (default :func:`salesintel.config.open_wait`, 0).
        """
        url = database_url(url)
        store = cls(open_engine(url, create=create, wait=open_wait() if wait is None else wait), url)
        store.ensure_schema()
        return store

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema --------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create every table of the schema that is missing, add columns a newer schema declares, and record
        the schema version. Nothing stored is dropped or changed."""
        existing = set(self.con.list_tables())
        for table in schema.TABLES.values():
            if table.name not in existing:
                self.con.create_table(table.name, schema=schema.ibis_schema(table))
                continue
            have = set(self.con.table(table.name).columns)
            for name, type_ in schema.ibis_schema(table).items():
                if name not in have:
                    self.add_column(table.name, name, type_)
        version = pa.table({"version": [schema.SCHEMA_VERSION], "applied_at": [now_utc()]})
        if "schema_version" not in existing:
            self.con.create_table("schema_version", obj=version)
        elif self.schema_version() < schema.SCHEMA_VERSION:  # an older store, its new columns added above
            self.append("schema_version", version)

    def add_column(self, table: str, column: str, type_) -> None:
        """Add a nullable column of Ibis type ``type_`` to ``table``."""
        sql_type = self.con.compiler.type_mapper.from_ibis(ibis.dtype(type_)).sql(self.con.dialect)
        self.engine.execute(self.engine.add_column_sql(table, column, sql_type))

    def schema_version(self) -> int:
        return int(self.con.table("schema_version").version.max().execute())

    # -- reading -------------------------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        """The Ibis table ``name`` (canonical, system or a stored result)."""
        try:
            return self.con.table(name)
        except Exception:
            raise NotFound(f"no table {name!r} in {self.shown_url}") from None

    def has_table(self, name: str) -> bool:
        return name in self.con.list_tables()

    def list_tables(self) -> list[str]:
        return sorted(self.con.list_tables())

    def count(self, name: str, **equals: str) -> int:
        """Rows of ``name`` whose columns equal the given values (``None``: is missing). A plain count: an
        Ibis expression for the same takes 10-20 ms to build and compile, a load asks several."""
        q = self.engine.quote
        where = " AND ".join(f"{q(k)} IS NULL" if v is None else f"{q(k)} = ?" for k, v in equals.items())
        n = self.engine.count(name, where, [v for v in equals.values() if v is not None])
        if n is None:
            raise NotFound(f"no table {name!r} in {self.shown_url}")
        return n

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.engine.transaction():
            yield

    @contextmanager
    def unordered_writes(self) -> Iterator[None]:
        """Rows written inside it may be stored in any order (:meth:`Engine.unordered_writes`)."""
        with self.engine.unordered_writes():
            yield

    def lock_for_write(self, name: str) -> None:
        """Inside :meth:`transaction`: other writers of ``name`` wait until it commits (PostgreSQL)."""
        self.engine.lock_for_write(name)

    def stage(self, data: pa.Table | ir.Table) -> ir.Table:
        """Put ``data`` in a temporary table of this engine and return it."""
        if isinstance(data, pa.Table):
            return self.engine.stage(data)
        return self.engine.stage_expr(data)

    def drop_stage(self, staged: ir.Table) -> None:
        self.engine.drop_stage(staged)

    def upsert(self, name: str, rows: ir.Table, key: tuple[str, ...], *, keep: tuple[str, ...] = ()) -> UpsertCounts:
        """Replace the rows of ``name`` whose key is in ``rows`` and insert the rest.

        ``rows`` (an expression of this engine) must have unique keys. Counts say how many keys were new,
        how many replaced a stored row with different values and how many were identical. Columns in
        ``keep`` (those the loaded file did not have) keep their stored values where the key is stored,
        so a file with fewer columns updates what it has and blanks nothing.
        """
        target = self.table(name)
        rows = _conform(target, rows)
        if int(target.count().execute()) == 0:  # first load: nothing to compare or replace
            self.engine.append_expr(name, rows)
            return UpsertCounts(int(self.table(name).count().execute()), 0, 0)
        keep = tuple(c for c in keep if c in target.columns and c not in key)
        staged = self.stage(_with_stored(target, rows, key, keep) if keep else rows)
        try:
            counts = _upsert_counts(target, staged, key)
            with self.transaction():
                self.engine.delete_matching(name, staged, key)
                self.engine.append_expr(name, staged)
        finally:
            self.drop_stage(staged)
        return counts

    def delete_where(self, name: str, **equals: str) -> None:
        """Delete the rows of ``name`` whose columns equal the given values."""
        q = self.engine.quote
        self.engine.delete_where(name, " AND ".join(f"{q(k)} = ?" for k in equals), list(equals.values()))

    def append(self, name: str, data: pa.Table | ir.Table) -> None:
        """Append rows (columns in any order; missing columns become null). An Arrow table goes in by the
        engine's bulk path (COPY on PostgreSQL); an expression of this engine by ``INSERT ... SELECT``."""
        target = self.table(name)
        if isinstance(data, pa.Table):
            self.engine.append_arrow(name, conform_arrow(target.schema(), data))
        else:
            self.engine.append_expr(name, _conform(target, data))

    def append_built(self, name: str, key: str, build: Callable[[], ir.Table]) -> None:
        """:meth:`append` of ``build()``, an expression that depends on nothing but ``key`` and the table's
        columns: the engine may keep its compiled statement and skip building it again (a load's checks)."""
        target = self.table(name)
        self.engine.append_built(name, f"{key}|{target.schema()!r}", lambda: _conform(target, build()))

    def ensure_result_table(self, name: str, schema_: ibis.Schema) -> None:
        """Create the per-run result table ``name``; one whose columns differ from ``schema_`` (written by an
        older version of the analysis) is renamed aside to ``NAME__vN`` rather than dropped."""
        tables = set(self.con.list_tables())
        if name in tables:
            if same_columns(self.con.table(name).schema(), schema_):
                return
            n = 1
            while f"{name}__v{n}" in tables:
                n += 1
            q = self.engine.quote
            self.engine.execute(f"ALTER TABLE {q(name)} RENAME TO {q(f'{name}__v{n}')}")
        self.con.create_table(name, schema=schema_)

    def fold_back_versions(self, name: str, run_ids: Callable[[], list[str]]) -> list[str]:
        """Move the rows of the runs ``run_ids()`` names from every ``NAME__vN`` table whose columns are the
        table's own back into ``name``, and drop that table (the rows of other runs go with it: pruned
        runs); returns the tables moved back.

        Until the eighteenth session a declared timestamp read back with its precision did not match its
        declaration, so every run renamed the results of a table with a time column aside, where the
        earlier runs' rows could no longer be shown. A table something depends on (a view made over it:
        PostgreSQL views follow a renamed table) is left as it was.
        """
        pattern = re.escape(name) + r"__v\d+"
        versions = sorted(t for t in self.con.list_tables() if re.fullmatch(pattern, t))
        current = self.con.table(name).schema()
        versions = [v for v in versions if same_columns(self.con.table(v).schema(), current)]
        if not versions or getattr(self.engine, "_in_transaction", False):
            return []
        ids = run_ids()
        q = self.engine.quote
        keep = f"{q('run_id')} IN ({', '.join('?' for _ in ids)})" if ids else "FALSE"
        folded = []
        for old in versions:
            try:
                with self.transaction():
                    self.engine.execute(f"INSERT INTO {q(name)} SELECT * FROM {q(old)} WHERE {keep}", ids)
                    self.engine.execute(f"DROP TABLE {q(old)}")
            except Exception:  # noqa: BLE001 - rolled back: the table stays as it was, its rows with it
                continue
            folded.append(old)
        return folded

    def replace_view(self, view: str, table: str, *, run_id: str) -> None:
        """Point ``view`` at the rows of ``table`` with this ``run_id`` (the latest kept run)."""
        t = self.table(table)
        self.engine.replace_view(view, t.filter(t.run_id == run_id).drop("run_id"))

    def delete_in(self, name: str, column: str, values: list) -> None:
        """Delete the rows of ``name`` whose ``column`` is one of ``values``."""
        if values:
            marks = ", ".join("?" for _ in values)
            self.engine.delete_where(name, f"{self.engine.quote(column)} IN ({marks})", list(values))

    def update_in(
        self,
        name: str,
        column: str,
        values: list,
        assign: dict[str, object],
        *,
        equals: dict[str, object] | None = None,
        null: tuple[str, ...] = (),
    ) -> None:
        """Set ``assign`` on the rows of ``name`` whose ``column`` is one of ``values`` (and, when given, whose
        ``equals`` columns have those values and whose ``null`` columns are empty)."""
        if not values:
            return
        q = self.engine.quote
        where = [f"{q(column)} IN ({', '.join('?' for _ in values)})"]
        where += [f"{q(k)} = ?" for k in equals or {}] + [f"{q(k)} IS NULL" for k in null]
        params = [*values, *(equals or {}).values()]
        self.engine.update_where(name, assign, " AND ".join(where), params)

    def update_rows(self, name: str, key: dict[str, str], values: dict[str, object]) -> int:
        """Set ``values`` on the rows matching ``key``; returns how many rows matched."""
        q = self.engine.quote
        where = " AND ".join(f"{q(k)} = ?" for k in key)
        before = int(self.engine.scalar(f"SELECT count(*) FROM {q(name)} WHERE {where}", list(key.values())))
        self.engine.update_where(name, values, where, list(key.values()))
        return before

    # -- export --------------------------------------------------------------------------------
    def export(self, name: str, path: Path, fmt: str) -> int:
        """Write table ``name`` to ``path`` as csv, parquet, json (one array) or jsonl; returns rows written."""
        return self.export_expr(self.table(name), path, fmt)

    def export_expr(self, expr: ir.Table, path, fmt: str) -> int:
        """Write the rows of an expression to ``path`` (a path or a binary file such as stdout's buffer) as
        csv, parquet, json (one array) or jsonl. Values are written as stored: whole numbers stay whole."""
        data = expr.to_pyarrow()
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(data, path)
            return data.num_rows
        if fmt not in ("csv", "json", "jsonl"):
            raise UserInputError(f"unknown export format {fmt!r}; use csv, parquet, json or jsonl")
        sink = path if hasattr(path, "write") else open(path, "wb")
        try:
            sink.write(b"[" if fmt == "json" else b"")
            batches = data.to_batches(max_chunksize=100_000) or [None]
            for i, batch in enumerate(batches):
                sink.write(_batch_text(batch, data.schema, fmt, first=i == 0).encode())
            sink.write(b"]\n" if fmt == "json" else b"")
        finally:
            if sink is not path:
                sink.close()
        return data.num_rows


def _batch_text(batch: pa.RecordBatch | None, schema_: pa.Schema, fmt: str, *, first: bool) -> str:
    """One batch of an export as text; nullable whole numbers stay whole (pandas would make 1980 beside a
    gap in the column 1980.0)."""
    import pandas as pd

    table = pa.Table.from_batches([batch], schema_) if batch is not None else schema_.empty_table()
    frame = table.to_pandas(types_mapper=lambda t: pd.Int64Dtype() if pa.types.is_integer(t) else None)
    if fmt == "csv":
        return csv_ready(frame).to_csv(index=False, header=first)
    if not len(frame):
        return ""
    rows = json_rows(frame)
    if fmt == "jsonl":
        return "\n".join(rows) + "\n"
    return ("" if first else ",") + ",".join(rows)


def same_columns(stored: ibis.Schema, declared: ibis.Schema) -> bool:
    """Whether a stored table has the declared columns: names, order and types, a time's precision aside
    (an engine reads a declared ``timestamp`` back with its own, microseconds).

    >>> same_columns(ibis.schema({"at": "timestamp(6)"}), ibis.schema({"at": "timestamp"}))
    True
    >>> same_columns(ibis.schema({"at": "timestamp"}), ibis.schema({"at": "date"}))
    False
    """

    def plain(dtype: dt.DataType) -> dt.DataType:
        return dt.Timestamp(timezone=dtype.timezone, nullable=dtype.nullable) if dtype.is_timestamp() else dtype

    if stored.names != declared.names:
        return False
    return all(plain(a) == plain(b) for a, b in zip(stored.types, declared.types))


def _conform(target: ir.Table, data: pa.Table | ir.Table) -> ir.Table:
    """``data`` with exactly the target's columns and types (missing columns become null)."""
    if isinstance(data, pa.Table):
        data = ibis.memtable(data)
    types = target.schema()
    return data.select(
        *[(data[c].cast(types[c]) if c in data.columns else ibis.null(types[c])).name(c) for c in target.columns]
    )


def _with_stored(target: ir.Table, rows: ir.Table, key: tuple[str, ...], keep: tuple[str, ...]) -> ir.Table:
    """``rows`` with the stored values of the ``keep`` columns where the key is already stored."""
    stored = target.select(*key, *[target[c].name(f"__s_{c}") for c in keep], __stored=ibis.literal(True))
    joined = rows.left_join(stored, [rows[k] == stored[k] for k in key])
    found = joined["__stored"].notnull()
    return joined.select(
        *[(found.ifelse(joined[f"__s_{c}"], joined[c]) if c in keep else joined[c]).name(c) for c in rows.columns]
    )


def _upsert_counts(target: ir.Table, staged: ir.Table, key: tuple[str, ...]) -> UpsertCounts:
    cols = [c for c in target.columns if c not in key]
    t = target.select(*key, *[target[c].name(f"__t_{c}") for c in cols], __present=ibis.literal(True))
    joined = staged.left_join(t, [staged[k] == t[k] for k in key])
    same = ibis.literal(True)
    for c in cols:
        same &= joined[c].identical_to(joined[f"__t_{c}"])
    present = joined["__present"].notnull()
    row = (
        joined.aggregate(
            inserted=(~present).sum(),
            unchanged=(present & same).sum(),
            total=joined.count(),
        )
        .execute()
        .iloc[0]
    )
    inserted, unchanged, total = (int(row[c] or 0) for c in ("inserted", "unchanged", "total"))
    return UpsertCounts(inserted, total - inserted - unchanged, unchanged)


def conform_arrow(types: "ibis.Schema", data: pa.Table) -> pa.Table:
    """``data`` as an Arrow table with exactly the columns and types of ``types`` (missing ones null).

    A value that does not fit its column's type raises rather than being changed: Arrow's cast is safe.
    """
    target = types.to_pyarrow()
    cols = []
    for field in target:
        if field.name in data.column_names:
            col = data.column(field.name)
            cols.append(col if col.type == field.type else col.cast(field.type))
        else:
            cols.append(pa.nulls(data.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=target)
