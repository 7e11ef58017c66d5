"""Read a source file (CSV, whitespace-separated text, Parquet, JSON lines; optionally gzip) into Arrow.

Every column comes back as text with a ``__line`` column (the physical line where the record starts), so
validation sees the values exactly as the user wrote them and every refusal can name its line. Parsing to
types happens later, in the engine. Only an empty field is a missing value (unless the mapping declares
``null_values``): Arrow's default markers (``NA``, ``NULL``, ``NaN`` ...) would lose Namibia's country code.

A record that cannot be split into the header's fields (an unclosed quote, too many or too few fields, a
broken JSON line, an array where an object belongs) is not a reason to refuse the file: it comes back in
:attr:`SourceRecords.broken` with its line and original text, and the rest is read.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from salesintel.errors import UnreadableFile

LINE = "__line"
FORMATS = ("csv", "tsv", "whitespace", "parquet", "json")


@dataclass(frozen=True)
class SourceOptions:
    """How to read a file; all optional, guessed from the file name when not given."""

    format: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    header: bool | str = True  # True, False or "auto" (a first line without digits is a header)
    column_names: tuple[str, ...] | None = None  # for files without a header
    null_values: tuple[str, ...] = ()  # texts that mean "missing" besides the empty field (a mapping declares them)


@dataclass(frozen=True)
class SourceRecords:
    """What a file held: the records that split into fields, and the ones that did not."""

    table: pa.Table  # every column as text, plus __line
    broken: pa.Table = field(default_factory=lambda: BROKEN_SCHEMA.empty_table())  # line, reason, text


BROKEN_SCHEMA = pa.schema([("line", pa.int64()), ("reason", pa.string()), ("text", pa.string())])


def check_options(options: SourceOptions) -> None:
    """Refuse options that cannot work, in one sentence, before any byte is read."""
    try:
        codecs.lookup(options.encoding)
    except LookupError:
        raise UnreadableFile(
            f"unknown encoding {options.encoding!r}; give a Python codec name, such as utf-8, latin-1, cp1252 or utf-16"
        ) from None
    if options.delimiter is not None and len(options.delimiter) != 1:
        raise UnreadableFile(
            f"the delimiter must be one character, not {options.delimiter!r} (for tabs pass --delimiter $'\\t')"
        )
    if options.delimiter in ('"', "\n", "\r"):
        raise UnreadableFile(f"{options.delimiter!r} cannot be the delimiter")


def detect_format(path: Path, explicit: str | None = None) -> str:
    """The format from ``explicit`` or the extension (``.csv.gz`` counts as csv).

    >>> detect_format(Path("orders.csv.gz"))
    'csv'
    """
    if explicit:
        fmt = {"jsonl": "json", "ndjson": "json", "txt": "whitespace"}.get(explicit, explicit)
        if fmt not in FORMATS:
            raise UnreadableFile(f"unknown format {explicit!r}; use one of: csv, tsv, whitespace, parquet, json")
        return fmt
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    ext = suffixes[-1].lstrip(".") if suffixes else ""
    guessed = {
        "csv": "csv",
        "tsv": "tsv",
        "txt": "whitespace",
        "parquet": "parquet",
        "pq": "parquet",
        "json": "json",
        "jsonl": "json",
        "ndjson": "json",
    }.get(ext)
    if not guessed:
        raise UnreadableFile(
            f"cannot tell the format of {path.name} from its extension; pass --source-format csv|parquet|json"
        )
    return guessed


def read_source(path: Path, options: SourceOptions = SourceOptions()) -> pa.Table:
    """All columns of ``path`` as strings, plus ``__line`` (the header is line 1 in text files).

    >>> import tempfile, os
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"; _ = p.write_text("a,b\\n1,NA\\n\\n2,x\\n")
    >>> read_source(p).to_pylist()
    [{'a': '1', 'b': 'NA', '__line': 2}, {'a': '2', 'b': 'x', '__line': 4}]
    """
    return read_records(path, options).table


def read_records(path: Path, options: SourceOptions = SourceOptions(), *, nested_ok=frozenset()) -> SourceRecords:
    """The file's records (:class:`SourceRecords`); ``nested_ok`` names the JSON-lines fields that may hold an
    object or array (kept as JSON text); a nested value anywhere else makes its record broken."""
    if not path.exists():
        raise UnreadableFile(f"no such file: {path}")
    if path.is_dir():
        raise UnreadableFile(f"{path} is a folder; name the files in it (salesintel load TABLE {path}/*.csv)")
    check_options(options)
    fmt = detect_format(path, options.format)
    try:
        if fmt == "parquet":
            records = SourceRecords(_read_parquet(path))
        elif fmt == "json":
            records = _read_json(path, options, nested_ok)
        elif fmt == "whitespace":
            records = _read_whitespace(path, options)
        else:
            records = _read_csv(path, options, "\t" if fmt == "tsv" else (options.delimiter or ","))
    except UnreadableFile:
        raise
    except UnicodeDecodeError as exc:
        raise _not_text(path, options, exc) from None
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc).lower():
            try:  # Arrow does not say where: Python's decoder does
                _file_bytes(path).decode(options.encoding)
            except UnicodeDecodeError as decode_error:
                raise _not_text(path, options, decode_error) from None
            raise UnreadableFile(
                f"{path.name} is not {options.encoding} text; pass --encoding latin-1 or re-save it as UTF-8"
            ) from None
        raise UnreadableFile(f"{path.name} cannot be read as {fmt}: {_first_line(exc)}") from None
    except (pa.ArrowTypeError, OSError, csv.Error, ValueError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"{path.name} cannot be read as {fmt}: {_first_line(exc)}") from None
    refuse_repeated_names(path, records.table.column_names)  # Parquet and JSON lines too
    table = _nulls(_blank_to_null(records.table), options.null_values)
    return SourceRecords(table, records.broken)


#: CSV files above this size are read in pieces of about this size, each stored in the engine before the next
#: is read, so memory follows the piece, not the file: a 100M-line export is 5-6 GB of text, and read whole
#: it took about 8.5x its size in memory (docs/scale.md)
CHUNK_BYTES = 1 << 27
_SINGLE_BYTE = {"latin-1", "iso8859-1", "cp1252", "iso8859-15", "ascii"}


def iter_records(
    path: Path, options: SourceOptions = SourceOptions(), *, nested_ok=frozenset(), chunk_bytes: int = 0
) -> Iterator[SourceRecords]:
    """The file's records as :func:`read_records` gives them, in pieces for a large CSV file (lines stay the
    file's own). A file that cannot be cut safely (gzip, UTF-16, a quote that never closes, bare carriage
    returns) comes whole, as one piece."""
    chunk = chunk_bytes or CHUNK_BYTES
    delimiter = _streamable_csv(path, options, chunk)
    if delimiter is None:
        yield read_records(path, options, nested_ok=nested_ok)
        return
    try:
        yield from _read_csv_pieces(path, options, delimiter, chunk)
    except UnreadableFile:
        raise  # already one sentence about this file (a ValueError too: not wrapped again)
    except pa.ArrowInvalid as exc:
        raise UnreadableFile(f"{path.name} cannot be read as csv: {_first_line(exc)}") from None
    except (OSError, csv.Error, ValueError) as exc:
        raise UnreadableFile(f"{path.name} cannot be read as csv: {_first_line(exc)}") from None


@dataclass(frozen=True)
class PlainCsv:
    """A UTF-8 CSV or TSV file whose records DuckDB's own reader splits as ours would: its columns and
    whether the first record is a header (from its first MiB)."""

    path: Path
    delimiter: str
    names: list[str]
    header: bool

    def scan(self) -> "CsvBytes":
        """One pass over the bytes: their hash, line count and rare whitespace (the hash releases the GIL,
        the counts and searches run at C speed)."""
        digest = hashlib.sha256()
        rare = RARE_WHITESPACE.replace(self.delimiter, "").encode()
        counts = _byte_counts(self.path, digest, quotes_too=False, seek=rare)
        return CsvBytes(counts.lines - self.header, counts.returns == counts.crlf, digest.hexdigest(), not counts.found)


@dataclass(frozen=True)
class CsvBytes:
    """What one pass over a CSV file's bytes found."""

    records_if_one_per_line: int  # the lines without the header: the records when each record is one line
    line_ends_plain: bool  # every carriage return is part of a CRLF (a bare one would end a record for DuckDB)
    sha256: str
    no_rare_whitespace: bool = False  # no byte of RARE_WHITESPACE but the delimiter: no value ends in one


