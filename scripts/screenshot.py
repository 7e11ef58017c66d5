"""Screenshots of an HTML page in headless Chromium (Debian's chromium, driven by Playwright).

    .venv/bin/python scripts/screenshot.py demo/report.html docs/report-summary.png [--full]

Used by tests/test_report.py and to refresh the screenshots in docs/.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def screenshot(
    page_path: Path,
    out: Path,
    *,
    full: bool = False,
    width: int = 1280,
    height: int = 1600,
    scroll_to: str | None = None,
) -> list[str]:
    """Write a PNG of ``page_path``; returns the page's console errors."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(Path(page_path).resolve().as_uri())
        page.wait_for_timeout(500)
        if scroll_to:
            page.locator(scroll_to).scroll_into_view_if_needed()
            page.screenshot(path=str(out), full_page=False)
        else:
            page.screenshot(path=str(out), full_page=full)
        browser.close()
    return errors


if __name__ == "__main__":
    target, png = Path(sys.argv[1]), Path(sys.argv[2])
    anchor = next((a.split("=", 1)[1] for a in sys.argv[3:] if a.startswith("--at=")), None)
    problems = screenshot(target, png, full="--full" in sys.argv, scroll_to=anchor)
    print("\n".join(problems) or f"wrote {png}")
