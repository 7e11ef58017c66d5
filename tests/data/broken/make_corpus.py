"""Writes the broken-input corpus (files/ and cases.json) that tests/test_broken_inputs.py loads.

Every case is a file a real export could be, broken in one way a new user met: each names the table, the
command-line options, the exit code docs/ingestion.md promises, how many rows must be stored, which
physical lines must be in ``rejects`` (with a piece of their original text), and values that must arrive
unchanged. Run ``python tests/data/broken/make_corpus.py`` after changing a case; both outputs are
committed so the corpus is reviewable as files.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
FILES = HERE / "files"
CUST = "customer_id,name,country,email\n"
ORD = "order_id,line,customer_id,product_id,ordered_at,quantity,amount\n"
CASES: list[dict] = []


def case(
    name: str,
    content: bytes | str,
    table: str,
    *,
    exit: int = 0,
    stored: int | None = None,
    rejected: dict[int, str] | None = None,
    values: list | None = None,
    args: list | None = None,
    message: str | None = None,
    mapping: str | None = None,
    why: str = "",
) -> None:
    path = FILES / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    entry = {"file": name, "table": table, "exit": exit, "why": why, "args": args or []}
    if mapping is not None:
        (FILES / f"{name}.yaml").write_text(mapping)
        entry["mapping"] = f"{name}.yaml"
    if exit == 0:
        entry.update(stored=stored, rejected={str(k): v for k, v in (rejected or {}).items()}, values=values or [])
    else:
        entry["message"] = message
    CASES.append(entry)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def options_and_files() -> None:
    ok = CUST + "C1,Ann,DE,a@x.de\n"
    case("unknown_encoding.csv", ok, "customers", exit=2, args=["--encoding", "klingon"], message="unknown encoding")
    case("multichar_delimiter.csv", ok, "customers", exit=2, args=["--delimiter", ";;"], message="one character")
    case("quote_delimiter.csv", ok, "customers", exit=2, args=["--delimiter", '"'], message="cannot be the delimiter")
    case("unknown_format.csv", ok, "customers", exit=2, args=["--source-format", "xlsx"], message="unknown format")
    case("no_extension", ok, "customers", exit=2, message="cannot tell the format")
    case("empty.csv", "", "customers", exit=2, message="empty")
    case("header_only.csv", CUST, "customers", exit=2, message="no rows")
    case("blank_lines_only.csv", "\n\n  \n", "customers", exit=2, message="empty")
    case(
        "png_as_csv.csv",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "customers",
        exit=2,
        message="looks binary",
    )
    case(
        "xlsx_as_csv.csv",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 64,
        "customers",
        exit=2,
        message="looks binary",
    )
    packed = gzip.compress((CUST + "".join(f"C{i},Name {i * 7919 % 10007},DE,c{i}@x\n" for i in range(2000))).encode())
    case("truncated.csv.gz", packed[: len(packed) // 2], "customers", exit=2, message="truncated gzip")
    case("not_gzip.csv.gz", b"\x1f\x8b" + b"garbage" * 10, "customers", exit=2, message="gzip")
    case("semicolons.csv", "customer_id;name;country\nC1;Ann;DE\n", "customers", exit=2, message="--delimiter ';'")
    case("tabs_in_csv.csv", "customer_id\tname\nC1\tAnn\n", "customers", exit=2, message="--delimiter '\\t'")
    case(
        "repeated_columns.csv",
        "customer_id,name,name\nC1,Ann,Bo\n",
        "customers",
        exit=2,
        message="repeated column names",
    )
    case(
        "repeated_columns_in_case.csv",
        "customer_id,Name,name\nC1,Ann,Bo\n",
        "customers",
        exit=2,
        message="compared without case",
    )
    case(
        "repeated_keys_in_case.jsonl",
        '{"customer_id": "C1", "Foo": 1, "foo": 2}\n',
        "customers",
        exit=2,
        message="compared without case",
    )
    case(
        "repeated_columns_in_case.parquet",
        parquet_bytes(pa.table({"customer_id": ["C1"], "Foo": [1], "foo": [2]})),
        "customers",
        exit=2,
        message="compared without case",
    )
    case(
        "two_columns_one_attribute.csv",
        "customer_id,Lifetime Value,lifetime_value\nC1,1,2\n",
        "customers",
        exit=2,
        message="would both become the attribute lifetime_value",
    )
    case("missing_required_column.csv", "name,country\nAnn,DE\n", "orders", exit=2, message="requires")
    case(
        "latin1_as_utf8.csv",
        (CUST + "C1,Jürgen,DE,j@x.de\n").encode("latin-1"),
        "customers",
        exit=2,
        message="--encoding latin-1",
    )
    case(
        "utf16_no_bom_default.csv",
        (CUST + "C1,Ann,DE,a@x\n").encode("utf-16-le"),
        "customers",
        exit=2,
        message="--encoding utf-16",
    )
    case("garbage.parquet", b"PAR1 this is not parquet", "customers", exit=2, message="cannot be read as parquet")
    case(
        "json_array_document.jsonl",
        '[{"customer_id": "C1"}, {"customer_id": "C2"}]\n',
        "customers",
        exit=2,
        message="is an array",
    )
    case(
        "all_rows_bad.csv",
        ORD + "O1,1,C1,P1,yesterday,1,10\nO2,1,C1,P1,tomorrow,1,10\n",
        "orders",
        exit=2,
        message="could be loaded",
    )


def encodings() -> None:
    text = CUST + "C1,Jürgen,DE,j@x.de\nC2,Zoë,FR,z@x.fr\n"
    good = [{"key": "C1", "column": "name", "equals": "Jürgen"}, {"key": "C2", "column": "name", "equals": "Zoë"}]
    case("latin1.csv", text.encode("latin-1"), "customers", args=["--encoding", "latin-1"], stored=2, values=good)
    case("cp1252.csv", text.encode("cp1252"), "customers", args=["--encoding", "cp1252"], stored=2, values=good)
    case(
        "utf16_bom.csv",
        text.encode("utf-16"),
        "customers",
        stored=2,
        values=good,
        why="a UTF-16 byte-order mark says what the file is",
    )
    case("utf16_explicit.csv", text.encode("utf-16"), "customers", args=["--encoding", "utf-16"], stored=2, values=good)
    case("utf8_bom.csv", b"\xef\xbb\xbf" + text.encode(), "customers", stored=2, values=good)
    case("crlf.csv", text.replace("\n", "\r\n"), "customers", stored=2, values=good)
    case("gzip_ok.csv.gz", gzip.compress(text.encode()), "customers", stored=2, values=good)


def structure() -> None:
    case(
        "unclosed_quote_middle.csv",
        CUST + 'C1,Ann,DE,a@x\nC2,"Bo,DE,b@x\nC3,Cy,FR,c@x\nC4,Di,IT,d@x\n',
        "customers",
        stored=3,
        rejected={3: '"Bo'},
        why="the open quote swallows only its own line",
    )
    case("unclosed_quote_last.csv", CUST + 'C1,Ann,DE,a@x\nC2,"Bo,DE,b@x\n', "customers", stored=1, rejected={3: '"Bo'})
    case(
        "too_many_fields.csv",
        CUST + "C1,Ann,DE,a@x\nC2,Bo,DE,b@x,extra\nC3,Cy,FR,c@x\n",
        "customers",
        stored=2,
        rejected={3: "b@x,extra"},
    )
    case(
        "too_few_fields.csv",
        CUST + "C1,Ann,DE,a@x\nC2,Bo\nC3,Cy,FR,c@x\n",
        "customers",
        stored=2,
        rejected={3: "C2,Bo"},
    )
    case(
        "blank_lines_between.csv",
        CUST + "C1,Ann,DE,a@x\n\n\nC2,Bo,DE,not-a-date\n\nC3,Cy,FR,c@x\n",
        "orders",
        exit=2,
        message="requires",
        why="a customers file loaded as orders: refused by its columns",
    )
    case(
        "blank_lines_line_numbers.csv",
        ORD + "O1,1,C1,P1,2024-01-01,1,10\n\n\nO2,1,C1,P1,someday,1,10\n\nO3,1,C1,P1,2024-01-03,1,10\n",
        "orders",
        stored=2,
        rejected={5: "someday"},
        why="blank lines do not shift the reported line",
    )
    case(
        "embedded_newline_line_numbers.csv",
        ORD + 'O1,1,C1,P1,2024-01-01,1,10\nO2,1,C1,"P\n2",2024-01-02,1,10\nO3,1,C1,P1,bad-date,1,10\n',
        "orders",
        stored=2,
        rejected={5: "bad-date"},
        why="a quoted newline: the next record starts on physical line 5",
    )
    case("whitespace_only_line.csv", CUST + "C1,Ann,DE,a@x\n   \nC2,Bo,DE,b@x\n", "customers", stored=2)
    case("trailing_blank_lines.csv", CUST + "C1,Ann,DE,a@x\n\n\n\n", "customers", stored=1)
    case("no_trailing_newline.csv", CUST + "C1,Ann,DE,a@x\nC2,Bo,DE,b@x", "customers", stored=2)
    case(
        "stray_quotes_in_field.csv",
        CUST + 'C1,Ann "the baker",DE,a@x\nC2,Bo,DE,b@x\n',
        "customers",
        stored=2,
        values=[{"key": "C1", "column": "name", "equals": 'Ann "the baker"'}],
        why="a quote inside an unquoted field is text, kept as written",
    )
    case(
        "odd_stray_quote.csv",
        CUST + 'C1,5" screen,DE,a@x\nC2,Bo,DE,b@x\nC3,Cy,FR,not-a-date\n',
        "orders",
        exit=2,
        message="requires",
        why="a customers file loaded as orders",
    )
    case(
        "odd_stray_quote_lines.csv",
        ORD + 'O1,1,C1,5" screen,2024-01-01,1,10\nO2,1,C1,P1,2024-01-02,1,10\nO3,1,C1,P1,someday,1,10\n',
        "orders",
        stored=2,
        rejected={4: "someday"},
        values=[{"key": "O1", "column": "product_id", "equals": '5" screen'}],
        why="an odd number of quotes: lines still counted exactly",
    )
    case(
        "quoted_fields.csv",
        CUST + '"C1","Ann, the ""baker""","DE","a@x"\n',
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "name", "equals": 'Ann, the "baker"'}],
    )
    case(
        "long_field.csv",
        CUST + "C1," + "x" * 200_000 + ",DE,a@x\n",
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "name", "length": 200_000}],
    )
    case(
        "tsv_bad_row.tsv",
        "customer_id\tname\tcountry\nC1\tAnn\tDE\nC2\tBo\nC3\tCy\tFR\n",
        "customers",
        stored=2,
        rejected={3: "Bo"},
    )
    case(
        "semicolon_declared.csv",
        "customer_id;name;country\nC1;Ann;DE\nC2;Bo;DE;x\n",
        "customers",
        args=["--delimiter", ";"],
        stored=1,
        rejected={3: "Bo;DE;x"},
    )
    case(
        "gzip_bad_row.csv.gz",
        gzip.compress((CUST + "C1,Ann,DE,a@x\nC2,Bo\n").encode()),
        "customers",
        stored=1,
        rejected={3: "C2,Bo"},
    )
    case(
        "whitespace_short_line.txt",
        "customer_id name country\nC1 Ann DE\nC2 Bo\nC3 Cy FR\n",
        "customers",
        stored=2,
        rejected={3: "C2 Bo"},
    )
    case("whitespace_blank_lines.txt", "customer_id name country\nC1 Ann DE\n\n\nC2 Bo DE\n", "customers", stored=2)


