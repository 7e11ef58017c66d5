"""Basket rules: products bought in the same order. Frequent itemsets of any size (level-wise Apriori), then
rules with one item on the right-hand side, as arules produces them.

support = orders containing the itemset / all orders; confidence = support(lhs + rhs) / support(lhs);
lift = confidence / support(rhs). An itemset is frequent when its order count >= ceil(min_support x orders).

Two paths reach the same itemsets, chosen by size (``method="auto"``), and give identical rules
(``tests/test_basket_miner.py`` checks both against a brute-force oracle, and pyfim):

- **In memory**, for at most :data:`IN_MEMORY_MAX_LINES` (basket, item) lines. The lines are fetched as
  Arrow (a first query fetches up to :data:`PROBE_LINES`, so small data costs one round trip; when there
  are more, a count decides). Baskets and items get integer codes by Arrow dictionary encoding (items
  numbered in sorted order), and :mod:`salesintel.analyses.itemsets` mines them with numpy: Apriori's
  levels with AprioriTid/SETM occurrence lists, every level a few vector operations over all baskets, no
  Python loop over baskets or lines. Memory: about 105 bytes a line at the peak (the fetched strings,
  the codes, the candidate pairs of retail-sized baskets; 1.05 GB measured at 10M lines), so about
  2.6 GB at the threshold. Long baskets with many frequent subsets (dense data) need more: a level's
  candidates are its frequent itemsets' occurrences times the later items of their baskets, and past
  :data:`~salesintel.analyses.itemsets.MAX_OCCURRENCES` of them the miner stops and the engine path runs.
- **In the engine**, above the threshold or with ``method="engine"``: the distinct lines are cached once
  with integer codes for baskets and items; each level is one join and one group-by, its frequent itemsets
  (small) are fetched and their occurrences cached as the next level's input, so no level re-runs an
  earlier one and every query stays the same size. Plain Ibis (tested on DuckDB and PostgreSQL, written
  for Spark too); it spills to disk where the engine does, and takes about 2-3x the in-memory path's
  time on DuckDB at 10M lines (``bench/basket_rules.py``).
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


#: (basket, item) lines up to which the rules are mined in memory (about 105 bytes a line at the peak: 2.6 GB)
IN_MEMORY_MAX_LINES = 25_000_000
#: lines the first query fetches: all of them when there are no more (one round trip), else a count decides
PROBE_LINES = 200_000
METHODS = ("auto", "memory", "engine")


def _min_count(min_support: float, n: int) -> int:
    return max(1, math.ceil(min_support * n - 1e-9))


def _fetch(baskets: ir.Table, method: str) -> pa.Table | None:
    """The (basket, item) lines as Arrow for the in-memory path, or None when they are for the engine."""
    lines = baskets.select("basket", "item")
    if method == "auto":
        probe = lines.limit(PROBE_LINES + 1).to_pyarrow()
        if probe.num_rows <= PROBE_LINES:
            return probe
        del probe  # at most PROBE_LINES fetched in vain
        if int(lines.count().execute()) > IN_MEMORY_MAX_LINES:
            return None
    return lines.to_pyarrow()


def _memory_itemsets(
    baskets: ir.Table, method: str, *, min_support: float, max_len: int
) -> tuple[Itemsets, pa.Array, int] | None:
    """The frequent itemsets mined with numpy from the fetched lines, the item names and the basket count;
    None when the lines are for the engine (too many, or too dense)."""
    coded = _coded(baskets, method)
    if coded is None:
        return None
    basket, item, names, n = coded
    try:
        found = itemsets.mine(basket, item, len(names), min_count=_min_count(min_support, n), max_len=max_len)
    except itemsets.TooDense:
        return None  # dense data: the engine can spill to disk
    return found, names.take(pa.array(found.codes)), n


def _coded(baskets: ir.Table, method: str) -> tuple[np.ndarray, np.ndarray, pa.Array, int] | None:
    """Integer codes of the fetched lines' baskets and items (items numbered in sorted order), the sorted
    item names and the number of baskets; the Arrow table is released before mining."""
    table = _fetch(baskets, method)
    if table is None:
        return None
    if table["basket"].null_count or table["item"].null_count:
        table = table.filter(pc.and_(pc.is_valid(table["basket"]), pc.is_valid(table["item"])))
    basket, baskets_seen = _dictionary_codes(table["basket"])
    item, values = _dictionary_codes(table["item"])
    del table
    names, order = _sorted_names(values)
    rank = np.empty(len(order), np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return basket, rank[item], names.take(pa.array(order)), len(baskets_seen)


def _dictionary_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Integer codes and the distinct values of ``column`` (one hash pass in Arrow)."""
    encoded = pc.dictionary_encode(column)  # one dictionary shared by every chunk
    if not encoded.num_chunks:
        return np.zeros(0, np.int32), pa.array([], column.type)
    codes = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in encoded.chunks])
    return codes, encoded.chunks[0].dictionary


