"""The report as a sales manager sees it: rendered in a real headless Chromium, no script errors, the
summary first, names beside ids, failed or skipped analyses shown with their reason."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from salesintel.analyses import runner
from salesintel.demo import generate_store
from salesintel.report import build_report

sys.path.insert(0, str(ROOT / "scripts"))

needs_browser = pytest.mark.skipif(
    shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists(),
    reason="chromium is not installed (apt-get install chromium; .ci/run does)",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    store = generate_store(customers=1500, seed=11)
    runner.run_all(store)
    runner.run(store, "rules", window_days=365, min_customers=10_000_000)  # kept, empty
    runner.run(store, "affinity", as_of=__import__("datetime").date(2000, 1, 1))  # skipped: before the data
    return build_report(store, tmp_path_factory.mktemp("report") / "report.html")


def test_summary_comes_first_and_says_who_to_call(report: Path) -> None:
    page = report.read_text()
    assert page.index("Summary") < page.index("<section id=")
    assert "Call first:" in page and "a year at risk" in page
    assert "Latest run skipped" in page and "no orders up to the as-of date" in page  # affinity, with its reason


def test_tables_show_names_and_formatted_numbers(report: Path) -> None:
    page = report.read_text().split("</head>", 1)[1]  # the page, without the inlined plotly.js
    assert "Bellissima dual boiler" in page or "Aria espresso machine" in page  # product names, not only codes
    assert "run_id" not in page and "{'" not in page  # no run ids or Python dicts
    assert "%</td>" in page  # shares as percentages


@needs_browser
def test_the_report_renders_in_a_real_browser(report: Path, tmp_path: Path) -> None:
    from screenshot import screenshot

    errors = screenshot(report, tmp_path / "top.png")
    assert errors == []
    assert (tmp_path / "top.png").stat().st_size > 50_000
