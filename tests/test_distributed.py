"""The distributed mode, end to end: a real `redis-server` on loopback, two workers
(`python -m server.worker`) and two web replicas (`python -m server --redis URL`), all started
and stopped here; clients of both replicas."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import redis

from conftest import ROOT, child_processes
from servers import LiveServer, free_port, wait_until

WAIT = "import asyncio\nasync def main():\n    await asyncio.sleep({seconds})\n    print('done')\nasyncio.run(main())\n"
TICKING = ("import asyncio\nasync def main():\n    for i in range({count}):\n        print(i)\n"
           "        await asyncio.sleep(0.05)\nasyncio.run(main())\n")
WORKER_TIMEOUT = 3  # seconds a worker may be silent before a replica ends its runs (10 by default)


class RedisServer:
    def __init__(self, folder, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.client = redis.Redis.from_url(self.url)
        assert wait_until(self._answers, 10), "redis-server did not start"

    def _answers(self):
        try:
            return self.client.ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=10)


class WorkerProcess:
    def __init__(self, url, name, *args, env=None):
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.worker", "--redis", url, "--name", name, *args], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        self._log = []
        threading.Thread(target=lambda: self._log.extend(self.process.stderr), daemon=True).start()

    def log(self):
        return "".join(list(self._log))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)


class Lone:
    """A Redis, one worker and one replica of a test's own (the module's cluster reaps a silent
    worker's runs after 3 s); `server` may be replaced (a Redis that restarts): the last is stopped."""

    def __init__(self, folder, worker, worker_args, replica_args):
        self.server = RedisServer(folder)
        self.worker = WorkerProcess(self.server.url, worker, "--max-runs", "1", "--spares", "0", *worker_args)
        self.replica = None
        try:
            self.replica = LiveServer("--redis", self.server.url, *replica_args)
            assert wait_until(lambda: worker in self.replica.get("/api/health")[1]["runs"]["workers"], 30)
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.replica is not None:
            self.replica.stop()
        self.worker.stop()
        self.server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(redis, {worker name: WorkerProcess}, [replica A, replica B]): each worker one run at once."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    workers = {}
    replicas = []
    try:
        for name in ("worker-a", "worker-b"):
            workers[name] = WorkerProcess(server.url, name, "--max-runs", "1", "--spares", "0", "--run-timeout", "30")
        replicas = [LiveServer("--redis", server.url, "--worker-timeout", str(WORKER_TIMEOUT)) for _ in range(2)]
        assert wait_until(lambda: set(replicas[0].get("/api/health")[1]["runs"]["workers"]) == set(workers), 30), \
            "the workers did not show up"
        yield server, workers, replicas
    finally:
        for replica in replicas:
            replica.stop()
        for worker in workers.values():
            worker.stop()
        server.stop()
    assert wait_until(lambda: not child_processes(), 10), "a run's process outlived the cluster"


def start(replica, **request):
    client = replica.client()
    client.send({"op": "run", **request})
    return client


def finish(client, timeout=60):
    """Everything the client receives until its run has finished: (events, messages)."""
    messages = client.until(lambda m: m["type"] == "error" or (m["type"] == "status" and m["state"] == "finished"),
                            timeout)
    return [e for m in messages if m["type"] == "events" for e in m["events"]], messages


def running_worker(messages):
    return next(m["worker"] for m in messages if m["type"] == "status" and m["state"] == "running")


def until_running(client):
    return running_worker(client.until(lambda m: m["type"] == "status" and m["state"] == "running"))


