from __future__ import annotations

from datetime import date, datetime

import ibis
import pandas as pd
import pytest

from salesintel.analyses import results, runner
from salesintel.analyses.profiles import customer_profiles

ORDERS = pd.DataFrame(
    {
        "order_id": ["a1", "a1", "a2", "b1", "c1", "c2", "c3", "late"],
        "customer_id": ["A", "A", "A", "B", "C", "C", "C", "A"],
        "product_id": ["p1", "p2", "p1", "p1", "p3", "p3", "p3", "p9"],
        "ordered_at": [
            datetime(2024, 1, 1, 9),
            datetime(2024, 1, 1, 9),
            datetime(2024, 3, 1, 18),
            datetime(2024, 2, 15),
            datetime(2023, 6, 1),
            datetime(2023, 7, 1),
            datetime(2024, 3, 30, 23),
            datetime(2024, 5, 1),
        ],
        "amount": [10.0, 20.0, 30.0, 100.0, 5.0, 5.0, -5.0, 999.0],
    }
)


def test_profile_matches_hand_computed_values() -> None:
    got = customer_profiles(ibis.memtable(ORDERS), as_of=date(2024, 3, 31)).execute().set_index("customer_id")
    a = got.loc["A"]
    # A: orders a1 (2 lines) and a2; the May order is after as_of and ignored
    assert (a.orders, a.revenue, a.products) == (2, 60.0, 2)
    assert a.avg_order_value == 30.0
    assert (a.recency_days, a.tenure_days) == (30, 90)  # 2024-03-01 and 2024-01-01 to 2024-03-31
    c = got.loc["C"]
    assert (c.orders, c.revenue, c.recency_days, c.tenure_days) == (3, 5.0, 1, 304)  # a refund nets off
    # scores by percent rank over 3 customers: ranks 0, .5, 1 -> 1, 3, 5
    # recency: B 45 days, A 30, C 1 -> B 1, A 3, C 5
    assert (c.r_score, c.f_score) == (5, 5) and got.loc["B"].r_score == 1 and a.r_score == 3
    assert (got.loc["B"].m_score, a.m_score, c.m_score) == (5, 3, 1)
    assert c.rfm_segment == "champions" and c.rfm_score == "551"


def test_profiles_on_the_demo_company(demo_store) -> None:
    record = runner.run(demo_store, "profiles").record
    profiles = results.read(demo_store, "profiles").execute()
    assert record.row_counts["profiles"] == len(profiles) == profiles.customer_id.nunique()
    assert profiles[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    buyers = demo_store.table("orders").customer_id.nunique().execute()
    assert len(profiles) == buyers
    runs = demo_store.table("analysis_runs").execute()
    assert (runs.analysis == "profiles").any() and runs[runs.analysis == "profiles"].status.eq("ok").all()


@pytest.mark.parametrize("as_of", [date(2024, 6, 30)])
def test_as_of_ignores_later_orders(demo_store, as_of) -> None:
    orders = demo_store.table("orders")
    early = customer_profiles(orders, as_of=as_of).execute()
    assert early.last_order_at.max() < pd.Timestamp("2024-07-01")
    assert early.recency_days.min() >= 0
