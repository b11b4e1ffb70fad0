"""Each scenario, in each mode, shows the point it is there to teach — and runs as CPython runs it."""

import json
import os
from pathlib import Path

import pytest

from conftest import SCENARIO_CASES, done_order, of_kind, plain_scenario_runs, stdout_of, task_names, trace_scenario
from server import catalog

GOLDEN = Path(__file__).resolve().parent / "golden"
TIMES = {"t", "duration", "elapsed", "when", "until", "python", "seq"}
# Thread timing is real even under the virtual clock; the stress run is too long to keep.
NO_GOLDEN = {"to-thread", "stress"}

CASES = SCENARIO_CASES


@pytest.fixture(scope="module")
def traces():
    cache = {}

    def get(scenario_id, blocking=False):
        key = (scenario_id, blocking)
        if key not in cache:
            cache[key] = trace_scenario(scenario_id, blocking)
        return cache[key]

    return get


def user_tasks(events):
    return {e["task"]: e for e in of_kind(events, "task.new") if not e["internal"]}


def line_of(scenario_id, text, blocking=False):
    lines = catalog.get(scenario_id).source(blocking).splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip().startswith(text))


@pytest.fixture(scope="module")
def plain_runs():
    """Every scenario run by plain CPython (started when collected: see conftest)."""
    return {case: future.result() for case, future in plain_scenario_runs().items()}


@pytest.mark.parametrize("scenario_id,mode", CASES)
def test_scenario_prints_what_a_plain_run_prints(scenario_id, mode, traces, plain_runs, no_leftovers):
    events = traces(scenario_id, mode == catalog.BLOCKING)
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "ok", events[-1]
    assert stdout_of(events) == plain_runs[scenario_id, mode]


UPDATE_GOLDEN = ("LOOPSCOPE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_scenarios.py -k golden "
                 "(then read the diff of tests/golden/ before committing it)")


