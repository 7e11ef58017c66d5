"""Frequent itemsets of integer-coded baskets, mined in memory with numpy: the path
:mod:`salesintel.analyses.basket_rules` takes for data that fits in memory (its engine path builds the same
:class:`Itemsets` with SQL).

The search is Apriori's, level by level (Agrawal and Srikant, "Fast algorithms for mining association
rules", VLDB 1994), with candidates generated and counted as SETM does it in SQL (Houtsma and Swami,
"Set-oriented mining for association rules in relational databases", ICDE 1995) and AprioriTid keeps them:
level k keeps, for every basket, where each of its frequent k-itemsets ends (the position of the itemset's
last item among the basket's sorted lines). The (k+1)-candidates of a basket are those itemsets extended
by each later item of the same basket, so only candidates that occur are generated, and one ``bincount``
(a sort when the key space is large) counts them all. Apriori's subset prune is left out: it never changes
the result (an itemset is never in more baskets than its subsets, so the count rejects what the prune
would) and its lookups cost more than counting the candidates it removes (measured on Groceries). Every
step is a numpy operation over all baskets at once; the only Python loops run over levels, subset
positions of new itemsets and chunks of :data:`CHUNK_ROWS` candidates.

An itemset of k items is stored as (parent, last): the id among the (k-1)-itemsets of the itemset without
its last (largest) item, and that item. Ids follow ``parent * items + last``, so each level's keys are
sorted and a lookup is one gather from a dense table (or one ``searchsorted`` in a large key space).

Memory: 24 bytes per line while sorting and deduplicating them, 8 per line kept, 8 per candidate
occurrence (its key and position), and temporaries for at most :data:`CHUNK_ROWS` candidates at a time.
The candidates of a level are the occurrences of its frequent itemsets times the later items of their
baskets: small for retail baskets, large for long baskets in which many itemsets are frequent (dense
data). Past :data:`MAX_OCCURRENCES` candidates in one level :func:`mine` raises :class:`TooDense`.

>>> found = mine(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 0]), 2, min_count=2, max_len=3)
>>> [found.members(k).tolist() for k in (1, 2)], found.levels[1].count.tolist()
([[[0], [1]], [[0, 1]]], [2])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

#: candidate rows generated at a time (about 20 bytes of temporaries each)
CHUNK_ROWS = 1 << 24
#: candidate occurrences of one level (8 bytes each, 800 MB) above which the miner gives up
MAX_OCCURRENCES = 100_000_000
#: a key space up to this size is looked up and counted in dense arrays (12 bytes per cell), above it sorted
DENSE_CELLS = 1 << 24

__all__ = ["CHUNK_ROWS", "DENSE_CELLS", "MAX_OCCURRENCES", "Itemsets", "Level", "TooDense", "mine"]


class TooDense(MemoryError):
    """One level would have more than :data:`MAX_OCCURRENCES` candidates: mine in the engine instead."""


@dataclass(frozen=True)
class Level:
    """The frequent itemsets of one size, in id order."""

    parent: np.ndarray  # int64: id at the level below of the itemset without its last item (0 at level 1)
    last: np.ndarray  # int64: the last (largest) item code
    count: np.ndarray  # int64: baskets that contain the itemset
    key: np.ndarray  # int64: parent * items + last, ascending
    subs: np.ndarray  # int64 (itemsets, size): id at the level below of the itemset without its i-th item
    cells: int  # the key space: itemsets at the level below x items

    @property
    def size(self) -> int:
        return self.subs.shape[1]

    def __len__(self) -> int:
        return len(self.key)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The ids of ``keys`` (``parent * items + last``), -1 where there is no such itemset."""
        if self._ids is not None:
            return self._ids[keys]
        at = np.minimum(np.searchsorted(self.key, keys), len(self.key) - 1)
        return np.where(self.key[at] == keys, at, -1)

    @cached_property
    def _ids(self) -> np.ndarray | None:
        if self.cells > DENSE_CELLS:
            return None
        ids = np.full(self.cells, -1, np.int32)
        ids[self.key] = np.arange(len(self.key), dtype=np.int32)
        return ids


@dataclass
class Itemsets:
    """Frequent itemsets of every size: ``levels[k - 1]`` holds those of k items, over items ``0 .. items-1``
    (``codes[j]`` is the input code of item j)."""

    codes: np.ndarray
    levels: list[Level]

    @classmethod
    def of_items(cls, codes: np.ndarray, count: np.ndarray) -> Itemsets:
        """Level 1 only: the frequent items (their input ``codes``, ascending) and their basket counts."""
        m = len(codes)
        last = np.arange(m, dtype=np.int64)
        level = Level(np.zeros(m, np.int64), last, count.astype(np.int64), last, np.zeros((m, 1), np.int64), m)
        return cls(np.asarray(codes), [level])

    @property
    def items(self) -> int:
        return len(self.codes)

    def add(self, keys: np.ndarray, count: np.ndarray) -> Level:
        """Append the next level from its itemsets' ascending keys (``parent * items + last``) and counts."""
        below = self.levels[-1]
        keys = keys.astype(np.int64)
        parent, last = np.divmod(keys, self.items)
        subs = np.empty((len(keys), below.size + 1), np.int64)
        subs[:, below.size] = parent
        for i in range(below.size):  # without item i (< last): (parent without i) + last, one level down
            subs[:, i] = below.find(below.subs[parent, i] * self.items + last)
        level = Level(parent, last, count.astype(np.int64), keys, subs, len(below) * self.items)
        self.levels.append(level)
        return level

    def members(self, size: int) -> np.ndarray:
        """The item codes of every itemset of ``size`` items, ascending within each row."""
        level = self.levels[size - 1]
        if size == 1:
            return level.last[:, None]
        return np.column_stack([self.members(size - 1)[level.parent], level.last])


