"""The HTML report, rendered from the analyses' declarations: a summary first (what changed, who to call,
what to stop), then one section per analysis with its latest run in words, charts drawn from engine-side
aggregates over the whole result, and the top rows with names beside ids and numbers formatted.

Charts are interactive Plotly figures with plotly.js inlined once, so the file opens offline.

Example:
    >>> from pathlib import Path
    >>> from tempfile import mkdtemp
    >>> from salesintel.demo import generate_store
    >>> from salesintel.analyses import runner
    >>> store = generate_store(customers=300, seed=1)
    >>> _ = runner.run(store, "profiles")
    >>> page = build_report(store, Path(mkdtemp()) / "r.html").read_text()
    >>> "Summary" in page and "Customer profiles" in page
    True
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from salesintel.analyses import registry, results, runner
from salesintel.analyses.spec import Analysis, Output
from salesintel.formatting import readable
from salesintel.lazy import lazy
from salesintel.store import Store

pd = lazy("pandas")

PREVIEW_ROWS = 15
# what a sales manager reads first: who to call, what to offer, what sells with what; any other analysis after
READING_ORDER = ("decline", "offers", "reactivation", "rules", "basket_rules", "affinity", "clv", "profiles")


def build_report(store: Store, path: Path, *, title: str = "salesintel report") -> Path:
    """Write the report to ``path`` and return it."""
    from plotly.offline import get_plotlyjs

    latest = _latest_runs(store)
    sections, summary = [], []
    for name in latest:
        analysis = registry.get(name)
        run = latest.get(name)
        if run is None:
            continue
        if run["status"] in runner.KEPT_STATUSES:
            read = _reader(store, name)
            summary += _summary_lines(analysis, read)
            sections.append(_section(store, analysis, run, read))
        else:
            summary.append(f"{analysis.title}: {run['status']} ({run['note']}).")
            sections.append(_not_run_section(analysis, run))
    toc = "".join(f'<li><a href="#{n}">{html.escape(registry.get(n).title)}</a></li>' for n in latest)
    body = (
        f"<h1>{html.escape(title)}</h1><p class='meta'>Database: {html.escape(store.shown_url)}</p>"
        + _summary_html(summary)
        + f"<nav><h2>Contents</h2><ul>{toc}</ul></nav>"
        + "".join(sections)
    )
    if not latest:
        body += "<p>No analysis has run yet: salesintel analyze</p>"
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>{body}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


class _Reader:
    """What charts and summaries get: ``read(result)``, the whole latest result as an Ibis table (aggregate in
    the engine), and ``read.named(df, result)``, names beside the ids of a small pulled result."""

    def __init__(self, store: Store, analysis: Analysis) -> None:
        self.store, self.analysis = store, analysis

    def __call__(self, result: str):
        return results.read(self.store, self.analysis.name, result)

    def named(self, df: pd.DataFrame, result: str) -> pd.DataFrame:
        return results.with_names(self.store, df, self.analysis.outputs[result])


def _reader(store: Store, name: str) -> _Reader:
    return _Reader(store, registry.get(name))


def _summary_lines(analysis: Analysis, read) -> list[str]:
    try:
        return analysis.summary(read) if analysis.summary else []
    except Exception as exc:  # a summary must never cost the whole report
        return [f"{analysis.title}: summary not available ({type(exc).__name__})."]


def _summary_html(lines: list[str]) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines) or "<li>Nothing to report yet.</li>"
    return f"<section class='summary'><h2>Summary</h2><ul>{items}</ul></section>"


def _section(store: Store, analysis: Analysis, run: dict, read) -> str:
    import plotly.io as pio

    try:
        figures = analysis.charts(read) if analysis.charts else []
    except Exception as exc:
        figures, note = (
            [],
            f"<p class='warn'>Charts not drawn: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}</p>",
        )
    else:
        note = ""
    for fig in figures:
        fig.update_layout(template="plotly_white", margin={"t": 60, "l": 10, "r": 10, "b": 10}, height=420)
    charts = "".join(pio.to_html(f, full_html=False, include_plotlyjs=False) for f in figures)
    tables = "".join(_table_html(store, analysis, result, output) for result, output in analysis.outputs.items())
    return (
        f'<section id="{analysis.name}"><h2>{html.escape(analysis.title)}</h2>'
        f'<p class="q">{html.escape(analysis.question)}</p>{_run_words(analysis, run)}{note}{charts}{tables}</section>'
    )


def _not_run_section(analysis: Analysis, run: dict) -> str:
    return (
        f'<section id="{analysis.name}"><h2>{html.escape(analysis.title)}</h2>'
        f'<p class="q">{html.escape(analysis.question)}</p><p class="warn">Latest run {run["status"]}: '
        f"{html.escape(str(run['note']))}</p></section>"
    )


def _run_words(analysis: Analysis, run: dict) -> str:
    """The run in words: when, as of which day, and the parameters as phrases ("within 180 days")."""
    specs = {s.name: s for s in analysis.params.specs()}
    phrases = []
    for key, value in run["params"].items():
        spec = specs.get(key)
        if spec is None or key == "as_of" or value is None:
            continue
        label = spec.label or (spec.help.rstrip(".") + ": {}")
        shown = "yes" if value is True else "no" if value is False else value
        phrases.append(label.format(f"{shown:,}" if isinstance(shown, (int, float)) else shown))
    when = pd.Timestamp(run["started_at"]).strftime("%Y-%m-%d %H:%M")
    as_of = pd.Timestamp(run["as_of"]).strftime("%Y-%m-%d") if run["as_of"] is not None else "the last order"
    note = f" Fallback used: {run['note']}." if run["status"] == "fallback" else ""
    return (
        f"<p class='meta'>Data as of {as_of}; computed {when} UTC; settings: "
        f"{html.escape(', '.join(phrases)) or 'default settings'}.{html.escape(note)}</p>"
    )


def _table_html(store: Store, analysis: Analysis, result: str, output: Output) -> str:
    table = results.read(store, analysis.name, result)
    total = int(table.count().execute())
    df = results.with_names(store, table.limit(PREVIEW_ROWS).execute(), output)
    shown = _readable(df, output)
    head = html.escape(result.replace("_", " ").capitalize())
    caption = (
        f"{html.escape(output.grain.capitalize())}: "
        f"{f'the first {min(PREVIEW_ROWS, total):,} of {total:,}' if total else 'no rows in this run'}. "
        f"All of them{', with every column' if output.brief else ''}: "
        f"<code>salesintel show {analysis.name} --result {result} --format csv</code>"
    )
    table_html = shown.to_html(index=False, escape=False, na_rep="", border=0, classes="t")
    return f"<h3>{head}</h3><p class='meta'>{caption}</p><div class='scroll'>{table_html}</div>"


def _readable(df: pd.DataFrame, output: Output) -> pd.DataFrame:
    """The people's view of the rows (see :func:`salesintel.formatting.readable`), escaped for HTML."""
    shown, long = readable(df, output)
    return pd.DataFrame(
        {
            html.escape(label): shown[label].map(html.escape).map(lambda t: f"<div class='long'>{t}</div>")
            if label in long
            else shown[label].map(html.escape)
            for label in shown.columns
        }
    )


