"""Load a file into the store: read, map, validate, upsert, and keep every refused row in ``rejects``.

Example:
    >>> from salesintel.store import Store
    >>> from salesintel.ingest import load_file
    >>> store = Store.open("duckdb://:memory:")
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "customers.csv"
    >>> _ = path.write_text("customer_id,name,job,balance\\nC1,Ann,baker,12.5\\nC2,Bo,,x\\n")
    >>> [report] = load_file(store, path, table="customers")
    >>> report.inserted, report.attributes
    (2, {'job': 'string', 'balance': 'string'})
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from salesintel import schema
from salesintel.errors import NothingLoaded, TooManyRejects, UnreadableFile, UserInputError
from salesintel.ingest import attributes
from salesintel.ingest import rejects as rejects_
from salesintel.ingest import validate as v
from salesintel.ingest.mapping import TableMapping, apply, identity, load_mapping, numbers_by_file_order
from salesintel.ingest.read import LINE, CsvBytes, PlainCsv, SourceOptions, iter_records, plain_csv
from salesintel.store import Store, now_utc
from salesintel.store.engine import bare_name
from salesintel.store.staging import (
    append_arrow,
    create_from_arrow,
    key_hash,
    release_memtables,
    scan_csv,
    staging_backend,
    stop_with,
)

#: A clean first load of a plain CSV file into an empty table of a DuckDB store is read, checked and stored
#: by one INSERT ... SELECT over DuckDB's own parallel reader (docs/performance.md). A file with any row to
#: refuse, any repeated key or any record that is not one line takes the general path, which numbers lines.
#: Tests turn it off to compare both paths.
ONE_PASS = True

#: A ``repeated_keys: merge`` table (products or customers of an order-lines file) is checked once per
#: distinct row of its values, not once per line: a product's code, name and price repeat on every line
#: that sells it (Online Retail: 541,909 lines, 4,070 distinct products). A refused row still gives a
#: reject for each of its lines. Tests turn it off to compare with checking every line.
DISTINCT_MERGE = True
#: per distinct row: how many lines hold it (its ``__line`` is the last of them)
LINES = "__lines"


@dataclass
class LoadReport:
    """What happened to one file's rows for one table."""

    table: str
    source_file: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    merged: int = 0  # repeated keys folded into one row where the mapping says they are expected
    orphans: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)  # custom attribute -> type, kept
    dropped: list[str] = field(default_factory=list)  # source columns the mapping leaves out on purpose
    ignored: list[str] = field(default_factory=list)  # source columns this table has no place for
    #: source columns no table of a full-form mapping reads, keeps or drops (on the file's first report)
    unused: list[str] = field(default_factory=list)
    load_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # loads.load_id; its rejects carry it
    content_sha256: str | None = None  # of the file's bytes: the same content under another name
    one_pass: bool = False  # read, checked and stored in one pass over the file (a clean first load)

    @property
    def stored(self) -> int:
        return self.inserted + self.updated + self.unchanged

    @property
    def reject_rate(self) -> float:
        return self.rejected / self.rows_read if self.rows_read else 0.0

    def as_row(self) -> dict:
        return {
            "table": self.table,
            "file": Path(self.source_file).name,
            "read": self.rows_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "merged": self.merged,
            "orphans": sum(self.orphans.values()),
        }


def load_file(
    store: Store,
    path: Path,
    *,
    table: str | None = None,
    mapping: Path | None = None,
    source: SourceOptions | None = None,
    max_reject_rate: float | None = None,
) -> list[LoadReport]:
    """Load ``path`` into ``table`` (or the tables its mapping names); one report per table.

    Raises :class:`NothingLoaded` when every row was refused and :class:`TooManyRejects` when the share of
    refused rows exceeds ``max_reject_rate`` (then nothing is stored, but the rejects are kept for review).
    """
    path = Path(path)
    if max_reject_rate is not None and not 0 <= max_reject_rate <= 1:
        raise UserInputError(f"--max-reject-rate is a share between 0 and 1 (0.05 = 5%), not {max_reject_rate}")
    plan = (
        load_mapping(mapping, table, source) if mapping else identity(_required_table(table), source or SourceOptions())
    )
    return _load_plan(store, path, plan, max_reject_rate)


def _load_plan(store: Store, path: Path, plan, max_reject_rate: float | None) -> list[LoadReport]:
    staging = staging_backend(store)
    with store.unordered_writes():  # no query of ours relies on the order rows are stored in
        one_pass = _load_in_one_pass(store, staging, path, plan)
    if one_pass is not None:
        return [one_pass]
    if path.is_file():
        _sha256_started(path)  # while the file is read
    source = _source(staging, path, plan.source, _json_sources(plan.tables))
    try:
        if not source.rows and source.broken.num_rows:
            first = source.broken.slice(0, 1).to_pylist()[0]
            raise NothingLoaded(
                f"none of the {source.broken.num_rows} records of {path.name} could be read: line {first['line']} "
                f"{first['reason']}"
            )
        return _load_tables(store, staging, source, plan.tables, path, max_reject_rate, plan.elsewhere)
    finally:
        if source.staged:
            staging.drop_table(bare_name(source.table), force=True)
        else:  # the file's records, held for the engine until the process ends unless let go
            release_memtables(staging, source.table)


