"""The page in headless Chromium (Debian's, driven by Playwright): what a learner sees."""

import json
import re

import pytest
from playwright.sync_api import expect

from conftest import child_processes
from servers import LiveServer

@pytest.fixture(scope="module")
def server():
    live = LiveServer()
    yield live
    live.stop()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    tab = context.new_page()
    problems = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    tab.problems = problems
    yield tab
    context.close()
    assert problems == [], problems


def open_page(page, server, query=""):
    page.goto(f"{server.url}/{query}")
    page.wait_for_selector("body[data-ready=true]")


def run_to_end(page, scenario=None, blocking=None):
    """Run at full speed and wait until the whole recorded run is on screen."""
    if scenario:
        page.select_option("#scenario", scenario)
    if blocking is not None:
        page.set_checked("#blocking", blocking)
    page.select_option("#speed", "max")
    page.click("#run")
    page.wait_for_function(
        "() => { const l = window.loopscope; return l.page.trace.ended && l.player.finished "
        "&& !l.player.playing && l.player.cursor === l.page.trace.events.length - 1; }"
    )


def chips(page, area):
    return page.locator(f'[data-area="{area}"] .chip').all_inner_texts()


def picture(page):
    """Everything the loop picture and the source markers show, as text."""
    return page.evaluate("""() => {
        const areas = [...document.querySelectorAll('#loop [data-area]')]
            .map(a => a.dataset.area + ': ' + [...a.children].map(c => c.textContent + '/' + c.className).join(' | '));
        const lines = [...document.querySelectorAll('#source li')]
            .map(li => li.className + ' ' + li.querySelector('.markers').textContent);
        return [document.querySelector('[data-clock]').textContent, document.querySelector('#narration').textContent,
                document.querySelector('[data-blocked]').hidden, ...areas, ...lines].join('\\n');
    }""")


def seek(page, index):
    page.evaluate(f"() => {{ window.loopscope.player.pause(); window.loopscope.player.seek({index}); }}")


def index_of(page, predicate):
    return page.evaluate(f"() => window.loopscope.page.trace.events.findIndex({predicate})")


def test_tasks_finish_shortest_first_when_non_blocking(page, server):
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    assert chips(page, "done") == ["world: returned 'world is done'", "hello: returned 'hello is done'",
                                   "Task-1: returned None"]
    expect(page.locator("[data-outcome]")).to_contain_text("finished after 2 s of loop time")
    expect(page.locator("[data-output] li")).to_have_text(["[world] world", "[hello] hello",
                                                           "[Task-1] hello is done / world is done"])
    # (the run is over on the server long before its picture is: the status says the picture is a replay)
    expect(page.locator("#status")).to_have_text(
        "Run finished: ok. The program is over; the picture replays what it recorded, at the speed you choose.")


def test_blocked_state_only_in_blocking_mode_and_names_the_line(page, server):
    open_page(page, server, "?scenario=tasks")
    run_to_end(page, blocking=False)
    total = page.evaluate("() => window.loopscope.page.trace.events.length")
    for index in range(total):
        seek(page, index)
        assert page.locator("#loop.is-blocked").count() == 0, index
    run_to_end(page, blocking=True)
    begin = index_of(page, "e => e.kind === 'handle.begin' && e.task === 2")
    seek(page, begin)
    banner = page.locator("[data-blocked]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Loop blocked for 2 s by time.sleep() at line 19")
    expect(page.locator("#loop")).to_have_class("loop is-blocked")
    expect(page.locator('#source li[data-line="19"]')).to_have_class(re.compile(r"\bblocked\b"))
    expect(page.locator('#source li[data-line="19"] .markers')).to_have_text("▶ running: hello")
    seek(page, 10**9)
    expect(page.locator("#loop.is-blocked")).to_have_count(0)
    expect(page.locator("[data-outcome]")).to_contain_text("after 3 s")
    expect(page.locator("[data-compare]")).to_have_text(
        "Loop time of the latest runs — non-blocking: 2 s · blocking: 3 s")


