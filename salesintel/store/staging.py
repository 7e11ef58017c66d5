"""The staging engine ingestion validates in: the store itself when it is DuckDB, else an in-memory DuckDB.

DuckDB-specific functions used while parsing user files live here (the store package is the only place
engine-specific SQL may live).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa


@ibis.udf.scalar.builtin(name="try_strptime")
def try_strptime(value: str, fmt: str) -> datetime:  # type: ignore[empty-body]
    """DuckDB's strptime that gives NULL instead of failing on an unparseable value."""


@ibis.udf.scalar.builtin(name="error")
def stop_with(message: str) -> bool:  # type: ignore[empty-body]
    """DuckDB's error(): the statement stops where a row evaluates it (a one-pass load meets a row to refuse)."""


@ibis.udf.scalar.builtin(name="isfinite")
def is_finite(value: float) -> bool:  # type: ignore[empty-body]
    """DuckDB's isfinite(): neither infinite nor NaN, in one call (isinf and isnan are two)."""


@ibis.udf.scalar.builtin(name="~~~")
def globs(value: str, pattern: str) -> bool:  # type: ignore[empty-body]
    """DuckDB's GLOB (``value GLOB pattern``): a fixed-shape test a third as costly as a regular expression."""


def key_hash(values: dict[str, ir.Value]) -> ir.IntegerValue:
    """DuckDB's 64-bit hash() of the values as one key (Ibis' own ``hash`` adds two casts that cost a fifth
    of a sort of 1M hashes)."""
    key = ibis.struct(values)
    return ibis.udf.scalar.builtin(lambda key: None, name="hash", signature=((key.type(),), dt.uint64))(key)


def staging_backend(store) -> ibis.BaseBackend:
    """Where validation runs: the store's own DuckDB, or a private in-memory DuckDB for other engines."""
    return store.engine.staging_backend()


def create_from_arrow(backend: ibis.BaseBackend, name: str, data: pa.Table) -> ir.Table:
    """A temporary table ``name`` of the staging engine holding ``data``; the Arrow table is not kept.

    Ibis registers an Arrow table it is given on the DuckDB connection until the process exits, so each
    piece of a large file stayed in memory beside its copy in the engine (a 100M-line load was killed at
    24 GiB). Here the table is registered for the one statement that copies it, then let go.

    >>> import ibis, pyarrow as pa
    >>> con = ibis.duckdb.connect()
    >>> t = create_from_arrow(con, "t", pa.table({"a": ["x"]}))
    >>> append_arrow(con, "t", pa.table({"a": ["y"]}))
    >>> sorted(t.a.execute()), registered_arrow(con)
    (['x', 'y'], [])
    """
    table = backend.create_table(name, schema=ibis.schema(data.schema), temp=True)
    append_arrow(backend, name, data)
    return table


def append_arrow(backend: ibis.BaseBackend, name: str, data: pa.Table) -> None:
    """Append ``data`` (the table's columns, in order) to table ``name`` of the staging engine, keeping no
    reference to it (see :func:`create_from_arrow`)."""
    view = f"_arrow_{uuid.uuid4().hex[:10]}"
    backend.con.register(view, data)
    try:
        backend.con.execute(f'INSERT INTO "{name}" SELECT * FROM "{view}"')
    finally:
        backend.con.unregister(view)


def release_memtables(backend: ibis.BaseBackend, expr: ir.Expr) -> None:
    """Let go of the Arrow data of the in-memory tables ``expr`` reads, which Ibis keeps registered on the
    DuckDB connection until the process exits (a load's source: a process that loads many files kept them
    all). Call it when nothing reads those tables any more."""
    known = getattr(backend, "_memtables", None)  # Ibis' record of what it registered (a weak set)
    for op in expr.op().find(ibis.expr.operations.InMemoryTable):
        if known is not None and op in known:
            backend.con.unregister(op.name)
            known.discard(op)


def registered_arrow(backend: ibis.BaseBackend) -> list[str]:
    """The names of the Arrow tables and in-memory tables registered on the DuckDB connection."""
    rows = backend.con.execute(
        "SELECT view_name FROM duckdb_views() WHERE temporary AND "
        "(starts_with(view_name, 'ibis_pyarrow_memtable_') OR starts_with(view_name, '_arrow_'))"
    ).fetchall()
    return [r[0] for r in rows]


def nested_to_json(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Struct or list values as JSON text (Arrow has no such kernel; DuckDB's to_json is vectorised)."""
    import duckdb

    con = duckdb.connect()
    data = pa.table({"v": col})  # noqa: F841 - read by name in the query
    con.register("nested_input", data)
    return con.sql("SELECT CAST(to_json(v) AS VARCHAR) AS v FROM nested_input").fetch_arrow_table().column("v")


def bytes_to_hex(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Binary values as hex text (Arrow has no hex kernel)."""
    import duckdb

    con = duckdb.connect()
    data = pa.table({"v": col})  # noqa: F841 - read by name in the query
    con.register("binary_input", data)
    return con.sql("SELECT hex(v) AS v FROM binary_input").fetch_arrow_table().column("v")


def scan_csv(backend: ibis.BaseBackend, path, *, names: list[str], delimiter: str, header: bool):
    """A CSV file as a view of text columns, parsed by DuckDB's own parallel reader inside the engine: no
    byte of it passes through Python. The reader is strict (a record with too many or too few fields, an
    unclosed quote or bytes that are not UTF-8 raise when the view is read) and reads as ours does: RFC 4180
    quotes, an empty field (quoted or not) is missing, nothing is trimmed.

    The caller drops the view (``backend.drop_view``) when done. The view is named after the columns and
    the dialect, not the file: queries over two files of the same shape are the same query, compiled once
    (:meth:`DuckDBEngine.append_expr`).
    """
    shape = hashlib.sha1(repr((names, delimiter, header)).encode()).hexdigest()[:12]
    return backend.read_csv(
        str(path),
        table_name=f"_csv_{shape}",
        columns={name: "VARCHAR" for name in names},
        header=header,
        auto_detect=False,
        delim=delimiter,
        quote='"',
        escape='"',
        strict_mode=True,
        null_padding=False,
        encoding="utf-8",
    )
