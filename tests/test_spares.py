"""Sandboxes started ahead (server/spares.py): each serves one run at most, a run sees nothing of
any other run or spare, the pool never holds more than its size, a spare that died is replaced,
and the server's runs use them."""

import os
import signal

import pytest

from conftest import child_processes
from server import catalog, sandbox
from server.protocol import CODE_FILENAME
from server.runner import Options, Program, Run
from server.spares import Ahead, SparePool
from servers import LiveServer, wait_until

# What a run can see of its world: its /tmp, its environment, its process ids.
LOOK = ("import os\n"
        "print(sorted(os.listdir('/tmp')), sorted(k for k in os.environ if k.startswith('LEFT')), flush=True)\n"
        "open('/tmp/left-by-an-earlier-run', 'w').write('secret')\n"
        "os.environ['LEFT_BEHIND'] = '1'\n")


@pytest.fixture
def spares():
    support, limits = sandbox.detect(), sandbox.Limits()
    pool = SparePool(2, support, limits, CODE_FILENAME)
    assert wait_until(lambda: pool.ready() == 2, 30)
    yield pool, support, limits
    pool.close()


def own(source):
    return Program(source, CODE_FILENAME, CODE_FILENAME)


def test_each_spare_serves_one_run_and_no_run_sees_what_another_left(no_leftovers, spares):
    pool, support, limits = spares
    served, outputs = [], []
    for _ in range(4):
        waiting = set(pool.pids())
        run = Run(own(LOOK), Options(), limits, support, spares=pool)
        events = list(run.events())
        assert events[-1]["status"] == "ok", events[-1]
        outputs.append("".join(e["text"] for e in events if e["kind"] == "stdout"))
        served.append(run._process.pid)
        assert served[-1] in waiting  # a spare served it
        assert wait_until(lambda: pool.ready() == 2, 30)  # and another took its place
    assert len(set(served)) == 4  # no spare served two runs
    assert all(pid not in pool.pids() for pid in served)
    assert outputs == ["['main.py'] []\n"] * 4  # its own file only: what the run before left is nowhere
    assert pool.started == 6


def test_a_spare_that_died_waiting_is_replaced_and_never_handed_out(spares):
    pool, support, limits = spares
    doomed = pool.pids()[0]
    os.kill(doomed, signal.SIGKILL)
    assert wait_until(lambda: pool.ready() == 2 and doomed not in pool.pids(), 30)
    assert len(pool.pids()) == 2  # never more than its size
    run = Run(own("print('fine')\n"), Options(), limits, support, spares=pool)
    events = list(run.events())
    assert run._process.pid != doomed and events[-1]["status"] == "ok"


def test_a_run_the_spares_do_not_fit_starts_its_own_child(spares):
    pool, support, limits = spares
    waiting = set(pool.pids())
    run = Run(own("print('mine')\n"), Options(), sandbox.Limits(tmp_size=limits.tmp_size // 2), support, spares=pool)
    events = list(run.events())
    assert events[-1]["status"] == "ok" and run._process.pid not in waiting
    assert set(pool.pids()) == waiting  # none of them was taken


def test_closing_the_pool_ends_its_spares(spares):
    pool, _, _ = spares
    pids = pool.pids()
    assert len(pids) == 2 and all(os.path.exists(f"/proc/{pid}") for pid in pids)
    pool.close()
    assert pool.pids() == []
    assert wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in pids), 10)


def test_the_servers_runs_are_served_by_its_spares_and_stopped_ones_leave_nothing():
    live = LiveServer("--spares", "2")
    try:
        assert wait_until(lambda: live.get("/api/health")[1]["spares"]["ready"] == 2, 30)
        before = set(live.get("/api/health")[1]["spares"]["pids"])
        client = live.client()
        events, _ = client.run(scenario="sequential")
        assert events[-1]["status"] == "ok"
        client.send({"op": "run", "code": "import time\nprint('started', flush=True)\ntime.sleep(60)\n",
                     "clock": "real"})
        client.until(lambda m: m["type"] == "events" and any(e["kind"] == "stdout" for e in m["events"]))
        client.send({"op": "stop"})
        client.until(lambda m: m.get("state") == "finished")
        assert wait_until(live.idle, 15)
        after = live.get("/api/health")[1]["spares"]
        assert after["size"] == 2 and not before & set(after["pids"])  # both were used, and replaced
        client.close()
    finally:
        live.stop()
    assert wait_until(lambda: not child_processes(), 10)  # spares end with the server


def test_scenarios_and_own_code_start_the_same_sandbox():
    """(So one pool of spares serves both: the command does not depend on the file's name in /tmp.)"""
    support, limits = sandbox.detect(), sandbox.Limits()
    scenario = catalog.get("sequential")
    assert sandbox.command(support, limits, scenario.filename)[0] == sandbox.command(support, limits, CODE_FILENAME)[0]


def test_a_child_started_ahead_serves_a_run_of_exactly_its_command_and_no_other(no_leftovers):
    """The CLI's child, started while the sandbox is probed: a run with the command it was started
    with gets it (its process, not a new one); with another command (here a shorter time limit,
    so another CPU limit) the run starts its own and the one ahead is ended; one no run took ends
    with `close`."""
    support, limits = sandbox.detect(), sandbox.Limits()
    before = set(child_processes())

    def started_ahead():
        assert wait_until(lambda: set(child_processes()) - before, 30)
        return set(child_processes()) - before  # (bubblewrap and the interpreter inside it)

    ahead = Ahead(support, limits, CODE_FILENAME)
    ahead_pids = started_ahead()
    run = Run(own("print('hi')"), Options(), limits, support, spares=ahead)
    assert list(run.events())[-1]["status"] == "ok"
    assert run._process.pid in ahead_pids

    other = Ahead(support, limits, CODE_FILENAME)
    other_pids = started_ahead()
    run = Run(own("print('hi')"), Options(), sandbox.Limits(timeout=3), support, spares=other)
    assert list(run.events())[-1]["status"] == "ok"
    assert run._process.pid not in other_pids and not other_pids & set(child_processes())

    unused = Ahead(support, limits, CODE_FILENAME)
    started_ahead()
    unused.close()
    assert set(child_processes()) - before == set()
