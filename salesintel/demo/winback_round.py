"""A win-back round played on the demo company, so the reactivation report shows the loop working: the
decline list three months before the data ends becomes tasks, and the reps' outcomes are recorded.

The reps reach 65% of the customers (seeded). A reached customer who ordered within 90 days after the task
is recorded as ``reactivated`` or ``promised``; one who did not as ``promised`` or ``lost``. Unreached
customers are ``no_answer``. The orders are the demo's own: nothing is added to the data.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import numpy as np

from salesintel.store import Store
from salesintel.tasks import AssignReport, assign_winback

ROUND_DAYS_BEFORE_END = 120


def play_winback_round(store: Store, *, seed: int = 7) -> AssignReport:
    """Assign tasks as of 120 days before the last order and record outcomes (vectorised, one update per outcome)."""
    last = store.table("orders").ordered_at.max().execute()
    as_of = last.date() - timedelta(days=ROUND_DAYS_BEFORE_END)
    created = assign_winback(store, as_of=as_of)
    tasks = store.table("tasks")
    orders = store.table("orders")
    start = datetime.combine(as_of, time())
    t = tasks.filter(tasks.status == "open")
    later = orders.filter((orders.ordered_at > start) & (orders.ordered_at <= start + timedelta(days=90)))
    t = t.mutate(came_back=t.customer_id.isin(later.customer_id)).select("task_id", "came_back").order_by("task_id")
    df = t.execute()
    rng = np.random.default_rng(seed)
    reached = rng.random(len(df)) < 0.65
    coin = rng.random(len(df)) < 0.7
    outcome = np.where(~reached, "no_answer", np.where(df.came_back, np.where(coin, "reactivated", "promised"),
                                                       np.where(coin, "lost", "promised")))
    done_at = datetime.combine(as_of + timedelta(days=10), time(12))
    for value in ("reactivated", "promised", "lost", "no_answer"):
        ids = df.task_id[outcome == value].tolist()
        store.update_in("tasks", "task_id", ids, {"status": "done", "outcome": value, "completed_at": done_at})
    return created


