"""Commands that move data: demo, load, export, check, schema, tables."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from salesintel import schema
from salesintel.cli import app, fail_if_any_failed
from salesintel.cli.options import Db, Format, Limit, check_format
from salesintel.cli.output import message, progress, render
from salesintel.config import database_url
from salesintel.errors import NothingLoaded, TooManyRejects, UserInputError
from salesintel.lazy import lazy
from salesintel.store import Store, safe_url

pd = lazy("pandas")


@app.command()
def load(
    table: Annotated[str, typer.Argument(help="Target table, or 'all' for every table a --mapping names.")],
    paths: Annotated[list[Path], typer.Argument(help="CSV, Parquet or JSON-lines files (.gz too).")],
    mapping: Annotated[Optional[Path], typer.Option(help="YAML mapping of source columns to canonical ones.")] = None,
    source_format: Annotated[
        Optional[str],
        typer.Option("--source-format", help="csv, tsv, whitespace, parquet or json (default: by extension)."),
    ] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of the file.")] = "utf-8",
    delimiter: Annotated[Optional[str], typer.Option(help="CSV field delimiter.")] = None,
    max_reject_rate: Annotated[
        Optional[float],
        typer.Option(
            help="Fail when more than this share of a table's rows is refused, e.g. 0.05: that table stores "
            "no row (with a mapping, the tables before it are stored)."
        ),
    ] = None,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """Load files into a table; bad rows go to `rejects` with line and reason.

    Example: salesintel load orders orders_2024.csv.gz --max-reject-rate 0.01
    """
    from salesintel.ingest import SourceOptions, load_file

    check_format(fmt)
    target = None if table == "all" else schema.get(table).name
    if target is None and mapping is None:
        raise UserInputError("'all' needs a --mapping that names the tables to fill")
    options = SourceOptions(format=source_format, delimiter=delimiter, encoding=encoding)
    store = Store.open(db)
    reports, failures = [], []
    with progress("loading", len(paths)) as bar:
        for path in paths:
            bar.describe(f"loading {path.name}")
            try:
                reports += load_file(
                    store, path, table=target, mapping=mapping, source=options, max_reject_rate=max_reject_rate
                )
            except (NothingLoaded, TooManyRejects) as exc:
                failures.append(exc)
                message(f"error: {exc}")
            bar.advance()
    if reports:
        render(pd.DataFrame([r.as_row() for r in reports]), fmt, title="Loaded")
        # the hints name the database, so that they run as printed anywhere (a password masked)
        on_db = f" --db {shlex.quote(safe_url(database_url(db)))}"
        for r in reports:
            if r.attributes:
                kept = ", ".join(f"{name} ({type_})" for name, type_ in r.attributes.items())
                message(f"note: {r.table}: kept {kept} as custom attributes (salesintel schema{on_db} lists them)")
            if r.dropped:
                message(f"note: {r.table}: left out {', '.join(r.dropped)}, as the mapping says (drop:)")
            if r.unused:
                message(
                    f"note: no table of the mapping stores the columns {', '.join(r.unused)} of "
                    f"{Path(r.source_file).name}; they were not stored (keep one under a table's attributes:, "
                    f"or say so with drop:)"
                )
            if r.ignored:
                message(
                    f"note: {r.table} has no place for the columns {', '.join(r.ignored)}; they were not stored "
                    f"(only customers, products and opportunities keep custom attributes)"
                )
            if r.rejected:
                message(
                    f"note: {r.rejected:,} {r.table} {'row' if r.rejected == 1 else 'rows'} of "
                    f"{Path(r.source_file).name} {'was' if r.rejected == 1 else 'were'} refused; "
                    f"see why with: salesintel rejects --table {r.table}{on_db}"
                )
            for col, n in r.orphans.items():
                message(
                    f"note: {n:,} {r.table} {'row references' if n == 1 else 'rows reference'} a {col} that is not "
                    f"loaded yet (kept; see salesintel check{on_db})"
                )
    if failures:
        raise typer.Exit(2)


@app.command()
def export(
    table: Annotated[str, typer.Argument(help="Any table: canonical, rejects, tasks, models or a result_* table.")],
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output",
            "-o",
            help="File to write (default TABLE.FORMAT in the current folder, in a terminal); "
            "- for standard output (the default when piped).",
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, parquet, json (one array) or jsonl.")] = "csv",
    db: Db = None,
) -> None:
    """Write a table or result to a file, or to standard output.

    Example: salesintel export rejects --format csv -o rejects.csv; salesintel export orders | head
    """
    import sys

    if fmt not in ("csv", "parquet", "json", "jsonl"):
        raise UserInputError(f"unknown export format {fmt!r}; use csv, parquet, json or jsonl")
    store = Store.open(db, create=False)
    to_stdout = output == "-" or (output is None and not sys.stdout.isatty())
    if to_stdout:
        if fmt == "parquet":
            raise UserInputError("parquet is binary: write it to a file with -o FILE.parquet")
        store.export_expr(store.table(table), sys.stdout.buffer, fmt)
        sys.stdout.flush()
        return
    path = Path(output) if output else Path(f"{table}.{fmt}")
    rows = store.export(table, path, fmt)
    message(f"wrote {rows:,} {'row' if rows == 1 else 'rows'} of {table} to {path}")


REJECT_LABELS = {
    "table_name": "table",
    "source_file": "file",
    "row_key": "key",
    "column_name": "column",
    "value": "value as read",
    "rejected_at": "refused at",
    "closed_by": "closed by load",
}


@app.command()
def rejects(
    everything: Annotated[
        bool, typer.Option("--all", help="The whole history, closed problems too (closed_by names the load).")
    ] = False,
    table: Annotated[Optional[str], typer.Option("--table", help="Only the rejects of this table.")] = None,
    db: Db = None,
    fmt: Format = "table",
    limit: Limit = 50,
) -> None:
    """Show the rows loads refused that are still open: no later load stored their key or reloaded their
    file (the same path or the same content).

    Example: salesintel rejects --table orders --format csv > open_rejects.csv
    """
    from salesintel.ingest.rejects import listed

    check_format(fmt)
    name = schema.get(table).name if table else None
    shown = listed(Store.open(db, create=False), everything=everything, table=name)
    title = "Rejects, all loads" if everything else "Open rejects"
    if fmt != "table":
        render(shown.execute(), fmt, title=title)
        return
    total = int(shown.count().execute())
    if total == 0:
        message("no rejects" if everything else "no open rejects (salesintel rejects --all shows the history)")
        return
    rows = shown.drop("load_id").limit(limit).execute()  # the whole row: --format csv or json
    rows["source_file"] = rows.source_file.map(lambda f: Path(f).name)
    # a record that did not split into fields has no column: show its text as written instead
    whole = rows.column_name.isna() & rows.value.isna() & rows.record.notna()
    rows.loc[whole, "value"] = rows.loc[whole, "record"].map(json.loads)
    rows = rows.drop(columns="record").rename(columns=REJECT_LABELS)
    more = f", first {limit} of {total:,} (--limit, or --format csv for all)" if total > limit else ""
    render(rows, fmt, title=f"{title}{more}")


@app.command()
def check(db: Db = None, fmt: Format = "table") -> None:
    """Report data-quality problems per table: refused rows, orphans, missing and odd values.

    Example: salesintel check --format csv
    """
    from salesintel.quality import data_quality

    render(pd.DataFrame(data_quality(Store.open(db, create=False))), check_format(fmt), title="Data quality")


@app.command("schema")
def schema_command(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/schema.md.")] = False,
    db: Annotated[Optional[str], typer.Option("--db", help="Also list this database's custom attributes.")] = None,
    fmt: Format = "table",
) -> None:
    """Show the canonical data model (13 tables) and, with --db, the custom attributes your files added.

    Example: salesintel schema --markdown > docs/schema.md
    """
    if markdown:
        typer.echo(schema.markdown())
        return
    rows = [
        {
            "table": t.name,
            "column": c.name,
            "type": c.type,
            "required": c.required,
            "allowed": ", ".join(c.allowed or ()),
            "description": c.description,
        }
        for t in schema.CANONICAL
        for c in t.columns
    ]
    if db is not None or _default_db_exists():
        from salesintel.ingest.attributes import listed

        extra = listed(Store.open(db, create=False)).execute()
        if extra.empty:
            message(
                "no custom attributes in this database yet (extra columns of a customers, products or "
                "opportunities file become custom attributes)"
            )
        rows += [
            {
                "table": a.table_name,
                "column": a.column_name,
                "type": a.type,
                "required": False,
                "allowed": "",
                "description": f"custom attribute, from column {a.source_column!r} of {Path(a.source_file).name}",
            }
            for a in extra.itertuples()
        ]
    render(pd.DataFrame(rows), check_format(fmt), title="Canonical tables")


def _default_db_exists() -> bool:
    """True when $SALESINTEL_DB names a database (any engine) or the default DuckDB file exists."""
    import os

    from salesintel.config import ENV_DB, database_url

    return bool(os.environ.get(ENV_DB)) or Path(database_url(None)).exists()


@app.command()
def tables(db: Db = None, fmt: Format = "table") -> None:
    """List the tables in the database with their row counts.

    Example: salesintel tables --db demo/salesintel.duckdb
    """
    store = Store.open(db, create=False)
    rows = [{"table": name, "rows": store.count(name)} for name in store.list_tables()]
    render(pd.DataFrame(rows), check_format(fmt), title=store.shown_url)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="About how many customers and prospects.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same company.")] = 42,
    data_dir: Annotated[
        Optional[Path], typer.Option(help="Where to write the CSV files (default: beside the database).")
    ] = None,
    report: Annotated[
        Optional[Path], typer.Option(help="Where to write the HTML report (default: beside the database).")
    ] = None,
    db: Db = None,
) -> None:
    """Generate the demo company, load it, run every analysis and write the report.

    Example: salesintel demo --customers 2000 --db demo.duckdb
    """
    from salesintel.analyses import registry, runner
    from salesintel.cli.analysis_commands import _render_records
    from salesintel.demo import load_order, play_winback_round, write_demo
    from salesintel.ingest import load_file
    from salesintel.report import build_report

    store = Store.open(db)
    base = store.engine.local_folder() or Path(".")
    data_dir = data_dir or base / "demo-data"
    report = report or base / "report.html"
    paths = write_demo(data_dir, customers=customers, seed=seed)
    loaded = []
    with progress("loading", len(paths)) as bar:
        for name in load_order():
            bar.describe(f"loading {name}")
            loaded += load_file(store, paths[name], table=name)
            bar.advance()
    message(f"Crema & Co. demo company written to {data_dir} (planted truths: {data_dir / 'truth.json'})")
    render(pd.DataFrame([r.as_row() for r in loaded]), title="Loaded")
    played = play_winback_round(store)
    message(f"win-back round played: {played.created:,} tasks at the as-of date, outcomes recorded")
    with progress("analysing", len(registry.names())) as bar:
        records = runner.run_all(store, on_step=lambda n: bar.advance(f"analysing: {n}"))
    _render_records(records, "table")
    build_report(store, report, title="Crema & Co. - salesintel demo report")
    message(f"database: {store.shown_url}\nreport:   {report}")
    fail_if_any_failed(records)
