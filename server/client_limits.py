"""How many runs one client address may have going at once, and start in a minute.

In one process the counts are kept here (`LocalLimits`); with web replicas they are kept on Redis
(`RedisLimits`: one Lua script decides each admission, so two replicas cannot both let a client's
last allowed run through). Both are off (0) unless configured: a classroom behind one school's
NAT is one address, so the right numbers depend on who uses the server.
"""

import collections
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass

MINUTE = 60.0
log = logging.getLogger("loopscope")


def counted_as(address):
    """The client a peer's address is counted as: an IPv4 address itself; an IPv6 address its /64
    network, which is one household's or one machine's (a host picks any address in its /64, so
    counting each address alone would let one client have as many runs as it likes)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or ""
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Refused(Exception):
    """This client has reached a limit; the text says which and what to do."""


@dataclass(frozen=True)
class ClientPolicy:
    max_running: int = 0  # runs at once per client address (0: no limit)
    per_minute: int = 0  # runs started per client address in any 60 s (0: no limit)

    def too_many_running(self, running):
        return Refused(f"You already have {running} run{'s' if running != 1 else ''} going on this server, the most "
                       f"one address may have at once ({self.max_running}). Stop one or let it finish, then try again.")

    def too_many_started(self, wait):
        return Refused(f"You started {self.per_minute} runs in the last minute, the most one address may start in a "
                       f"minute. Try again in {max(1, round(wait))} s.")


class LocalLimits:
    """The counts of one process (the embedded pool)."""

    def __init__(self, policy, clock=time.monotonic):
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._running = collections.defaultdict(set)  # client -> run ids admitted and not released
        self._started = collections.defaultdict(collections.deque)  # client -> start times in the last minute

    def admit(self, client, run_id):
        """Count a new run of `client`'s, or raise Refused."""
        policy = self.policy
        if not (policy.max_running or policy.per_minute):
            return
        with self._lock:
            now = self._clock()
            if len(self._started) > 1000:  # (forget the clients whose last start is over a minute old)
                for other in [c for c, times in self._started.items() if not self._recent(times, now)]:
                    self._forget(other)
            started = self._started[client]
            self._recent(started, now)
            running = self._running[client]
            if policy.max_running and len(running) >= policy.max_running:
                raise policy.too_many_running(len(running))
            if policy.per_minute and len(started) >= policy.per_minute:
                raise policy.too_many_started(started[0] + MINUTE - now)
            if policy.max_running:
                running.add(run_id)
            if policy.per_minute:
                started.append(now)

    def release(self, client, run_id):
        """That run ended (or never started)."""
        with self._lock:
            if client in self._running:
                self._running[client].discard(run_id)
                self._forget(client)

    @staticmethod
    def _recent(started, now):
        """(Holding the lock.) Drop the starts over a minute old; what is left."""
        while started and started[0] <= now - MINUTE:
            started.popleft()
        return started

    def _forget(self, client):
        """(Holding the lock.) Forget a client with nothing running and no start in the last minute."""
        if not self._running.get(client) and not self._recent(self._started.get(client, ()), self._clock()):
            self._running.pop(client, None)
            self._started.pop(client, None)


# KEYS: the client's running runs (a sorted set scored by when the entry lapses) and its recent
# starts (scored by when). ARGV: run id, max running, max per minute, ms a running entry lives
# unless refreshed (a replica that died cannot release its runs). Redis's own clock, so that
# replicas whose clocks differ agree. Returns {1} or {0, "running", n} or {0, "minute", ms to wait}.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60000)
local running = redis.call('ZCARD', KEYS[1])
if tonumber(ARGV[2]) > 0 and running >= tonumber(ARGV[2]) then return {0, 'running', running} end
if tonumber(ARGV[3]) > 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, 'minute', tonumber(oldest[2]) + 60000 - now}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[2], 60000)
return {1}
"""
# KEYS: the client's running runs. ARGV: run id, ms it lives unless refreshed again.
_REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 1
"""


class RedisLimits:
    """The counts of every replica, on Redis. A running entry lapses after `lease` seconds unless
    `refresh`ed (the replica forwarding the run does, every second)."""

    def __init__(self, policy, redis, prefix="loopscope", lease=30.0):
        self.policy = policy
        self._redis, self._prefix = redis, prefix
        self._lease_ms = int(lease * 1000)
        self._admit = redis.register_script(_ADMIT)
        self._refresh = redis.register_script(_REFRESH)

    def _keys(self, client):
        return f"{self._prefix}:client:{client}:running", f"{self._prefix}:client:{client}:started"

    def admit(self, client, run_id):
        policy = self.policy
        if not (policy.max_running or policy.per_minute):
            return
        try:
            answer = self._admit(keys=self._keys(client),
                                 args=[run_id, policy.max_running, policy.per_minute, self._lease_ms])
        except Exception:  # noqa: BLE001 - redis.ConnectionError and the like: refused, and said why
            log.warning("the per-client limits cannot be reached", exc_info=True)
            raise Refused("The server cannot reach its run queue right now, so nothing can run. Please try again "
                          "in a moment.") from None
        if answer[0] == 1:
            return
        if answer[1] == b"running":
            raise policy.too_many_running(int(answer[2]))
        raise policy.too_many_started(int(answer[2]) / 1000)

    def refresh(self, client, run_id):
        if self.policy.max_running:
            self._refresh(keys=self._keys(client)[:1], args=[run_id, self._lease_ms])

    def release(self, client, run_id):
        if self.policy.max_running:
            try:
                self._redis.zrem(self._keys(client)[0], run_id)
            except Exception:  # noqa: BLE001 - Redis away: the run's entry lapses by itself (its lease)
                log.warning("run %s: its client's count could not be released (it lapses in %g s)", run_id,
                            self._lease_ms / 1000)