def values() -> None:
    markers = ["NA", "N/A", "NULL", "null", "n/a", "#N/A", "NaN", "-nan", "1.#IND", "None", "nil"]
    rows = "".join(f"C{i},{m},{m},x{i}@x\n" for i, m in enumerate(markers))
    case(
        "null_markers_are_text.csv",
        CUST + rows,
        "customers",
        stored=len(markers),
        values=[{"key": f"C{i}", "column": "country", "equals": m} for i, m in enumerate(markers)],
        why="Arrow's default null markers would lose Namibia (NA)",
    )
    case(
        "customer_id_NA.csv",
        CUST + "NA,Namibia Ltd,NA,na@x\n",
        "customers",
        stored=1,
        values=[{"key": "NA", "column": "country", "equals": "NA"}],
    )
    case(
        "declared_null_markers.csv",
        CUST + "C1,Ann,-,a@x\nC2,Bo,DE,b@x\n",
        "customers",
        stored=2,
        mapping='source: {null_values: ["-"]}\n',
        values=[{"key": "C1", "column": "country", "equals": None}],
    )
    bad_numbers = {
        "NaN": "NaN",
        "nan": "nan",
        "inf": "inf",
        "-Infinity": "-Infinity",
        "1e309": "1e309",
        "twelve": "twelve",
        "1,5": "1,5",
    }
    for i, (label, v) in enumerate(bad_numbers.items()):
        safe = label.replace("-", "minus_").replace(",", "comma")
        case(
            f"amount_{safe}.csv",
            ORD + f'O1,1,C1,P1,2024-01-01,1,10\nO2,1,C1,P1,2024-01-01,1,"{v}"\n',
            "orders",
            stored=1,
            rejected={3: v},
            why="not a finite number: refused, never stored as NULL or infinity",
        )
    case(
        "quantity_nan.csv",
        ORD + "O1,1,C1,P1,2024-01-01,NaN,10\nO2,1,C1,P1,2024-01-01,2,10\n",
        "orders",
        stored=1,
        rejected={2: "NaN"},
        why="NaN quantity is a reject, not the default 1",
    )
    case(
        "line_not_whole.csv",
        ORD + "O1,1.5,C1,P1,2024-01-01,1,10\nO2,1,C1,P1,2024-01-01,1,10\n",
        "orders",
        stored=1,
        rejected={2: "1.5"},
    )
    case(
        "birth_year_text.csv",
        "customer_id,birth_year\nC1,1980\nC2,nineteen\n",
        "customers",
        stored=1,
        rejected={3: "nineteen"},
    )
    case("bool_maybe.csv", "customer_id,email_opt_in\nC1,yes\nC2,maybe\n", "customers", stored=1, rejected={3: "maybe"})
    case("enum_unknown.csv", "customer_id,status\nC1,customer\nC2,vip\n", "customers", stored=1, rejected={3: "vip"})
    case(
        "offset_two_digits.csv",
        ORD + "O1,1,C1,P1,2024-03-31T14:05:00-05,1,10\n",
        "orders",
        stored=1,
        values=[{"key": "O1", "column": "ordered_at", "equals": "2024-03-31 19:05:00"}],
        why="-05 is an offset: 14:05 at -05 is 19:05 UTC",
    )
    case(
        "offset_four_digits.csv",
        ORD + "O1,1,C1,P1,2024-03-31 14:05:00+0530,1,10\n",
        "orders",
        stored=1,
        values=[{"key": "O1", "column": "ordered_at", "equals": "2024-03-31 08:35:00"}],
    )
    case(
        "offset_colon.csv",
        ORD + "O1,1,C1,P1,2024-03-31T14:05:00+02:00,1,10\n",
        "orders",
        stored=1,
        values=[{"key": "O1", "column": "ordered_at", "equals": "2024-03-31 12:05:00"}],
    )
    case(
        "timestamp_infinity.csv",
        ORD + "O1,1,C1,P1,infinity,1,10\nO2,1,C1,P1,2024-01-01,1,10\n",
        "orders",
        stored=1,
        rejected={2: "infinity"},
    )
    case(
        "timestamp_epoch_word.csv",
        ORD + "O1,1,C1,P1,epoch,1,10\nO2,1,C1,P1,2024-01-01,1,10\n",
        "orders",
        stored=1,
        rejected={2: "epoch"},
    )
    case(
        "date_feb_30.csv",
        ORD + "O1,1,C1,P1,2024-02-30,1,10\nO2,1,C1,P1,2024-02-28,1,10\n",
        "orders",
        stored=1,
        rejected={2: "2024-02-30"},
    )
    case(
        "date_us_format.csv",
        ORD + "O1,1,C1,P1,03/31/2024,1,10\nO2,1,C1,P1,2024-03-31,1,10\n",
        "orders",
        stored=1,
        rejected={2: "03/31/2024"},
    )
    strict = {
        "int_rounding_float": ("line", "1.9999999999999999"),
        "int_hex": ("line", "0x10"),
        "int_underscore": ("line", "1_000"),
        "float_underscore": ("amount", "1_000"),
        "float_underflow": ("amount", "1e-400"),
        "timestamp_slashes": ("ordered_at", "2024/01/01"),
        "timestamp_nanoseconds": ("ordered_at", "2024-01-01T10:00:00.123456789"),
    }
    columns = ORD.strip().split(",")
    for label, (column, text) in strict.items():
        good = dict(zip(columns, ["O1", "1", "C1", "P1", "2024-01-01", "1", "10"]))
        bad = {**good, "order_id": "O2", column: text}
        body = ",".join(good.values()) + "\n" + ",".join(bad.values()) + "\n"
        case(
            f"strict_{label}.csv",
            ORD + body,
            "orders",
            stored=1,
            rejected={3: text},
            why="the engine's cast would change what was written",
        )
    case(
        "timestamp_blanks_around.csv",
        ORD + "O1,1,C1,P1,  2024-01-01  ,1,  12  \n",
        "orders",
        stored=1,
        values=[{"key": "O1", "column": "ordered_at", "equals": "2024-01-01 00:00:00"}],
        why="blanks around a date are ignored, as around a number",
    )
    case(
        "timestamp_microseconds_kept.csv",
        ORD + "O1,1,C1,P1,2024-01-01T10:00:00.123456000,1,12\n",
        "orders",
        stored=1,
        values=[{"key": "O1", "column": "ordered_at", "equals": "2024-01-01 10:00:00.123456"}],
    )
    case(
        "key_whitespace_trimmed.csv",
        CUST + " C1 ,Ann,DE,a@x\nC2,Bo,DE,b@x\n",
        "customers",
        stored=2,
        values=[{"key": "C1", "column": "name", "equals": "Ann"}],
        why="surrounding blanks are not part of a key",
    )
    case(
        "key_whitespace_duplicate.csv",
        CUST + "C1,Ann,DE,a@x\n C1,Ann B,DE,a@x\n",
        "customers",
        stored=1,
        rejected={2: "superseded"},
        values=[{"key": "C1", "column": "name", "equals": "Ann B"}],
    )
    case(
        "key_case_differs.csv",
        CUST + "CU1,Ann,DE,a@x\ncu1,Ann,DE,a@x\n",
        "customers",
        stored=2,
        why="kept apart (case may matter), reported by salesintel check",
    )
    case("key_whitespace_only.csv", CUST + "   ,Ann,DE,a@x\nC2,Bo,DE,b@x\n", "customers", stored=1, rejected={2: "Ann"})
    case("key_empty.csv", CUST + ",Ann,DE,a@x\nC2,Bo,DE,b@x\n", "customers", stored=1, rejected={2: "Ann"})
    case(
        "quoted_empty_field.csv",
        CUST + 'C1,"",DE,a@x\n',
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "name", "equals": None}],
    )
    case(
        "leading_zero_id.csv",
        CUST + "007,Bond,GB,b@x\n",
        "customers",
        stored=1,
        values=[{"key": "007", "column": "name", "equals": "Bond"}],
    )
    case(
        "long_numeric_id.csv",
        CUST + "12345678901234567890,Big,DE,b@x\n",
        "customers",
        stored=1,
        values=[{"key": "12345678901234567890", "column": "name", "equals": "Big"}],
    )
    case(
        "unicode_values.csv",
        CUST + "C1,李小龍,CN,l@x\nC2,😀 Smile,DE,s@x\n",
        "customers",
        stored=2,
        values=[
            {"key": "C1", "column": "name", "equals": "李小龍"},
            {"key": "C2", "column": "name", "equals": "😀 Smile"},
        ],
    )
    case(
        "spaces_kept_in_names.csv",
        CUST + "C1,  Ann  Lee ,DE,a@x\n",
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "name", "equals": "  Ann  Lee "}],
        why="only keys are trimmed",
    )
    case(
        "duplicate_key_superseded.csv",
        CUST + "C1,Ann,DE,a@x\nC1,Ann 2,DE,a@x\n",
        "customers",
        stored=1,
        rejected={2: "superseded"},
    )