def _load_tables(
    store: Store,
    staging,
    source: _Source,
    tables: list[TableMapping],
    path: Path,
    max_reject_rate: float | None,
    elsewhere: tuple[TableMapping, ...] = (),
) -> list[LoadReport]:
    """The mapping's tables, each checked in turn, then stored in one transaction: a file's tables are
    stored all or none, and their rejects are written together at the end. A table refused (too many
    rejects) keeps its rejects and ``loads`` row, stores no row, and ends the load: the tables before it
    stay stored."""
    pending = _PendingRejects(store, staging)
    try:
        # before the transaction: DuckDB scans the rows a transaction has not committed about twice as slowly
        # (the checked tables are read several times), and a table with a bad mapping stops the load first
        checked = [_check_table(store, staging, source, tm, path, max_reject_rate, pending) for tm in tables]
        checked[0].report.unused = _unused_columns((*tables, *elsewhere), source.table.columns)
        # up to the first table refused, which stores its rejects and loads row only
        last = next((i for i, c in enumerate(checked) if c.refused is not None), len(checked) - 1)
        stored, refused = checked[: last + 1], checked[last].refused
        for c in stored:
            if c.refused is None:
                # before the transaction, which then holds rows only (on PostgreSQL readers wait for an
                # ALTER TABLE until it commits): adding a column is idempotent, so a crash after this
                # leaves an empty column that the rerun finds and keeps
                attributes.add_to_store(store, c.target.name, c.extra, c.report.source_file)
        with store.transaction():  # the data, its rejects and its loads rows: all of them or none (issue 11)
            for name in sorted({c.target.name for c in stored}):  # one order for every load: none waits in a ring
                store.lock_for_write(name)  # a second load of these tables waits for this one to commit
            with store.unordered_writes():  # no query of ours relies on the order rows are stored in
                for c in stored:
                    _store_table(store, staging, c, pending)
            # in the order they were found: DuckDB then fills whole row groups, so the checkpoint at close
            # has no partly filled ones to merge (one per table and thread when written apart: 0.3-0.5 s)
            pending.write()
    finally:
        pending.drop()
    if refused is not None:
        raise _refusal(stored[-1].report, path.name, max_reject_rate, [c.report.table for c in stored[:-1]])
    return [c.report for c in stored]


@dataclass
class _Source:
    """A file's records as a table of the staging engine: every column as text, plus ``__line``."""

    table: ir.Table
    rows: int
    broken: pa.Table  # records that did not split into fields: line, reason, text
    staged: bool = False  # a temporary table to drop after the load


def _mapped(
    store: Store, src: ir.Table, tm: TableMapping, path: Path, report: LoadReport
) -> tuple[attributes.AttributePlan, schema.Table, ir.Table]:
    """The attribute plan, the target table with its attributes, and the source as the target's columns;
    the report learns which columns were kept as attributes, dropped or ignored."""
    canonical = schema.get(tm.table)
    extra = attributes.plan(
        store,
        src,
        canonical,
        used=tm.used_columns(list(src.columns)),
        passthrough=tm.passthrough,
        declared=tm.attributes,
        drop=tm.drop,
    )
    report.attributes = {name: type_ for name, (_, type_) in extra.columns.items()}
    report.dropped, report.ignored = extra.dropped, extra.ignored
    target = extra.extended(canonical)
    mapped = apply(tm, src, path.name, {name: source for name, (source, _) in extra.columns.items()})
    missing = v.missing_required(mapped.columns, target)
    if missing:
        found = ", ".join(c for c in src.columns if c != LINE)
        raise UnreadableFile(
            f"{path.name} has no column {', '.join(missing)}, which {target.name} requires "
            f"(columns found: {found}); rename it in the file, or map a column to it with --mapping"
        )
    return extra, target, mapped


def _unused_columns(tables: tuple[TableMapping, ...], columns: list[str]) -> list[str]:
    """The file's columns that no table of a full-form mapping reads, keeps as an attribute or drops (the
    sections not loaded this time included): the load summary names them, so that no column is left out
    without a word. (Without a mapping, or with the short form, each table's own report names them:
    ``ignored``.)"""
    if all(tm.passthrough for tm in tables):
        return []
    used: set[str] = set()
    for tm in tables:
        used |= tm.used_columns(columns) | set(tm.attributes) | set(tm.drop)
    return [c for c in columns if c not in used and c != LINE]


# -- the one-pass load ------------------------------------------------------------------------------------
class _NotClean(Exception):
    """The one-pass load met a row it cannot store as it is: the general path reads the file again."""


def _load_in_one_pass(store: Store, staging, path: Path, plan) -> LoadReport | None:
    """The report of a clean first load done in one pass, or None when the general path must load the file
    (another engine, a table holding rows, a file that is not plain CSV, or any row to refuse)."""
    if not ONE_PASS or staging is not store.con or len(plan.tables) != 1:
        return None
    tm = plan.tables[0]
    if tm.merge_repeated_keys or not store.has_table(tm.table) or store.count(tm.table):
        return None
    csv = plain_csv(path, plan.source)
    if csv is None or numbers_by_file_order(tm, csv.names):
        return None
    with ThreadPoolExecutor(1) as pool:
        # the file's hash and line count are taken while the engine tests the keys after the insert: that
        # test runs on one thread, so the second core is free (during the insert both are busy)
        scanned: list[Future[CsvBytes]] = []  # the scan, once started

        def start_scan() -> Future[CsvBytes]:
            scanned.append(pool.submit(csv.scan))
            return scanned[0]

        src = scan_csv(staging, path, names=csv.names, delimiter=csv.delimiter, header=csv.header)
        try:
            return _store_in_one_pass(store, src, csv, start_scan, tm, plan.elsewhere)
        except _NotClean:
            pass
        except UserInputError:
            raise  # the general path would say the same, after reading the file again
        except Exception:  # noqa: BLE001 - the strict reader refused a record: the general path keeps it in rejects
            pass
        finally:
            staging.drop_view(src.get_name(), force=True)
    if scanned and scanned[0].exception() is None:  # the general path loads the file: the scan's hash is its hash
        _sha256_started(path, known=scanned[0].result().sha256)
    return None


