"""Playback in the page: paced by loop time, pausing at key moments, and never contradicting the controls."""

import pytest
from playwright.sync_api import expect

from conftest import child_processes
from servers import wait_until
from test_page import open_page, page, run_to_end, server  # noqa: F401 - the shared fixtures

# Records, on every frame from Run until the end of the run is on screen, what the page shows; and
# every change of the narration line. window.watched is set once the end is shown.
WATCH = """() => {
    const shown = (selector) => !document.querySelector(selector).hidden;
    const frames = [], sentences = [];
    new MutationObserver(() => sentences.push({ now: performance.now(), playing: window.loopscope.player.playing }))
        .observe(document.querySelector('#narration'), { childList: true, characterData: true, subtree: true });
    const frame = (now) => {
        const l = window.loopscope, event = l.page.trace.events[l.player.cursor];
        frames.push({ now, cursor: l.player.cursor, kind: event ? event.kind : null,
                      last: l.page.trace.ended && l.player.cursor === l.page.trace.events.length - 1,
                      blocked: shown('[data-blocked]'), forward: shown('[data-fastforward]'),
                      finished: shown('[data-finished]') });
        if (frames.at(-1).finished) window.watched = { frames, sentences };
        else requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
}"""


def watch_run(page, server, query):
    """Run at the default speed, without pausing at key moments; what was on screen, frame by frame, and
    when the narration changed."""
    open_page(page, server, query)
    assert page.input_value("#speed") == "1"
    page.set_checked("#pause-key", False)
    page.evaluate(WATCH)
    page.click("#run")
    page.wait_for_function("() => window.watched")
    watched = page.evaluate("() => window.watched")
    frames = [f for f in watched["frames"] if f["cursor"] >= 0]  # from the first event on screen
    return frames, watched["sentences"]


def share(frames, key):
    """The fraction of the playback's time during which frames[...][key] held (each frame lasts until the next)."""
    spans = [(later["now"] - each["now"], each[key]) for each, later in zip(frames, frames[1:])]
    return sum(span for span, held in spans if held) / sum(span for span, _ in spans)


def schedule_total(page, server, query):
    """Screen milliseconds the run of `query` takes at the default speed, by the player's own schedule."""
    open_page(page, server, query)
    run_to_end(page)
    page.select_option("#speed", "1")
    return page.evaluate("() => window.loopscope.player.schedule.extend(window.loopscope.page.trace.events).total")


@pytest.mark.parametrize("scenario", ["sequential", "tasks"])
def test_at_the_default_speed_a_blocking_run_plays_longer_and_shows_blocked_most_of_the_time(page, server, scenario):  # noqa: F811
    free = schedule_total(page, server, f"?scenario={scenario}")
    blocking = schedule_total(page, server, f"?scenario={scenario}&blocking=1")
    # Both take 2-3 s of loop time; the non-blocking one sleeps (fast-forwarded), the blocking one holds the loop.
    assert blocking > 1.2 * free, (blocking, free)
    frames, _ = watch_run(page, server, f"?scenario={scenario}&blocking=1")
    played = frames[-1]["now"] - frames[0]["now"]
    assert played > 0.9 * blocking, (played, blocking)  # a busy machine plays slower, never faster
    assert share(frames, "blocked") > 0.5
    assert all(f["finished"] == f["last"] for f in frames), "the end mark shows exactly once the end is on screen"