def test_runs_from_both_replicas_spread_over_both_workers_and_all_end(cluster):
    _, workers, replicas = cluster
    clients = [start(replica, code=WAIT.format(seconds=1), clock="real") for replica in replicas for _ in range(2)]
    results = [finish(client) for client in clients]
    for events, messages in results:
        assert events[0]["kind"] == "run.start" and events[-1]["kind"] == "run.end", messages
        assert events[-1]["status"] == "ok" and [e["text"] for e in events if e["kind"] == "stdout"] == ["done\n"]
        assert [e["seq"] for e in events] == list(range(len(events)))
    assert {running_worker(messages) for _, messages in results} == set(workers)
    # two runs at once on two workers of one run each: the other two waited, and were told their place
    queued = [m for _, messages in results for m in messages if m.get("state") == "queued"]
    assert queued and all(m["position"] >= 1 for m in queued)
    assert len({m["run"] for _, messages in results for m in messages}) == 4  # run ids unique across replicas
    for client in clients:
        client.close()


def test_a_stop_sent_to_one_replica_reaches_the_worker_running_its_run(cluster):
    _, workers, replicas = cluster
    client = start(replicas[1], code=WAIT.format(seconds=25), clock="real")
    worker = until_running(client)
    client.send({"op": "stop"})
    events, messages = finish(client)
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "stopped"
    assert messages[-1] == {"type": "status", "run": messages[-1]["run"], "state": "finished", "status": "stopped"}
    assert wait_until(lambda: f"run {messages[-1]['run']} stopped" in workers[worker].log(), 10)
    client.close()


def test_a_run_stopped_while_it_waits_for_a_worker_never_runs(cluster):
    _, workers, replicas = cluster
    busy = [start(replica, code=WAIT.format(seconds=25), clock="real") for replica in replicas]
    assert {until_running(client) for client in busy} == set(workers)
    waiting = start(replicas[0], scenario="tasks")
    queued = waiting.until(lambda m: m.get("state") == "queued")[-1]
    assert queued["position"] == 1
    waiting.send({"op": "stop"})
    _, messages = finish(waiting)
    assert messages[-1]["status"] == "stopped" and not any(m.get("state") == "running" for m in messages)
    for client in busy:
        client.send({"op": "stop"})
        assert finish(client)[1][-1]["status"] == "stopped"
    # the withdrawn request is gone: the next run is served at once, and by a worker
    events, messages = finish(start(replicas[1], scenario="tasks"))
    assert events[-1]["status"] == "ok" and not any(m.get("state") == "queued" for m in messages)
    for worker in workers.values():
        assert f"run {queued['run']} " not in worker.log()
    for client in busy + [waiting]:
        client.close()


def test_a_worker_killed_mid_run_ends_that_run_clearly_while_the_others_go_on(cluster):
    server, workers, replicas = cluster
    doomed = start(replicas[0], code=WAIT.format(seconds=25), clock="real")
    victim = until_running(doomed)
    survivor = start(replicas[1], code=WAIT.format(seconds=2), clock="real")
    assert until_running(survivor) != victim
    pid = replicas[1].get("/api/health")[1]["runs"]["workers"][victim]["pid"]
    assert pid == workers[victim].process.pid
    os.kill(pid, signal.SIGKILL)
    events, messages = finish(doomed, timeout=30)
    end = events[-1]
    assert end["kind"] == "run.end" and end["status"] == "error", end
    assert f"worker running this program ({victim}) stopped answering" in end["reason"]
    assert [e["seq"] for e in events] == list(range(len(events))) and events[0]["kind"] == "run.start"
    assert messages[-1]["state"] == "finished" and messages[-1]["status"] == "error"
    survived, _ = finish(survivor)
    assert survived[-1]["status"] == "ok"
    assert wait_until(lambda: victim not in replicas[0].get("/api/health")[1]["runs"]["workers"], 15)
    assert wait_until(lambda: not child_processes(), 10), "the killed worker's run outlived it"
    consumers = lambda: {c["name"].decode() for c in server.client.xinfo_consumers("loopscope:runs", "workers")}  # noqa: E731
    assert wait_until(lambda: victim not in consumers(), 20), "the dead worker stayed a consumer of the group"
    workers[victim] = WorkerProcess(server.url, victim, "--max-runs", "1", "--spares", "0", "--run-timeout", "30")
    assert wait_until(lambda: victim in replicas[0].get("/api/health")[1]["runs"]["workers"], 30)
    for client in (doomed, survivor):
        client.close()


