"""Programs that are not scenarios trace exactly as plain CPython runs them."""

import concurrent.futures
import os
import re
import subprocess
import sys

import pytest

from conftest import PROGRAMS, done_order, of_kind, plain_run, start_plain_run, stdout_of, task_names, trace

PROGRAM_FILES = sorted(PROGRAMS.glob("*.py"))
# A program whose first line is this has its stderr compared too (one that prints nothing there,
# or something that differs from run to run, such as an address, does not opt in).
STDERR_TOO = "# compare: stdout and stderr\n"


def _compares_stderr(path):
    return path.read_text().startswith(STDERR_TOO)


@pytest.fixture(scope="module")
def plain_outputs():
    """file name -> (stdout, stderr or None, exit status) of a plain run; stderr for the programs that
    ask for it (`STDERR_TOO`), with the file's path made its name, as the traced program knows it.
    Two at a time: many at once on a busy machine delayed some programs' timers enough to change
    their order."""

    def plain(path):
        compared = _compares_stderr(path)
        process = start_plain_run(path, stderr=subprocess.PIPE if compared else subprocess.DEVNULL)
        out, err = process.communicate(timeout=60)
        return out, err.replace(str(path), path.name) if compared else None, process.returncode

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return dict(zip((path.name for path in PROGRAM_FILES), pool.map(plain, PROGRAM_FILES)))


@pytest.mark.parametrize("clock", ["virtual", "real"])
@pytest.mark.parametrize("path", PROGRAM_FILES, ids=lambda p: p.stem)
def test_traced_output_and_task_order_match_a_plain_run(path, clock, plain_outputs, no_leftovers):
    events = trace(path.read_text(), path.name, clock=clock)
    plain_out, plain_err, plain_status = plain_outputs[path.name]
    assert events[-1]["exit"] == plain_status, events[-1]
    if plain_status == 0:
        assert events[-1]["status"] == "ok", events[-1]
    out = stdout_of(events)
    assert out == plain_out
    if plain_err is not None:
        assert stdout_of(events, "stderr") == plain_err
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


# -- 1. the end of a program --

def test_a_run_that_never_exits_reports_no_exit_status(no_leftovers):
    events = trace("while True:\n    pass\n", "spin.py", timeout=1)
    assert events[-1]["status"] == "timeout" and events[-1]["exit"] is None


def test_os_exit_sends_what_came_before_it_and_says_how_the_program_ended(no_leftovers):
    path = PROGRAMS / "end_os_exit.py"
    events = trace(path.read_text(), path.name)
    end = events[-1]
    assert (end["status"], end["exit"]) == ("error", 4)
    assert end["reason"] == "The program ended its process with os._exit(4)."
    leaving = [e for e in events if e["kind"] == "stdout" and e["text"] == "about to leave\n"]
    assert leaving and leaving[0]["task"] is not None  # printed by its task, traced to the last


def test_sys_exit_with_a_message_prints_it_on_stderr_and_ends_with_status_1(no_leftovers):
    path = PROGRAMS / "end_exit_in_task.py"
    events = trace(path.read_text(), path.name)
    assert stdout_of(events, "stderr") == "bye\n"
    assert (events[-1]["status"], events[-1]["exit"]) == ("error", 1)


# -- 7. output in its place --

@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_writes_to_descriptor_1_keep_their_place_every_time(clock, plain_outputs, no_leftovers):
    path = PROGRAMS / "output_fd1_order.py"
    for _ in range(5):  # (fd 1 is read by a thread of its own: a race would show in some runs)
        assert stdout_of(trace(path.read_text(), path.name, clock=clock)) == plain_outputs[path.name][0]


SIGNAL_STORM = """\
import signal
calls = 0
def handler(signum, frame):
    global calls
    calls += 1
    print("tick", flush=True)
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.0001, 0.0001)
for i in range(10000):
    print("line", i, "of the program")
signal.setitimer(signal.ITIMER_REAL, 0)
print("handler calls:", calls)
"""


def test_a_signal_handler_that_prints_in_the_middle_of_prints_prints_each_line_once(no_leftovers):
    # A timer's signal lands anywhere, also inside a print (Loopscope's stdout is Python code): each of the
    # program's lines comes whole and once, and each handler call's line once, between two of them.
    lines = stdout_of(trace(SIGNAL_STORM, "storm.py", timeout=20)).splitlines()
    calls = int(lines[-1].removeprefix("handler calls: "))
    assert [line for line in lines[:-1] if line != "tick"] == [f"line {i} of the program" for i in range(10000)]
    assert lines.count("tick") == calls > 0


# -- 10. the program's world --

