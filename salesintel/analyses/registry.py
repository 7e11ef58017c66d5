"""The one shape every analysis takes, the registry, and the runner that stores results with run metadata.

An analysis is a function ``(store, params) -> {result_name: table}`` where a table is an Ibis expression
(computed in the engine) or a small Arrow table (a fitted model's output). It is registered once with a
parameters dataclass; the CLI, the report and later the API render any registered analysis the same way.

Example:
    >>> from salesintel.analyses import registry
    >>> "profiles" in registry.names()
    True
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from salesintel.errors import NotFound, UserInputError
from salesintel.store import Store, now_utc

Result = dict[str, "ir.Table | pa.Table"]


@dataclass(frozen=True)
class Analysis:
    """A registered analysis: its name, what it answers, its parameters and how to chart its results."""

    name: str
    title: str
    question: str
    run: Callable[[Store, Any], Result]
    params: type
    charts: Callable[[dict], list] | None = None  # {result: DataFrame} -> plotly figures
    order_by: dict[str, tuple[str, bool]] = dataclasses.field(default_factory=dict)  # result -> (column, descending)

    def result_table(self, result: str) -> str:
        """Name of the store table holding ``result`` of the latest run."""
        return f"result_{self.name}" if result == self.name else f"result_{self.name}_{result}"


_REGISTRY: dict[str, Analysis] = {}


def register(analysis: Analysis) -> Analysis:
    if analysis.name in _REGISTRY:
        raise ValueError(f"analysis {analysis.name!r} registered twice")
    _REGISTRY[analysis.name] = analysis
    return analysis


def names() -> list[str]:
    _load_builtin()
    return list(_REGISTRY)


def get(name: str) -> Analysis:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotFound(f"no analysis called {name!r}; choose one of: {', '.join(_REGISTRY)}") from None


def _load_builtin() -> None:
    import salesintel.analyses  # noqa: F401 - importing registers the built-in analyses


def make_params(analysis: Analysis, **values: Any) -> Any:
    """The analysis's parameter object from keyword values (None means: use the default)."""
    fields = {f.name for f in dataclasses.fields(analysis.params)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise UserInputError(f"{analysis.name} has no parameter {', '.join(unknown)}; it takes {', '.join(sorted(fields))}")
    return analysis.params(**{k: v for k, v in values.items() if v is not None})


@dataclass
class RunRecord:
    run_id: str
    analysis: str
    seconds: float
    row_counts: dict[str, int]
    status: str
    error: str | None = None


def run(store: Store, name: str, params: Any = None, *, persist: bool = True) -> tuple[RunRecord, Result]:
    """Run one analysis; with ``persist`` store each result as ``result_<name>[_<result>]`` and log the run."""
    analysis = get(name)
    params = params if params is not None else analysis.params()
    run_id, started = uuid.uuid4().hex[:12], now_utc()
    t0 = time.perf_counter()
    results = analysis.run(store, params)
    counts = {}
    if persist:
        for result, table in results.items():
            tagged = _tag(table, run_id)
            counts[result] = store.write_result(analysis.result_table(result), tagged)
    record = RunRecord(run_id, name, time.perf_counter() - t0, counts, "ok")
    if persist:
        _log(store, record, started, params)
    return record, results


def run_logged_failure(store: Store, name: str, params: Any, error: Exception) -> RunRecord:
    record = RunRecord(uuid.uuid4().hex[:12], name, 0.0, {}, "failed", str(error).splitlines()[0] if str(error) else type(error).__name__)
    _log(store, record, now_utc(), params)
    return record


def _tag(table: "ir.Table | pa.Table", run_id: str) -> "ir.Table | pa.Table":
    if isinstance(table, pa.Table):
        return table.append_column("run_id", pa.array([run_id] * table.num_rows, pa.string()))
    return table.mutate(run_id=ibis.literal(run_id))


def _log(store: Store, record: RunRecord, started, params: Any) -> None:
    store.append("analysis_runs", pa.table({
        "run_id": [record.run_id], "analysis": [record.analysis], "started_at": [started],
        "finished_at": [now_utc()], "seconds": [record.seconds],
        "params": [json.dumps(_jsonable(params), sort_keys=True)], "row_counts": [json.dumps(record.row_counts)],
        "status": [record.status], "error": [record.error],
    }))


def _jsonable(params: Any) -> dict:
    if params is None or not dataclasses.is_dataclass(params):
        return {}
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in dataclasses.asdict(params).items()}


def latest(store: Store, name: str, result: str | None = None) -> ir.Table:
    """The stored result of the latest run of analysis ``name``."""
    analysis = get(name)
    table = analysis.result_table(result or name)
    if not store.has_table(table):
        raise NotFound(f"{name} has not been run on this database yet; run: salesintel analyze {name}")
    return store.table(table)
