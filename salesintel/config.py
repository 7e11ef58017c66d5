"""Settings, read from the environment when asked (never at import): where the store is, how many runs to keep.

- ``SALESINTEL_DB``: the store URL or .duckdb path (default ./salesintel.duckdb); ``--db`` wins over it.
- ``SALESINTEL_KEEP_RUNS``: results of this many newest runs are kept per analysis (default 10).
- ``SALESINTEL_WAIT``: seconds to wait for a DuckDB file another salesintel process holds (default 0: refuse at
  once); ``--wait SECONDS`` anywhere on the command line sets it.
- ``SALESINTEL_MEMORY_LIMIT``: the most memory the embedded DuckDB may hold before it spills to disk, in
  DuckDB's units (``8GB``, ``512MB``); default DuckDB's own, 80% of the machine's memory (docs/scale.md).
- ``SALESINTEL_PLUGINS``: comma-separated modules with analyses of your own, imported with the built-in
  ones (docs/writing-an-analysis.md).
"""

from __future__ import annotations

import os

from salesintel.errors import UserInputError

DEFAULT_DB = "salesintel.duckdb"
ENV_DB = "SALESINTEL_DB"
ENV_KEEP_RUNS = "SALESINTEL_KEEP_RUNS"
DEFAULT_KEEP_RUNS = 10
ENV_WAIT = "SALESINTEL_WAIT"
ENV_MEMORY_LIMIT = "SALESINTEL_MEMORY_LIMIT"


def database_url(explicit: str | None = None) -> str:
    """The store URL: the explicit value, else $SALESINTEL_DB, else the embedded DuckDB file.

    >>> database_url("duckdb://x.duckdb")
    'duckdb://x.duckdb'
    """
    return explicit or os.environ.get(ENV_DB) or DEFAULT_DB


def keep_runs() -> int:
    """How many runs per analysis keep their results ($SALESINTEL_KEEP_RUNS, default 10).

    >>> keep_runs() >= 1
    True
    """
    return int(_number(ENV_KEEP_RUNS, int, DEFAULT_KEEP_RUNS, minimum=1, shown=ENV_KEEP_RUNS))


def open_wait() -> float:
    """Seconds to keep retrying a database another process holds ($SALESINTEL_WAIT, default 0).

    >>> open_wait() >= 0
    True
    """
    return float(_number(ENV_WAIT, float, 0.0, minimum=0, shown="--wait"))


def memory_limit() -> str | None:
    """The embedded DuckDB's memory limit ($SALESINTEL_MEMORY_LIMIT, such as '8GB'), or None: DuckDB's own
    default. The store checks the value when it opens the database.

    >>> memory_limit() is None or bool(memory_limit())
    True
    """
    return os.environ.get(ENV_MEMORY_LIMIT, "").strip() or None


def _number(env: str, kind: type, default: float, *, minimum: float, shown: str) -> float:
    """A numeric setting from the environment: its default when unset or empty, else at least ``minimum``."""
    raw = os.environ.get(env)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        noun = "a whole number" if kind is int else "a number of seconds"
        raise UserInputError(f"{shown} {raw!r} is not {noun}") from None
    if value < minimum:
        raise UserInputError(f"{shown} must be at least {minimum:g}, not {value:g}")
    return value
