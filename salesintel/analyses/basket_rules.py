"""Basket rules: products bought in the same order. Frequent itemsets of any size (level-wise Apriori), then
rules with one item on the right-hand side, as arules produces them.

support = orders containing the itemset / all orders; confidence = support(lhs + rhs) / support(lhs);
lift = confidence / support(rhs). An itemset is frequent when its order count >= ceil(min_support x orders).

Two paths reach the same itemsets, chosen by size (``method="auto"``); both give identical rules
(``tests/test_basket_miner.py`` checks them against each other and a brute-force oracle):

- **In memory**, for at most :data:`IN_MEMORY_MAX_LINES` (basket, item) lines: one query fetches the lines
  as Arrow, baskets and items get integer codes (Arrow dictionary encoding, items numbered in sorted order)
  and :mod:`salesintel.analyses.itemsets` mines them with numpy: Apriori with AprioriTid's per-basket
  occurrence lists, every level a handful of vector operations over all baskets, no Python loop over
  baskets or lines. Peak memory is about 100 bytes a line (the Arrow strings, the codes, the pair
  candidates of sparse retail baskets); long baskets with many frequent subsets (dense data) need more,
  and past :data:`~salesintel.analyses.itemsets.MAX_OCCURRENCES` occurrences in one level the miner
  stops and the engine path runs instead. Two engine round trips in all, which on small data (Groceries:
  9,835 baskets) is most of the time.
- **In the engine** (more lines, or ``method="engine"``): the distinct lines with integer codes for
  baskets and items are cached once as an engine table; each level is one join and one group-by in the
  engine, its frequent itemsets (small) are fetched and their occurrences cached as the next level's
  input, so no level re-runs an earlier one and every query stays the same size. Runs on DuckDB,
  PostgreSQL and Spark, and spills to disk where the engine does.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from salesintel.analyses import itemsets
from salesintel.analyses.itemsets import Itemsets
from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.analyses.timeline import orders_until
from salesintel.errors import UserInputError
from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")

SCHEMA = pa.schema(
    [
        ("antecedent", pa.string()),
        ("consequent", pa.string()),
        ("size", pa.int64()),
        ("orders", pa.int64()),
        ("support", pa.float64()),
        ("confidence", pa.float64()),
        ("lift", pa.float64()),
    ]
)
COLUMNS = SCHEMA.names


@dataclass(frozen=True)
class BasketParams(Params):
    analysis_name: ClassVar[str] = "basket_rules"
    min_support: float = param(
        0.001, "Minimum share of orders that contain the whole itemset.", gt=0, le=1, label="in at least {} of orders"
    )
    min_confidence: float = param(
        0.5,
        "Minimum share of orders with the left side that also have the right.",
        ge=0,
        le=1,
        label="confidence at least {}",
    )
    max_len: int = param(10, "Largest itemset (left side plus right side).", ge=2, le=20, label="up to {} items")


COLUMN_DECLS = (
    Col("antecedent", "string", "Bought together (left side, comma-separated)"),
    Col("consequent", "string", "Also in the order (right side)", refers="products"),
    Col("size", "int", "Items in the rule", "count"),
    Col("orders", "int", "Orders with every item", "count"),
    Col("support", "float", "Share of orders with every item", "percent"),
    Col("confidence", "float", "Share of orders with the left side that have the right side", "percent"),
    Col("lift", "float", "Lift (confidence / share of orders with the right side)", "ratio"),
)


#: (basket, item) lines up to which the rules are mined in memory (about 100 bytes a line at peak: 2.5 GB)
IN_MEMORY_MAX_LINES = 25_000_000
METHODS = ("auto", "memory", "engine")


def _min_count(min_support: float, n: int) -> int:
    return max(1, math.ceil(min_support * n - 1e-9))


def _lines(baskets: ir.Table) -> ir.Table:
    lines = baskets.select("basket", item=baskets.item.cast("string"))
    return lines.filter(lines.basket.notnull() & lines.item.notnull())


def _memory_itemsets(lines: ir.Table, *, min_support: float, max_len: int) -> tuple[Itemsets, pa.Array, int]:
    """The frequent itemsets mined with numpy from the fetched lines, the item names and the basket count."""
    table = lines.to_pyarrow()
    basket, _ = _dictionary_codes(table["basket"])
    item, names = _dictionary_codes(table["item"])
    order = pc.array_sort_indices(names).to_numpy()  # items numbered in sorted order, as the engine's codes
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    n = len(np.unique(basket))
    found = itemsets.mine(basket, rank[item], len(order), min_count=_min_count(min_support, n), max_len=max_len)
    return found, names.take(pa.array(order[found.codes])), n


def _dictionary_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Integer codes and the distinct values of ``column`` (one hash pass in Arrow)."""
    encoded = pc.dictionary_encode(column)  # one dictionary shared by every chunk
    if not encoded.num_chunks:
        return np.zeros(0, np.int64), column.type and pa.array([], column.type)
    codes = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in encoded.chunks])
    return codes.astype(np.int64, copy=False), encoded.chunks[0].dictionary


