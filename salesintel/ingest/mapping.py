"""Mappings: how a real export's columns become salesintel's canonical columns, without editing the file.

A mapping is YAML. The short form maps one file to the table named on the command line::

    rename: {Kundennummer: customer_id, Umsatz: amount}
    constants: {channel: store}
    dates: {ordered_at: "%d.%m.%Y"}
    values: {status: {Interessent: prospect, Kunde: customer}}

The full form reads one file into several tables (see examples/online_retail.yaml)::

    source: {format: whitespace, header: auto, columns: [customer_id, date, cds, dollars], encoding: utf-8}
    tables:
      orders:
        columns:
          order_id: {concat: [customer_id, date], separator: "-"}
          line: {sequence_within: [customer_id, date]}
          ordered_at: {column: date, date_format: "%Y%m%d"}
          amount: dollars
      customers:
        repeated_keys: merge   # many source rows per key are expected: keep the last, count the rest
        columns: {customer_id: customer_id}

A column spec is a source column name or a mapping with one of ``column``, ``constant``, ``concat``
(with ``separator``), ``multiply`` (a list of numeric columns, each read as a number column reads it) or
``sequence_within`` (1, 2, ... per group in file order), plus optional ``date_format`` (strptime codes: the
only shape a date or time column then accepts; a ``default`` is written in it too), ``values`` (a lookup),
``default`` and ``unless_present`` (used only when the file lacks that column). A key a mapping does not know
is refused with one sentence. The reference for users is docs/ingestion.md, "Mappings".
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import yaml

from salesintel import schema
from salesintel.errors import MappingError
from salesintel.ingest.read import LINE, SourceOptions
from salesintel.ingest.validate import number
from salesintel.store.staging import is_finite

_KINDS = ("column", "constant", "concat", "multiply", "sequence_within")
#: what a column spec may hold besides its kind (``unless_present``: only when the file lacks that column)
_SPEC_OPTIONS = ("separator", "date_format", "values", "default", "unless_present")
_TABLE_KEYS = ("columns", "repeated_keys", "attributes", "drop")
_SOURCE_KEYS = ("format", "delimiter", "encoding", "header", "columns", "null_values")
# an order-lines file without a line column: lines numbered 1, 2, ... within each order, in file order
_LINES_WITHIN_ORDER = {"sequence_within": ["order_id"], "unless_present": "line"}


def _reads(spec: Any) -> set[str]:
    """The source columns a column spec reads.

    >>> sorted(_reads({"concat": ["a", "b"], "separator": "-"})), _reads("Kunde"), _reads({"constant": "web"})
    (['a', 'b'], {'Kunde'}, set())
    """
    spec = {"column": spec} if isinstance(spec, str) else spec
    read: set[str] = set()
    for kind in ("column", "concat", "multiply", "sequence_within", "unless_present"):
        value = spec.get(kind) if isinstance(spec, dict) else None
        read |= {value} if isinstance(value, str) else set(value or [])
    return read


@dataclass(frozen=True)
class TableMapping:
    """How one canonical table is built from the source columns."""

    table: str
    columns: dict[str, Any] = field(default_factory=dict)
    passthrough: bool = True  # source columns already named canonically are kept
    merge_repeated_keys: bool = False
    attributes: dict[str, str] = field(default_factory=dict)  # source column -> declared type of a custom attribute
    drop: tuple[str, ...] = ()  # source columns left out on purpose

    def date_formats(self) -> dict[str, str]:
        """The strptime format of each date or time column the mapping gives one (``date_format``; parsing the
        mapping refused one on any other column): the values are parsed with it in validation, once, and a
        value that does not match is refused."""
        return {
            name: spec["date_format"]
            for name, spec in self.columns.items()
            if isinstance(spec, dict) and "date_format" in spec
        }

    def used_columns(self, source_columns: list[str]) -> set[str]:
        """The source columns this mapping reads for canonical columns (a column named as salesintel names
        it, in the short form, unless a rule of the mapping fills that column from something else)."""
        target = schema.get(self.table)
        used: set[str] = set()
        for spec in self.columns.values():
            used |= _reads(spec)
        if self.passthrough:
            used |= {c for c in target.names if c in source_columns and (c not in self.columns or c in used)}
        return used


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file: how to read the source and which tables it fills."""

    source: SourceOptions
    tables: tuple[TableMapping, ...]
    #: the file's other sections, when the command line names one table of a full-form mapping: the
    #: columns they read are not "unused" (the load summary names unused columns)
    elsewhere: tuple[TableMapping, ...] = ()


