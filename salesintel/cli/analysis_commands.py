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
            except Exception as exc:  # one failing analysis must not stop the others; the run log says why
                record = registry.run_logged_failure(store, name, params, exc)
                message(f"{name}: failed, {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
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


def _run_and_print(name: str, params, db: str | None, fmt: str, limit: int, result: str | None = None) -> None:
    """Run one analysis with the command's options, store it, print its main result."""
    check_format(fmt)
    store = Store.open(db, create=False)
    _, results = registry.run(store, name, params)
    table = results[result or next(iter(results))]
    df = table.execute() if hasattr(table, "execute") else table.to_pandas()  # Ibis expression or Arrow
    df = df.drop(columns=["run_id"], errors="ignore")
    render(df.head(limit) if fmt == "table" else df, fmt, title=registry.get(name).title)


@app.command()
def rules(
    window_days: Annotated[int, typer.Option(help="B must follow A within this many days.")] = 180,
    min_customers: Annotated[int, typer.Option(help="Support floor: customers who bought A then B.")] = 10,
    top: Annotated[Optional[int], typer.Option(help="Keep the K rules with the highest lift.")] = None,
    by: Annotated[str, typer.Option(help="product or category.")] = "product",
    antecedent: Annotated[Optional[str], typer.Option(help="Only rules starting from this product or category.")] = None,
    same_order: Annotated[bool, typer.Option("--same-order", help="Basket rules: bought in the same order.")] = False,
    min_support: Annotated[float, typer.Option(help="Basket rules: minimum share of orders.")] = 0.001,
    min_confidence: Annotated[float, typer.Option(help="Basket rules: minimum confidence.")] = 0.5,
    max_len: Annotated[int, typer.Option(help="Basket rules: largest itemset (lhs + rhs).")] = 10,
    as_of: AsOf = None,
    limit: Limit = 30,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """Purchase rules: "bought A, then B within N days", or with --same-order, bought together.

    Example: salesintel rules --window-days 90 --top 20 --format csv
    """
    from salesintel.analyses.basket_rules import BasketParams
    from salesintel.analyses.sequential_rules import RuleParams
    from salesintel.errors import UserInputError

    if by not in ("product", "category"):
        raise UserInputError(f"--by {by!r}: use product or category")
    if same_order:
        params = BasketParams(min_support=min_support, min_confidence=min_confidence, max_len=max_len,
                              as_of=parse_date(as_of))
        _run_and_print("basket_rules", params, db, fmt, limit)
        return
    params = RuleParams(window_days=window_days, min_customers=min_customers, top=top, by=by,
                        antecedent=antecedent, as_of=parse_date(as_of))
    _run_and_print("rules", params, db, fmt, limit)


@app.command()
def affinity(
    level: Annotated[str, typer.Option(help="category or product.")] = "category",
    min_group_size: Annotated[int, typer.Option(help="Groups with fewer buyers are not tested.")] = 100,
    as_of: AsOf = None,
    limit: Limit = 30,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """Which groups (age band, gender, region, source, pairs) buy which categories or products most.

    Example: salesintel affinity --level product --format csv
    """
    from salesintel.analyses.affinity import AffinityParams

    _run_and_print("affinity", AffinityParams(level=level, min_group_size=min_group_size, as_of=parse_date(as_of)),
                   db, fmt, limit)


@app.command()
def offers(
    top: Annotated[int, typer.Option(help="Offers per customer.")] = 3,
    window_days: Annotated[int, typer.Option(help="Rule window in days.")] = 180,
    customer: Annotated[Optional[str], typer.Option(help="Only this customer.")] = None,
    as_of: AsOf = None,
    limit: Limit = 30,
    db: Db = None,
    fmt: Format = "table",
) -> None:
    """Next-best offers per customer (cross-sell and upsell) with a reason a rep can say.

    Example: salesintel offers --customer CU000042
    """
    from salesintel.analyses.offers import OfferParams

    check_format(fmt)
    store = Store.open(db, create=False)
    _, results = registry.run(store, "offers", OfferParams(top=top, window_days=window_days, as_of=parse_date(as_of)))
    table = results["offers"]
    if customer:
        table = table.filter(table.customer_id == customer)
    df = table.order_by(table.expected_value.desc()).execute()
    render(df.head(limit) if fmt == "table" else df, fmt, title="Next-best offers")

