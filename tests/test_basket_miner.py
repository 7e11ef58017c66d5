"""Basket rules' two paths (numpy in memory, Ibis in the engine) against each other, a brute-force oracle and
pyfim (Borgelt's C arules, a test-only dependency), on small random baskets and on Groceries."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from datetime import datetime

import ibis
import numpy as np
import pyarrow as pa
import pytest
from conftest import DATA

from salesintel.analyses import basket_rules as br
from salesintel.analyses import itemsets
from salesintel.analyses.basket_rules import COLUMNS, basket_rules, order_baskets
from salesintel.errors import UserInputError

CASES = [  # seed, baskets, items, largest basket, min_support, min_confidence, max_len
    (0, 60, 6, 5, 0.05, 0.3, 10),
    (1, 200, 12, 8, 0.02, 0.2, 10),
    (2, 150, 8, 12, 0.05, 0.0, 3),  # long baskets, every rule, the size cap
    (3, 40, 4, 4, 0.25, 0.5, 2),
    (4, 300, 30, 6, 0.01, 0.5, 10),
]


def random_baskets(seed: int, baskets: int, items: int, largest: int) -> list[tuple[str, str]]:
    """(basket, item) lines with skewed popularity, planted pairs and repeated lines."""
    rng = np.random.default_rng(seed)
    names = [f"i{k:02d}" for k in range(items)]
    weights = 1.0 / np.arange(1, items + 1)
    lines = []
    for b in range(baskets):
        size = int(rng.integers(1, largest + 1))
        chosen = rng.choice(items, size, p=weights / weights.sum())  # with repeats: a line bought twice
        lines += [(f"b{b}", names[i]) for i in chosen]
        if chosen[0] % 2 == 0 and chosen[0] + 1 < items:
            lines.append((f"b{b}", names[chosen[0] + 1]))
    rng.shuffle(lines)  # the in-memory path must not rely on rows arriving grouped by basket
    return lines


def oracle(lines: list[tuple[str, str]], *, min_support: float, min_confidence: float, max_len: int) -> dict:
    """Every subset of every basket counted by brute force; rules as docs/definitions.md defines them."""
    baskets: dict[str, set[str]] = {}
    for b, i in lines:
        baskets.setdefault(b, set()).add(i)
    n = len(baskets)
    min_count = max(1, math.ceil(min_support * n - 1e-9))
    counts = Counter(
        subset
        for items in baskets.values()
        for k in range(1, min(max_len, len(items)) + 1)
        for subset in itertools.combinations(sorted(items), k)
    )
    frequent = {s: c for s, c in counts.items() if c >= min_count}
    rules = {}
    for itemset, count in frequent.items():
        for i, rhs in enumerate(itemset if len(itemset) > 1 else ()):
            lhs = itemset[:i] + itemset[i + 1 :]
            confidence = count / frequent[lhs]
            if confidence >= min_confidence - 1e-12:
                lift = confidence / (frequent[(rhs,)] / n)
                rules[(", ".join(lhs), rhs)] = (len(itemset), count, count / n, confidence, lift)
    return rules


def as_dict(rules: pa.Table) -> dict:
    assert rules.schema.names == COLUMNS
    return {
        (r["antecedent"], r["consequent"]): (r["size"], r["orders"], r["support"], r["confidence"], r["lift"])
        for r in rules.to_pylist()
    }


def orders_of(lines: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "order_id": [b for b, _ in lines],
            "line": list(range(1, len(lines) + 1)),
            "customer_id": ["c1"] * len(lines),
            "product_id": [i for _, i in lines],
            "ordered_at": [datetime(2024, 3, 1)] * len(lines),
            "amount": [1.0] * len(lines),
        }
    )


@pytest.mark.parametrize("case", CASES, ids=[f"seed{c[0]}" for c in CASES])
def test_memory_and_engine_paths_equal_the_brute_force_oracle(store, case) -> None:
    """The engine path runs on every engine of the ``store`` fixture; numbers must agree to the last bit."""
    seed, n_baskets, items, largest, min_support, min_confidence, max_len = case
    lines = random_baskets(seed, n_baskets, items, largest)
    store.append("orders", orders_of(lines))
    baskets = order_baskets(store.table("orders"), as_of=datetime(2024, 12, 31).date())
    want = oracle(lines, min_support=min_support, min_confidence=min_confidence, max_len=max_len)
    assert len(want) > 0
    params = dict(min_support=min_support, min_confidence=min_confidence, max_len=max_len)
    for method in ("memory", "engine", "auto"):
        rules = basket_rules(baskets, method=method, **params)
        assert as_dict(rules) == want, method
        order = [
            (-r["lift"], -r["support"], -r["confidence"], r["antecedent"], r["consequent"]) for r in rules.to_pylist()
        ]
        assert order == sorted(order), f"{method}: not sorted by lift, support, confidence, names"


@pytest.mark.parametrize("case", CASES, ids=[f"seed{c[0]}" for c in CASES])
def test_chunked_sparse_and_dense_counting_agree(monkeypatch, case) -> None:
    """Tiny chunks and a tiny dense limit force every branch of the miner: same rules."""
    seed, n_baskets, items, largest, min_support, min_confidence, max_len = case
    lines = random_baskets(seed, n_baskets, items, largest)
    t = ibis.memtable(pa.table({"basket": [b for b, _ in lines], "item": [i for _, i in lines]}))
    params = dict(min_support=min_support, min_confidence=min_confidence, max_len=max_len, method="memory")
    want = as_dict(basket_rules(t, **params))
    monkeypatch.setattr(itemsets, "CHUNK_ROWS", 7)
    monkeypatch.setattr(itemsets, "DENSE_CELLS", 10)
    assert as_dict(basket_rules(t, **params)) == want


def test_pyfim_finds_the_same_rules_on_random_baskets() -> None:
    fim = pytest.importorskip("fim")
    for seed, n_baskets, items, largest, min_support, min_confidence, max_len in CASES:
        lines = random_baskets(seed, n_baskets, items, largest)
        t = ibis.memtable(pa.table({"basket": [b for b, _ in lines], "item": [i for _, i in lines]}))
        ours = as_dict(basket_rules(t, min_support=min_support, min_confidence=min_confidence, max_len=max_len))
        baskets: dict[str, set[str]] = {}
        for b, i in lines:
            baskets.setdefault(b, set()).add(i)
        n = len(baskets)
        theirs = fim.arules(
            [sorted(s) for s in baskets.values()],
            supp=-max(1, math.ceil(min_support * n - 1e-9)),
            conf=100 * min_confidence,
            zmin=2,
            zmax=max_len,
            report="ab",
            mode="o",
        )
        assert {(", ".join(sorted(body)), head): (a, a / b) for head, body, a, b in theirs} == {
            k: (v[1], v[3]) for k, v in ours.items()
        }, seed


@pytest.fixture(scope="module")
def groceries() -> pa.Table:
    text = (DATA / "groceries.csv").read_text().split("\n")  # never strip items: two end in a space
    lines = [(b, item) for b, line in enumerate(filter(None, text)) for item in line.split(",")]
    return pa.table({"basket": [b for b, _ in lines], "item": [i for _, i in lines]})


@pytest.mark.slow
def test_groceries_engine_path_and_pyfim_equal_the_memory_path(groceries) -> None:
    """arules' 5,668 rules (tests/test_purchase_intelligence.py pins them) by both paths and by pyfim."""
    t = ibis.memtable(groceries)
    memory = as_dict(basket_rules(t, min_support=0.001, min_confidence=0.5, method="memory"))
    assert len(memory) == 5668
    assert as_dict(basket_rules(t, min_support=0.001, min_confidence=0.5, method="engine")) == memory
    fim = pytest.importorskip("fim")
    transactions = [line.split(",") for line in filter(None, (DATA / "groceries.csv").read_text().split("\n"))]
    theirs = fim.arules(transactions, supp=-10, conf=50, zmin=2, zmax=10, report="abl", mode="o")
    assert {(", ".join(sorted(body)), head) for head, body, *_ in theirs} == memory.keys()
    for head, body, a, b, lift in theirs:
        size, count, support, confidence, our_lift = memory[(", ".join(sorted(body)), head)]
        assert (size, count, confidence) == (len(body) + 1, a, a / b) and our_lift == pytest.approx(lift, rel=1e-12)