def test_a_client_that_disconnects_stops_its_run_on_the_worker(cluster):
    _, workers, replicas = cluster
    client = start(replicas[0], code=WAIT.format(seconds=25), clock="real")
    worker = until_running(client)
    run = client.until(lambda m: m["type"] == "events")[-1]["run"]
    client.close()
    assert wait_until(lambda: f"run {run} stopped" in workers[worker].log(), 15)
    assert wait_until(lambda: not child_processes(), 10)


def test_readiness_and_health_name_the_workers(cluster):
    _, workers, replicas = cluster
    status, body = replicas[0].get("/api/ready")
    assert status == 200 and body["ready"] is True
    health = replicas[1].get("/api/health")[1]
    assert set(health["runs"]["workers"]) == set(workers)
    assert health["runs"]["max_running"] == 2 and health["sandbox"]["description"].startswith("2 workers: ")


def test_a_replica_without_workers_says_so(cluster):
    server, _, _ = cluster
    lonely = LiveServer("--redis", server.url, env={"LOOPSCOPE_REDIS_PREFIX": "nobody-here"})
    try:
        status, body = lonely.get("/api/ready")
        assert status == 503 and body["reason"] == "no run worker is connected"
        client = start(lonely, scenario="tasks")
        _, messages = finish(client)
        assert messages[-1]["type"] == "error" and "No run worker is connected" in messages[-1]["message"]
        client.close()
    finally:
        lonely.stop()


def test_the_live_workers_are_found_without_going_through_every_key(tmp_path):
    # (a SCAN of the keyspace for `PREFIX:worker:*` read every key of the Redis, another
    # application's too, on each run request and check: 0.7 s a time at 100,000 keys here)
    from server.run_queue import RunQueue

    server = RedisServer(tmp_path)
    try:
        queue = RunQueue(server.client)
        with server.client.pipeline(transaction=False) as pipe:
            for i in range(20000):
                pipe.set(f"other-app:{i}", 1)
            pipe.execute()
        queue.announce("w1", {"running": 0}, 5)
        queue.announce("w2", {"running": 1}, 1)
        queue.announce("w3", {"running": 2}, 5)
        queue.retire("w3")
        calls, scan = [], server.client.scan
        server.client.scan = lambda *args, **kwargs: calls.append(args) or scan(*args, **kwargs)
        assert queue.workers() == {"w1": {"running": 0}, "w2": {"running": 1}}
        assert not calls
        assert wait_until(lambda: set(queue.workers()) == {"w1"}, 5)  # (w2's presence lapsed)
    finally:
        server.stop()


def test_per_client_limits_hold_across_replicas(cluster):
    server, _, _ = cluster
    limited = [LiveServer("--redis", server.url, "--client-max-runs", "1", "--client-runs-per-minute", "3")
               for _ in range(2)]
    try:
        long_run = start(limited[0], code=WAIT.format(seconds=25), clock="real")
        until_running(long_run)
        _, refused = finish(start(limited[1], scenario="tasks"))
        assert refused[-1]["type"] == "error"
        assert "You already have 1 run going on this server" in refused[-1]["message"]
        long_run.send({"op": "stop"})
        finish(long_run)
        for replica in limited:  # runs two and three of this minute, one after the other
            events, _ = finish(start(replica, scenario="tasks"))
            assert events[-1]["status"] == "ok"
        _, refused = finish(start(limited[0], scenario="tasks"))
        assert refused[-1]["type"] == "error"
        assert "You started 3 runs in the last minute" in refused[-1]["message"]
        assert "Try again in " in refused[-1]["message"]
    finally:
        for replica in limited:
            replica.stop()


def test_a_replica_that_dies_mid_run_has_its_run_stopped_by_the_worker(cluster):
    server, workers, _ = cluster
    doomed = LiveServer("--redis", server.url)
    try:
        client = start(doomed, code=WAIT.format(seconds=25), clock="real")
        worker = until_running(client)
        run = client.until(lambda m: m["type"] == "events")[-1]["run"]
        doomed.process.kill()  # (no goodbye: its watch on the run lapses)
        assert wait_until(lambda: f"run {run} stopped" in workers[worker].log(), 20)
        assert wait_until(lambda: not child_processes(), 10)
    finally:
        doomed.stop()