#: whitespace that ``strip`` removes and a CSV value hardly ever holds (vertical tab, form feed): a file
#: without these bytes needs no test of each value's last character for them
RARE_WHITESPACE = "\x0b\x0c"


def plain_csv(path: Path, options: SourceOptions = SourceOptions()) -> PlainCsv | None:
    """The file as :class:`PlainCsv`, or None when it is anything else (gzip, Parquet, JSON, another
    encoding, declared null markers, NUL bytes, one column): :func:`iter_records` reads those. Raises
    :class:`UnreadableFile` as :func:`read_records` would for a bad header.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"; _ = p.write_text("a,b\\n1,2\\n3,4\\n")
    >>> found = plain_csv(p); found.names, found.header, found.scan().records_if_one_per_line
    (['a', 'b'], True, 2)
    """
    if not path.is_file():
        return None
    check_options(options)
    fmt = detect_format(path, options.format)
    encoding = codecs.lookup(options.encoding).name
    if fmt not in ("csv", "tsv") or encoding not in ("utf-8", "utf-8-sig") or options.null_values or _is_gzip(path):
        return None
    delimiter = "\t" if fmt == "tsv" else (options.delimiter or ",")
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if not head or head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or b"\x00" in head[:4096]:
        return None
    names, has_header = _csv_names(path, head[3:] if head.startswith(codecs.BOM_UTF8) else head, options, delimiter)
    if len(names) == 1:  # one column: the checks of the exact readers decide whether it is CSV at all
        return None
    return PlainCsv(path, delimiter, names, has_header)


