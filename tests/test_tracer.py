"""Tracer behaviour that no scenario pins down on its own."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

from conftest import PROGRAMS, of_kind, plain_run, run_engine_unsandboxed, stdout_of, trace


def test_cpu_bound_blocking_names_the_busy_line_and_is_charged_to_loop_time():
    source = (
        "import asyncio\n"
        "async def crunch():\n"
        "    total = 0\n"
        "    for i in range(30_000_000):\n"
        "        total += i\n"
        "    return total\n"
        "asyncio.run(crunch())\n"
    )
    events = trace(source)
    [blocked] = of_kind(events, "loop.blocked")
    assert blocked["cause"] == "cpu"
    assert blocked["line"] in (4, 5)
    assert blocked["duration"] >= 0.05
    assert events[-1]["elapsed"] >= blocked["duration"]


def test_a_busy_wait_on_the_clock_waits_as_long_as_in_a_plain_run(tmp_path):
    """`while time.perf_counter() < end` once took a million virtual nanosecond steps (a
    second of real time for each millisecond waited), all charged to loop time."""
    path = tmp_path / "spin.py"
    path.write_text(
        "import asyncio, time\n"
        "async def ticker():\n"
        "    for i in range(3):\n"
        "        print('tick', i)\n"
        "        await asyncio.sleep(0.04)\n"
        "async def spinner():\n"
        "    for i in range(3):\n"
        "        end = time.perf_counter() + 0.015\n"
        "        while time.perf_counter() < end:\n"
        "            pass\n"
        "        print('spun', i)\n"
        "        await asyncio.sleep(0)\n"
        "async def main():\n"
        "    start = time.monotonic()\n"
        "    await asyncio.gather(ticker(), spinner())\n"
        # (a plain run on a loaded machine takes 0.15 s rather than 0.12: not to the tenth)
        "    print('in time:', 0.1 < time.monotonic() - start < 0.3)\n"
        "asyncio.run(main())\n"
    )
    events = trace(path.read_text())
    assert stdout_of(events) == plain_run(path)
    spins = [e["duration"] for e in of_kind(events, "handle.end") if e["duration"] >= 0.01]
    assert len(spins) == 3 and all(0.015 <= d < 0.5 for d in spins)
    assert events[-1]["elapsed"] < 1


def test_a_busy_wait_on_loop_time_waits_as_long_too():
    source = (
        "import asyncio\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    end = loop.time() + 0.02\n"
        "    while loop.time() < end:\n"
        "        pass\n"
        "    await asyncio.sleep(0.5)\n"
        "asyncio.run(main())\n"
    )
    events = trace(source)
    [step] = [e for e in of_kind(events, "handle.end") if e["task"] and e["duration"] > 0.01]
    assert 0.02 <= step["duration"] < 0.5
    assert 0.52 <= events[-1]["elapsed"] < 1


def test_a_callback_that_computes_for_milliseconds_lets_timers_fall_due_meanwhile(tmp_path):
    path = tmp_path / "crunch.py"
    path.write_text(
        "import asyncio\n"
        "def crunch():\n"
        "    return sum(i * i for i in range(1_000_000))\n"
        "async def ticker():\n"
        "    print('tick')\n"
        "    await asyncio.sleep(0.001)\n"
        "    print('tock')\n"
        "async def cruncher():\n"
        "    for i in range(5):\n"
        "        crunch()\n"
        "        print('crunched', i)\n"
        "        await asyncio.sleep(0)\n"
        "async def main():\n"
        "    await asyncio.gather(ticker(), cruncher())\n"
        "asyncio.run(main())\n"
    )
    events = trace(path.read_text())
    # The 1 ms timer is due once the first crunch has taken its milliseconds, so its task goes
    # on before the cruncher is done (when computing was free in loop time, only after).
    assert stdout_of(events) == plain_run(path) == "tick\n" + "".join(
        f"crunched {i}\n" for i in range(3)) + "tock\ncrunched 3\ncrunched 4\n"
    assert events[-1]["elapsed"] >= 0.025


def test_what_a_program_writes_to_its_file_descriptor_1_is_output_too(tmp_path):
    """Straight to the descriptor (no task to name), in its place once the loop waits."""
    path = tmp_path / "raw.py"
    path.write_text(
        "import asyncio, os, sys\n"
        "async def main():\n"
        "    print('fileno', sys.stdout.fileno(), flush=True)\n"
        "    os.write(1, 'raw caf\\u00e9\\n'.encode())\n"
        "    transport, _ = await asyncio.get_running_loop().connect_write_pipe(asyncio.Protocol, sys.stdout)\n"
        "    transport.write(b'through a pipe transport\\n')\n"
        "    await asyncio.sleep(0.01)\n"
        "    print('done', flush=True)\n"
        "asyncio.run(main())\n"
        "os.write(1, b'bye\\n')\n"
    )
    events = trace(path.read_text())
    assert events[-1]["status"] == "ok"
    assert stdout_of(events) == plain_run(path)
    assert stdout_of(events).endswith("done\nbye\n")
    raw = {e["text"]: e["task"] for e in of_kind(events, "stdout")}
    assert raw["raw café\n"] is None and raw["through a pipe transport\n"] is None and raw["done\n"] is not None


def test_short_callbacks_are_not_blocking():
    events = trace("import asyncio\nasync def main():\n    sum(range(1000))\nasyncio.run(main())\n")
    assert of_kind(events, "loop.blocked") == []


def test_real_clock_measures_wall_time():
    source = "import asyncio\nasync def main():\n    await asyncio.sleep(0.3)\nasyncio.run(main())\n"
    events = trace(source, clock="real")
    assert events[0]["clock"] == "real"
    assert 0.3 <= events[-1]["elapsed"] < 3
    [idle] = [e for e in of_kind(events, "loop.idle") if e["until"] is not None]
    assert idle["until"] == pytest.approx(0.3, abs=0.1)


def test_virtual_clock_runs_long_sleeps_instantly_and_programs_see_loop_time():
    source = (
        "import asyncio, time\n"
        "async def main():\n"
        "    start = time.monotonic()\n"
        "    await asyncio.sleep(3600)\n"
        "    print(round(time.monotonic() - start))\n"
        "asyncio.run(main())\n"
    )
    events = trace(source, timeout=5)
    assert stdout_of(events) == "3600\n"
    assert events[-1]["elapsed"] == pytest.approx(3600, abs=0.01)


def test_prints_are_attributed_to_the_task_that_printed():
    source = (
        "import asyncio\n"
        "async def speak(word):\n"
        "    print(word, end='')\n"
        "    print('!')\n"
        "async def main():\n"
        "    await asyncio.gather(asyncio.create_task(speak('a'), name='A'), asyncio.create_task(speak('b'), name='B'))\n"
        "print('before the loop')\n"
        "asyncio.run(main())\n"
    )
    events = trace(source)
    names = {e["task"]: e["name"] for e in of_kind(events, "task.new") + of_kind(events, "task.rename")}
    said = [(names.get(e["task"]), e["text"]) for e in of_kind(events, "stdout")]
    assert said == [(None, "before the loop\n"), ("A", "a!\n"), ("B", "b!\n")]


def test_stderr_and_unretrieved_task_exceptions_are_reported():
    source = (
        "import asyncio, sys\n"
        "async def fail():\n"
        "    raise ValueError('lost')\n"
        "async def main():\n"
        "    asyncio.create_task(fail())\n"
        "    await asyncio.sleep(0.1)\n"
        "    print('to stderr', file=sys.stderr)\n"
        "asyncio.run(main())\n"
    )
    events = trace(source)
    assert "to stderr\n" in stdout_of(events, "stderr")
    [done] = [e for e in of_kind(events, "task.done") if e["state"] == "exception"]
    assert done["detail"] == "ValueError: lost" and done["line"] == 3
    assert "Task exception was never retrieved" in stdout_of(events, "stderr")


def test_a_failing_hook_stops_tracing_but_not_the_program():
    prelude = (
        "from server.engine import describe\n"
        "def broken(self, task):\n"
        "    raise RuntimeError('hook exploded')\n"
        "describe.Describer.where = broken\n"
    )
    source = "import asyncio\nasync def main():\n    await asyncio.sleep(1)\n    print('still fine')\nasyncio.run(main())\n"
    events = run_engine_unsandboxed(source, prelude=prelude)
    [error] = of_kind(events, "error")
    assert "tracer failed in after_callback" in error["message"] and "hook exploded" in error["message"]
    assert stdout_of(events) == "still fine\n"
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "ok"


def installed_pythons():
    """{path: (major, minor)} of the distinct CPython 3.11+ interpreters this machine has: this one,
    `python3.N` on the PATH, pyenv's versions (under $PYENV_ROOT) and any listed in $LOOPSCOPE_PYTHONS."""
    candidates = [sys.executable, *filter(None, (shutil.which(f"python3.{minor}") for minor in range(11, 20)))]
    if os.environ.get("PYENV_ROOT"):
        candidates += sorted(glob.glob(os.path.join(os.environ["PYENV_ROOT"], "versions", "3.*", "bin", "python3")))
    candidates += [path for path in os.environ.get("LOOPSCOPE_PYTHONS", "").split(os.pathsep) if path]
    found, seen = {}, set()
    for path in candidates:
        done = subprocess.run([path, "-c", "import sys; print(sys.executable); print(*sys.version_info[:2])"],
                              capture_output=True, text=True)
        if done.returncode != 0:  # e.g. a pyenv shim for a version that is not selected
            continue
        real, version = done.stdout.splitlines()
        major, minor = map(int, version.split())
        if os.path.realpath(real) in seen or (major, minor) < (3, 11):
            continue
        seen.add(os.path.realpath(real))
        found[path] = (major, minor)
    return found


