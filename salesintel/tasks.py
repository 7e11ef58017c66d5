"""The win-back worklist: decline list -> tasks for reps -> recorded outcomes. What the tasks achieved is
the registered ``reactivation`` analysis (:mod:`salesintel.analyses.reactivation`).

Example:
    >>> from datetime import date, datetime, time
    >>> import pyarrow as pa
    >>> from salesintel.store import Store
    >>> store = Store.open(":memory:")
    >>> store.append("customers", pa.table({"customer_id": ["c1"], "name": ["Ann"]}))
    >>> decline = pa.table({"customer_id": ["c1"], "owner_id": [None], "reason": ["bought less"],
    ...                     "suggested_channel": ["email"], "value_at_risk": [120.0]})
    >>> assign_tasks(store, decline, created_at=datetime(2025, 1, 1))
    AssignReport(created=1, already_open=0)
    >>> complete_task(store, "T000001", outcome="reactivated", notes="ordered pods")
    >>> list_tasks(store).execute().status.tolist()
    ['done']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pyarrow as pa

from salesintel.errors import NotFound, UserInputError
from salesintel.lazy import lazy
from salesintel.store import Store, now_utc

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")
pd = lazy("pandas")

OUTCOMES = ("reactivated", "promised", "no_answer", "lost")
STATUSES = ("open", "done", "skipped")
CONTACTED = ("reactivated", "promised", "lost")  # someone answered; no_answer means we did not reach them


@dataclass(frozen=True)
class AssignReport:
    created: int
    already_open: int


def assign_tasks(
    store: Store, decline: pa.Table | pd.DataFrame, *, created_at: datetime | None = None, due_days: int = 7
) -> AssignReport:
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
    rows = pd.DataFrame(
        {
            "task_id": fresh.task_id,
            "customer_id": fresh.customer_id,
            "assigned_to": fresh.assigned_to,
            "reason": fresh.reason,
            "suggested_channel": fresh.suggested_channel,
            "created_at": pd.Timestamp(created_at.replace(tzinfo=None)),
            "due_on": (pd.Timestamp(created_at) + pd.Timedelta(days=due_days)).date(),
            "status": "open",
            "value_at_risk": fresh.value_at_risk.astype(float),
        }
    )
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
    pool = pd.concat(
        [
            reps.dropna(subset=["territory"]).rename(columns={"territory": "region"}),
            reps.assign(region="*")[["rep_id", "region"]],
        ]
    )
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
    return t.select(
        "task_id",
        "assigned_to",
        "customer_id",
        "name",
        "suggested_channel",
        "reason",
        "value_at_risk",
        "due_on",
        "status",
        "outcome",
        "notes",
        "created_at",
        "completed_at",
    ).order_by([ibis.ifelse(t.status == "open", 0, 1), t.status, t.value_at_risk.desc(), t.task_id])


def complete_task(
    store: Store,
    task_id: str,
    *,
    outcome: str,
    notes: str | None = None,
    completed_at: datetime | None = None,
    force: bool = False,
) -> None:
    """Record the outcome of a task (status becomes done); a task already done is changed only with ``force``."""
    if outcome not in OUTCOMES:
        raise UserInputError(f"--outcome {outcome!r}: use one of {', '.join(OUTCOMES)}")
    t = store.table("tasks")
    done = t.filter((t.task_id == task_id) & (t.status == "done")).select("outcome", "completed_at").execute()
    if not done.empty and not force:
        row = done.iloc[0]
        raise UserInputError(
            f"{task_id} is already done (outcome {row.outcome}, recorded {row.completed_at:%Y-%m-%d}); "
            f"use --force to record a new outcome"
        )
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
    return j.select(
        "task_id",
        "assigned_to",
        "customer_id",
        "name",
        "suggested_channel",
        phone=ibis.ifelse(j.suggested_channel == "phone", j.phone, ibis.null("string")),
        email=ibis.ifelse(j.suggested_channel.isin(["email", "survey"]), j.email, ibis.null("string")),
        reason=j.reason,
        value_at_risk=j.value_at_risk,
        due_on=j.due_on,
    )


def export_call_list(store: Store, path: Path, *, rep: str | None = None) -> int:
    """Write the open call list to ``path`` (.csv, .parquet or .json by its suffix); returns rows written."""
    fmt = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "json"}.get(Path(path).suffix.lower())
    if fmt is None:
        raise UserInputError(f"{path}: the call list is written as .csv, .parquet or .json")
    return store.export_expr(call_list(store, rep=rep), Path(path), fmt)


def assign_winback(store: Store, *, as_of: date | None = None, due_days: int = 7, **decline_params) -> AssignReport:
    """Run the decline list (not kept as a run) and turn it into tasks; with ``as_of`` the tasks are dated
    that day (to replay a past list), otherwise now."""
    from salesintel.analyses import runner

    outcome = runner.run(store, "decline", save=False, as_of=as_of, **decline_params)
    if outcome.record.status in ("failed", "skipped"):
        raise UserInputError(f"no decline list to assign: {outcome.record.note}")
    created_at = datetime.combine(outcome.record.as_of, time()) if as_of else None
    return assign_tasks(store, outcome["customers"].to_pyarrow(), created_at=created_at, due_days=due_days)
