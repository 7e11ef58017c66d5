"""Render the latest result of every registered analysis into one self-contained HTML file.

Charts are interactive Plotly figures with plotly.js inlined once, so the file opens offline.

Example:
    >>> # build_report(Store.open("demo/salesintel.duckdb"), Path("report.html"))
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from salesintel.analyses import registry
from salesintel.store import Store

PREVIEW_ROWS = 15


def build_report(store: Store, path: Path, *, title: str = "salesintel report") -> Path:
    """Write the report to ``path`` and return it."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    sections, runs = [], _latest_runs(store)
    for name in registry.names():
        analysis = registry.get(name)
        frames = _frames(store, analysis)
        if not frames:
            continue
        figures = analysis.charts(frames) if analysis.charts else []
        charts = "".join(pio.to_html(f, full_html=False, include_plotlyjs=False) for f in figures)
        tables = "".join(_table_html(analysis, res, df) for res, df in frames.items())
        meta = runs.get(name, {})
        sections.append(
            f'<section id="{name}"><h2>{html.escape(analysis.title)}</h2>'
            f'<p class="q">{html.escape(analysis.question)}</p>'
            f'<p class="meta">run {meta.get("run_id", "?")} at {meta.get("started_at", "?")}, parameters '
            f'{html.escape(str(meta.get("params", "{}")))}</p>{charts}{tables}</section>')
    toc = "".join(f'<li><a href="#{n}">{html.escape(registry.get(n).title)}</a></li>' for n in registry.names()
                  if f'id="{n}"' in "".join(sections))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p>Database: {html.escape(store.url)}</p><ul>{toc}</ul>"
            f"{''.join(sections) or '<p>No analysis has run yet: salesintel analyze</p>'}</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _frames(store: Store, analysis: registry.Analysis) -> dict[str, pd.DataFrame]:
    """Every stored result of ``analysis`` as a DataFrame, capped to what charts and tables need."""
    out = {}
    for table in store.list_tables():
        prefix = f"result_{analysis.name}"
        if table != prefix and not table.startswith(prefix + "_"):
            continue
        result = analysis.name if table == prefix else table[len(prefix) + 1:]
        if result.endswith("__new"):
            continue
        t = store.table(table)
        col, desc = analysis.order_by.get(result, (None, False))
        if col and col in t.columns:
            t = t.order_by(t[col].desc() if desc else t[col])
        out[result] = t.limit(5000).execute()
    return out


def _table_html(analysis: registry.Analysis, result: str, df: pd.DataFrame) -> str:
    shown = df.drop(columns=["run_id"], errors="ignore").head(PREVIEW_ROWS)
    return (f"<h3>{html.escape(result)} <small>({len(df):,} rows shown of the stored result; "
            f"salesintel show {analysis.name} --result {result})</small></h3>"
            + shown.to_html(index=False, float_format=lambda x: f"{x:,.3f}", na_rep="", border=0, classes="t"))


def _latest_runs(store: Store) -> dict[str, dict]:
    runs = store.table("analysis_runs")
    df = runs.filter(runs.status == "ok").order_by(runs.started_at.desc()).execute()
    out: dict[str, dict] = {}
    for row in df.to_dict("records"):
        out.setdefault(row["analysis"], row)
    for row in out.values():
        row["params"] = json.loads(row["params"] or "{}")
    return out


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222}
h2{border-bottom:2px solid #6b4226;padding-bottom:.2rem;margin-top:2.5rem}
.q{font-style:italic}.meta{color:#777;font-size:.85rem}
table.t{border-collapse:collapse;font-size:.8rem;margin-bottom:1rem}
table.t th,table.t td{padding:.2rem .5rem;border-bottom:1px solid #ddd;text-align:right}
table.t th{background:#f4ede6}
"""
