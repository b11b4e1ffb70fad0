"""Make docs/screenshot.png (1440x900) and docs/presentation.png (presentation mode, 1920x1080): a real
run of the blocking `background-jobs` scenario, paused while the loop is blocked.

    .venv/bin/python scripts/screenshot.py

Starts its own server on a free port and Debian's chromium (headless).
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from servers import LiveServer  # noqa: E402
from conftest import CHROMIUM, FLAGS  # noqa: E402


def shoot(browser, url, out, viewport, present=False):
    """A real run of the blocking `background-jobs` scenario, paused while its third job's
    time.sleep holds the loop."""
    page = browser.new_page(viewport=viewport)
    page.emulate_media(reduced_motion="reduce")
    page.goto(f"{url}/?scenario=background-jobs&blocking=1" + ("&present=1" if present else ""))
    page.wait_for_selector("body[data-ready=true]")
    page.select_option("#speed", "max")
    page.click("#run")
    page.wait_for_function("() => window.loopscope.page.trace.ended && !window.loopscope.player.playing")
    page.evaluate("""() => {
        const l = window.loopscope, events = l.page.trace.events;
        const blocked = events.filter(e => e.kind === 'loop.blocked' && e.cause === 'sleep')[2];
        l.player.pause();
        l.player.seek(events.findIndex(e => e.kind === 'handle.begin' && e.handle === blocked.handle));
    }""")
    page.screenshot(path=str(out), clip={"x": 0, "y": 0, **viewport})
    page.close()
    print(f"wrote {out}")


def main():
    live = LiveServer()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            shoot(browser, live.url, ROOT / "docs" / "screenshot.png", {"width": 1440, "height": 900})
            shoot(browser, live.url, ROOT / "docs" / "presentation.png", {"width": 1920, "height": 1080}, present=True)
            browser.close()
    finally:
        live.stop()


if __name__ == "__main__":
    main()
