"""The trace CLI: a contract other tools depend on."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from server import catalog


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "server.trace", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def test_list_prints_every_scenario_id_one_a_line():
    done = cli("--list")
    assert done.returncode == 0
    assert done.stdout.splitlines() == list(catalog.scenarios())


def test_scenario_trace_is_json_lines_from_start_to_end(no_leftovers):
    done = cli("tasks", "--blocking")
    assert done.returncode == 0
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["kind"] == "run.start" and events[0]["blocking"] is True and events[0]["target"] == "tasks"
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "ok"
    assert any(e["kind"] == "loop.blocked" for e in events)


def test_file_target_runs_in_the_sandbox(tmp_path, no_leftovers):
    program = tmp_path / "mine.py"
    program.write_text("import asyncio\nasync def main():\n    await asyncio.sleep(0.5)\n    print('hi')\n"
                       "asyncio.run(main())\n")
    done = cli(str(program), "--clock", "real", "--timeout", "5")
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0
    assert events[0]["file"] == str(program) and events[0]["target"] == "mine.py" and events[0]["clock"] == "real"
    assert [e["text"] for e in events if e["kind"] == "stdout"] == ["hi\n"]
    assert 0.5 <= events[-1]["elapsed"] < 5


def test_a_file_is_known_by_the_name_python_gives_it(tmp_path, no_leftovers):
    """`python mine.py` calls it by its absolute path: in __file__, sys.argv, reprs and tracebacks."""
    (tmp_path / "mine.py").write_text(
        "import asyncio, sys\n"
        "async def main():\n"
        "    print(__file__, sys.argv)\n"
        "    print(asyncio.current_task())\n"
        "asyncio.run(main())\n"
    )
    plain = subprocess.run([sys.executable, "mine.py"], cwd=tmp_path, capture_output=True, text=True, check=True)
    done = subprocess.run([sys.executable, "-m", "server.trace", "mine.py"], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert "".join(e["text"] for e in events if e["kind"] == "stdout") == plain.stdout
    assert str(tmp_path / "mine.py") in plain.stdout


def test_program_errors_still_exit_zero(tmp_path, no_leftovers):
    program = tmp_path / "broken.py"
    program.write_text("raise SystemExit(3)\n")
    done = cli(str(program))
    assert done.returncode == 0
    assert json.loads(done.stdout.splitlines()[-1])["status"] == "error"


def test_timeout_option_ends_a_long_run(tmp_path, no_leftovers):
    program = tmp_path / "spin.py"
    program.write_text("while True:\n    pass\n")
    done = cli(str(program), "--timeout", "1")
    end = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 0 and end["status"] == "timeout"


def test_misuse_exits_2_with_one_line_on_stderr(tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hi")
    cases = [
        (("no-such-scenario",), "unknown scenario 'no-such-scenario'"),
        ((str(tmp_path / "missing.py"),), "no such file"),
        ((str(text_file),), "not a .py file"),
        (("tasks", "--clock", "sundial"), "invalid choice: 'sundial'"),
        (("tasks", "--timeout", "-1"), "--timeout must be between"),
        (("futures", "--blocking"), "has no blocking variant"),
        ((), "give a TARGET"),
    ]
    for args, message in cases:
        done = cli(*args)
        assert done.returncode == 2, args
        assert done.stdout == ""
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)


def _trace_without_bubblewrap(*args):
    env = {**os.environ, "LOOPSCOPE_NO_BWRAP": "1"}
    return subprocess.run([sys.executable, "-m", "server.trace", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env=env)


@pytest.fixture
def own_program(tmp_path):
    program = tmp_path / "mine.py"
    program.write_text("print('ran')\n")
    return program


def test_without_bubblewrap_a_file_is_refused_and_the_message_says_how_to_trust_it(own_program, no_leftovers):
    refused = _trace_without_bubblewrap(str(own_program))
    assert refused.returncode == 2 and refused.stdout == ""
    assert "Refusing to run untrusted code without the full sandbox" in refused.stderr
    assert "--trust" in refused.stderr and "LOOPSCOPE_NO_BWRAP" in refused.stderr


def test_without_bubblewrap_a_trusted_file_runs_with_a_warning(own_program, no_leftovers):
    trusted = _trace_without_bubblewrap(str(own_program), "--trust")
    assert trusted.returncode == 0 and '"text":"ran\\n"' in trusted.stdout
    assert "warning: reduced sandbox" in trusted.stderr


def test_without_bubblewrap_a_scenario_runs_with_a_warning(no_leftovers):
    scenario = _trace_without_bubblewrap("sequential")
    assert scenario.returncode == 0 and json.loads(scenario.stdout.splitlines()[-1])["status"] == "ok"
    assert "warning: reduced sandbox" in scenario.stderr