def test_an_idle_wait_is_fast_forwarded_under_a_label_and_narration_is_readable(page, server):  # noqa: F811
    frames, sentences = watch_run(page, server, "?scenario=sequential")
    forward = [f for f in frames if f["forward"]]
    assert forward, "the label showed while the loop slept"
    assert all(f["kind"] == "loop.idle" for f in forward)
    assert not frames[-1]["forward"]
    # The two sleeps (2 s and 1 s of loop time) each pass in half a second, with the label on.
    assert 0.15 < share(frames, "forward") < 0.6
    # While playing, a sentence stays at least a third of its reading time (1.2 s), when a weightier one
    # replaces it; the narration does not follow every event. (The page counts that time from the frame
    # that put the sentence up; the observer here sees each change when its frame has drawn, up to a
    # frame and a half apart: 375 ms, not 400.)
    playing = [each["now"] for each in sentences if each["playing"]]
    gaps = [later - each for each, later in zip(playing, playing[1:])]
    assert len(gaps) >= 2 and min(gaps) >= 375, gaps
    events = page.evaluate("() => window.loopscope.page.trace.events.length")
    assert len(playing) < events / 4, (len(playing), events)


def test_the_label_says_until_when_the_loop_sleeps(page, server):  # noqa: F811
    open_page(page, server, "?scenario=sequential")
    page.set_checked("#pause-key", False)
    # What the label showed, recorded in the page as it changes (a busy machine may let a test's
    # polling miss the half second it is on screen).
    page.evaluate("""() => {
        const label = document.querySelector('[data-fastforward]');
        window.shownLabels = [];
        new MutationObserver(() => { if (!label.hidden) window.shownLabels.push(label.textContent); })
            .observe(label, { attributes: true, childList: true, characterData: true, subtree: true });
    }""")
    page.click("#run")
    label = page.locator("[data-fastforward]")
    # (about 3 s of playback at 1x, slower on a busy machine: more than expect's 5 s at a load of 11)
    expect(page.locator("[data-finished]")).to_be_visible(timeout=30_000)
    expect(label).to_be_hidden()
    shown = page.evaluate("() => window.shownLabels")
    assert any("the loop sleeps until t=2 s" in text for text in shown), shown


def test_playback_pauses_at_the_first_block_and_space_goes_on(page, server):  # noqa: F811
    open_page(page, server, "?scenario=tasks&blocking=1")
    assert page.is_checked("#pause-key"), "on by default for scenarios"
    page.select_option("#speed", "5")
    page.click("#run")
    page.wait_for_function("() => window.loopscope.player.pausedFor !== null")
    event = page.evaluate("() => window.loopscope.page.trace.events[window.loopscope.player.cursor]")
    assert event["kind"] == "loop.blocked" and event["task"] == 2
    narration = page.locator("#narration")
    expect(narration).to_contain_text("Paused: the loop is blocked for the first time")
    expect(narration).to_contain_text("held the loop for 2 s in time.sleep() at line 19")
    expect(narration).to_contain_text("Press Play (Space) to go on")
    expect(page.locator("[data-blocked]")).to_be_visible()
    page.keyboard.press("Space")
    page.wait_for_function("() => window.loopscope.player.pausedFor !== null && window.loopscope.player.cursor > %d"
                          % page.evaluate("() => window.loopscope.player.cursor"))
    expect(narration).to_contain_text("Paused: a task finished. Task world is done")
    # (its step has not returned yet: the board says it is done all the same)
    expect(page.locator('#loop [data-area="active"] .chip.task', has_text="world")).to_have_text("world · done, its last step ending")
    expect(page.locator("#objects .chain-row", has_text="world · world()")).to_contain_text(
        "returned 'world is done', its last step ending")


def test_after_a_pause_at_a_key_moment_space_goes_on_whichever_control_was_clicked_last(page, server):  # noqa: F811
    open_page(page, server, "?scenario=tasks&blocking=1")
    page.click("#pause-key")  # (unticked)
    page.click("#run")
    page.wait_for_function("() => window.loopscope.player.playing")
    page.click("#pause-key")  # ticked while it plays, and focused: Space would untick it
    assert page.is_checked("#pause-key")
    page.wait_for_function("() => window.loopscope.player.pausedFor !== null")
    at = page.evaluate("() => window.loopscope.player.cursor")
    expect(page.locator("#play")).to_be_focused()
    page.keyboard.press("Space")
    page.wait_for_function("() => window.loopscope.player.cursor > %d" % at)
    assert page.is_checked("#pause-key")


