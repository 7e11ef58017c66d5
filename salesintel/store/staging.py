"""The staging engine ingestion validates in: the store itself when it is DuckDB, else an in-memory DuckDB.

DuckDB-specific functions used while parsing user files live here (the store package is the only place
engine-specific SQL may live).
"""

from __future__ import annotations

import hashlib
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
