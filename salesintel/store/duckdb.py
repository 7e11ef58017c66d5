"""The embedded DuckDB engine: a file (or ``:memory:``), validated loads in the same database."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

from salesintel.config import ENV_MEMORY_LIMIT, memory_limit
from salesintel.errors import StoreBusy, UserInputError
from salesintel.lazy import lazy
from salesintel.store.compiled import keep_compiled
from salesintel.store.engine import Engine

ibis = lazy("ibis")

LOCK_RETRY_SECONDS = 0.25
#: compiled INSERT ... SELECT statements kept (``append_built``), by table and the caller's key
COMPILED_KEPT = 32
_COMPILED: OrderedDict[tuple[str, str], str] = OrderedDict()


def connect_duckdb(target: str, *, wait: float = 0.0) -> "ibis.BaseBackend":
    """An Ibis DuckDB connection with salesintel's session settings.

    A file another process holds (DuckDB lets one process write a file at a time) is retried every
    ``LOCK_RETRY_SECONDS`` for up to ``wait`` seconds, then refused with :class:`StoreBusy`.
    """
    limit = memory_limit()  # a value to refuse is refused before a database file is made
    con = _connect(target, wait)
    _limit_memory(con, limit)
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")  # salesintel draws its own progress
    # group-bys on two small integer codes (product pairs, up to 2,048 x 2,048) use a perfect hash
    # table, not a probing one: the sequential-rules pair count runs 1.7x faster (docs/performance.md)
    con.raw_sql("SET perfect_ht_threshold = 22")
    # a statement compiled by an earlier command is not compiled again (0.15 s of a 2 s load)
    keep_compiled(con)
    if target != ":memory:":
        _remove_stale_spill(con)
    return con


#: the databases whose spill folder this process has looked at (see _remove_stale_spill)
_SPILL_CHECKED: set[str] = set()
_SPILL_LOCK = threading.Lock()


def _remove_stale_spill(con: "ibis.BaseBackend") -> int:
    """Remove what a killed process left in the database's spill folder; the number of files removed.

    DuckDB removes its spill files when it closes, but a process killed while spilling (out of memory, or
    stopped) leaves them, gigabytes of them, and DuckDB does not remove them when the file is opened again.
    Only this process can hold the file now (DuckDB lets one process at a time open it for writing), so the
    files are stale the first time this process opens it; after that a connection of this process may be
    spilling into them, and they are left alone.
    """
    [(folder,)] = con.con.execute("SELECT current_setting('temp_directory')").fetchall()
    if not folder:
        return 0
    folder = Path(folder).resolve()
    with _SPILL_LOCK:
        if str(folder) in _SPILL_CHECKED:
            return 0
        _SPILL_CHECKED.add(str(folder))
    removed = 0
    # the files only: DuckDB may have made the folder as it opened the file, and would not make it again
    for stale in folder.glob("duckdb_temp_*") if folder.is_dir() else ():
        with suppress(OSError):
            stale.unlink()
            removed += 1
    return removed


def _limit_memory(con: "ibis.BaseBackend", limit: str | None) -> None:
    """DuckDB's buffer limit, past which it spills to a folder beside the database file. DuckDB's default
    (80% of the machine's memory) leaves too little on a busy machine: its own guide suggests 50-60% when a
    process is killed for memory, as part of its work is held outside this limit."""
    if limit is None:
        return
    import duckdb

    try:
        con.raw_sql(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error:
        con.disconnect()
        raise UserInputError(
            f"{ENV_MEMORY_LIMIT} {limit!r} is not an amount of memory DuckDB knows; write it as 8GB or 512MB"
        ) from None


def out_of_memory(exc: BaseException) -> str | None:
    """One sentence for DuckDB running out of memory (its own text names a block size), or None for any other
    error.

    >>> import duckdb
    >>> out_of_memory(duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")) is not None
    True
    """
    import duckdb

    if not isinstance(exc, duckdb.OutOfMemoryException):
        return None
    limit = memory_limit()
    now = f"is {limit}" if limit else "is not set (DuckDB's default: 80% of memory)"
    return (
        f"the embedded DuckDB ran out of memory ({str(exc).splitlines()[0]}); {ENV_MEMORY_LIMIT} {now}: "
        "set it higher, or free memory or disk for DuckDB's spill folder beside the database (docs/scale.md)"
    )


def _connect(target: str, wait: float) -> "ibis.BaseBackend":
    import duckdb

    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            return ibis.duckdb.connect(database=target)
        except duckdb.IOException as exc:
            if "could not set lock" not in str(exc).lower():
                raise UserInputError(f"cannot open the database {target}: {str(exc).splitlines()[0]}") from None
            if time.monotonic() >= deadline:
                raise StoreBusy(_busy_message(target, wait)) from None
            time.sleep(min(LOCK_RETRY_SECONDS, max(deadline - time.monotonic(), 0.01)))
        except Exception as exc:  # a corrupt or foreign file
            raise UserInputError(f"cannot open the database {target}: {str(exc).splitlines()[0]}") from None


def _busy_message(target: str, wait: float) -> str:
    # DuckDB's own text names the holder's PID and user: not what a user acts on
    if wait > 0:
        return (
            f"the database {target} is still in use by another salesintel process (a load or analysis) after "
            f"waiting {wait:g} s; wait for it or pass a longer --wait SECONDS"
        )
    return (
        f"the database {target} is in use by another salesintel process (a load or analysis); "
        f"wait for it or pass --wait SECONDS"
    )


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, target: str, *, create: bool = True, wait: float = 0.0) -> None:
        self.target = target
        if target != ":memory:":
            path = Path(target)
            if not path.exists() and not create:
                raise UserInputError(f"no database at {path}; load data first (salesintel load or salesintel demo)")
            path.parent.mkdir(parents=True, exist_ok=True)
        self.con = connect_duckdb(target, wait=wait)

    def execute(self, sql: str, params=()) -> None:
        self.con.con.execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, params=()) -> object:
        return self.con.con.execute(sql, list(params)).fetchall()[0][0]

    def count(self, name: str, where: str = "", params=()) -> int | None:
        import duckdb

        # no catalog lookup first: a missing table is a binder error, which leaves a transaction usable
        try:
            return self._count(name, where, params)
        except duckdb.CatalogException:
            return None

    @contextmanager
    def unordered_writes(self) -> Iterator[None]:
        # DuckDB keeps the order rows went in unless told otherwise; with the order free it writes a table's
        # row groups on every thread: an insert of 400,000 order lines takes half the time (docs/performance.md)
        kept = self.scalar("SELECT current_setting('preserve_insertion_order')")
        self.execute("SET preserve_insertion_order = false")
        restore = f"SET preserve_insertion_order = {str(bool(kept)).lower()}"
        try:
            yield
        except BaseException:
            import duckdb

            # a statement that failed inside a transaction aborts it, and DuckDB then refuses every statement
            # until the rollback: the error that aborted it is the one to report, not the refused SET
            with suppress(duckdb.Error):
                self.execute(restore)
            raise
        self.execute(restore)

    def append_arrow(self, name: str, data) -> None:
        # DuckDB scans the Arrow table in place: no copy, no temporary table
        self.con.con.register("_salesintel_append", data)
        try:
            cols = ", ".join(f'"{c}"' for c in data.column_names)
            self.con.con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM _salesintel_append').fetchall()
        finally:
            self.con.con.unregister("_salesintel_append")

    def append_expr(self, name: str, expr) -> None:
        # Ibis's own insert compiles the query, then parses it again to wrap it in the INSERT
        self.con._run_pre_execute_hooks(expr)  # in-memory tables the expression reads are registered
        self.con.con.execute(self._insert_sql(name, expr)).fetchall()

    def append_built(self, name: str, key: str, build) -> None:
        # the statement of the same key is compiled once per process: a load's validation query takes Ibis
        # longer to build and compile than DuckDB takes to check 200,000 rows
        sql = _COMPILED.pop((name, key), None)
        if sql is None:
            expr = build()
            if expr.op().find(ibis.expr.operations.InMemoryTable):
                # an in-memory table is registered per connection under a name of its own: not reusable
                raise ValueError("append_built takes expressions over tables of the store only")
            sql = self._insert_sql(name, expr)
        _COMPILED[(name, key)] = sql
        while len(_COMPILED) > COMPILED_KEPT:
            _COMPILED.popitem(last=False)
        self.con.con.execute(sql).fetchall()

    def _insert_sql(self, name: str, expr) -> str:
        cols = ", ".join(f'"{c}"' for c in expr.columns)
        return f'INSERT INTO "{name}" ({cols}) {self.con.compile(expr)}'

    def staging_backend(self):
        return self.con  # validate in the store itself: the good rows never leave the engine

    def local_folder(self) -> Path | None:
        return None if self.target == ":memory:" else Path(self.target).parent