@pytest.mark.parametrize("scenario_id,mode", [c for c in CASES if c[0] not in NO_GOLDEN])
def test_scenario_matches_its_golden_trace(scenario_id, mode, traces):
    """Golden traces hold each run's events without times: a change to what a scenario shows is a
    diff to read. Made or remade with UPDATE_GOLDEN's command (see the README's Scenarios section)."""
    events = traces(scenario_id, mode == catalog.BLOCKING)
    shape = [json.dumps({k: v for k, v in e.items() if k not in TIMES}, sort_keys=True) for e in events]
    path = GOLDEN / f"{scenario_id}.{mode}.jsonl"
    if os.environ.get("LOOPSCOPE_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text("\n".join(shape) + "\n")
    assert path.exists(), f"{path.name} has no golden trace yet: make it with {UPDATE_GOLDEN}"
    assert shape == path.read_text().splitlines(), f"the trace changed; if that is meant, run {UPDATE_GOLDEN}"


def test_run_until_complete_suspends_on_the_sleep_timer(traces):
    events = traces("run-until-complete")
    [task] = user_tasks(events).values()
    assert task["coro"] == "first_async"
    [suspend] = of_kind(events, "task.suspend")
    assert suspend["line"] == line_of("run-until-complete", "await asyncio.sleep(1)")
    assert suspend["awaiting"] == "asyncio.sleep(1)"
    assert suspend["waiter"]["kind"] == "timer" and suspend["waiter"]["when"] == 1.0
    assert of_kind(events, "loop.blocked") == []
    assert events[-1]["elapsed"] == pytest.approx(1.0, abs=0.05)


def test_run_until_complete_blocking_holds_the_loop_at_time_sleep(traces):
    events = traces("run-until-complete", blocking=True)
    [blocked] = of_kind(events, "loop.blocked")
    assert blocked["cause"] == "sleep"
    assert blocked["line"] == line_of("run-until-complete", "time.sleep(1)", blocking=True)
    assert blocked["duration"] == pytest.approx(1.0, abs=0.05)
    assert [e for e in of_kind(events, "handle.schedule") if e["queue"] == "timers"] == []


def test_run_forever_idles_between_beats_until_stopped(traces):
    events = traces("run-forever")
    idles = [e["until"] for e in of_kind(events, "loop.idle")]
    assert idles == [0.5, 1.0, 1.5]
    assert stdout_of(events).splitlines()[-1].endswith("True")


def test_run_forever_blocking_never_idles(traces):
    events = traces("run-forever", blocking=True)
    assert of_kind(events, "loop.idle") == []
    [blocked] = of_kind(events, "loop.blocked")
    assert blocked["duration"] == pytest.approx(1.5, abs=0.05)


@pytest.mark.parametrize("blocking", [False, True])
def test_sequential_awaits_add_up_in_both_modes(traces, blocking):
    events = traces("sequential", blocking)
    assert [t["coro"] for t in user_tasks(events).values()] == ["main"]
    assert stdout_of(events) == "hello\nworld\n"
    assert events[-1]["elapsed"] == pytest.approx(3.0, abs=0.05)


def test_tasks_shorter_task_finishes_first(traces):
    events = traces("tasks")
    assert done_order(events) == ["world", "hello", "Task-1"]
    assert events[-1]["elapsed"] == pytest.approx(2.0, abs=0.05)
    timers = sorted(e["when"] for e in of_kind(events, "handle.schedule") if e["queue"] == "timers")
    assert timers == [1.0, 2.0]
    assert of_kind(events, "loop.blocked") == []


def test_tasks_blocking_run_one_after_another_and_name_the_sleep_line(traces):
    events = traces("tasks", blocking=True)
    assert done_order(events) == ["hello", "world", "Task-1"]
    assert events[-1]["elapsed"] == pytest.approx(3.0, abs=0.05)
    names = task_names(events)
    blocked = [(names[e["task"]], e["line"], round(e["duration"], 1)) for e in of_kind(events, "loop.blocked")]
    assert blocked == [
        ("hello", line_of("tasks", "time.sleep(2)", True), 2.0),
        ("world", line_of("tasks", "time.sleep(1)", True), 1.0),
    ]


def test_background_jobs_finish_out_of_submission_order(traces):
    events = traces("background-jobs")
    assert done_order(events)[:5] == ["job 5", "job 2", "job 3", "job 1", "job 4"]
    out = stdout_of(events)
    assert out.index("submitted job 5") < out.index("job 1: finished")


def test_background_jobs_blocking_submits_only_after_the_previous_job(traces):
    events = traces("background-jobs", blocking=True)
    assert done_order(events)[:5] == ["job 1", "job 2", "job 3", "job 4", "job 5"]
    out = stdout_of(events)
    assert out.index("job 1: finished") < out.index("submitted job 2")
    assert len(of_kind(events, "loop.blocked")) == 5


def test_futures_one_result_wakes_three_readers(traces):
    events = traces("futures")
    names = task_names(events)
    resolved = [e for e in of_kind(events, "future.done") if len(e["waiters"]) == 3]
    assert len(resolved) == 1 and resolved[0]["detail"] == "42"
    assert sorted(names[t] for t in resolved[0]["waiters"]) == ["reader-1", "reader-2", "reader-3"]
    failed = [e for e in of_kind(events, "future.done") if e["state"] == "exception"]
    assert failed[0]["detail"] == "ValueError: the data never came"
    waits = [e for e in of_kind(events, "task.suspend") if names[e["task"]].startswith("reader")]
    assert {e["waiter"]["kind"] for e in waits} == {"future"}
    assert len({e["waiter"]["future"] for e in waits}) == 1


def test_cancel_arrives_at_the_await_and_shield_protects(traces):
    events = traces("cancel-and-shield")
    names = task_names(events)
    [cancel] = [e for e in of_kind(events, "task.cancel") if names[e["task"]] == "doomed"]
    assert cancel["msg"] == "not needed any more"
    outcome = {names[e["task"]]: e["state"] for e in of_kind(events, "task.done")}
    assert outcome["doomed"] == "cancelled" and outcome["protected"] == "result"


def test_cancel_comes_too_late_when_blocking(traces):
    events = traces("cancel-and-shield", blocking=True)
    names = task_names(events)
    outcome = {names[e["task"]]: e["state"] for e in of_kind(events, "task.done")}
    assert outcome["doomed"] == "result"
    assert "cancelled while waiting" not in stdout_of(events)


def test_timeouts_fire_and_a_cancelled_timer_never_runs(traces):
    events = traces("timeouts-and-delays")
    assert "gave up on the slow fetch" in stdout_of(events)
    cancelled = {e["handle"] for e in of_kind(events, "handle.cancel")}
    five = [e for e in of_kind(events, "handle.schedule") if e["queue"] == "timers" and e["when"] == 5.0]
    assert len(five) == 1 and five[0]["handle"] in cancelled
    assert five[0]["handle"] not in {e["handle"] for e in of_kind(events, "handle.begin")}


def test_timeouts_cannot_fire_while_blocking(traces):
    events = traces("timeouts-and-delays", blocking=True)
    assert "gave up" not in stdout_of(events)
    assert "slow data arrived after 2 s" in stdout_of(events)


def test_to_thread_keeps_the_loop_free(traces):
    events = traces("to-thread")
    assert of_kind(events, "loop.blocked") == []
    assert any(e["source"] == "threadsafe" for e in of_kind(events, "handle.schedule"))
    waits = [e["waiter"]["kind"] for e in of_kind(events, "task.suspend")]
    assert "thread" in waits
    out = stdout_of(events)
    assert out.index("tick 3") < out.index("blocking_io slept 1.2 s")


def test_to_thread_blocking_freezes_the_ticker(traces):
    events = traces("to-thread", blocking=True)
    out = stdout_of(events)
    assert out.index("blocking_io slept 0.4 s") < out.index("tick 1")
    lines = {e["line"] for e in of_kind(events, "loop.blocked")}
    assert lines == {line_of("to-thread", "time.sleep(seconds)", True)}


def test_taskgroup_cancels_the_rest_when_one_fails(traces):
    events = traces("gather-and-taskgroup")
    names = task_names(events)
    outcome = {names[e["task"]]: (e["state"], e["detail"]) for e in of_kind(events, "task.done")}
    assert outcome["broken"] == ("exception", "ValueError: broken failed")
    assert outcome["d"][0] == "cancelled"


def test_queue_consumers_wait_in_get_and_producer_in_put(traces):
    events = traces("queue")
    awaiting = {e["awaiting"] for e in of_kind(events, "task.suspend")}
    assert {"Queue.get()", "Queue.put()"} <= awaiting


def test_semaphore_lets_two_in_at_a_time(traces):
    events = traces("semaphore")
    running, most = 0, 0
    for line in stdout_of(events).splitlines():
        running += 1 if line.endswith("started") else -1
        most = max(most, running)
    assert most == 2
    assert "Semaphore.acquire()" in {e["awaiting"] for e in of_kind(events, "task.suspend")}
    assert events[-1]["elapsed"] == pytest.approx(3.0, abs=0.05)


def test_as_completed_yields_fastest_first(traces):
    events = traces("as-completed")
    assert [line.split()[1] for line in stdout_of(events).splitlines()] == ["fast", "medium", "slow"]


def test_stress_blocking_takes_far_longer_and_blocks_the_loop_again_and_again(traces):
    events = traces("stress", blocking=True)
    assert events[-1]["elapsed"] > 20 * traces("stress")[-1]["elapsed"]
    sleeps = [e for e in of_kind(events, "loop.blocked") if e["cause"] == "sleep"]
    assert len(sleeps) > 150 and {e["line"] for e in sleeps} == {line_of("stress", "time.sleep", blocking=True)}


def test_stress_runs_a_thousand_tasks_concurrently(traces):
    events = traces("stress")
    assert len(user_tasks(events)) == 1001
    assert len(of_kind(events, "task.done")) >= 1001
    assert events[-1]["elapsed"] < 1.2  # (the longest sleep is 1 s; creating the tasks is charged too)
    assert stdout_of(events) == "1000 tasks finished\n"
