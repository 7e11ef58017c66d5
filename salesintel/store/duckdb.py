"""The embedded DuckDB engine: a file (or ``:memory:``), validated loads in the same database."""

from __future__ import annotations

from pathlib import Path

from salesintel.errors import UserInputError
from salesintel.lazy import lazy
from salesintel.store.engine import Engine

ibis = lazy("ibis")


def connect_duckdb(target: str) -> "ibis.BaseBackend":
    """An Ibis DuckDB connection with salesintel's session settings."""
    try:
        con = ibis.duckdb.connect(database=target)
    except Exception as exc:  # duckdb raises IOException for locked or corrupt files
        raise UserInputError(f"cannot open the database {target}: {str(exc).splitlines()[0]}") from None
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")  # salesintel draws its own progress
    # group-bys on two small integer codes (product pairs, up to 2,048 x 2,048) use a perfect hash
    # table, not a probing one: the sequential-rules pair count runs 1.7x faster (docs/performance.md)
    con.raw_sql("SET perfect_ht_threshold = 22")
    return con


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, target: str, *, create: bool = True) -> None:
        self.target = target
        if target != ":memory:":
            path = Path(target)
            if not path.exists() and not create:
                raise UserInputError(f"no database at {path}; load data first (salesintel load or salesintel demo)")
            path.parent.mkdir(parents=True, exist_ok=True)
        self.con = connect_duckdb(target)

    def execute(self, sql: str, params=()) -> None:
        self.con.con.execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, params=()) -> object:
        return self.con.con.execute(sql, list(params)).fetchall()[0][0]

    def append_arrow(self, name: str, data) -> None:
        # DuckDB scans the Arrow table in place: no copy, no temporary table
        self.con.con.register("_salesintel_append", data)
        try:
            cols = ", ".join(f'"{c}"' for c in data.column_names)
            self.con.con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM _salesintel_append').fetchall()
        finally:
            self.con.con.unregister("_salesintel_append")

    def staging_backend(self):
        return self.con  # validate in the store itself: the good rows never leave the engine

    def local_folder(self) -> Path | None:
        return None if self.target == ":memory:" else Path(self.target).parent
