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