def _store_in_one_pass(
    store: Store,
    src: ir.Table,
    csv: PlainCsv,
    start_scan: Callable[[], Future[CsvBytes]],
    tm: TableMapping,
    elsewhere: tuple[TableMapping, ...] = (),
) -> LoadReport:
    """Insert the rows that pass every check straight from the file into the empty table, then prove that
    none was left out: as many rows stored as the file has lines, and every key once. Else roll back.
    ``start_scan`` starts the scan of the file's bytes (on another thread) once the rows are in."""
    report = LoadReport(schema.get(tm.table).name, str(csv.path.resolve()))
    view = src.get_name()
    # No line numbers: a clean load needs none, so the line column says instead whether the row holds a
    # value of blanks only (1), which the general readers make missing. Such a row stops the load instead
    # of being rewritten: a rewritten copy of every value, or a stop tested apart from the other checks,
    # costs more than all the checks together.
    full, unicode_only = _blank_tests(tm, schema.get(tm.table), csv.names)
    blank = _any_blanks_only([src[n] for n in full], [src[n] for n in unicode_only])
    src = src.mutate(**{LINE: blank.cast("int64")})
    extra, target, mapped = _mapped(store, src, tm, csv.path, report)
    report.unused = _unused_columns((tm, *elsewhere), src.columns)
    with store.transaction():  # DuckDB's DDL is transactional: a rollback takes the new attributes back too
        attributes.add_to_store(store, target.name, extra, report.source_file)
        # the first row to refuse stops the insert: a file with problems costs little before the general path
        # the query depends on the mapping, the target's columns and the file's shape only: a second file of
        # the same shape reuses the compiled statement
        shape = repr((tm, target, extra.columns, csv.names, csv.delimiter, csv.header, view))
        checked = functools.partial(
            v.valid_rows,
            mapped,
            target,
            stop=stop_with("a row to refuse"),
            strict=True,
            also=_holds_blanks_only,
            formats=tm.date_formats(),
            ends=_TESTED_ENDS,
        )
        store.append_built(target.name, shape, checked)
        scanned = start_scan()
        stored = store.table(target.name)
        unknown = _empty_references(store, target)
        optional = [c for c in unknown if c not in target.required]  # a required one is on every row
        report.rows_read, repeated, everywhere = _rows_repeats_and_references(stored, target.key, optional)
        everywhere |= {c: report.rows_read for c in unknown if c in target.required}
        found = scanned.result()
        # every record one line (so no value holds a line feed), every carriage return part of a CRLF (so
        # none ends a value) and no vertical tab or form feed: the only whitespace a value can end in is
        # what the statement tested (_TESTED_ENDS)
        clean = found.line_ends_plain and found.no_rare_whitespace
        clean = clean and report.rows_read == found.records_if_one_per_line > 0
        if repeated or not clean:
            raise _NotClean
        report.inserted, report.content_sha256, report.one_pass = report.rows_read, found.sha256, True
        _close_resolved(store, stored, target, report, stored=True)
        report.orphans = _orphans(store, stored, target, everywhere)
        _record_load(store, report)
    return report


#: the characters Arrow's utf8_is_space counts as blank (what the general readers make missing)
_BLANK_CODES = (9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029)
_BLANK_CODES += (0x202F, 0x205F, 0x3000)
_BLANKS_ONLY = "^[" + "".join(f"\\x{{{code:x}}}" for code in _BLANK_CODES) + "]+$"


#: the whitespace the one pass tests at the end of each key, reference and time; the file's bytes prove
#: that no value ends in the rest of what ``strip`` removes (see _store_in_one_pass)
_TESTED_ENDS = " \t"


def _holds_blanks_only(step: ir.Table) -> ir.BooleanValue:
    return step[LINE] != 0