def json_lines() -> None:
    ok = '{"customer_id": "C1", "name": "Ann"}\n'
    case(
        "jsonl_broken_line.jsonl",
        ok + '{"customer_id": "C2", "name": \n{"customer_id": "C3"}\n',
        "customers",
        stored=2,
        rejected={2: '"C2"'},
    )
    case("jsonl_array_line.jsonl", ok + '["C2", "Bo"]\n', "customers", stored=1, rejected={2: '["C2"'})
    case("jsonl_string_line.jsonl", ok + '"just text"\n', "customers", stored=1, rejected={2: "just text"})
    case("jsonl_number_line.jsonl", ok + "42\n", "customers", stored=1, rejected={2: "42"})
    case(
        "jsonl_nested_id.jsonl",
        ok + '{"customer_id": {"id": "C2"}, "name": "Bo"}\n',
        "customers",
        stored=1,
        rejected={2: '"id"'},
    )
    case(
        "jsonl_nested_list_name.jsonl",
        ok + '{"customer_id": "C2", "name": ["Bo", "B"]}\n',
        "customers",
        stored=1,
        rejected={2: '["Bo"'},
    )
    case(
        "jsonl_big_number_id.jsonl",
        '{"customer_id": 12345678901234567890, "name": "Big"}\n',
        "customers",
        stored=1,
        values=[{"key": "12345678901234567890", "column": "name", "equals": "Big"}],
        why="a 20-digit id is not a float",
    )
    case(
        "jsonl_int_id.jsonl",
        '{"customer_id": 12, "name": "Twelve"}\n',
        "customers",
        stored=1,
        values=[{"key": "12", "column": "name", "equals": "Twelve"}],
    )
    case(
        "jsonl_float_text_kept.jsonl",
        '{"customer_id": "C1", "birth_year": 1980.0}\n',
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "birth_year", "equals": "1980"}],
    )
    case(
        "jsonl_1e309.jsonl",
        '{"order_id": "O1", "customer_id": "C1", "product_id": "P1", "ordered_at": '
        '"2024-01-01", "amount": 1e309}\n{"order_id": "O2", "customer_id": "C1", "product_id": "P1", '
        '"ordered_at": "2024-01-01", "amount": 5}\n',
        "orders",
        stored=1,
        rejected={1: "1e309"},
    )
    case(
        "jsonl_nan_constant.jsonl",
        ok + '{"customer_id": "C2", "birth_year": NaN}\n',
        "customers",
        stored=1,
        rejected={2: "NaN"},
    )
    case(
        "jsonl_blank_lines.jsonl",
        ok + "\n\n" + '{"customer_id": "C2", "email_opt_in": "perhaps"}\n',
        "customers",
        stored=1,
        rejected={4: "perhaps"},
    )
    case(
        "jsonl_whitespace_id.jsonl",
        ok + '{"customer_id": "   ", "name": "Blank"}\n',
        "customers",
        stored=1,
        rejected={2: "Blank"},
        why="blank ids are refused the same way from CSV and JSON",
    )
    case(
        "jsonl_bools.jsonl",
        '{"customer_id": "C1", "email_opt_in": true, "phone_opt_in": false}\n',
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "email_opt_in", "equals": "True"}],
    )
    case(
        "jsonl_null_value.jsonl",
        '{"customer_id": "C1", "name": null}\n',
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "name", "equals": None}],
    )
    case("jsonl_trailing_comma.jsonl", ok + '{"customer_id": "C2",}\n', "customers", stored=1, rejected={2: '"C2",}'})
    case(
        "jsonl_nested_numbers_kept.jsonl",
        '{"event_id": "E1", "occurred_at": "2024-01-01T10:00:00", "type": "web_visit", "anonymous_id": "a1", '
        '"properties": {"n": 1, "big": 12345678901234567890, "o": {"k": 2}, "b": true}}\n',
        "touchpoints",
        stored=1,
        values=[{"key": "E1", "column": "properties", "contains": '"big": 12345678901234567890'}],
        why="numbers inside the properties object stay numbers, exactly",
    )
    case(
        "jsonl_repeated_field.jsonl",
        '{"customer_id": "C1"}\n{"customer_id": "C2", "customer_id": "C3"}\n',
        "customers",
        stored=1,
        rejected={2: "twice"},
    )
    case(
        "jsonl_properties_object.jsonl",
        '{"event_id": "E1", "occurred_at": "2024-01-01T10:00:00", "type": '
        '"web_visit", "customer_id": "C1", "properties": {"page": "/shoes", "seconds": 12}}\n',
        "touchpoints",
        stored=1,
        values=[{"key": "E1", "column": "properties", "contains": '"page"'}],
        why="the documented properties object is kept as JSON",
    )
    case(
        "jsonl_unicode_escape.jsonl",
        '{"customer_id": "C1", "name": "Zo\\u00eb"}\n',
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "name", "equals": "Zoë"}],
    )
    case(
        "jsonl_NA_string.jsonl",
        '{"customer_id": "C1", "country": "NA"}\n',
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "country", "equals": "NA"}],
    )
    case("jsonl_gzip.jsonl.gz", gzip.compress((ok + "oops\n").encode()), "customers", stored=1, rejected={2: "oops"})


