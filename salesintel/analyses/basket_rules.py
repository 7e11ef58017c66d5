"""Basket rules: products bought in the same order. Frequent itemsets of any size (level-wise Apriori, each
level one engine join), then rules with one item on the right-hand side, as arules produces them.

support = orders containing the itemset / all orders; confidence = support(lhs + rhs) / support(lhs);
lift = confidence / support(rhs). An itemset is frequent when its order count >= ceil(min_support x orders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import pyarrow as pa

from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.analyses.timeline import orders_until
from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")
pd = lazy("pandas")

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


def frequent_itemsets(baskets: ir.Table, *, min_count: int, max_len: int = 10) -> pd.DataFrame:
    """``itemset`` (sorted tuple) and ``count`` of every itemset in at least ``min_count`` baskets.

    ``baskets`` has one row per (basket, item); duplicates are ignored.
    """
    items = baskets.select("basket", "item").distinct()
    counts = items.group_by("item").aggregate(n=items.count())
    frequent = counts.filter(counts.n >= min_count)
    occ = items.semi_join(frequent, "item").select("basket", i1=items.item)
    found = [frequent.execute().rename(columns={"item": "i1"})]
    level = 1
    while level < max_len:
        cols = [f"i{k}" for k in range(1, level + 1)]
        nxt = f"i{level + 1}"
        ext = occ.join(
            items.select("basket", **{nxt: items.item}).semi_join(frequent.select(**{nxt: frequent.item}), nxt),
            "basket",
        )
        ext = ext.filter(ext[nxt] > ext[f"i{level}"])
        cnt = ext.group_by([*cols, nxt]).aggregate(n=ext.count())
        cnt = cnt.filter(cnt.n >= min_count)
        result = cnt.execute()
        if result.empty:
            break
        found.append(result)
        level += 1
        keep = ibis.memtable(result[[*cols, nxt]])
        occ = ext.semi_join(keep, [*cols, nxt]).select("basket", *cols, nxt)
    rows = []
    for df in found:
        item_cols = sorted([c for c in df.columns if c.startswith("i")], key=lambda c: int(c[1:]))
        rows.append(pd.DataFrame({"itemset": list(map(tuple, df[item_cols].to_numpy())), "count": df.n.to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def basket_rules(
    baskets: ir.Table, *, min_support: float = 0.001, min_confidence: float = 0.5, max_len: int = 10
) -> pa.Table:
    """Rules {lhs} => {rhs} (columns :data:`COLUMNS`), sorted by lift.

    Example:
        >>> t = ibis.memtable({"basket": [1, 1, 2, 2, 3], "item": ["a", "b", "a", "b", "a"]})
        >>> basket_rules(t, min_support=0.5, min_confidence=0.6).to_pylist()[0]["antecedent"]
        'b'
    """
    n = int(baskets.basket.nunique().execute())
    min_count = max(1, math.ceil(min_support * n - 1e-9))
    itemsets = frequent_itemsets(baskets, min_count=min_count, max_len=max_len)
    support = dict(zip(itemsets.itemset, itemsets["count"]))
    rows = []
    for itemset, count in support.items():
        if len(itemset) < 2:
            continue
        for i, rhs in enumerate(itemset):
            lhs = itemset[:i] + itemset[i + 1 :]
            confidence = count / support[lhs]
            if confidence >= min_confidence - 1e-12:
                rows.append(
                    (
                        ", ".join(lhs),
                        rhs,
                        len(itemset),
                        count,
                        count / n,
                        confidence,
                        confidence / (support[(rhs,)] / n),
                    )
                )
    df = pd.DataFrame(rows, columns=COLUMNS).sort_values(["lift", "support"], ascending=False)
    return pa.Table.from_pandas(df.reset_index(drop=True), schema=SCHEMA, preserve_index=False)


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
