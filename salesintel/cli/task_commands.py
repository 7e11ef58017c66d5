"""The win-back worklist commands: winback --assign, tasks (list, export), tasks done."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from salesintel.cli import app
from salesintel.cli.options import AsOf, Db, Format, Limit, check_format, parse_date
from salesintel.cli.output import message, render
from salesintel.store import Store

tasks_app = typer.Typer(
    help="The win-back worklist: list tasks, record outcomes, export a call list.", rich_markup_mode=None
)
app.add_typer(tasks_app, name="tasks")


@app.command()
def winback(
    due_days: Annotated[int, typer.Option(help="New tasks are due this many days after they are created.")] = 7,
    window_days: Annotated[int, typer.Option(help="Decline window in days.")] = 90,
    min_drop: Annotated[float, typer.Option(help="Smallest drop to flag.")] = 0.5,
    as_of: AsOf = None,
    db: Db = None,
) -> None:
    """Turn the decline list into tasks for the reps (one open task per customer).

    With --as-of, tasks are dated that day (to replay a past list); otherwise they are dated now. What the
    tasks achieved: salesintel reactivation.
    Example: salesintel winback && salesintel tasks --rep R03
    """
    from salesintel.tasks import assign_winback

    created = assign_winback(
        Store.open(db, create=False),
        as_of=parse_date(as_of),
        due_days=due_days,
        window_days=window_days,
        min_drop=min_drop,
    )
    message(f"{created.created:,} tasks created; {created.already_open:,} customers already had an open task")


@tasks_app.callback(invoke_without_command=True)
def tasks(
    ctx: typer.Context,
    rep: Annotated[Optional[str], typer.Option(help="Only this rep's tasks.")] = None,
    status: Annotated[Optional[str], typer.Option(help="open, done or skipped.")] = None,
    export: Annotated[
        Optional[Path], typer.Option("--export", help="Write the open call list (.csv, .parquet, .json).")
    ] = None,
    limit: Limit = 30,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """List win-back tasks, or with --export write a call list with the phone or e-mail for each channel.

    Example: salesintel tasks --rep R03 --status open
    """
    if ctx.invoked_subcommand is not None:
        return
    from salesintel.tasks import export_call_list, list_tasks

    check_format(fmt)
    store = Store.open(db, create=False)
    if export is not None:
        rows = export_call_list(store, export, rep=rep)
        message(f"{rows:,} open tasks written to {export}")
        return
    table = list_tasks(store, rep=rep, status=status)
    render((table.limit(limit) if fmt == "table" else table).execute(), fmt, title="Win-back tasks")


@tasks_app.command("done")
def tasks_done(
    task_id: Annotated[str, typer.Argument(help="The task, e.g. T000042.")],
    outcome: Annotated[str, typer.Option(help="reactivated, promised, no_answer or lost.")],
    notes: Annotated[Optional[str], typer.Option(help="What was said.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the outcome of a task already done.")] = False,
    db: Db = None,
) -> None:
    """Record the outcome of a task.

    Example: salesintel tasks done T000042 --outcome promised --notes "orders after the holidays"
    """
    from salesintel.tasks import complete_task

    complete_task(Store.open(db, create=False), task_id, outcome=outcome, notes=notes, force=force)
    message(f"{task_id}: done, {outcome}")
