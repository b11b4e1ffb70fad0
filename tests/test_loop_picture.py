"""The loop drawn as a loop (headless Chromium): the phase of _run_once lit, the ready queue's
iteration boundary, the timer heap relative to now, each task in one place."""

from playwright.sync_api import expect

from test_page import open_page, page, run_to_end, seek, server  # noqa: F401 - fixtures

FIRST_QUEUED_BY_A_CALLBACK = """() => {
    const events = window.loopscope.page.trace.events;
    return events.findIndex((e, i) => e.kind === 'handle.schedule' && e.queue === 'ready'
        && events.slice(0, i).some(b => b.kind === 'handle.begin'));
}"""


def index_of(page, predicate):
    return page.evaluate(f"() => window.loopscope.page.trace.events.findIndex({predicate})")


def ready_chips(page, turn):
    return page.locator(f'[data-area="ready"] [data-turn="{turn}"] .chip').all_inner_texts()


def test_a_callback_queued_while_another_runs_waits_for_the_next_iteration(page, server):
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    queued = page.evaluate(FIRST_QUEUED_BY_A_CALLBACK)
    seek(page, queued)
    expect(page.locator('[data-area="running"] .chip')).to_have_text(["step · Task-1"])
    assert ready_chips(page, "next") == ["step · Task-2"]
    assert ready_chips(page, "this") == []
    expect(page.locator(".fifo-divider")).to_be_visible()
    expect(page.locator("#loop [data-phase]")).to_have_attribute("data-phase", "ready")
    # The next iteration begins: what waited is now this iteration's, and runs first.
    seek(page, index_of(page, f"(e, i) => i > {queued} && e.kind === 'loop.iteration'"))
    assert ready_chips(page, "this")[0] == "step · hello"  # (Task-2, renamed meanwhile)
    assert ready_chips(page, "next") == []
    expect(page.locator(".fifo-divider")).to_be_hidden()


def test_the_lit_phase_follows_the_loop_wait_then_due_timers_then_the_ready(page, server):
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    cycle = page.locator("#loop [data-phase]")
    idle = index_of(page, "e => e.kind === 'loop.idle'")
    seek(page, idle)
    expect(cycle).to_have_attribute("data-phase", "io")
    expect(page.locator('.phase[data-step="io"]')).to_contain_text("Poll for I/O")
    seek(page, idle + 1)  # the timer it slept for fires
    expect(cycle).to_have_attribute("data-phase", "timers")
    seek(page, idle + 2)
    expect(cycle).to_have_attribute("data-phase", "ready")
    seek(page, 10**9)
    expect(cycle).to_have_attribute("data-phase", "")


def test_timers_say_how_long_until_they_are_due_relative_to_now(page, server):
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    seek(page, index_of(page, "e => e.kind === 'loop.idle'"))
    expect(page.locator('[data-area="timers"] .chip')).to_have_text(
        ["sleep timer fires · world · t=1 (in 1 s)", "sleep timer fires · hello · t=2 (in 2 s)"])
    seek(page, index_of(page, "e => e.kind === 'handle.schedule' && e.source === 'timer'"))
    expect(page.locator('[data-area="timers"] .chip')).to_have_text(["sleep timer fires · hello · t=2 (in 1 s)"])


def test_a_timer_past_its_due_time_says_it_is_overdue(page, server):
    open_page(page, server, "?scenario=background-jobs&blocking=1")
    run_to_end(page)
    overdue = page.evaluate("""() => {
        const l = window.loopscope;
        for (let i = 0; i < l.page.trace.events.length; i += 1) {
            const state = l.stateAt(i);
            if (state.timers.some(id => state.handles[id].when < state.t - 1e-9)) return i;
        }
        return -1;
    }""")
    assert overdue >= 0
    seek(page, overdue)
    expect(page.locator('[data-area="timers"] .chip.overdue').first).to_contain_text("overdue by")
    assert not any("(in 0 s)" in text for text in page.locator('[data-area="timers"] .chip').all_inner_texts())


