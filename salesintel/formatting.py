"""How numbers, dates and flags read for people: one place, used by the report and the CLI's tables.

Machine formats (csv, json) keep the values as they are.
"""

from __future__ import annotations

import math

from salesintel.lazy import lazy

pd = lazy("pandas")


def format_value(value, fmt: str | None) -> str:
    """A value as a person reads it.

    >>> format_value(1234.5, "money"), format_value(0.1234, "percent"), format_value(2.04, "ratio")
    ('1,234', '12.3%', '2.0x')
    >>> format_value(0.00001, "p"), format_value(3.0, "days"), format_value(None, "money")
    ('< 0.001', '3', '')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if not (value.hour or value.minute) else value.strftime("%Y-%m-%d %H:%M")
    if not isinstance(value, (int, float)):
        return str(value)
    if fmt == "money":
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if fmt == "percent":
        return f"{value:.1%}"
    if fmt == "points":  # already a percentage
        return f"{value:,.0f}%"
    if fmt == "ratio":
        return f"{value:,.1f}x"
    if fmt == "p":
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    if fmt in ("count", "days") or isinstance(value, int):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


def readable(df, output) -> tuple:
    """``(frame, long)``: the rows as text for people, and the labels of the long text columns.

    Labels come from the column descriptions; only the columns a person reads first when the output says
    which (``brief``); a name beside each id that refers to a product, customer or rep (``with_names`` adds
    them), unless the result already names it; numbers formatted by each column's declared format.
    """
    out, long = {}, set()
    # a result that names its customers (name) or products (product_name) itself needs no lookup for them
    own = {"customers": "name" in output.names, "products": "product_name" in output.names, "reps": False}
    for col in output.columns:
        if col.name not in df.columns or (output.brief and col.name not in output.brief):
            continue
        out[col.description] = df[col.name].map(lambda v, f=col.format: format_value(v, f))
        if col.format == "text":
            long.add(col.description)
        named = f"{col.name}_name"
        if named in df.columns and not own[col.refers]:
            if (df[named].astype(str) != df[col.name].astype(str)).any():
                out[f"{col.description} name"] = df[named].fillna("").astype(str)
    return pd.DataFrame(out, index=df.index), long


def csv_ready(frame: "pd.DataFrame") -> "pd.DataFrame":
    """``frame`` as a CSV file writes it: yes/no as true and false, as DuckDB, PostgreSQL and the JSON
    outputs write them (pandas would write True and False); a missing value stays empty.

    >>> print(csv_ready(pd.DataFrame({"id": [1, 2, 3], "vip": [True, False, None]})).to_csv(index=False))
    id,vip
    1,true
    2,false
    3,
    <BLANKLINE>
    """
    flags = [c for c in frame.columns if pd.api.types.infer_dtype(frame[c], skipna=True) == "boolean"]
    if not flags:
        return frame
    return frame.assign(**{c: frame[c].map({True: "true", False: "false"}) for c in flags})


def json_rows(frame: "pd.DataFrame") -> list[str]:
    """Each row of ``frame`` as one JSON object, numbers written exactly: pandas' JSON writer keeps ten
    decimals and would write a p-value of 1.2e-11 as 0.0. Times in ISO 8601 with microseconds; a missing
    value is null.

    >>> json_rows(pd.DataFrame({"p": [1.2e-11, 0.16265137029955387], "n": [1, None]}))
    ['{"p":1.2e-11,"n":1.0}', '{"p":0.16265137029955387,"n":null}']
    """
    import json

    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [json.dumps(record, default=_json_value, separators=(",", ":")) for record in records]


def _json_value(value: object) -> object:
    if hasattr(value, "isoformat"):  # a time or a date (pandas', numpy's or Python's)
        return value.isoformat()
    if hasattr(value, "item"):  # a numpy number or flag
        return value.item()
    raise TypeError(f"no JSON form for {type(value).__name__}")
