"""The page's fold (web/state.js), run messages (web/runs.js), playback's pace (web/pace.js, moments.js,
caption.js) and player (web/player.js), run by node's test runner on real traces."""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

TRACES = {"tasks": ["tasks"], "tasks-blocking": ["tasks", "--blocking"], "stress": ["stress"],
          "sequential": ["sequential"], "sequential-blocking": ["sequential", "--blocking"],
          "semaphore-blocking": ["semaphore", "--blocking"]}


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    folder = tmp_path_factory.mktemp("traces")
    paths = {}
    for name, args in TRACES.items():
        done = subprocess.run([sys.executable, "-m", "server.trace", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=True)
        paths[name] = str(folder / f"{name}.jsonl")
        (folder / f"{name}.jsonl").write_text(done.stdout)
    return paths


def node_tests(name, traces):
    node = shutil.which("node")
    assert node, "node is needed for the page's logic tests (scripts/install-system-packages.sh --browser)"
    done = subprocess.run([node, "--test", str(ROOT / "tests" / "js" / name)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={"LOOPSCOPE_TRACES": json.dumps(traces), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


# Each file of node tests, and how many tests it holds (so a file whose tests stop loading fails).
NODE_TESTS = {"fold.test.mjs": 11, "loop.test.mjs": 3, "pace.test.mjs": 18, "player.test.mjs": 5, "narrate.test.mjs": 2}


@pytest.mark.parametrize("name", NODE_TESTS)
def test_the_pages_pure_modules_pass_their_node_tests(name, traces):
    out = node_tests(name, traces)
    assert "# fail 0" in out and f"# pass {NODE_TESTS[name]}" in out, out
