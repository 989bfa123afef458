"""axe-core in Debian's chromium: the accessibility audit of a published page (WCAG 2.0–2.2 A and AA, best practice).

    found = audit("lesson/index.html")          # {"1280×720": [Violation, ...], "390×844": [...]}
    found = violations(page)                     # a Playwright page already open (the browser tests)
    why = unavailable()                          # None, or why the audit cannot run here

axe-core comes from the npm registry (scripts/setup.sh fetches it as it fetches reveal.js) and is
injected into the page as a script: the audit makes no request of its own.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AXE_VERSION", "TAGS", "VIEWPORTS", "Violation", "AxeUnavailable", "axe_script", "chromium",
           "unavailable", "violations", "audit", "describe"]

#: axe-core as fetched by scripts/setup.sh (npm; MPL-2.0).
AXE_VERSION = "4.14.1"
#: The rule sets every page must pass with zero violations.
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
#: A laptop and a phone (CSS pixels).
VIEWPORTS = {"1280×720": {"width": 1280, "height": 720}, "390×844": {"width": 390, "height": 844}}
_LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


class AxeUnavailable(Exception):
    """axe-core, chromium or Playwright is not installed; the message says which and how to get it."""


@dataclass(frozen=True)
class Violation:
    """One axe-core rule a page breaks: its id, impact, help text and the CSS selectors of the elements."""

    id: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        more = f" (+{len(self.targets) - 3})" if len(self.targets) > 3 else ""
        return f"{self.id} [{self.impact}] on {len(self.targets)}: {', '.join(self.targets[:3])}{more}"


def axe_script() -> Path:
    """axe.min.js: $KDANIM_AXE (a file), else <venv>/share/kdanim/axe-core-VERSION/axe.min.js."""
    env = os.environ.get("KDANIM_AXE")
    path = Path(env) if env else Path(sys.prefix) / "share" / "kdanim" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
    if not path.is_file():
        raise AxeUnavailable(f"axe-core {AXE_VERSION} is not installed ({path}): run scripts/setup.sh, "
                             f"which fetches it with npm")
    return path


def chromium() -> Path:
    """Debian's chromium (the browser the page tests drive)."""
    found = Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    if not found:
        raise AxeUnavailable("chromium is not installed: run scripts/setup.sh --test (apt-get install chromium)")
    return Path(found)


def unavailable() -> str | None:
    """Why the audit cannot run on this machine (None: it can)."""
    try:
        axe_script()
        chromium()
    except AxeUnavailable as e:
        return str(e)
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed: pip install 'kdanim[test]'"
    return None


def violations(page, tags=TAGS) -> list[Violation]:
    """Run axe-core on an open Playwright ``page`` (injecting it if needed); the rules it breaks."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=axe_script().read_text(encoding="utf-8"))
    found = page.evaluate("""async (tags) => {
      // no CSSOM preload: it refetches the style sheets by XHR, which file:// refuses (only an experimental
      // rule, outside these tags, reads it); the media preload stays (no-autoplay-audio reads it)
      const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
                                         preload: {assets: ['media'], timeout: 10000}});
      return r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
                                     targets: v.nodes.map(n => n.target.join(' '))}));
    }""", list(tags))
    return [Violation(v["id"], v["impact"], v["help"], tuple(v["targets"])) for v in found]


def _settle(page) -> None:
    """Wait until the page is drawn as a reader sees it: a deck's reveal.js ready, a video's metadata loaded."""
    page.wait_for_function("() => !window.Reveal || (Reveal.isReady && Reveal.isReady())", timeout=20000)
    try:  # a page whose video this browser cannot play is audited as it is (with its note)
        page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return !v || v.readyState >= 1 || !!v.error; }", timeout=5000)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError
        pass


def audit(path, viewports=VIEWPORTS, tags=TAGS) -> dict[str, list[Violation]]:
    """Open the page file ``path`` in a headless chromium at each viewport; {viewport name: violations}.

    Runs in a thread of its own: Playwright's sync API refuses a thread with an event loop running (a
    caller's asyncio, or another Playwright session).
    """
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kdanim-axe") as pool:
        return pool.submit(_audit, path, viewports, tags).result()


def _audit(path, viewports, tags) -> dict[str, list[Violation]]:
    script, browser_path = axe_script(), chromium()
    from playwright.sync_api import sync_playwright  # a test extra: kdanim[test]

    url = Path(path).resolve().as_uri()
    found = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(browser_path), args=_LAUNCH_ARGS)
        try:
            for name, size in viewports.items():
                context = browser.new_context(viewport=size)
                try:
                    page = context.new_page()
                    page.goto(url)
                    _settle(page)
                    page.add_script_tag(content=script.read_text(encoding="utf-8"))
                    found[name] = violations(page, tags)
                finally:
                    context.close()
        finally:
            browser.close()
    return found


def describe(found: dict[str, list[Violation]] | list[Violation]) -> str:
    """The violations, one line each (id, impact, the elements), for a failing test or a check row."""
    if isinstance(found, list):
        return "\n".join(str(v) for v in found)
    return "\n".join(f"{name}: {v}" for name, vs in found.items() for v in vs)


if __name__ == "__main__":  # python -m kdanim.publish.axe PAGE.html: the violations as JSON
    print(json.dumps({k: [v.__dict__ for v in vs] for k, vs in audit(sys.argv[1]).items()}, indent=1,
                     ensure_ascii=False))
