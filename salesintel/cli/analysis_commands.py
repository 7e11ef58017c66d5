"""Commands that run and show analyses: analyze, show, report."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from salesintel.analyses import registry
from salesintel.cli import app
from salesintel.cli.options import AsOf, Db, Format, Limit, check_format, parse_date
from salesintel.cli.output import message, progress, render
from salesintel.errors import InsufficientData
from salesintel.store import Store


def run_analyses(store: Store, names: list[str] | None, as_of: date | None) -> list[registry.RunRecord]:
    """Run the named (default: all) analyses with a progress bar; print what each found."""
    names = names or registry.names()
    records = []
    with progress("analysing", len(names)) as bar:
        for name in names:
            bar.describe(f"analysing: {name}")
            analysis = registry.get(name)
            fields = {f for f in analysis.params.__dataclass_fields__}
            params = registry.make_params(analysis, **({"as_of": as_of} if "as_of" in fields else {}))
            try:
                record, _ = registry.run(store, name, params)
            except InsufficientData as exc:
                record = registry.run_logged_failure(store, name, params, exc)
                message(f"{name}: skipped, {exc}")
            records.append(record)
            bar.advance()
    rows = [{"analysis": r.analysis, "status": r.status, "seconds": round(r.seconds, 2),
             "results": ", ".join(f"{k}: {v:,} rows" for k, v in r.row_counts.items())} for r in records]
    render(pd.DataFrame(rows), title="Analyses")
    return records


@app.command()
def analyze(
    names: Annotated[Optional[list[str]], typer.Argument(help="Analyses to run (default: all registered).")] = None,
    as_of: AsOf = None,
    db: Db = None,
) -> None:
    """Run registered analyses and store their results with run metadata.

    Example: salesintel analyze profiles --as-of 2025-06-30
    """
    for name in names or []:
        registry.get(name)
    run_analyses(Store.open(db, create=False), names, parse_date(as_of))


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="A registered analysis.")],
    result: Annotated[Optional[str], typer.Option(help="Which result table of the analysis.")] = None,
    limit: Limit = 20,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """Print the stored result of the latest run of an analysis.

    Example: salesintel show profiles --result segments
    """
    analysis = registry.get(name)
    table = registry.latest(Store.open(db, create=False), name, result)
    col, desc = analysis.order_by.get(result or name, (None, False))
    if col and col in table.columns:
        table = table.order_by(table[col].desc() if desc else table[col])
    check_format(fmt)
    df = (table.limit(limit) if fmt == "table" else table).execute().drop(columns=["run_id"], errors="ignore")
    render(df, fmt, title=analysis.title)


@app.command("list")
def list_analyses(fmt: Format = "table") -> None:
    """List the registered analyses and the question each answers.

    Example: salesintel list
    """
    rows = [{"analysis": n, "title": registry.get(n).title, "question": registry.get(n).question} for n in registry.names()]
    render(pd.DataFrame(rows), check_format(fmt), title="Analyses")


@app.command()
def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
    db: Db = None,
) -> None:
    """Write the HTML report of every analysis that has run (charts and top rows).

    Example: salesintel report -o report.html
    """
    from salesintel.report import build_report

    path = build_report(Store.open(db, create=False), output)
    message(f"report written to {path}")
