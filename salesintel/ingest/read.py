"""Read a source file (CSV, whitespace-separated text, Parquet, JSON lines; optionally gzip) into Arrow.

Every column comes back as text with a ``__line`` column, so validation sees the values exactly as the
user wrote them and every refusal can name its line. Parsing to types happens later, in the engine.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

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
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"; _ = p.write_text("a,b\\n1,x\\n")
    >>> read_source(p).to_pylist()
    [{'a': '1', 'b': 'x', '__line': 2}]
    """
    if not path.exists():
        raise UnreadableFile(f"no such file: {path}")
    fmt = detect_format(path, options.format)
    try:
        if fmt == "parquet":
            table = _read_parquet(path)
            first_line = 1
        elif fmt == "json":
            table = _read_json(path)
            first_line = 1
        elif fmt == "whitespace":
            table, first_line = _read_whitespace(path, options)
        else:
            table, first_line = _read_csv(path, options, "\t" if fmt == "tsv" else (options.delimiter or ","))
    except UnreadableFile:
        raise
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{path.name} is not {options.encoding} text (byte {exc.object[exc.start : exc.start + 1]!r} "
            f"at position {exc.start}); pass --encoding latin-1 or re-save it as UTF-8"
        ) from None
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc).lower():
            raise UnreadableFile(
                f"{path.name} is not {options.encoding} text; pass --encoding latin-1 or re-save it as UTF-8"
            ) from None
        raise UnreadableFile(f"{path.name} cannot be read as {fmt}: {_first_line(exc)}") from None
    except (pa.ArrowTypeError, OSError, csv.Error, ValueError) as exc:
        raise UnreadableFile(f"{path.name} cannot be read as {fmt}: {_first_line(exc)}") from None
    if fmt not in ("csv", "tsv", "whitespace"):  # the text readers already make empty fields null
        table = _blank_to_null(table)
    lines = pa.array(np.arange(first_line, first_line + table.num_rows, dtype=np.int64))
    return table.append_column(LINE, lines)


def _blank_to_null(table: pa.Table) -> pa.Table:
    """Empty or all-blank text is a missing value, whatever the format."""
    cols = {}
    for name, col in zip(table.column_names, table.columns):
        blank = pc.equal(pc.utf8_trim_whitespace(col), "")
        cols[name] = pc.if_else(blank, pa.scalar(None, pa.string()), col)
    return pa.table(cols)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _utf8_bytes(path: Path, encoding: str) -> pa.Buffer | bytes:
    """The file's bytes as UTF-8, decompressed; decoding errors surface as UnicodeDecodeError."""
    data = gzip.open(path, "rb").read() if _is_gzip(path) else path.read_bytes()
    utf8 = encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")
    if utf8 and b"\x00" in data[:4096]:  # NUL bytes are normal in UTF-16: check only what should be UTF-8
        raise UnreadableFile(
            f"{path.name} looks binary, not text; is it a Parquet or Excel file? "
            f"pass --source-format parquet, or --encoding utf-16 for UTF-16 text"
        )
    if utf8:
        return data[3:] if data.startswith(b"\xef\xbb\xbf") else data  # Arrow checks the UTF-8 itself
    return data.decode(encoding).encode("utf-8")


def _header_names(path: Path, options: SourceOptions, delimiter: str) -> list[str] | None:
    with _open_text(path, options.encoding) as fh:
        first = next(csv.reader(fh, delimiter=delimiter), None)
    if first is None:
        raise UnreadableFile(f"{path.name} is empty")
    if first and first[0].startswith("\ufeff"):
        first[0] = first[0][1:]
    return first


def _read_csv(path: Path, options: SourceOptions, delimiter: str) -> tuple[pa.Table, int]:
    import pyarrow.csv as pacsv

    data = _utf8_bytes(path, options.encoding)
    first = _header_names(path, options, delimiter)
    if len(first) == 1 and delimiter == ",":
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in first[0]:
                shown = "'\\t'" if sep == "\t" else f"'{sep}'"
                raise UnreadableFile(
                    f"{path.name} has one column and its header is separated by {name}; pass --delimiter {shown}"
                )
    has_header = _has_header(options.header, first)
    names = first if has_header else list(options.column_names or [f"column{i + 1}" for i in range(len(first))])
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise UnreadableFile(f"{path.name} has repeated column names: {', '.join(dupes)}")
    read = pacsv.ReadOptions(column_names=names, skip_rows=1 if has_header else 0, block_size=1 << 24)
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=True, quoted_strings_can_be_null=True
    )
    table = pacsv.read_csv(io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert)
    if len(names) == 1 and table.num_rows and delimiter == "," and not has_header:
        raise UnreadableFile(f"{path.name} does not look like CSV (one column only)")
    return table, 2 if has_header else 1


def _has_header(header: bool | str, first: list[str]) -> bool:
    if header == "auto":
        return not any(ch.isdigit() for field in first for ch in field)
    return bool(header)


def _read_whitespace(path: Path, options: SourceOptions) -> tuple[pa.Table, int]:
    """Columns separated by runs of blanks (as in the CDNOW master file), split in Arrow."""
    text = _utf8_bytes(path, options.encoding)
    raw = pa.array(bytes(text).decode("utf-8").splitlines(), type=pa.string())
    first_fields = raw[0].as_py().split() if len(raw) else []
    has_header = _has_header(options.header, first_fields)
    start = 1 if has_header else 0
    names = (
        first_fields
        if has_header
        else list(options.column_names or [f"column{i + 1}" for i in range(len(first_fields))])
    )
    body = raw[start:]
    # pad every line so short lines still have len(names) fields; the pad marker becomes null
    pad = " \x1f" * len(names)
    padded = pc.binary_join_element_wise(pc.utf8_trim_whitespace(body), pad, "")
    parts = pc.split_pattern_regex(padded, pattern=r"\s+")
    table = pa.table(
        {
            name: pc.if_else(
                pc.is_in(pc.list_element(parts, i), pa.array(["\x1f", ""])),
                pa.scalar(None, pa.string()),
                pc.list_element(parts, i),
            )
            for i, name in enumerate(names)
        }
    )
    return table, start + 1


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    return _all_text(pq.read_table(path))


def _read_json(path: Path) -> pa.Table:
    import pyarrow.json as pajson

    data = _utf8_bytes(path, "utf-8")
    table = pajson.read_json(io.BytesIO(data))
    return _all_text(table)


def _all_text(table: pa.Table) -> pa.Table:
    """Every column as text; nested values (a JSON object in ``properties``) become JSON text."""
    cols = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_nested(col.type):
            cols[name] = _nested_to_json(col)
        else:
            cols[name] = pc.cast(col, pa.string())
    return pa.table(cols)


def _nested_to_json(col: pa.ChunkedArray) -> pa.Array:
    # Arrow has no struct-to-JSON kernel; DuckDB (the staging engine) does it vectorised.
    from salesintel.store.staging import nested_to_json

    return nested_to_json(col)
