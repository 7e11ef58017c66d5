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

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from salesintel.analyses.registry import Analysis, register
from salesintel.analyses.timeline import days_between, orders_until, resolve_as_of
from salesintel.errors import UserInputError
from salesintel.models import BGNBD, GammaGamma

COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
           "expected_spend", "clv"]
UNIT_DAYS = {"days": 1.0, "weeks": 7.0}
MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class ClvParams:
    horizon_days: int = 365
    discount_rate: float = 0.10  # per year
    time_unit: str = "weeks"
    as_of: date | None = None


@dataclass
class ClvFit:
    """The two fitted models, the as-of date and the time unit they were fitted in."""

    purchases: BGNBD
    spend: GammaGamma | None
    as_of: date
    time_unit: str


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
        n=days.count(), first=days.day.min(), last=days.day.max(), total=days.spend.sum(),
        first_spend=days.spend.argmin(days.day))
    frequency = (per.n - 1).cast("int64")
    repeat_mean = (per.total - per.first_spend) / ibis.greatest(frequency, 1).cast("float64")
    return per.select(
        "customer_id", frequency=frequency,
        recency=days_between(per.last, per.first).cast("float64") / unit,
        T=days_between(ibis.literal(as_of), per.first).cast("float64") / unit,
        monetary_value=ibis.ifelse(frequency > 0, repeat_mean, 0.0))


def fit_purchases(summary: pd.DataFrame) -> BGNBD:
    """BG/NBD on the distinct (frequency, recency, T) triples, weighted by how many customers share each."""
    triples = summary.groupby(["frequency", "recency", "T"], sort=False).size().reset_index(name="n")
    return BGNBD.fit(triples.frequency, triples.recency, triples["T"], weights=triples.n)


def fit_clv(summary: pd.DataFrame, *, as_of: date, time_unit: str) -> ClvFit:
    """Fit BG/NBD on the distinct (frequency, recency, T) triples and Gamma-Gamma on the repeat buyers."""
    purchases = fit_purchases(summary)
    repeat = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
    spend = GammaGamma.fit(repeat.frequency, repeat.monetary_value) if len(repeat) >= 3 else None
    return ClvFit(purchases, spend, as_of, time_unit)


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


def customer_lifetime_value(orders: ir.Table, *, as_of: date, horizon_days: int = 365, discount_rate: float = 0.1,
                            time_unit: str = "weeks") -> tuple[pa.Table, ClvFit]:
    """Per-customer CLV table (columns :data:`COLUMNS`, highest CLV first) and the fitted models."""
    if horizon_days <= 0:
        raise UserInputError("the horizon must be a positive number of days")
    summary = purchase_summary(orders, as_of=as_of, time_unit=time_unit).execute()
    fit = fit_clv(summary, as_of=as_of, time_unit=time_unit)
    scored = score_customers(summary, fit, horizon_days=horizon_days, discount_rate=discount_rate)
    scored = scored.sort_values(["clv", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    return pa.Table.from_pandas(scored, preserve_index=False), fit


def _run(store, params: ClvParams) -> dict:
    orders = store.table("orders")
    as_of = resolve_as_of(orders, params.as_of)
    table, fit = customer_lifetime_value(orders, as_of=as_of, horizon_days=params.horizon_days,
                                         discount_rate=params.discount_rate, time_unit=params.time_unit)
    return {"customers": table, "model": model_table(fit)}


def model_table(fit: ClvFit) -> pa.Table:
    """The fitted parameters as rows (model, parameter, value), stored beside every run's results."""
    rows = [("bgnbd", k, float(v)) for k, v in fit.purchases.params().items()]
    if fit.spend:
        rows += [("gamma_gamma", k, float(v)) for k, v in fit.spend.params().items()]
    model, parameter, value = zip(*rows)
    return pa.table({"model": list(model), "parameter": list(parameter), "value": list(value)})


def params_from_model(model: pa.Table | pd.DataFrame) -> dict:
    """The stored parameter rows back as ``{model: {parameter: value}}`` (what --show-params prints)."""
    df = model.to_pandas() if isinstance(model, pa.Table) else model
    return {name: dict(zip(group.parameter, group.value)) for name, group in df.groupby("model", sort=False)}


def _charts(results: dict) -> list:
    import plotly.express as px

    df = results["customers"].copy()
    return [
        px.histogram(df, x="clv", nbins=50, log_y=True, title="Customer lifetime value (next horizon, discounted)"),
        px.scatter(df.head(5000), x="recency", y="frequency", color="p_alive", title="P(alive) by frequency and recency",
                   color_continuous_scale="RdYlGn"),
    ]


CLV = register(Analysis(
    name="clv", title="Customer lifetime value",
    question="How much will each customer buy over the horizon, and how likely are they still active?",
    run=_run, params=ClvParams, charts=_charts, order_by={"customers": ("clv", True)},
))
