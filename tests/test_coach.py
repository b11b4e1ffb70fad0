"""The coach: beginner mistakes a run reveals, at their lines — in the trace, in web/coach.js, on the page.

The programs are in tests/coach_programs/ (not tests/programs/: some never end, and their warnings
name other lines than a plain run's do, on purpose).
"""

import json
import re
import shutil
import subprocess
import time

import pytest
from playwright.sync_api import expect

from conftest import ROOT, of_kind, plain_run, stdout_of, trace
from server import sandbox
from server.engine.hints import hints
from server.runner import Options, Program, Run
from servers import LiveServer
from test_page import open_page, page  # noqa: F401 - the shared fixtures

PROGRAMS = ROOT / "tests" / "coach_programs"
ENDLESS_LIMIT = 2.5  # seconds: the time limit that ends the endless loop in the trace tests
PAGE_LIMIT = 6.0  # ... and on the page (which must show it stuck before that, at its default speed)
LOOPSCOPE_PATHS = (sandbox.INSIDE_ROOT, str(ROOT / "server"), "server/engine")


@pytest.fixture(scope="module")
def traced():
    """name -> the events of tests/coach_programs/<name>.py (traced once per module)."""
    cache = {}

    def get(name):
        if name not in cache:
            path = PROGRAMS / f"{name}.py"
            cache[name] = trace(path.read_text(), path.name, timeout=ENDLESS_LIMIT if name == "endless_loop" else 10)
        return cache[name]

    return get


def assert_names_no_loopscope_file(text):
    for path in LOOPSCOPE_PATHS:
        assert path not in text, text


# -- the trace -------------------------------------------------------------------------------------


def test_a_coroutine_never_awaited_is_warned_at_the_line_that_created_it(traced):
    events = traced("never_awaited")
    assert [(e["coro"], e["line"]) for e in of_kind(events, "coroutine.unawaited")] == [("fetch", 10), ("fetch", 11)]
    stderr = stdout_of(events, "stderr")
    # the first is dropped at once (a plain run names the same line); the second when main ends,
    # which a plain run attributes to asyncio's events.py
    assert "never_awaited.py:10: RuntimeWarning: coroutine 'fetch' was never awaited\n  fetch(\"first\")\n" in stderr
    assert ("never_awaited.py:11: RuntimeWarning: coroutine 'fetch' was never awaited\n"
            "  pending = fetch(\"second\")\n") in stderr
    assert "asyncio" not in stderr
    assert_names_no_loopscope_file(stderr)


NO_ORIGIN = """import asyncio


async def fetch():
    pass


def make():  # in a worker thread: a coroutine made there remembers no line
    return fetch()


async def main():
    kept = await asyncio.to_thread(make)
    print("got a", type(kept).__name__)


asyncio.run(main())
"""

PLACED_IN_LOOPSCOPE = """import sys, warnings
own = sorted(m.__file__ for n, m in list(sys.modules.items()) if n.startswith("server.engine.") and getattr(m, "__file__", None))
warnings.warn_explicit("a warning said to be Loopscope's", UserWarning, own[0], 3)
print("warned")
"""


def test_a_warning_never_names_loopscope_files():
    """A coroutine without its line dropped inside the tracer (here: made in a thread) is named at the
    program's line running then; any warning placed in Loopscope's files moves to the program."""
    events = trace(NO_ORIGIN)
    stderr = stdout_of(events, "stderr")
    assert "main.py:17: RuntimeWarning: coroutine 'fetch' was never awaited\n  asyncio.run(main())\n" in stderr
    assert [(e["coro"], e["line"]) for e in of_kind(events, "coroutine.unawaited")] == [("fetch", None)]  # (unknown)
    events = trace(PLACED_IN_LOOPSCOPE)
    stderr = stdout_of(events, "stderr")
    assert stdout_of(events) == "warned\n"
    assert stderr.startswith("main.py:3: UserWarning: a warning said to be Loopscope's\n  warnings.warn_explicit("), stderr
    assert_names_no_loopscope_file(stderr)


def test_a_task_exception_never_retrieved_comes_with_the_line_that_raised_it(traced):
    events = traced("never_retrieved")
    [exception] = of_kind(events, "loop.exception")
    assert exception["message"] == "Task exception was never retrieved"
    assert exception["exception"] == "ValueError: nobody hears this"
    [done] = [e for e in of_kind(events, "task.done") if e["task"] == exception["task"]]
    [new] = [e for e in of_kind(events, "task.new") if e["task"] == exception["task"]]
    assert (done["state"], done["line"], new["line"]) == ("exception", 6, 10)
    assert_names_no_loopscope_file(stdout_of(events, "stderr"))


