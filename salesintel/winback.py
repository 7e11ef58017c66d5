"""The win-back worklist: decline list -> tasks for reps -> recorded outcomes -> measured reactivation.

Example:
    >>> # created = assign_tasks(store, declining_customers(...), created_at=now_utc())
    >>> # complete_task(store, "T000001", outcome="reactivated", notes="ordered pods")
    >>> # winback_report(store, follow_up_days=90)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from salesintel.errors import NotFound, UserInputError
from salesintel.store import Store, now_utc

OUTCOMES = ("reactivated", "promised", "no_answer", "lost")
STATUSES = ("open", "done", "skipped")
CONTACTED = ("reactivated", "promised", "lost")  # someone answered; no_answer means we did not reach them


@dataclass(frozen=True)
class AssignReport:
    created: int
    already_open: int


def assign_tasks(store: Store, decline: pa.Table | pd.DataFrame, *, created_at: datetime | None = None,
                 due_days: int = 7) -> AssignReport:
    """One open task per customer on the decline list, unless they already have an open task.

    A task goes to the customer's owner; customers without one are dealt out in turn to the reps of their
    territory (``reps.territory`` = ``customers.region``), least-loaded rep first, or to all reps when the
    territory has none.
    """
    df = decline.to_pandas() if isinstance(decline, pa.Table) else decline.copy()
    created_at = created_at or now_utc()
    tasks = store.table("tasks")
    open_ids = set(tasks.filter(tasks.status == "open").select("customer_id").execute().customer_id)
    fresh = df[~df.customer_id.isin(open_ids)].copy()
    if fresh.empty:
        return AssignReport(0, len(df))
    fresh["assigned_to"] = _assignees(store, fresh)
    start = _next_task_number(tasks)
    fresh["task_id"] = [f"T{n:06d}" for n in range(start, start + len(fresh))]
    rows = pd.DataFrame({
        "task_id": fresh.task_id, "customer_id": fresh.customer_id, "assigned_to": fresh.assigned_to,
        "reason": fresh.reason, "suggested_channel": fresh.suggested_channel,
        "created_at": pd.Timestamp(created_at.replace(tzinfo=None)),
        "due_on": (pd.Timestamp(created_at) + pd.Timedelta(days=due_days)).date(),
        "status": "open", "value_at_risk": fresh.value_at_risk.astype(float),
    })
    store.append("tasks", pa.Table.from_pandas(rows, preserve_index=False))
    return AssignReport(len(rows), len(df) - len(rows))


def _assignees(store: Store, fresh: pd.DataFrame) -> pd.Series:
    """The owner, or the next rep of the territory in turn (vectorised: rank within region modulo reps)."""
    everyone = store.table("reps").select("rep_id", "territory", "role").execute()
    assigned = fresh.owner_id.where(fresh.owner_id.isin(set(everyone.rep_id)))  # an owner of any role keeps theirs
    reps = everyone[everyone.role.isna() | (everyone.role == "rep")][["rep_id", "territory"]]
    if reps.empty:
        return assigned
    tasks = store.table("tasks")
    load = tasks.filter(tasks.status == "open").group_by("assigned_to").aggregate(n=ibis._.count()).execute()
    reps = reps.merge(load, left_on="rep_id", right_on="assigned_to", how="left").fillna({"n": 0})
    reps = reps.sort_values(["n", "rep_id"])
    regions = store.table("customers").select("customer_id", "region")
    regions = regions.semi_join(ibis.memtable(fresh[["customer_id"]]), "customer_id").execute()
    need = fresh[assigned.isna()].merge(regions, on="customer_id", how="left")
    need["region"] = need.region.where(need.region.isin(set(reps.territory.dropna())), "*")
    pool = pd.concat([reps.dropna(subset=["territory"]).rename(columns={"territory": "region"}),
                      reps.assign(region="*")[["rep_id", "region"]]])
    pool["pos"] = pool.groupby("region").cumcount()
    size = pool.groupby("region").size()
    need["pos"] = need.groupby("region").cumcount() % need.region.map(size)
    need = need.merge(pool[["region", "pos", "rep_id"]], on=["region", "pos"], how="left")
    assigned.loc[assigned.isna()] = need.rep_id.to_numpy()
    return assigned


def _next_task_number(tasks: ir.Table) -> int:
    ids = tasks.filter(tasks.task_id.re_search(r"^T\d+$")).task_id
    top = ids.substr(1).cast("int64").max().execute()
    return 1 if top is None or pd.isna(top) else int(top) + 1


def list_tasks(store: Store, *, rep: str | None = None, status: str | None = None) -> ir.Table:
    """Tasks with the customer's name, most valuable open work first."""
    if status is not None and status not in STATUSES:
        raise UserInputError(f"--status {status!r}: use one of {', '.join(STATUSES)}")
    t = store.table("tasks")
    if rep:
        t = t.filter(t.assigned_to == rep)
    if status:
        t = t.filter(t.status == status)
    c = store.table("customers").select("customer_id", "name")
    t = t.left_join(c, "customer_id").drop("customer_id_right")
    return t.select("task_id", "assigned_to", "customer_id", "name", "suggested_channel", "reason", "value_at_risk",
                    "due_on", "status", "outcome", "notes", "created_at", "completed_at").order_by(
        [(t.status != "open").cast("int8"), t.status, t.value_at_risk.desc(), t.task_id])


