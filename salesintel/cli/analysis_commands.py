"""Commands that run and read analyses: one per registered analysis (generated), analyze, show, runs, list,
report. Every one parses, calls one library function and renders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from salesintel.analyses import registry, results, runner
from salesintel.analyses.spec import Analysis
from salesintel.cli import app, fail_if_any_failed, fail_run
from salesintel.cli.generated import (
    command_doc,
    param_options,
    param_values,
    reader_options,
    where_from,
    with_signature,
)
from salesintel.cli.options import AsOf, Db, Format, Limit, check_format, parse_date
from salesintel.cli.output import message, progress, render
from salesintel.errors import UserInputError
from salesintel.store import Store

analyze_app = typer.Typer(
    help="Run analyses and keep their results as a new run (default: every analysis).\n\n"
    "Example: salesintel analyze --as-of 2025-06-30, salesintel analyze rules --window-days 90\n\n"
    "When an analysis fails the others are still kept; the exit code is then 1, or 2 when it ran out of"
    " memory under your SALESINTEL_MEMORY_LIMIT.",
    rich_markup_mode=None,
)
app.add_typer(analyze_app, name="analyze")


@analyze_app.callback(invoke_without_command=True)
def analyze(ctx: typer.Context, as_of: AsOf = None, db: Db = None, fmt: Format = "table") -> None:
    """Run every registered analysis with its defaults; each is kept as a new run with its status."""
    if ctx.invoked_subcommand is not None:
        # an option before the analysis's name belongs to this command, and the analysis would not see it
        given = [flag for flag, value in (("--as-of", as_of), ("--db", db)) if value is not None]
        given += ["--format"] if fmt != "table" else []
        if given:
            raise UserInputError(
                f"write {', '.join(given)} after the analysis's name: "
                f"salesintel analyze {ctx.invoked_subcommand} {given[0]} ..."
            )
        return
    check_format(fmt)
    store = Store.open(db, create=False)
    names = registry.names()
    with progress("analysing", len(names)) as bar:
        records = runner.run_all(store, as_of=parse_date(as_of), on_step=lambda n: bar.advance(f"analysing: {n}"))
    _render_records(records, fmt)
    fail_if_any_failed(records)  # the others are kept; a script or scheduler must still see the failure


def _render_records(records: list[runner.RunRecord], fmt: str) -> None:
    import pandas as pd

    for r in records:
        if r.status not in ("ok", "failed"):  # a failure is said after the table (fail_if_any_failed)
            message(f"{r.analysis}: {r.status}, {r.note}")
    rows = [
        {
            "analysis": r.analysis,
            "status": r.status,
            "as_of": r.as_of,
            "seconds": round(r.seconds, 2),
            "results": ", ".join(f"{k}: {v:,} rows" for k, v in r.row_counts.items()),
            "run_id": r.run_id,
        }
        for r in records
    ]
    render(pd.DataFrame(rows), fmt, title="Analyses")


def _analysis_command(analysis: Analysis, *, keep: bool):
    """``salesintel NAME`` (compute and print; --save keeps it) or ``salesintel analyze NAME`` (keep)."""

    def command(**kwargs: Any) -> None:
        fmt = check_format(kwargs["fmt"])
        values = param_values(analysis, kwargs)
        store = Store.open(kwargs["db"], create=False)
        save = keep or kwargs.get("save", False)
        outcome = runner.run(store, analysis.name, save=save, **values)
        record = outcome.record
        if record.status == "failed":
            fail_run(record)
        if record.status != "ok":
            message(f"{analysis.name}: {record.status}, {record.note}")
        if save:
            message(f"kept as run {record.run_id} (salesintel show {analysis.name} --run {record.run_id})")
        result = kwargs.get("result") or analysis.main
        output = analysis.output(result)
        where = where_from(kwargs)
        table = results.filter_rows(outcome.tables[result], where)
        table = results.order_rows(table, kwargs.get("order_by"), output.sort)
        # the run counted its rows; counting the filtered ones would compute the analysis again
        total = None if where else record.row_counts.get(result)
        _print(store, table, output, fmt, kwargs["limit"], analysis.title, None if total is None else lambda: total)

    params = param_options(analysis) + reader_options(analysis)
    if not keep:
        params.append(_save_option())
    example = f"salesintel {'analyze ' if keep else ''}{analysis.name} --format csv"
    return with_signature(command, params, command_doc(analysis, example))


def _save_option():
    import inspect

    return inspect.Parameter(
        "save",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool, typer.Option("--save", help="Keep this run's results (otherwise they are printed only).")
        ],
    )


def _print(
    store: Store, table, output, fmt: str, limit: int, title: str, count: Callable[[], int] | None = None
) -> None:
    """Table format: the first ``limit`` rows as people read them (names beside ids, formatted numbers, the
    columns to read first), the title saying when there are more (of ``count()``, asked only then); csv and
    json: every row, every declared column, values as they are."""
    if fmt == "table":
        from salesintel.formatting import readable

        rows = table.limit(limit + 1).execute()  # one more than shown: whether there are more
        shown, _ = readable(results.with_names(store, rows.head(limit), output), output)
        more = []
        if len(rows) > limit:
            more.append(f"first {limit}{f' of {count():,}' if count is not None else ''} rows: --limit N")
        more += ["more columns: --format csv"] if output.brief else []
        render(shown, fmt, title=f"{title} ({'; '.join(more)})" if more else title)
    else:
        render(table.execute(), fmt, title=title)


def _register_analysis_commands() -> None:
    for name in registry.names():
        analysis = registry.get(name)
        app.command(name.replace("_", "-"), help=None)(_analysis_command(analysis, keep=False))
        analyze_app.command(name.replace("_", "-"))(_analysis_command(analysis, keep=True))
        if "_" in name:  # the name as `list`, `runs` and the tables print it works too (not listed twice)
            app.command(name, hidden=True)(_analysis_command(analysis, keep=False))
            analyze_app.command(name, hidden=True)(_analysis_command(analysis, keep=True))


_register_analysis_commands()


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="A registered analysis (salesintel list).")],
    result: Annotated[Optional[str], typer.Option(help="Which result of the analysis (default: its main one).")] = None,
    run: Annotated[
        Optional[str], typer.Option("--run", help="A kept run (salesintel runs NAME); default the latest.")
    ] = None,
    where: Annotated[Optional[list[str]], typer.Option(help="Only rows where COLUMN=VALUE (repeat for more).")] = None,
    order_by: Annotated[Optional[str], typer.Option(help="Sort by this column (-column for descending).")] = None,
    limit: Limit = 20,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """Print a kept result: the latest successful run, or --run RUN_ID.

    Example: salesintel show profiles --result segments --format csv
    """
    check_format(fmt)
    analysis = registry.get(name.replace("-", "_"))
    output = analysis.output(result)
    store = Store.open(db, create=False)
    table = results.read(
        store, analysis.name, result or analysis.main, run_id=run, where=where_from({"where": where}), order_by=order_by
    )
    _print(store, table, output, fmt, limit, analysis.title, lambda: int(table.count().execute()))  # kept: cheap
    if run is None and (warning := results.newer_than_kept(store, analysis.name)) is not None:
        message(warning)  # stale numbers must not pass for fresh ones


@app.command()
def runs(
    name: Annotated[Optional[str], typer.Argument(help="Only this analysis's runs.")] = None,
    limit: Limit = 30,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """List the recorded runs, newest first: status, as-of date, parameters, rows, whether results are kept.

    Example: salesintel runs rules
    """
    check_format(fmt)
    df = results.runs(Store.open(db, create=False), name.replace("-", "_") if name else None, limit=limit)
    render(df, fmt, title="Runs")


@app.command("list")
def list_analyses(fmt: Format = "table") -> None:
    """List the registered analyses, the question each answers and what they return.

    Example: salesintel list
    """
    import pandas as pd

    rows = [
        {
            "analysis": n,
            "title": registry.get(n).title,
            "question": registry.get(n).question,
            "results": ", ".join(registry.get(n).outputs),
        }
        for n in registry.names()
    ]
    render(pd.DataFrame(rows), check_format(fmt), title="Analyses")


@app.command()
def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
    db: Db = None,
) -> None:
    """Write the HTML report: a summary first, then every analysis's latest run with charts and tables.

    Example: salesintel report -o report.html
    """
    from salesintel.report import build_report

    path = build_report(Store.open(db, create=False), output)
    message(f"report written to {path}")