def test_blocking_calls_are_told_apart_and_named(traced):
    events = traced("blocking_calls")
    found = [(e["cause"], e["line"], e["call"]) for e in of_kind(events, "loop.blocked")
             if e["line"] in (9, 15, 16, 19, 24, 33)]  # (a busy machine may hold up another callback for 50 ms)
    assert found[0] == ("sleep", 9, "time.sleep")
    assert found[1][0] == "cpu" and found[1][1] in (15, 16) and found[1][2] is None
    assert found[2:] == [("wait", 19, "threading.Event.wait"), ("wait", 24, "queue.Queue.get"),
                         ("wait", 33, None)]  # (a socket's recv is a built-in: no call to name)


@pytest.mark.parametrize("name", ["never_awaited", "never_retrieved", "blocking_calls", "dropped_task",
                                  "two_mistakes"])
def test_a_mistake_program_prints_what_a_plain_run_prints(name, traced):
    assert stdout_of(traced(name)) == plain_run(PROGRAMS / f"{name}.py")
    assert traced(name)[-1]["status"] == "ok"


def test_a_task_nobody_keeps_is_hinted_at_its_line_before_the_program_runs(traced):
    events = traced("dropped_task")
    assert events[1]["kind"] == "program.hint"
    assert [(e["hint"], e["line"], e["text"]) for e in of_kind(events, "program.hint")] == [
        ("dropped_task", 10, 'asyncio.create_task(work("dropped"))')]


def test_hints_find_the_usual_ways_of_dropping_a_task_and_leave_task_groups_alone():
    source = """import asyncio
from asyncio import create_task, ensure_future
async def main(loop):
    asyncio.create_task(work())
    create_task(
        work())
    loop.create_task(work())
    asyncio.get_running_loop().create_task(work())
    ensure_future(work())
    kept = asyncio.create_task(work())
    await asyncio.create_task(work())
    async with asyncio.TaskGroup() as group:
        group.create_task(work())
    tg = asyncio.TaskGroup()
    async with tg:
        tg.create_task(work())
"""
    assert [(line, text) for _, line, text in hints(source)] == [
        (4, "asyncio.create_task(work())"), (5, "create_task( work())"), (7, "loop.create_task(work())"),
        (8, "asyncio.get_running_loop().create_task(work())"), (9, "ensure_future(work())")]
    assert hints("import asyncio\nasyncio.run(main())\n") == []


def test_an_endless_loop_is_reported_while_it_runs_and_named_when_the_time_limit_ends_it():
    path = PROGRAMS / "endless_loop.py"
    run = Run(Program(path.read_text(), path.name, path.name), Options(), sandbox.Limits(timeout=ENDLESS_LIMIT))
    start, arrived = time.monotonic(), []
    for event in run.events():
        arrived.append((time.monotonic() - start, event))
    spinner = next(e["task"] for _, e in arrived if e["kind"] == "task.new" and e["coro"] == "spin")
    stalls = [(at, e) for at, e in arrived if e["kind"] == "loop.stalled"]
    assert len(stalls) >= 3
    assert {(e["task"], e["cause"], e["call"]) for _, e in stalls} == {(spinner, "cpu", None)}
    assert {e["line"] for _, e in stalls} <= {6, 7}
    running = [e["running"] for _, e in stalls]
    assert running == sorted(running) and running[0] >= 0.1
    end_at, end = arrived[-1]
    assert stalls[0][0] < end_at - 0.4  # it came while the loop was stuck, not with the end
    assert end["status"] == "timeout"
    line = stalls[-1][1]["line"]
    assert re.search(rf"one callback held the loop at line {line} and never returned — code that kept running",
                     end["reason"]), end["reason"]
    assert "real time" in end["reason"]


