"""One contract over every registered analysis and every model (as statsforecast checks every model with
one function): declared outputs, empty stores, data that ends before as_of, no leakage from later rows,
and the estimator contract (fit returns self, NotFitted, exact save/load)."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from salesintel.analyses import registry, results, runner
from salesintel.analyses.spec import TYPES, Analysis, Col, Output, Params
from salesintel.demo import generate, load_order, play_winback_round
from salesintel.errors import NotFitted, OutputMismatch, UserInputError
from salesintel.models import MODEL_CLASSES
from salesintel.store import Store

AS_OF = date(2025, 6, 30)
NAMES = registry.names()


@pytest.fixture(scope="module")
def company():
    return generate(customers=600, seed=5)


def _store(path, company, *, orders_until: date | None = None) -> Store:
    """The demo company in a real DuckDB file; with ``orders_until``, only the orders up to that day."""
    store = Store.open(str(path))
    for name in load_order():
        table = company.tables[name]
        if name == "orders" and orders_until is not None:
            day = pa.compute.cast(table["ordered_at"], pa.timestamp("s")).cast(pa.date32())
            table = table.filter(pa.compute.less_equal(day, pa.scalar(orders_until, pa.date32())))
        store.append(name, table)
    return store


@pytest.fixture(scope="module")
def full_store(company, tmp_path_factory) -> Store:
    store = _store(tmp_path_factory.mktemp("full") / "full.duckdb", company)
    play_winback_round(store)  # tasks and outcomes dated after AS_OF: they must not leak into AS_OF runs
    return store


@pytest.fixture(scope="module")
def cut_store(company, tmp_path_factory) -> Store:
    return _store(tmp_path_factory.mktemp("cut") / "cut.duckdb", company, orders_until=AS_OF)


def _declared(analysis: Analysis, outcome: runner.RunOutcome) -> None:
    for result, output in analysis.outputs.items():
        assert list(outcome.tables[result].columns) == output.names, (analysis.name, result)


@pytest.mark.parametrize("name", NAMES)
def test_declaration_is_complete(name) -> None:
    analysis = registry.get(name)
    assert analysis.inputs and analysis.title and analysis.question
    for spec in analysis.params.specs():
        assert spec.help, f"{name}.{spec.name} has no help text"
        assert spec.type in (int, float, str, bool, date)
    for result, output in analysis.outputs.items():
        assert output.grain.startswith("one row per"), (name, result)
        assert all(c.description for c in output.columns)
        assert output.person_key is None or output.person_key in output.names  # says whether it is personal


@pytest.mark.parametrize("name", NAMES)
def test_every_output_says_whether_it_holds_personal_data(name) -> None:
    """person_key has no default (forgetting it fails when the module is imported), and an output naming a
    customer must say which column does: export and erasure (salesintel.privacy) find personal rows by it."""
    (person_key,) = [f for f in dataclasses.fields(Output) if f.name == "person_key"]
    assert person_key.default is dataclasses.MISSING and person_key.default_factory is dataclasses.MISSING
    for result, output in registry.get(name).outputs.items():
        customers = [c.name for c in output.columns if c.refers == "customers" or c.name == "customer_id"]
        if customers:
            assert output.person_key in customers, f"{name}.{result} names customers but declares no person_key"
        else:
            assert output.person_key is None or output.person_key in output.names, (name, result)


def test_an_output_without_a_person_key_is_refused() -> None:
    with pytest.raises(TypeError, match="person_key"):
        Output((Col("customer_id", "string", "Customer"),), grain="one row per customer", key=("customer_id",))


@pytest.mark.parametrize("name", NAMES)
def test_runs_on_an_empty_store(name, tmp_path) -> None:
    store = Store.open(str(tmp_path / "empty.duckdb"))
    outcome = runner.run(store, name)
    assert outcome.record.status == "skipped" and outcome.record.note
    _declared(registry.get(name), outcome)
    assert all(int(t.count().execute()) == 0 for t in outcome.tables.values())


@pytest.mark.parametrize("name", NAMES)
def test_runs_when_the_data_ends_before_as_of(name, cut_store) -> None:
    outcome = runner.run(cut_store, name, save=False, as_of=date(2026, 6, 30))
    assert outcome.record.status in ("ok", "fallback", "skipped"), outcome.record.note
    _declared(registry.get(name), outcome)


@pytest.mark.parametrize("name", NAMES)
def test_as_of_before_any_data_is_skipped_not_a_traceback(name, cut_store) -> None:
    outcome = runner.run(cut_store, name, save=False, as_of=date(2020, 1, 1))
    assert outcome.record.status == "skipped", outcome.record.note


@pytest.mark.parametrize("name", NAMES)
def test_rows_after_as_of_change_nothing(name, full_store, cut_store) -> None:
    analysis = registry.get(name)
    full = runner.run(full_store, name, as_of=AS_OF)
    cut = runner.run(cut_store, name, as_of=AS_OF)
    assert full.record.status == cut.record.status, (full.record.note, cut.record.note)
    for result, output in analysis.outputs.items():
        left, right = (_sorted(o.tables[result].execute(), output) for o in (full, cut))
        # 1e-6: the engine's float sums may differ in the last bit between two stores, and a model fit carries
        # that into the eighth digit of its parameters; anything a later row could leak would be far larger
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-6, check_dtype=False)


def _sorted(df: pd.DataFrame, output: Output) -> pd.DataFrame:
    return df.sort_values(list(output.key) or output.names).reset_index(drop=True)


@pytest.mark.parametrize("name", NAMES)
def test_kept_results_match_the_declaration(name, full_store) -> None:
    analysis = registry.get(name)
    outcome = runner.run(full_store, name)
    assert outcome.record.status in ("ok", "fallback"), outcome.record.note
    for result, output in analysis.outputs.items():
        stored = full_store.table(analysis.result_table(result)).schema()
        assert {k: type(v).__name__ for k, v in stored.items()} == {
            **{c.name: type(ibis.dtype(TYPES[c.type])).__name__ for c in output.columns},
            "run_id": "String",
        }
        assert results.read(full_store, name, result).count().execute() == outcome.record.row_counts[result]


def _fake(columns: dict) -> Analysis:
    @dataclasses.dataclass(frozen=True)
    class FakeParams(Params):
        analysis_name = "fake"

    out = Output(
        (Col("customer_id", "string", "Customer"), Col("n", "int", "Count")),
        grain="one row per customer",
        key=("customer_id",),
        person_key="customer_id",
    )
    return Analysis(
        "fake",
        "Fake",
        "?",
        ("orders",),
        FakeParams,
        {"fake": out},
        compute=lambda ctx, p: {"fake": ibis.memtable(columns)},
    )


@pytest.mark.parametrize(
    "columns, problem",
    [
        ({"customer_id": ["a"], "n": [1], "extra": [2]}, "undeclared columns extra"),
        ({"customer_id": ["a"]}, "missing declared columns n"),
        ({"customer_id": ["a"], "n": ["x"]}, "declared int"),
    ],
)
def test_an_output_that_differs_from_its_declaration_is_refused(columns, problem) -> None:
    analysis = _fake(columns)
    with pytest.raises(OutputMismatch, match=problem):
        runner.conform(analysis, "fake", analysis.compute(None, None)["fake"])


def test_parameters_are_validated_in_one_place() -> None:
    with pytest.raises(UserInputError, match="window_days must be at least 1"):
        registry.get("rules").params(window_days=-5)
    with pytest.raises(UserInputError, match="by must be one of product, category"):
        registry.get("rules").params(by="prodcut")
    with pytest.raises(UserInputError, match="level must be one of category, product"):
        registry.get("affinity").params(level="nope")
    with pytest.raises(UserInputError, match="has no parameter"):
        runner.make_params(registry.get("offers"), topp=3)


def test_old_runs_are_kept_read_back_and_pruned(tmp_path, company, monkeypatch) -> None:
    store = _store(tmp_path / "runs.duckdb", company)
    first = runner.run(store, "rules", window_days=90).record
    second = runner.run(store, "rules", window_days=365).record
    latest = results.read(store, "rules").execute()
    assert set(latest.window_days) == {365}
    assert set(results.read(store, "rules", run_id=first.run_id).execute().window_days) == {90}
    ad_hoc = runner.run(store, "rules", save=False, window_days=30)
    assert set(ad_hoc["rules"].execute().window_days) == {30}
    assert set(results.read(store, "rules").execute().window_days) == {365}  # not overwritten
    monkeypatch.setenv("SALESINTEL_KEEP_RUNS", "1")
    runner.run(store, "rules", window_days=180)
    listed = results.runs(store, "rules")
    assert listed.kept.sum() == 1 and len(listed) == 3
    assert (listed.seconds == listed.seconds.round(2)).all()  # listed as `analyze` prints them
    with pytest.raises(Exception, match="pruned"):
        results.read(store, "rules", run_id=second.run_id)
    top = results.read(store, "rules", where={"antecedent": latest.antecedent.iloc[0]}, order_by="-lift", limit=2)
    assert int(top.count().execute()) <= 2


def test_a_second_run_keeps_the_first_one_s_rows_readable(tmp_path, company) -> None:
    """Every analysis run twice appends to its result tables: nothing is renamed aside (a declared
    timestamp read back with its precision once did that at every run, and the earlier runs' rows could
    no longer be shown), and each run's rows read back."""
    store = _store(tmp_path / "twice.duckdb", company)
    first = {name: runner.run(store, name, as_of=AS_OF) for name in NAMES}
    second = {name: runner.run(store, name, as_of=AS_OF) for name in NAMES}
    assert not [t for t in store.list_tables() if "__v" in t]
    for name in NAMES:
        analysis = registry.get(name)
        if first[name].record.status not in results.KEPT_STATUSES:
            continue
        for result in analysis.outputs:
            a = results.read(store, name, result=result, run_id=first[name].record.run_id).count().execute()
            b = results.read(store, name, result=result, run_id=second[name].record.run_id).count().execute()
            assert a == b, (name, result)