def _blank_tests(tm: TableMapping, target: schema.Table, names: list[str]) -> tuple[list[str], list[str]]:
    """The source columns whose blank-only values the one pass must find itself, and those where only
    blanks from U+0085 up need a test. A column read as it is (a plain source column, or ``column`` with
    no ``values`` lookup) into a target column whose strict checks refuse a blank-only value stops the one
    pass there, whatever else the mapping makes of it:

    - into a typed column (number, time, yes/no, JSON) or one with allowed values: it does not parse;
    - into a key or a reference: the edge test refuses a start below '!', so only blanks from U+0085 up
      need a test.

    Every other column (text, or read only through a concatenation, a product or a lookup) is tested.

    >>> from salesintel.ingest.mapping import identity
    >>> [tm] = identity("orders").tables
    >>> _blank_tests(tm, schema.get("orders"), ["order_id", "line", "amount", "channel", "note"])
    (['channel', 'note'], ['order_id'])
    """
    direct: dict[str, list[schema.Column]] = {}
    for col in target.columns:
        spec = tm.columns.get(col.name)
        if isinstance(spec, dict) and spec.get("unless_present") in names:
            spec = None  # the file has the column itself
        if spec is None and tm.passthrough and col.name in names:
            spec = col.name
        spec = {"column": spec} if isinstance(spec, str) else spec
        if isinstance(spec, dict) and isinstance(spec.get("column"), str) and "values" not in spec:
            direct.setdefault(spec["column"], []).append(col)
    keys = set(target.key)
    full, unicode_only = [], []
    for name in names:
        uses = direct.get(name, [])
        if any(_refuses_blanks(col) for col in uses):
            continue
        (unicode_only if any(col.name in keys or col.references for col in uses) else full).append(name)
    return full, unicode_only


def _refuses_blanks(col: schema.Column) -> bool:
    """Whether the strict checks refuse a blank-only value of ``col``: it is typed or has allowed values."""
    return col.type != "string" or bool(col.allowed)


def _any_blanks_only(values: list[ir.StringValue], unicode_only: list[ir.StringValue] = ()) -> ir.BooleanValue:
    """Whether any of ``values`` holds blanks only (what the general readers make missing), or any of
    ``unicode_only`` holds blanks only that start from U+0085 up. One test of the row's least and greatest
    value first: a blank-only value starts below '!' (ASCII blanks and controls) or from U+0085 up (the
    other blanks); only rows that pass it test each value with the pattern."""
    every = [*values, *unicode_only]
    if not every:
        return ibis.literal(False)
    maybe = ibis.greatest(*every) >= "\u0085" if len(every) > 1 else every[0] >= "\u0085"
    if values:
        maybe |= (ibis.least(*values) if len(values) > 1 else values[0]) < "!"
    each = functools.reduce(operator.or_, [_blanks_only(raw) for raw in every])
    return ibis.cases((maybe, each), else_=False)  # a null test (a missing value) does not hold: never null


def _blanks_only(raw: ir.StringValue) -> ir.BooleanValue:
    """Whether ``raw`` holds blanks only. The pattern runs only on values whose first character could be
    a blank."""
    maybe = ((raw < "!") | (raw >= "\u0085")).fill_null(False)
    return ibis.cases((maybe, raw.re_search(_BLANKS_ONLY).fill_null(False)), else_=False)


def _rows_repeats_and_references(
    stored: ir.Table, key: tuple[str, ...], references: list[str]
) -> tuple[int, bool, dict[str, int]]:
    """How many rows, whether any key may be on more than one, and per column of ``references`` how many
    rows have a value (one query: the rows are not committed yet, and DuckDB scans those slowly).

    Repeats are keys that share a hash (:func:`_shared_hash`): a repeated key or, about once in 40 million
    loads of 1M keys, two keys with one hash; either way the general path loads the file, and it finds
    repeats exactly. The sort carries the hashes alone (a scalar subquery): the counts of references ride
    on a plain scan beside it, not through the sort (0.05 s of 0.19 s at 1M lines).
    """
    present = {f"__r_{c}": stored[c].notnull().sum() for c in references}
    row = stored.aggregate(__rows=stored.count(), __repeated=_shared_hash(stored, key), **present).execute().iloc[0]
    filled = {c: int(row[f"__r_{c}"] or 0) for c in references}
    return int(row["__rows"] or 0), bool(row["__repeated"]), filled


def _shared_hash(rows: ir.Table, key: tuple[str, ...]) -> ir.BooleanScalar:
    """Whether two of ``rows`` share the 64-bit hash of their key: a repeated key or, rarely, two keys with
    one hash (the caller settles which, exactly). The hashes are sorted and neighbours compared, alone in a
    scalar subquery: half the time of a distinct count, whose hash table misses the cache on every key."""
    hashed = rows.select(__h=key_hash({k: rows[k] for k in key}))
    same = hashed.__h == hashed.__h.lag().over(order_by=hashed.__h)
    return hashed.select(__same=same).__same.any().fill_null(False).as_scalar()


def _source(staging, path: Path, options: SourceOptions, nested_ok: frozenset[str]) -> _Source:
    """A small file is scanned by the engine in place (an Arrow memtable, no copy). A large CSV file arrives
    in pieces, each appended to a temporary table before the next is read, so one piece at a time is in
    Python's memory and the engine can spill the rest to disk."""
    pieces = iter_records(path, options, nested_ok=nested_ok)
    first = next(pieces)
    second = next(pieces, None)
    if second is None:
        return _Source(ibis.memtable(first.table), first.table.num_rows, first.broken)
    # each piece copied into the engine and let go: Ibis' own insert kept every piece until the process ended
    table = create_from_arrow(staging, f"_src_{uuid.uuid4().hex[:10]}", first.table)
    source = _Source(table, first.table.num_rows, first.broken, staged=True)
    del first
    try:
        for piece in itertools.chain([second], pieces):
            append_arrow(staging, bare_name(table), piece.table)
            source.rows += piece.table.num_rows
            source.broken = pa.concat_tables([source.broken, piece.broken])
    except BaseException:
        staging.drop_table(bare_name(table), force=True)
        raise
    return source


