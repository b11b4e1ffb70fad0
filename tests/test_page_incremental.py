"""The page draws incrementally (views keep what did not change, fold from the nearest checkpoint,
skip sections out of view): what it draws at a position must be what a fresh page draws there."""

import json

import pytest

from conftest import trace
from test_page import page, server  # noqa: F401 - fixtures

# 300 tasks sharing a semaphore and a queue, printing now and then: every area has more chips than it
# draws, the objects panel has a semaphore, a queue and an await chain, and the trace (about 8,000
# events) spans several checkpoints.
PROGRAM = """\
import asyncio, random
rng = random.Random(5)
async def worker(i, slots, done):
    async with slots:
        await asyncio.sleep(rng.random())
    await done.put(i)
    if i % 50 == 0:
        print(f"worker {i} done")
async def main():
    slots = asyncio.Semaphore(40)
    done = asyncio.Queue()
    tasks = [asyncio.create_task(worker(i, slots, done)) for i in range(300)]
    for _ in tasks:
        await done.get()
    await asyncio.gather(*tasks)
asyncio.run(main())
"""

DRAWN = ["#loop", "#objects", "#source", "#timeline", "#logs", "#coach", "#outcome-area", "#narration",
         "#position", "[data-finished]"]


@pytest.fixture(scope="module")
def trace_text():
    events = trace(PROGRAM, "workers.py", timeout=60)
    assert events[-1]["status"] == "ok" and len(events) > 6000, (len(events), events[-1])
    return json.dumps(events)


def loaded(page, server, trace_text, internals):
    page.goto(server.url)
    page.wait_for_selector("body[data-ready=true]")
    page.set_checked("#internals", internals)
    page.select_option("#speed", "max")
    page.evaluate("(text) => window.loopscope.load(JSON.parse(text))", trace_text)  # (as text: Playwright takes 15 s to pass 8,000 objects)


def drawn(page):
    """What the page shows, as markup (and whether each part is hidden); an empty class attribute (a
    class toggled on and off again) is none."""
    return page.evaluate("""(selectors) => Object.fromEntries(selectors.map((s) => {
        const e = document.querySelector(s).cloneNode(true);
        for (const d of e.querySelectorAll('[class=""]')) d.removeAttribute('class');
        return [s, `${e.hidden}|${e.innerHTML}`];
    }))""", DRAWN)


def fresh_at(page, server, trace_text, internals, index):
    loaded(page, server, trace_text, internals)
    page.evaluate("(index) => window.loopscope.player.seek(index)", index)
    # (two frames: the event log learns its height from a ResizeObserver, which reports after a layout;
    # read at once, a fresh page's log could still be drawn for a height of none)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    return drawn(page)


def same(incremental, scratch):
    found = differences(incremental, scratch)
    return not found or print(*found, sep="\n\n")


def differences(incremental, scratch):
    """Each part drawn otherwise, with both markups around where they first differ."""
    found = []
    for part in DRAWN:
        one, other = incremental[part], scratch[part]
        if one != other:
            at = next((i for i, (a, b) in enumerate(zip(one, other)) if a != b), min(len(one), len(other)))
            found.append((part, one[max(0, at - 150):at + 150], other[max(0, at - 150):at + 150]))
    return found


@pytest.mark.parametrize("internals", [False, True], ids=["plain", "internals"])
def test_the_picture_after_playing_and_scrubbing_back_is_the_picture_drawn_from_scratch(
        browser, page, server, trace_text, internals):  # noqa: F811 - fixtures
    loaded(page, server, trace_text, internals)
    page.evaluate("() => window.loopscope.player.play()")
    page.wait_for_function("() => !window.loopscope.player.playing", timeout=60_000)
    last = len(json.loads(trace_text)) - 1
    assert page.evaluate("() => window.loopscope.player.cursor") == last
    scratch = browser.new_page(viewport=page.viewport_size)
    try:
        assert same(drawn(page), fresh_at(scratch, server, trace_text, internals, last))
        # Back and forth as a scrubber drags (a far jump back, forward within a checkpoint's span,
        # one event back), then a step.
        for fraction in (0.12, 0.55, 0.3, 0.3004, 0.93):
            index = int(fraction * last)
            page.evaluate("""(index) => {
                const scrubber = document.querySelector('#scrubber');
                scrubber.value = String(index);
                scrubber.dispatchEvent(new Event('input', { bubbles: true }));
            }""", index)
            assert page.evaluate("() => window.loopscope.player.cursor") == index
            assert same(drawn(page), fresh_at(scratch, server, trace_text, internals, index)), index
        page.keyboard.press("ArrowLeft")
        index = int(0.93 * last) - 1
        assert page.evaluate("() => window.loopscope.player.cursor") == index
        assert same(drawn(page), fresh_at(scratch, server, trace_text, internals, index))
    finally:
        scratch.close()


def test_a_column_draws_twenty_chips_and_counts_the_rest(page, server, trace_text):  # noqa: F811 - fixtures
    loaded(page, server, trace_text, False)
    index = next(i for i, e in enumerate(json.loads(trace_text)) if e["kind"] == "loop.idle" and i > 2000)
    page.evaluate("(index) => window.loopscope.player.seek(index)", index)
    state = page.evaluate("""() => {
        const s = window.loopscope.page.state;
        return { waiting: Object.values(s.tasks).filter((t) => t.state === 'waiting').length, timers: s.timers.length };
    }""")
    assert state["waiting"] > 20 and state["timers"] > 20, state
    for area, count in (("waiting", state["waiting"]), ("timers", state["timers"])):
        assert page.locator(f'[data-area="{area}"] .chip').count() == 20
        assert page.get_attribute(f'[data-area="{area}"]', "data-more") == f"+{count - 20} more"