def _streamable_csv(path: Path, options: SourceOptions, chunk: int) -> str | None:
    """The delimiter when ``path`` is a large plain CSV file that can be cut at record ends, else None.

    One pass over the bytes (C-speed counts): the quotes must pair up, so that a newline after an even number
    of quotes ends a record, and every carriage return must be part of a CRLF, so lines are counted by LF."""
    if not path.is_file() or path.stat().st_size <= chunk:
        return None
    check_options(options)
    fmt = detect_format(path, options.format)
    if fmt not in ("csv", "tsv") or _is_gzip(path):
        return None
    encoding = codecs.lookup(options.encoding).name
    if encoding not in ("utf-8", "utf-8-sig") and encoding not in _SINGLE_BYTE:
        return None
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or b"\x00" in head:
        return None
    counts = _byte_counts(path)
    if counts.quotes % 2 or counts.returns != counts.crlf:
        return None
    return "\t" if fmt == "tsv" else (options.delimiter or ",")


@dataclass(frozen=True)
class _ByteCounts:
    lines: int  # physical lines by LF (a last line without one counts)
    quotes: int
    returns: int  # carriage returns
    crlf: int  # carriage returns followed by a line feed
    found: bool = False  # whether any of the bytes sought occurs


def _byte_counts(path: Path, digest=None, *, quotes_too: bool = True, seek: bytes = b"") -> _ByteCounts:
    """Lines, quotes and carriage returns of a file in one pass of C-speed counts over 16 MiB blocks;
    ``digest`` (a hashlib object) is fed the same blocks; ``seek``: bytes whose presence is reported.
    ``quotes_too=False`` leaves quotes uncounted (0): each count is a pass over the bytes."""
    newlines = quotes = returns = crlf = 0
    previous_cr, last, found = False, b"", False
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            if digest is not None:
                digest.update(block)
            found = found or any(bytes((byte,)) in block for byte in seek)
            view = np.frombuffer(block, np.uint8)
            newlines += _count_byte(view, b"\n")
            quotes += _count_byte(view, b'"') if quotes_too else 0
            if b"\r" in block or previous_cr:
                returns += block.count(b"\r")
                crlf += block.count(b"\r\n") + (previous_cr and block[:1] == b"\n")
            previous_cr, last = block[-1:] == b"\r", block[-1:]
    return _ByteCounts(newlines + (last not in (b"", b"\n")), quotes, returns, crlf, found)


def _count_byte(view: np.ndarray, byte: bytes) -> int:
    """How often ``byte`` occurs in ``view`` (a block's bytes as uint8): numpy's vectorised compare takes a
    quarter of the time of ``bytes.count``, which tests one byte at a time (0.008 s against 0.03 s for
    56 MB: the one-pass load counts the lines of the file it loads).

    >>> _count_byte(np.frombuffer(b"a\\nb\\n", np.uint8), b"\\n")
    2
    """
    return int(np.count_nonzero(view == byte[0]))


