"""Customer health commands: clv, decline, winback, tasks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from salesintel.analyses import registry
from salesintel.cli import app
from salesintel.cli.options import AsOf, Db, Format, Limit, check_format, parse_date
from salesintel.cli.output import message, render, render_json
from salesintel.errors import UserInputError
from salesintel.store import Store

tasks_app = typer.Typer(help="The win-back worklist: list tasks, record outcomes, export a call list.")
app.add_typer(tasks_app, name="tasks")


@app.command()
def clv(
    horizon_days: Annotated[int, typer.Option(help="Predict purchases and value over this many days.")] = 365,
    discount_rate: Annotated[float, typer.Option(help="Yearly discount rate for the value of later purchases.")] = 0.10,
    time_unit: Annotated[str, typer.Option(help="Unit of recency, T and the rate parameters: days or weeks.")] = "weeks",
    show_params: Annotated[bool, typer.Option("--show-params", help="Print the fitted parameters and log-likelihood.")] = False,
    as_of: AsOf = None,
    limit: Limit = 30,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """Customer lifetime value (BG/NBD purchases x Gamma-Gamma spend), fitted on the data up to --as-of.

    Example: salesintel clv --as-of 1997-09-30 --time-unit weeks --show-params --format json
    """
    from salesintel.analyses.clv import ClvParams, params_from_model

    check_format(fmt)
    if time_unit not in ("days", "weeks"):
        raise UserInputError(f"--time-unit {time_unit!r}: use days or weeks")
    params = ClvParams(horizon_days=horizon_days, discount_rate=discount_rate, time_unit=time_unit,
                       as_of=parse_date(as_of))
    _, results = registry.run(Store.open(db, create=False), "clv", params)
    if show_params:
        fitted = params_from_model(results["model"])
        if fmt == "json":
            render_json(fitted)
        else:
            for model, values in fitted.items():
                message(f"{model}: " + ", ".join(f"{k} = {v:.6g}" for k, v in values.items()))
        return
    df = results["customers"].to_pandas()
    render(df.head(limit) if fmt == "table" else df, fmt, title="Customer lifetime value")


@app.command()
def decline(
    window_days: Annotated[int, typer.Option(help="Compare the last this many days with the year before.")] = 90,
    min_drop: Annotated[float, typer.Option(help="Smallest drop in purchases to flag (0.5 = 50%).")] = 0.5,
    lost_after_days: Annotated[int, typer.Option(help="No order for this long: long gone, not declining.")] = 365,
    include_lost: Annotated[bool, typer.Option("--include-lost", help="Also list long-gone customers.")] = False,
    as_of: AsOf = None,
    limit: Limit = 30,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """Customers whose buying has declined, with the reason in words and the value at risk.

    Example: salesintel decline --window-days 90 --min-drop 0.5 --format csv
    """
    from salesintel.analyses.decline import DeclineParams

    check_format(fmt)
    params = DeclineParams(window_days=window_days, min_drop=min_drop, lost_after_days=lost_after_days,
                           include_lost=include_lost, as_of=parse_date(as_of))
    _, results = registry.run(Store.open(db, create=False), "decline", params)
    df = results["customers"].to_pandas()
    render(df.head(limit) if fmt == "table" else df, fmt, title="Declining customers")


@app.command()
def winback(
    assign: Annotated[bool, typer.Option("--assign", help="Turn the decline list into tasks for reps.")] = False,
    report: Annotated[bool, typer.Option("--report", help="Reactivation of contacted vs not contacted customers.")] = False,
    due_days: Annotated[int, typer.Option(help="New tasks are due this many days after they are created.")] = 7,
    follow_up_days: Annotated[int, typer.Option(help="--report: a purchase within this many days counts as reactivated.")] = 90,
    window_days: Annotated[int, typer.Option(help="Decline window in days.")] = 90,
    min_drop: Annotated[float, typer.Option(help="Smallest drop to flag.")] = 0.5,
    as_of: AsOf = None,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """The win-back loop: --assign creates tasks from the decline list, --report measures reactivation.

    With --as-of, tasks are dated that day (to replay a past list); otherwise they are dated now.
    Example: salesintel winback --assign && salesintel tasks --rep R03
    """
    from salesintel.analyses.decline import DeclineParams
    from salesintel.winback import assign_tasks, winback_report

    check_format(fmt)
    if assign == report:
        raise UserInputError("say what to do: salesintel winback --assign or salesintel winback --report")
    store = Store.open(db, create=False)
    if report:
        render(winback_report(store, follow_up_days=follow_up_days), fmt, title="Win-back: reactivation")
        return
    day = parse_date(as_of)
    _, results = registry.run(store, "decline", DeclineParams(window_days=window_days, min_drop=min_drop, as_of=day))
    created = assign_tasks(store, results["customers"], due_days=due_days,
                           created_at=datetime.combine(day, datetime.min.time()) if day else None)
    message(f"{created.created:,} tasks created; {created.already_open:,} customers already had an open task")


@tasks_app.callback(invoke_without_command=True)
def tasks(
    ctx: typer.Context,
    rep: Annotated[Optional[str], typer.Option(help="Only this rep's tasks.")] = None,
    status: Annotated[Optional[str], typer.Option(help="open, done or skipped.")] = None,
    export: Annotated[Optional[Path], typer.Option("--export", help="Write the open call list (.csv, .parquet, .json).")] = None,
    limit: Limit = 30,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """List win-back tasks, or with --export write a call list with the phone or e-mail for each channel.

    Example: salesintel tasks --rep R03 --status open
    """
    if ctx.invoked_subcommand is not None:
        return
    from salesintel.winback import export_call_list, list_tasks

    check_format(fmt)
    store = Store.open(db, create=False)
    if export is not None:
        rows = export_call_list(store, export, rep=rep)
        message(f"{rows:,} open tasks written to {export}")
        return
    df = list_tasks(store, rep=rep, status=status).execute()
    render(df.head(limit) if fmt == "table" else df, fmt, title="Win-back tasks")


@tasks_app.command("done")
def tasks_done(
    task_id: Annotated[str, typer.Argument(help="The task, e.g. T000042.")],
    outcome: Annotated[str, typer.Option(help="reactivated, promised, no_answer or lost.")],
    notes: Annotated[Optional[str], typer.Option(help="What was said.")] = None,
    db: Db = None,
) -> None:
    """Record the outcome of a task.

    Example: salesintel tasks done T000042 --outcome promised --notes "orders after the holidays"
    """
    from salesintel.winback import complete_task

    complete_task(Store.open(db, create=False), task_id, outcome=outcome, notes=notes)
    message(f"{task_id}: done, {outcome}")
