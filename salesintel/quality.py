"""Data-quality checks per table: rows, refused rows, orphans, missing optional data, odd values.

Example:
    >>> from salesintel.store import Store
    >>> rows = data_quality(Store.open("duckdb://:memory:"))
    >>> rows[0]["table"]
    'customers'
"""

from __future__ import annotations

from salesintel import schema
from salesintel.store import Store, now_utc


def data_quality(store: Store) -> list[dict]:
    """One row per problem kind per table: ``table, check, count, detail`` (count 0 rows are left out,
    except the row count, which is always reported)."""
    from salesintel.ingest.rejects import open_rejects

    rows_refused = open_rejects(store).select("table_name", "load_id", "line").distinct()  # problems, not rows
    rejected = dict(rows_refused.group_by("table_name").aggregate(n=rows_refused.count()).execute().values.tolist())
    rows: list[dict] = []
    for table in schema.CANONICAL:
        t = store.table(table.name)
        n = int(t.count().execute())
        rows.append({"table": table.name, "check": "rows", "count": n, "detail": "rows stored"})
        if rejected.get(table.name):
            rows.append(
                {
                    "table": table.name,
                    "check": "rejected",
                    "count": int(rejected[table.name]),
                    "detail": "rows refused at load, still open (salesintel rejects)",
                }
            )
        if n == 0:
            continue
        rows += _orphans(store, table, t)
        rows += _oddities(table, t)
        rows += _keys_differing_by_case(table, t)
    return [r for r in rows if r["count"] or r["check"] == "rows"]


def _keys_differing_by_case(table: schema.Table, t) -> list[dict]:
    """Keys such as CU1 and cu1: kept apart (case may matter to the source), but most often one customer."""
    out = []
    for key in table.key:
        if table.column(key).type != "string":
            continue
        groups = t.group_by(folded=t[key].lower()).aggregate(n=t[key].nunique(), example=t[key].min())
        clashes = groups.filter(groups.n > 1)
        found = clashes.aggregate(count=clashes.count(), example=clashes.example.min()).execute()
        n = int(found["count"].iloc[0])
        if n:
            example = found["example"].iloc[0]
            out.append(
                {
                    "table": table.name,
                    "check": f"{key} differing only by case",
                    "count": n,
                    "detail": f"keys stored apart that differ only in upper/lower case, e.g. {example!r}",
                }
            )
    return out


def _orphans(store: Store, table: schema.Table, t) -> list[dict]:
    out = []
    for col in table.columns:
        if col.references:
            ref_table, ref_col = col.references.split(".")
            known = store.table(ref_table)[ref_col]
            n = int(t.filter(t[col.name].notnull() & ~t[col.name].isin(known)).count().execute())
            out.append(
                {
                    "table": table.name,
                    "check": f"orphan {col.name}",
                    "count": n,
                    "detail": f"{col.name} not found in {ref_table}",
                }
            )
    return out


def _oddities(table: schema.Table, t) -> list[dict]:
    now = now_utc()
    out = []
    if table.name == "orders":
        out.append(
            {
                "table": "orders",
                "check": "refunds",
                "count": int((t.amount < 0).sum().execute() or 0),
                "detail": "lines with a negative amount (kept: they reduce revenue)",
            }
        )
        out.append(
            {
                "table": "orders",
                "check": "future dates",
                "count": int((t.ordered_at > now).sum().execute() or 0),
                "detail": "orders dated after today",
            }
        )
    if table.name == "customers":
        for c in ("email", "owner_id", "region"):
            out.append(
                {
                    "table": "customers",
                    "check": f"missing {c}",
                    "count": int(t[c].isnull().sum().execute() or 0),
                    "detail": f"customers without {c}",
                }
            )
    return out
