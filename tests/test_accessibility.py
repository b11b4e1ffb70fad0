"""The page for a keyboard and for assistive tech: axe-core finds nothing serious, a whole run goes by
keyboard alone, nothing moves for a user who asks for reduced motion, and the narration is announced
once per sentence."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from test_page import open_page, page, run_to_end, server  # noqa: F401 - the shared fixtures

AXE = Axe()  # axe-core as the package ships it: nothing is fetched at run time


def serious_violations(page):
    """axe-core's serious and critical findings on the page as it is now, as 'rule: target, ...'."""
    found = AXE.run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): " + ", ".join(str(node["target"]) for node in v["nodes"])
            for v in found if v["impact"] in ("serious", "critical")]


def pause_at_the_first_block(page):
    """A blocking run of `sequential`, paused by itself ("pause at key moments") while the picture shows
    the loop blocked."""
    page.select_option("#speed", "5")
    page.click("#run")
    page.wait_for_function("() => window.loopscope.player.pausedFor && !document.querySelector('[data-blocked]').hidden")


@pytest.mark.parametrize("moment", ["at load", "paused while blocked", "with asyncio internals"])
def test_axe_finds_no_serious_violation(page, server, moment):  # noqa: F811
    open_page(page, server, "?scenario=sequential&blocking=1")
    if moment != "at load":
        pause_at_the_first_block(page)
        expect(page.locator("[data-blocked]")).to_be_visible()
    if moment == "with asyncio internals":
        page.evaluate("() => { window.loopscope.player.pause(); window.loopscope.player.seek(1e9); }")
        page.check("#internals")
        expect(page.locator("[data-log]")).to_be_visible()
    violations = serious_violations(page)
    assert violations == [], "\n".join(violations)


def focus(page, selector, key="Tab", most=40):
    """Press Tab (or Shift+Tab) until `selector` has the focus."""
    for _ in range(most):
        if page.evaluate(f"() => document.activeElement === document.querySelector('{selector}')"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {selector}")


def cursor(page):
    return page.evaluate("() => window.loopscope.player.cursor")


def test_a_blocking_run_by_keyboard_alone(page, server):  # noqa: F811
    open_page(page, server)
    focus(page, "#scenario")
    for _ in range(20):  # a closed <select> takes the arrows: the learner walks the list
        if page.input_value("#scenario") == "sequential":
            break
        page.keyboard.press("ArrowDown")
    assert page.input_value("#scenario") == "sequential"
    expect(page.locator("#title")).not_to_be_empty()
    focus(page, "#blocking")
    page.keyboard.press("Space")  # the checkbox's own Space: it ticks, nothing plays
    assert page.is_checked("#blocking")
    assert page.evaluate("() => window.loopscope.player.playing") is False
    focus(page, "#speed")
    page.keyboard.press("ArrowUp")  # ½×: slow enough to pause by hand
    assert page.input_value("#speed") == "0.5"
    focus(page, "#pause-key")
    page.keyboard.press("Space")
    assert not page.is_checked("#pause-key")
    page.keyboard.press("r")  # the shortcut, while the checkbox has the focus: R is not the checkbox's
    page.wait_for_function("() => window.loopscope.player.playing && window.loopscope.player.cursor > 0")
    focus(page, "#play", key="Shift+Tab")
    page.keyboard.press("Space")  # the Play button's own Space: it pauses
    page.wait_for_function("() => !window.loopscope.player.playing")
    here = cursor(page)
    page.keyboard.press("ArrowRight")
    assert cursor(page) == here + 1
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert cursor(page) == here - 1
    blocked = page.locator("[data-blocked]")
    last = page.evaluate("() => window.loopscope.page.trace.events.length - 1")
    while not blocked.is_visible() and cursor(page) < last:  # on, one event at a time, to a block
        page.keyboard.press("ArrowRight")
    while not blocked.is_visible() and cursor(page) > 0:  # or back to it, if it was behind us
        page.keyboard.press("ArrowLeft")
    expect(blocked).to_be_visible()
    expect(blocked).to_contain_text("by time.sleep() at line")
    expect(page.locator("#source li.blocked")).to_have_count(1)
    focus(page, "#source")  # a region the keyboard reaches: its arrows and Space scroll it, not the run
    here = cursor(page)
    for key in ("ArrowLeft", "Space", "PageDown"):
        page.keyboard.press(key)
    assert cursor(page) == here
    assert page.evaluate("() => window.loopscope.player.playing") is False
    focus(page, "#play", key="Shift+Tab")
    for _ in range(200):  # and back, one event at a time, to before it
        if not blocked.is_visible():
            break
        page.keyboard.press("ArrowLeft")
    expect(blocked).to_be_hidden()


def test_a_focused_scrollable_region_keeps_its_scroll_keys(page, server):  # noqa: F811
    open_page(page, server, "?scenario=sequential")
    run_to_end(page)
    end = cursor(page)
    source = page.locator("#source")
    source.focus()
    for key in ("ArrowLeft", "Shift+ArrowLeft", "Space", "ArrowDown", "End"):
        page.keyboard.press(key)
        assert cursor(page) == end, key
        assert page.evaluate("() => window.loopscope.player.playing") is False, key
    page.evaluate("() => { window.before = window.loopscope.page.trace; }")
    page.keyboard.press("r")  # a key a region does not use is still the page's
    page.wait_for_function("() => window.loopscope.page.trace !== window.before")


# On every chip change in the loop picture: how many animations (CSS or Web Animations) are running.
COUNT_ANIMATIONS = """() => {
    window.animated = [];
    new MutationObserver(() => window.animated.push(document.getAnimations().length))
        .observe(document.querySelector('#loop'), { childList: true, subtree: true, attributes: true });
}"""


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_nothing_moves_for_reduced_motion(page, server, motion):  # noqa: F811
    page.emulate_media(reduced_motion=motion)
    open_page(page, server, "?scenario=tasks&blocking=1")
    page.set_checked("#pause-key", False)
    assert page.input_value("#speed") == "1"  # chips glide at 1× (faster, they jump)
    page.evaluate(COUNT_ANIMATIONS)
    page.click("#run")
    page.wait_for_function("() => !document.querySelector('[data-finished]').hidden")
    animated = page.evaluate("() => window.animated")
    assert len(animated) > 10, "the picture changed all along the run"
    if motion == "reduce":
        assert max(animated) == 0
    else:
        assert max(animated) > 0, "chips glide when motion is welcome (so the sampling sees animations)"


def test_the_narration_is_a_polite_live_region_said_once_per_sentence(page, server):  # noqa: F811
    open_page(page, server, "?scenario=sequential")
    narration = page.locator("#narration")
    expect(narration).to_have_attribute("aria-live", "polite")
    expect(narration).to_have_attribute("aria-atomic", "true")
    page.set_checked("#pause-key", False)
    page.select_option("#speed", "5")
    page.evaluate("""() => {
        window.said = [];
        new MutationObserver((records) => { for (const r of records) if (r.addedNodes.length) window.said.push(
            [...r.addedNodes].map(n => n.textContent).join('')); })
            .observe(document.querySelector('#narration'), { childList: true });
    }""")
    page.click("#run")
    page.wait_for_function("() => !document.querySelector('[data-finished]').hidden")
    said = page.evaluate("() => window.said")
    assert len(said) > 3
    again = [sentence for before, sentence in zip(said, said[1:]) if sentence == before]
    assert again == [], "a sentence put on the live region twice in a row is announced twice"