def test_auto_takes_the_engine_above_the_size_threshold(monkeypatch, groceries) -> None:
    calls = []
    engine = br._engine_itemsets
    monkeypatch.setattr(br, "_engine_itemsets", lambda *a, **k: calls.append("engine") or engine(*a, **k))
    t = ibis.memtable(groceries)
    small = basket_rules(t, min_support=0.01, min_confidence=0.3)  # one probe fetches every line
    assert calls == []
    monkeypatch.setattr(br, "PROBE_LINES", 1000)  # more lines than the probe: a count decides
    assert basket_rules(t, min_support=0.01, min_confidence=0.3) == small and calls == []
    monkeypatch.setattr(br, "IN_MEMORY_MAX_LINES", groceries.num_rows - 1)
    assert basket_rules(t, min_support=0.01, min_confidence=0.3) == small and calls == ["engine"]


def test_dense_data_falls_back_to_the_engine(monkeypatch, groceries) -> None:
    """Past MAX_OCCURRENCES in one level the miner stops; auto mines in the engine, with the same rules."""
    t = ibis.memtable(groceries)
    want = basket_rules(t, min_support=0.005, min_confidence=0.3)
    monkeypatch.setattr(itemsets, "MAX_OCCURRENCES", 1000)
    with pytest.raises(itemsets.TooDense):
        itemsets.mine(np.repeat(np.arange(100), 10), np.tile(np.arange(10), 100), 10, min_count=1, max_len=10)
    assert basket_rules(t, min_support=0.005, min_confidence=0.3) == want


def test_null_lines_integer_items_and_empty_input() -> None:
    t = ibis.memtable(
        pa.table({"basket": [1, 1, 2, 2, 3, None, 3], "item": [7, 8, 7, 8, 7, 8, None]}),
    )
    for method in ("memory", "engine"):
        rules = basket_rules(t, min_support=0.5, min_confidence=0.7, method=method).to_pylist()
        assert [(r["antecedent"], r["consequent"], r["orders"]) for r in rules] == [("8", "7", 2)]
        empty = basket_rules(t.filter(t.basket > 10), min_support=0.5, method=method)
        assert empty.num_rows == 0 and empty.schema == br.SCHEMA


def test_an_unknown_method_names_the_choices() -> None:
    t = ibis.memtable({"basket": [1], "item": ["a"]})
    with pytest.raises(UserInputError, match="auto, memory, engine"):
        basket_rules(t, method="fast")
