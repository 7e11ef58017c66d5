"""Settings: where the store is. One URL, from --db or SALESINTEL_DB, default ./salesintel.duckdb."""

from __future__ import annotations

import os

DEFAULT_DB = "salesintel.duckdb"
ENV_DB = "SALESINTEL_DB"


def database_url(explicit: str | None = None) -> str:
    """The store URL: the explicit value, else $SALESINTEL_DB, else the embedded DuckDB file.

    >>> database_url("duckdb://x.duckdb")
    'duckdb://x.duckdb'
    """
    return explicit or os.environ.get(ENV_DB) or DEFAULT_DB