def test_the_coach_passes_its_node_tests(traced, tmp_path):
    node = shutil.which("node")
    assert node, "node is needed for the page's logic tests (scripts/install-system-packages.sh --browser)"
    paths = {}
    for name in ("never_awaited", "never_retrieved", "dropped_task", "blocking_calls", "endless_loop"):
        paths[name] = str(tmp_path / f"{name}.jsonl")
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in traced(name)))
    done = subprocess.run([node, "--test", str(ROOT / "tests" / "js" / "coach.test.mjs")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={"LOOPSCOPE_TRACES": json.dumps(paths), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass 10" in done.stdout, done.stdout


# -- the page --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    live = LiveServer("--run-timeout", str(PAGE_LIMIT))
    yield live
    live.stop()


def start_own(page, server, name, speed="max"):
    """Open own code with tests/coach_programs/<name>.py in the editor and run it."""
    open_page(page, server, "?scenario=own")
    page.evaluate("""(text) => { const view = window.loopscope.page.editor;
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }); }""",
                  (PROGRAMS / f"{name}.py").read_text())
    page.select_option("#speed", speed)
    page.click("#run")


def played_to_the_end(page):
    page.wait_for_function(
        "() => { const l = window.loopscope; return l.page.trace.ended && l.player.finished "
        "&& !l.player.playing && l.player.cursor === l.page.trace.events.length - 1; }", timeout=30_000)


MARKED = {
    "never_awaited": [("unawaited", 10), ("unawaited", 11)],
    "never_retrieved": [("dropped-task", 10), ("unretrieved", 6)],
    "dropped_task": [("dropped-task", 10)],
    "blocking_calls": [("blocking-sleep", 9), ("blocking-cpu", None), ("blocking-wait", 19), ("blocking-wait", 24),
                       ("blocking-wait", 33)],  # (None: a computing loop is at either of its lines)
    "two_mistakes": [("unawaited", 17), ("blocking-sleep", 13)],
}


@pytest.mark.parametrize("name", list(MARKED))
def test_each_mistake_is_marked_at_its_line_in_the_editor_and_the_source(name, page, server):  # noqa: F811
    start_own(page, server, name)
    played_to_the_end(page)
    for kind, line in MARKED[name]:
        if line is None:
            line = int(page.get_attribute(f'#coach li[data-coach="{kind}"]', "data-line"))
        message = page.locator(f'#coach li[data-coach="{kind}"][data-line="{line}"]')
        expect(message).to_be_visible()
        expect(message).to_contain_text(f"Line {line}")
        marked = page.locator(f'.cm-coach-line[data-line="{line}"]')
        expect(marked).to_have_attribute("data-coach", re.compile(rf"\b{kind}\b"))
        expect(marked).to_have_attribute("title", re.compile(rf"^Line {line}: "))
        expect(page.locator(f'#source li[data-line="{line}"]')).to_have_class(re.compile(r"\bcoach\b"))
        expect(page.locator(f'.cm-coach-gutter .cm-coach-marker[data-line="{line}"]')).to_have_attribute(
            "data-coach", re.compile(rf"\b{kind}\b"))
    # (no other: a callback of these programs that a busy machine held up for 50 ms blocks the loop too)
    others = page.locator("#coach li").evaluate_all("(items) => items.map((i) => i.dataset.coach)")
    assert set(others) - {kind for kind, _ in MARKED[name]} <= {"blocking-cpu", "blocking-wait"}, others


def test_an_edit_clears_the_coach_marks_in_the_editor(page, server):  # noqa: F811
    start_own(page, server, "dropped_task")
    played_to_the_end(page)
    expect(page.locator(".cm-coach-line")).to_have_count(1)
    page.click(".cm-content")
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# changed")
    expect(page.locator(".cm-coach-line")).to_have_count(0)
    expect(page.locator('#coach li[data-coach="dropped-task"]')).to_be_visible()  # (the run's list stays)


def test_a_blocking_scenario_is_coached_in_the_source_view(page, server):  # noqa: F811
    open_page(page, server, "?scenario=sequential&blocking=1")
    page.select_option("#speed", "max")
    page.click("#run")
    played_to_the_end(page)
    [line] = page.evaluate("() => [...new Set(window.loopscope.page.trace.events"
                           ".filter(e => e.kind === 'loop.blocked').map(e => e.line))]")
    expect(page.locator(f'#coach li[data-coach="blocking-sleep"][data-line="{line}"]')).to_contain_text(
        "await asyncio.sleep")
    item = page.locator(f'#source li[data-line="{line}"]')
    expect(item).to_have_attribute("data-coach", "blocking-sleep")
    expect(item).to_have_attribute("title", re.compile("time.sleep"))


def test_the_endless_loop_shows_blocked_at_its_line_while_it_runs(page, server):  # noqa: F811
    start_own(page, server, "endless_loop", speed="1")  # the default speed
    # While the run goes on (its run.end not in yet): the loop blocked, at the loop's line.
    page.wait_for_function("""() => {
        const banner = document.querySelector('[data-blocked]');
        return !window.loopscope.page.trace.ended && !banner.hidden && /at line [67]\\b/.test(banner.textContent)
            && document.querySelector('#coach li[data-coach="endless"]') !== null
            && document.querySelector('#source li.blocked') !== null;
    }""", timeout=PAGE_LIMIT * 1000)
    line = int(page.get_attribute("#source li.blocked", "data-line"))
    assert line in (6, 7)
    expect(page.locator(f'.cm-coach-line[data-line="{line}"]')).to_have_attribute("data-coach", "endless")
    assert not page.evaluate("() => window.loopscope.page.trace.ended")
    # The time limit ends it: the outcome names the line and says the callback never returned.
    page.select_option("#speed", "max")
    played_to_the_end(page)
    expect(page.locator("[data-outcome]")).to_contain_text(f"one callback held the loop at line {line} and never returned")
    expect(page.locator(f'#coach li[data-coach="endless"][data-line="{line}"]')).to_contain_text(
        "until the run was stopped")
    expect(page.locator("[data-blocked]")).to_be_hidden()
    expect(page.locator('[data-area="done"] .chip')).to_have_count(0)
    expect(page.locator(f'#source li[data-line="{line}"] .markers')).to_contain_text("spinner")