def test_the_queue_of_runs_waiting_for_a_worker_is_bounded(cluster):
    server, workers, _ = cluster
    replica = LiveServer("--redis", server.url, "--max-queued", "1")
    try:
        busy = [start(replica, code=WAIT.format(seconds=25), clock="real") for _ in workers]
        assert {until_running(client) for client in busy} == set(workers)
        waiting = start(replica, scenario="tasks")
        waiting.until(lambda m: m.get("state") == "queued")
        _, refused = finish(start(replica, scenario="tasks"))
        assert refused[-1]["type"] == "error"
        assert refused[-1]["message"] == ("The server is busy: 1 run is waiting for a worker. Please try again in "
                                          "a moment.")
        assert replica.get("/api/ready")[0] == 503
        for client in busy:
            client.send({"op": "stop"})
        events, _ = finish(waiting)  # the waiting run is served once a worker is free
        assert events[-1]["status"] == "ok"
        assert wait_until(lambda: replica.get("/api/ready")[0] == 200, 10)
        for client in busy:
            finish(client)
    finally:
        replica.stop()


def test_own_code_holding_a_lone_surrogate_runs_and_the_socket_lives_on(cluster):
    # Valid JSON (the surrogate escaped) that the checks accept, as on one machine; re-encoding it
    # for the queue must not fail on it (orjson refuses a lone surrogate: the session died).
    _, _, replicas = cluster
    client = replicas[0].client()
    client.send(json.dumps({"op": "run", "code": "print(len('\ud800'))"}))
    events, messages = finish(client)
    assert events and events[-1]["kind"] == "run.end", messages
    client.send({"op": "stop"})
    assert client.receive()["message"].startswith("Nothing is running")
    client.close()


def test_a_redis_that_lost_its_data_ends_the_runs_it_held_clearly_and_the_cluster_recovers(cluster):
    # Redis restarted without persistence (or flushed, or failed over to an empty replica): the
    # group and every request went with it. The runs then must end, each with a clear run.end,
    # and the cluster must take runs again without restarting a replica or a worker.
    server, workers, replicas = cluster
    busy = [start(replica, code=WAIT.format(seconds=25), clock="real") for replica in replicas]
    assert {until_running(client) for client in busy} == set(workers)
    waiting = start(replicas[0], scenario="tasks")
    waiting.until(lambda m: m.get("state") == "queued")
    server.client.flushall()
    ends, last_run = {}, 0
    for client in [waiting, *busy]:
        events, messages = finish(client, timeout=30)
        assert events and events[-1]["kind"] == "run.end" and events[-1]["status"] in ("error", "stopped"), messages
        assert messages[-1]["state"] == "finished" and messages[-1]["status"] == events[-1]["status"]
        ends[client] = events[-1]
        last_run = max(last_run, messages[-1]["run"])
    assert "lost" in ends[waiting]["reason"], ends[waiting]  # (it never ran: no worker has it)
    assert wait_until(lambda: set(replicas[1].get("/api/health")[1]["runs"]["workers"]) == set(workers), 10)
    for client in busy:
        client.send({"op": "run", "scenario": "tasks"})  # (on the same socket: a page tells runs apart by id)
        events, messages = finish(client)
        assert events and events[-1]["status"] == "ok", messages
        assert min(m["run"] for m in messages) > last_run  # (the id counter went with the data: not reused)
    assert wait_until(lambda: not child_processes(), 10)
    for client in [waiting, *busy]:
        client.close()