def complete_task(store: Store, task_id: str, *, outcome: str, notes: str | None = None,
                  completed_at: datetime | None = None) -> None:
    """Record the outcome of a task (status becomes done)."""
    if outcome not in OUTCOMES:
        raise UserInputError(f"--outcome {outcome!r}: use one of {', '.join(OUTCOMES)}")
    when = completed_at or now_utc()
    values = {"status": "done", "outcome": outcome, "completed_at": when.replace(tzinfo=None)}
    if notes is not None:
        values["notes"] = notes
    if store.update_rows("tasks", {"task_id": task_id}, values) == 0:
        raise NotFound(f"there is no task {task_id!r}; list them with: salesintel tasks")


def call_list(store: Store, *, rep: str | None = None, status: str = "open") -> ir.Table:
    """The tasks as a call list: the phone number for calls, the e-mail address for e-mails and surveys."""
    t = list_tasks(store, rep=rep, status=status)
    c = store.table("customers").select("customer_id", "phone", "email")
    j = t.left_join(c, "customer_id")
    return j.select("task_id", "assigned_to", "customer_id", "name", "suggested_channel",
                    phone=ibis.ifelse(j.suggested_channel == "phone", j.phone, ibis.null("string")),
                    email=ibis.ifelse(j.suggested_channel.isin(["email", "survey"]), j.email, ibis.null("string")),
                    reason=j.reason, value_at_risk=j.value_at_risk, due_on=j.due_on)


def export_call_list(store: Store, path: Path, *, rep: str | None = None) -> int:
    """Write the open call list to ``path`` (.csv, .parquet or .json by its suffix); returns rows written."""
    fmt = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "json"}.get(Path(path).suffix.lower())
    if fmt is None:
        raise UserInputError(f"{path}: the call list is written as .csv, .parquet or .json")
    return store.export_expr(call_list(store, rep=rep), Path(path), fmt)


def winback_report(store: Store, *, follow_up_days: int = 90) -> pd.DataFrame:
    """Reactivation (a purchase within ``follow_up_days`` after the task was created) of contacted against not
    contacted customers, with 95% Wilson intervals and a Newcombe interval for the difference.

    Tasks whose follow-up period reaches past the last order in the data are counted as pending, not as failures.
    """
    tasks = store.table("tasks")
    orders = store.table("orders")
    last = orders.ordered_at.max().execute()
    t = tasks.mutate(contacted=(tasks.status == "done") & tasks.outcome.isin(CONTACTED),
                     until=tasks.created_at + ibis.interval(days=follow_up_days))
    j = t.left_join(orders.select("customer_id", "ordered_at"), [
        t.customer_id == orders.customer_id, orders.ordered_at > t.created_at, orders.ordered_at <= t.until])
    per = j.group_by("task_id", "contacted", "until").aggregate(bought=j.ordered_at.count() > 0)
    df = per.execute()
    complete = df.until <= (pd.Timestamp(last) if last is not None else pd.Timestamp.min)
    rows = []
    for label, group in (("contacted", df[df.contacted & complete]), ("not contacted", df[~df.contacted & complete])):
        n, k = len(group), int(group.bought.sum())
        low, high = wilson(k, n)
        rows.append({"group": label, "tasks": n, "reactivated": k, "rate": k / n if n else np.nan,
                     "ci_low": low, "ci_high": high})
    diff = newcombe(rows[0]["reactivated"], rows[0]["tasks"], rows[1]["reactivated"], rows[1]["tasks"])
    rows.append({"group": "difference", "tasks": rows[0]["tasks"] + rows[1]["tasks"], "reactivated": None,
                 "rate": diff[0], "ci_low": diff[1], "ci_high": diff[2]})
    out = pd.DataFrame(rows)
    out["pending"] = [int((~complete & df.contacted).sum()), int((~complete & ~df.contacted).sum()),
                      int((~complete).sum())]
    out["follow_up_days"] = follow_up_days
    return out


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for k successes out of n.

    >>> [round(v, 3) for v in wilson(8, 10)]
    [0.49, 0.943]
    """
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """Difference of two proportions p1 - p2 with Newcombe's hybrid score interval (method 10)."""
    if n1 == 0 or n2 == 0:
        return (math.nan, math.nan, math.nan)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return (d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