def _read_csv_pieces(path: Path, options: SourceOptions, delimiter: str, chunk: int) -> Iterator[SourceRecords]:
    names: list[str] = []
    has_header = first = True
    offset = 0  # lines before the piece
    carry = b""
    with open(path, "rb") as fh:
        while True:
            more = fh.read(chunk)
            data = carry + more
            if first and data.startswith(codecs.BOM_UTF8):
                data = data[3:]
            cut = _record_boundary(data) if more else len(data)
            if cut <= 0 and more:
                carry = data  # no record ends in this piece (a huge quoted value): read on
                continue
            piece, carry = data[:cut], data[cut:]
            if not piece:
                break
            if not options.encoding.lower().replace("-", "").replace("_", "").startswith("utf8"):
                piece = piece.decode(options.encoding).encode("utf-8")
            if first:
                names, has_header = _csv_names(path, piece, options, delimiter)
            records = _csv_piece(path, piece, names, delimiter, first and has_header, offset)
            if first:
                _check_one_column(path, names, records, delimiter, has_header)
            yield SourceRecords(_nulls(_blank_to_null(records.table), options.null_values), records.broken)
            offset += piece.count(b"\n")
            first = False
            if not more and not carry:
                break


def _record_boundary(data: bytes) -> int:
    """Where the last whole record of ``data`` ends: after the last newline preceded by an even number of
    quotes (the piece starts outside any quoted value). -1 when no newline qualifies."""
    at = data.rfind(b"\n")
    quotes = data.count(b'"', 0, at) if at >= 0 else 0
    while at >= 0 and quotes % 2:  # the newline is inside a quoted value: try the one before
        before = data.rfind(b"\n", 0, at)
        quotes -= data.count(b'"', max(before, 0), at)
        at = before
    return at + 1 if at >= 0 else -1


def _csv_piece(path: Path, data: bytes, names: list[str], delimiter: str, header: bool, offset: int) -> SourceRecords:
    """One piece read as a whole file would be, its lines moved by the ``offset`` lines before it."""
    try:
        records = _read_csv_fast(data, names, delimiter, header)
    except pa.ArrowInvalid as exc:
        try:  # Arrow does not say where: Python's decoder does
            data.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            line = offset + data.count(b"\n", 0, decode_error.start) + 1
            raise UnreadableFile(
                f"{path.name} is not utf-8 text: byte {data[decode_error.start : decode_error.start + 1]!r} on line "
                f"{line:,}; pass --encoding latin-1 (or cp1252) or re-save it as UTF-8"
            ) from None
        raise exc
    if records is None:
        records = _read_csv_exact(data.decode("utf-8"), names, delimiter, header)
    if not offset:
        return records
    table = records.table.set_column(
        records.table.column_names.index(LINE), LINE, pc.add(records.table.column(LINE), offset)
    )
    broken = records.broken.set_column(0, "line", pc.add(records.broken.column("line"), offset))
    return SourceRecords(table, broken)


def _not_text(path: Path, options: SourceOptions, exc: UnicodeDecodeError) -> UnreadableFile:
    """Which byte on which line is not text in the encoding, and what to pass instead."""
    data = exc.object if isinstance(exc.object, bytes) else b""
    line = data.count(b"\n", 0, exc.start) + 1
    return UnreadableFile(
        f"{path.name} is not {options.encoding} text: byte {data[exc.start : exc.start + 1]!r} on line {line:,}; "
        f"pass --encoding latin-1 (or cp1252) or re-save it as UTF-8"
    )


def _with_lines(table: pa.Table, lines) -> pa.Table:
    return table.append_column(LINE, pa.array(np.asarray(lines, dtype=np.int64)))


def _blank_to_null(table: pa.Table) -> pa.Table:
    """Empty or all-blank text is a missing value, whatever the format."""
    cols = {}
    for name, col in zip(table.column_names, table.columns):
        if name == LINE:
            cols[name] = col
            continue
        blank = pc.utf8_is_space(col)  # true for a value of blanks only (empty fields are null already)
        if pc.any(blank).as_py():
            col = pc.if_else(blank, pa.scalar(None, pa.string()), col)
        cols[name] = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col) if _has_empty(col) else col
    return pa.table(cols)


