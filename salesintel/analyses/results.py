"""Reading kept results: the latest run or any kept one, filtered, ordered and limited in the engine.

Example:
    >>> from salesintel.store import Store
    >>> from salesintel.analyses import results
    >>> store = Store.open(":memory:")
    >>> results.read(store, "profiles")
    Traceback (most recent call last):
    ...
    salesintel.errors.NotFound: profiles has not been run on this database yet; run: salesintel analyze profiles
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from salesintel.analyses import registry
from salesintel.analyses.runner import KEPT_STATUSES
from salesintel.errors import NotFound, UserInputError
from salesintel.lazy import lazy
from salesintel.store import Store

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")
pd = lazy("pandas")

Where = dict[str, Any] | Iterable[Any] | None


def read(
    store: Store,
    name: str,
    result: str | None = None,
    *,
    run_id: str | None = None,
    where: Where = None,
    order_by: str | list[str] | None = None,
    limit: int | None = None,
) -> ir.Table:
    """The rows of ``result`` (default: the analysis's main result) of the latest successful run, or of ``run_id``.

    ``where`` is ``{column: value}`` (equality; a list or tuple means "one of") or Ibis predicates;
    ``order_by`` a column or list of columns, ``-column`` for descending (default: the declared order).
    """
    analysis = registry.get(name)
    result = result or analysis.main
    output = analysis.output(result)
    if run_id is None:
        view = analysis.latest_view(result)
        if not store.has_table(view):
            raise NotFound(_never_kept(store, name))
        table = store.table(view)
    else:
        table = _run_rows(store, analysis, result, run_id)
    table = filter_rows(table, where)
    table = order_rows(table, order_by, output.sort)
    return table.limit(limit) if limit is not None else table


def newer_than_kept(store: Store, name: str) -> str | None:
    """A sentence when the newest run of ``name`` failed or was skipped, so that :func:`read` shows an
    older run's result; None when the newest run is the one shown (or there is none).

    >>> newer_than_kept(Store.open(":memory:"), "profiles") is None
    True
    """
    newest = _latest_run(store, name)
    if newest is None or newest.status in KEPT_STATUSES:
        return None
    shown = _latest_run(store, name, kept=True)
    if shown is None:
        return None  # nothing to show: read says why
    return (
        f"{name}: this is run {shown.run_id} of {shown.started_at:%Y-%m-%d %H:%M} (as of {str(shown.as_of)[:10]}); "
        f"the newest run, {newest.run_id} of {newest.started_at:%Y-%m-%d %H:%M}, {newest.status}: {newest.note}"
    )


def _latest_run(store: Store, name: str, *, kept: bool = False) -> "pd.Series | None":
    """The newest run of ``name`` (with ``kept``: the newest whose results are kept), or None."""
    runs = store.table("analysis_runs")
    mine = runs.filter(runs.analysis == name)
    if kept:
        mine = mine.filter(mine.status.isin(KEPT_STATUSES))
    last = mine.order_by(mine.started_at.desc()).limit(1).execute()
    return None if last.empty else last.iloc[0]


def _never_kept(store: Store, name: str) -> str:
    """Why there is no kept result: never run, or every run so far failed or was skipped (and why)."""
    row = _latest_run(store, name)
    if row is None:
        return f"{name} has not been run on this database yet; run: salesintel analyze {name}"
    return f"{name} has no kept result: its latest run {row.status} ({row.note}); see salesintel runs {name}"


def _run_rows(store: Store, analysis, result: str, run_id: str) -> ir.Table:
    runs = store.table("analysis_runs")
    row = runs.filter((runs.run_id == run_id) & (runs.analysis == analysis.name)).execute()
    if row.empty:
        raise NotFound(f"{analysis.name} has no run {run_id!r}; list them with: salesintel runs {analysis.name}")
    run = row.iloc[0]
    if run.status not in KEPT_STATUSES:
        raise NotFound(f"run {run_id} of {analysis.name} {run.status}: {run.note}")
    if bool(run.pruned):
        raise NotFound(
            f"the results of run {run_id} were pruned (salesintel keeps the last runs of each analysis; "
            f"set SALESINTEL_KEEP_RUNS to keep more)"
        )
    name = analysis.result_table(result)
    stored = store.table(name)
    rows = stored.filter(stored.run_id == run_id)
    older = sorted(t for t in store.list_tables() if t.startswith(f"{name}__v"))
    if older and int(rows.count().execute()) == 0:  # counted only where an older version kept results
        _in_an_older_version(store, older, run_id)
    return rows.drop("run_id")


def _in_an_older_version(store: Store, older: list[str], run_id: str) -> None:
    """Say where a run's rows are when an older version of the analysis, with other columns, kept them in a
    table renamed aside (``NAME__vN``); a run with no rows anywhere simply has none."""
    for table in older:
        old = store.table(table)
        if "run_id" in old.columns and int(old.filter(old.run_id == run_id).count().execute()):
            raise NotFound(
                f"run {run_id} was kept by an older version of the analysis, with other columns, in the table "
                f"{table}; see it with: salesintel export {table}"
            )


def filter_rows(table: ir.Table, where: Where) -> ir.Table:
    """``table`` filtered by ``{column: value}`` or Ibis predicates (in the engine)."""
    if not where:
        return table
    if isinstance(where, dict):
        for column, value in where.items():
            if column not in table.columns:
                raise UserInputError(f"no column {column!r} to filter on; the columns are {', '.join(table.columns)}")
            if isinstance(value, (list, tuple, set)):
                table = table.filter(table[column].isin(list(value)))
            else:
                table = table.filter(table[column] == ibis.literal(value).cast(table[column].type()))
        return table
    return table.filter(*where)


def order_rows(table: ir.Table, order_by: str | list[str] | None, default: tuple[str, bool] | None) -> ir.Table:
    if order_by is None:
        if default is None:
            return table
        column, descending = default
        return table.order_by(ibis.desc(column) if descending else ibis.asc(column))
    keys = [order_by] if isinstance(order_by, str) else list(order_by)
    exprs = []
    for key in keys:
        column = key.lstrip("-")
        if column not in table.columns:
            raise UserInputError(f"no column {column!r} to sort by; the columns are {', '.join(table.columns)}")
        exprs.append(ibis.desc(column) if key.startswith("-") else ibis.asc(column))
    return table.order_by(exprs)


def runs(store: Store, name: str | None = None, *, limit: int | None = 50) -> pd.DataFrame:
    """The recorded runs, newest first: analysis, status, as_of, parameters in words, rows and the note."""
    t = store.table("analysis_runs")
    if name is not None:
        registry.get(name)
        t = t.filter(t.analysis == name)
    t = t.order_by(t.started_at.desc())
    df = (t.limit(limit) if limit else t).execute()
    df["kept"] = df.status.isin(KEPT_STATUSES) & ~df.pruned.eq(True)
    df["seconds"] = df.seconds.round(2)  # as `analyze` prints them; analysis_runs keeps the exact figure
    df["params"] = df.params.map(
        lambda p: ", ".join(f"{k}={v}" for k, v in json.loads(p or "{}").items() if v is not None)
    )
    df["rows"] = df.row_counts.map(lambda r: ", ".join(f"{k}: {v:,}" for k, v in json.loads(r or "{}").items()))
    return df[["run_id", "analysis", "status", "as_of", "started_at", "seconds", "params", "rows", "kept", "note"]]


def with_names(store: Store, rows: pd.DataFrame, output) -> pd.DataFrame:
    """``rows`` (a small, already ordered result) with ``<column>_name`` beside every column that refers to a
    product, customer or rep; the names are looked up in the engine for these rows' ids only.

    An id with no catalogue row, or a category in place of a product, keeps its own text as the name.
    """
    rows = rows.copy()
    for col in output.columns:
        if col.refers is None or col.name not in rows.columns:
            continue
        key = {"products": "product_id", "customers": "customer_id", "reps": "rep_id"}[col.refers]
        ids = [v for v in rows[col.name].dropna().unique().tolist()]
        catalogue = store.table(col.refers)
        names = catalogue.filter(catalogue[key].isin(ids)).select(key, "name").execute() if ids else None
        lookup = dict(zip(names[key], names["name"])) if names is not None else {}
        rows[f"{col.name}_name"] = rows[col.name].map(lambda v: lookup.get(v, v))
    return rows
