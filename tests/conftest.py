import atexit
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from server import catalog, sandbox
from server.events import wire
from server.runner import Options, Program, Run

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"


# Every sandboxed child a test starts descends from this pytest process (one of pytest-xdist's
# workers, or pytest itself), through a server or not. A child subreaper keeps it so for one whose
# parent died before it (bubblewrap killed while it sets up): the orphan is re-parented to this
# process, not to init, so a leftover of ours is still found below us, and another worker's, or
# another checkout's on the same machine, never is. (Such an orphan, once dead, stays a zombie of
# this process until pytest exits: never reaped here, because a wait for any child would take the
# exit status of a Popen that pytest's tests wait for.)
_PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER): an orphaned leftover would go unseen")


def _ours(pid):
    """The process descends from this pytest process."""
    me = os.getpid()
    try:
        while pid > 1:
            if pid == me:
                return True
            pid = _parent(pid)
    except (OSError, ValueError):
        pass
    return False


# Program code that finds the event pipe among its open files (the one pipe it may write to besides
# stderr) as `pipe`: for forging what the child sends the runner.
EVENT_PIPE = (
    "import os, stat\n"
    "pipe = next(fd for fd in range(3, 64) if os.path.exists(f'/proc/self/fd/{fd}')\n"
    "            and stat.S_ISFIFO(os.fstat(fd).st_mode)\n"
    "            and os.readlink(f'/proc/self/fd/{fd}') != os.readlink('/proc/self/fd/2')\n"
    "            and os.readlink(f'/proc/self/fd/{fd}') != os.readlink('/proc/self/fd/0'))\n"
)


def _parent(pid):
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rpartition(")")[2].split()[1])


def child_processes(spares=()):
    """Pids of sandboxed children of this pytest process still alive (any run, any test); not those
    at or below the pids in `spares` (a server's children waiting for runs: no run's)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{entry}/stat") as handle:
                state = handle.read().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if b"server.engine.child" in cmdline and state not in ("Z", "X") and _ours(int(entry)):
            found.append(int(entry))
    spares = set(spares)

    def waiting(pid):
        try:
            while pid > 1:
                if pid in spares:
                    return True
                pid = _parent(pid)
        except OSError:
            pass
        return False

    return [pid for pid in found if not waiting(pid)]


def trace(source, filename="main.py", *, target=None, trusted=False, timeout=10.0, **options):
    run = Run(
        Program(source, filename, target or filename, trusted=trusted),
        Options(**options),
        sandbox.Limits(timeout=timeout),
    )
    return list(run.events())


def trace_scenario(scenario_id, blocking=False, **options):
    scenario = catalog.get(scenario_id)
    return trace(scenario.source(blocking), scenario.filename, target=scenario_id, trusted=True,
                 blocking=blocking, **options)


def start_plain_run(path, python=sys.executable, stderr=subprocess.DEVNULL):
    """Start `python path` without Loopscope; `.communicate()[0]` is its stdout (`[1]` its stderr, with
    `stderr=subprocess.PIPE`)."""
    env = {"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}  # (the sandbox's locale)
    return subprocess.Popen([python, str(path)], stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)


def plain_run(path, python=sys.executable):
    return start_plain_run(path, python).communicate(timeout=60)[0]


SCENARIO_CASES = [(s.id, mode) for s in catalog.scenarios().values() for mode in s.modes]
_plain_scenarios = {}  # (scenario id, mode) -> future of its plain run's stdout, once started


class _WrittenBy:
    """The stdout of a plain run that another pytest-xdist worker started, once it wrote it down."""

    def __init__(self, path):
        self.path = path

    def result(self, timeout=240):
        deadline = time.monotonic() + timeout
        while not self.path.exists():
            assert time.monotonic() < deadline, f"no worker wrote {self.path.name} in time"
            time.sleep(0.05)
        return self.path.read_text()


def plain_scenario_runs(config=None):
    """Every scenario run by plain CPython, (scenario id, mode) -> future of its stdout. Started as
    soon as a test that needs them is collected (`pytest_collection_modifyitems`): they sleep in
    real time, the blocking stress run for half a minute, which then passes beside other tests.
    Under pytest-xdist every worker collects every test: the first to claim the controller's folder
    starts them once and writes each stdout there; the others read them from it."""
    if not _plain_scenarios:
        from concurrent.futures import ThreadPoolExecutor

        shared = getattr(config, "workerinput", {}).get("loopscope_plain")
        if shared is None:
            folder = Path(tempfile.mkdtemp(prefix="loopscope-plain-"))
            atexit.register(shutil.rmtree, folder, True)
        else:
            folder = Path(shared)
            try:
                (folder / "claimed").mkdir()
            except FileExistsError:
                _plain_scenarios.update({case: _WrittenBy(folder / f"{case[1]}-{case[0]}.out") for case in SCENARIO_CASES})
                return _plain_scenarios

        def plain(case):
            scenario_id, mode = case
            path = folder / f"{mode}-{catalog.get(scenario_id).filename}"
            path.write_text(catalog.get(scenario_id).source(mode == catalog.BLOCKING))
            out = start_plain_run(path).communicate(timeout=120)[0]
            written = folder / f"{mode}-{scenario_id}.out"
            written.with_suffix(".part").write_text(out)
            written.with_suffix(".part").rename(written)  # (whole, or not there yet)
            return out

        # A few at a time: on a loaded machine, a real run's timers fire late and can change its output.
        pool = ThreadPoolExecutor(max_workers=4)
        _plain_scenarios.update({case: pool.submit(plain, case) for case in SCENARIO_CASES})
        pool.shutdown(wait=False)
    return _plain_scenarios


def pytest_collection_modifyitems(session, config, items):
    if any("plain_runs" in getattr(item, "fixturenames", ()) for item in items):
        plain_scenario_runs(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(pytest-xdist's controller, for each worker) The folder where the plain runs' stdout is shared."""
    config = node.config
    if not hasattr(config, "loopscope_plain"):
        config.loopscope_plain = tempfile.mkdtemp(prefix="loopscope-plain-")
    node.workerinput["loopscope_plain"] = config.loopscope_plain


