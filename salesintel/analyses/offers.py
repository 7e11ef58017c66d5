"""Next-best offers: per customer, up to K products they do not own, ranked by expected value now.

Cross-sell: for every significant sequential rule A -> B (p < max_p_value, lift >= min_lift) and a customer who
owns A but not B, the chance now is the rule's confidence times the share of the window still ahead
(at least 10%: a late buyer is still a candidate), times B's list price. Upsell: a customer's highest
tier in a category, the next tier's product, at the share of same-tier owners who moved up within the
window (censored: only owners with a full window count).
Every offer carries a reason a rep can say; customers who opted out of all contact are scored but marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import pyarrow as pa

from salesintel.analyses.registry import register
from salesintel.analyses.sequential_rules import first_purchases, sequential_rules
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.analyses.timeline import days_between
from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")

COLUMNS = [
    "customer_id",
    "rank",
    "product_id",
    "product_name",
    "kind",
    "probability",
    "expected_value",
    "reason",
    "contact_ok",
]


@dataclass(frozen=True)
class OfferParams(Params):
    analysis_name: ClassVar[str] = "offers"
    top: int = param(3, "Offers per customer.", ge=1, le=50, label="{} offers per customer")
    window_days: int = param(
        180, "Cross-sell rules: B follows A within this many days.", ge=1, label="rules within {} days"
    )
    min_lift: float = param(1.5, "Cross-sell rules need at least this lift.", ge=0, label="lift at least {}")
    max_p_value: float = param(0.01, "Cross-sell rules need a p-value below this.", gt=0, le=1, label="p below {}")


COLUMN_DECLS = (
    Col("customer_id", "string", "Customer", refers="customers"),
    Col("rank", "int", "Rank for the customer"),
    Col("product_id", "string", "Product to offer", refers="products"),
    Col("product_name", "string", "Product name"),
    Col("kind", "string", "cross-sell or upsell"),
    Col("probability", "float", "Chance they buy it now", "percent"),
    Col("expected_value", "float", "Expected value (chance x list price)", "money"),
    Col("reason", "string", "What the rep can say", "text"),
    Col("contact_ok", "bool", "May be contacted (e-mail or phone opt-in)"),
)


def _pct(x: ir.NumericValue) -> ir.StringValue:
    return (x * 100).round().cast("int64").cast("string") + "%"


def _one_decimal(x: ir.NumericValue) -> ir.StringValue:
    """``x`` as text with exactly one decimal ("2.0"), the same on every engine (no float-to-text cast)."""
    tenths = (x * 10).round().cast("int64")
    return (tenths // 10).cast("string") + "." + (tenths % 10).cast("string")


def cross_sell(owned: ir.Table, rules: ir.Table, products: ir.Table, *, as_of: date, window_days: int) -> ir.Table:
    cand = owned.join(rules, owned.item == rules.antecedent)
    cand = cand.mutate(days=days_between(ibis.literal(as_of), cand.first_on))
    ahead = ibis.greatest(ibis.literal(0.1), 1 - cand.days.cast("float64") / window_days)
    names = products.select("product_id", "name", "price")
    a_names = names.rename(a_name="name", a_id="product_id", a_price="price")
    cand = cand.join(a_names, cand.antecedent == a_names.a_id)
    cand = cand.join(names, cand.consequent == names.product_id)
    prob = cand.confidence * ahead
    reason = (
        "bought "
        + cand.a_name
        + " "
        + cand.days.cast("string")
        + " days ago; "
        + _pct(cand.confidence)
        + " of buyers add "
        + cand.name
        + " within "
        + str(window_days)
        + " days, "
        + _one_decimal(cand.lift)
        + "x the usual rate"
    )
    return cand.select(
        "customer_id",
        product_id=cand.consequent,
        product_name=cand.name,
        kind=ibis.literal("cross-sell"),
        probability=prob,
        expected_value=prob * cand.price.fill_null(0),
        reason=reason,
    )


def upsell_rates(mine: ir.Table, *, as_of: date, window_days: int) -> ir.Table:
    """Per category and tier t: ``rate``, the share of customers who first reached tier t at least
    ``window_days`` before ``as_of`` (a full window: right-censoring) and did not own tier t+1 by then, who
    first bought tier t+1 within ``window_days``. ``mine`` has customer_id, category, tier, first_on."""
    firsts = mine.group_by("customer_id", "category", "tier").aggregate(first=mine.first_on.min())
    base = firsts.filter(firsts["first"] <= ibis.literal(as_of - timedelta(days=window_days)))
    nxt = firsts.select(c2=firsts.customer_id, cat2=firsts.category, up_tier=firsts.tier, up_first=firsts["first"])
    j = base.left_join(nxt, [base.customer_id == nxt.c2, base.category == nxt.cat2, nxt.up_tier == base.tier + 1])
    lag = days_between(j.up_first, j["first"])
    owned_before = j.up_first.notnull() & (lag <= 0)
    hit = j.up_first.notnull() & (lag > 0) & (lag <= window_days)
    agg = j.group_by("category", "tier").aggregate(owners=(~owned_before).sum(), up=hit.sum())
    agg = agg.filter(agg.owners > 0)
    return agg.select("category", "tier", rate=agg.up.cast("float64") / agg.owners.cast("float64"))


def upsell(owned: ir.Table, products: ir.Table, *, as_of: date, window_days: int) -> ir.Table:
    p = products.filter(products.tier.notnull() & products.category.notnull())
    mine = owned.join(p.select("product_id", "category", "tier"), owned.item == p.product_id)
    top = mine.group_by("customer_id", "category").aggregate(tier=mine.tier.max())
    rates = upsell_rates(mine, as_of=as_of, window_days=window_days)
    nxt = p.select("category", next_id=p.product_id, next_name=p.name, next_price=p.price, next_tier=p.tier)
    cand = top.join(nxt, [top.category == nxt.category, nxt.next_tier == top.tier + 1]).join(
        rates, ["category", "tier"]
    )
    reason = (
        "owns tier "
        + cand.tier.cast("string")
        + " "
        + cand.category
        + "; "
        + _pct(cand.rate)
        + " of such owners move up to "
        + cand.next_name
        + " within "
        + str(window_days)
        + " days"
    )
    return cand.select(
        "customer_id",
        product_id=cand.next_id,
        product_name=cand.next_name,
        kind=ibis.literal("upsell"),
        probability=cand.rate,
        expected_value=cand.rate * cand.next_price.fill_null(0),
        reason=reason,
    )


def next_best_offers(
    orders: ir.Table,
    products: ir.Table,
    customers: ir.Table,
    rules: ir.Table,
    *,
    as_of: date,
    window_days: int = 180,
    top: int = 3,
) -> ir.Table:
    """One row per customer and offer (rank 1..top), columns :data:`COLUMNS`.

    ``rules`` is a sequential-rules table (antecedent, consequent, confidence, lift) already filtered to
    the rules worth acting on.
    """
    owned = first_purchases(orders, products, as_of=as_of)
    offers = ibis.union(
        cross_sell(owned, rules, products, as_of=as_of, window_days=window_days),
        upsell(owned, products, as_of=as_of, window_days=window_days),
    )
    offers = offers.anti_join(owned, [offers.customer_id == owned.customer_id, offers.product_id == owned.item])
    # one row per customer and product: the strongest reason wins
    best = offers.mutate(
        k=ibis.row_number().over(group_by=["customer_id", "product_id"], order_by=ibis.desc("expected_value"))
    )
    best = best.filter(best.k == 0).drop("k")
    ranked = best.mutate(rank=ibis.row_number().over(group_by="customer_id", order_by=ibis.desc("expected_value")) + 1)
    ranked = ranked.filter(ranked["rank"] <= top)
    contact = customers.select(
        "customer_id", contact_ok=customers.email_opt_in.fill_null(False) | customers.phone_opt_in.fill_null(False)
    )
    out = ranked.left_join(contact, "customer_id")
    return out.select(*COLUMNS[:-1], contact_ok=out.contact_ok.fill_null(False))


def _compute(ctx, params: OfferParams) -> dict:
    orders, products = ctx.table("orders"), ctx.table("products")
    rules = sequential_rules(
        orders, products, as_of=params.as_of, window_days=params.window_days, min_lift=params.min_lift
    ).to_pandas()
    rules = rules[rules.p_value < params.max_p_value][["antecedent", "consequent", "confidence", "lift"]]
    rules = ibis.memtable(pa.Table.from_pandas(rules, schema=_RULE_SCHEMA, preserve_index=False))
    offers = next_best_offers(
        orders,
        products,
        ctx.table("customers"),
        rules,
        as_of=params.as_of,
        window_days=params.window_days,
        top=params.top,
    )
    return {"offers": offers}


_RULE_SCHEMA = pa.schema(
    [("antecedent", pa.string()), ("consequent", pa.string()), ("confidence", pa.float64()), ("lift", pa.float64())]
)


def _summary(read) -> list[str]:
    t = read("offers")
    agg = (
        t.aggregate(
            customers=t.customer_id.nunique(),
            value=t.expected_value.sum(),
            reachable=t.customer_id.nunique(where=t.contact_ok),
        )
        .execute()
        .iloc[0]
    )
    if not agg.customers:
        return []
    return [
        f"{int(agg.customers):,} customers have a next-best offer ({int(agg.reachable):,} may be contacted); "
        f"expected value {agg.value:,.0f} if every offer is made."
    ]


OFFERS = register(
    Analysis(
        name="offers",
        title="Next-best offers (cross-sell and upsell)",
        question="What should each customer be offered next, and what can the rep say why?",
        inputs=("orders", "products", "customers"),
        params=OfferParams,
        outputs={
            "offers": Output(
                COLUMN_DECLS,
                grain="one row per customer and offered product (rank 1..top)",
                key=("customer_id", "product_id"),
                person_key="customer_id",
                sort=("expected_value", True),
            )
        },
        compute=_compute,
        summary=_summary,
        python_step="the significant rules (p-values) before scoring in the engine",
    )
)