class _TextLoader(yaml.BaseLoader):
    """YAML with every scalar read as the text written, since a mapping maps texts to texts: YAML 1.1's
    implicit types would turn ``01067`` into 567, ``NO`` into False and ``~`` into None before salesintel
    saw them. A key written twice in one mapping is refused (PyYAML keeps the last one without a word).

    >>> yaml.load("{postal_code: 01067, country: NO}", Loader=_TextLoader)
    {'postal_code': '01067', 'country': 'NO'}
    """

    def construct_mapping(self, node, deep=False):
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                continue  # an unhashable key: the base class says so
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is written twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


#: what a YAML 1.1 reader took for "nothing": an option given one of these is not given
_NOTHING = ("", "~", "null", "Null", "NULL")
_SHORT_FORM_KEYS = (
    "source",
    "rename",
    "constants",
    "dates",
    "values",
    "defaults",
    "repeated_keys",
    "attributes",
    "drop",
)


def identity(table: str, source: SourceOptions = SourceOptions()) -> Mapping:
    """The mapping used without --mapping: the file's columns already have canonical names."""
    name = schema.get(table).name
    columns = {"line": dict(_LINES_WITHIN_ORDER)} if name == "orders" else {}
    return Mapping(source, (TableMapping(name, columns),))


def load_mapping(path: Path, table: str | None, overrides: SourceOptions | None = None) -> Mapping:
    """Parse a mapping file; ``table`` is the command line's table (required for the short form)."""
    try:
        spec = yaml.load(Path(path).read_bytes().decode("utf-8"), Loader=_TextLoader)  # noqa: S506 - texts only
    except FileNotFoundError:
        raise MappingError(f"no such mapping file: {path}") from None
    except IsADirectoryError:
        raise MappingError(f"--mapping names a folder, {path}; name the mapping's YAML file") from None
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"mapping {Path(path).name} is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "'\\t'" in problem:  # PyYAML's "found character '\t' that cannot start any token"
            problem = "a tab stands where YAML takes spaces only; replace it with spaces"
        raise MappingError(f"mapping {Path(path).name} is not valid YAML{where}: {problem}") from None
    if not isinstance(spec, dict):
        raise MappingError(f"mapping {Path(path).name} must be a YAML mapping of keys to values")
    source = _source_options(_shaped(spec.get("source"), dict, "source", "source: {format: csv}"), overrides)
    if "tables" in spec:
        _known_keys("the mapping", spec, ("source", "tables"), "(the short form's keys go without tables:)")
        sections = _shaped(spec["tables"], dict, "tables", "tables: {orders: {columns: {...}}}")
        tables = tuple(
            _table_mapping(name, _shaped(body, dict, f"tables.{name}", "columns: {customer_id: Kunde}"))
            for name, body in sections.items()
        )
        if table:
            chosen = tuple(t for t in tables if t.table == schema.get(table).name) or _missing(path, table)
            return Mapping(source, chosen, tuple(t for t in tables if t not in chosen))
        return Mapping(source, tables)
    _known_keys("the mapping", spec, _SHORT_FORM_KEYS, "(or tables: for several tables)")
    if not table:
        raise MappingError(f"mapping {Path(path).name} has no 'tables:' section; name the table to load")
    return Mapping(source, (_short_form(schema.get(table).name, spec),))


def _shaped(value: Any, kind: type, what: str, example: str) -> Any:
    """``value`` when it has the shape a mapping needs (a key left empty counts as empty), else one sentence
    saying so."""
    if value is None or value == "":
        return kind()
    if not isinstance(value, kind):
        shape = {dict: "a mapping", list: "a list", str: "a text"}[kind]
        raise MappingError(f"{what} must be {shape} ({example}), not {type(value).__name__} {value!r:.60}")
    return value