PYTHONS = installed_pythons()


@pytest.mark.parametrize("python", [path for path, version in PYTHONS.items() if version >= (3, 12)])
def test_eager_task_factory_is_refused_plainly(python):
    source = "import asyncio\nasyncio.new_event_loop().set_task_factory(asyncio.eager_task_factory)\n"
    events = run_engine_unsandboxed(source, python=python)
    assert "does not trace eager tasks" in of_kind(events, "error")[0]["message"]


@pytest.mark.parametrize("python", list(PYTHONS))
@pytest.mark.parametrize("program", ["taskgroup.py", "queue_workers.py", "timeouts.py", "tcp_echo.py",
                                     "cancelled_timers.py"])
def test_tracer_is_faithful_on_every_installed_python(python, program):
    """The private attributes in engine/internals.py hold on each version we can find here (3.11+)."""
    path = PROGRAMS / program
    events = run_engine_unsandboxed(path.read_text(), program, python=python)
    assert events[-1]["status"] == "ok", events[-1]
    assert stdout_of(events) == plain_run(path, python)
    assert not of_kind(events, "error")


def test_what_a_task_awaits_is_described_afresh_at_a_repeated_await():
    """The same `await` line reports each call as it is: asyncio's sleep with its delay, or the
    program's own function of the same name (never mistaken for asyncio's)."""
    source = (
        "import asyncio\n"
        "async def sleep(delay):\n"
        "    await asyncio.sleep(delay)\n"
        "async def main():\n"
        "    for step in range(5):\n"
        "        nap = sleep if step % 2 else asyncio.sleep\n"
        "        await nap(step / 10)\n"
        "asyncio.run(main())\n"
    )
    events = trace(source)
    main = next(e["task"] for e in events if e["kind"] == "task.new" and e["coro"] == "main")
    waits = [(e["line"], e["awaiting"]) for e in events if e["kind"] == "task.suspend" and e["task"] == main]
    assert waits == [(7, "asyncio.sleep(0)"), (3, "asyncio.sleep(0.1)"), (7, "asyncio.sleep(0.2)"),
                     (3, "asyncio.sleep(0.3)"), (7, "asyncio.sleep(0.4)")]