def test_a_redis_that_hangs_then_goes_away_ends_the_runs_the_health_check_answers_and_all_recovers(tmp_path):
    with Lone(tmp_path, "worker-lone", ["--run-timeout", "30"],
              ["--client-max-runs", "1", "--worker-timeout", str(WORKER_TIMEOUT)]) as lone:
        server, replica = lone.server, lone.replica
        client = start(replica, code=WAIT.format(seconds=25), clock="real")
        until_running(client)
        os.kill(server.process.pid, signal.SIGSTOP)  # (as a partition would: connections open, no answer)
        try:
            status, body = replica.get("/api/health")  # (within its 10 s: a balancer must hear back)
            assert "cannot be reached" in body["runs"]["error"], body
            assert replica.get("/api/ready")[0] == 503
        finally:
            server.process.kill()  # and then gone
            server.stop()
        _, messages = finish(client, timeout=30)  # the client is told, not left waiting
        assert messages[-1]["state"] == "finished" and messages[-1]["status"] == "error", messages
        # its count could not be released (Redis gone): the run is over on the replica all the same,
        # nothing is left forwarding, and the client hears at once why it cannot run again
        assert wait_until(lambda: replica.get("/api/health")[1]["runs"]["forwarding"] == 0, 10)
        client.send({"op": "run", "scenario": "tasks"})
        refused = client.until(lambda m: m["type"] == "error", 5)[-1]
        assert "cannot reach its run queue" in refused["message"]
        lone.server = RedisServer(tmp_path, server.port)  # back, empty
        assert wait_until(lambda: "worker-lone" in replica.get("/api/health")[1]["runs"]["workers"], 30)
        events, messages = finish(start(replica, scenario="tasks"))
        assert events and events[-1]["status"] == "ok", messages
        events, messages = finish(start(replica, scenario="tasks"))  # (its count was released)
        assert events and events[-1]["status"] == "ok", messages
        client.close()
    assert wait_until(lambda: not child_processes(), 10)


def test_a_run_whose_request_its_worker_dropped_ends_clearly_and_leaves_the_queue_empty(cluster):
    # A worker stopping retires its consumer even when a run did not stop within its 10 s
    # (`Worker._stop_all`): that drops the request from the group's pending entries, so no
    # reaper sees it. As if it happened, then the worker died: the run must still end.
    server, workers, replicas = cluster
    client = start(replicas[0], code=WAIT.format(seconds=25), clock="real")
    victim = until_running(client)
    server.client.xgroup_delconsumer("loopscope:runs", "workers", victim)
    workers[victim].process.kill()
    events, messages = finish(client, timeout=30)
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "error", events[-1]
    assert f"The worker running this program ({victim}) lost it" in events[-1]["reason"]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert messages[-1]["state"] == "finished" and messages[-1]["status"] == "error"
    # nothing of it is left counted as waiting: the queue's bound is whole
    assert wait_until(lambda: replicas[1].get("/api/health")[1]["runs"]["queued"] == 0, 10)
    assert server.client.xlen("loopscope:runs") == 0
    workers[victim] = WorkerProcess(server.url, victim, "--max-runs", "1", "--spares", "0", "--run-timeout", "30")
    assert wait_until(lambda: victim in replicas[0].get("/api/health")[1]["runs"]["workers"], 30)
    assert wait_until(lambda: not child_processes(), 10)
    client.close()