@pytest.mark.parametrize("make", ["concurrent.futures.ProcessPoolExecutor()", "multiprocessing.Queue()",
                                  "multiprocessing.Pool(2)", "multiprocessing.Process(target=print).start()"])
def test_multiprocessing_is_refused_with_the_sandboxs_sentence_as_a_permission_error(make, no_leftovers):
    source = ("import concurrent.futures, multiprocessing\n"
              f"try:\n    {make}\nexcept PermissionError as exc:\n    print(exc)\n")
    out = stdout_of(trace(source, "processes.py"))
    assert out.startswith("Loopscope sandbox: starting ") and "process" in out, out


def test_a_program_traced_from_a_path_finds_its_own_file(tmp_path, no_leftovers):
    # The CLI names a program by its path on the host: the sandbox has it at that path too.
    path = PROGRAMS / "world_own_source.py"
    events = trace(path.read_text(), str(path))
    assert stdout_of(events) == plain_run(path)


# -- 9. frames and depth --

def test_a_program_sets_and_reads_its_own_recursion_limit(no_leftovers):
    source = ("import sys\nsys.setrecursionlimit(123)\nprint(sys.getrecursionlimit())\n"
              "try:\n    sys.setrecursionlimit(0)\nexcept ValueError as exc:\n    print(exc)\n")
    assert stdout_of(trace(source, "limit.py")) == "123\nrecursion limit must be greater or equal than 1\n"


def test_the_error_event_and_the_programs_own_traceback_name_no_loopscope_file(no_leftovers):
    source = ("import asyncio, traceback\nasync def main():\n    traceback.print_stack()\n    1 / 0\n"
              "asyncio.run(main())\n")
    events = trace(source, "fails.py")
    error = of_kind(events, "error")[0]
    assert "engine" not in error["traceback"] and "engine" not in stdout_of(events, "stderr")
    assert "line 3, in main" in stdout_of(events, "stderr")


def _source_line(path, text):
    """The number of the one line of `path` that contains `text`."""
    (number,) = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return number


def _task_ids(events):
    return {name: tid for tid, name in task_names(events).items()}


# -- 2. garbage collection --


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_a_pending_task_nobody_references_is_destroyed_and_the_loop_says_so(clock, no_leftovers):
    path = PROGRAMS / "gc_unreferenced_task.py"
    events = trace(path.read_text(), path.name, clock=clock)
    destroyed = [e for e in of_kind(events, "loop.exception")
                 if e["message"] == "Task was destroyed but it is pending!"]
    assert [e["task"] for e in destroyed] == [_task_ids(events)["lost"]]
    assert "task collected: True\n" in stdout_of(events)


# -- 4. hostile objects --


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_hostile_objects_are_described_safely_and_every_task_finishes(clock, no_leftovers):
    path = PROGRAMS / "hostile_objects.py"
    events = trace(path.read_text(), path.name, clock=clock)
    assert events[-1]["status"] == "ok" and of_kind(events, "error") == []
    assert {e["task"] for e in of_kind(events, "task.new")} == {e["task"] for e in of_kind(events, "task.done")}
    for event in events:
        for value in event.values():
            if isinstance(value, str) and event["kind"] != "stdout":
                assert len(value) <= 240 and " at 0x" not in value, (event["kind"], value[:80])
    huge = [e["detail"] for e in of_kind(events, "task.done") if e["detail"].startswith("HugeStr: ")]
    assert huge == ["HugeStr: " + "y" * 191 + "… (5,000,009 characters)"]


_SELF = []
_SELF.extend([_SELF, (_SELF,), {"again": _SELF}])


