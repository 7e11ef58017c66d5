"""The analysis date: every analysis sees the data as it was on ``as_of`` (default: the last order's date)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from salesintel.errors import InsufficientData
from salesintel.lazy import lazy

ibis = lazy("ibis")
ir = lazy("ibis.expr.types")


def resolve_as_of(orders: ir.Table, as_of: date | None) -> date:
    """``as_of``, or the date of the last order when none is given.

    >>> import ibis, datetime as d
    >>> t = ibis.memtable({"ordered_at": [d.datetime(2024, 5, 1, 10)]})
    >>> resolve_as_of(t, None)
    datetime.date(2024, 5, 1)
    """
    if as_of is not None:
        return as_of
    last = orders.ordered_at.max().execute()
    if last is None or (hasattr(last, "year") is False):
        raise InsufficientData("there are no orders yet; load orders first (salesintel load orders FILE)")
    return last.date() if isinstance(last, datetime) else last


def orders_until(orders: ir.Table, as_of: date) -> ir.Table:
    """Orders placed on or before ``as_of`` (everything later is treated as not yet happened)."""
    return orders.filter(
        orders.ordered_at < ibis.literal(datetime.combine(as_of + timedelta(days=1), datetime.min.time()))
    )


def days_between(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    """Whole calendar days from ``earlier`` to ``later`` (dates, not timestamps: engines agree on these)."""
    return later.delta(earlier, unit="day")