def _known_keys(where: str, spec: dict, known: tuple[str, ...], hint: str = "") -> None:
    """One sentence naming the keys of ``spec`` a mapping does not know: a misspelt key (``delimeter``,
    ``defualt``) would otherwise be ignored without a word and the file read another way than meant.

    >>> _known_keys("source", {"delimeter": ";"}, ("format", "delimiter"))
    Traceback (most recent call last):
    ...
    salesintel.errors.MappingError: source has unknown key: delimeter; it takes format, delimiter
    """
    unknown = [str(k) for k in spec if k not in known]
    if unknown:
        raise MappingError(
            f"{where} has unknown key{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}; "
            f"it takes {', '.join(known)}" + (f" {hint}" if hint else "")
        )


def _text_pairs(value: Any, what: str, example: str) -> dict[str, str]:
    pairs = _shaped(value, dict, what, example)
    for k, v in pairs.items():
        if isinstance(v, (dict, list)) or isinstance(k, (dict, list)):
            raise MappingError(f"{what} must map names to single values ({example}), not {k!r}: {v!r:.60}")
    return pairs


def _missing(path: Path, table: str):
    raise MappingError(f"mapping {Path(path).name} has no section for table {table!r}")


def _source_options(spec: dict, overrides: SourceOptions | None) -> SourceOptions:
    _known_keys("source", spec, _SOURCE_KEYS)
    for key in ("format", "delimiter", "encoding"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise MappingError(f"source.{key} must be a text, not {spec[key]!r:.60}")
    columns = _shaped(spec.get("columns"), list, "source.columns", "columns: [customer_id, date]")
    nulls = _shaped(spec.get("null_values"), list, "source.null_values", 'null_values: ["NA", "-"]')
    fmt = spec.get("format")
    opts = SourceOptions(
        format=fmt.lower() if isinstance(fmt, str) else fmt,
        delimiter=spec.get("delimiter"),
        encoding=spec.get("encoding") or "utf-8",  # an unknown codec: read.check_options says so
        header=_header(spec.get("header", True)),
        column_names=tuple(str(c) for c in columns) if columns else None,
        null_values=tuple(str(v) for v in nulls),
    )
    if opts.column_names and opts.header is True:  # else the names would be ignored without a word
        raise MappingError(
            "source.columns names the columns of a file without a header, and this mapping reads a header "
            "(header: true is the default); add header: false (or auto), or leave columns out"
        )
    if overrides:
        opts = SourceOptions(
            format=overrides.format or opts.format,
            delimiter=overrides.delimiter or opts.delimiter,
            encoding=overrides.encoding if overrides.encoding != "utf-8" else opts.encoding,
            header=opts.header,
            column_names=opts.column_names,
            null_values=opts.null_values,
        )
    return opts


def _header(value: Any) -> bool | str:
    """``source.header``: true, false or auto (any case; yes and no too, as YAML 1.1 read them)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on"):
        return True
    if text in ("false", "no", "off"):
        return False
    if text == "auto":
        return "auto"
    raise MappingError(f"source.header must be true, false or auto, not {value!r:.60}")


def _table_mapping(name: str, body: dict, *, short_form: bool = False) -> TableMapping:
    table = schema.get(name)
    if not short_form:
        _known_keys(f"tables.{name}", body, _TABLE_KEYS)
    columns = _shaped(body.get("columns"), dict, f"tables.{name}.columns", "columns: {customer_id: Kunde}")
    columns = {column: _without_empty_default(spec) for column, spec in columns.items()}
    for column, spec in columns.items():
        # errors name the place as the user wrote it: the short form has no tables: section
        _check_spec(f"column {column}" if short_form else f"tables.{name}.columns.{column}", spec)
    unknown = sorted(set(columns) - set(table.names))
    if unknown:
        raise MappingError(f"mapping for {name} names columns that {name} does not have: {', '.join(unknown)}")
    for column, spec in columns.items():
        kind = table.column(column).type
        if isinstance(spec, dict) and "multiply" in spec and kind not in ("float", "int"):
            raise MappingError(f"multiply is for number columns; {column} of {name} is a {kind} column")
        if isinstance(spec, dict) and "date_format" in spec and kind not in ("timestamp", "date"):
            raise MappingError(
                f"a date_format is for date and time columns; {column} of {name} is a {kind} column "
                f"(its date columns: {', '.join(c.name for c in table.columns if c.type in ('timestamp', 'date'))})"
            )
    merge = body.get("repeated_keys", "reject")
    if merge not in ("reject", "merge"):
        raise MappingError(f"repeated_keys for {name} must be 'reject' or 'merge', not {merge!r}")
    return TableMapping(
        name,
        dict(columns),
        passthrough=False,
        merge_repeated_keys=merge == "merge",
        attributes=_attributes(body),
        drop=_drop(body),
    )


def _without_empty_default(spec: Any) -> Any:
    """An empty ``default:`` (or ``~``, ``null``) is no default."""
    if isinstance(spec, dict) and spec.get("default") in _NOTHING:
        return {k: v for k, v in spec.items() if k != "default"}
    return spec


def _attributes(body: dict) -> dict[str, str]:
    attributes = body.get("attributes") or {}
    if isinstance(attributes, list):
        attributes = {c: None for c in attributes}
    if not isinstance(attributes, dict):
        raise MappingError("attributes must map source columns to a type (string, int, float, bool, timestamp, date)")
    return {str(k): (str(v) if v not in (None, *_NOTHING) else None) for k, v in attributes.items()}


def _drop(body: dict) -> tuple[str, ...]:
    drop = body.get("drop") or []
    if not isinstance(drop, list):
        raise MappingError("drop must be a list of source columns to leave out")
    return tuple(str(c) for c in drop)


def _short_form(name: str, spec: dict) -> TableMapping:
    columns: dict[str, Any] = {}
    for src, dst in _text_pairs(spec.get("rename"), "rename", "rename: {Kundennummer: customer_id}").items():
        if dst in columns:  # else the later one would win without a word
            first = columns[dst]["column"]
            raise MappingError(f"rename maps both {first!r} and {src!r} to {dst}; keep one")
        columns[dst] = {"column": src}
    for dst, value in _text_pairs(spec.get("constants"), "constants", "constants: {channel: store}").items():
        if dst in columns:
            raise MappingError(
                f"{dst} is both renamed from {columns[dst]['column']!r} and a constant ({value!r}); keep one"
            )
        if value in _NOTHING:
            raise MappingError(f"constants: {dst} has no value; a constant is the text every row gets")
        columns[dst] = {"constant": value}
    shapes = {
        "dates": ("date_format", 'dates: {ordered_at: "%d.%m.%Y"}'),
        "values": ("values", "values: {status: {Kunde: customer}}"),
        "defaults": ("default", "defaults: {currency: EUR}"),
    }
    for key, (option, example) in shapes.items():
        for dst, value in _shaped(spec.get(key), dict, key, example).items():
            columns.setdefault(dst, {"column": dst})[option] = value
    if name == "orders" and "line" not in columns:
        # no line column mapped: number the lines within each order in file order, rather than letting the
        # second line of an order replace the first as a repeated key (a file with a line column keeps it)
        columns["line"] = {
            **_LINES_WITHIN_ORDER,
            "sequence_within": [columns.get("order_id", {}).get("column", "order_id")],
        }
    body = {
        "columns": columns,
        "repeated_keys": spec.get("repeated_keys", "reject"),
        "attributes": spec.get("attributes"),
        "drop": spec.get("drop"),
    }
    mapped = _table_mapping(name, body, short_form=True)
    return TableMapping(
        name,
        mapped.columns,
        passthrough=True,
        merge_repeated_keys=mapped.merge_repeated_keys,
        attributes=mapped.attributes,
        drop=mapped.drop,
    )


def _check_spec(where: str, spec: Any) -> None:
    """One column spec's shape: a source name, or one kind with the options' right types."""
    if isinstance(spec, str):
        return
    if not isinstance(spec, dict):
        raise MappingError(f"{where} must be a source column name or a mapping such as {{column: Kunde}}")
    _known_keys(where, spec, _KINDS + _SPEC_OPTIONS)
    expected = {
        "date_format": str,
        "separator": str,
        "values": dict,
        "concat": list,
        "multiply": list,
        "sequence_within": list,
        "column": str,
        "unless_present": str,
    }
    for key, kind in expected.items():
        if key in spec and not isinstance(spec[key], kind):
            shape = {dict: "a mapping", list: "a list", str: "a text"}[kind]
            raise MappingError(f"{where}.{key} must be {shape}, not {spec[key]!r:.60}")
    if spec.get("constant", "x") in _NOTHING:
        raise MappingError(f"{where}.constant has no value; a constant is the text every row gets")
    for kind in ("concat", "multiply", "sequence_within"):
        if kind in spec and not spec[kind]:
            raise MappingError(f"{where}.{kind} must name at least one column, as in {kind}: [InvoiceNo]")
    if "date_format" in spec:
        _check_date_format(where, spec["date_format"], spec.get("default"))


def _check_date_format(where: str, date_format: str, default: Any) -> None:
    """The format is one DuckDB's strptime (the parse validation uses) knows, and a default is written in it:
    the default stands in for a missing value, so validation reads it with the same format."""
    import duckdb

    if "%" not in date_format:
        raise MappingError(
            f"the date_format {date_format!r} of {where} has no % code; write it as strptime codes, such as '%d.%m.%Y'"
        )
    try:
        parsed = duckdb.execute("SELECT try_strptime(?, ?)", [str(default or ""), date_format]).fetchone()[0]
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
        unknown = reason.rsplit("Unrecognized format for strftime/strptime: ", 1)
        reason = f"DuckDB's strptime does not know {unknown[1]}" if len(unknown) == 2 else reason
        raise MappingError(f"the date_format {date_format!r} of {where} is not a date format: {reason}") from None
    if default is not None and parsed is None:
        raise MappingError(f"the default {default!r} of {where} is not written in its date_format {date_format!r}")


def apply(mapping: TableMapping, src: ir.Table, source_name: str, attributes: dict[str, str] | None = None) -> ir.Table:
    """The source as the target table's columns (all text) plus ``__line``, ready for validation;
    ``attributes`` maps custom attribute names to the source columns they come from."""
    target = schema.get(mapping.table)
    exprs: dict[str, ir.Value] = {}
    if mapping.passthrough:
        exprs.update({c: src[c] for c in target.names if c in src.columns})
    for dst, spec in mapping.columns.items():
        if isinstance(spec, dict) and spec.get("unless_present") in src.columns:
            # the file has the column itself: that column is read (the short form reads it anyway)
            exprs[dst] = src[spec["unless_present"]].cast("string")
            continue
        if (
            isinstance(spec, dict)
            and "sequence_within" in spec
            and "unless_present" in spec
            and not set(spec["sequence_within"]) <= set(src.columns)
        ):
            # the numbering a short-form mapping adds, and no order id to number within: validation names
            # the missing required column (one the mapping names itself must be there: _column says so)
            continue
        if mapping.passthrough and dst in src.columns and dst not in mapping.drop:
            _refuse_hidden_column(dst, spec, source_name)
        exprs[dst] = _column(spec, src, source_name).cast("string")
    for name, column in (attributes or {}).items():
        exprs[name] = src[column].cast("string")
    return src.select(**exprs, **{LINE: src[LINE]})


def _refuse_hidden_column(name: str, spec: Any, source_name: str) -> None:
    """The short form keeps a column named as salesintel names it; a mapping that fills that column from
    something else would hide the file's own values without a word: one sentence instead."""
    spec = {"column": spec} if isinstance(spec, str) else spec
    kind = next((k for k in _KINDS if k in spec), None)
    if kind is None or name in _reads(spec):
        return  # (no kind: _column names what is wrong with it)
    reads = sorted(_reads(spec))
    what = f"the constant {spec[kind]!r}" if kind == "constant" else f"{kind} {', '.join(map(repr, reads))}"
    raise MappingError(
        f"{source_name} has a column {name}, and the mapping fills {name} from {what}; keep one, or leave the "
        f"file's column out with drop: [{name}]"
    )


def numbers_by_file_order(mapping: TableMapping, columns: list[str]) -> bool:
    """Whether :func:`apply` numbers rows by their place in the file (``sequence_within`` where the file has
    the columns to number within and not the column itself): such a mapping needs every row's line."""
    for spec in mapping.columns.values():
        if not isinstance(spec, dict) or "sequence_within" not in spec:
            continue
        if spec.get("unless_present") in columns:
            continue
        if set(spec["sequence_within"]) <= set(columns):
            return True
    return False


def _looked_up(value: ir.StringValue, lookup: dict) -> ir.StringValue:
    """``value`` through a ``values:`` lookup; a value not listed stays as written, and one listed as
    nothing (empty or blanks, ``~``) is missing, as an empty field is."""
    cases = [
        (value == str(k), ibis.null("string") if str(v).strip() in _NOTHING else ibis.literal(str(v)))
        for k, v in lookup.items()
    ]
    return ibis.cases(*cases, else_=value) if cases else value


def _product(factors: list[ir.FloatingValue]) -> ir.FloatingValue:
    """The factors' product, or null where a double cannot hold it: too large (infinite), or so small that
    it rounds to 0 though no factor is 0 (1e-200 x 1e-200). Either would store a value the file does not
    say; null sends the line to rejects with its factors as written."""
    product = functools.reduce(operator.mul, factors)
    some_zero = functools.reduce(operator.or_, [f == 0 for f in factors])
    held = is_finite(product) & ((product != 0) | some_zero)
    return held.ifelse(product, ibis.null("float64"))


def _column(spec: Any, src: ir.Table, source_name: str) -> ir.Value:
    """The source text of one target column (a ``date_format`` is applied in validation, which parses the
    value with it once: :meth:`TableMapping.date_formats`)."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if isinstance(spec, dict):
        spec = {k: v for k, v in spec.items() if k != "unless_present"}
    if not isinstance(spec, dict) or sum(k in spec for k in _KINDS) != 1:
        raise MappingError(f"column spec {spec!r} must name exactly one of: {', '.join(_KINDS)}")

    def col(name: str) -> ir.StringValue:
        if name not in src.columns:
            have = ", ".join(c for c in src.columns if c != LINE)
            # a default fills the missing values of a column the file has; a value for every row is a constant
            hint = (
                f"; a default fills missing values of a column the file has: for a value every row gets, "
                f"use constants: {{{name}: {spec['default']}}} (full form: {{constant: {spec['default']}}})"
                if spec.get("column") == name and spec.get("default") is not None
                else ""
            )
            raise MappingError(
                f"the mapping refers to column {name!r}, which {source_name} does not have; it has: {have}{hint}"
            )
        return src[name].cast("string")

    if "column" in spec:
        value = col(spec["column"])
    elif "constant" in spec:
        value = ibis.literal(str(spec["constant"]))
    elif "concat" in spec:
        # a missing part is left out with its separator; when every part is missing, so is the value
        parts = [col(c) for c in spec["concat"]]
        value = ibis.literal(spec.get("separator", "")).join(parts).nullif("")
    elif "multiply" in spec:
        raw = [col(c) for c in spec["multiply"]]
        value = _product([number(r) for r in raw]).cast("string")
        # factors that are there but are not numbers are kept as written, so validation names them; a
        # missing factor leaves the product missing (its default, or "missing required value")
        there = functools.reduce(operator.and_, [r.notnull() for r in raw])
        value = value.coalesce(there.ifelse(ibis.literal("*").join(raw), ibis.null("string")))
    else:
        keys = [col(c) for c in spec["sequence_within"]]
        value = (ibis.row_number().over(group_by=keys, order_by=src[LINE]) + 1).cast("string")
    if "values" in spec:
        value = _looked_up(value, spec["values"] or {})
    if spec.get("default") is not None:  # an empty `default:` (YAML null) is no default
        value = value.fill_null(str(spec["default"]))
    return value