def _has_empty(col) -> bool:
    return bool(pc.any(pc.equal(pc.utf8_length(col), 0)).as_py())


def _nulls(table: pa.Table, markers: tuple[str, ...]) -> pa.Table:
    """The mapping's declared null markers become missing values; nothing else does."""
    if not markers:
        return table
    cols = {}
    marker_set = pa.array(list(markers), pa.string())
    for name, col in zip(table.column_names, table.columns):
        cols[name] = col if name == LINE else pc.if_else(pc.is_in(col, marker_set), pa.scalar(None, col.type), col)
    return pa.table(cols)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _file_bytes(path: Path) -> bytes:
    if not _is_gzip(path):
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (EOFError, gzip.BadGzipFile, zlib.error):
        raise UnreadableFile(
            f"{path.name} is a damaged or truncated gzip file (it ends before the compressed data does); "
            f"copy or download it again"
        ) from None


def _utf8_bytes(path: Path, encoding: str) -> bytes:
    """The file's bytes as UTF-8, decompressed; decoding errors surface as UnicodeDecodeError."""
    data = _file_bytes(path)
    utf8 = encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")
    if utf8 and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return data.decode("utf-16").encode("utf-8")  # the byte-order mark says what it is
    if utf8 and b"\x00" in data[:4096]:  # NUL bytes are normal in UTF-16: check only what should be UTF-8
        raise UnreadableFile(
            f"{path.name} looks binary, not text; is it a Parquet or Excel file? "
            f"pass --source-format parquet, or --encoding utf-16 for UTF-16 text"
        )
    if utf8:
        return data[3:] if data.startswith(codecs.BOM_UTF8) else data  # Arrow checks the UTF-8 itself
    if data.startswith(codecs.BOM_UTF8):  # a UTF-8 mark is no text, as the piece reader of large files reads it
        data = data[3:]
    if codecs.lookup(encoding).name == "iso8859-1":
        return latin1_to_utf8(data)
    text = data.decode(encoding)
    return text.lstrip("\ufeff").encode("utf-8")


#: bytes that are the same in Latin-1 and UTF-8
_ASCII = bytes(range(128))
#: at most this many distinct non-ASCII bytes are replaced one after another; more are decoded at once
_FEW_HIGH_BYTES = 4


def latin1_to_utf8(data: bytes) -> bytes:
    """Latin-1 bytes as UTF-8. An export in Latin-1 is mostly ASCII with a few accented letters: the ASCII
    bytes stay as they are and each distinct other byte is replaced by its two UTF-8 bytes, one C-speed
    pass each (0.07 s for the 44 MB Online Retail file against 0.15 s to decode and encode it all). A file
    with many distinct accented letters is decoded and encoded at once.

    >>> latin1_to_utf8(b"Caf\\xe9 \\xa3 3") == "Café £ 3".encode("utf-8")
    True
    """
    if data.isascii():
        return data
    high = set(data.translate(None, _ASCII))
    # a replacement writes C2 or C3 and a byte from 80 to BF: a later replacement of one of those would
    # rewrite what an earlier one wrote
    written = high & _UTF8_WRITTEN if len(high) > 1 else set()
    if len(high) > _FEW_HIGH_BYTES or written:
        return data.decode("latin-1").encode("utf-8")
    for byte in high:
        data = data.replace(bytes((byte,)), chr(byte).encode("utf-8"))
    return data


#: the bytes the UTF-8 form of U+0080 to U+00FF is made of
_UTF8_WRITTEN = {0xC2, 0xC3, *range(0x80, 0xC0)}


def _physical_lines(text: str) -> list[str]:
    """The lines as written (ends kept); \\n, \\r\\n and \\r end a line, nothing else does."""
    return list(io.StringIO(text, newline=""))


def _header_fields(data: bytes, delimiter: str) -> list[str]:
    text = data[: 1 << 20].decode("utf-8", errors="replace")
    for line in _physical_lines(text):
        if line.strip():
            return next(csv.reader([line], delimiter=delimiter), [])
    return []