def parquet() -> None:
    base = {
        "event_id": ["E1", "E2"],
        "occurred_at": ["2024-01-01 10:00:00", "2024-01-02 10:00:00"],
        "type": ["web_visit", "web_visit"],
        "customer_id": ["C1", "C2"],
    }
    nested = pa.table({**base, "properties": pa.array([{"page": "/a", "n": 1}, {"page": "/b", "n": 2}])})
    case(
        "parquet_nested_properties.parquet",
        parquet_bytes(nested),
        "touchpoints",
        stored=2,
        values=[{"key": "E1", "column": "properties", "contains": '"/a"'}],
    )
    listy = pa.table({**base, "properties": pa.array([[1, 2], [3]])})
    case("parquet_list_properties.parquet", parquet_bytes(listy), "touchpoints", stored=2)
    binary = pa.table(
        {
            "customer_id": ["C1", "C2"],
            "name": ["Ann", "Bo"],
            "photo": pa.array([b"\xff\xd8\xff\xe0", b"\x00\x01"], pa.binary()),
        }
    )
    case(
        "parquet_unused_binary.parquet",
        parquet_bytes(binary),
        "reps",
        exit=2,
        message="requires",
        why="a reps file without rep_id: refused by its columns, not by the binary column",
    )
    case(
        "parquet_binary_attribute.parquet",
        parquet_bytes(binary),
        "customers",
        stored=2,
        values=[{"key": "C1", "column": "name", "equals": "Ann"}],
    )
    typed = pa.table(
        {
            "order_id": ["O1", "O2"],
            "line": pa.array([1, 1], pa.int32()),
            "customer_id": ["C1", "C1"],
            "product_id": ["P1", "P1"],
            "ordered_at": pa.array([1704103200000000, 1704189600000000], pa.timestamp("us", "UTC")),
            "amount": pa.array([10.5, float("nan")]),
        }
    )
    case("parquet_nan_amount.parquet", parquet_bytes(typed), "orders", stored=1, rejected={2: "nan"})
    dec = pa.table({"customer_id": pa.array([12345678901234567890], pa.decimal128(20, 0)), "name": ["Big"]})
    case(
        "parquet_decimal_id.parquet",
        parquet_bytes(dec),
        "customers",
        stored=1,
        values=[{"key": "12345678901234567890", "column": "name", "equals": "Big"}],
    )
    nulls = pa.table({"customer_id": ["C1", None, "C3"], "name": ["Ann", "Bo", None]})
    case("parquet_null_id.parquet", parquet_bytes(nulls), "customers", stored=2, rejected={2: "Bo"})
    na = pa.table({"customer_id": ["C1"], "country": ["NA"]})
    case(
        "parquet_NA_text.parquet",
        parquet_bytes(na),
        "customers",
        stored=1,
        values=[{"key": "C1", "column": "country", "equals": "NA"}],
    )


