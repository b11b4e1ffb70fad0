"""Programs that are not scenarios trace exactly as plain CPython runs them."""

import subprocess

import pytest

from conftest import PROGRAMS, done_order, of_kind, start_plain_run, stdout_of, task_names, trace

PROGRAM_FILES = sorted(PROGRAMS.glob("*.py"))
# A program whose first line is this has its stderr compared too (one that prints nothing there,
# or something that differs from run to run, such as an address, does not opt in).
STDERR_TOO = "# compare: stdout and stderr\n"


def _compares_stderr(path):
    return path.read_text().startswith(STDERR_TOO)


@pytest.fixture(scope="module")
def plain_runs():
    """file name -> (stdout, stderr or None, exit status) of a plain run; the file's path in stderr
    is made its name, as the traced program knows it."""
    started = {}
    for path in PROGRAM_FILES:
        stderr = subprocess.PIPE if _compares_stderr(path) else subprocess.DEVNULL
        started[path.name] = (path, start_plain_run(path, stderr=stderr))
    runs = {}
    for name, (path, process) in started.items():
        out, err = process.communicate(timeout=60)
        runs[name] = (out, None if err is None else err.replace(str(path), path.name), process.returncode)
    return runs


@pytest.mark.parametrize("clock", ["virtual", "real"])
@pytest.mark.parametrize("path", PROGRAM_FILES, ids=lambda p: p.stem)
def test_traced_output_and_task_order_match_a_plain_run(path, clock, plain_runs, no_leftovers):
    plain_out, plain_err, plain_status = plain_runs[path.name]
    assert plain_status == 0
    events = trace(path.read_text(), path.name, clock=clock)
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
