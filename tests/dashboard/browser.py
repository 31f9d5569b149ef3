"""Helpers of the dashboard's browser tests: Debian's Chromium through Playwright, pages that
record what they fetch and what they log, screenshots for docs/screenshots/, and waiting with a
timeout.

Playwright cannot download its own browsers here, so it launches the system's ``chromium`` (or
``SPINDIFF_CHROMIUM``) headless with the flags that work on these machines: ``CHROMIUM_FLAGS``
(no sandbox, no GPU, no background networking, component updates, sync or first-run set-up).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The committed screenshots are refreshed only on request (SPINDIFF_UPDATE_SCREENSHOTS=1 make test);
# ordinary runs (CI included) write them to a scratch directory so a test run leaves the tree clean.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("SPINDIFF_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "spindiff-screenshots"
)
API_KEY = "dashboard-test-key"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# what Chromium logs for any 4xx/5xx fetch (a 401 before the key, the 422 of a bad form value)
EXPECTED_CONSOLE = ("Failed to load resource",)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("SPINDIFF_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass
class Watched:
    """What the pages of one browser context did: every request URL, console errors, page errors."""

    origin: str
    requests: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def attach(self, context) -> None:
        context.on("request", self._request)
        context.on("page", self._page)

    def _request(self, request) -> None:
        self.requests.append(request.url)
        if request.method == "POST":
            self.posts.append(request.url.removeprefix(self.origin))

    def _page(self, page) -> None:
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console {message.type}: {message.text}")
                if message.type == "error" and not message.text.startswith(EXPECTED_CONSOLE)
                else None
            ),
        )

    def foreign(self) -> list[str]:
        """Requests that left the service's origin (a CDN, a font host): there must be none."""
        return [url for url in self.requests if not url.startswith((self.origin + "/", "data:", "blob:"))]


def new_context(browser, origin: str, viewport: dict = LAPTOP, key: str | None = API_KEY, color_scheme: str = "light"):
    """A browser context on the service, its API key already in each tab's sessionStorage (as
    after typing it once), unless ``key`` is None; ``color_scheme`` is the system setting the
    pages see (``"light"`` or ``"dark"``)."""
    context = browser.new_context(
        color_scheme=color_scheme,
        viewport=viewport,
        base_url=origin,
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
        accept_downloads=True,
    )
    context.set_default_timeout(30_000)
    if key is not None:
        # runs in every document, about:blank included (no storage there)
        script = f"if (location.origin === {json.dumps(origin)}) sessionStorage.setItem('spindiff.apiKey', {json.dumps(key)});"
        context.add_init_script(script)
    watched = Watched(origin)
    watched.attach(context)
    return context, watched


def screenshot(target, name: str, full_page: bool = True) -> Path:
    """A PNG of a page (all of it, or the window only) or of one element into SCREENSHOTS/NAME.png
    (docs/screenshots/, linked from the README, when SPINDIFF_UPDATE_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if hasattr(target, "goto") and full_page:
        # a whole page is captured in one piece: sticky bars (the form's Generate bar) would be drawn where
        # the window's bottom was, over the middle of the page; they sit where they belong while it is taken
        unstick = """(on) => { for (const e of document.querySelectorAll('.submit-bar'))
            e.style.position = on ? 'static' : ''; }"""
        target.evaluate(unstick, True)
        target.screenshot(path=str(path), full_page=True, animations="disabled")
        target.evaluate(unstick, False)
    elif hasattr(target, "goto"):
        target.screenshot(path=str(path), full_page=False, animations="disabled")
    else:
        target.screenshot(path=str(path), animations="disabled")
    return path


def fits_width(page) -> bool:
    """Nothing wider than the window: no sideways scrolling of the whole page."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def wait_js(page, expression: str, timeout: float = 30.0, interval: float = 0.1):
    """Poll a JavaScript expression (or ``() => …`` function) until it is truthy; returns its value.

    Playwright's own ``wait_for_function`` polls through ``eval`` inside the page, which the
    dashboard's Content-Security-Policy (rightly) forbids; ``evaluate`` is not affected.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{expression!r} stayed falsy for {timeout} s on {page.url}")
        time.sleep(interval)


# WCAG 2 contrast of every visible text node's colour against the background it is drawn on (the
# first opaque background of its ancestors); large text (24 px, or 18.66 px bold) needs 3, the rest
# 4.5. Disabled controls are exempt (WCAG 1.4.3); text inside SVG charts is not walked (its colour
# is a fill: the charts' text uses the same --text and --muted variables as the page).
_CONTRAST = """() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); } return [255, 255, 255]; };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest("svg, [disabled], option, script")) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === "hidden" || box.width === 0 || box.height === 0 || el.closest("[hidden], .sr-only")) continue;
    const [a, b] = [lum(parse(style.color).slice(0, 3)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push(`${ratio.toFixed(2)} ${el.tagName.toLowerCase()}.${el.className}: ${node.textContent.trim().slice(0, 40)}`);
  }
  return [...new Set(bad)];
}"""


def low_contrast(page) -> list[str]:
    """Visible text of ``page`` below WCAG AA contrast against its background: ``'3.12 span.hint: …'`` each."""
    return page.evaluate(_CONTRAST)