def _json_sources(tables: tuple[TableMapping, ...]) -> frozenset[str]:
    """Source fields that may hold a JSON object or array: those that feed a json column."""
    names = set()
    for tm in tables:
        for col in schema.get(tm.table).columns:
            if col.type != "json":
                continue
            spec = tm.columns.get(col.name, col.name if tm.passthrough else None)
            spec = spec.get("column") if isinstance(spec, dict) else spec
            if isinstance(spec, str):
                names.add(spec)
    return frozenset(names)


#: the columns of a reject after its line
_REJECT_FIELDS = ("column_name", "value", "reason", "record", "row_key")


def _broken_rejects(broken: pa.Table) -> ir.Table | None:
    """Records the reader could not split into fields: one reject each, with the text as written."""
    if not broken.num_rows:
        return None
    return ibis.memtable(
        {
            "line": broken.column("line").to_pylist(),
            "column_name": [None] * broken.num_rows,
            "value": [None] * broken.num_rows,
            "reason": broken.column("reason").to_pylist(),
            "record": [json.dumps(t, ensure_ascii=False) for t in broken.column("text").to_pylist()],
            "row_key": [None] * broken.num_rows,  # a record that did not split has no key to close it by
        },
        schema={c: "int64" if c == "line" else "string" for c in ("line", *_REJECT_FIELDS)},
    )


def _required_table(table: str | None) -> str:
    if not table:
        raise UnreadableFile("name the table to load (salesintel load TABLE PATH) or give a mapping with tables:")
    return table


@dataclass
class _CheckedTable:
    """One table of the file, checked: what to store, what to refuse, and why nothing may be stored."""

    report: LoadReport
    extra: attributes.AttributePlan
    target: schema.Table
    mapped: ir.Table
    good: ir.Table
    rejects: ir.Table | None
    refused: Exception | None  # every row refused, or more than --max-reject-rate: store no row


def _check_table(
    store: Store,
    staging,
    source: _Source,
    tm: TableMapping,
    path: Path,
    max_reject_rate: float | None,
    pending: _PendingRejects,
) -> _CheckedTable:
    """Validate the source as one table of the mapping, into a temporary table ``pending`` drops."""
    src = source.table
    report = LoadReport(schema.get(tm.table).name, str(path.resolve()))
    extra, target, mapped = _mapped(store, src, tm, path, report)
    distinct = tm.merge_repeated_keys and DISTINCT_MERGE
    rows_in = _distinct_rows(mapped) if distinct else mapped
    full = _with_bad(v.validated(rows_in, target, tm.date_formats(), carry=(LINES,) if distinct else ()))
    # the text as read is kept for refused rows only: their rejects need it, the good rows do not
    slim = full.mutate(
        **{c: full.__bad.ifelse(full[c], ibis.null("string")) for c in full.columns if c.startswith(v.TEXT)}
    )
    checked = pending.keep(staging.create_table(f"_chk_{uuid.uuid4().hex[:10]}", obj=slim, temp=True))
    rows, bad, keys_repeat = _tally(checked, target.key, LINES if distinct else None)
    repeated = pending.keep(_repeated_keys(staging, checked, target)) if keys_repeat else None
    broken = _broken_rejects(source.broken)
    report.rows_read = rows + source.broken.num_rows
    if report.rows_read == 0:
        raise NothingLoaded(f"{path.name} has no rows to load")
    any_bad = bool(bad) or repeated is not None
    good, rejects, superseded = _split(checked, repeated, mapped, target, tm, report, any_bad)
    if distinct and rejects is not None:
        # built once per refused row of values, then copied for each of its lines: a temporary table, so the
        # insert into rejects reads no join (whole row groups: nothing for the checkpoint to merge)
        each = _each_line(rejects, _lines_of(checked.filter(checked.__bad), mapped))
        rejects = pending.keep(staging.create_table(f"_rej_{uuid.uuid4().hex[:10]}", obj=each, temp=True))
    if tm.merge_repeated_keys:  # every valid line beyond the one stored per key was merged
        report.merged = rows - bad - int(good.count().execute())
    if broken is not None:
        rejects = broken if rejects is None else ibis.union(rejects.cast(broken.schema()), broken)
    # refused lines: those with a problem, those a later line superseded, those that did not split
    report.rejected = bad + (0 if tm.merge_repeated_keys else superseded) + source.broken.num_rows
    report.content_sha256 = _content_sha256(path)
    refused = _refusal(report, path.name, max_reject_rate)
    return _CheckedTable(report, extra, target, mapped, good, rejects, refused)


def _store_table(store: Store, staging, checked: _CheckedTable, pending: _PendingRejects) -> None:
    """Inside the load's transaction: store the table's good rows (none when it is refused), close the
    earlier rejects it resolves, and keep its rejects in ``pending`` and its ``loads`` row."""
    report, target, stored = checked.report, checked.target, checked.refused is None
    _close_resolved(store, checked.good, target, report, stored=stored)
    pending.add(checked.rejects, report)
    if stored:
        _store_good(store, staging, checked.good, target, report, _absent(target, checked.mapped))
    _record_load(store, report, stored=stored)


