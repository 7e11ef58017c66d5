"""Settings, read from the environment when asked (never at import): where the store is, how many runs to keep.

- ``SALESINTEL_DB``: the store URL or .duckdb path (default ./salesintel.duckdb); ``--db`` wins over it.
- ``SALESINTEL_KEEP_RUNS``: results of this many newest runs are kept per analysis (default 10).
- ``SALESINTEL_WAIT``: seconds to wait for a DuckDB file another salesintel process holds (default 0: refuse at
  once); ``--wait SECONDS`` anywhere on the command line sets it.
- ``SALESINTEL_MEMORY_LIMIT``: the most memory the embedded DuckDB may hold before it spills to disk, in
  DuckDB's units (``8GB``, ``512MB``); default DuckDB's own, 80% of the machine's memory (docs/scale.md).
- ``SALESINTEL_SQL_CACHE``: the folder where statements compiled by one command are kept for the next (default
  ``$XDG_CACHE_HOME/salesintel/sql``, else ``~/.cache/salesintel/sql``); ``off`` keeps them for the process
  only (salesintel/store/compiled.py).
- ``SALESINTEL_PLUGINS``: comma-separated modules with analyses of your own, imported with the built-in
  ones (docs/writing-an-analysis.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from salesintel.errors import UserInputError

DEFAULT_DB = "salesintel.duckdb"
ENV_DB = "SALESINTEL_DB"
ENV_KEEP_RUNS = "SALESINTEL_KEEP_RUNS"
DEFAULT_KEEP_RUNS = 10
ENV_WAIT = "SALESINTEL_WAIT"
ENV_MEMORY_LIMIT = "SALESINTEL_MEMORY_LIMIT"
ENV_SQL_CACHE = "SALESINTEL_SQL_CACHE"


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


def sql_cache_folder() -> Path | None:
    """Where compiled statements are kept across commands ($SALESINTEL_SQL_CACHE), or None when it is ``off``.

    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"SALESINTEL_SQL_CACHE": "off"}):
    ...     sql_cache_folder() is None
    True
    >>> with mock.patch.dict("os.environ", {"SALESINTEL_SQL_CACHE": "", "XDG_CACHE_HOME": "/c"}):
    ...     sql_cache_folder().as_posix()
    '/c/salesintel/sql'
    >>> with mock.patch.dict("os.environ", {"SALESINTEL_SQL_CACHE": "", "XDG_CACHE_HOME": "rel", "HOME": "/h"}):
    ...     sql_cache_folder().as_posix()
    '/h/.cache/salesintel/sql'
    """
    raw = os.environ.get(ENV_SQL_CACHE, "").strip()
    if raw.lower() == "off":
        return None
    if raw:
        return Path(raw).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = base if os.path.isabs(base) else ""  # a relative one is to be ignored (the XDG base directory spec)
    try:
        return (Path(base) if base else Path.home() / ".cache") / "salesintel" / "sql"
    except RuntimeError:  # no home folder (a service account): kept for the process only
        return None


#: the smallest memory limit accepted (a typo such as 0GB or 1KB); DuckDB needs more for most work, and says so
MIN_MEMORY_BYTES = 16 * 10**6
_UNITS = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?$", re.IGNORECASE)


def memory_limit() -> str | None:
    """The embedded DuckDB's memory limit ($SALESINTEL_MEMORY_LIMIT) in DuckDB's words, or None: DuckDB's own
    default (80% of the machine's memory). Decimal units as DuckDB counts them (1GB = 10^9 bytes; GiB for
    2^30); at least 16MB and at most the machine's memory, else one sentence.

    >>> import os; os.environ["SALESINTEL_MEMORY_LIMIT"] = "512mb"; memory_limit()
    '512MB'
    >>> del os.environ["SALESINTEL_MEMORY_LIMIT"]; memory_limit() is None
    True
    """
    raw = os.environ.get(ENV_MEMORY_LIMIT, "").strip()
    if not raw:
        return None
    found = _MEMORY.match(raw)
    if found is None or (found.group(2) is None and not raw.lower().endswith("b")):
        raise UserInputError(f"{ENV_MEMORY_LIMIT} {raw!r} is not an amount of memory; write it as 8GB, 512MB or 4GiB")
    unit = (found.group(2) or "").lower()
    size = float(found.group(1)) * _UNITS[unit]
    machine = _machine_memory()
    if size < MIN_MEMORY_BYTES:
        raise UserInputError(f"{ENV_MEMORY_LIMIT} {raw!r} is too little for DuckDB to work in; give at least 16MB")
    if machine and size > machine:
        raise UserInputError(
            f"{ENV_MEMORY_LIMIT} {raw!r} is more than this machine's memory ({machine / 2**30:.1f} GiB); leave it "
            "unset for DuckDB's default (80% of it) or give less"
        )
    return f"{found.group(1)}{unit.upper().replace('I', 'i')}B"


def _machine_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not on every platform
        return None


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
