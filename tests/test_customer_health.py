"""Customer health: CLV against the published CDNOW results, the holdout check, planted decliners, the
win-back worklist round trip from the CLI."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from sklearn.metrics import roc_auc_score

from salesintel.analyses.clv import customer_lifetime_value, purchase_summary
from salesintel.analyses.decline import DeclineParams, declining_customers
from salesintel.analyses.timeline import resolve_as_of
from salesintel.demo import load_order
from salesintel.ingest import load_file
from salesintel.models import BGNBD, GammaGamma
from salesintel.store import Store

LIFETIMES_DATA = Path(importlib.util.find_spec("lifetimes").origin).parent / "datasets"
CALIBRATION_END = date(1997, 9, 30)  # 39 weeks after 1997-01-01
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesintel", *args], capture_output=True, text=True)


def test_bgnbd_matches_fader_hardie_lee_2005() -> None:
    s = pd.read_csv(LIFETIMES_DATA / "cdnow_customers_summary.csv")
    m = BGNBD().fit(s.frequency, s.recency, s["T"])
    for name, value in PUBLISHED_BGNBD.items():
        assert getattr(m, name + "_") == pytest.approx(value, rel=0.01), name
    assert m.log_likelihood_ == pytest.approx(-9582.4, abs=0.5)


def test_gamma_gamma_matches_fader_hardie_note() -> None:
    s = pd.read_csv(LIFETIMES_DATA / "cdnow_customers_summary_with_transactions.csv")
    repeat = s[s.x > 0]
    assert len(repeat) == 946
    m = GammaGamma().fit(repeat.x, repeat.zbar)
    for name, value in PUBLISHED_GG.items():
        assert getattr(m, name + "_") == pytest.approx(value, rel=0.02), name


def test_bgnbd_gradient_is_the_likelihood_s() -> None:
    """The analytic gradient of the weighted BG/NBD log-likelihood against finite differences."""
    from scipy import optimize

    from salesintel.models.bgnbd import _loglik, _Terms

    rng = np.random.default_rng(1)
    x = rng.integers(0, 10, 400).astype(float)
    T = rng.uniform(5, 40, 400)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 400), 0.0)
    w = rng.integers(1, 5, 400).astype(float)
    terms = _Terms(x, t_x, T)
    for theta in (np.log([0.24, 4.4, 0.79, 2.4]), np.zeros(4), np.log([2.0, 0.5, 3.0, 0.2])):
        ll, grad = terms.loglik_and_grad(*np.exp(theta))
        assert np.allclose(ll, _loglik(*np.exp(theta), x, t_x, T))
        error = optimize.check_grad(
            lambda th: np.dot(w, terms.loglik_and_grad(*np.exp(th))[0]),
            lambda th: terms.loglik_and_grad(*np.exp(th))[1] @ w,
            theta,
        )
        assert error < 1e-6 * np.abs(grad @ w).max() + 1e-3


def test_gamma_gamma_gradient_is_the_likelihood_s() -> None:
    from scipy.optimize import check_grad

    from salesintel.models.gamma_gamma import _grad_log_params, _loglik

    x, m = np.array([1.0, 3, 5, 2, 7]), np.array([1.0, 2.2, 1.5, 3.0, 1.8])
    for theta in ([0.3, 1.2, -0.4], [-1.0, 3.0, 2.0]):
        err = check_grad(
            lambda t: np.sum(_loglik(*np.exp(t), x, m)),
            lambda t: _grad_log_params(*np.exp(t), x, m).sum(1),
            np.array(theta),
        )
        assert err < 1e-4


@pytest.fixture(scope="module")
def cdnow_sample_db(tmp_path_factory) -> Path:
    """The raw CDNOW sample transactions loaded through the real ingestion path."""
    db = tmp_path_factory.mktemp("cdnow") / "sample.duckdb"
    with Store.open(str(db)) as store:
        load_file(store, LIFETIMES_DATA / "CDNOW_sample.txt", mapping=ROOT / "examples" / "cdnow_sample.yaml")
    return db


def test_calibration_summary_from_raw_transactions_equals_published(cdnow_sample_db: Path) -> None:
    with Store.open(str(cdnow_sample_db)) as store:
        ours = purchase_summary(store.table("orders"), as_of=CALIBRATION_END, time_unit="weeks").execute()
    ours = ours.assign(ID=ours.customer_id.astype(int)).sort_values("ID").reset_index(drop=True)
    published = pd.read_csv(LIFETIMES_DATA / "cdnow_customers_summary_with_transactions.csv")
    assert len(ours) == len(published) == 2357
    assert (ours.ID.to_numpy() == published.ID.to_numpy()).all()
    assert (ours.frequency.to_numpy() == published.x.to_numpy()).all()
    # the published file rounds to 2 decimals
    assert (ours.recency - published.t_x).abs().max() < 0.0051
    assert (ours["T"] - published["T"]).abs().max() < 0.0051
    assert (ours.monetary_value - published.zbar).abs().max() < 0.0051


def test_clv_command_reproduces_the_published_fit(cdnow_sample_db: Path) -> None:
    out = run(
        "clv",
        "--as-of",
        "1997-09-30",
        "--time-unit",
        "weeks",
        "--result",
        "model",
        "--format",
        "json",
        "--db",
        str(cdnow_sample_db),
    )
    assert out.returncode == 0, out.stderr
    fitted: dict = {}
    for row in json.loads(out.stdout):
        fitted.setdefault(row["model"], {})[row["parameter"]] = row["value"]
    for name, value in PUBLISHED_BGNBD.items():
        assert fitted["bgnbd"][name] == pytest.approx(value, rel=0.01), name
    assert fitted["bgnbd"]["log_likelihood"] == pytest.approx(-9582.4, rel=0.01)
    for name, value in PUBLISHED_GG.items():
        assert fitted["gamma_gamma"][name] == pytest.approx(value, rel=0.02), name
    csv_out = run("clv", "--as-of", "1997-09-30", "--format", "csv", "--db", str(cdnow_sample_db))
    header = csv_out.stdout.splitlines()[0]
    assert header == "customer_id,frequency,recency,T,monetary_value,p_alive,expected_purchases,expected_spend,clv"
    rows = list(csv.DictReader(csv_out.stdout.splitlines()))
    assert len(rows) == 2357 and all(0 <= float(r["p_alive"]) <= 1 for r in rows)


@pytest.mark.slow
def test_holdout_churn_ranking_on_cdnow(store: Store) -> None:
    """Fit on data to 1997-09-30; rank by expected purchases; who buys nothing 1997-10-01..1998-06-30?"""
    load_file(store, LIFETIMES_DATA / "CDNOW_master.txt", mapping=ROOT / "examples" / "cdnow.yaml")
    orders = store.table("orders")
    table, _ = customer_lifetime_value(orders, as_of=CALIBRATION_END, horizon_days=273, time_unit="weeks")
    df = table.to_pandas()
    later = orders.filter((orders.ordered_at >= datetime(1997, 10, 1)) & (orders.ordered_at < datetime(1998, 7, 1)))
    buyers = set(later.customer_id.execute())
    silent = ~df.customer_id.isin(buyers)
    auc_model = roc_auc_score(silent, -df.expected_purchases)
    auc_recency = roc_auc_score(silent, df["T"] - df.recency)
    assert len(df) == 23_570
    assert auc_model >= 0.75  # measured 0.763 (docs/definitions.md)
    assert auc_model >= auc_recency - 0.005  # recency alone: 0.759


@pytest.fixture(scope="module")
def large_demo(tmp_path_factory) -> tuple[pd.DataFrame, dict]:
    """The demo company at 40,000 customers (seed 42) and its decline list: 1,666 steady buyers per shape,
    so a false-alarm rate is measured to about half a point (at 10,000 customers it moves by 1-2 points
    from seed to seed)."""
    from salesintel.demo.generate import generate

    company = generate(40_000, 42)
    store = Store.open(str(tmp_path_factory.mktemp("large") / "demo.duckdb"))
    for name in load_order():
        store.append(name, company.tables[name])
    orders = store.table("orders")
    table = declining_customers(
        orders, store.table("customers"), store.table("tasks"), as_of=resolve_as_of(orders, None)
    ).to_pandas()
    store.close()
    return table, company.truth


@pytest.mark.parametrize(
    "planted, steady",
    [
        ("decliners", "steady"),  # regulars (>= 18 a year) who cut 95% of their buying 5-7 months ago
        ("stopped_regulars", "steady_regulars"),  # regulars (8-12 a year) who stopped completely 4-7 months ago
    ],
)
def test_planted_decliners_are_found_and_steady_buyers_are_not(large_demo, planted, steady) -> None:
    """Both planted shapes: recall >= 90% within a list twice the number planted (both shapes together);
    the steady buyers of the same shape flagged at most 5% (measured 91.9% / 4.7% and 90.9% / 4.4%; the
    other seeds are in docs/definitions.md)."""
    table, truth = large_demo
    all_planted = set(truth["decliners"]) | set(truth["stopped_regulars"])
    top = set(table.customer_id.head(2 * len(all_planted)))
    found = set(truth[planted])
    assert len(found & top) / len(found) >= 0.9
    assert len(set(truth[steady]) & set(table.customer_id)) / len(truth[steady]) <= 0.05
    assert table.value_at_risk.is_monotonic_decreasing
    assert table.reason.str.len().min() > 20 and not table.reason.str.contains("P(alive)", regex=False).any()
    assert (table.drop_pct >= 0).all()  # nobody whose buying rose


def test_overdue_test_flags_a_regular_gone_quiet_but_not_an_occasional_buyer() -> None:
    """Brute-force check of the overdue chance against a direct Gamma-Poisson computation."""
    from scipy import integrate, stats

    m = BGNBD.from_params(r=0.5, alpha=20.0, a=0.8, b=2.5)
    regular = float(m.silence_chance(24, 600.0, 730.0))  # 25 purchases in 600 days, then 130 days of silence
    occasional = float(m.silence_chance(2, 400.0, 530.0))  # 3 purchases, the same silence
    posterior = stats.gamma(0.5 + 24, scale=1 / (20.0 + 600.0))
    direct, _ = integrate.quad(lambda lam: posterior.pdf(lam) * np.exp(-lam * 130), 0, 1)
    assert regular == pytest.approx(direct, rel=1e-6)
    assert regular < 0.01 < 0.3 < occasional


def test_channel_respects_opt_outs_and_lost_customers_are_left_out(demo_store: Store) -> None:
    orders = demo_store.table("orders")
    as_of = resolve_as_of(orders, None)
    table = declining_customers(
        orders, demo_store.table("customers"), as_of=as_of, params=DeclineParams(include_lost=True)
    ).to_pandas()
    people = demo_store.table("customers").execute().set_index("customer_id")
    joined = table.join(people[["email_opt_in", "phone_opt_in"]], on="customer_id")
    assert not ((joined.suggested_channel == "phone") & ~joined.phone_opt_in.fillna(False).astype(bool)).any()
    assert not (
        joined.suggested_channel.isin(["email", "survey"]) & ~joined.email_opt_in.fillna(False).astype(bool)
    ).any()
    silent = (pd.Timestamp(as_of) - pd.to_datetime(table.last_order_at)).dt.days
    assert (silent > 365).any() and table.reason[silent > 365].str.startswith("Long gone").all()
    default = declining_customers(orders, demo_store.table("customers"), as_of=as_of).to_pandas()
    assert ((pd.Timestamp(as_of) - pd.to_datetime(default.last_order_at)).dt.days <= 365).all()


def test_winback_worklist_round_trip_from_the_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "wb.duckdb")
    assert run("demo", "--customers", "3000", "--db", db, "--report", str(tmp_path / "r.html")).returncode == 0
    first = run("winback", "--as-of", "2025-09-30", "--db", db)
    assert first.returncode == 0, first.stderr
    created = int(first.stderr.split()[0].replace(",", ""))
    assert created > 20
    again = run("winback", "--as-of", "2025-09-30", "--db", db)
    assert again.stderr.startswith("0 tasks created")
    listed = pd.read_csv(pd.io.common.StringIO(run("tasks", "--status", "open", "--format", "csv", "--db", db).stdout))
    assert len(listed) == created and listed.assigned_to.notna().all()
    rep = listed.assigned_to.iloc[0]
    mine = pd.read_csv(pd.io.common.StringIO(run("tasks", "--rep", rep, "--format", "csv", "--db", db).stdout))
    assert set(mine.assigned_to) == {rep}
    calls = tmp_path / "calls.csv"
    assert run("tasks", "--export", str(calls), "--db", db).returncode == 0
    exported = pd.read_csv(calls)
    assert len(exported) == created
    phone_rows = exported[exported.suggested_channel == "phone"]
    assert phone_rows.phone.notna().all() and phone_rows.email.isna().all()

    def reactivation() -> pd.DataFrame:
        out = run("reactivation", "--follow-up-days", "60", "--format", "csv", "--db", db)
        assert out.returncode == 0, out.stderr
        return pd.read_csv(pd.io.common.StringIO(out.stdout)).set_index("group")

    before = reactivation()  # the demo's own win-back round is in there already
    half = listed.task_id.iloc[:8]
    for task in half:  # what the reps record, one call each (a real process per call: a few are enough)
        out = run("tasks", "done", task, "--outcome", "promised", "--notes", "will order", "--db", db)
        assert out.returncode == 0, out.stderr
    again = run("tasks", "done", half.iloc[0], "--outcome", "lost", "--db", db)
    assert again.returncode == 2 and "already done" in again.stderr  # no silent overwrite
    bad = run("tasks", "done", "T999999", "--outcome", "promised", "--db", db)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    result = reactivation()
    assert result.loc["contacted", "tasks"] == before.loc["contacted", "tasks"] + len(half)
    assert result.loc["not contacted", "tasks"] == before.loc["not contacted", "tasks"] - len(half)
    for group in ("contacted", "not contacted"):
        row = result.loc[group]
        assert row.ci_low <= row.rate <= row.ci_high
    done = pd.read_csv(pd.io.common.StringIO(run("tasks", "--status", "done", "--format", "csv", "--db", db).stdout))
    mine = done[done.task_id.isin(half)]
    assert len(mine) == len(half) and (mine.outcome == "promised").all() and (mine.notes == "will order").all()


def test_a_reactivated_outcome_counts_as_reactivated(store: Store) -> None:
    import pyarrow as pa

    from salesintel.analyses.reactivation import reactivation

    store.append(
        "orders",
        pa.table(
            {
                "order_id": ["o1"],
                "line": [1],
                "customer_id": ["c9"],
                "product_id": ["p"],
                "amount": [1.0],
                "ordered_at": [datetime(2025, 6, 1)],
            }
        ),
    )
    store.append(
        "tasks",
        pa.table(
            {
                "task_id": ["T1", "T2"],
                "customer_id": ["c1", "c2"],
                "status": ["done", "open"],
                "outcome": ["reactivated", None],
                "created_at": [datetime(2025, 1, 1)] * 2,
            }
        ),
    )
    table = reactivation(store.table("tasks"), store.table("orders"), as_of=date(2025, 6, 1), follow_up_days=30)
    rows = {r["group"]: r for r in table.to_pylist()}
    assert rows["contacted"]["reactivated"] == 1 and rows["not contacted"]["reactivated"] == 0


@pytest.mark.slow
def test_flagged_regulars_on_cdnow_really_buy_less_afterwards(store: Store) -> None:
    """Real data, no planted truth: decline as of 1997-12-31 on CDNOW, then the next six months (to the end
    of the data). Measured: 382 flagged regulars, 56.5% silent afterwards against 26.7% of the other 2,279
    regulars (5+ purchase days); 1.16 purchase days each against 2.60 (silence threshold 4.5%)."""
    from salesintel.analyses.decline import window_activity

    load_file(store, LIFETIMES_DATA / "CDNOW_master.txt", mapping=ROOT / "examples" / "cdnow.yaml")
    orders = store.table("orders")
    as_of = date(1997, 12, 31)
    flagged = declining_customers(orders, store.table("customers"), as_of=as_of).to_pandas()
    act = window_activity(orders, as_of=as_of, window_days=90, history_windows=4).execute()
    later = orders.filter(orders.ordered_at >= datetime(1998, 1, 1))
    later = later.group_by("customer_id").aggregate(n=later.ordered_at.date().nunique()).execute()
    regular = act[act.purchases >= 5].merge(later, on="customer_id", how="left").fillna({"n": 0})
    mine = regular.customer_id.isin(flagged.customer_id)
    assert mine.sum() > 200
    assert (regular[mine].n == 0).mean() >= 1.5 * (regular[~mine].n == 0).mean()
    assert regular[mine].n.mean() <= 0.6 * regular[~mine].n.mean()
