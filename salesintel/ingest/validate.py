"""Vectorised validation: text columns in, typed columns plus one problem column per input column out.

Everything here is an Ibis expression evaluated in the staging engine, one pass over the file; no Python
loop touches a row. A value that cannot be parsed never becomes a silent null: its problem column says why.
"""

from __future__ import annotations

import functools
import operator
from typing import Callable

import ibis
import ibis.expr.types as ir

from salesintel import schema
from salesintel.ingest.read import LINE
from salesintel.store.staging import globs, is_finite, try_strptime

PROBLEM = "__problem__"
TEXT = "__text__"
TRUE_WORDS = ("true", "1", "yes", "y", "t")
FALSE_WORDS = ("false", "0", "no", "n", "f")
#: what DuckDB's cast accepts and a user did not mean: '1_000', '0x10' (16), '2024/01/01', 1e-400 (0.0),
#: '1.9999999999999999' (2), nanoseconds (cut to microseconds). The checks are cheap string tests on
#: every row; a regular expression runs only on the few rows a cheap test singles out.
_WHOLE_WITH_POINT = r"^\s*[+-]?\d+\.0*\s*$"
_NONZERO_MANTISSA = r"^[^eE]*[1-9]"
_BEYOND_MICROSECONDS = r"\.\d{6}0*[1-9]"
_ISO_DATE_START = r"^\s*\d{4}-\d{2}-\d{2}"
_ISO_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"  # the same, for a value with no leading blank
_OFFSET_END = r"[+-]\d\d(:?\d\d)?$"
_TYPE_REASON = {
    "int": "is not a whole number",
    "float": "is not a number",
    "bool": "is not a yes/no value (true, false, 1, 0, yes, no)",
    "timestamp": "is not a date or date-time (ISO-8601, e.g. 2024-03-31 or 2024-03-31T14:05:00)",
    "date": "is not a date (ISO-8601, e.g. 2024-03-31)",
    "json": "is not valid JSON",
}


def problem_column(name: str) -> str:
    return f"{PROBLEM}{name}"


def text_column(name: str) -> str:
    return f"{TEXT}{name}"


def parse(col: schema.Column, raw: ir.StringValue, *, trim: bool = True, date_format: str | None = None) -> ir.Value:
    """``raw`` parsed to the column's type; null where it does not parse. Reference ``raw`` once only:
    Ibis inlines expressions, so each repetition would be evaluated again per row. ``trim=False`` is for
    values known to have no surrounding whitespace (:func:`valid_rows` with ``strict``). ``date_format``
    (a date or time column): the strptime format the mapping declares, the only one accepted."""
    if col.type == "string":
        return raw.lower().strip() if col.allowed else raw
    if col.type == "int":
        return raw.try_cast("int64")  # rounds 1.5 to 2: :func:`reason` compares with the float parse
    if col.type == "float":
        return raw.try_cast("float64")
    if col.type == "bool":
        word = raw.strip().lower()
        return word.isin(TRUE_WORDS).ifelse(True, word.isin(FALSE_WORDS).ifelse(False, ibis.null("boolean")))
    if col.type in ("timestamp", "date") and trim:
        raw = _trimmed(raw)  # '  2024-01-01  ' is that day, as '  12  ' is twelve
    if date_format is not None:  # a date column stays a timestamp here: _problems refuses a time of day
        return try_strptime(raw, date_format).cast("timestamp")  # an offset (%z) is converted to UTC
    if col.type == "timestamp":
        # An offset (+02:00, -0500, +02) must be honoured: the plain parse drops it, and the timestamptz parse
        # (the session runs in UTC) with its conversion back costs 9x as much, so only values that end in
        # an offset take it. 'Z' needs no conversion: the plain parse reads it as UTC.
        has_offset = (raw.length() > 10) & raw.re_search(_OFFSET_END)
        return has_offset.ifelse(
            raw.try_cast(ibis.expr.datatypes.Timestamp(timezone="UTC")).cast("timestamp"), raw.try_cast("timestamp")
        )
    if col.type == "date":
        return raw.try_cast("timestamp")  # stored as a date (_typed) once _problems has found no time of day
    return raw.try_cast("json").notnull().ifelse(raw, ibis.null("string"))  # json