def pytest_unconfigure(config):
    if hasattr(config, "loopscope_plain"):  # (the controller: every worker has ended)
        shutil.rmtree(config.loopscope_plain, True)


def stdout_of(events, stream="stdout"):
    return "".join(e["text"] for e in events if e["kind"] == "stdout" and e["stream"] == stream)


def of_kind(events, kind):
    return [e for e in events if e["kind"] == kind]


def task_names(events):
    """task id -> latest name."""
    names = {}
    for event in events:
        if event["kind"] in ("task.new", "task.rename"):
            names[event["task"]] = event["name"]
    return names


def done_order(events, include_internal=False):
    internal = {e["task"] for e in of_kind(events, "task.new") if e["internal"]}
    names = task_names(events)
    return [names[e["task"]] for e in of_kind(events, "task.done") if include_internal or e["task"] not in internal]


CHROMIUM = "/usr/lib/chromium/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's, driven by Playwright), launched once for every page test: a test
    gets a context of its own (`test_page.page`), which shares nothing with another's. (Launched
    and closed per test file, it took 2.5-3 s each time, for eight files.)"""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def no_leftovers():
    """Fails the test if any sandboxed child is still running after it."""
    before = set(child_processes())
    yield
    assert set(child_processes()) - before == set()


def run_engine_unsandboxed(source, filename="main.py", python=sys.executable, prelude="", **config):
    """Run the engine's child directly (no sandbox), e.g. under another Python; its events as dicts.

    `prelude` is Python run in the child before the program, to break the tracer on purpose.
    """
    import json

    bootstrap = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{prelude}\n"
                 "from server.engine.child import main; main()")
    payload = {"source": source, "filename": filename, "target": filename, **config}
    done = subprocess.run([python, "-S", "-B", "-c", bootstrap], input=json.dumps(payload).encode(),
                          capture_output=True, timeout=60, env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"})
    return wire.Decoder().feed(done.stdout)
