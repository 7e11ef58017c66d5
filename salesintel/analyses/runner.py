"""The one runner: resolve as_of, validate parameters, compute, check the outputs against their
declaration, keep the results per run and record the run with its status.

Statuses: ``ok``; ``skipped`` (not enough data, the reason in words); ``fallback`` (a documented fallback
was used, ``note`` says which); ``failed`` (the error). A failed or skipped run leaves the results of
earlier runs as they were.

Example:
    >>> from salesintel.store import Store
    >>> from salesintel.analyses import runner
    >>> store = Store.open(":memory:")
    >>> outcome = runner.run(store, "profiles")
    >>> outcome.record.status, outcome.record.note
    ('skipped', 'there are no orders yet; load orders first (salesintel load orders FILE)')
    >>> outcome.tables["profiles"].columns[:3]
    ('customer_id', 'first_order_at', 'last_order_at')
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable

import pyarrow as pa

from salesintel.analyses import registry
from salesintel.analyses.spec import TYPES, Analysis, Output, Params
from salesintel.config import keep_runs
from salesintel.errors import InsufficientData, OutputMismatch, SalesIntelError, UserInputError
from salesintel.lazy import lazy
from salesintel.store import Store, conform_arrow, now_utc

ibis = lazy("ibis")
dt = lazy("ibis.expr.datatypes")
ir = lazy("ibis.expr.types")

STATUSES = ("ok", "skipped", "fallback", "failed")
#: the statuses of a run whose results are kept (the latest of them is what `show` and the report read)
KEPT_STATUSES = ("ok", "fallback")


@dataclass
class RunRecord:
    """What one run did."""

    run_id: str
    analysis: str
    as_of: date | None
    params: dict
    status: str = "ok"
    note: str | None = None  # why it was skipped, which fallback, or the error
    seconds: float = 0.0
    row_counts: dict[str, int] = field(default_factory=dict)
    error: Exception | None = field(default=None, repr=False)  # the exception of a failed run, for --debug


@dataclass
class RunOutcome:
    """A run's record and its result tables (read back from the store when saved)."""

    record: RunRecord
    tables: dict[str, ir.Table]

    def __getitem__(self, result: str) -> ir.Table:
        return self.tables[result]


class Context:
    """What an analysis sees: its declared input tables, the as-of date, the fitted models, fallback notes."""

    def __init__(self, store: Store, analysis: Analysis, as_of: date, run_id: str) -> None:
        self._store, self._analysis = store, analysis
        self.as_of, self.run_id = as_of, run_id
        self.notes: list[str] = []

    def table(self, name: str) -> ir.Table:
        if name not in self._analysis.inputs:
            raise RuntimeError(f"{self._analysis.name} reads {name!r} without declaring it in inputs")
        return self._store.table(name)

    def fallback(self, note: str) -> None:
        """Record that a documented fallback was used (the run's status becomes ``fallback``)."""
        self.notes.append(note)

    def load_model(self, name: str, *, fingerprint: dict) -> Any | None:
        """The model ``name`` fitted at this as-of date on the same data, or None."""
        from salesintel.models.storage import load_model

        return load_model(self._store, name, as_of=self.as_of, fingerprint=fingerprint)

    def save_model(self, name: str, model: Any, *, fingerprint: dict, metadata: dict | None = None) -> None:
        from salesintel.models.storage import save_model

        save_model(
            self._store,
            name,
            model,
            as_of=self.as_of,
            run_id=self.run_id,
            analysis=self._analysis.name,
            fingerprint=fingerprint,
            metadata=metadata or {},
        )


def make_params(analysis: Analysis, **values: Any) -> Params:
    """The analysis's parameters from keyword values (None means: the default); validated by the class."""
    allowed = {s.name for s in analysis.params.specs()}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise UserInputError(
            f"{analysis.name} has no parameter {', '.join(unknown)}; it takes {', '.join(sorted(allowed))}"
        )
    return analysis.params(**{k: v for k, v in values.items() if v is not None})


