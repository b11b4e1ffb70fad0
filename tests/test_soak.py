"""A soak: 300 runs (LOOPSCOPE_SOAK_RUNS=... for more) against one server from a few clients at once, some stopped mid-run, some
abandoned mid-run by a client that goes and comes back. Every run a client stayed for finishes,
no process is left, and the server's memory after the last run is what it was after the first 100.

The plan of runs comes from a seed, printed (replay it with LOOPSCOPE_SOAK_SEED=...).
"""

import os
import random
import threading
import time
import traceback

import pytest

from servers import LiveServer, wait_until
from transcript import Transcript, check_no_interleaving, check_run

# (300 keep the whole suite under its 10 minutes; a thousand took three of them)
RUNS, WARM_UP, CLIENTS = int(os.environ.get("LOOPSCOPE_SOAK_RUNS", 300)), 100, 3
CHEAP = [{"scenario": "tasks"}, {"scenario": "sequential"}, {"code": "print(1)"}]
# Prints, then sleeps in real time: a run that is surely still going when we stop it or leave.
LONG = {"code": "import time\nprint('started', flush=True)\ntime.sleep(1)\n", "clock": "real"}


def rss(pid):
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS"))


def plan(rng, runs):
    """(what to do, request) per run: mostly run to the end; sometimes stop or leave mid-run."""
    steps = []
    for _ in range(runs):
        roll = rng.random()
        if roll < 0.70:
            steps.append(("finish", rng.choice(CHEAP)))
        elif roll < 0.85:
            steps.append(("stop", LONG))
        else:  # gone right after asking, or once the run has begun
            steps.append((rng.choice(["leave at once", "leave running"]), rng.choice(CHEAP + [LONG])))
    return steps


def printed(transcript):
    return any(e["kind"] == "stdout" for replies in transcript.runs().values()
               for m in replies if m["type"] == "events" for e in m["events"])


def client(port, steps, tally):
    socket = Transcript(port)
    try:
        for action, request in steps:
            socket.run(request)
            if action.startswith("leave"):
                if action == "leave running":
                    socket.wait_for(Transcript.latest_started, 30, "the run to start")
                socket.close(abrupt=True)
                socket = Transcript(port)
                tally[action] += 1
                continue
            if action == "stop":
                socket.wait_for(printed, 30, "the run's first output")
                socket.send({"op": "stop"})
            socket.wait_for(Transcript.all_finished, 30, "the end of the run")
            assert not socket.errors(), socket.errors()
            check_no_interleaving(socket)
            [replies] = socket.runs().values()
            assert check_run(replies)[-1]["status"] == ("ok" if action == "finish" else "stopped")
            socket.forget()
            tally[action] += 1
    except BaseException:  # noqa: BLE001 - handed to the test's thread, which fails with it
        tally["failures"].append(traceback.format_exc())
    finally:
        socket.close()


def soak(server, rng, runs):
    """`runs` runs spread over the clients; the server idle again after them. What was done, counted."""
    shares = [runs // CLIENTS + (i < runs % CLIENTS) for i in range(CLIENTS)]
    tallies = [{"finish": 0, "stop": 0, "leave at once": 0, "leave running": 0, "failures": []} for _ in shares]
    threads = [threading.Thread(target=client, args=(server.port, plan(rng, share), tally))
               for share, tally in zip(shares, tallies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    failures = [f for tally in tallies for f in tally.pop("failures")]
    assert not failures, failures[0]
    counts = {action: sum(tally[action] for tally in tallies) for action in tallies[0]}
    assert sum(counts.values()) == runs
    assert wait_until(server.idle, 15), f"not idle after the runs: {server.get('/api/health')[1]['runs']}"
    return counts


@pytest.mark.soak
def test_hundreds_of_runs_leave_nothing_behind():
    seed = int(os.environ.get("LOOPSCOPE_SOAK_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    server = LiveServer("--spares", "2")  # (runs served by children started ahead, as by default)
    try:
        started = time.monotonic()
        first = soak(server, rng, WARM_UP)
        warm = rss(server.process.pid)  # measured idle: every run over, its threads gone
        rest = soak(server, rng, RUNS - WARM_UP)
        last = rss(server.process.pid)
        seconds = time.monotonic() - started
        status, health = server.get("/api/health")
        assert status == 200 and health["ok"] and health["runs"]["running"] == health["runs"]["queued"] == 0
        counts = {action: first[action] + rest[action] for action in first}
        print(f"\nsoak (seed {seed}): {RUNS} runs in {seconds:.1f} s {counts}; server RSS after "
              f"{WARM_UP} runs {warm / 2**20:.1f} MiB, after {RUNS} {last / 2**20:.1f} MiB")
        assert last <= warm * 1.10, f"the server grew from {warm / 2**20:.1f} to {last / 2**20:.1f} MiB"
    finally:
        server.stop()
