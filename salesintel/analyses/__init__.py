"""Analyses, one module per business question, each registered once in :mod:`registry`."""

from salesintel.analyses import profiles  # noqa: F401 - registers

__all__ = ["profiles"]
