"""Custom attributes: columns of a customers, products or opportunities export that the canonical schema
does not name (industry, company size, plan, job, loyalty tier ...) are kept as typed columns of that table.

- The type is the stored one when the attribute exists already; else the one the mapping declares
  (``attributes: {balance: float}``); else inferred from the values: int, float or timestamp when every
  non-empty value parses as one (never when a value has a leading zero or more than 18 digits, which a number
  would change), bool when every one is true, false, yes or no (not single letters: ``F`` may mean female),
  otherwise string.
- A mapping drops a column on purpose with ``drop: [column]``; the load summary says what was kept and dropped.
- Extra columns of the other tables are not stored, and the load summary says so (``ignored``).
- Every attribute is recorded in the ``custom_attributes`` system table (``salesintel schema`` lists them).

Example:
    >>> attribute_name("Loyalty Tier")
    'loyalty_tier'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import ibis.expr.types as ir
import pyarrow as pa

from salesintel import schema
from salesintel.errors import MappingError
from salesintel.ingest import validate as v
from salesintel.ingest.read import LINE
from salesintel.store import Store, now_utc

ATTRIBUTE_TABLES = ("customers", "products", "opportunities")
_FROM_IBIS = {
    "String": "string",
    "Int64": "int",
    "Int32": "int",
    "Float64": "float",
    "Boolean": "bool",
    "Timestamp": "timestamp",
    "Date": "date",
}


@dataclass
class AttributePlan:
    """Which source columns become which attributes, and which were dropped or ignored."""

    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # attribute -> (source column, type)
    dropped: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def extended(self, target: schema.Table) -> schema.Table:
        """The target table with the attribute columns after the canonical ones."""
        extra = tuple(
            schema.Column(name, type_, f"custom attribute from column {src!r}")
            for name, (src, type_) in self.columns.items()
        )
        return replace(target, columns=target.columns + extra)


def attribute_name(source: str) -> str:
    """A source column's name as a column name: lower case, words joined by underscores."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", source.strip()).strip("_").lower()
    return name if name and not name[0].isdigit() else f"attr_{name}"


def plan(
    store: Store,
    src: ir.Table,
    target: schema.Table,
    *,
    used: set[str],
    passthrough: bool,
    declared: dict[str, str],
    drop: tuple[str, ...],
) -> AttributePlan:
    """The attribute plan for one table of one load."""
    extras = [c for c in src.columns if c != LINE and c not in used and c not in target.names]
    out = AttributePlan(dropped=[c for c in extras if c in drop])
    for key, named in (("attributes", declared), ("drop", drop)):
        unknown = sorted(set(named) - set(src.columns))
        if unknown:
            raise MappingError(f"{key} names columns the file does not have: {', '.join(unknown)}")
        read = sorted(set(named) & used)
        if read:  # else the column would be stored anyway, or its attribute left out, without a word
            raise MappingError(
                f"{', '.join(read)} is read for a column of {target.name} and named under {key}:; keep one"
            )
    both = sorted(set(declared) & set(drop))
    if both:
        raise MappingError(f"{', '.join(both)} is both kept (attributes:) and left out (drop:); keep one")
    if declared and target.name not in ATTRIBUTE_TABLES:
        raise MappingError(
            f"{target.name} keeps no custom attributes (only {', '.join(ATTRIBUTE_TABLES)} do); "
            f"leave attributes: out of its mapping"
        )
    candidates = [c for c in extras if c not in drop and (passthrough or c in declared)]
    if target.name not in ATTRIBUTE_TABLES:
        out.ignored = candidates
        return out
    if not passthrough:  # a full-form mapping serves several tables: only declared attributes belong here
        out.ignored = []
    _refuse_shared_names(candidates)
    stored = store.table(target.name).schema()
    # a column declared without a type (attributes: [Segment]) is inferred like an undeclared one
    inferred = _infer_types(src, [c for c in candidates if not declared.get(c) and attribute_name(c) not in stored])
    for column in candidates:
        name = attribute_name(column)
        if name in target.names:
            raise MappingError(
                f"column {column!r} would become the attribute {name}, which is a canonical "
                f"column of {target.name}; rename it with a mapping"
            )
        if name in stored:
            type_ = _FROM_IBIS.get(type(stored[name]).__name__, "string")
        else:
            type_ = declared.get(column) or inferred[column]
        if type_ not in schema.IBIS_TYPES or type_ == "json":
            raise MappingError(f"attribute {column}: type must be string, int, float, bool, timestamp or date")
        out.columns[name] = (column, type_)
    return out