def _engine_itemsets(lines: ir.Table, *, min_support: float, max_len: int) -> tuple[Itemsets, pa.Array, int]:
    """The frequent itemsets counted in the engine, level by level, each level's occurrences cached once."""
    with ExitStack() as temp:

        def keep(table: ir.Table) -> ir.Table:
            return temp.enter_context(table.cache())

        lines = keep(lines.distinct())
        n = int(lines.basket.nunique().execute())
        min_count = _min_count(min_support, n)
        counts = lines.group_by("item").aggregate(n=lines.count())
        items = counts.filter(counts.n >= min_count).to_pyarrow().sort_by("item")
        found = Itemsets.of_items(np.arange(items.num_rows), items["n"].to_numpy())
        codes = ibis.memtable(pa.table({"item": items["item"], "i": pa.array(range(items.num_rows), pa.int64())}))
        basket_codes = lines.select("basket").distinct().mutate(b=ibis.row_number())
        coded = lines.join(codes, "item").join(basket_codes, "basket").select("b", "i")
        coded = keep(coded.order_by("b"))
        occ = coded.select("b", s=coded.i, last=coded.i)
        while found.levels[-1].size < max_len:
            ext = occ.join(coded, "b")
            ext = ext.filter(ext.i > ext["last"]).select("b", "s", new=ext.i)
            level = ext.group_by(["s", "new"]).aggregate(n=ext.count())
            level = level.filter(level.n >= min_count)
            level = keep(level.mutate(id=ibis.row_number().over(order_by=[level.s, level.new])))
            got = level.select("s", "new", "n").order_by(["s", "new"]).to_pyarrow()
            if not got.num_rows:
                break
            found.add(got["s"].to_numpy() * found.items + got["new"].to_numpy(), got["n"].to_numpy())
            if found.levels[-1].size < max_len:
                nxt = ext.join(level, ["s", "new"])
                occ = keep(nxt.select("b", s=nxt.id, last=nxt.new))
    return found, items["item"].combine_chunks(), n


def frequent_itemsets(
    baskets: ir.Table, *, min_support: float, max_len: int = 10, method: str = "auto"
) -> tuple[Itemsets, pa.Array, int]:
    """The frequent itemsets of ``baskets`` (one row per (basket, item); repeats are ignored), the names of
    their items (``names[j]`` is item code j, in sorted order) and the number of baskets.

    ``method``: ``"memory"``, ``"engine"`` or ``"auto"`` (in memory up to :data:`IN_MEMORY_MAX_LINES` lines).
    """
    if method not in METHODS:
        raise UserInputError(f"basket rules: method must be one of {', '.join(METHODS)}, not {method!r}")
    lines = _lines(baskets)
    if method == "auto":
        method = "memory" if int(lines.count().execute()) <= IN_MEMORY_MAX_LINES else "engine"
    if method == "memory":
        try:
            return _memory_itemsets(lines, min_support=min_support, max_len=max_len)
        except itemsets.TooDense:
            pass  # dense data: the engine can spill to disk
    return _engine_itemsets(lines, min_support=min_support, max_len=max_len)


