"""What differs between engines, behind one small interface; one subclass per engine.

The :class:`~salesintel.store.Store` holds one :class:`Engine` and never asks which it is: connecting,
session settings, parameterised statements, bulk writes, staging and transactions are the engine's.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")


class Engine:
    """The engine-specific part of a store. ``con`` is the Ibis backend."""

    name: str = "engine"
    con: "ibis.BaseBackend"

    # -- statements --------------------------------------------------------------------------------
    def execute(self, sql: str, params: list | tuple = ()) -> None:
        """Run one statement with ``?`` placeholders."""
        raise NotImplementedError

    def scalar(self, sql: str, params: list | tuple = ()) -> object:
        """Run one query with ``?`` placeholders and return its single value."""
        raise NotImplementedError

    def count(self, name: str, where: str = "", params: list | tuple = ()) -> int | None:
        """Rows of table ``name`` (matching ``where``, SQL with ``?`` placeholders), or None when there is
        no such table."""
        if name not in self.con.list_tables():
            return None
        return self._count(name, where, params)

    def _count(self, name: str, where: str, params: list | tuple) -> int:
        sql = f"SELECT count(*) FROM {self.quote(name)}" + (f" WHERE {where}" if where else "")
        return int(self.scalar(sql, params))

    def text_sql(self, column_sql: str) -> str:
        """``column_sql`` as text (a JSON column included)."""
        return f"CAST({column_sql} AS VARCHAR)"

    def regex_sql(self, column_sql: str) -> str:
        """A SQL predicate: ``column_sql`` matches the regular expression given as the next parameter."""
        return f"regexp_matches({column_sql}, ?)"

    def quote(self, name: str) -> str:
        """An identifier quoted for this engine's SQL."""
        return f'"{name}"'

    def add_column_sql(self, table: str, column: str, sql_type: str) -> str:
        return f"ALTER TABLE {self.quote(table)} ADD COLUMN {self.quote(column)} {sql_type}"

    def delete_where(self, name: str, where: str, params: list | tuple = ()) -> None:
        """Delete the rows of ``name`` matching ``where`` (SQL with ``?`` placeholders)."""
        self.execute(f"DELETE FROM {self.quote(name)} WHERE {where}", params)

    def update_where(self, name: str, assign: dict[str, object], where: str, params: list | tuple = ()) -> None:
        """Set ``assign`` on the rows of ``name`` matching ``where``."""
        sets = ", ".join(f"{self.quote(k)} = ?" for k in assign)
        self.execute(f"UPDATE {self.quote(name)} SET {sets} WHERE {where}", [*assign.values(), *params])

    def replace_view(self, view: str, expr: "ir.Table") -> None:
        """Create or replace the (persistent) view ``view`` over ``expr``."""
        self.con.create_view(view, expr, overwrite=True)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; a transaction opened inside it joins it (an upsert inside a load commits with the
        load's rejects and ``loads`` row, not on its own)."""
        if getattr(self, "_in_transaction", False):
            yield
            return
        self.con.raw_sql("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._in_transaction = False
            self.con.raw_sql("ROLLBACK")
            raise
        self._in_transaction = False
        self.con.raw_sql("COMMIT")

    def lock_for_write(self, name: str) -> None:
        """Inside a transaction: make other writers of table ``name`` wait until it ends (readers go on).
        Nothing to do where one process writes at a time (a DuckDB file) or nothing locks (Spark)."""

    # -- bulk writes -------------------------------------------------------------------------------
    @contextmanager
    def unordered_writes(self) -> Iterator[None]:
        """Inside it, rows written may be stored in any order (a load: no query of a stored table relies on
        the order rows went in). Nothing to do where the order is not kept anyway."""
        yield

    def append_arrow(self, name: str, data: pa.Table) -> None:
        """Append ``data`` (exactly the table's columns and types) to table ``name``, by the fast path."""
        self.con.insert(name, ibis.memtable(data))

    def append_expr(self, name: str, expr: "ir.Table") -> None:
        """Append the rows of an expression of this engine (``INSERT ... SELECT`` inside the engine)."""
        self.con.insert(name, expr)

    def append_built(self, name: str, key: str, build) -> None:
        """Append the rows of ``build()``, an expression of this engine over tables and views of the store
        (no in-memory tables) that depends on nothing but ``key`` (an engine may keep the compiled statement
        by key and not call ``build`` again)."""
        self.append_expr(name, build())

    def stage(self, data: pa.Table) -> "ir.Table":
        """``data`` in a temporary table of this engine."""
        return self.con.create_table(f"_stage_{uuid.uuid4().hex[:12]}", obj=data, temp=True)

    def stage_expr(self, expr: "ir.Table") -> "ir.Table":
        """The rows of an expression of this engine in a temporary table (``CREATE TABLE AS``, in the engine)."""
        return self.con.create_table(f"_stage_{uuid.uuid4().hex[:12]}", obj=expr, temp=True)

    def drop_stage(self, staged: "ir.Table") -> None:
        self.con.drop_table(bare_name(staged), force=True)

    def delete_matching(self, name: str, staged: "ir.Table", key: tuple[str, ...]) -> None:
        """Delete the rows of ``name`` whose key appears in ``staged``."""
        key_match = " AND ".join(f't."{k}" = s."{k}"' for k in key)
        self.con.raw_sql(f'DELETE FROM "{name}" AS t USING "{bare_name(staged)}" AS s WHERE {key_match}')

    # -- ingestion ---------------------------------------------------------------------------------
    def staging_backend(self) -> "ibis.BaseBackend":
        """Where files are parsed and validated: a private in-memory DuckDB, then bulk-written here."""
        from salesintel.store.duckdb import connect_duckdb

        return connect_duckdb(":memory:")

    def local_folder(self) -> Path | None:
        """The folder the database lives in, when it is a local file."""
        return None

    def close(self) -> None:
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect:
            disconnect()


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages, logs and reports.

    >>> safe_url("postgresql://ann:secret@db:5432/sales")
    'postgresql://ann:***@db:5432/sales'
    >>> safe_url("postgresql://db/sales?sslmode=require&password=secret")
    'postgresql://db/sales?sslmode=require&password=***'
    """
    import re

    url = re.sub(r"(?i)([?&](?:password|pass|pwd)=)[^&]*", r"\1***", url)
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"


def bare_name(table: "ir.Table") -> str:
    """The bare name of a physical table (DuckDB qualifies temp tables as temp.main.NAME)."""
    return table.get_name().split(".")[-1]