def test_a_stop_that_a_silent_worker_does_not_answer_still_ends_the_run_and_nothing_of_it_follows(tmp_path):
    # (its own Redis: the cluster's replicas would reap a silent worker's run after 3 s, and here the
    # replica waits the default 10 s, as long as a session waits for its run's end before the next)
    with Lone(tmp_path, "worker-hung", ["--run-timeout", "60"], ["--client-max-runs", "1"]) as lone:
        server, worker, replica = lone.server, lone.worker, lone.replica
        client = start(replica, code=WAIT.format(seconds=50), clock="real")
        old = client.until(lambda m: m["type"] == "status" and m["state"] == "running")[-1]["run"]
        os.kill(worker.process.pid, signal.SIGSTOP)  # (a machine that hangs: silent, not yet given up on)
        try:
            for _ in range(200):  # a client pressing Stop again and again: one stop is passed on
                client.send({"op": "stop"})
            client.send({"op": "dance"})  # (its answer comes once every stop before it was handled)
            messages = client.until(lambda m: m["type"] == "error")
            assert server.client.xlen(f"loopscope:run:{old}:control") == 1
            events, more = finish(client, timeout=9)
            events = [e for m in messages if m["type"] == "events" for e in m["events"]] + events
            messages += more
            assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "stopped", events[-1]
            assert "did not answer the stop" in events[-1]["reason"]
            assert messages[-1]["state"] == "finished" and messages[-1]["status"] == "stopped"
        finally:
            os.kill(worker.process.pid, signal.SIGCONT)
        assert wait_until(lambda: "worker-hung" in replica.get("/api/health")[1]["runs"]["workers"], 10)
        events, messages = finish(start(replica, scenario="tasks"))  # (its count was released)
        assert events and events[-1]["status"] == "ok", messages
        client.send({"op": "run", "scenario": "tasks"})
        _, messages = finish(client)
        assert messages[-1]["status"] == "ok" and all(m.get("run") != old for m in messages), messages
        client.close()
    assert wait_until(lambda: not child_processes(), 10)


def test_a_worker_that_comes_back_after_its_run_was_ended_adds_nothing_to_it_and_stops_it(tmp_path):
    with Lone(tmp_path, "worker-slow", ["--run-timeout", "60"], ["--worker-timeout", str(WORKER_TIMEOUT)]) as lone:
        server, worker, replica = lone.server, lone.worker, lone.replica
        client = start(replica, code=TICKING.format(count=600), clock="real")
        run = client.until(lambda m: m["type"] == "status" and m["state"] == "running")[-1]["run"]
        client.until(lambda m: m["type"] == "events" and any(e["kind"] == "stdout" for e in m["events"]))
        os.kill(worker.process.pid, signal.SIGSTOP)  # (slow, not dead: it comes back after its run was ended)
        try:
            events, messages = finish(client, timeout=30)
        finally:
            os.kill(worker.process.pid, signal.SIGCONT)
        assert events[-1]["kind"] == "run.end" and "stopped answering" in events[-1]["reason"], events[-1]
        assert wait_until(lambda: "had been ended by a replica" in worker.log(), 15), worker.log()
        assert wait_until(lambda: not child_processes(), 10), "the ended run's child outlived it"
        # what the worker still had to say was refused: the run's stream, forgotten, is not made again
        assert not server.client.exists(f"loopscope:run:{run}:messages")
        assert server.client.get(f"loopscope:run:{run}:closed") == b"replica"
        again, _ = finish(start(replica, scenario="tasks"))  # (the worker serves the next run as before)
        assert again[-1]["status"] == "ok"
        client.close()


def test_a_redis_away_for_a_few_seconds_ends_no_run(tmp_path):
    with Lone(tmp_path, "worker-patient", ["--run-timeout", "60"], []) as lone:
        server, worker, replica = lone.server, lone.worker, lone.replica
        client = start(replica, code=TICKING.format(count=100), clock="real")
        early = client.until(lambda m: m["type"] == "events" and any(e["kind"] == "stdout" for e in m["events"]))
        os.kill(server.process.pid, signal.SIGSTOP)  # (cut off: calls time out, as in a failover)
        try:
            assert "cannot be reached" in replica.get("/api/health")[1]["runs"]["error"]  # (2 s and more)
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        _, messages = finish(client, timeout=60)
        messages = early + messages
        events = [e for m in messages if m["type"] == "events" for e in m["events"]]
        assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "ok", events[-1]
        assert [e["seq"] for e in events] == list(range(len(events)))  # nothing lost, nothing twice
        assert "".join(e["text"] for e in events if e["kind"] == "stdout") == "".join(f"{i}\n" for i in range(100))
        assert [m["state"] for m in messages if m["type"] == "status"].count("finished") == 1
        client.close()