def test_each_task_shows_in_exactly_one_place_at_every_step(page, server):
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    places = page.evaluate("""() => {
        const l = window.loopscope, seen = [];
        for (let i = 0; i < l.page.trace.events.length; i += 1) {
            l.player.seek(i);
            const state = l.stateAt(i);
            const tasks = Object.values(state.tasks).filter(t => !t.internal).map(t => t.name).sort();
            const shown = [...document.querySelectorAll('.tasks-board .chip')]
                .map(c => c.textContent.split(/ · | awaits |: /)[0]).sort();
            seen.push(JSON.stringify(tasks) === JSON.stringify(shown) ? 'ok' : `${i}: ${tasks} vs ${shown}`);
        }
        return seen;
    }""")
    assert len(places) > 50 and set(places) == {"ok"}, [p for p in places if p != "ok"][:3]


INTERNAL = r"<locals>|<lambda>|\b_[a-z]\w*|BaseEventLoop|BaseSelectorEventLoop|`"


def record(page, scenario, blocking):
    """Run `scenario` and wait until its whole trace is in, without waiting for the playback."""
    page.select_option("#scenario", scenario)
    if blocking is not None:
        page.set_checked("#blocking", blocking)
    page.click("#run")
    page.wait_for_function("() => window.loopscope.page.trace.ended", timeout=120_000)
    page.evaluate("() => window.loopscope.player.pause()")


def scenario_modes(server):
    """(scenario id, blocking) for every mode of every scenario (blocking None: it has one mode)."""
    return [(s["id"], (mode == "blocking") if len(s["modes"]) > 1 else None)
            for s in server.get("/api/scenarios")[1] for mode in s["modes"]]


def test_no_internal_name_reaches_a_learner_by_default_in_any_scenario(page, server):
    open_page(page, server)
    seen = {}
    for scenario, blocking in scenario_modes(server):
        record(page, scenario, blocking)
        # The moments where asyncio names could show (a label or wait with a dot, a new internal
        # task), and 20 more spread over the run.
        found = page.evaluate("""(pattern) => {
            const l = window.loopscope, events = l.page.trace.events, count = events.length, found = [];
            const risky = events.map((e, i) => [e, i]).filter(([e]) => /[._<]/.test(e.label || e.awaiting || '')
                || (e.kind === 'task.new' && e.internal)).map(([, i]) => i);
            const step = Math.max(1, Math.floor(risky.length / 40));
            const spread = Array.from({ length: 20 }, (_, k) => Math.floor((k * count) / 20));
            for (const i of [...risky.filter((_, k) => k % step === 0), ...spread]) {
                l.player.seek(i);
                const text = document.querySelector('#loop').innerText + ' | ' + document.querySelector('#narration').innerText;
                const match = text.match(new RegExp(pattern));
                if (match) found.push(`${i}: ${match[0]} in ${text.slice(Math.max(0, match.index - 60), match.index + 40)}`);
            }
            return found.slice(0, 3);
        }""", INTERNAL)
        if found:
            seen[scenario, blocking] = found
    assert seen == {}


def test_show_asyncio_internals_reveals_the_raw_names_and_the_event_log(page, server):
    open_page(page, server, "?scenario=timeouts-and-delays")
    expect(page.locator(".event-log")).to_be_hidden()
    run_to_end(page)
    where = index_of(page, "e => e.kind === 'handle.schedule' && e.label === 'Timeout._on_timeout'")
    seek(page, where)
    expect(page.locator('[data-area="timers"]')).to_contain_text("the timeout runs out")
    page.check("#internals")
    expect(page.locator('[data-area="timers"]')).to_contain_text("Timeout._on_timeout")
    expect(page.locator(".event-log")).to_be_visible()
    seek(page, index_of(page, "e => e.kind === 'task.new' && e.internal"))
    expect(page.locator("#narration")).to_contain_text("shutdown_asyncgens")
