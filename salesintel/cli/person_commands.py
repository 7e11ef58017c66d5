"""Privacy commands: person export (everything held about one person, one JSON document) and person erase."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from salesintel.cli import app
from salesintel.cli.options import Db
from salesintel.cli.output import message
from salesintel.errors import UserInputError
from salesintel.store import Store

person_app = typer.Typer(
    help="Privacy: export or erase everything salesintel holds about one person (docs/privacy.md).",
    rich_markup_mode=None,
    no_args_is_help=True,
)
app.add_typer(person_app, name="person")

CustomerId = Annotated[Optional[str], typer.Argument(help="The person's customer id.", show_default=False)]
Email = Annotated[
    Optional[str], typer.Option("--email", help="Name the person by e-mail address instead.", show_default=False)
]


@person_app.command("export")
def export(
    customer_id: CustomerId = None,
    email: Email = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write the JSON to this file (default: stdout).")
    ] = None,
    db: Db = None,
) -> None:
    """Write everything held about one person as one JSON document: their rows in every table, every kept
    analysis result, tasks, rejects that carry their id or e-mail, and what the models keep.

    Example: salesintel person export CU000042 -o CU000042.json
    """
    from salesintel.privacy import person_export

    doc = person_export(Store.open(db, create=False), customer_id, email=email)
    text = json.dumps(doc, indent=1, ensure_ascii=False, default=str) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    rows = sum(len(r) for part in ("tables", "results") for r in doc[part].values())
    message(f"{rows:,} rows about the person written to {output}")


@person_app.command("erase")
def erase(
    customer_id: CustomerId = None,
    email: Email = None,
    by: Annotated[
        Optional[str], typer.Option(help="Who erases, for the audit row (default: the operating-system user).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: Db = None,
) -> None:
    """Remove everything held about one person: their rows in every table and every kept result, tasks,
    rejects that mention them; mark models fitted on their data stale; record the erasure (counts only).

    Example: salesintel person erase CU000042 --by dpo --yes
    """
    from salesintel.privacy import person_erase

    who = customer_id if customer_id is not None else email
    if not yes:
        if not sys.stdin.isatty():
            raise UserInputError("person erase removes data for good; add --yes to run it without a prompt")
        try:
            confirmed = typer.confirm(f"Erase everything about {who}? This cannot be undone", default=False)
        except (typer.Abort, EOFError, KeyboardInterrupt):
            confirmed = False
        if not confirmed:
            raise UserInputError(f"not confirmed: nothing about {who} was erased")
    report = person_erase(Store.open(db, create=False), customer_id, email=email, by=by)
    if report.customers > 1:
        message(f"{report.customers} customers share the address {email}; all of them were erased")
    for table, n in sorted(report.rows_removed.items()):
        message(f"  {table}: {n:,} rows removed")
    message(
        f"erasure {report.erasure_id}: {report.total:,} rows removed from {len(report.rows_removed)} tables, "
        f"{report.models_stale} models marked stale (refitted by the next run)"
    )