def _refusal(
    report: LoadReport, name: str, max_reject_rate: float | None, stored_before: list[str] = ()
) -> Exception | None:
    """Why no row of this table may be stored, or None: every row refused, or more than --max-reject-rate.
    ``stored_before``: the tables of the mapping stored before it, which the sentence names."""
    before = f"; {' and '.join(stored_before)} stored" if stored_before else ""
    if report.rejected == report.rows_read:
        return NothingLoaded(
            f"none of the {report.rows_read} rows of {name} could be loaded into {report.table}{before}; "
            f"see salesintel rejects"
        )
    if max_reject_rate is not None and report.reject_rate > max_reject_rate:
        return TooManyRejects(
            f"{report.rejected} of {report.rows_read} rows of {name} were refused for {report.table} "
            f"({report.reject_rate:.1%} > --max-reject-rate {max_reject_rate:.1%}); no {report.table} row "
            f"was stored{before}; see salesintel rejects --table {report.table}"
        )
    return None


def _content_sha256(path: Path) -> str:
    return _sha256_started(path).result()


_HASHING = ThreadPoolExecutor(1, thread_name_prefix="salesintel-sha256")
#: per file (path, size, modification time): its SHA-256, done or under way; a mapping's tables hash their
#: file once, and a load the one pass gave up on keeps the hash its scan took
_SHA256: OrderedDict[tuple[str, int, int], Future[str]] = OrderedDict()
_SHA256_KEPT = 8