def test_results_renamed_aside_with_the_same_columns_are_moved_back(tmp_path, company) -> None:
    store = _store(tmp_path / "split.duckdb", company)
    first = runner.run(store, "profiles", as_of=AS_OF).record
    table = registry.get("profiles").result_table("profiles")
    store.engine.execute(f'ALTER TABLE "{table}" RENAME TO "{table}__v1"')  # what an earlier version did
    runner.run(store, "profiles", as_of=AS_OF)
    assert f"{table}__v1" not in store.list_tables()
    assert results.read(store, "profiles", run_id=first.run_id).count().execute() > 0


@pytest.mark.parametrize("kind", sorted(MODEL_CLASSES))
def test_every_model_follows_the_estimator_contract(kind, tmp_path) -> None:
    cls = MODEL_CLASSES[kind]
    model = cls()
    assert not model.is_fitted
    with pytest.raises(NotFitted):
        model.fitted_state()
    data = {
        "BGNBD": ([0, 1, 3, 5, 2, 0, 7], [0, 5, 20, 30, 12, 0, 35], [40] * 7),
        "GammaGamma": ([1, 3, 5, 2, 7], [10.0, 22.0, 15.0, 30.0, 18.0]),
    }[kind]
    assert model.fit(*data) is model
    assert all(name.endswith("_") is False for name in model.get_params())
    loaded = cls.load(model.save(tmp_path / "m.json"))
    assert loaded.fitted_state() == model.fitted_state() and loaded.get_params() == model.get_params()
    assert all(
        isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))
        for v in loaded.fitted_state().values()
    )


