"""Customer lifetime value: BG/NBD purchases x Gamma-Gamma spend, on a purchase summary built in the engine.

Definitions (docs/definitions.md, "Lifetime value"):
- a purchase is a day with at least one order line of non-negative amount (orders on one day merge);
- ``frequency`` = purchases - 1 (repeat purchases), ``recency`` = first to last purchase, ``T`` = first
  purchase to the as-of date, both in ``time_unit`` (days, or weeks = days / 7);
- ``monetary_value`` = mean spend of the repeat purchases (the first is left out), 0 without repeats;
- ``clv`` = sum over the months of the horizon of expected purchases that month x expected spend per
  purchase, discounted at ``discount_rate`` per year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import numpy as np
import pyarrow as pa

from salesintel.analyses.registry import register
from salesintel.analyses.spec import Analysis, Col, Output, Params, param
from salesintel.analyses.timeline import days_between, orders_until
from salesintel.errors import UserInputError
from salesintel.lazy import lazy
from salesintel.models import BGNBD, GammaGamma

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")
pd = lazy("pandas")

COLUMNS = [
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "clv",
]
UNIT_DAYS = {"days": 1.0, "weeks": 7.0}
MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class ClvParams(Params):
    analysis_name: ClassVar[str] = "clv"
    horizon_days: int = param(
        365, "Predict purchases and value over this many days.", ge=1, le=3650, label="over the next {} days"
    )
    discount_rate: float = param(
        0.10, "Yearly discount rate for the value of later purchases.", ge=0, le=1, label="discounted at {} a year"
    )
    time_unit: str = param(
        "weeks", "Unit of recency, T and the fitted rate parameter.", choices=("days", "weeks"), label="in {}"
    )


@dataclass
class ClvFit:
    """The two fitted models, the as-of date and the time unit they were fitted in."""

    purchases: BGNBD
    spend: GammaGamma | None
    as_of: date
    time_unit: str


CUSTOMER_COLUMNS = (
    Col("customer_id", "string", "Customer", refers="customers"),
    Col("frequency", "int", "Repeat purchases (purchase days after the first)", "count"),
    Col("recency", "float", "First to last purchase (time unit)"),
    Col("T", "float", "First purchase to the as-of date (time unit)"),
    Col("monetary_value", "float", "Mean spend of the repeat purchases", "money"),
    Col("p_alive", "float", "Chance the customer is still active", "percent"),
    Col("expected_purchases", "float", "Expected purchases over the horizon"),
    Col("expected_spend", "float", "Expected spend per purchase", "money"),
    Col("clv", "float", "Lifetime value over the horizon (discounted)", "money"),
)
MODEL_COLUMNS = (
    Col("model", "string", "Model (bgnbd: purchases, gamma_gamma: spend)"),
    Col("parameter", "string", "Parameter"),
    Col("value", "float", "Fitted value"),
)


def purchase_days(orders: ir.Table, *, as_of: date) -> ir.Table:
    """One row per customer and purchase day: ``customer_id, day, spend``."""
    o = orders_until(orders, as_of)
    o = o.filter(o.amount >= 0)
    return o.group_by("customer_id", day=o.ordered_at.date()).aggregate(spend=o.amount.sum())


def purchase_summary(orders: ir.Table, *, as_of: date, time_unit: str = "weeks") -> ir.Table:
    """Per customer: ``customer_id, frequency, recency, T, monetary_value`` (see the module docstring).

    Example:
        >>> import datetime as d
        >>> t = ibis.memtable({"customer_id": ["a", "a", "a"], "amount": [10.0, 5.0, 7.0],
        ...     "ordered_at": [d.datetime(2024, 1, 1), d.datetime(2024, 1, 1), d.datetime(2024, 1, 8)]})
        >>> purchase_summary(t, as_of=d.date(2024, 1, 15)).execute().iloc[0].to_dict()
        {'customer_id': 'a', 'frequency': 1, 'recency': 1.0, 'T': 2.0, 'monetary_value': 7.0}
    """
    if time_unit not in UNIT_DAYS:
        raise UserInputError(f"time unit must be days or weeks, not {time_unit!r}")
    unit = UNIT_DAYS[time_unit]
    days = purchase_days(orders, as_of=as_of)
    per = days.group_by("customer_id").aggregate(
        n=days.count(),
        first=days.day.min(),
        last=days.day.max(),
        total=days.spend.sum(),
        first_spend=days.spend.argmin(days.day),
    )
    frequency = (per.n - 1).cast("int64")
    repeat_mean = (per.total - per.first_spend) / ibis.greatest(frequency, 1).cast("float64")
    return per.select(
        "customer_id",
        frequency=frequency,
        recency=days_between(per.last, per.first).cast("float64") / unit,
        T=days_between(ibis.literal(as_of), per.first).cast("float64") / unit,
        monetary_value=ibis.ifelse(frequency > 0, repeat_mean, 0.0),
    )


def fit_purchases(summary: pd.DataFrame) -> BGNBD:
    """BG/NBD on the distinct (frequency, recency, T) triples, weighted by how many customers share each
    (sorted, so the fit does not depend on the order the engine returned the rows in)."""
    triples = summary.groupby(["frequency", "recency", "T"], sort=True).size().reset_index(name="n")
    return BGNBD().fit(triples.frequency, triples.recency, triples["T"], weights=triples.n)


def fit_clv(summary: pd.DataFrame, *, as_of: date, time_unit: str) -> ClvFit:
    """Fit BG/NBD on the distinct (frequency, recency, T) triples and Gamma-Gamma on the repeat buyers."""
    purchases = fit_purchases(summary)
    repeat = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
    # sorted by value, so the sums in the fit do not depend on the order the engine returned the rows in
    # (ties are equal values; sorting by numbers is 5x faster than by the customer ids)
    repeat = repeat.iloc[np.lexsort((repeat.monetary_value.to_numpy(), repeat.frequency.to_numpy()))]
    spend = GammaGamma().fit(repeat.frequency, repeat.monetary_value) if len(repeat) >= 3 else None
    return ClvFit(purchases, spend, as_of, time_unit)


def training_fingerprint(orders: ir.Table, *, as_of: date) -> dict:
    """Row count, revenue and last order of the orders up to ``as_of``: a kept fit is reused only while
    these are unchanged."""
    o = orders_until(orders, as_of)
    row = o.aggregate(rows=o.count(), revenue=o.amount.sum(), last=o.ordered_at.max()).execute().iloc[0]
    return {"orders": int(row.rows), "revenue": round(float(row.revenue or 0.0), 6), "last_order": str(row["last"])}


def score_customers(summary: pd.DataFrame, fit: ClvFit, *, horizon_days: int, discount_rate: float) -> pd.DataFrame:
    """Adds ``p_alive, expected_purchases, expected_spend, clv`` to the summary (columns :data:`COLUMNS`)."""
    unit = UNIT_DAYS[fit.time_unit]
    x, t_x, T = summary.frequency.to_numpy(float), summary.recency.to_numpy(float), summary["T"].to_numpy(float)
    m = fit.purchases
    out = summary.copy()
    out["p_alive"] = m.p_alive(x, t_x, T)
    spend = fit.spend.expected_spend(x, summary.monetary_value.to_numpy(float)) if fit.spend else np.zeros(len(x))
    out["expected_spend"] = np.nan_to_num(spend)
    value = np.zeros(len(x))
    previous = np.zeros(len(x))
    for month in range(1, math.ceil(horizon_days / MONTH_DAYS) + 1):  # months of the horizon, not customers
        days = min(month * MONTH_DAYS, horizon_days)
        cumulative = m.expected_purchases(days / unit, x, t_x, T)
        value += (cumulative - previous) * out.expected_spend.to_numpy() / (1 + discount_rate) ** (days / 365.25)
        previous = cumulative
    out["expected_purchases"] = previous  # the cumulative expectation at the end of the horizon
    out["clv"] = value
    return out[COLUMNS]


def customer_lifetime_value(
    orders: ir.Table, *, as_of: date, horizon_days: int = 365, discount_rate: float = 0.1, time_unit: str = "weeks"
) -> tuple[pa.Table, ClvFit]:
    """Per-customer CLV table (columns :data:`COLUMNS`, highest CLV first) and the fitted models."""
    if horizon_days <= 0:
        raise UserInputError("the horizon must be a positive number of days")
    summary = purchase_summary(orders, as_of=as_of, time_unit=time_unit).execute()
    summary = summary.sort_values("customer_id").reset_index(drop=True)  # a fit must not depend on row order
    fit = fit_clv(summary, as_of=as_of, time_unit=time_unit)
    scored = score_customers(summary, fit, horizon_days=horizon_days, discount_rate=discount_rate)
    scored = scored.sort_values(["clv", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    return pa.Table.from_pandas(scored, preserve_index=False), fit


def _compute(ctx, params: ClvParams) -> dict:
    orders = ctx.table("orders")
    table, fit = customer_lifetime_value(
        orders,
        as_of=params.as_of,
        horizon_days=params.horizon_days,
        discount_rate=params.discount_rate,
        time_unit=params.time_unit,
    )
    fingerprint = training_fingerprint(orders, as_of=params.as_of)
    ctx.save_model(
        f"bgnbd.{params.time_unit}",
        fit.purchases,
        fingerprint=fingerprint,
        metadata={
            "customers": table.num_rows,
            "time_unit": params.time_unit,
            "metrics": {"log_likelihood": fit.purchases.log_likelihood_},
        },
    )
    if fit.spend is not None:
        ctx.save_model(
            "gamma_gamma",
            fit.spend,
            fingerprint=fingerprint,
            metadata={
                "repeat_buyers": fit.spend.n_customers_,
                "metrics": {"log_likelihood": fit.spend.log_likelihood_},
            },
        )
    else:
        ctx.fallback("fewer than 3 repeat buyers: spend is not modelled, so every CLV is 0")
    return {"customers": table, "model": model_table(fit)}


def model_table(fit: ClvFit) -> pa.Table:
    """The fitted parameters as rows (model, parameter, value), stored beside every run's results."""
    rows = [("bgnbd", k, float(v)) for k, v in fit.purchases.fitted_state().items()]
    if fit.spend:
        rows += [("gamma_gamma", k, float(v)) for k, v in fit.spend.fitted_state().items()]
    model, parameter, value = zip(*rows)
    return pa.table({"model": list(model), "parameter": list(parameter), "value": list(value)})


