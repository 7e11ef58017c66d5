"""Refused rows: each belongs to the load that refused it, and stays open until a later load resolves it.

A reject is **open** unless a later load of the same table stored the same key (a corrected row), or loaded
the same table again from the same file or from a file with the same content (its rejects are that load's
now). So reloading a file, or loading it again under another name, never shows its problems twice, and
``rejects --all`` keeps the whole history.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from salesintel.store import Store
    >>> from salesintel.ingest import load_file
    >>> store = Store.open("duckdb://:memory:")
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.csv").write_text("rep_id,name,role\\nR1,Ann,rep\\nR2,Bo,boss\\n")
    >>> _ = load_file(store, folder / "a.csv", table="reps")
    >>> listed(store).execute()[["line", "column_name", "reason"]].values.tolist()
    [[3, 'role', "unknown value 'boss'; allowed: rep, manager, analyst, admin"]]
    >>> _ = (folder / "b.csv").write_text("rep_id,name,role\\nR2,Bo,manager\\n")
    >>> _ = load_file(store, folder / "b.csv", table="reps")
    >>> listed(store).count().execute(), listed(store, everything=True).count().execute()
    (0, 1)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import ibis
import ibis.expr.types as ir

from salesintel.store import Store

__all__ = ["close_earlier", "close_stored_keys", "file_sha256", "key_text", "listed", "open_rejects"]

SHOWN = (
    "table_name",
    "source_file",
    "line",
    "row_key",
    "column_name",
    "value",
    "reason",
    "record",
    "rejected_at",
    "load_id",
)
_CHUNK = 10_000  # keys per UPDATE ... IN (...): PostgreSQL takes at most 65,535 parameters a statement


def open_rejects(store: Store) -> ir.Table:
    """The rejects no later load resolved: one row per problem, as in ``rejects``."""
    t = store.table("rejects")
    return t.filter(t.closed_by.isnull())


def listed(store: Store, *, everything: bool = False, table: str | None = None) -> ir.Table:
    """What ``salesintel rejects`` shows: the open problems (``everything``: the whole history, with
    ``closed_by``), oldest load first, then by line and column."""
    t = store.table("rejects") if everything else open_rejects(store)
    if table:
        t = t.filter(t.table_name == table)
    cols = [*SHOWN, "closed_by"] if everything else list(SHOWN)
    return t.select(*cols).order_by([t.rejected_at, t.table_name, t.source_file, t.line, t.column_name])


def key_text(t: ir.Table, key: tuple[str, ...]) -> ir.StringValue:
    """A row's key as one text ('O1, 1') from its parsed values; empty when any part is missing, so a row
    whose key itself was refused can only be closed by reloading its file."""
    parts = [t[k].cast("string") for k in key]
    missing = ibis.literal(False)
    for p in parts:
        missing |= p.isnull()
    return missing.ifelse(ibis.null("string"), ibis.literal(", ").join(parts))


def close_earlier(store: Store, *, table: str, source_file: str, content_sha256: str, load_id: str) -> None:
    """Close the open rejects of earlier loads of ``table`` from the same file or the same content."""
    loads = store.table("loads")
    same = loads.filter((loads.table_name == table) & (loads.content_sha256 == content_sha256)).load_id
    load_ids = [x for x in same.execute().tolist() if x]
    where = {"table_name": table}
    store.update_in("rejects", "source_file", [source_file], {"closed_by": load_id}, equals=where, null=("closed_by",))
    for start in range(0, len(load_ids), _CHUNK):
        chunk = load_ids[start : start + _CHUNK]
        store.update_in("rejects", "load_id", chunk, {"closed_by": load_id}, equals=where, null=("closed_by",))


def close_stored_keys(store: Store, stored: ir.Table, *, table: str, load_id: str) -> None:
    """Close the open rejects of ``table`` whose key is among ``stored.row_key`` (the keys this load stored;
    an expression of the staging engine). Costs one small query when the table has no open keyed rejects."""
    t = open_rejects(store)
    waiting = t.filter((t.table_name == table) & t.row_key.notnull()).select("row_key").distinct().to_pyarrow()
    if waiting.num_rows == 0:
        return
    waiting_keys = ibis.memtable(waiting)
    matched = stored.select("row_key").distinct()
    matched = matched.semi_join(waiting_keys, matched.row_key == waiting_keys.row_key)
    keys = matched.row_key.to_pyarrow().to_pylist()
    for start in range(0, len(keys), _CHUNK):
        store.update_in(
            "rejects",
            "row_key",
            keys[start : start + _CHUNK],
            {"closed_by": load_id},
            equals={"table_name": table},
            null=("closed_by",),
        )


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (read in 1 MiB blocks): the same content under another name or folder."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
