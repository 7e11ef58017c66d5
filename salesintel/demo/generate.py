"""A deterministic synthetic business for all 13 tables, with planted truths the analyses must find.

Vectorised numpy throughout: 10,000 customers generate in about a second. The truths (which pairs follow
each other, who declines, which campaign loses money ...) are returned beside the tables and written to
``truth.json`` by :func:`write_demo`; docs/demo.md describes them.

Example:
    >>> company = generate(customers=500, seed=1)
    >>> sorted(company.tables)[:3]
    ['campaign_exposures', 'campaigns', 'communications']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from salesintel.demo import catalogue as cat

START = date(2023, 1, 1)
END = date(2025, 12, 31)
DAYS = (END - START).days + 1
AGE_BANDS = ["18-29", "30-44", "45-59", "60+"]

# A then B: (antecedent, consequent, share of A buyers who add B, lag range in days)
PLANTED_PAIRS = [("E1", "G2", 0.35, (20, 100)), ("E3", "A1", 0.45, (10, 60)), ("P1", "P2", 0.5, (3, 40))]
LONG_LAG_PAIR = ("G2", "M3", 0.45, (240, 330))
# bought together: this share of the orders with the first product also hold the second
BASKET_PAIR = ("C1", "B5", 0.6)
# group -> category bought at this many times the usual rate
PLANTED_AFFINITIES = [("age_band", "18-29", "pour-over", 4.0), ("age_band", "60+", "capsule machines", 4.0)]
CAMPAIGNS = [  # id, name, channel, start, days, cost, product, lift in purchase probability, exposed
    ("CMP1", "Grinder spring promo", "email", date(2025, 3, 1), 30, 3000.0, "G1", 0.08, 0.30),
    ("CMP2", "Descaler reminder", "email", date(2025, 6, 1), 21, 400.0, "M1", 0.12, 0.25),
    ("CMP3", "Autumn billboards", "ads", date(2025, 9, 1), 60, 80000.0, "E2", 0.0, 0.40),
    ("CMP4", "Bean subscription trial", "email", date(2024, 10, 1), 30, 1500.0, "B2", 0.10, 0.25),
]
SOURCE_EFFECT = {"referral": 1.5, "trade_fair": 0.8, "partner": 0.5, "web": 0.0, "ad": -0.8}


@dataclass
class Company:
    tables: dict[str, pa.Table]
    truth: dict = field(default_factory=dict)


def _ts(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Day offsets to timestamps during opening hours (8:00-20:00)."""
    seconds = (8 * 3600 + rng.integers(0, 12 * 3600, len(days))).astype("timedelta64[s]")
    return (np.datetime64(START, "s") + (days.astype("int64") * 86400).astype("timedelta64[s]") + seconds)


def generate(customers: int = 10_000, seed: int = 42) -> Company:
    """The demo company with about ``customers`` people (customers, prospects and lost customers)."""
    rng = np.random.default_rng(seed)
    products = _products()
    people = _people(customers, rng)
    indicator = _indicator(rng)
    orders, truth = _orders(people, indicator, rng)
    exposures, campaign_orders = _campaigns(people, rng)
    orders = _concat_orders([orders, campaign_orders])
    orders = _after_stop_removed(orders, people)
    tables = {
        "products": products,
        "customers": people["table"],
        "orders": orders,
        "reps": pa.table({"rep_id": [r[0] for r in cat.REPS], "name": [r[1] for r in cat.REPS],
                          "email": [r[1].lower().replace(" ", ".") + "@crema.example" for r in cat.REPS],
                          "territory": [r[2] for r in cat.REPS], "role": [r[3] for r in cat.REPS]}),
        "locations": pa.table({k: [loc[i] for loc in cat.LOCATIONS]
                               for i, k in enumerate(("location_id", "name", "region", "city"))}),
        "competitors": pa.table({k: [c[i] for c in cat.COMPETITORS]
                                 for i, k in enumerate(("competitor_id", "name", "aliases"))}),
        "campaigns": pa.table({
            "campaign_id": [c[0] for c in CAMPAIGNS], "name": [c[1] for c in CAMPAIGNS],
            "channel": [c[2] for c in CAMPAIGNS], "starts_on": [c[3] for c in CAMPAIGNS],
            "ends_on": [c[3] + timedelta(days=c[4] - 1) for c in CAMPAIGNS], "cost": [c[5] for c in CAMPAIGNS],
            "product_id": [c[6] for c in CAMPAIGNS], "segment": ["all customers"] * len(CAMPAIGNS)}),
        "campaign_exposures": exposures,
        "indicators": pa.table({"indicator": ["consumer_confidence"] * len(indicator["months"]),
                                "date": indicator["months"], "value": indicator["values"]}),
    }
    tables["touchpoints"] = _touchpoints(people, orders, rng)
    tables["communications"], truth["messages"] = _communications(people, rng)
    tables["survey_responses"], truth["mystery_shop"] = _surveys(people, rng)
    tables["opportunities"] = _opportunities(people, rng)
    truth.update(_static_truth(people, indicator))
    return Company(tables, truth)