def params_from_model(model: pa.Table | pd.DataFrame) -> dict:
    """The stored parameter rows back as ``{model: {parameter: value}}`` (what --show-params prints)."""
    df = model.to_pandas() if isinstance(model, pa.Table) else model
    return {name: dict(zip(group.parameter, group.value)) for name, group in df.groupby("model", sort=False)}


def _charts(read) -> list:
    import plotly.express as px

    t = read("customers")
    # engine-side: every customer counts, in bins of equal width up to the 99th percentile (outliers in the last)
    top = float(t.clv.quantile(0.99).execute() or 0.0)
    if top <= 0:
        return []
    width = top / 40
    binned = t.mutate(bin=ibis.least((t.clv / width).floor(), 40).cast("int64"))
    hist = binned.group_by("bin").aggregate(customers=binned.count()).order_by("bin").execute()
    hist["clv from"] = hist["bin"] * width
    fig = px.bar(
        hist,
        x="clv from",
        y="customers",
        log_y=True,
        title="Customers by lifetime value (next horizon, discounted; last bar: top 1%)",
        labels={"clv from": "lifetime value (currency)", "customers": "customers (log scale)"},
    )
    return [fig]


def _summary(read) -> list[str]:
    t = read("customers")
    row = t.aggregate(total=t.clv.sum(), n=t.count(), alive=(t.p_alive < 0.5).sum()).execute().iloc[0]
    if not row.n:
        return []
    if not row.total:
        return [
            f"Lifetime value could not be estimated for the {int(row.n):,} customers with purchases: "
            "too few repeat buyers to model spend (see the CLV section)."
        ]
    return [
        f"The {int(row.n):,} customers with purchases are worth {row.total:,.0f} over the horizon; "
        f"{int(row.alive or 0):,} of them are more likely gone than active."
    ]


CLV = register(
    Analysis(
        name="clv",
        title="Customer lifetime value",
        question="How much will each customer buy over the horizon, and how likely are they still active?",
        inputs=("orders",),
        params=ClvParams,
        outputs={
            "customers": Output(
                CUSTOMER_COLUMNS,
                grain="one row per customer with a purchase up to the as-of date",
                key=("customer_id",),
                person_key="customer_id",
                sort=("clv", True),
            ),
            "model": Output(
                MODEL_COLUMNS, grain="one row per fitted parameter", key=("model", "parameter"), person_key=None
            ),
        },
        compute=_compute,
        charts=_charts,
        summary=_summary,
        python_step="BG/NBD and Gamma-Gamma fits on the per-customer purchase summary",
    )
)
