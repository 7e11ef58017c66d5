"""The HTML report: every registered analysis that has run, with its charts and top rows."""

from salesintel.report.html import build_report

__all__ = ["build_report"]