def test_a_loop_run_from_another_thread_tells_threadsafe_calls_apart():
    """The usual source (`call_soon`) is remembered per loop and thread; when the same loop
    later runs on another thread, the first thread's calls read as `threadsafe` again."""
    source = (
        "import asyncio, threading\n"
        "loop = asyncio.new_event_loop()\n"
        "def here():\n"
        "    print('here')\n"
        "def there():\n"
        "    print('there')\n"
        "async def first():\n"
        "    loop.call_soon(here)\n"
        "    await asyncio.sleep(0)\n"
        "loop.run_until_complete(first())\n"
        "started = threading.Event()\n"
        "async def second():\n"
        "    loop.call_soon(here)\n"
        "    started.set()\n"
        "    await asyncio.sleep(0.2)\n"
        "worker = threading.Thread(target=loop.run_until_complete, args=(second(),))\n"
        "worker.start()\n"
        "started.wait()\n"
        "loop.call_soon_threadsafe(there)\n"
        "worker.join()\n"
        "loop.close()\n"
    )
    events = trace(source)
    sources = [(e["label"], e["source"]) for e in of_kind(events, "handle.schedule")
               if e["label"] in ("here", "there")]
    assert sources == [("here", "call_soon"), ("here", "call_soon"), ("there", "threadsafe")]
    assert stdout_of(events) == "here\nhere\nthere\n"