def mappings() -> None:
    ok = "Kunde,Nachname\nC1,Ann\n"
    bad = {
        "tables_list": ("tables: [customers]\n", "tables must be a mapping"),
        "tables_section_text": ("tables: {customers: hello}\n", "tables.customers must be a mapping"),
        "rename_list": ("rename: [Kunde, customer_id]\n", "rename must be a mapping"),
        "rename_nested": ("rename: {Kunde: {to: customer_id}}\n", "rename must map names"),
        "source_text": ("source: csv\nrename: {Kunde: customer_id}\n", "source must be a mapping"),
        "date_format_number": ("rename: {Kunde: customer_id}\ndates: {created_at: 12}\n", "date_format"),
        "dates_list": ("rename: {Kunde: customer_id}\ndates: [created_at]\n", "dates must be a mapping"),
        "date_format_unknown": (
            "rename: {Kunde: customer_id}\ndates: {created_at: '%d.%Q'}\n",
            "the date_format '%d.%Q' of column created_at is not a date format: DuckDB's strptime does not know %Q",
        ),
        "date_format_not_a_date": (
            "rename: {Kunde: customer_id}\ndates: {name: '%d.%m.%Y'}\n",
            "a date_format is for date and time columns; name of customers is a string column",
        ),
        "date_default_other_format": (
            "tables: {customers: {columns: {customer_id: Kunde, "
            "created_at: {column: Nachname, date_format: '%d.%m.%Y', default: '2020-01-31'}}}}\n",
            "is not written in its date_format",
        ),
        "columns_text": ("tables: {customers: {columns: customer_id}}\n", "columns must be a mapping"),
        "two_kinds": (
            "tables: {customers: {columns: {customer_id: {column: Kunde, constant: x}}}}\n",
            "exactly one of",
        ),
        "unknown_column": ("tables: {customers: {columns: {kunde_nr: Kunde}}}\n", "does not have"),
        "unknown_table": ("tables: {clients: {columns: {customer_id: Kunde}}}\n", "clients"),
        "missing_source_column": ("rename: {Kundennummer: customer_id}\n", "Kundennummer"),
        "invalid_yaml": ("rename: {Kunde: customer_id\n", "not valid YAML"),
        "unknown_key": ("renames: {Kunde: customer_id}\n", "the mapping has unknown key: renames; it takes source"),
        "repeated_keys_bad": ("rename: {Kunde: customer_id}\nrepeated_keys: sometimes\n", "repeated_keys"),
        "null_values_text": ("source: {null_values: NA}\nrename: {Kunde: customer_id}\n", "null_values"),
        "values_list": ("rename: {Kunde: customer_id}\nvalues: [a, b]\n", "values must be a mapping"),
        "not_a_mapping": ("- Kunde\n- customer_id\n", "must be a YAML mapping"),
        "encoding_number": ("source: {encoding: 8}\nrename: {Kunde: customer_id}\n", "unknown encoding '8'"),
        # a misspelt key would be ignored and the file read another way than meant: each level names it
        "source_key_misspelt": (
            "source: {delimeter: ';'}\nrename: {Kunde: customer_id}\n",
            "source has unknown key: delimeter; it takes format, delimiter",
        ),
        "table_key_misspelt": (
            "tables: {customers: {colums: {customer_id: Kunde}}}\n",
            "tables.customers has unknown key: colums; it takes columns",
        ),
        "spec_key_misspelt": (
            "tables: {customers: {columns: {customer_id: {column: Kunde, defualt: x}}}}\n",
            "tables.customers.columns.customer_id has unknown key: defualt",
        ),
        "short_form_beside_tables": (
            "rename: {Kunde: customer_id}\ntables: {customers: {columns: {customer_id: Kunde}}}\n",
            "the mapping has unknown key: rename; it takes source, tables",
        ),
        # a default fills missing values of a column the file has; for a column it lacks, say what does
        "default_of_absent_column": (
            "rename: {Kunde: customer_id}\ndefaults: {source: import}\n",
            "use constants: {source: import}",
        ),
        # two rules for one column, or one key twice: the later one would win without a word
        "key_twice": ("rename: {Kunde: customer_id}\nrename: {Nachname: name}\n", "the key 'rename' is written twice"),
        "rename_two_to_one": (
            "rename: {Kunde: customer_id, Nachname: customer_id}\n",
            "rename maps both 'Kunde' and 'Nachname' to customer_id; keep one",
        ),
        "rename_and_constant": (
            "rename: {Kunde: customer_id, Nachname: name}\nconstants: {name: x}\n",
            "name is both renamed from 'Nachname' and a constant ('x'); keep one",
        ),
        "constant_empty": ("rename: {Kunde: customer_id}\nconstants: {city: ~}\n", "constants: city has no value"),
        "concat_empty": (
            "tables: {customers: {columns: {customer_id: {concat: []}}}}\n",
            "customer_id.concat must name at least one column",
        ),
        "header_maybe": (
            "source: {header: maybe}\nrename: {Kunde: customer_id}\n",
            "source.header must be true, false or auto, not 'maybe'",
        ),
        "drop_missing": (
            "rename: {Kunde: customer_id}\ndrop: [Notizen]\n",
            "drop names columns the file does not have",
        ),
        "attribute_and_drop": (
            "rename: {Kunde: customer_id}\nattributes: {Nachname: string}\ndrop: [Nachname]\n",
            "Nachname is both kept (attributes:) and left out (drop:); keep one",
        ),
        "columns_with_header": (
            "source: {columns: [a, b]}\nrename: {Kunde: customer_id}\n",
            "source.columns names the columns of a file without a header",
        ),
        # YAML takes no tab to indent or after a colon; PyYAML's own words name a token, not the tab
        "tab_indented": (
            "rename:\n\tKunde: customer_id\n",
            "not valid YAML at line 2, column 1: a tab stands where YAML takes spaces only",
        ),
        "date_format_no_code": (
            "rename: {Kunde: customer_id}\ndates: {created_at: YYYY-MM-DD}\n",
            "has no % code; write it as strptime codes",
        ),
    }
    for name, (text, message) in bad.items():
        case(f"mapping_{name}.csv", ok, "customers", exit=2, mapping=text, message=message)
    # a table that keeps no attributes, and a misspelt tables: with `load all`
    case(
        "mapping_attributes_on_orders.csv",
        ok,
        "all",
        exit=2,
        mapping="tables: {orders: {columns: {order_id: Kunde}, attributes: {Nachname: string}}}\n",
        message="orders keeps no custom attributes",
    )
    case(
        "mapping_tables_misspelt.csv",
        ok,
        "all",
        exit=2,
        mapping="tabels: {customers: {columns: {customer_id: Kunde}}}\n",
        message="the mapping has unknown key: tabels; it takes source, rename",
    )
    # the short form keeps a column named as salesintel names it: filling it from another hides its values
    case(
        "mapping_hides_file_column.csv",
        "Kunde,name,Nachname\nC1,Ann,Smith\n",
        "customers",
        exit=2,
        mapping="rename: {Kunde: customer_id, Nachname: name}\n",
        message="has a column name, and the mapping fills name from column 'Nachname'; keep one",
    )
    # a mapping's values are the text written: YAML 1.1 would read 01067 as 567, NO as false, 0x1F as 31
    case(
        "mapping_values_as_written.csv",
        "Kunde,PLZ,Land,Kanal\nC1,01067,AT,1\nC2,1010,DE,01\n",
        "customers",
        mapping=(
            "rename: {Kunde: customer_id, PLZ: postal_code, Land: country, Kanal: source}\n"
            "constants: {region: 0x1F}\nvalues: {country: {AT: NO}, source: {1: web, 01: phone}}\n"
        ),
        stored=2,
        values=[
            {"key": "C1", "column": "postal_code", "equals": "01067"},
            {"key": "C1", "column": "country", "equals": "NO"},
            {"key": "C1", "column": "region", "equals": "0x1F"},
            {"key": "C1", "column": "source", "equals": "web"},
            {"key": "C2", "column": "source", "equals": "phone"},
        ],
    )
    # a key left empty is an empty mapping or list, as it was when YAML read it as null
    case(
        "mapping_empty_keys.csv",
        ok,
        "customers",
        mapping="rename: {Kunde: customer_id, Nachname: name}\nconstants:\nvalues:\ndrop:\nattributes:\nsource:\n",
        stored=1,
        values=[{"key": "C1", "column": "name", "equals": "Ann"}],
    )
    # rules that would store a value the file does not give, or hide one it does: refused
    refused = {
        "constant_empty_full": (
            "tables: {customers: {columns: {customer_id: Kunde, name: {constant: ''}}}}\n",
            "tables.customers.columns.name.constant has no value",
        ),
        "multiply_into_text": (
            "tables: {customers: {columns: {customer_id: Kunde, name: {multiply: [Kunde, Nachname]}}}}\n",
            "multiply is for number columns; name of customers is a string column",
        ),
        "rename_and_drop": (
            "rename: {Kunde: customer_id, Nachname: name}\ndrop: [Nachname]\n",
            "Nachname is read for a column of customers and named under drop:; keep one",
        ),
        "rename_and_attribute": (
            "rename: {Kunde: customer_id, Nachname: name}\nattributes: {Nachname: string}\n",
            "Nachname is read for a column of customers and named under attributes:; keep one",
        ),
    }
    for name, (text, message) in refused.items():
        case(f"mapping_{name}.csv", ok, "customers", exit=2, mapping=text, message=message)
    case("mapping_not_utf8.csv", ok, "customers", exit=2, mapping="", message="is not UTF-8 text")
    (FILES / "mapping_not_utf8.csv.yaml").write_bytes(b"rename: {Kunde: customer_id, Stra\xdfe: city}\n")
    # a lookup to nothing, and a concatenation of missing parts, are missing: their default applies
    case(
        "mapping_missing_after_lookup.csv",
        "id,a,b,st\nC1,x,,A\nC2,,y,B\nC3,,,C\n",
        "customers",
        mapping=(
            "tables:\n  customers:\n    columns:\n      customer_id: id\n"
            "      name: {concat: [a, b], separator: '-', default: (none)}\n"
            "      status: {column: st, values: {A: '', B: ' ', C: customer}, default: prospect}\n"
        ),
        stored=3,
        values=[
            {"key": "C1", "column": "name", "equals": "x"},
            {"key": "C3", "column": "name", "equals": "(none)"},
            {"key": "C1", "column": "status", "equals": "prospect"},
            {"key": "C2", "column": "status", "equals": "prospect"},
            {"key": "C3", "column": "status", "equals": "customer"},
        ],
    )
    # unless_present: when the file has the column, that column is read (the full form too)
    case(
        "mapping_unless_present_full.csv",
        "oid,line,cid,pid,at,amt\nO1,7,C1,P1,2024-01-01,5\nO2,8,C1,P1,2024-01-01,6\n",
        "orders",
        mapping=(
            "tables:\n  orders:\n    columns: {order_id: oid, line: {sequence_within: [oid], unless_present: line}, "
            "customer_id: cid, product_id: pid, ordered_at: at, amount: amt}\n"
        ),
        stored=2,
        values=[{"key": "O1", "column": "line", "equals": "7"}, {"key": "O2", "column": "line", "equals": "8"}],
    )
    # attributes: as a list keeps the columns with inferred types
    case(
        "mapping_attributes_list.csv",
        "Kunde,Nachname,Segment\nC1,Ann,b2b\n",
        "customers",
        mapping="rename: {Kunde: customer_id, Nachname: name}\nattributes: [Segment]\n",
        stored=1,
        values=[{"key": "C1", "column": "segment", "equals": "b2b"}],
    )
    # a declared date format is the only one read: an ISO date in that column is refused, naming the format;
    # blanks around a date are not part of it
    case(
        "mapping_dates_mixed.csv",
        "Kunde,Seit\nC1,31.12.2023\nC2,2024-01-01\nC3, 01.02.2024 \nC4,31.02.2024\nC5,31.12.23\n",
        "customers",
        mapping="rename: {Kunde: customer_id, Seit: created_at}\ndates: {created_at: '%d.%m.%Y'}\n",
        stored=2,
        rejected={3: "does not match the mapping's date_format %d.%m.%Y", 5: "31.02.2024", 6: "31.12.23"},
        values=[
            {"key": "C1", "column": "created_at", "equals": "2023-12-31 00:00:00"},
            {"key": "C3", "column": "created_at", "equals": "2024-02-01 00:00:00"},
        ],
    )
    # a date column refuses a time of day instead of cutting it off; an empty default is no default
    case(
        "date_time_of_day.csv",
        "campaign_id,name,starts_on\nK1,Spring,2024-03-01\nK2,Summer,2024-06-01 10:30\nK3,Fall,2024-09-01 00:00:00\n",
        "campaigns",
        stored=2,
        rejected={3: "has a time of day; starts_on holds dates only"},
        values=[{"key": "K3", "column": "starts_on", "equals": "2024-09-01 00:00:00"}],
    )
    case(
        "mapping_default_empty.csv",
        "Kunde,Nachname\nC1,\nC2,Bo\n",
        "customers",
        mapping="tables: {customers: {columns: {customer_id: Kunde, name: {column: Nachname, default: }}}}\n",
        stored=2,
        values=[{"key": "C1", "column": "name", "equals": None}, {"key": "C2", "column": "name", "equals": "Bo"}],
    )
    # an offset in the declared format (%z) is honoured: the time is stored in UTC
    case(
        "mapping_dates_offset.csv",
        "Kunde,Seit\nC1,2024-01-01 10:00+0200\nC2,2024-01-01 10:00-0130\n",
        "customers",
        mapping="rename: {Kunde: customer_id, Seit: created_at}\ndates: {created_at: '%Y-%m-%d %H:%M%z'}\n",
        stored=2,
        values=[
            {"key": "C1", "column": "created_at", "equals": "2024-01-01 08:00:00"},
            {"key": "C2", "column": "created_at", "equals": "2024-01-01 11:30:00"},
        ],
    )


def main() -> None:
    shutil.rmtree(FILES, ignore_errors=True)
    FILES.mkdir(parents=True)
    for group in (options_and_files, encodings, structure, values, json_lines, parquet, mappings):
        group()
    (HERE / "cases.json").write_text(json.dumps(CASES, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(CASES)} cases, {len(list(FILES.iterdir()))} files")


if __name__ == "__main__":
    main()
