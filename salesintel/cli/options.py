"""Options shared by every command, declared once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Optional

import typer

from salesintel.config import ENV_DB
from salesintel.errors import UserInputError

Db = Annotated[
    Optional[str],
    typer.Option(
        "--db", help=f"Database URL or .duckdb path (default ${ENV_DB} or ./salesintel.duckdb).", show_default=False
    ),
]
FORMATS = ("table", "csv", "json", "jsonl")
Format = Annotated[
    str, typer.Option("--format", "-f", help="Output: table, csv, json (one array) or jsonl (a record a line).")
]
AsOf = Annotated[
    Optional[str], typer.Option("--as-of", help="Analyse the data as of this date (YYYY-MM-DD); later data is ignored.")
]
Limit = Annotated[int, typer.Option("--limit", "-n", help="Rows to print in table format.")]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UserInputError(f"unknown output format {fmt!r}; use table, csv, json or jsonl")
    return fmt


def parse_date(value: str | None, option: str = "--as-of") -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise UserInputError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from None