@pytest.mark.parametrize("value", [
    [], (), {}, set(), frozenset(), (1,), frozenset({3}), "it's", 'say "x"', "'\"", b"\x00'", list(range(1000)),
    {n: [n, (n,)] for n in range(300)}, "x" * 5000, "'" * 3000 + '"', b"\0" * 3000, [["deep"] * 3] * 200, _SELF,
    [1.5, None, True, 2j, ..., "é\n"] * 40,
], ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("length", [1, 60, 800])
def test_a_repr_made_only_as_far_as_it_is_shown_is_the_start_of_the_repr(value, length):
    from server.engine.repr_prefix import repr_prefix

    made, whole = repr_prefix(value, length), repr(value)
    assert whole.startswith(made) and (made == whole or len(made) > length)


# -- 5. who cancels --


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_a_cancel_run_by_a_callback_is_a_plain_callback_and_nobody_s_request(clock, no_leftovers):
    path = PROGRAMS / "cancel_by_callbacks.py"
    for _ in range(3):  # a worker thread queues one of the cancels
        events = trace(path.read_text(), path.name, clock=clock)
        ids = _task_ids(events)
        cancels = [e for e in of_kind(events, "handle.schedule") if e["label"] == "Task.cancel"]
        assert list({e["handle"]: e["task"] for e in cancels}.values()) == [None] * 4  # fresh, timer, soon, thread
        by = {e["task"]: e["by"] for e in of_kind(events, "task.cancel")}
        main = ids["Task-1"]
        assert by == {ids["fresh"]: None, ids["soon"]: None, ids["thread"]: None, ids["direct"]: main,
                      ids["timer"]: None, ids["late"]: main}
        running = None  # a task suspends only at the end of a callback of its own, not of a cancel's
        for event in events:
            if event["kind"] == "handle.begin":
                running = event["task"]
            elif event["kind"] == "task.suspend":
                assert event["task"] == running, event


# -- 6. deep await chains --


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_a_deep_await_chain_waits_at_its_bottom_line_on_what_is_awaited_there(clock, no_leftovers):
    path = PROGRAMS / "deep_await_chain.py"
    events = trace(path.read_text(), path.name, clock=clock)
    bottom = _source_line(path, "await asyncio.sleep(1 / depth)")
    ids = _task_ids(events)
    for depth in (1000, 150, 3):
        first = next(e for e in of_kind(events, "task.suspend") if e["task"] == ids[f"chain{depth}"])
        assert (first["line"], first["awaiting"]) == (bottom, f"asyncio.sleep({1 / depth!r})")
        assert first["via"].startswith(f"level() line {_source_line(path, 'return await level')} → ")


# -- 8. the virtual clock and the real world --
# The programs named clock_*.py above are compared with plain runs under both clocks; these check
# what a plain run's output cannot show: that virtual traces repeat, and that the trace says where
# the virtual clock cannot agree with a plain run.

SHAPE_TIMES = {"t", "duration", "elapsed", "when", "until", "python", "seq", "running"}


def shape(events):
    """A trace without its times (as tests/test_scenarios.py's golden traces, and a waiter's `when`),
    and without `loop.stalled`, which reports real time (a busy machine makes a callback take longer)."""
    return [{k: ({**v, "when": None} if k == "waiter" else v) for k, v in e.items() if k not in SHAPE_TIMES}
            for e in events if e["kind"] != "loop.stalled"]


def test_a_callback_that_waits_for_a_busy_cpu_is_not_reported_as_holding_the_loop(no_leftovers):
    """Under the virtual clock a callback is charged the time it ran, not the time its thread waited for
    a CPU: one that computed 30 ms in some 150 ms of real time, sharing its CPU with four threads, is
    no `loop.stalled` (a stall report came with no `loop.blocked` after it, and the coach then said the
    loop was held until the run was stopped)."""
    path = PROGRAMS / "crowded_cpu.py"
    for _ in range(2):
        events = trace(path.read_text(), path.name)
        assert events[-1]["status"] == "ok" and stdout_of(events) == "computed\n"
        assert of_kind(events, "loop.stalled") == []


def test_small_chunks_of_computing_trace_the_same_every_time(no_leftovers):
    """Each callback is charged its CPU time in whole milliseconds: the timeout falls after the same
    chunk in every run (charged exactly, or not at all below 5 ms, it fell elsewhere each time)."""
    path = PROGRAMS / "clock_small_chunks.py"
    runs = [trace(path.read_text(), path.name) for _ in range(3)]
    first, *others = (shape(events) for events in runs)
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
        assert stdout_of(trace(path.read_text(), path.name)) == plain_outputs[name][0]


def test_computing_in_steps_too_short_to_charge_is_said_to_leave_the_clock_behind():
    """Callbacks under 1.5 ms are charged nothing (traces stay the same from run to run); when such
    steps add up, the trace says so, once."""
    source = ("import asyncio, time\n\nasync def main():\n    for _ in range(40):\n"
              "        start = time.thread_time()\n"
              "        while time.thread_time() - start < 0.001:  # about a millisecond of computing\n"
              "            pass\n        await asyncio.sleep(0)\n    print('done')\n\nasyncio.run(main())\n")
    events = trace(source)
    assert stdout_of(events) == "done\n" and events[-1]["status"] == "ok"
    [note] = [e for e in of_kind(events, "clock.note") if "charged nothing" in e["text"]]
    assert re.match(r"\d+ callbacks so far ran under 1.5 ms each \(\d+ ms in all\)", note["text"]), note["text"]
    quiet = trace("import asyncio\nasync def main():\n    for _ in range(40):\n        await asyncio.sleep(0)\n"
                  "asyncio.run(main())\n")
    assert of_kind(quiet, "clock.note") == []  # (steps that do not compute are not counted)
