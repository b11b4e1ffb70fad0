"""Programs that are not scenarios trace exactly as plain CPython runs them."""

import os
import subprocess
import sys

import pytest

from conftest import PROGRAMS, done_order, of_kind, start_plain_run, stdout_of, task_names, trace

PROGRAM_FILES = sorted(PROGRAMS.glob("*.py"))


@pytest.fixture(scope="module")
def plain_outputs():
    started = {path.name: start_plain_run(path) for path in PROGRAM_FILES}
    return {name: process.communicate(timeout=60)[0] for name, process in started.items()}


@pytest.mark.parametrize("clock", ["virtual", "real"])
@pytest.mark.parametrize("path", PROGRAM_FILES, ids=lambda p: p.stem)
def test_traced_output_and_task_order_match_a_plain_run(path, clock, plain_outputs, no_leftovers):
    events = trace(path.read_text(), path.name, clock=clock)
    assert events[-1]["status"] == "ok", events[-1]
    out = stdout_of(events)
    assert out == plain_outputs[path.name]
    names = set(task_names(events).values())
    printed = [line.split()[1] for line in out.splitlines() if line.startswith("done ") and line.split()[1] in names]
    assert [name for name in done_order(events) if name in printed] == printed


def test_loopback_echo_is_traced_as_io(no_leftovers):
    path = PROGRAMS / "tcp_echo.py"
    events = trace(path.read_text(), path.name)
    assert any(e["source"] == "io" for e in of_kind(events, "handle.schedule"))
    kinds = {e["waiter"]["kind"] for e in of_kind(events, "task.suspend")}
    assert "io" in kinds


def test_threadsafe_callbacks_are_marked(no_leftovers):
    path = PROGRAMS / "threadsafe.py"
    events = trace(path.read_text(), path.name)
    sources = [e["source"] for e in of_kind(events, "handle.schedule") if e["label"] in ("print", "Future.set_result")]
    assert sources == ["threadsafe"] * 4


# -- 8. the virtual clock and the real world --
# The programs named clock_*.py above are compared with plain runs under both clocks; these check
# what a plain run's output cannot show: that virtual traces repeat, and that the trace says where
# the virtual clock cannot agree with a plain run.

SHAPE_TIMES = {"t", "duration", "elapsed", "when", "until", "python", "seq", "running"}


def shape(events):
    """A trace without its times (as tests/test_scenarios.py's golden traces, and a waiter's `when`)."""
    return [{k: ({**v, "when": None} if k == "waiter" else v) for k, v in e.items() if k not in SHAPE_TIMES}
            for e in events]


def test_small_chunks_of_computing_trace_the_same_every_time(no_leftovers):
    """Each callback is charged its CPU time in whole milliseconds: the timeout falls after the same
    chunk in every run (charged exactly, or not at all below 5 ms, it fell elsewhere each time)."""
    path = PROGRAMS / "clock_small_chunks.py"
    first, *others = (shape(trace(path.read_text(), path.name)) for _ in range(3))
    assert first[-1]["status"] == "ok"
    assert all(other == first for other in others)


COMPUTE_AND_TICK = """\
import asyncio, time

def compute(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass

async def ticker():
    for i in range(3):
        await asyncio.sleep(0.045)
        print("tick", i)

async def worker():
    for i in range(6):
        compute(0.03)
        print("chunk", i)
        await asyncio.sleep(0)

async def main():
    await asyncio.gather(ticker(), worker())

asyncio.run(main())
"""


def test_a_busy_cpu_does_not_change_a_virtual_trace(no_leftovers):
    """A callback descheduled by other work on its CPU is charged the time it ran, not the time it
    waited for the CPU: no spurious `loop.blocked`, and the same trace as on an idle CPU."""
    cpu = min(os.sched_getaffinity(0))
    hog = subprocess.Popen([sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"])
    mask = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})  # (this thread's: the traced run's processes inherit it)
        try:
            busy = trace(COMPUTE_AND_TICK)
        finally:
            os.sched_setaffinity(0, mask)
    finally:
        hog.kill()
        hog.wait()
    idle = trace(COMPUTE_AND_TICK)
    assert of_kind(busy, "loop.blocked") == []
    assert shape(busy) == shape(idle)


CPU_TIMER = """\
import signal, time

fired = []
signal.signal(signal.SIGVTALRM, lambda signum, frame: fired.append(signum))
signal.setitimer(signal.ITIMER_VIRTUAL, 0.01)
while not fired:
    pass
print("the CPU-time timer fired")
"""


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_a_cpu_time_itimer_is_said_to_differ_from_a_plain_run(clock, no_leftovers):
    events = trace(CPU_TIMER, clock=clock)
    assert stdout_of(events) == "the CPU-time timer fired\n"
    [note] = of_kind(events, "clock.note")
    assert "ITIMER_VIRTUAL" in note["text"] and note["line"] == 5


def test_an_alarm_sent_while_a_callback_computes_is_said_to_come_late(no_leftovers):
    path = PROGRAMS / "clock_alarm_compute.py"
    events = trace(path.read_text(), path.name)
    assert stdout_of(events) == "interrupted: True True\ndone main\n"
    [note] = of_kind(events, "clock.note")
    assert "late" in note["text"]


@pytest.mark.parametrize("name", ["clock_due_order.py", "clock_alarm_idle.py", "clock_alarm_compute.py"])
def test_timers_and_alarms_keep_their_order_run_after_run(name, plain_outputs, no_leftovers):
    path = PROGRAMS / name
    for _ in range(3):
        assert stdout_of(trace(path.read_text(), path.name)) == plain_outputs[name]