def number(raw: ir.StringValue) -> ir.FloatingValue:
    """``raw`` read as a float column reads it, else null: DuckDB's cast, less the values validation refuses
    (digit separators, infinities, NaN, a value too small for a double that the cast makes 0). A mapping's
    ``multiply`` reads its factors with it, so a factor is never read more leniently than a number.

    >>> t = ibis.memtable({"q": ["2.5", " 3 ", "1_000", "1e-400", "0.0", "inf", "x", None]})
    >>> t.select(n=number(t.q)).n.to_list()
    [2.5, 3.0, None, None, 0.0, None, None, None]
    """
    parsed = parse(_FACTOR, raw)
    # a CASE WHEN asks only whether the tests hold: they may stay null (one COALESCE less per test)
    return refused(_FACTOR, raw, parsed, null_as_false=False).ifelse(ibis.null("float64"), parsed)


_FACTOR = schema.Column("factor", "float", "a factor of a mapping's multiply")


def reason(
    col: schema.Column,
    raw: ir.StringValue,
    parsed: ir.Value,
    number: ir.Value | None = None,
    date_format: str | None = None,
) -> ir.StringValue:
    """Why the raw value is refused, or null when it is fine."""
    cases = _problems(col, raw, parsed, number, date_format)
    if not cases:
        return ibis.null("string")
    return ibis.cases(*cases, else_=ibis.null("string"))


def refused(
    col: schema.Column,
    raw: ir.StringValue,
    parsed: ir.Value,
    number: ir.Value | None = None,
    date_format: str | None = None,
    *,
    unpadded: bool = False,
    null_as_false: bool = True,
) -> ir.BooleanValue:
    """Whether :func:`reason` has a reason: the same tests, without building the sentence. ``unpadded``:
    the caller refuses values with whitespace at their start by other means, so tests may assume none.
    ``null_as_false=False``: a test that is null (about a missing value) stays null instead of false, for a
    caller that only asks whether the result is true (a CASE WHEN): one COALESCE less per test, and the
    engine can skip the rest of an OR chain row by row (about a tenth of a one-pass load's checks)."""
    bad = ibis.literal(False)
    for condition, _ in _problems(col, raw, parsed, number, date_format, unpadded=unpadded):
        bad |= condition.fill_null(False) if null_as_false else condition
    return bad


def _problems(
    col: schema.Column,
    raw: ir.StringValue,
    parsed: ir.Value,
    number: ir.Value | None,
    date_format: str | None,
    *,
    unpadded: bool = False,
) -> list[tuple[ir.BooleanValue, ir.StringValue]]:
    """(test, reason) pairs in the order a reason is given: missing, not of the type, not allowed."""
    cases = []
    if col.required:
        cases.append((raw.isnull(), ibis.literal("missing required value")))
    if date_format is not None:  # strptime reads the declared format exactly, but for the width of %Y
        bad = raw.notnull() & parsed.isnull()
        if "%Y" in date_format:  # DuckDB reads '31.12.23' with %d.%m.%Y as the year 23
            bad |= parsed.year() < 1000
        sentence = f"' does not match the mapping's date_format {date_format}"
        cases.append((bad, ibis.literal("'") + raw + ibis.literal(sentence)))
    elif col.type != "string":
        bad = raw.notnull() & parsed.isnull()
        if col.type == "int":
            bad |= number.notnull() & (number != parsed.cast("float64"))
            bad |= (number.isnull() & parsed.notnull()) | raw.contains("_")  # hex, digit separators
            bad |= _only_where(raw.contains("."), ~raw.re_search(_WHOLE_WITH_POINT))
        if col.type == "float":
            bad |= ~is_finite(parsed) | raw.contains("_")
            bad |= _only_where(parsed == 0, raw.re_search(_NONZERO_MANTISSA))  # too small for a double
        if col.type in ("timestamp", "date"):  # ISO-8601 only; DuckDB also reads 'infinity', '2024/01/01'
            iso = globs(raw, _ISO_DATE_GLOB) if unpadded else raw.re_search(_ISO_DATE_START)
            bad |= raw.notnull() & ~iso
            bad |= _only_where(raw.length() > 26, raw.re_search(_BEYOND_MICROSECONDS))
        cases.append((bad, ibis.literal("'") + raw + ibis.literal(f"' {_TYPE_REASON[col.type]}")))
    if col.type == "date":  # the cast to a date would cut the time off
        cases.append(
            (
                parsed.notnull() & (parsed.truncate("D") != parsed),
                ibis.literal("'") + raw + ibis.literal(f"' has a time of day; {col.name} holds dates only"),
            )
        )
    if col.allowed:
        bad = parsed.notnull() & ~parsed.isin(col.allowed)
        cases.append(
            (bad, ibis.literal("unknown value '") + raw + ibis.literal(f"'; allowed: {', '.join(col.allowed)}"))
        )
    return cases


