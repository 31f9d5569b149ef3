"""The dashboard's light and dark themes in Chromium: the pages follow the system setting
(prefers-color-scheme, CSS variables in dashboard.css), and every visible text has WCAG AA
contrast against its background in both, on the jobs page and a finished chip job's page."""

from __future__ import annotations

import pytest

from tests.dashboard.browser import SCREENSHOTS, low_contrast, screenshot, wait_js

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)").expect

BACKGROUND = "getComputedStyle(document.documentElement).backgroundColor"


def _luminance(css: str) -> float:
    r, g, b = (int(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_pages_follow_the_system_theme_with_readable_text(browse, finished_jobs, scheme):
    context, _ = browse(color_scheme=scheme)
    page = context.new_page()
    page.goto("/")
    chip_id = finished_jobs["chip"]["id"]
    expect(page.locator(f'tr[data-job-id="{chip_id}"]')).to_be_visible()
    wait_js(page, f"document.querySelector('tr[data-job-id=\"{chip_id}\"] .thumb img')?.naturalWidth > 0")
    background = _luminance(page.evaluate(BACKGROUND))
    assert (background < 0.2) if scheme == "dark" else (background > 0.9), page.evaluate(BACKGROUND)
    assert low_contrast(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # the window alone: the form and the table side by side
    page.screenshot(path=str(SCREENSHOTS / f"jobs-{scheme}-laptop.png"), animations="disabled")

    page.goto(f"/jobs/{chip_id}")
    expect(page.locator('[data-figure="latency"] svg')).to_be_visible()
    wait_js(page, "document.querySelector('.grid-img').naturalWidth > 0")
    assert low_contrast(page) == []
    page.locator("details.assumptions summary").click()  # the folded text too
    assert low_contrast(page) == []
    screenshot(page, f"job-chip-{scheme}-laptop")