def test_decline_reuses_the_clv_fit_instead_of_refitting(full_store, monkeypatch) -> None:
    from salesintel.analyses import decline

    runner.run(full_store, "clv", as_of=datetime(2025, 9, 30).date())
    calls = []
    monkeypatch.setattr(decline, "fit_purchases", lambda *a, **k: calls.append(1))
    outcome = runner.run(full_store, "decline", as_of=datetime(2025, 9, 30).date())
    assert outcome.record.status == "ok" and calls == []


@pytest.mark.parametrize("name", NAMES)
def test_runs_on_a_tiny_store_without_failing(name, tmp_path) -> None:
    """Three customers and six order lines (a new user's first file): ok, fallback or skipped, never failed."""
    store = Store.open(str(tmp_path / "tiny.duckdb"))
    store.append("customers", pa.table({"customer_id": ["C1", "C2", "C3"], "name": ["Ann", "Bo", "Cy"]}))
    store.append(
        "orders",
        pa.table(
            {
                "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
                "line": [1] * 6,
                "customer_id": ["C1", "C1", "C2", "C2", "C3", "C1"],
                "product_id": ["P1", "P2", "P1", "P2", "P1", "P1"],
                "amount": [5.0] * 6,
                "ordered_at": [datetime(2024, m, 1) for m in (1, 3, 2, 5, 6, 7)],
            }
        ),
    )
    outcome = runner.run(store, name)
    assert outcome.record.status in ("ok", "fallback", "skipped"), outcome.record.note


def test_a_run_kept_by_an_older_version_with_other_columns_is_pointed_at(tmp_path, company) -> None:
    store = _store(tmp_path / "older.duckdb", company)
    first = runner.run(store, "profiles", as_of=AS_OF).record
    table = registry.get("profiles").result_table("profiles")
    store.engine.execute(f'ALTER TABLE "{table}" ADD COLUMN "retired" VARCHAR')  # an older version's columns
    runner.run(store, "profiles", as_of=AS_OF)
    with pytest.raises(Exception, match=f"in the table {table}__v1; see it with: salesintel export"):
        results.read(store, "profiles", run_id=first.run_id)
