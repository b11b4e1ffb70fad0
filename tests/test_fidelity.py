"""Programs that are not scenarios trace exactly as plain CPython runs them."""

import pytest

from conftest import PROGRAMS, done_order, of_kind, start_plain_run, stdout_of, task_names, trace

PROGRAM_FILES = sorted(PROGRAMS.glob("*.py"))


@pytest.fixture(scope="module")
def plain_outputs():
    """file name -> (stdout, exit status) of a plain run."""
    started = {path.name: start_plain_run(path) for path in PROGRAM_FILES}
    return {name: (process.communicate(timeout=60)[0], process.returncode) for name, process in started.items()}


@pytest.mark.parametrize("clock", ["virtual", "real"])
@pytest.mark.parametrize("path", PROGRAM_FILES, ids=lambda p: p.stem)
def test_traced_output_and_task_order_match_a_plain_run(path, clock, plain_outputs, no_leftovers):
    events = trace(path.read_text(), path.name, clock=clock)
    plain_out, plain_status = plain_outputs[path.name]
    assert events[-1]["exit"] == plain_status, events[-1]
    if plain_status == 0:
        assert events[-1]["status"] == "ok", events[-1]
    out = stdout_of(events)
    assert out == plain_out
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