def run(store: Store, name: str, *, save: bool = True, params: Params | None = None, **values: Any) -> RunOutcome:
    """Run analysis ``name`` with ``params`` (or keyword values); with ``save`` keep its results as a new run.

    Never raises for the analysis's own failure: the outcome's status says ``failed`` with the error;
    bad parameters raise :class:`UserInputError` before anything runs.
    """
    analysis = registry.get(name)
    params = params if params is not None else make_params(analysis, **values)
    run_id, started, t0 = uuid.uuid4().hex[:12], now_utc(), time.perf_counter()
    record = RunRecord(run_id, name, params.as_of, params.as_dict())
    tables: dict[str, ir.Table] = {}
    try:
        record.as_of = resolve_as_of(store, analysis, params.as_of)
        ctx = Context(store, analysis, record.as_of, run_id)
        results = analysis.compute(ctx, params.replace(as_of=record.as_of))
        checked = {result: conform(analysis, result, results.get(result)) for result in analysis.outputs}
        _check_no_extra(analysis, results)
        if ctx.notes:
            record.status, record.note = "fallback", "; ".join(ctx.notes)
        tables = _keep(store, analysis, checked, record) if save else {r: _as_expr(t) for r, t in checked.items()}
        record.row_counts = {r: _count(t) for r, t in tables.items()}
    except InsufficientData as exc:
        record.status, record.note = "skipped", str(exc)
    except Exception as exc:  # one failing analysis must not stop the others; the record says why
        record.status, record.note = "failed", _error_line(exc)
        record.error = exc
        if save:
            _forget(store, analysis, [run_id])
    record.seconds = time.perf_counter() - t0
    if save:
        _log(store, record, started)
        if record.status in KEPT_STATUSES:
            prune(store, name, keep=keep_runs())
    if record.status in ("skipped", "failed"):
        tables = {r: empty(analysis.outputs[r]) for r in analysis.outputs}
    return RunOutcome(record, tables)