def _sorted_names(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The items as text and the order that sorts them: item codes follow it in both paths, so a rule's
    left side lists its items in the same order whatever the engine's collation."""
    names = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
    return names, pc.array_sort_indices(names).to_numpy()


def _engine_itemsets(baskets: ir.Table, *, min_support: float, max_len: int) -> tuple[Itemsets, pa.Array, int]:
    """The frequent itemsets counted in the engine, level by level, each level's occurrences cached once."""
    with ExitStack() as temp:

        def keep(table: ir.Table) -> ir.Table:
            return temp.enter_context(table.cache())

        lines = baskets.select("basket", "item")
        lines = keep(lines.filter(lines.basket.notnull() & lines.item.notnull()).distinct())
        n = int(lines.basket.nunique().execute())
        min_count = _min_count(min_support, n)
        counts = lines.group_by("item").aggregate(n=lines.count())
        items = counts.filter(counts.n >= min_count).to_pyarrow()
        names, order = _sorted_names(items["item"].combine_chunks())
        found = Itemsets.of_items(np.arange(len(order)), items["n"].to_numpy()[order])
        codes = ibis.memtable({"item": items["item"].take(order), "i": pa.array(range(len(order)), pa.int64())})
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
    return found, names.take(pa.array(order)), n


def frequent_itemsets(
    baskets: ir.Table, *, min_support: float, max_len: int = 10, method: str = "auto"
) -> tuple[Itemsets, pa.Array, int]:
    """The frequent itemsets of ``baskets`` (one row per (basket, item); repeats and nulls are ignored), the
    names of their items (``names[j]`` is item code j, in sorted order) and the number of baskets.

    ``method``: ``"memory"``, ``"engine"`` or ``"auto"`` (in memory up to :data:`IN_MEMORY_MAX_LINES` lines).
    """
    if method not in METHODS:
        raise UserInputError(f"basket rules: method must be one of {', '.join(METHODS)}, not {method!r}")
    if method != "engine":
        found = _memory_itemsets(baskets, method, min_support=min_support, max_len=max_len)
        if found is not None:
            return found
    return _engine_itemsets(baskets, min_support=min_support, max_len=max_len)


def basket_rules(
    baskets: ir.Table,
    *,
    min_support: float = 0.001,
    min_confidence: float = 0.5,
    max_len: int = 10,
    method: str = "auto",
) -> pa.Table:
    """Rules {lhs} => {rhs} (columns :data:`COLUMNS`), sorted by lift, support and confidence (descending),
    then by the names.

    ``baskets`` has columns ``basket`` and ``item``; ``method`` as in :func:`frequent_itemsets`.

    Example:
        >>> t = ibis.memtable({"basket": [1, 1, 2, 2, 3], "item": ["a", "b", "a", "b", "a"]})
        >>> basket_rules(t, min_support=0.5, min_confidence=0.6).to_pylist()[0]["antecedent"]
        'b'
    """
    found, names, n = frequent_itemsets(baskets, min_support=min_support, max_len=max_len, method=method)
    parts = [_rules_of_size(found, size, names, n, min_confidence) for size in range(2, len(found.levels) + 1)]
    table = pa.concat_tables(parts) if parts else SCHEMA.empty_table()
    by = [("lift", "descending"), ("support", "descending"), ("confidence", "descending")]
    return table.sort_by([*by, ("antecedent", "ascending"), ("consequent", "ascending")])


def _rules_of_size(found: Itemsets, size: int, names: pa.Array, n: int, min_confidence: float) -> pa.Table:
    """The rules from the itemsets of ``size`` items: each item (by position ``drop``) as the consequent."""
    level, below = found.levels[size - 1], found.levels[size - 2]
    confidence = level.count[:, None] / below.count[level.subs]  # (itemsets, position of the consequent)
    which, drop = np.nonzero(confidence >= min_confidence - 1e-12)
    members = found.members(size)[which]
    rows = np.arange(len(which))
    lhs = [names.take(pa.array(members[rows, j + (j >= drop)])) for j in range(size - 1)]
    rhs, confidence, count = members[rows, drop], confidence[which, drop], level.count[which]
    return pa.table(
        {
            "antecedent": lhs[0] if size == 2 else pc.binary_join_element_wise(*lhs, ", "),
            "consequent": names.take(pa.array(rhs)),
            "size": np.full(len(which), size, np.int64),
            "orders": count,
            "support": count / n,
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
        python_step=(
            "frequent itemsets mined with numpy from the fetched (order, product) lines when there are at most "
            "IN_MEMORY_MAX_LINES (else counted in the engine, level by level), then rules from their counts"
        ),
    )
)