def _read_csv(path: Path, options: SourceOptions, delimiter: str) -> SourceRecords:
    data = _utf8_bytes(path, options.encoding)
    names, has_header = _csv_names(path, data, options, delimiter)
    records = _read_csv_fast(data, names, delimiter, has_header)
    if records is None:  # a record Arrow could not split, or lines it cannot number: the exact reader
        records = _read_csv_exact(data.decode("utf-8"), names, delimiter, has_header)
    _check_one_column(path, names, records, delimiter, has_header)
    return records


def _csv_names(path: Path, data: bytes, options: SourceOptions, delimiter: str) -> tuple[list[str], bool]:
    """The column names (from the header, the options or column1..n) and whether the first record is a header."""
    first = _header_fields(data, delimiter)
    if not first:
        raise UnreadableFile(f"{path.name} is empty")
    if len(first) == 1 and delimiter == ",":
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in first[0]:
                shown = "'\\t'" if sep == "\t" else f"'{sep}'"
                raise UnreadableFile(
                    f"{path.name} has one column and its header is separated by {name}; pass --delimiter {shown}"
                )
    has_header = _has_header(options.header, first)
    names = first if has_header else list(options.column_names or [f"column{i + 1}" for i in range(len(first))])
    refuse_repeated_names(path, names)
    return names, has_header


def refuse_repeated_names(path: Path, names: list[str]) -> None:
    """One sentence when two columns share a name. Names are compared without case, as the engines compare
    them: ``Foo`` and ``foo`` would be one column in a query.

    >>> refuse_repeated_names(Path("c.csv"), ["id", "Foo", "foo"])
    Traceback (most recent call last):
    salesintel.errors.UnreadableFile: c.csv has repeated column names: Foo, foo (names are compared without case)
    """
    folded = [n.casefold() for n in names]
    if len(set(folded)) == len(folded):
        return
    dupes = [n for n, f in zip(names, folded) if folded.count(f) > 1]
    same_case = len(set(dupes)) < len(dupes)
    shown = ", ".join(sorted(set(dupes)))
    raise UnreadableFile(
        f"{path.name} has repeated column names: {shown}" + ("" if same_case else " (names are compared without case)")
    )


def _check_one_column(path: Path, names: list[str], records: SourceRecords, delimiter: str, has_header: bool):
    if len(names) == 1 and records.table.num_rows and delimiter == "," and not has_header:
        raise UnreadableFile(f"{path.name} does not look like CSV (one column only)")


def _read_csv_fast(data: bytes, names: list[str], delimiter: str, has_header: bool) -> SourceRecords | None:
    """Arrow's multithreaded reader, when every record splits cleanly and its lines can be numbered."""
    import pyarrow.csv as pacsv

    invalid: list[int] = []

    def on_invalid(row) -> str:
        invalid.append(1)
        return "skip"

    read = pacsv.ReadOptions(column_names=names, skip_rows=0, block_size=1 << 24)
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid)
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc).lower():
            raise
        return None
    if invalid:
        return None
    lines = _one_record_per_line(data, table.num_rows)
    if lines is None:
        lines = _record_start_lines(data)
    if lines is None:
        return None
    if has_header:
        table, lines = table.slice(1), lines[1:]
    if table.num_rows != len(lines):
        return None
    return SourceRecords(_with_lines(table, lines))


def _one_record_per_line(data: bytes, records: int) -> np.ndarray | None:
    """Lines 1..n when the file has as many records as lines (no blank line, no newline inside a value, no
    carriage return): two counting passes instead of locating every newline and quote."""
    if not data or b"\r" in data:  # bytes.find and bytes.count: C loops, 10x faster than numpy's comparison
        return None
    lines = data.count(b"\n") + (data[-1:] != b"\n")
    return np.arange(1, lines + 1, dtype=np.int64) if lines == records else None


