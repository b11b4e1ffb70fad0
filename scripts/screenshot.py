"""Make docs/screenshot.png: a real run of the blocking `background-jobs` scenario, paused while the loop is blocked.

    .venv/bin/python scripts/screenshot.py

Starts its own server on a free port and Debian's chromium (headless).
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from servers import LiveServer  # noqa: E402
from test_page import CHROMIUM, FLAGS  # noqa: E402


def main():
    live = LiveServer()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.emulate_media(reduced_motion="reduce")
            page.goto(f"{live.url}/?scenario=background-jobs&blocking=1")
            page.wait_for_selector("body[data-ready=true]")
            page.select_option("#speed", "max")
            page.click("#run")
            page.wait_for_function("() => window.loopscope.page.trace.ended && !window.loopscope.player.playing")
            # Pause inside the third job's step, while its time.sleep holds the loop.
            page.evaluate("""() => {
                const l = window.loopscope, events = l.page.trace.events;
                const blocked = events.filter(e => e.kind === 'loop.blocked')[2];
                l.player.pause();
                l.player.seek(events.findIndex(e => e.kind === 'handle.begin' && e.handle === blocked.handle));
            }""")
            out = ROOT / "docs" / "screenshot.png"
            page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": 1280, "height": 900})
            browser.close()
            print(f"wrote {out}")
    finally:
        live.stop()


if __name__ == "__main__":
    main()
