"""CLI commands generated from the analyses' declarations: one option per parameter (help, default, choices
written once, in the parameters class), and the options every result reader shares.

- ``salesintel NAME [options]``: compute and print, without touching the kept runs unless ``--save``;
- ``salesintel analyze NAME [options]``: compute and keep as a new run (what ``analyze`` does for all).
"""

from __future__ import annotations

import inspect
from datetime import date
from typing import Annotated, Any, Callable, Optional

import typer

from salesintel.analyses.spec import Analysis, ParamSpec
from salesintel.cli.options import Db, Format, Limit, parse_date

_CLI_TYPES: dict[type, type] = {int: int, float: float, str: str, bool: bool, date: str}


def param_options(analysis: Analysis) -> list[inspect.Parameter]:
    """One keyword parameter with a typer.Option per declared analysis parameter."""
    out = []
    for spec in analysis.params.specs():
        kind = _CLI_TYPES[spec.type]
        hint = Optional[kind] if spec.optional else kind
        default = spec.default.isoformat() if isinstance(spec.default, date) else spec.default
        decls = [f"{spec.option}/--no-{spec.option[2:]}"] if spec.type is bool else [spec.option]
        option = typer.Option(*decls, help=_help(spec), show_default=spec.default is not None)
        out.append(
            inspect.Parameter(
                spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[hint, option]
            )
        )
    return out


def _help(spec: ParamSpec) -> str:
    text = spec.help
    if spec.choices:
        text += f" One of: {', '.join(map(str, spec.choices))}."
    bounds = [
        f">= {spec.ge:g}" if spec.ge is not None else "",
        f"> {spec.gt:g}" if spec.gt is not None else "",
        f"<= {spec.le:g}" if spec.le is not None else "",
    ]
    if any(bounds):
        text += f" ({', '.join(b for b in bounds if b)})"
    if spec.type is date:
        text += " Write it as YYYY-MM-DD."
    return text


def param_values(analysis: Analysis, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The parameter values from parsed options (dates parsed; validation is the parameters class's)."""
    values = {}
    for spec in analysis.params.specs():
        value = kwargs.get(spec.name)
        if spec.type is date and isinstance(value, str):
            value = parse_date(value, spec.option)
        values[spec.name] = value
    return values


def reader_options(analysis: Analysis) -> list[inspect.Parameter]:
    """--result, --where, --customer (when a result names a customer), --order-by, --limit, --format, --db."""
    kw = inspect.Parameter.KEYWORD_ONLY
    results = ", ".join(analysis.outputs)
    opts = [
        inspect.Parameter(
            "result",
            kw,
            default=None,
            annotation=Annotated[
                Optional[str], typer.Option(help=f"Which result to print: {results} (default {analysis.main}).")
            ],
        ),
        inspect.Parameter(
            "where",
            kw,
            default=None,
            annotation=Annotated[
                Optional[list[str]], typer.Option(help="Only rows where COLUMN=VALUE (repeat for more).")
            ],
        ),
        inspect.Parameter(
            "order_by",
            kw,
            default=None,
            annotation=Annotated[
                Optional[str],
                typer.Option(help="Sort by this column (-column for descending); default: the result's own order."),
            ],
        ),
        inspect.Parameter("limit", kw, default=30, annotation=Limit),
        inspect.Parameter("fmt", kw, default="table", annotation=Format),
        inspect.Parameter("db", kw, default=None, annotation=Db),
    ]
    if any(o.person_key == "customer_id" for o in analysis.outputs.values()):
        opts.insert(
            1,
            inspect.Parameter(
                "customer",
                kw,
                default=None,
                annotation=Annotated[Optional[str], typer.Option(help="Only this customer's rows.")],
            ),
        )
    return opts


def where_from(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``{column: value}`` from --where COLUMN=VALUE and --customer."""
    from salesintel.errors import UserInputError

    out: dict[str, Any] = {}
    for item in kwargs.get("where") or []:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise UserInputError(f"--where {item!r}: write it as COLUMN=VALUE")
        out[column.strip()] = value
    if kwargs.get("customer"):
        out["customer_id"] = kwargs["customer"]
    return out


def with_signature(func: Callable, params: list[inspect.Parameter], doc: str) -> Callable:
    """``func(**kwargs)`` presented to Typer with ``params`` as its signature."""
    func.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in params}
    func.__doc__ = doc
    return func


def command_doc(analysis: Analysis, example: str) -> str:
    outputs = "; ".join(f"{name}: {o.grain}" for name, o in analysis.outputs.items())
    example = example.replace(analysis.name, analysis.name.replace("_", "-"))
    return f"{analysis.title}: {analysis.question}\n\nResults: {outputs}.\n\nExample: {example}"


__all__ = [
    "command_doc",
    "param_options",
    "param_values",
    "reader_options",
    "where_from",
    "with_signature",
]
