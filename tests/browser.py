"""A real headless browser for tests: Debian's chromium driven by Playwright (shared by page and slides tests).

    def test_x(browser):                       # the session fixture in conftest.py
        with open_page(browser, folder / "index.html") as tab:
            tab.page.click("button")
        assert tab.errors == [] and tab.outside == []

`open_page` routes every request: anything outside the page's folder is
aborted and recorded in ``tab.outside``; console errors and uncaught
exceptions are recorded in ``tab.errors``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium") or "chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}


def launch(playwright):
    """Debian's chromium, headless, with no background traffic of its own."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError("chromium is not installed: run scripts/setup.sh (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)


@dataclass
class Tab:
    page: object
    root: str                                # requests must start with this URL
    errors: list = field(default_factory=list)
    outside: list = field(default_factory=list)
    requests: list = field(default_factory=list)


@contextlib.contextmanager
def open_page(browser, url_or_path, viewport=DESKTOP, root=None, init_script=None):
    """A new tab at ``url_or_path`` (a file path or URL); only requests under ``root`` (its folder) are let through."""
    url = Path(url_or_path).resolve().as_uri() if not str(url_or_path).startswith(("http:", "https:", "file:")) \
        else str(url_or_path)
    root = root or url.rsplit("/", 1)[0] + "/"
    context = browser.new_context(viewport=viewport)
    tab = Tab(context.new_page(), root)
    if init_script:
        tab.page.add_init_script(init_script)

    def route(r):
        tab.requests.append(r.request.url)
        if r.request.url.startswith(root) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            tab.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    tab.page.on("console", lambda m: m.type == "error" and tab.errors.append(m.text))
    tab.page.on("pageerror", lambda e: tab.errors.append(str(e)))
    try:
        tab.page.goto(url)
        yield tab
    finally:
        context.close()


def overflow(page) -> list[str]:
    """Elements whose content is cut off: wider than the viewport, or clipped by their own box."""
    return page.evaluate("""() => {
      const bad = [], W = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth > W) bad.push('page ' + document.documentElement.scrollWidth + ' > ' + W);
      for (const e of document.querySelectorAll('body *')) {
        const r = e.getBoundingClientRect(), s = getComputedStyle(e);
        if (!r.width || s.visibility === 'hidden' || e.closest('.visually-hidden')) continue;
        if (r.left < -0.5 || r.right > W + 0.5) bad.push(e.tagName + '#' + e.id + '.' + e.className + ' x ' + r.left + '..' + r.right);
        const clipsX = s.overflowX !== 'visible', scrollsY = s.overflowY === 'auto' || s.overflowY === 'scroll';
        if (clipsX && e.scrollWidth > e.clientWidth + 1) bad.push(e.tagName + '#' + e.id + ' scrollWidth ' + e.scrollWidth + ' > ' + e.clientWidth);
        if (s.overflowY === 'hidden' && e.scrollHeight > e.clientHeight + 1 && !e.closest('.visually-hidden')) bad.push(e.tagName + '#' + e.id + ' scrollHeight');
      }
      return bad;
    }""")


def low_contrast(page, normal=4.5, large=3.0) -> list[str]:
    """Visible text whose colour against its (opaque) background is below WCAG AA."""
    return page.evaluate("""([normal, large]) => {
      const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
      const lum = c => { const v = rgb(c).slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
                         return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      const bg = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor, a = rgb(c);
                          if (a.length === 3 || (a.length === 4 && a[3] === 1)) return c; } return 'rgb(255, 255, 255)'; };
      const bad = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n; (n = walker.nextNode());) {
        const e = n.parentElement;
        if (!n.textContent.trim() || !e.getClientRects().length || e.closest('.visually-hidden, noscript, script')) continue;
        const s = getComputedStyle(e), L1 = lum(s.color), L2 = lum(bg(e));
        const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
        const big = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && +s.fontWeight >= 700);
        if (ratio < (big ? large : normal)) bad.push(n.textContent.trim().slice(0, 40) + ': ' + ratio.toFixed(2));
      }
      return bad;
    }""", [normal, large])


@contextlib.contextmanager
def serve(folder):
    """A static HTTP server on 127.0.0.1 over ``folder`` (as any static host would serve it); yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