def _trimmed(raw: ir.StringValue) -> ir.StringValue:
    """``raw`` without surrounding whitespace (what ``strip`` removes: space, tab, CR, LF, VT, FF); the
    (costly) trim runs only on values :func:`_edged` finds."""
    return ibis.cases((_edged(raw), raw.strip().nullif("")), else_=raw)


#: what ``strip`` removes
_WHITESPACE = " \t\n\r\x0b\x0c"


def _edged(raw: ir.StringValue) -> ir.BooleanValue:
    """Whether ``raw`` may begin or end with whitespace: its first character is at most a space (a
    comparison of the inlined prefix) or it ends in one of the characters ``strip`` removes (a test of the
    last byte each: cheaper than cutting the last character off every value). Never null."""
    return ((raw < "!") | _ends_in_whitespace(raw)).fill_null(False)


def _any_edged(values: list[ir.StringValue], ends: str = _WHITESPACE, null_as_false: bool = True) -> ir.BooleanValue:
    """Whether any of ``values`` may begin or end with whitespace (:func:`_edged`), with one comparison of
    the row's least value for all their first characters. ``ends``: the whitespace characters tested at
    the end (the caller knows no value ends in the others). Never null, unless ``null_as_false=False``
    (:func:`refused`)."""
    edge = ibis.least(*values) < "!"
    for raw in values:
        edge |= _ends_in_whitespace(raw, ends)
    return edge.fill_null(False) if null_as_false else edge


def _ends_in_whitespace(raw: ir.StringValue, ends: str = _WHITESPACE) -> ir.BooleanValue:
    return functools.reduce(operator.or_, [raw.endswith(char) for char in ends])


def _trims(col: schema.Column, keys: set[str]) -> bool:
    """Whether the column's values lose surrounding whitespace before they are parsed."""
    return col.type in ("timestamp", "date") or (col.type == "string" and (col.name in keys or bool(col.references)))


def _only_where(condition: ir.BooleanValue, test: ir.BooleanValue) -> ir.BooleanValue:
    """``test`` evaluated only on the rows where ``condition`` holds (a CASE: the engine skips the rest; a
    null condition does not hold). Never null."""
    return ibis.cases((condition, test.fill_null(False)), else_=False)


def validated(
    mapped: ir.Table, table: schema.Table, formats: dict[str, str] | None = None, carry: tuple[str, ...] = ()
) -> ir.Table:
    """Typed target columns, ``__line``, the text as read and a problem column per column (null when fine);
    the columns named in ``carry`` pass through as they are.

    Two projections with a barrier between them, so each value is parsed once. Columns absent from the
    source get their default (or null); required columns must be present (:func:`missing_required`).
    ``formats``: the date format of a date or time column (:meth:`TableMapping.date_formats`).
    """
    formats = formats or {}
    step = _parsed(mapped, table, formats=formats, carry=carry)
    out: dict[str, ir.Value] = {c: step[c] for c in carry}
    for col in table.columns:
        out[col.name] = _typed(col, step)
        if col.name not in mapped.columns:
            continue
        raw, parsed = step[text_column(col.name)], step[col.name]
        out[problem_column(col.name)] = reason(col, raw, parsed, _number(col, step), formats.get(col.name))
        out[text_column(col.name)] = raw
    if problem_column("") in step.columns:
        out[problem_column("")] = step[problem_column("")]
    return step.select(**out, **{LINE: step[LINE]})


