"""A replica's end of a run whose worker went silent (the processes: tests/test_distributed.py)."""

import json

import orjson

from server import protocol
from server.remote import RemotePool
from server.run_queue import connect
from server.sandbox import Limits
from test_distributed import RedisServer

REQUEST = json.dumps({"op": "run", "scenario": "tasks"})


def test_a_run_one_replica_began_to_end_is_ended_by_another(tmp_path):
    server = RedisServer(tmp_path)
    a = RemotePool(connect(server.url), Limits(), 10, worker_timeout=3)
    b = RemotePool(connect(server.url), Limits(), 10, worker_timeout=3)
    try:
        run = a.queue.new_run_id()
        a.queue.publish(run, "worker:w", 1, "running", protocol.encode(protocol.running(run, "w")), worker="w")
        # replica A closes the run, then dies (or Redis fails it) before it wrote the end
        assert a.queue.close(run, a.writer)
        b.end_run(run, REQUEST, "w", "the worker went silent")
        states = [state for _, state, _, _ in b.queue.read(run, "0-0", 10)]
        assert states == ["running", "events", "finished"], states
        # and a second end of a finished run adds nothing
        run = a.queue.new_run_id()
        a.end_run(run, REQUEST, "w", "silent", status="error")
        b.end_run(run, REQUEST, "w", "stop not answered", status="stopped")
        messages = b.queue.read(run, "0-0", 10)
        assert [state for _, state, _, _ in messages] == ["running", "events", "finished"]
        end = orjson.loads(messages[1][2])["events"][-1]
        assert end["status"] == orjson.loads(messages[2][2])["status"]
    finally:
        a.shutdown(), b.shutdown()
        server.stop()