def _refuse_shared_names(columns: list[str]) -> None:
    """Two source columns that would become one attribute (``Lifetime Value`` and ``lifetime_value``): one
    sentence, else the second would silently replace the first."""
    by_name: dict[str, list[str]] = {}
    for column in columns:
        by_name.setdefault(attribute_name(column), []).append(column)
    for name, sources in by_name.items():
        if len(sources) > 1:
            raise MappingError(
                f"columns {' and '.join(repr(s) for s in sources)} would both become the attribute {name}; "
                "rename one in the file or leave one out with a mapping (drop: [column])"
            )


#: what an attribute inferred as a date-time is validated as
_TIME = schema.Column("attribute", "timestamp", "a custom attribute")


def _infer_types(src: ir.Table, columns: list[str]) -> dict[str, str]:
    """Per column, the narrowest type every non-empty value parses as (one engine pass for all columns)."""
    if not columns:
        return {}
    aggs = {}
    for i, c in enumerate(columns):
        raw = src[c].cast("string").strip()
        present = raw.notnull() & (raw != "")
        # a number would change these: a leading zero, more than 18 digits, a trailing point (a time is
        # longer than 18 characters and stays a time)
        digits = raw.re_search(r"^[+-]?[0-9]*\.?[0-9]*$") & (raw.re_replace(r"[^0-9]", "").length() > 18)
        keeps_text = raw.re_search(r"^[+-]?0[0-9]") | digits | raw.re_search(r"^[+-]?[0-9]*\.$")
        word = raw.lower()
        aggs[f"n{i}"] = present.sum()
        aggs[f"text{i}"] = (present & keeps_text).sum()
        aggs[f"int{i}"] = (present & raw.re_search(r"^[+-]?[0-9]+$")).sum()
        # a type only where validation then reads every value as that type ('1_000' and '1e-400' are text,
        # though DuckDB's cast reads them as numbers): else every row would be refused for its attribute
        aggs[f"float{i}"] = (present & v.number(raw).notnull()).sum()
        aggs[f"bool{i}"] = (present & word.isin(["true", "false", "yes", "no"])).sum()
        aggs[f"ts{i}"] = (present & ~v.refused(_TIME, raw, v.parse(_TIME, raw))).sum()
    row = src.aggregate(**aggs).execute().iloc[0]
    out = {}
    for i, c in enumerate(columns):
        n = int(row[f"n{i}"] or 0)
        if n == 0 or int(row[f"text{i}"] or 0):
            out[c] = "string"
            continue
        out[c] = next(
            (
                t
                for t, k in (("int", "int"), ("float", "float"), ("bool", "bool"), ("timestamp", "ts"))
                if int(row[f"{k}{i}"] or 0) == n
            ),
            "string",
        )
    return out


def add_to_store(store: Store, table: str, attributes: AttributePlan, source_file: str) -> None:
    """Add the new attribute columns to the store table and record them in ``custom_attributes``."""
    have = set(store.table(table).columns)
    new = {n: v for n, v in attributes.columns.items() if n not in have}
    for name, (_, type_) in new.items():
        store.add_column(table, name, schema.IBIS_TYPES[type_])
    if new:
        store.append(
            "custom_attributes",
            pa.table(
                {
                    "table_name": pa.array([table] * len(new)),
                    "column_name": pa.array(list(new)),
                    "type": pa.array([t for _, t in new.values()]),
                    "source_column": pa.array([s for s, _ in new.values()]),
                    "source_file": pa.array([source_file] * len(new)),
                    "added_at": pa.array([now_utc()] * len(new), pa.timestamp("us")),
                }
            ),
        )


def listed(store: Store) -> ir.Table:
    """Every custom attribute: table, column, type, where it first came from."""
    t = store.table("custom_attributes")
    return t.order_by([t.table_name, t.added_at, t.column_name])


__all__ = ["ATTRIBUTE_TABLES", "AttributePlan", "add_to_store", "attribute_name", "listed", "plan"]
