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
    started = {path.name: (path, start_plain_run(path, stderr=subprocess.PIPE if _compares_stderr(path) else subprocess.DEVNULL))
               for path in PROGRAM_FILES}
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