def _products() -> pa.Table:
    cols = ("product_id", "name", "category", "price", "tier", "keywords")
    table = {k: [p[i] for p in cat.PRODUCTS] for i, k in enumerate(cols)}
    table["description"] = [f"{p[1]} ({p[2]})" for p in cat.PRODUCTS]
    return pa.table(table)


def _people(n: int, rng: np.random.Generator) -> dict:
    """Established customers (80%), recent leads (15%: converted or still prospects), lost (5%)."""
    n_leads, n_lost = int(n * 0.15), int(n * 0.05)
    n_est = n - n_leads - n_lost
    kind = np.array(["established"] * n_est + ["lead"] * n_leads + ["lost"] * n_lost)
    ids = np.char.add("CU", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    birth_year = rng.integers(1945, 2006, n)
    age = END.year - birth_year
    band = np.digitize(age, [30, 45, 60])  # 0: 18-29 ... 3: 60+
    region_idx = rng.choice(len(cat.REGIONS), n, p=cat.REGION_WEIGHTS)
    region = np.array(cat.REGIONS)[region_idx]
    city = np.array([cat.CITIES[r][0] for r in cat.REGIONS])[region_idx]
    city_alt = rng.integers(0, 3, n)
    city = np.where(city_alt == 0, city, np.array([[cat.CITIES[r][i] for i in range(3)] for r in cat.REGIONS])[region_idx, city_alt])
    source = rng.choice(cat.SOURCES, n, p=[0.25, 0.35, 0.12, 0.18, 0.10])
    # leads: engagement and conversion planted (source effect + 0.35 per engagement event)
    engagement = rng.poisson(np.where(kind == "lead", 4.0, 2.0))
    logit = np.vectorize(SOURCE_EFFECT.get)(source) + 0.35 * engagement - 2.6
    converted = (kind == "lead") & (rng.random(n) < 1 / (1 + np.exp(-logit)))
    first_day = np.where(kind == "established", rng.integers(0, DAYS - 90, n),
                         np.where(kind == "lead", rng.integers(DAYS - 365, DAYS - 20, n), rng.integers(0, 300, n)))
    created_day = np.where(kind == "lead", first_day, np.maximum(first_day - rng.integers(0, 400, n), -700))
    status = np.where(kind == "lost", "lost", np.where((kind == "lead") & ~converted, "prospect", "customer"))
    territory_reps = {r: [rep[0] for rep in cat.REPS if rep[2] == r and rep[3] == "rep"] for r in cat.REGIONS}
    owner_pick = rng.integers(0, 2, n)
    owner = np.array([[territory_reps[r][i] for i in range(2)] for r in cat.REGIONS])[region_idx, owner_pick]
    owner = np.where(rng.random(n) < 0.7, owner, None)
    first = rng.choice(cat.FIRST_NAMES, n)
    last = rng.choice(cat.LAST_NAMES, n)
    table = pa.table({
        "customer_id": ids, "status": status, "name": np.char.add(np.char.add(first, " "), last),
        "email": np.char.add(np.char.lower(np.char.add(np.char.add(first, "."), ids)), "@mail.example"),
        "phone": np.char.add("+49 30 ", rng.integers(1000000, 9999999, n).astype(str)),
        "birth_year": birth_year, "gender": rng.choice(["f", "m", "d"], n, p=[0.49, 0.49, 0.02]),
        "country": np.full(n, "DE"), "region": region, "city": city,
        "postal_code": rng.integers(10000, 99999, n).astype(str),
        "created_at": _ts(created_day, rng), "source": source, "owner_id": owner,
        "email_opt_in": rng.random(n) < 0.8, "phone_opt_in": rng.random(n) < 0.55,
    })
    return {"table": table, "ids": ids, "kind": kind, "band": band, "region": region, "first_day": first_day,
            "converted": converted, "engagement": engagement, "source": source, "owner": owner, "status": status}


def _indicator(rng: np.random.Generator) -> dict:
    """Monthly consumer confidence; demand rises and falls with it (multiplier 1 + 0.3 z)."""
    months = [date(START.year + (m // 12), m % 12 + 1, 1) for m in range(DAYS // 30 + 2) if
              date(START.year + (m // 12), m % 12 + 1, 1) <= END]
    z = np.zeros(len(months))
    for i in range(1, len(months)):
        z[i] = 0.75 * z[i - 1] + rng.normal(0, 0.6)
    z = (z - z.mean()) / z.std()
    return {"months": months, "values": np.round(100 + 8 * z, 2), "z": z}


def _demand(days: np.ndarray, indicator: dict) -> np.ndarray:
    month_index = np.clip(((days // 30.44)).astype(int), 0, len(indicator["z"]) - 1)
    return np.clip(1 + 0.3 * indicator["z"][month_index], 0.3, None)


def _orders(people: dict, indicator: dict, rng: np.random.Generator) -> tuple[pa.Table, dict]:
    kind, first_day = people["kind"], people["first_day"]
    n = len(kind)
    buyer = (kind != "lead") | people["converted"]
    rate = rng.gamma(0.9, 1 / 55, n)  # purchases per day
    lifetime = rng.exponential(900, n)
    end_day = np.where(kind == "lost", np.minimum(first_day + rng.integers(30, 200, n), DAYS - 400),
                       np.minimum(first_day + lifetime, DAYS - 1)).astype(int)
    # planted decliners: steady buyers active to the end whose buying collapses in the last months
    steady_pool = np.flatnonzero((kind == "established") & (first_day < DAYS - 600) & (end_day >= DAYS - 1))
    steady_pool = steady_pool[np.argsort(-rate[steady_pool])][: max(40, n // 12)]
    rate[steady_pool] = np.maximum(rate[steady_pool], 1 / 20)  # regulars: consumables every few weeks
    perm = rng.permutation(steady_pool)
    decliners, steady = perm[: len(perm) // 2], perm[len(perm) // 2:]
    decline_day = np.full(n, DAYS + 1)
    decline_day[decliners] = DAYS - rng.integers(150, 210, len(decliners))
    # the second shape: regulars at 8-12 purchases a year; half stop completely 4-7 months before the end
    others = np.setdiff1d(np.flatnonzero((kind == "established") & (first_day < DAYS - 600) & (end_day >= DAYS - 1)),
                          steady_pool)
    regulars = rng.permutation(others)[: max(40, n // 25)]
    rate[regulars] = rng.uniform(8, 12, len(regulars)) / 365 / 0.95  # the demand filter below keeps ~95%
    stopped, steady_regulars = regulars[: len(regulars) // 2], regulars[len(regulars) // 2:]
    people["stop_day"] = np.full(n, DAYS + 1)
    people["stop_day"][stopped] = DAYS - rng.integers(120, 213, len(stopped))

    active = np.maximum(end_day - first_day, 0)
    counts = rng.poisson(rate * active * 1.3) * buyer
    cust = np.repeat(np.arange(n), counts)
    days = first_day[cust] + (rng.random(len(cust)) * active[cust]).astype(int)
    # the planted regulars (steady, declining, stopping) buy at their own pace, not the market's: "steady"
    # means steady, so a flag on one of them is a false alarm, not the market dip at the end of the data
    planted = np.zeros(n, dtype=bool)
    planted[steady_pool] = planted[regulars] = True
    demand = np.where(planted[cust], 1.0, _demand(days, indicator))
    keep = rng.random(len(cust)) < demand / 1.3 * 0.95
    keep &= ~((days >= decline_day[cust]) & (rng.random(len(cust)) < 0.95))
    cust, days = cust[keep], days[keep]
    cust = np.concatenate([np.flatnonzero(buyer), cust])  # everyone who buys has a first order
    days = np.concatenate([first_day[buyer], days])
    if people["converted"].any():
        days[: buyer.sum()] = np.where(kind[buyer] == "lead", first_day[buyer] + rng.integers(5, 20, buyer.sum()),
                                       first_day[buyer])
    lines = _order_lines(cust, days, people, rng)
    lines = _planted_follow_ups(lines, people, rng)
    order_tables = _order_table(lines, people, rng)
    truth = {"decliners": people["ids"][decliners].tolist(), "steady": people["ids"][steady].tolist(),
             "stopped_regulars": people["ids"][stopped].tolist(),
             "steady_regulars": people["ids"][steady_regulars].tolist()}
    return order_tables, truth


def _after_stop_removed(orders: pa.Table, people: dict) -> pa.Table:
    """The regulars who stopped buy nothing after their stop day (no follow-up or campaign order either)."""
    cust = pc.index_in(orders.column("customer_id"), value_set=pa.array(people["ids"])).to_numpy()
    day = (orders.column("ordered_at").to_numpy().astype("datetime64[D]") - np.datetime64(START)).astype(int)
    return orders.filter(pa.array(day < people["stop_day"][cust]))


def _order_lines(cust: np.ndarray, days: np.ndarray, people: dict, rng: np.random.Generator) -> dict:
    """1-4 products per order, drawn from popularity times the planted group preferences."""
    n_lines = 1 + np.minimum(rng.poisson(0.45, len(cust)), 3)
    order_idx = np.repeat(np.arange(len(cust)), n_lines)
    weights = np.array([p[6] for p in cat.PRODUCTS])
    categories = np.array([p[2] for p in cat.PRODUCTS])
    band_weights = np.tile(weights, (len(AGE_BANDS), 1))
    for _, group, category, factor in PLANTED_AFFINITIES:
        band_weights[AGE_BANDS.index(group), categories == category] *= factor
    cum = np.cumsum(band_weights / band_weights.sum(1, keepdims=True), axis=1)
    band = people["band"][cust[order_idx]]
    u = rng.random(len(order_idx))
    product = np.minimum((u[:, None] > cum[band]).sum(1), len(weights) - 1)
    lines = {"cust": cust[order_idx], "day": days[order_idx], "order": order_idx, "product": product}
    return _planted_basket_pair(lines, rng)


def _planted_basket_pair(lines: dict, rng: np.random.Generator) -> dict:
    """A share of the orders with the basket pair's first product carry its second in the same order."""
    pid = [p[0] for p in cat.PRODUCTS]
    a, b, share = BASKET_PAIR
    has_a = np.unique(lines["order"][lines["product"] == pid.index(a)])
    has_b = np.unique(lines["order"][lines["product"] == pid.index(b)])
    add = np.setdiff1d(has_a, has_b)
    add = add[rng.random(len(add)) < share]
    first_line = np.unique(lines["order"], return_index=True)[1]
    where = first_line[np.searchsorted(np.unique(lines["order"]), add)]
    extra = {"cust": lines["cust"][where], "day": lines["day"][where], "order": add,
             "product": np.full(len(add), pid.index(b))}
    return {k: np.concatenate([lines[k], extra[k]]) for k in lines}


def _planted_follow_ups(lines: dict, people: dict, rng: np.random.Generator) -> dict:
    """For each planted pair: a share of A's first buyers add B (as a new order) after the planted lag."""
    pid = [p[0] for p in cat.PRODUCTS]
    next_order = lines["order"].max() + 1
    for a, b, share, (lo, hi) in PLANTED_PAIRS + [LONG_LAG_PAIR]:
        ia, ib = pid.index(a), pid.index(b)
        sel = lines["product"] == ia
        order = np.lexsort((lines["day"][sel], lines["cust"][sel]))
        custs, first_idx = np.unique(lines["cust"][sel][order], return_index=True)
        first_a = lines["day"][sel][order][first_idx]
        add = rng.random(len(custs)) < share
        lag = rng.integers(lo, hi + 1, len(custs))
        new_day = first_a + lag
        add &= new_day < DAYS
        k = int(add.sum())
        for key, value in (("cust", custs[add]), ("day", new_day[add]),
                           ("order", next_order + np.arange(k)), ("product", np.full(k, ib))):
            lines[key] = np.concatenate([lines[key], value])
        next_order += k
    return lines


def _order_table(lines: dict, people: dict, rng: np.random.Generator) -> pa.Table:
    order_key = np.unique(lines["order"], return_inverse=True)[1]
    sort = np.lexsort((lines["product"], order_key))
    for k in lines:
        lines[k] = lines[k][sort]
    order_key = order_key[sort]
    line_no = np.ones(len(order_key), dtype=int)
    same = np.r_[False, order_key[1:] == order_key[:-1]]
    # running line number within each order
    idx = np.arange(len(order_key))
    start = np.maximum.accumulate(np.where(~same, idx, 0))
    line_no = idx - start + 1
    # one order, one timestamp: every line of an order carries the time the order was placed
    ordered_at = _ts(lines["day"][~same], rng)[order_key]
    price = np.array([p[3] for p in cat.PRODUCTS])[lines["product"]]
    qty = np.where(price < 40, 1 + rng.poisson(0.6, len(price)), 1)
    discount = np.where(rng.random(len(price)) < 0.15, 0.9, 1.0)
    amount = np.round(price * qty * discount, 2)
    refund = rng.random(len(price)) < 0.01
    amount = np.where(refund, -amount, amount)
    n_orders = order_key.max() + 1
    channel_o = rng.choice(["web", "store", "phone"], n_orders, p=[0.6, 0.3, 0.1])
    channel = channel_o[order_key]
    region = people["region"][lines["cust"]]
    loc_by_region = {loc[2]: loc[0] for loc in cat.LOCATIONS}
    location = np.where(channel == "store", np.vectorize(loc_by_region.get)(region), None)
    order_ids = np.char.add("SO", np.char.zfill((order_key + 1).astype(str), 7))
    return pa.table({
        "order_id": order_ids, "line": line_no, "customer_id": people["ids"][lines["cust"]],
        "product_id": np.array([p[0] for p in cat.PRODUCTS])[lines["product"]],
        "ordered_at": ordered_at, "quantity": qty.astype(float), "amount": amount,
        "channel": channel, "campaign_id": pa.nulls(len(order_key), pa.string()), "location_id": location,
    })


def _campaigns(people: dict, rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
    """Exposures with a 10% control group; treated customers buy the promoted product at +lift."""
    ids, n = people["ids"], len(people["ids"])
    eligible = np.flatnonzero(people["status"] == "customer")
    exp_parts, order_parts = [], []
    for cid, _name, _ch, start, days, _cost, product, lift, share in CAMPAIGNS:
        chosen = rng.choice(eligible, int(len(eligible) * share), replace=False)
        control = rng.random(len(chosen)) < 0.1
        exposed_day = (start - START).days + rng.integers(0, min(days, 7), len(chosen))
        exp_parts.append(pa.table({"campaign_id": np.full(len(chosen), cid), "customer_id": ids[chosen],
                                   "exposed_at": _ts(exposed_day, rng),
                                   "group": np.where(control, "control", "treatment")}))
        buys = (~control) & (rng.random(len(chosen)) < lift)
        k = int(buys.sum())
        price = {p[0]: p[3] for p in cat.PRODUCTS}[product]
        order_parts.append(pa.table({
            "order_id": np.char.add(f"{cid}-", np.arange(k).astype(str)), "line": np.ones(k, dtype=int),
            "customer_id": ids[chosen[buys]], "product_id": np.full(k, product),
            "ordered_at": _ts(exposed_day[buys] + rng.integers(1, 30, k), rng), "quantity": np.ones(k),
            "amount": np.full(k, price * 0.9), "channel": np.full(k, "web"), "campaign_id": np.full(k, cid),
            "location_id": pa.nulls(k, pa.string())}))
    del n
    return pa.concat_tables(exp_parts), _concat_orders(order_parts)


def _concat_orders(parts: list[pa.Table]) -> pa.Table:
    schema = parts[0].schema
    return pa.concat_tables([p.select(schema.names).cast(schema) for p in parts])


def _touchpoints(people: dict, orders: pa.Table, rng: np.random.Generator) -> pa.Table:
    """Lead engagement events, product page views before purchases, and e-mail opens."""
    ids, n = people["ids"], len(people["ids"])
    lead = np.flatnonzero(people["kind"] == "lead")
    k = people["engagement"][lead]
    who = np.repeat(lead, k)
    day = people["first_day"][who] - rng.integers(0, 30, len(who))
    types = rng.choice(["page_view", "email_open", "email_click", "form_submit"], len(who), p=[0.5, 0.25, 0.15, 0.1])
    sample = rng.random(orders.num_rows) < 0.5
    o_cust = orders["customer_id"].to_numpy(zero_copy_only=False)[sample]
    o_prod = orders["product_id"].to_numpy(zero_copy_only=False)[sample]
    o_time = orders["ordered_at"].to_numpy()[sample] - rng.integers(3600, 7 * 86400, sample.sum()).astype("timedelta64[s]")
    rand_cust = rng.integers(0, n, n * 2)
    rand_prod = rng.choice([p[0] for p in cat.PRODUCTS], n * 2)
    cust = np.concatenate([ids[who], o_cust, ids[rand_cust]])
    prod = np.concatenate([np.full(len(who), None), o_prod, rand_prod])
    when = np.concatenate([_ts(day, rng), o_time, _ts(rng.integers(0, DAYS, n * 2), rng)])
    typ = np.concatenate([types, np.full(len(o_cust) + n * 2, "page_view")])
    url = np.where(prod == None, "/", np.char.add("/products/", prod.astype(str)))  # noqa: E711
    m = len(cust)
    return pa.table({
        "event_id": np.char.add("EV", np.arange(1, m + 1).astype(str)), "occurred_at": when, "type": typ,
        "customer_id": cust, "anonymous_id": pa.nulls(m, pa.string()),
        "channel": np.where(np.char.startswith(typ.astype(str), "email"), "email", "web"),
        "campaign_id": pa.nulls(m, pa.string()), "product_id": prod, "url": url,
        "properties": np.full(m, '{"device": "desktop"}'),
    })


def _communications(people: dict, rng: np.random.Generator) -> tuple[pa.Table, dict]:
    ids, n = people["ids"], len(people["ids"])
    m = max(200, n // 2)
    label = rng.choice(["interest", "competitor", "complaint", "neutral"], m, p=[0.4, 0.15, 0.15, 0.3])
    prod_idx = rng.integers(0, len(cat.PRODUCTS), m)
    alias = np.array([p[5].split(";")[-1] for p in cat.PRODUCTS])[prod_idx]
    comp_idx = rng.integers(0, len(cat.COMPETITORS), m)
    comp_name = np.array([c[1] for c in cat.COMPETITORS])[comp_idx]
    tmpl = {"interest": cat.INTEREST_TEMPLATES, "competitor": cat.COMPETITOR_TEMPLATES,
            "complaint": cat.COMPLAINT_TEMPLATES, "neutral": cat.NEUTRAL_TEMPLATES}
    pick = rng.integers(0, 4, m) % np.array([len(tmpl[lbl]) for lbl in label])
    text = np.array([tmpl[lbl][i].format(alias=a, competitor=c) for lbl, i, a, c in zip(label, pick, alias, comp_name)])
    who = rng.integers(0, n, m)
    table = pa.table({
        "message_id": np.char.add("MSG", np.arange(1, m + 1).astype(str)), "customer_id": ids[who],
        "occurred_at": _ts(rng.integers(DAYS - 540, DAYS, m), rng),
        "channel": rng.choice(["email", "call", "chat"], m, p=[0.6, 0.3, 0.1]),
        "direction": np.full(m, "inbound"), "rep_id": people["owner"][who],
        "subject": np.where(label == "complaint", "Problem with my order", "Question"), "text": text,
    })
    mentions_product = (label == "interest") | ((label == "complaint") & np.char.find(text, alias) >= 0)
    truth = {
        "counts": {lbl: int((label == lbl).sum()) for lbl in tmpl},
        "interest": {mid: pid for mid, pid, is_i in zip(table["message_id"].to_pylist(),
                                                          np.array([p[0] for p in cat.PRODUCTS])[prod_idx],
                                                          label == "interest") if is_i},
        "competitor_mentions": {c[0]: int(((label == "competitor") & (comp_idx == i)).sum())
                                for i, c in enumerate(cat.COMPETITORS)},
        "complaints": int((label == "complaint").sum()),
        "product_mentions": int(mentions_product.sum()),
    }
    return table, truth


def _surveys(people: dict, rng: np.random.Generator) -> tuple[pa.Table, dict]:
    """NPS answers from customers, mystery shopping of every store (Cologne weak on product knowledge)."""
    ids, n = people["ids"], len(people["ids"])
    k = n // 4
    who = rng.choice(n, k, replace=False)
    nps = np.clip(np.round(rng.normal(7.8, 2.0, k)), 0, 10)
    questions = ["greeting", "product knowledge", "cleanliness", "checkout"]
    visits = [(loc[0], q, v) for loc in cat.LOCATIONS for v in range(8) for q in questions]
    ms_score = np.array([np.clip(rng.normal(2.1 if (loc == "L4" and q == "product knowledge") else 4.2, 0.5), 1, 5)
                         for loc, q, _ in visits])
    comp = [(c[0], v) for c in cat.COMPETITORS for v in range(20)]
    comp_score = np.clip(np.round(rng.normal([3.6 if c == "K1" else 3.1 for c, _ in comp], 0.7), 1), 1, 5)
    m1, m2, m3 = k, len(visits), len(comp)
    table = pa.table({
        "response_id": np.char.add("SR", np.arange(1, m1 + m2 + m3 + 1).astype(str)),
        "survey_id": np.concatenate([np.full(m1, "NPS-2025"), np.full(m2, "MYSTERY-2025"), np.full(m3, "PUBLIC-2025")]),
        "kind": np.concatenate([np.full(m1, "customer"), np.full(m2, "mystery_shop"), np.full(m3, "competitor")]),
        "customer_id": np.concatenate([ids[who], np.full(m2 + m3, None)]),
        "responded_at": _ts(rng.integers(DAYS - 300, DAYS, m1 + m2 + m3), rng),
        "question": np.concatenate([np.full(m1, "How likely are you to recommend us? (0-10)"),
                                    np.array([q for _, q, _ in visits]), np.full(m3, "overall rating (1-5)")]),
        "score": np.concatenate([nps, np.round(ms_score, 1), comp_score]),
        "answer": pa.nulls(m1 + m2 + m3, pa.string()),
        "subject": np.concatenate([np.full(m1, "company"), np.array([loc for loc, _, _ in visits]),
                                   np.array([c for c, _ in comp])]),
    })
    return table, {"weak_location": "L4", "weak_question": "product knowledge"}


def _opportunities(people: dict, rng: np.random.Generator) -> pa.Table:
    lead = np.flatnonzero(people["kind"] == "lead")
    won = people["converted"][lead]
    m = len(lead)
    created = people["first_day"][lead] - rng.integers(5, 40, m)
    closed = created + rng.integers(7, 60, m)
    open_ = ~won & (closed >= DAYS - 30)
    outcome = np.where(won, "won", np.where(open_, "open", "lost"))
    comp = np.where((outcome == "lost") & (rng.random(m) < 0.6),
                    rng.choice([c[0] for c in cat.COMPETITORS], m, p=[0.5, 0.3, 0.2]), None)
    product = rng.choice(["E1", "E2", "E3", "G2", "C2"], m)
    price = {p[0]: p[3] for p in cat.PRODUCTS}
    return pa.table({
        "opportunity_id": np.char.add("OP", np.arange(1, m + 1).astype(str)), "customer_id": people["ids"][lead],
        "product_id": product, "owner_id": people["owner"][lead], "created_at": _ts(created, rng),
        "closed_at": np.where(outcome == "open", None, _ts(np.minimum(closed, DAYS - 1), rng)),
        "stage": np.where(outcome == "open", "proposal", "closed"),
        "amount": np.vectorize(price.get)(product), "outcome": outcome, "competitor_id": comp,
        "reason": np.where(outcome == "lost", np.where(comp == None, "no budget", "price"), None),  # noqa: E711
    })


def _static_truth(people: dict, indicator: dict) -> dict:
    return {
        "company": cat.COMPANY, "start": str(START), "end": str(END),
        "pairs": [{"antecedent": a, "consequent": b, "share": s, "lag_days": list(lag)} for a, b, s, lag in PLANTED_PAIRS],
        "basket_pair": {"lhs": BASKET_PAIR[0], "rhs": BASKET_PAIR[1], "share": BASKET_PAIR[2]},
        "long_lag_pair": {"antecedent": LONG_LAG_PAIR[0], "consequent": LONG_LAG_PAIR[1], "share": LONG_LAG_PAIR[2],
                          "lag_days": list(LONG_LAG_PAIR[3])},
        "affinities": [{"dimension": d, "group": g, "category": c, "factor": f} for d, g, c, f in PLANTED_AFFINITIES],
        "lead_conversion": {"source_effect": SOURCE_EFFECT, "per_engagement_event": 0.35},
        "campaigns": {c[0]: {"lift": c[7], "cost": c[5], "product_id": c[6]} for c in CAMPAIGNS},
        "losing_campaign": "CMP3",
        "indicator": {"name": "consumer_confidence", "demand_multiplier": "1 + 0.3 * z"},
    }


def write_demo(directory: Path, customers: int = 10_000, seed: int = 42) -> dict[str, Path]:
    """Generate the company and write one CSV per table plus truth.json; returns table -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    company = generate(customers, seed)
    paths = {}
    for name, table in company.tables.items():
        paths[name] = directory / f"{name}.csv"
        pacsv.write_csv(table, paths[name])
    (directory / "truth.json").write_text(json.dumps(company.truth, indent=1, default=str))
    return paths


def load_order() -> list[str]:
    """Tables in the order references resolve (reps before customers before orders ...)."""
    return ["reps", "locations", "competitors", "products", "customers", "campaigns", "orders",
            "campaign_exposures", "touchpoints", "communications", "survey_responses", "opportunities", "indicators"]


def generate_store(customers: int = 2_000, seed: int = 42, url: str = ":memory:"):
    """The demo company appended straight into a store (no files, no validation): for examples and tests
    that need realistic data fast. Use :func:`write_demo` and ``salesintel load`` for the real path.

    >>> store = generate_store(customers=300, seed=1)
    >>> store.count("orders") > 1000
    True
    """
    from salesintel.store import Store

    store = Store.open(url)
    company = generate(customers, seed)
    for name in load_order():
        store.append(name, company.tables[name])
    return store