def mine(basket: np.ndarray, item: np.ndarray, items: int, *, min_count: int, max_len: int) -> Itemsets:
    """Every itemset of up to ``max_len`` items that occurs in at least ``min_count`` baskets.

    ``basket`` and ``item`` are integer codes, one pair per line (repeats allowed), items ``0 .. items-1``.
    """
    basket, item, codes, count = _frequent_lines(basket, item, items, min_count=min_count)
    found = Itemsets.of_items(codes, count)
    later = _later(basket)
    occ_id, pos = item, np.arange(len(item), dtype=later.dtype)
    while found.levels[-1].size < max_len and len(occ_id):
        keys, pos = _candidates(found, occ_id, pos, item, later)
        occ_id, pos = _count(found, keys, pos, min_count)
    return found


def _frequent_lines(
    basket: np.ndarray, item: np.ndarray, items: int, *, min_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct lines of frequent items sorted by (basket, item), the items recoded ``0 .. m-1`` in the
    same order (int32); the frequent items' input codes and their basket counts."""
    bits = max(1, (items - 1).bit_length())
    line = basket.astype(np.int64)  # (basket, item) as one integer: a single sort orders and dedupes them
    line <<= bits
    line |= item
    line.sort()
    first = np.ones(len(line), bool)
    np.not_equal(line[1:], line[:-1], out=first[1:])
    line = line[first]
    item = (line & ((1 << bits) - 1)).astype(np.int32)
    count = np.bincount(item, minlength=items)
    frequent = count >= min_count
    keep = frequent[item]
    code = (np.cumsum(frequent) - 1).astype(np.int32)
    return (line >> bits)[keep], code[item[keep]], np.flatnonzero(frequent), count[frequent]


def _later(basket: np.ndarray) -> np.ndarray:
    """For each line (sorted by basket), how many lines of its basket follow it."""
    index = np.int32 if len(basket) < np.iinfo(np.int32).max else np.int64
    starts = np.flatnonzero(np.r_[True, basket[1:] != basket[:-1]]) if len(basket) else np.zeros(0, np.int64)
    lengths = np.diff(np.r_[starts, len(basket)])
    ends = np.repeat((starts + lengths).astype(index), lengths)
    return ends - np.arange(len(basket), dtype=index) - 1


def _key_type(cells: int) -> type:
    return np.int32 if cells < np.iinfo(np.int32).max else np.int64


def _candidates(
    found: Itemsets, occ_id: np.ndarray, pos: np.ndarray, item: np.ndarray, later: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate keys (``itemset id * items + new item``) of every occurrence extended by each later item of
    its basket, and the positions of the new items."""
    key_type = _key_type(len(found.levels[-1]) * found.items)
    run = later[pos]
    ends = np.cumsum(run, dtype=np.int64)
    scaled = occ_id.astype(key_type) * key_type(found.items)
    total = int(ends[-1]) if len(ends) else 0
    keys, new_pos = np.empty(total, key_type), np.empty(total, pos.dtype)
    for lo, hi in _chunks(ends):
        n, a, b = run[lo:hi], int(ends[lo] - run[lo]) if hi > lo else 0, int(ends[hi - 1]) if hi > lo else 0
        # the new item's position: the occurrence's own position + 1, then + 0, 1, ... along its run
        new_pos[a:b] = np.repeat(pos[lo:hi] + 1 - (ends[lo:hi] - n - a).astype(pos.dtype), n)
        new_pos[a:b] += np.arange(b - a, dtype=pos.dtype)
        keys[a:b] = np.repeat(scaled[lo:hi], n)
        keys[a:b] += item[new_pos[a:b]]
    return keys, new_pos


def _chunks(ends: np.ndarray) -> list[tuple[int, int]]:
    """(lo, hi) slices of the occurrences, each generating at most about :data:`CHUNK_ROWS` candidates
    (``ends``: the running total of candidates); past :data:`MAX_OCCURRENCES` in all, :class:`TooDense`."""
    total = int(ends[-1]) if len(ends) else 0
    if total > MAX_OCCURRENCES:
        raise TooDense(f"{total:,} candidate occurrences in one level (at most {MAX_OCCURRENCES:,} in memory)")
    if total <= CHUNK_ROWS:
        return [(0, len(ends))]
    cuts = np.searchsorted(ends, np.arange(CHUNK_ROWS, total, CHUNK_ROWS), side="right")
    bounds = np.unique(np.r_[0, cuts, len(ends)]).tolist()
    return list(zip(bounds[:-1], bounds[1:]))


def _count(found: Itemsets, keys: np.ndarray, pos: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Count the candidates, add the frequent ones as the next level, and return their occurrences."""
    cells = len(found.levels[-1]) * found.items
    if cells <= DENSE_CELLS:
        counts = np.bincount(keys, minlength=cells)
        frequent = np.flatnonzero(counts >= min_count)
        counts = counts[frequent]
    else:
        frequent, counts = np.unique(keys, return_counts=True)
        frequent, counts = frequent[counts >= min_count], counts[counts >= min_count]
    if not len(frequent):
        return np.zeros(0, np.int32), pos[:0]
    row_id = found.add(frequent, counts).find(keys)
    keep = row_id >= 0
    return row_id[keep], pos[keep]