def basket_rules(
    baskets: ir.Table,
    *,
    min_support: float = 0.001,
    min_confidence: float = 0.5,
    max_len: int = 10,
    method: str = "auto",
) -> pa.Table:
    """Rules {lhs} => {rhs} (columns :data:`COLUMNS`), sorted by lift, then support, then the names.

    ``baskets`` has columns ``basket`` and ``item``; ``method`` as in :func:`frequent_itemsets`.

    Example:
        >>> t = ibis.memtable({"basket": [1, 1, 2, 2, 3], "item": ["a", "b", "a", "b", "a"]})
        >>> basket_rules(t, min_support=0.5, min_confidence=0.6).to_pylist()[0]["antecedent"]
        'b'
    """
    found, names, n = frequent_itemsets(baskets, min_support=min_support, max_len=max_len, method=method)
    parts = [
        part
        for size in range(2, len(found.levels) + 1)
        for drop in range(size)
        if (part := _rules_without(found, size, drop, names, n, min_confidence)) is not None
    ]
    table = pa.concat_tables(parts) if parts else SCHEMA.empty_table()
    keys = [("lift", "descending"), ("support", "descending"), ("antecedent", "ascending"), ("consequent", "ascending")]
    return table.sort_by(keys)


def _rules_without(
    found: Itemsets, size: int, drop: int, names: pa.Array, n: int, min_confidence: float
) -> pa.Table | None:
    """The rules whose consequent is item ``drop`` (by position) of an itemset of ``size`` items."""
    level, below = found.levels[size - 1], found.levels[size - 2]
    confidence = level.count / below.count[level.subs[:, drop]]
    ok = np.flatnonzero(confidence >= min_confidence - 1e-12)
    if not len(ok):
        return None
    members = found.members(size)[ok]
    lhs = [names.take(pa.array(members[:, j])) for j in range(size) if j != drop]
    rhs = members[:, drop]
    confidence = confidence[ok]
    return pa.table(
        {
            "antecedent": lhs[0] if len(lhs) == 1 else pc.binary_join_element_wise(*lhs, ", "),
            "consequent": names.take(pa.array(rhs)),
            "size": np.full(len(ok), size, np.int64),
            "orders": level.count[ok],
            "support": level.count[ok] / n,
            "confidence": confidence,
            "lift": confidence / (found.levels[0].count[rhs] / n),
        },
        schema=SCHEMA,
    )


def order_baskets(orders: ir.Table, *, as_of: date) -> ir.Table:
    o = orders_until(orders, as_of)
    o = o.filter(o.amount > 0)
    return o.select(basket=o.order_id, item=o.product_id)


def _compute(ctx, params: BasketParams) -> dict:
    baskets = order_baskets(ctx.table("orders"), as_of=params.as_of)
    return {
        "basket_rules": basket_rules(
            baskets, min_support=params.min_support, min_confidence=params.min_confidence, max_len=params.max_len
        )
    }


BASKETS = register(
    Analysis(
        name="basket_rules",
        title="Bought together (same order)",
        question="Which products are bought in the same order, more often than chance?",
        inputs=("orders",),
        params=BasketParams,
        outputs={
            "basket_rules": Output(
                COLUMN_DECLS,
                grain="one row per rule {left side} => {right side}",
                key=("antecedent", "consequent"),
                person_key=None,
                sort=("lift", True),
            )
        },
        compute=_compute,
        python_step="rules from the frequent itemsets' counts",
    )
)