# What Python 3.14 changed (gh-128340), which no interpreter here has: call_soon_threadsafe makes
# its handles of a Handle subclass of their own, with a lock around cancelling and running.
THREADSAFE_HANDLE_OF_3_14 = """
import asyncio, threading
from asyncio import base_events, events

class _ThreadSafeHandle(events.Handle):
    __slots__ = ("_lock",)

    def __init__(self, callback, args, loop, context=None):
        super().__init__(callback, args, loop, context)
        self._lock = threading.RLock()

    def cancel(self):
        with self._lock:
            return super().cancel()

    def cancelled(self):
        with self._lock:
            return super().cancelled()

    def _run(self):
        with self._lock:
            if self._cancelled:
                return None
            return super()._run()

def call_soon_threadsafe(self, callback, *args, context=None):
    self._check_closed()
    handle = events._ThreadSafeHandle(callback, args, self, context)
    self._ready.append(handle)
    self._write_to_self()
    return handle

events._ThreadSafeHandle = _ThreadSafeHandle
base_events.BaseEventLoop.call_soon_threadsafe = call_soon_threadsafe
"""


def test_threadsafe_calls_are_traced_where_asyncio_gives_them_a_handle_class_of_their_own():
    path = PROGRAMS / "threadsafe.py"
    events = run_engine_unsandboxed(path.read_text(), path.name, prelude=THREADSAFE_HANDLE_OF_3_14)
    assert not of_kind(events, "error")
    assert stdout_of(events) == plain_run(path)
    scheduled = {e["handle"]: e["label"] for e in of_kind(events, "handle.schedule") if e["source"] == "threadsafe"}
    assert sorted(scheduled.values()) == ["Future.set_result"] + ["print"] * 3
    ran = [e["handle"] for e in of_kind(events, "handle.end") if e["handle"] in scheduled]
    assert sorted(ran) == sorted(scheduled)


def test_a_cancelled_threadsafe_call_is_reported_and_never_runs_there_either():
    source = (
        "import asyncio, threading\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    handles = []\n"
        "    thread = threading.Thread(target=lambda: handles.append(loop.call_soon_threadsafe(print, 'no')))\n"
        "    thread.start()\n"
        "    thread.join()\n"
        "    handles[0].cancel()\n"
        "    await asyncio.sleep(0)\n"
        "    print('cancelled:', handles[0].cancelled())\n"
        "asyncio.run(main())\n"
    )
    events = run_engine_unsandboxed(source, prelude=THREADSAFE_HANDLE_OF_3_14)
    assert not of_kind(events, "error")
    assert stdout_of(events) == "cancelled: True\n"
    [scheduled] = [e for e in of_kind(events, "handle.schedule") if e["label"] == "print"]
    assert [e["handle"] for e in of_kind(events, "handle.cancel")] == [scheduled["handle"]]


def worker_labels(events):
    """The `worker` task's task.new, and the labels its callbacks entered the ready queue with."""
    [new] = [e for e in of_kind(events, "task.new") if e["coro"] == "worker"]
    return new, [e["label"] for e in of_kind(events, "handle.schedule") if e["task"] == new["task"]]


def test_a_renamed_task_has_its_steps_labelled_with_the_new_name():
    source = (
        "import asyncio\n"
        "async def worker():\n"
        "    await asyncio.sleep(0)\n"
        "    asyncio.current_task().set_name('renamed')\n"
        "    await asyncio.sleep(0)\n"
        "    await asyncio.sleep(0.1)\n"
        "async def main():\n"
        "    await asyncio.create_task(worker(), name='first')\n"
        "asyncio.run(main())\n"
    )
    events = trace(source)
    new, labels = worker_labels(events)
    # asyncio.create_task(name=...) names the task only after its first step was scheduled (3.11)
    assert labels == [f"step {new['name']}", "step first", "step renamed", "wake-up renamed"]


def test_a_task_from_the_programs_own_factory_is_seen_renamed_too():
    """asyncio's own Task reports no renames: the tracer notices the new name at the task's next step."""
    source = (
        "import asyncio\n"
        "async def worker():\n"
        "    asyncio.current_task().set_name('renamed')\n"
        "    await asyncio.sleep(0)\n"
        "async def main():\n"
        "    asyncio.get_running_loop().set_task_factory(lambda loop, coro, **kw: asyncio.Task(coro, loop=loop, **kw))\n"
        "    await asyncio.create_task(worker(), name='first')\n"
        "asyncio.run(main())\n"
    )
    events = trace(source)
    new, labels = worker_labels(events)
    assert [e["name"] for e in of_kind(events, "task.rename") if e["task"] == new["task"]] == ["renamed"]
    # (3.11 names it 'first' after creating it, before it ran: only the name it had at a step is seen)
    assert labels == [f"step {new['name']}", "step renamed"]
