"""What an analysis declares: the tables it reads, the results it returns (columns, grain, key, person key)
and its parameters (help, choices, bounds). The runner, the CLI, the report and the API read these
declarations; nothing about an analysis is written twice.

Example:
    >>> from salesintel.analyses import registry
    >>> rules = registry.get("rules")
    >>> rules.outputs["rules"].grain
    'one row per ordered pair of products (or categories)'
    >>> rules.params(window_days=-5)
    Traceback (most recent call last):
    ...
    salesintel.errors.UserInputError: rules: window_days must be at least 1, not -5
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

import pyarrow as pa

from salesintel.errors import UserInputError
from salesintel.lazy import lazy
from salesintel.schema import IBIS_TYPES

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")

#: column types an output may declare (the schema's names but json), and the Ibis type each is stored as
TYPES = {name: ibis_type for name, ibis_type in IBIS_TYPES.items() if name != "json"}

Result = dict[str, "ir.Table | pa.Table"]


# -- parameters ----------------------------------------------------------------------------------------------
def param(
    default: Any,
    help: str,
    *,
    choices: tuple | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    label: str | None = None,
) -> Any:
    """A parameter field: its default, one line of help, and the values it may take.

    ``label`` is how the report says it in words ("a window of {} days"); by default the help text.
    """
    return field(
        default=default, metadata={"help": help, "choices": choices, "ge": ge, "gt": gt, "le": le, "label": label}
    )


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as front ends see it."""

    name: str
    type: type  # int, float, bool, str or date
    optional: bool
    default: Any
    help: str
    choices: tuple | None
    ge: float | None
    gt: float | None
    le: float | None
    label: str | None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Params:
    """Base of every analysis's parameters: validated once, here, whoever builds them (CLI, API, tests)."""

    as_of: date | None = param(
        None, "Analyse the data as of this date; later data is ignored (default: the last order)."
    )

    analysis_name: typing.ClassVar[str] = "analysis"

    def __post_init__(self) -> None:
        for spec in self.specs():
            _check_value(self.analysis_name, spec, getattr(self, spec.name))

    @classmethod
    def specs(cls) -> list[ParamSpec]:
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            kind, optional = _unwrap(hints[f.name])
            m = f.metadata
            out.append(
                ParamSpec(
                    f.name,
                    kind,
                    optional,
                    f.default,
                    m.get("help", ""),
                    m.get("choices"),
                    m.get("ge"),
                    m.get("gt"),
                    m.get("le"),
                    m.get("label"),
                )
            )
        return out

    def as_dict(self) -> dict:
        """JSON-ready values (dates as ISO text)."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in dataclasses.asdict(self).items()}

    def replace(self, **values: Any) -> "Params":
        return dataclasses.replace(self, **values)


def _unwrap(hint: Any) -> tuple[type, bool]:
    """(base type, optional) of an annotation like ``int``, ``int | None`` or ``Optional[date]``."""
    args = typing.get_args(hint)
    if args and type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return hint, False


def _check_value(analysis: str, spec: ParamSpec, value: Any) -> None:
    where = f"{analysis}: {spec.name}"
    if value is None:
        if not spec.optional:
            raise UserInputError(f"{where} needs a value")
        return
    kind = spec.type
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise UserInputError(f"{where} must be {_type_words(kind)}, not {value!r}")
    if spec.choices is not None and value not in spec.choices:
        raise UserInputError(f"{where} must be one of {', '.join(map(str, spec.choices))}, not {value!r}")
    if spec.ge is not None and value < spec.ge:
        raise UserInputError(f"{where} must be at least {spec.ge:g}, not {value:g}")
    if spec.gt is not None and value <= spec.gt:
        raise UserInputError(f"{where} must be more than {spec.gt:g}, not {value:g}")
    if spec.le is not None and value > spec.le:
        raise UserInputError(f"{where} must be at most {spec.le:g}, not {value:g}")


def _type_words(kind: type) -> str:
    return {
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        str: "text",
        date: "a date (YYYY-MM-DD)",
    }.get(kind, kind.__name__)


# -- outputs -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    """A declared output column: name, type (one of :data:`TYPES`) and what it means, in one line."""

    name: str
    type: str
    description: str
    format: str | None = None  # how people read it: money, percent (a share), points (a percentage), count, days,
    # ratio, p, text
    refers: str | None = None  # "products", "customers" or "reps": front ends show that row's name beside the id

    def __post_init__(self) -> None:
        if self.refers not in (None, "products", "customers", "reps"):
            raise ValueError(f"column {self.name}: refers to products, customers or reps, not {self.refers!r}")
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Output:
    """One result table an analysis returns."""

    columns: tuple[Col, ...]
    grain: str  # "one row per customer"
    key: tuple[str, ...]
    person_key: str | None  # the column naming a person (customer_id), or None: the table holds no personal data
    sort: tuple[str, bool] | None = None  # (column, descending): how people read it, best first
    brief: tuple[str, ...] | None = None  # the columns a person reads first (report preview); default all

    def __post_init__(self) -> None:
        names = self.names
        for col in (*self.key, *([self.person_key] if self.person_key else []), *(self.brief or ())):
            if col not in names:
                raise ValueError(f"output key column {col!r} is not among the declared columns")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    def ibis_schema(self) -> ibis.Schema:
        return ibis.schema({c.name: TYPES[c.type] for c in self.columns})


@dataclass(frozen=True)
class Analysis:
    """A registered analysis: what it answers, what it reads, takes and returns, and how it computes.

    ``compute(ctx, params)`` gets the declared input tables from ``ctx`` and returns one table per output:
    an Ibis expression (run in the engine) or, after a declared ``python_step``, a small Arrow table.
    """

    name: str
    title: str
    question: str
    inputs: tuple[str, ...]
    params: type[Params]
    outputs: dict[str, Output]
    compute: Callable[[Any, Any], Result]
    python_step: str | None = None  # what is computed in Python, and on which aggregate
    charts: Callable[[Any], list] | None = None  # charts(read) -> plotly figures from engine-side aggregates
    summary: Callable[[Any], list[str]] | None = None  # summary(read) -> sentences for the report's first page
    after: tuple[str, ...] = ()  # analyses whose kept results or models this one reuses (run_all runs them first)

    def __post_init__(self) -> None:
        if not self.outputs:
            raise ValueError(f"analysis {self.name} declares no outputs")
        if self.params.analysis_name != self.name:
            raise ValueError(f"{self.params.__name__}.analysis_name must be {self.name!r}")

    @property
    def main(self) -> str:
        """The result people mean when they name the analysis (the first declared)."""
        return next(iter(self.outputs))

    def output(self, result: str | None) -> Output:
        from salesintel.errors import NotFound

        result = result or self.main
        if result not in self.outputs:
            raise NotFound(f"{self.name} has no result {result!r}; its results are: {', '.join(self.outputs)}")
        return self.outputs[result]

    def result_table(self, result: str) -> str:
        """The store table that keeps ``result`` of every kept run (with a run_id column)."""
        return f"result_{self.name}_{result}"

    def latest_view(self, result: str) -> str:
        """The view that shows ``result`` of the newest successful run."""
        return f"latest_{self.name}_{result}"