def test_a_task_whose_last_step_blocks_stays_running_until_the_loop_gets_control_back(page, server):
    open_page(page, server, "?scenario=tasks")
    run_to_end(page, blocking=True)
    blocked = index_of(page, "e => e.kind === 'loop.blocked' && e.task === 2")
    done = index_of(page, "e => e.kind === 'task.done' && e.task === 2")
    end = index_of(page, f"(e, i) => i > {blocked} && e.kind === 'handle.end' && e.task === 2")
    assert 0 < done < blocked < end
    seek(page, blocked)
    expect(page.locator('[data-area="running"] .chip')).to_have_text(["step · hello"])
    assert not any(chip.startswith("hello") for chip in chips(page, "done"))
    seek(page, end)
    expect(page.locator('[data-area="running"] .chip')).to_have_count(0)
    assert "hello: returned 'hello is done'" in chips(page, "done")


def test_stepping_back_restores_the_earlier_picture_exactly(page, server):
    open_page(page, server, "?scenario=futures")
    run_to_end(page)
    seek(page, 40)
    before = picture(page)
    for _ in range(12):
        page.click("#forward")
    assert picture(page) != before
    for _ in range(12):
        page.click("#back")
    assert picture(page) == before


def test_stepping_by_loop_iteration(page, server):
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    seek(page, 0)
    page.click("#forward-iteration")
    first = page.evaluate("() => window.loopscope.player.cursor")
    page.click("#forward-iteration")
    second = page.evaluate("() => window.loopscope.player.cursor")
    kinds = page.evaluate(f"() => window.loopscope.page.trace.events.slice({first}, {second + 1}).map(e => e.kind)")
    assert kinds[0] == kinds[-1] == "loop.iteration" and "loop.iteration" not in kinds[1:-1]
    page.click("#back-iteration")
    assert page.evaluate("() => window.loopscope.player.cursor") == first


def test_scrubbing_to_the_end_equals_the_live_end(page, server):
    open_page(page, server, "?scenario=background-jobs&blocking=1")
    run_to_end(page)
    live_end = picture(page)
    seek(page, 0)
    assert picture(page) != live_end
    page.locator("#scrubber").fill(page.locator("#scrubber").get_attribute("max"))
    assert picture(page) == live_end


def test_deep_links_restore_scenario_and_mode(page, server):
    open_page(page, server, "?scenario=cancel-and-shield&blocking=1")
    assert page.input_value("#scenario") == "cancel-and-shield"
    assert page.is_checked("#blocking")
    expect(page.locator("#source")).to_contain_text("time.sleep(seconds)")
    page.set_checked("#blocking", False)
    assert page.url.endswith("?scenario=cancel-and-shield")
    page.select_option("#scenario", "futures")
    assert page.url.endswith("?scenario=futures")
    assert page.is_disabled("#blocking")


def start_long_run(page, server):
    """Start a run that takes seconds (the real clock), and wait until it streams."""
    open_page(page, server, "?scenario=background-jobs")
    page.select_option("#clock", "real")
    page.click("#run")
    expect(page.locator("#status")).to_contain_text("Running")


def test_a_run_that_ends_without_its_run_end_says_so_as_an_error(page, server):
    # (as when a server loses its run queue mid-run: `finished` comes with no run.end before it)
    def route(ws):
        upstream = ws.connect_to_server()

        def from_page(message):
            if json.loads(message).get("op") == "run":
                ws.send(json.dumps({"type": "status", "run": 10**9, "state": "running"}))
                ws.send(json.dumps({"type": "status", "run": 10**9, "state": "finished", "status": "error"}))
            else:
                upstream.send(message)

        ws.on_message(from_page)

    page.route_web_socket("**/ws", route)
    open_page(page, server, "?scenario=tasks")
    page.click("#run")
    expect(page.locator("#status")).to_have_text("Run finished: error.")
    expect(page.locator("#status")).to_have_class("error")


