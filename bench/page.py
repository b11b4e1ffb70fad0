"""Page benchmarks in headless Chromium: playing back a 3,000-task run, and frames per second.

    python bench/page.py

Traces the programs with the real engine (sandboxed), loads the traces into the page,
and measures with the browser's own instruments: PerformanceObserver long tasks for
main-thread stalls (target: none over 100 ms) and requestAnimationFrame for frames per
second while 500 tasks are on screen (target >= 50). Prints numbers; asserts nothing.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import trace  # noqa: E402
from servers import LiveServer  # noqa: E402
from test_page import CHROMIUM, FLAGS  # noqa: E402


def program(tasks):
    return (
        "import asyncio, random\n"
        "rng = random.Random(3)\n"
        "async def worker(i):\n"
        "    await asyncio.sleep(rng.random())\n"
        "    return i\n"
        "async def main():\n"
        f"    tasks = [asyncio.create_task(worker(i)) for i in range({tasks})]\n"
        "    for task in tasks:\n"
        "        await task\n"
        "asyncio.run(main())\n"
    )


def load(page, events):
    page.evaluate("(events) => window.loopscope.load(events)", events)


def playback_stalls(page, events):
    load(page, events)
    page.evaluate("""() => {
        window.stalls = [];
        new PerformanceObserver((list) => { for (const e of list.getEntries()) window.stalls.push(e.duration); })
            .observe({ type: 'longtask', buffered: false });
    }""")
    page.select_option("#speed", "max")
    started = page.evaluate("() => { window.loopscope.player.play(); return performance.now(); }")
    page.wait_for_function("() => !window.loopscope.player.playing", timeout=600_000)
    seconds = (page.evaluate("() => performance.now()") - started) / 1000
    stalls = page.evaluate("() => window.stalls")
    # Scrubbing: jump to ten far-apart positions.
    page.evaluate("() => { window.stalls = []; }")
    for fraction in (0.9, 0.1, 0.5, 0.99, 0.0, 0.75, 0.25, 0.6, 0.4, 1.0):
        page.evaluate(f"() => window.loopscope.player.seek(Math.floor({fraction} * (window.loopscope.page.trace.events.length - 1)))")
    scrub = page.evaluate("() => window.stalls")
    print(f"3,000-task run ({len(events):,} events) played as fast as possible in {seconds:.1f} s: "
          f"longest main-thread stall {max(stalls, default=0):.0f} ms ({len(stalls)} over 50 ms; target: none over 100 ms); "
          f"scrubbing to 10 positions: longest {max(scrub, default=0):.0f} ms")


def frames_per_second(page, events, motion="no-preference"):
    page.emulate_media(reduced_motion=motion)
    load(page, events)
    index = next(i for i, e in enumerate(events) if e["kind"] == "loop.idle")  # all 500 asleep
    page.evaluate(f"() => window.loopscope.player.seek({index})")
    waiting = page.evaluate("() => Object.values(window.loopscope.page.state.tasks).filter(t => t.state === 'waiting').length")
    page.select_option("#speed", "1")
    fps = page.evaluate("""() => new Promise((done) => {
        window.loopscope.player.play();
        let frames = 0;
        const start = performance.now();
        const count = (now) => {
            frames += 1;
            if (now - start < 3000) requestAnimationFrame(count);
            else { window.loopscope.player.pause(); done(frames / ((now - start) / 1000)); }
        };
        requestAnimationFrame(count);
    })""")
    print(f"playback at 1x (loop time) with {waiting} tasks waiting on screen ({motion} motion): "
          f"{fps:.0f} frames per second (target >= 50)")


def main():
    big = trace(program(3000), "stress3000.py", timeout=60)
    medium = trace(program(500), "stress500.py", timeout=60)
    assert big[-1]["status"] == "ok", big[-1]
    live = LiveServer()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(live.url)
            page.wait_for_selector("body[data-ready=true]")
            playback_stalls(page, big)
            frames_per_second(page, medium)
            frames_per_second(page, medium, "reduce")
            browser.close()
    finally:
        live.stop()


if __name__ == "__main__":
    main()