def run_all(
    store: Store,
    *,
    as_of: date | None = None,
    names: Iterable[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> list[RunRecord]:
    """Run every registered analysis (or ``names``) with its defaults at ``as_of``; one record each."""
    records = []
    for name in names or registry.names():
        if on_step:
            on_step(name)
        records.append(run(store, name, as_of=as_of).record)
    return records


def resolve_as_of(store: Store, analysis: Analysis, as_of: date | None) -> date:
    """``as_of``, else the date of the last order; an analysis needs orders up to that day to mean anything."""
    orders = store.table("orders")
    if as_of is None:
        last = orders.ordered_at.max().execute()
        if _missing(last):
            raise InsufficientData("there are no orders yet; load orders first (salesintel load orders FILE)")
        return last.date() if isinstance(last, datetime) else last
    if "orders" in analysis.inputs:
        first = orders.ordered_at.min().execute()
        if _missing(first) or first.date() > as_of:
            raise InsufficientData(
                "there are no orders up to the as-of date; load orders first (salesintel load orders FILE)"
            )
    return as_of


def _missing(value: Any) -> bool:
    """None, NaT or NaN: what an engine returns for the max of an empty column."""
    return value is None or value != value or not hasattr(value, "year")


# -- checking outputs against their declaration --------------------------------------------------------------
def conform(analysis: Analysis, result: str, table: "ir.Table | pa.Table | None") -> "ir.Table | pa.Table":
    """``table`` with exactly the declared columns, in order, with the declared types: an Arrow table stays
    Arrow (so it is written by the engine's bulk path), an expression stays an expression.

    Raises :class:`OutputMismatch` for a missing result, a missing or undeclared column, or a type that
    cannot be the declared one (an integer may widen to float; an all-null or empty column takes any type).
    """
    output = analysis.outputs[result]
    if table is None:
        raise OutputMismatch(f"{analysis.name} returned no {result!r} result")
    is_arrow = isinstance(table, pa.Table)
    got = ibis.Schema.from_pyarrow(table.schema) if is_arrow else table.schema()
    missing = [c for c in output.names if c not in got]
    extra = [c for c in got.names if c not in output.names]
    if missing or extra:
        raise OutputMismatch(
            f"{analysis.name}.{result}: "
            + "; ".join(
                ([f"missing declared columns {', '.join(missing)}"] if missing else [])
                + ([f"undeclared columns {', '.join(extra)}"] if extra else [])
            )
        )
    empty_rows = is_arrow and table.num_rows == 0
    for col in output.columns:
        if not (empty_rows or _compatible(got[col.name], dt.dtype(TYPES[col.type]))):
            raise OutputMismatch(f"{analysis.name}.{result}.{col.name} is {got[col.name]}, declared {col.type}")
    if is_arrow:
        # typed in Arrow: an all-null column has Arrow's null type, which PostgreSQL cannot store
        return conform_arrow(output.ibis_schema(), table)
    cols = []
    for col in output.columns:
        want, have = dt.dtype(TYPES[col.type]), got[col.name]
        cols.append(table[col.name] if have == want else table[col.name].cast(want).name(col.name))
    return table.select(*cols)


def _as_expr(table: "ir.Table | pa.Table") -> ir.Table:
    return ibis.memtable(table) if isinstance(table, pa.Table) else table


def _compatible(have: dt.DataType, want: dt.DataType) -> bool:
    if have.is_null() or have == want:
        return True
    if want.is_floating():
        return have.is_numeric()
    if want.is_integer():
        return have.is_integer()
    if want.is_timestamp():
        return have.is_timestamp()
    return type(have) is type(want)


def _check_no_extra(analysis: Analysis, results: dict) -> None:
    extra = sorted(set(results) - set(analysis.outputs))
    if extra:
        raise OutputMismatch(f"{analysis.name} returned undeclared results {', '.join(extra)}")


def empty(output: Output) -> ir.Table:
    """The declared columns with zero rows."""
    return ibis.memtable(pa.Table.from_pylist([], schema=output.ibis_schema().to_pyarrow()))


# -- keeping results per run ---------------------------------------------------------------------------------
def _keep(store: Store, analysis: Analysis, tables: dict, record: RunRecord) -> dict[str, ir.Table]:
    """Append every result under the run id; point the latest views at this run; return the stored rows."""
    kept = {}
    for result, table in tables.items():
        name = analysis.result_table(result)
        schema = ibis.schema({**analysis.outputs[result].ibis_schema(), "run_id": "string"})
        store.ensure_result_table(name, schema)
        store.fold_back_versions(name, lambda: _kept_run_ids(store, analysis.name))
        if isinstance(table, pa.Table):
            store.append(name, table.append_column("run_id", pa.array([record.run_id] * table.num_rows, pa.string())))
        else:
            store.append(name, table.mutate(run_id=ibis.literal(record.run_id)))
        stored = store.table(name)
        kept[result] = stored.filter(stored.run_id == record.run_id).drop("run_id")
    for result in tables:
        name = analysis.result_table(result)
        store.replace_view(analysis.latest_view(result), name, run_id=record.run_id)
    return kept


def _forget(store: Store, analysis: Analysis, run_ids: list[str]) -> None:
    """Remove the result rows of these runs (a failed run's partial writes, or pruned runs)."""
    for result in analysis.outputs:
        name = analysis.result_table(result)
        if store.has_table(name):
            store.delete_in(name, "run_id", run_ids)


def prune(store: Store, name: str, *, keep: int) -> int:
    """Drop the results of all but the ``keep`` newest kept runs of ``name``; returns how many runs went."""
    analysis = registry.get(name)
    old = _kept_run_ids(store, name)[keep:]
    if not old:
        return 0
    _forget(store, analysis, old)
    store.update_in("analysis_runs", "run_id", old, {"pruned": True})
    return len(old)


def _kept_run_ids(store: Store, name: str) -> list[str]:
    """The runs of analysis ``name`` whose results are kept (not failed, not pruned), newest first."""
    runs = store.table("analysis_runs")
    kept = runs.filter((runs.analysis == name) & runs.status.isin(KEPT_STATUSES) & ~runs.pruned.fill_null(False))
    return kept.order_by(kept.started_at.desc()).run_id.execute().tolist()


def _log(store: Store, record: RunRecord, started: datetime) -> None:
    store.append(
        "analysis_runs",
        pa.table(
            {
                "run_id": pa.array([record.run_id], pa.string()),
                "analysis": pa.array([record.analysis], pa.string()),
                "started_at": pa.array([started], pa.timestamp("us")),
                "finished_at": pa.array([now_utc()], pa.timestamp("us")),
                "seconds": pa.array([record.seconds], pa.float64()),
                "as_of": pa.array([record.as_of], pa.date32()),
                "params": pa.array([json.dumps(record.params, sort_keys=True)], pa.string()),
                "row_counts": pa.array([json.dumps(record.row_counts)], pa.string()),
                "status": pa.array([record.status], pa.string()),
                "note": pa.array([record.note], pa.string()),
                "pruned": pa.array([False], pa.bool_()),
            }
        ),
    )


def _count(table: ir.Table) -> int:
    return int(table.count().execute())


def _error_line(exc: Exception) -> str:
    """The run's note: the error in one line; running out of memory says which setting to change."""
    from salesintel.store.duckdb import out_of_memory

    text = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, SalesIntelError):
        return text
    if (sentence := out_of_memory(exc)) is not None:
        return sentence
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