def _latest_runs(store: Store) -> dict[str, dict]:
    """The newest run of each analysis, whatever its status (a failure is reported, not hidden)."""
    runs = store.table("analysis_runs")
    df = runs.order_by(runs.started_at.desc()).execute()
    out: dict[str, dict] = {}
    for row in df.to_dict("records"):
        if row["analysis"] in registry.names():
            out.setdefault(row["analysis"], row)
    for row in out.values():
        row["params"] = json.loads(row["params"] or "{}")
    order = [n for n in READING_ORDER if n in out] + [
        n for n in registry.names() if n in out and n not in READING_ORDER
    ]
    return {n: out[n] for n in order}


_CSS = """
body{font-family:system-ui,-apple-system,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{color:#6b4226}h2{border-bottom:2px solid #6b4226;padding-bottom:.2rem;margin-top:2.5rem}
.summary{background:#f8f3ee;border-left:6px solid #6b4226;padding:.5rem 1.5rem;margin:1rem 0}
.summary li{margin:.4rem 0;font-size:1.05rem}
.q{font-style:italic}code{background:#f4ede6;padding:0 .3rem}.scroll{overflow-x:auto}
.meta{color:#666;font-size:.85rem}.warn{color:#a33;font-weight:600}
nav ul{columns:2}
table.t{border-collapse:collapse;font-size:.82rem;margin-bottom:1.5rem;width:100%}
table.t th,table.t td{padding:.25rem .5rem;border-bottom:1px solid #e3dcd5;text-align:left;vertical-align:top}
table.t th{background:#f4ede6;font-weight:600}
table.t td{white-space:nowrap}.long{white-space:normal;min-width:22rem}
"""