def _record_start_lines(data: bytes) -> np.ndarray | None:
    """The physical line each non-empty record starts on, found with numpy: a newline ends a record when
    an even number of quotes precede it. None when the quotes do not pair up (the exact reader decides)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    if not len(buf):
        return np.zeros(0, dtype=np.int64)
    newlines = np.flatnonzero(buf == 10)
    returns = int(np.count_nonzero(buf == 13))
    if returns and np.count_nonzero(buf[newlines[newlines > 0] - 1] == 13) != returns:
        return None  # a bare carriage return ends a line too: leave numbering to the exact reader
    quotes = np.flatnonzero(buf == 34)
    if len(quotes) % 2:
        return None
    # the quotes before each newline: an odd count means the newline is inside a quoted value
    ends = newlines[(np.searchsorted(quotes, newlines) & 1) == 0] if len(quotes) else newlines
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [len(buf)]])
    length = stops - starts - (stops > starts) * (buf[np.maximum(stops - 1, 0)] == 13)
    starts = starts[(length > 0) & (starts < len(buf))]
    return np.searchsorted(newlines, starts) + 1


class _Feed:
    """The physical lines, handed to csv.reader one at a time, so the reader's position is always known."""

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.at = lines, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.at >= len(self.lines):
            raise StopIteration
        self.at += 1
        return self.lines[self.at - 1]


def _read_csv_exact(text: str, names: list[str], delimiter: str, has_header: bool) -> SourceRecords:
    """Record by record with Python's csv module: the starting line of every record is exact, and a record
    that does not split into the header's fields is broken while the rest is read. A quote that never
    closes would swallow the rest of the file: its first line is broken and reading resumes on the next."""
    lines = _physical_lines(text)
    feed = _Feed(lines)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    starts: list[int] = []
    broken: list[tuple[int, str, str]] = []
    header_seen = not has_header
    while True:
        start = feed.at
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            broken.append((start + 1, f"cannot be split into fields ({exc})", lines[start].rstrip("\r\n")))
            feed.at = start + 1
            reader = csv.reader(feed, delimiter=delimiter, strict=True)
            continue
        if not record or (len(record) == 1 and not record[0].strip() and len(names) > 1):
            continue  # a blank line
        if not header_seen:
            header_seen = True
            continue
        if len(record) != len(names):
            raw = "".join(lines[start : feed.at]).rstrip("\r\n")
            if feed.at - start > 1:  # a quote that did not close where it should: this line only
                broken.append(
                    (
                        start + 1,
                        _field_count(len(record), len(names)) + " (a quote left open?)",
                        lines[start].rstrip("\r\n"),
                    )
                )
                feed.at = start + 1
                reader = csv.reader(feed, delimiter=delimiter, strict=True)
                continue
            broken.append((start + 1, _field_count(len(record), len(names)), raw))
            continue
        rows.append(record)
        starts.append(start + 1)
    columns = list(zip(*rows)) if rows else [[] for _ in names]
    table = pa.table(
        {n: pa.array([v if v != "" else None for v in col], pa.string()) for n, col in zip(names, columns)}
    )
    return SourceRecords(_with_lines(table, starts), _broken_table(broken))


def _field_count(found: int, expected: int) -> str:
    """Why a record did not split: its fields against the file's columns (from the header, or named by the
    mapping's ``source.columns`` for a file without one).

    >>> _field_count(3, 2)
    'has 3 fields where the file has 2 columns'
    """
    return f"has {found} field{'s' if found != 1 else ''} where the file has {expected} column{'s' * (expected != 1)}"


def _broken_table(broken: list[tuple[int, str, str]]) -> pa.Table:
    if not broken:
        return BROKEN_SCHEMA.empty_table()
    line, reason, text = zip(*broken)
    return pa.table({"line": list(line), "reason": list(reason), "text": list(text)}, schema=BROKEN_SCHEMA)


def _has_header(header: bool | str, first: list[str]) -> bool:
    if header == "auto":
        return not any(ch.isdigit() for field in first for ch in field)
    return bool(header)