def test_pausing_at_key_moments_is_off_for_your_own_code(page, server):  # noqa: F811
    open_page(page, server, "?scenario=own")
    assert not page.is_checked("#pause-key")
    page.select_option("#scenario", "tasks")
    assert page.is_checked("#pause-key")


def test_space_on_the_focused_blocking_checkbox_toggles_it_and_does_not_play(page, server):  # noqa: F811
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    page.focus("#blocking")
    page.keyboard.press("Space")
    assert page.is_checked("#blocking")
    page.keyboard.press("Space")
    assert not page.is_checked("#blocking")
    assert page.evaluate("() => window.loopscope.player.playing") is False


def test_stop_stops_the_playback(page, server):  # noqa: F811
    open_page(page, server, "?scenario=background-jobs")
    page.set_checked("#pause-key", False)
    page.click("#run")
    page.wait_for_function("() => window.loopscope.page.trace.ended && window.loopscope.player.cursor > 3")
    page.click("#stop")
    assert page.evaluate("() => window.loopscope.player.playing") is False
    cursor = page.evaluate("() => window.loopscope.player.cursor")
    page.evaluate("() => new Promise((done) => { let n = 0; const f = () => (++n < 20 ? requestAnimationFrame(f) : done()); f(); })")
    assert page.evaluate("() => window.loopscope.player.cursor") == cursor
    expect(page.locator("#status")).to_have_text("Playback stopped.")
    expect(page.locator("#play")).to_have_text("Play")


def test_stop_during_a_live_run_stops_the_run_and_its_playback(page, server):  # noqa: F811
    open_page(page, server, "?scenario=background-jobs")
    page.select_option("#clock", "real")
    page.click("#run")
    page.wait_for_function("() => window.loopscope.player.cursor > 0")
    page.click("#stop")
    assert page.evaluate("() => window.loopscope.player.playing") is False
    expect(page.locator("#status")).to_have_text("Run finished: stopped. The run was stopped.")


@pytest.mark.parametrize("change", [
    lambda on: on.set_checked("#blocking", True),
    lambda on: on.select_option("#clock", "real"),
    lambda on: on.select_option("#scenario", "sequential"),
], ids=["blocking", "clock", "scenario"])
def test_a_new_choice_clears_the_previous_run(page, server, change):  # noqa: F811
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    expect(page.locator('[data-area="done"] .chip')).not_to_have_count(0)
    change(page)
    assert page.evaluate("() => window.loopscope.page.trace.events.length") == 0
    expect(page.locator("#narration")).to_contain_text("Press Run to see")
    expect(page.locator("#loop .chip")).to_have_count(0)
    expect(page.locator("[data-output] li")).to_have_count(0)
    expect(page.locator("[data-finished]")).to_be_hidden()
    expect(page.locator("#position")).to_have_text("event 0 of 0")


def test_a_new_choice_during_a_live_run_stops_it_and_shows_none_of_it(page, server):  # noqa: F811
    open_page(page, server, "?scenario=background-jobs")
    page.select_option("#clock", "real")
    page.click("#run")
    page.wait_for_function("() => window.loopscope.page.trace.events.length > 0")
    page.select_option("#scenario", "tasks")
    assert page.evaluate("() => window.loopscope.page.trace.events.length") == 0
    expect(page.locator("#narration")).to_contain_text("Press Run to see")
    assert wait_until(lambda: child_processes() == [], 10), "the run was stopped"
    page.select_option("#clock", "virtual")
    run_to_end(page)  # only the new run's events reach the screen, none of the stopped one's
    events = page.evaluate("() => window.loopscope.page.trace.events")
    assert events[0]["target"] == "tasks" and [e["seq"] for e in events] == list(range(len(events)))
