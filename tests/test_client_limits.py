"""Per-client limits: runs at once and runs started per minute, per client address (across
replicas: tests/test_distributed.py)."""

import pytest

from server.client_limits import ClientPolicy, LocalLimits, Refused, counted_as
from servers import LiveServer

WAIT = "import asyncio\nasync def main():\n    await asyncio.sleep(25)\nasyncio.run(main())\n"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_runs_at_once_are_counted_per_address_and_freed_when_a_run_ends():
    limits = LocalLimits(ClientPolicy(max_running=2))
    limits.admit("10.0.0.1", 1)
    limits.admit("10.0.0.1", 2)
    limits.admit("10.0.0.2", 3)  # another address has its own count
    with pytest.raises(Refused, match=r"You already have 2 runs going on this server.*\(2\)"):
        limits.admit("10.0.0.1", 4)
    limits.release("10.0.0.1", 1)
    limits.admit("10.0.0.1", 5)


def test_starts_per_minute_slide_with_the_clock_and_say_how_long_to_wait():
    clock = Clock()
    limits = LocalLimits(ClientPolicy(per_minute=2), clock)
    limits.admit("a", 1)
    clock.now += 20
    limits.admit("a", 2)
    limits.release("a", 1)
    limits.release("a", 2)  # (ended runs still count: they were started in the last minute)
    clock.now += 10
    with pytest.raises(Refused, match=r"You started 2 runs in the last minute.*Try again in 30 s"):
        limits.admit("a", 3)
    clock.now += 30.5  # the first start is over a minute old
    limits.admit("a", 4)


def test_no_policy_means_no_limit_and_clients_are_forgotten_a_minute_after_their_last_start():
    limits = LocalLimits(ClientPolicy())
    for run in range(100):
        limits.admit("a", run)
    clock = Clock()
    limits = LocalLimits(ClientPolicy(max_running=5, per_minute=100), clock)
    for run in range(50):
        limits.admit("a", run)
        limits.release("a", run)
    assert limits._running and limits._started  # (its starts of the last minute still count)
    clock.now += 61
    limits.admit("b", 1)
    limits.release("b", 1)
    limits.release("a", 0)  # (a release finds what is over a minute old)
    assert set(limits._running) == set(limits._started) == {"b"}


def test_the_embedded_server_refuses_a_clients_run_past_its_limits_with_a_clear_error():
    server = LiveServer("--client-max-runs", "1", "--client-runs-per-minute", "2")
    try:
        first, second = server.client(), server.client()
        first.send({"op": "run", "code": WAIT, "clock": "real"})
        first.until(lambda m: m.get("state") == "running")
        _, refused = second.run(scenario="tasks")
        assert refused[-1]["type"] == "error" and "already have 1 run going" in refused[-1]["message"]
        first.send({"op": "stop"})
        first.until(lambda m: m.get("state") == "finished")
        events, _ = second.run(scenario="tasks")  # the second start of the minute
        assert events[-1]["status"] == "ok"
        _, refused = second.run(scenario="tasks")
        assert refused[-1]["type"] == "error" and "You started 2 runs in the last minute" in refused[-1]["message"]
        second.send({"op": "stop"})  # the socket is still usable
        assert second.receive()["message"].startswith("Nothing is running")
        first.close()
        second.close()
    finally:
        server.stop()


@pytest.mark.parametrize("holder, same_client, other_client", [
    ("203.0.113.7", "203.0.113.7", "203.0.113.8"),  # IPv4: the address passed on
    ("2001:db8:5:6::1", "2001:db8:5:6:abcd:1:2:3", "2001:db8:5:7::1"),  # IPv6: its /64, whichever address
])
def test_behind_proxies_the_limits_count_the_client_of_the_address_passed_on(holder, same_client, other_client):
    server = LiveServer("--client-max-runs", "1", "--proxies", "1")
    try:
        first = server.client({"X-Forwarded-For": holder})
        first.send({"op": "run", "code": WAIT, "clock": "real"})
        first.until(lambda m: m.get("state") == "running")
        events, _ = server.client({"X-Forwarded-For": other_client}).run(scenario="tasks")
        assert events[-1]["status"] == "ok"  # another client behind the same proxy
        _, refused = server.client({"X-Forwarded-For": same_client}).run(scenario="tasks")
        assert refused[-1]["type"] == "error" and "already have 1 run going" in refused[-1]["message"]
        first.close()
        assert f'"client":"{other_client}"' in server.stop()  # (the run log names the address itself)
    finally:
        server.stop()


def test_addresses_are_counted_as_their_client():
    assert counted_as("203.0.113.7") == "203.0.113.7"
    assert counted_as("2001:db8:5:6:abcd::9") == counted_as("2001:DB8:5:6::1") == "2001:db8:5:6::/64"
    assert counted_as("::ffff:203.0.113.7") == "203.0.113.7"  # (IPv4 on a dual-stack socket)
    assert counted_as("not an address") == "not an address" and counted_as(None) == ""


def test_limits_on_a_redis_that_cannot_be_reached_refuse_clearly_and_release_quietly():
    # (admit raised redis.ConnectionError, which ended the client's socket; release raised it in
    # the run's last steps, so the run never counted as over on its replica)
    from server.client_limits import RedisLimits
    from server.run_queue import connect
    from servers import free_port

    limits = RedisLimits(ClientPolicy(max_running=1, per_minute=5), connect(f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(Refused, match="cannot reach its run queue right now"):
        limits.admit("10.0.0.1", 1)
    limits.release("10.0.0.1", 1)