def _read_whitespace(path: Path, options: SourceOptions) -> SourceRecords:
    """Columns separated by runs of blanks (as in the CDNOW master file), split in Arrow."""
    text = pa.scalar(_utf8_bytes(path, options.encoding), pa.binary()).cast(pa.string())
    # \n, \r\n and \r end a line, as in the CSV readers; every line keeps its physical number
    lines = pc.split_pattern_regex(text, pattern=r"\r\n|\r|\n").values
    if len(lines) and lines[-1].as_py() == "":
        lines = lines[:-1]  # the newline that ends the file starts no line
    filled = pc.invert(pc.or_(pc.equal(lines, ""), pc.utf8_is_space(lines)))
    numbers = np.flatnonzero(filled.to_numpy(zero_copy_only=False)) + 1
    raw = lines.filter(filled)
    first_fields = raw[0].as_py().split() if len(raw) else []
    has_header = _has_header(options.header, first_fields)
    start = 1 if has_header else 0
    names = (
        first_fields
        if has_header
        else list(options.column_names or [f"column{i + 1}" for i in range(len(first_fields))])
    )
    body = raw[start:]
    parts = pc.split_pattern_regex(pc.utf8_trim_whitespace(body), pattern=r"\s+")
    count = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    fits = count == len(names)
    table = pa.table({name: pc.list_element(parts.filter(pa.array(fits)), i) for i, name in enumerate(names)})
    bad = np.flatnonzero(~fits)
    broken = [(int(numbers[start + i]), _field_count(int(count[i]), len(names)), body[int(i)].as_py()) for i in bad]
    return SourceRecords(_with_lines(table, numbers[start:][fits]), _broken_table(broken))


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return _with_lines(_all_text(table), np.arange(1, table.num_rows + 1))


def _read_json(path: Path, options: SourceOptions, nested_ok) -> SourceRecords:
    """JSON lines, one object per line, read with Python's json so numbers keep their exact text (a 20-digit
    id stays those 20 digits; 1e309 stays 1e309 and is refused as a number later, not turned into infinity)."""
    lines = _physical_lines(_utf8_bytes(path, options.encoding).decode("utf-8"))
    rows: list[dict] = []
    starts: list[int] = []
    broken: list[tuple[int, str, str]] = []
    names: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row, problem = _json_record(line, nested_ok)
        if problem:
            broken.append((number, problem, line.rstrip("\r\n")))
            continue
        names.update(dict.fromkeys(row))
        rows.append(row)
        starts.append(number)
    table = pa.table({n: pa.array([r.get(n) for r in rows], pa.string()) for n in names})
    return SourceRecords(_with_lines(table, starts), _broken_table(broken))


def _json_record(line: str, nested_ok) -> tuple[dict, str | None]:
    """One JSON line as {field: text}, or the reason it is not a record. Top-level numbers keep their text;
    a nested value (``properties``) is kept as JSON with its numbers as numbers."""
    try:
        value = json.loads(
            line, parse_int=str, parse_float=str, parse_constant=_no_constant, object_pairs_hook=_unique_fields
        )
    except _RepeatedField as exc:
        return {}, f"has the field {exc.args[0]!r} twice"
    except ValueError as exc:
        return {}, f"is not valid JSON ({getattr(exc, 'msg', exc)})"
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string"}.get(type(value), "a single value")
        return {}, f"is {kind}, not a JSON object with one field per column"
    row, plain = {}, None
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            if key not in nested_ok:
                return {}, f"field {key!r} holds a nested JSON value, where one value belongs"
            plain = plain if plain is not None else json.loads(line)  # numbers as numbers (ints exact)
            row[key] = json.dumps(plain[key], ensure_ascii=False)
        elif item is None:
            row[key] = None
        elif isinstance(item, bool):
            row[key] = "true" if item else "false"
        else:
            row[key] = item
    return row, None


class _RepeatedField(ValueError):
    pass


def _unique_fields(pairs: list[tuple[str, object]]) -> dict:
    """An object whose field appears twice is refused: which of the two values is meant is a guess."""
    out: dict = {}
    for key, item in pairs:
        if key in out:
            raise _RepeatedField(key)
        out[key] = item
    return out


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _all_text(table: pa.Table) -> pa.Table:
    """Every column as text; nested values (a struct in ``properties``) become JSON text; bytes that are
    not UTF-8 text become hex (a column nobody maps costs nothing; one that is mapped is refused later)."""
    cols = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_nested(col.type):
            cols[name] = _nested_to_json(col)
        elif pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            cols[name] = _bytes_to_text(col)
        else:
            cols[name] = pc.cast(col, pa.string())
    return pa.table(cols)


def _bytes_to_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return pc.cast(col, pa.string())
    except pa.ArrowInvalid:
        from salesintel.store.staging import bytes_to_hex

        return bytes_to_hex(col)


def _nested_to_json(col: pa.ChunkedArray) -> pa.Array:
    # Arrow has no struct-to-JSON kernel; DuckDB (the staging engine) does it vectorised.
    from salesintel.store.staging import nested_to_json

    return nested_to_json(col)