def test_stop_stops_a_run(page, server):
    start_long_run(page, server)
    page.click("#stop")
    expect(page.locator("#status")).to_have_text("Run finished: stopped. The run was stopped.")
    page.evaluate("() => { window.loopscope.player.pause(); window.loopscope.player.seek(1e9); }")
    expect(page.locator("[data-outcome]")).to_contain_text("The run was stopped")
    assert child_processes() == []


def test_keyboard_runs_plays_and_steps(page, server):
    open_page(page, server, "?scenario=sequential")
    page.select_option("#speed", "max")
    page.locator("body").press("r")
    page.wait_for_function("() => window.loopscope.page.trace.ended && !window.loopscope.player.playing")
    page.locator("body").press("ArrowLeft")
    end = page.evaluate("() => window.loopscope.page.trace.events.length - 1")
    assert page.evaluate("() => window.loopscope.player.cursor") == end - 1
    page.select_option("#speed", "0.5")  # slow, so playback is still going when we look
    seek(page, 0)
    page.locator("body").press("Space")
    assert page.evaluate("() => window.loopscope.player.playing") is True


def test_connection_loss_shows_a_banner_and_reconnects(browser):
    live = LiveServer()
    port = live.port
    context = browser.new_context()
    tab = context.new_page()
    try:
        open_page(tab, live)
        expect(tab.locator("#offline")).to_be_hidden()
        live.stop()
        expect(tab.locator("#offline")).to_be_visible()
        live = LiveServer(port=port)
        expect(tab.locator("#offline")).to_be_hidden(timeout=20_000)
    finally:
        context.close()
        live.stop()


def test_running_again_during_a_run_shows_the_new_run(page, server):
    start_long_run(page, server)
    page.wait_for_function("() => window.loopscope.page.trace.events.length > 0")
    page.select_option("#clock", "virtual")
    page.select_option("#scenario", "tasks")
    run_to_end(page)
    events = page.evaluate("() => window.loopscope.page.trace.events")
    assert events[0]["target"] == "tasks" and events[-1]["status"] == "ok"
    assert chips(page, "done")[0] == "world: returned 'world is done'"


def log_rows(page):
    """The sequence numbers of the event log's rows that exist in the page."""
    return page.evaluate("() => [...document.querySelectorAll('[data-log] li')].map(li => Number(li.textContent.trim().split(' ')[0]))")


def test_the_event_log_holds_every_event_but_only_the_rows_in_view_exist(page, server):
    open_page(page, server, "?scenario=stress")
    page.check("#internals")
    run_to_end(page)
    total = page.evaluate("() => window.loopscope.page.trace.events.length")
    log = page.locator("[data-log]")
    # It follows the cursor: the last event at the bottom, a few dozen rows drawn of thousands.
    expect(log.locator("li").last).to_have_text(re.compile(rf"^\s*{total - 1}\s+t="))
    rows = log_rows(page)
    assert rows == list(range(rows[0], total)) and len(rows) < 100, (rows[0], len(rows), total)
    # Scrolled to the top, then to the middle, it shows the events there, in order, each where it belongs.
    log.evaluate("(list) => { list.scrollTop = 0; }")
    expect(log.locator("li").first).to_have_text(re.compile(r"^\s*0\s+t="))
    middle = log.evaluate("(list) => { list.scrollTop = list.scrollHeight / 2; return Math.floor(list.scrollTop / 18); }")
    expect(log.locator("li").first).not_to_have_text(re.compile(r"^\s*0\s+t="))
    rows = log_rows(page)
    assert rows == list(range(rows[0], rows[0] + len(rows))) and rows[0] <= middle < rows[-1], (rows[0], middle, rows[-1])
    first_row = log.locator("li").first.evaluate("(li) => li.offsetTop - li.parentElement.offsetTop")
    assert abs(first_row - rows[0] * 18) <= 8, (first_row, rows[0])  # (the list's own padding aside)
    # Stepping back: the log ends at the cursor.
    seek(page, 1000)
    log.evaluate("(list) => { list.scrollTop = list.scrollHeight; }")
    expect(log.locator("li").last).to_have_text(re.compile(r"^\s*1000\s+t="))