def valid_rows(
    mapped: ir.Table,
    table: schema.Table,
    *,
    stop: ir.BooleanValue | None = None,
    strict: bool = False,
    also: Callable[[ir.Table], ir.BooleanValue] | None = None,
    formats: dict[str, str] | None = None,
    ends: str = _WHITESPACE,
) -> ir.Table:
    """The typed target columns of the rows :func:`validated` finds no problem in: the same parse and the
    same tests, with no reason built and no text kept (a clean load needs neither). With ``stop`` (an
    expression that raises, such as DuckDB's ``error()``), the first row with a problem stops the query
    instead of being left out.

    ``strict`` trims nothing: a value that would lose surrounding whitespace before it is parsed (a key, a
    reference, a time) counts as a problem, so the values go to the engine's casts as they are. Building
    trimmed copies of every key costs more than the casts; a clean export has no such values, and a file
    that has them takes the general path. ``ends`` (with ``strict``): the whitespace characters a value is
    tested for at its end, where the caller has proven that no value ends in the others (one test per
    character and value). ``also`` gives, from the parsed table, more rows that count as having a problem.
    """
    formats = formats or {}
    step = _parsed(mapped, table, trim=not strict, formats=formats)
    keys = set(table.key)
    bad = step[problem_column("")].notnull() if problem_column("") in step.columns else ibis.literal(False)
    trimmed = []
    # with ``stop``, only whether ``bad`` is true matters (a CASE WHEN): its tests may be null
    null_as_false = stop is None
    for col in table.columns:
        if col.name in mapped.columns:
            raw = step[text_column(col.name)]
            number, fmt = _number(col, step), formats.get(col.name)
            bad |= refused(col, raw, step[col.name], number, fmt, unpadded=strict, null_as_false=null_as_false)
            if strict and _trims(col, keys):
                trimmed.append(raw)
    if trimmed:
        bad |= _any_edged(trimmed, ends, null_as_false)
    if also is not None:
        bad |= also(step)
    keep = ~bad if stop is None else bad.ifelse(stop, True)
    return step.filter(keep).select(**{col.name: _typed(col, step) for col in table.columns})


def _parsed(
    mapped: ir.Table,
    table: schema.Table,
    *,
    trim: bool = True,
    formats: dict[str, str] | None = None,
    carry: tuple[str, ...] = (),
) -> ir.Table:
    """Per present column: the text as read and its parsed value (and, for whole numbers, the float parse).
    ``trim=False`` parses keys and times as they are (:func:`valid_rows` with ``strict``)."""
    present = [c for c in table.columns if c.name in mapped.columns]
    first: dict[str, ir.Value] = {LINE: mapped[LINE], **{c: mapped[c] for c in carry}}
    keys = set(table.key)
    for col in present:
        raw = mapped[col.name].cast("string")
        first[text_column(col.name)] = raw
        if col.type == "string" and trim and _trims(col, keys):
            # ' CU1' and 'CU1' are one customer: keys lose surrounding blanks (the text as read stays in rejects)
            raw = _trimmed(raw)
        first[col.name] = parse(col, raw, trim=trim, date_format=(formats or {}).get(col.name))
        if col.type == "int":
            first[f"__num__{col.name}"] = raw.try_cast("float64")
    first.update(_row_checks(mapped, table))
    # a filter that is always true keeps Ibis from merging the two projections into one
    return mapped.select(**first).filter(lambda t: t[LINE].notnull())


def _typed(col: schema.Column, step: ir.Table) -> ir.Value:
    """The column as stored: its parsed value in the column's type, or its default where the value is missing."""
    ibis_type = schema.IBIS_TYPES[col.type]
    default = ibis.literal(col.default).cast(ibis_type) if col.default is not None else ibis.null(ibis_type)
    if col.name not in step.columns:
        return default
    parsed = step[col.name].cast(ibis_type)
    return parsed.fill_null(default) if col.default is not None else parsed


def _number(col: schema.Column, step: ir.Table) -> ir.Value | None:
    return step[f"__num__{col.name}"] if col.type == "int" else None


def _row_checks(mapped: ir.Table, table: schema.Table) -> dict[str, ir.Value]:
    checks = {}
    if "customer_or_anonymous" in table.checks:
        ids = [mapped[c] for c in ("customer_id", "anonymous_id") if c in mapped.columns]
        none = ibis.literal(True)
        for i in ids:
            none &= i.isnull() | (i.strip() == "")
        checks[problem_column("")] = none.ifelse(ibis.literal("needs customer_id or anonymous_id"), ibis.null("string"))
    return checks


def raw_record(checked: ir.Table) -> ir.StringValue:
    """The row as the user gave it, as a JSON object, so a refused row can be fixed and loaded again."""
    texts = {c[len(TEXT) :]: checked[c] for c in checked.columns if c.startswith(TEXT)}
    return ibis.struct(texts).cast("json").cast("string")


def missing_required(columns: list[str], table: schema.Table) -> list[str]:
    return [c for c in table.required if c not in columns]


def problem_columns(validated_table: ir.Table) -> list[str]:
    return [c for c in validated_table.columns if c.startswith(PROBLEM)]