def test_a_worker_that_trusts_code_opens_own_code_only_to_a_replica_that_trusts_it_too(tmp_path):
    # `--trust-code` runs code outside the full sandbox (with the network, Redis included), so on one
    # machine it listens on loopback only. A worker started with it made every replica, public
    # ones too, take own code from anyone.
    server = RedisServer(tmp_path)
    worker = WorkerProcess(server.url, "worker-trusting", "--max-runs", "1", "--spares", "0", "--trust-code",
                           env={"LOOPSCOPE_NO_BWRAP": "1"})
    replicas = []
    try:
        replicas.append(LiveServer("--redis", server.url))
        public = replicas[0]
        assert wait_until(lambda: "worker-trusting" in public.get("/api/health")[1]["runs"]["workers"], 30)
        assert public.get("/api/health")[1]["sandbox"]["own_code"] is False
        client = public.client()
        _, messages = client.run(code="print(1)")
        assert messages[-1]["type"] == "error" and "Running your own code is disabled" in messages[-1]["message"]
        events, _ = client.run(scenario="tasks")  # (scenarios are the server's own code: they run)
        assert events[-1]["status"] == "ok"
        client.close()
        replicas.append(LiveServer("--redis", server.url, "--trust-code"))  # (loopback only, as ever)
        client = replicas[1].client()
        events, messages = client.run(code="print(1)")
        assert events and events[-1]["status"] == "ok", messages
        client.close()
    finally:
        for replica in replicas:
            replica.stop()
        worker.stop()
        server.stop()


def test_a_run_queued_by_a_replica_that_died_is_never_started(cluster):
    server, workers, replicas = cluster
    busy = [start(replica, code=WAIT.format(seconds=25), clock="real") for replica in replicas]
    assert {until_running(client) for client in busy} == set(workers)
    doomed = LiveServer("--redis", server.url)
    try:
        orphan = start(doomed, scenario="tasks")
        run = orphan.until(lambda m: m.get("state") == "queued")[-1]["run"]
        doomed.process.kill()  # (its watch on the queued run lapses: nobody would see the run)
        assert wait_until(lambda: not server.client.exists(f"loopscope:run:{run}:watched"), 20)
    finally:
        doomed.stop()
    for client in busy:
        client.send({"op": "stop"})
        assert finish(client)[1][-1]["status"] == "stopped"
    assert wait_until(lambda: server.client.xlen("loopscope:runs") == 0, 10)  # taken, and let go
    assert any(f"run {run} skipped" in worker.log() for worker in workers.values())
    assert not any(f"run {run} stopped" in worker.log() for worker in workers.values())
    for client in busy:
        client.close()


def test_workers_and_replicas_say_clearly_when_redis_cannot_be_reached():
    port = free_port()  # (nothing listens there)
    for command in (["server.worker", "--name", "w"], ["server", "--port", str(free_port())]):
        done = subprocess.run([sys.executable, "-m", *command, "--redis", f"redis://127.0.0.1:{port}/0"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"cannot use the Redis at redis://127.0.0.1:{port}/0: Error 111" in done.stderr, done.stderr


def test_a_request_a_worker_cannot_run_ends_at_once_with_a_run_end_saying_why():
    # (the replica checks own code against every worker's sandbox, but a worker's may differ by the
    # time it takes the request)
    from server import relay
    from server.sandbox import Limits, Support
    from server.worker import Worker

    worker = Worker(None, "w", 1, Limits(), Support(problems=["no bubblewrap"]))
    try:
        run = worker._prepare(json.dumps({"op": "run", "code": "print(1)"}))
        messages = list(relay.messages(run, 7, "w"))  # (as the worker sends it on)
    finally:
        worker.spares.close()
    assert [state for state, _ in messages] == ["running", "events", "finished"]
    assert messages[-1][1]["status"] == "error"
    events = messages[1][1]["events"]
    assert [e["kind"] for e in events] == ["run.start", "run.end"] and run.count == 2
    assert events[0]["target"] == "main.py" and events[0]["file"] == "main.py"
    assert events[-1]["status"] == "error" and "Refusing to run untrusted code" in events[-1]["reason"]
