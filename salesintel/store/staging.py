"""The staging engine ingestion validates in: the store itself when it is DuckDB, else an in-memory DuckDB.

DuckDB-specific functions used while parsing user files live here (the store package is the only place
engine-specific SQL may live).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import pyarrow as pa


@ibis.udf.scalar.builtin(name="try_strptime")
def try_strptime(value: str, fmt: str) -> datetime:  # type: ignore[empty-body]
    """DuckDB's strptime that gives NULL instead of failing on an unparseable value."""


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