def _sha256_started(path: Path, known: str | None = None) -> Future[str]:
    """The file's SHA-256, computed on a thread of its own from the first call on (the general path starts
    it before it reads the file, and hashing, which lets go of the GIL, runs beside the reading), or
    ``known`` when the caller has it already."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256:
        if known is None:
            _SHA256[key] = _HASHING.submit(rejects_.file_sha256, Path(key[0]))
        else:
            _SHA256[key] = Future()
            _SHA256[key].set_result(known)
        while len(_SHA256) > _SHA256_KEPT:
            _SHA256.popitem(last=False)
    return _SHA256[key]


def _close_resolved(store: Store, good: ir.Table, target: schema.Table, report: LoadReport, stored: bool) -> None:
    """Close earlier rejects this load resolves (same file or content; with ``stored``, the keys it stores)."""
    if not store.count("rejects", table_name=target.name, closed_by=None):
        return  # nothing open to close (a first load): one count instead of three queries
    rejects_.close_earlier(
        store,
        table=target.name,
        source_file=report.source_file,
        content_sha256=report.content_sha256,
        load_id=report.load_id,
    )
    if stored:
        keys = good.select(row_key=rejects_.key_text(good, target.key))
        rejects_.close_stored_keys(store, keys, table=target.name, load_id=report.load_id)


def _row_key(rows: ir.Table, target: schema.Table) -> ir.StringValue:
    """The key of each row as text, where it could be read: a reject carries it, so that a later load that
    stores the key closes the reject (no join back to the checked rows: each reject's row is at hand)."""
    key_text = rejects_.key_text(rows, target.key)
    for k in target.key:  # a key part that did not parse (line 'x'): the row has no key to close it by
        if v.problem_column(k) in rows.columns:
            key_text = rows[v.problem_column(k)].isnull().ifelse(key_text, ibis.null("string"))
    return key_text


def _with_bad(checked: ir.Table) -> ir.Table:
    """Adds ``__bad``: the row has a problem in some column."""
    bad = ibis.literal(False)
    for p in v.problem_columns(checked):
        bad |= checked[p].notnull()
    return checked.mutate(__bad=bad)


def _tally(checked: ir.Table, key: tuple[str, ...], lines: str | None = None) -> tuple[int, int, bool]:
    """(lines, lines with a problem, whether a key may be on more than one valid row), in one query. Two
    valid rows whose keys share a hash mean a repeat (or, about once in 40 million loads of 1M keys, two
    keys with one hash), which the group-by of :func:`_repeated_keys` then settles exactly. ``lines``: the
    column that says how many lines a row stands for (rows checked once per distinct values)."""
    weight = checked[lines] if lines else None
    tally = checked.aggregate(
        rows=checked.count() if weight is None else weight.sum(),
        bad=checked.__bad.sum() if weight is None else checked.__bad.ifelse(weight, 0).sum(),
        shared=_shared_hash(checked.filter(~checked.__bad), key),
    )
    row = tally.to_pyarrow().to_pylist()[0]
    return int(row["rows"] or 0), int(row["bad"] or 0), bool(row["shared"])


def _distinct_rows(mapped: ir.Table) -> ir.Table:
    """Each distinct row of ``mapped``'s values once, with its last line (``__line``) and how many lines
    hold it (``__lines``): what checking it once stands for."""
    values = [c for c in mapped.columns if c != LINE]
    return mapped.group_by(values).aggregate(**{LINE: mapped[LINE].max(), LINES: mapped.count()})


def _lines_of(rows: ir.Table, mapped: ir.Table) -> ir.Table:
    """Per line of ``mapped`` whose values are those of one of ``rows`` (checked once per distinct row,
    :func:`_distinct_rows`): that row's ``__line`` (``__row``) and the line's own (``__line``); nulls match
    nulls. Two integer columns: the rejects of a refused row's lines are built from them."""
    values = [c for c in mapped.columns if c != LINE]
    lines = mapped.select(LINE, **{f"__each_{c}": mapped[c] for c in values})
    row = rows.select(__row=rows[LINE], **{f"__row_{c}": rows[v.text_column(c)] for c in values})
    joined = row.inner_join(lines, [lines[f"__each_{c}"].identical_to(row[f"__row_{c}"]) for c in values])
    return joined.select("__row", LINE)


def _each_line(rejects: ir.Table, lines: ir.Table) -> ir.Table:
    """``rejects`` of rows checked once per distinct values, once for each of their lines (:func:`_lines_of`),
    with that line's number."""
    lines = lines.rename(__each_line=LINE)
    joined = rejects.inner_join(lines, rejects.line == lines.__row)
    return joined.mutate(line=joined.__each_line).drop("__each_line", "__row")


def _repeated_keys(staging, checked: ir.Table, target: schema.Table) -> ir.Table | None:
    """Keys that more than one valid row of the file carries, with the last such line (``__last``); None when
    every key is once. A group-by over the key alone: a window over every column costs 4x as much (issue 12)."""
    valid = checked.filter(~checked.__bad)
    counts = valid.group_by([valid[k] for k in target.key]).aggregate(__last=valid[LINE].max(), __n=valid.count())
    repeated = staging.create_table(
        f"_rep_{uuid.uuid4().hex[:10]}", obj=counts.filter(counts.__n > 1).drop("__n"), temp=True
    )
    if int(repeated.count().execute()):
        return repeated
    staging.drop_table(bare_name(repeated), force=True)
    return None


def _superseded(valid: ir.Table, repeated: ir.Table, target: schema.Table) -> ir.Table:
    """Valid rows whose key a later valid line of the file carries again (nulls in a key part match nulls)."""
    on = [valid[k].identical_to(repeated[k]) for k in target.key]
    joined = valid.inner_join(repeated, on)
    return joined.filter(joined[LINE] < joined.__last).select(LINE, "__last", *target.key)


def _split(
    checked: ir.Table,
    repeated: ir.Table | None,
    mapped: ir.Table,
    target: schema.Table,
    tm: TableMapping,
    report: LoadReport,
    any_bad: bool = True,
) -> tuple[ir.Table, ir.Table | None, int]:
    """(rows to store, rejects, rows superseded) - rejects carry one row per problem; a key repeated in the
    file: the last row wins."""
    valid = checked.filter(~checked.__bad)
    good = valid
    if repeated is not None:
        superseded_lines = _superseded(valid, repeated, target).select(__sup_line=LINE)
        good = valid.anti_join(superseded_lines, valid[LINE] == superseded_lines.__sup_line)
    if not any_bad:
        return good.select(target.names), None, 0
    problems = v.problem_columns(checked)
    bad_rows = checked.filter(checked.__bad)
    parts = [_problem_rejects(bad_rows, problems, target)] if problems else []
    superseded_rows = 0
    if repeated is not None and not tm.merge_repeated_keys:  # merged rows are counted by _check_table
        superseded = _superseded(valid, repeated, target)
        superseded_rows = int(superseded.count().execute())
        texts = mapped.select(LINE, **{v.text_column(c): mapped[c].cast("string") for c in mapped.columns if c != LINE})
        superseded = superseded.inner_join(texts, LINE)
        key_text = ibis.literal(", ").join([superseded[k].cast("string") for k in target.key])
        parts.append(
            superseded.select(
                line=superseded[LINE],
                column_name=ibis.literal(",".join(target.key)),
                value=key_text,
                reason=ibis.literal("superseded by line ") + superseded.__last.cast("string"),
                record=v.raw_record(superseded),
                row_key=_row_key(superseded, target),
            )
        )
    rejects = ibis.union(*parts) if parts else None
    return good.select(target.names), rejects, superseded_rows


def _problem_rejects(bad_rows: ir.Table, problems: list[str], target: schema.Table) -> ir.Table:
    """One reject per problem of each refused row. The row's record and key are built once and its problems
    unnested: one select, where a union of one select per column took Ibis 0.1 s to compile."""
    each = []
    for problem in problems:
        column = problem[len(v.PROBLEM) :]
        text = v.text_column(column)
        value = bad_rows[text] if text in bad_rows.columns else ibis.null("string")
        each.append(ibis.struct({"column_name": ibis.literal(column), "value": value, "reason": bad_rows[problem]}))
    rows = bad_rows.select(
        line=bad_rows[LINE],
        __problem=ibis.array(each).filter(lambda problem: problem.reason.notnull()),
        record=v.raw_record(bad_rows),
        row_key=_row_key(bad_rows, target),
    ).unnest("__problem")
    return rows.select(
        line=rows.line,
        column_name=rows.__problem.column_name,
        value=rows.__problem.value,
        reason=rows.__problem.reason,
        record=rows.record,
        row_key=rows.row_key,
    )


def _this_load(staging, report: LoadReport) -> ir.Table:
    """A temporary table of ``staging`` with one row naming the load a reject comes from: its table, source
    file, time and load id."""
    row = {
        "table_name": pa.array([report.table], pa.string()),
        "source_file": pa.array([report.source_file], pa.string()),
        "rejected_at": pa.array([now_utc()], pa.timestamp("us")),
        "load_id": pa.array([report.load_id], pa.string()),
    }
    return create_from_arrow(staging, f"_load_{uuid.uuid4().hex[:10]}", pa.table(row))


class _PendingRejects:
    """The rejects of a load's tables, written to ``rejects`` together when the last table is done (earlier
    rejects are kept as history: :func:`_close_resolved` closed those this load replaces), and the
    temporary tables they are read from, dropped after that."""

    def __init__(self, store: Store, staging) -> None:
        self.store, self.staging = store, staging
        self.parts: list[ir.Table | pa.Table] = []
        self.temporary: list[ir.Table] = []

    def keep(self, table: ir.Table) -> ir.Table:
        """``table``, a temporary table of the staging engine, dropped by :meth:`drop`."""
        self.temporary.append(table)
        return table

    def add(self, rejects: ir.Table | None, report: LoadReport) -> None:
        if rejects is None or not report.rejected:
            return
        # what names this load comes from a one-row temporary table, not from literals: the statement then
        # has the same shape at every load and its compiled form is kept (salesintel/store/compiled.py)
        rows = rejects.cross_join(self.keep(_this_load(self.staging, report)))
        # every table's rejects in the columns and types of ``rejects``, so that they go in as one
        stored = self.store.table("rejects").schema()
        rows = rows.select(**{c: (rows[c] if c in rows.columns else ibis.null()).cast(stored[c]) for c in stored.names})
        # validated in the store itself (DuckDB): INSERT ... SELECT, the rejects never leave the engine
        self.parts.append(rows if self.staging is self.store.con else rows.to_pyarrow())

    def write(self) -> None:
        """One append of every part: Arrow tables when validation ran apart from the store, else one
        ``INSERT ... SELECT`` of their union."""
        if not self.parts:
            return
        if isinstance(self.parts[0], pa.Table):
            self.store.append("rejects", pa.concat_tables(self.parts, promote_options="default"))
        else:
            self.store.append("rejects", ibis.union(*self.parts) if len(self.parts) > 1 else self.parts[0])

    def drop(self) -> None:
        for t in self.temporary:
            self.staging.drop_table(bare_name(t), force=True)


def _absent(target: schema.Table, mapped: ir.Table) -> tuple[str, ...]:
    """The table's columns this file does not carry: they keep their stored values."""
    return tuple(c for c in target.names if c not in mapped.columns)


def _store_good(
    store: Store, staging, good: ir.Table, target: schema.Table, report: LoadReport, absent: tuple[str, ...] = ()
) -> None:
    if staging is not store.con and store.count(target.name) == 0:
        # first load into another engine: bulk-write straight into the table (one COPY, not stage + insert)
        rows = good.to_pyarrow()
        store.append(target.name, rows)
        report.inserted = rows.num_rows
        report.orphans = _orphans(store, store.table(target.name), target)
        return
    rows = good if staging is store.con else store.stage(good.to_pyarrow())
    # custom attributes of earlier files, which this file's target does not name, are kept too
    earlier = tuple(c for c in store.table(target.name).columns if c not in target.names)
    counts = store.upsert(target.name, rows, target.key, keep=absent + earlier)
    report.inserted, report.updated, report.unchanged = counts.inserted, counts.updated, counts.unchanged
    report.orphans = _orphans(store, rows, target)
    if rows is not good:
        store.drop_stage(rows)


def _empty_references(store: Store, target: schema.Table) -> list[str]:
    """The columns of ``target`` that refer to another table with no rows (every value is an orphan)."""
    return [
        col.name
        for col in target.columns
        if col.references
        and col.references.split(".")[0] != target.name
        and store.count(col.references.split(".")[0]) == 0
    ]


def _orphans(
    store: Store, staged: ir.Table, target: schema.Table, everywhere: dict[str, int] | None = None
) -> dict[str, int]:
    """Rows of this load whose reference (customer, product ...) is not in the store. ``everywhere``: per
    column of :func:`_empty_references`, how many rows have a value (every one is an orphan), when the
    caller has counted them already."""
    if everywhere is None:
        empty = _empty_references(store, target)  # one query for all of them
        counted = staged.aggregate(**{c: staged[c].notnull().sum() for c in empty}).execute() if empty else None
        everywhere = {} if counted is None else counted.iloc[0].fillna(0).to_dict()
    out = dict(everywhere)
    for col in target.columns:
        if not col.references or col.name in everywhere:
            continue
        ref_table, ref_col = col.references.split(".")
        known = store.table(ref_table).view()  # a view: the reference may be the loaded table itself
        values = staged.filter(staged[col.name].notnull())
        # an anti-join, not NOT IN: PostgreSQL cannot turn NOT IN into one, and probed 1M customers once
        # per order line (over 8 minutes for 10M lines; seconds now)
        out[col.name] = int(values.anti_join(known, values[col.name] == known[ref_col]).count().execute())
    return {name: int(n) for name, n in out.items() if n}


def _record_load(store: Store, report: LoadReport, *, stored: bool = True) -> None:
    """The ``loads`` row; a refused load (nothing stored) has empty inserted, updated, unchanged, orphans."""
    counts = (report.inserted, report.updated, report.unchanged, sum(report.orphans.values()))
    inserted, updated, unchanged, orphans = counts if stored else (None, None, None, None)
    row = {
        "load_id": report.load_id,
        "table_name": report.table,
        "source_file": report.source_file,
        "loaded_at": now_utc(),
        "rows_read": report.rows_read,
        "inserted": inserted,
        "updated": updated,
        "unchanged": unchanged,
        "rejected": report.rejected,
        "orphans": orphans,
        "content_sha256": report.content_sha256,
    }
    store.append("loads", pa.Table.from_pylist([row]))
