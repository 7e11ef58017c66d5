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


def test_custom_attributes_are_groups_in_profiles_and_affinity(store, tmp_path) -> None:
    """A customers export's own column (industry) is kept at load and becomes a dimension of profiles'
    groups and of affinity; a column with a value per customer (a note) is not a dimension."""
    from salesintel.ingest import load_file

    rng = range(60)
    industry = ["retail" if i % 3 == 0 else "banking" for i in rng]
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,industry,note\n" + "".join(f"c{i},{industry[i]},note {i}\n" for i in rng), encoding="utf-8"
    )
    # retail customers buy category "tools" as well; everyone buys "paper"
    lines = ["order_id,line,customer_id,product_id,ordered_at,amount"]
    for i in rng:
        lines.append(f"o{i},1,c{i},paper,2024-01-{i % 28 + 1:02d} 10:00:00,10")
        if industry[i] == "retail":
            lines.append(f"o{i},2,c{i},hammer,2024-01-{i % 28 + 1:02d} 10:00:00,30")
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    products = "product_id,name,category\npaper,Paper,office\nhammer,Hammer,tools\n"
    (tmp_path / "products.csv").write_text(products, encoding="utf-8")
    for table in ("customers", "products", "orders"):
        load_file(store, tmp_path / f"{table}.csv", table=table)

    runner.run(store, "profiles", as_of=date(2024, 3, 31))
    groups = results.read(store, "profiles", "groups").execute().set_index(["dimension", "group"])
    assert set(groups.index.get_level_values("dimension")) == {"industry"}
    retail = groups.loc[("industry", "retail")]
    assert (retail.customers, retail.revenue) == (20, 20 * 40.0)
    assert retail.revenue_share == pytest.approx(800 / (60 * 10 + 20 * 30))
    assert retail.avg_order_value == 40.0

    runner.run(store, "affinity", as_of=date(2024, 3, 31), min_group_size=5)
    aff = results.read(store, "affinity", "affinity").execute()
    tools = aff[(aff.dimension == "industry") & (aff.group == "retail") & (aff["item"] == "tools")]
    assert len(tools) == 1 and tools.group_rate.iloc[0] == 1.0 and tools.other_rate.iloc[0] == 0.0
    assert not aff.dimension.str.contains("note").any()
    runner.run(store, "affinity", as_of=date(2024, 3, 31), min_group_size=5, attributes=False)
    assert results.read(store, "affinity", "affinity").execute().empty
