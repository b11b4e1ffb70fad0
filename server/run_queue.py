"""The distributed mode's vocabulary on Redis (7.0 checked): every key, stream and script that web
replicas and workers share, in one place.

- `PREFIX:runs`, a stream of run requests that the workers read as one consumer group
  (`workers`): each request is delivered to one worker and stays pending, owned by it, until it
  is done (then acknowledged and deleted). So the stream's length less its pending entries is
  the queue, which `enqueue` bounds. A worker touches its pending entries every second
  (`keep`); an entry nobody touched for longer than a worker may be silent belongs to a dead
  worker, and `abandoned` hands it to one caller to end.
- `PREFIX:run:ID:messages`, a stream per run: the protocol messages (`running`, `events`,
  `finished`) that the worker writes and the replica holding the client's socket forwards.
- `PREFIX:run:ID:control`, a stream per run: stop requests from the replica to the worker.
- `PREFIX:run:ID:closed`, who wrote a run's last message (`finished`), or who alone may still
  write to it: a replica ending the run of a silent worker closes it first, so that the worker,
  should it come back, can add nothing after that end (no event number twice, nothing after
  `finished`).
- `PREFIX:run:ID:watched`, a key the replica forwarding a run keeps alive: when it lapses (the
  replica died) the worker stops the run, as it would on a disconnect.
- `PREFIX:worker:NAME`, a key per live worker with what it says of itself, which lapses when the
  worker stops renewing it; `PREFIX:workers`, the set of their names (a lapsed one is taken out
  by the next look), so that finding them does not read every key of the Redis.
"""

import functools
import json
import time

GROUP = "workers"
REAPER = "loopscope-reaper"  # the consumer an abandoned request is moved to while it is ended
KEPT = 600  # seconds a run's streams outlive their last write (a replica reads them at once)
TIMEOUT = 2.0  # seconds an answer from Redis may take (the longest block asked for is 1 s)
# Seconds a run's worker and replica go on trying a Redis they cannot reach: less than the watch a
# replica renews each second lasts (remote.WATCH_SECONDS), so that an outage that ends no run
# does not let the watch lapse either (its worker would stop the run).
OUTAGE_GRACE = 4.0

# KEYS: the run id counter. A new counter starts at a thousand times the Unix time in seconds
# (Redis's clock), beyond any id handed out before unless over a thousand runs a second were.
_NEW_RUN_ID = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], tonumber(redis.call('TIME')[1]) * 1000)
end
return redis.call('INCR', KEYS[1])
"""
# KEYS: the runs stream. ARGV: group, queue bound, then the entry's fields and values.
# Returns {1, id} or {0, entries waiting}.
_ENQUEUE = """
local waiting = redis.call('XLEN', KEYS[1]) - redis.call('XPENDING', KEYS[1], ARGV[1])[1]
if waiting >= tonumber(ARGV[2]) then return {0, waiting} end
return {1, redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))}
"""
# The entries not yet delivered, up to and including ARGV[2] (as `_LAST_DELIVERED` finds them).
_WAITING_UP_TO = """
local last = '0-0'
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  for i = 1, #group, 2 do
    if group[i] == 'name' and group[i + 1] ~= ARGV[1] then break end
    if group[i] == 'last-delivered-id' then last = group[i + 1] end
  end
end
local waiting = redis.call('XRANGE', KEYS[1], '(' .. last, ARGV[2])
"""
# KEYS: the runs stream. ARGV: group, entry id. The number of entries waiting up to it (0: it was delivered).
_POSITION = _WAITING_UP_TO + "return #waiting"
# KEYS: the runs stream. ARGV: group, entry id. Deletes it if no worker has it yet: 1, else 0.
_WITHDRAW = _WAITING_UP_TO + """
if #waiting > 0 and waiting[#waiting][1] == ARGV[2] then redis.call('XDEL', KEYS[1], ARGV[2]); return 1 end
return 0
"""
# KEYS: the runs stream. ARGV: group, entry id. 1 while the request waits or a worker (or a reaper)
# holds it, 0 once it is done, withdrawn or lost (a Redis that lost its data, a consumer deleted).
_HELD = _WAITING_UP_TO + """
if #waiting > 0 and waiting[#waiting][1] == ARGV[2] then return 1 end
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) > 0 then return 1 end
return 0
"""
# KEYS: a run's messages stream, its `closed` key. ARGV: the writer, the message's number (1, 2, ...:
# its entry id is 0-NUMBER), its state, KEPT, then the entry's fields and values. Adds the message
# unless another writer closed the run (0). A message whose number is there already was added by
# an earlier try of the same call (a timeout can come after Redis did it): 1, not added again. A
# `finished` message closes the run (to its writer).
_PUBLISH = """
local closer = redis.call('GET', KEYS[2])
if closer and closer ~= ARGV[1] then return 0 end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top > 0 and tonumber(string.match(top[1][1], '%d+$')) >= tonumber(ARGV[2]) then return 1 end
redis.call('XADD', KEYS[1], '0-' .. ARGV[2], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[3] == 'finished' then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4]) end
return 1
"""
# KEYS: a run's `closed` key. ARGV: the writer, KEPT. 1 if the run is now (or was already) the
# writer's alone to finish, 0 if another writer closed it (finished it, or is ending it).
_CLOSE = """
local closer = redis.call('GET', KEYS[1])
if not closer then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]); return 1 end
if closer == ARGV[1] then return 1 end
return 0
"""
# KEYS: the runs stream. ARGV: group, the workers' key prefix, idle ms. Deletes the consumers that
# hold nothing, were idle that long and are no live worker's (a crashed worker's, once its runs
# were ended): the number deleted. (It reads keys it is not given: Redis outside a cluster allows it.)
_DROP_GONE = """
local dropped = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local about = {}
  for i = 1, #consumer, 2 do about[consumer[i]] = consumer[i + 1] end
  if about['pending'] == 0 and about['idle'] >= tonumber(ARGV[3])
      and redis.call('EXISTS', ARGV[2] .. about['name']) == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], about['name'])
    dropped = dropped + 1
  end
end
return dropped
"""


def through_outage(call, *args, grace=OUTAGE_GRACE, **kwargs):
    """`call(*args, **kwargs)`, tried again while Redis cannot be reached (refused, timed out) for
    up to `grace` seconds: a Redis that restarts, fails over or is cut off for a moment ends no
    run. Only for calls that may be made twice (a timeout can come after Redis did what it was asked)."""
    import redis

    gave_up_at = None
    while True:
        try:
            return call(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError):
            now = time.monotonic()
            gave_up_at = gave_up_at or now + grace
            if now >= gave_up_at:
                raise
            time.sleep(0.25)


def connect(url):
    """A client of the Redis at `url` that never waits for ever: without a timeout, a Redis that
    hangs (stopped, or cut off by a partition with its connections still open) held every call,
    the health check's too, for good. A dropped connection is tried again once, at once; a
    timeout is not (the caller says what failed). The URL's own options (?socket_timeout=) win."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
                                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))


def _regrouped(method):
    """A Redis that lost its data (restarted without persistence, flushed, failed over to an empty
    replica) lost the group too, and every call on it fails (NOGROUP, "no such key"): the group is
    made again, from the stream's end (no request is ever delivered twice), and the call retried."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - redis.ResponseError, without importing redis here
            if "NOGROUP" not in str(exc) and "no such key" not in str(exc):
                raise
            self._create_group("$")
            return method(self, *args, **kwargs)

    return call


def _message(fields):
    fields = {key.decode(): value.decode() for key, value in fields.items()}
    return fields.pop("state"), fields.pop("message"), fields


class RunQueue:
    """One Redis connection pool's view of the keys above (`redis`: a redis.Redis client)."""

    def __init__(self, redis, prefix="loopscope"):
        self.redis = redis
        self.prefix = prefix
        self.runs = f"{prefix}:runs"
        self._enqueue = redis.register_script(_ENQUEUE)
        self._position = redis.register_script(_POSITION)
        self._withdraw = redis.register_script(_WITHDRAW)
        self._held = redis.register_script(_HELD)
        self._new_run_id = redis.register_script(_NEW_RUN_ID)
        self._publish = redis.register_script(_PUBLISH)
        self._close = redis.register_script(_CLOSE)
        self._drop_gone = redis.register_script(_DROP_GONE)
        self._create_group("0")

    def _create_group(self, start):
        try:
            self.redis.xgroup_create(self.runs, GROUP, id=start, mkstream=True)
        except Exception as exc:  # noqa: BLE001 - redis.ResponseError, without importing redis here
            if "BUSYGROUP" not in str(exc):
                raise

    def _key(self, run_id, what):
        return f"{self.prefix}:run:{run_id}:{what}"

    # -- a replica ------------------------------------------------------------------------------

    def new_run_id(self):
        """Unique among every replica's runs, and larger than any before it: a page tells a run's
        messages from an older one's by its id, and a Redis that lost its data (the counter too)
        must not hand out ids again."""
        return int(self._new_run_id(keys=[f"{self.prefix}:run-ids"]))

    @_regrouped
    def enqueue(self, run_id, request, client, bound, watch_seconds):
        """(True, entry id) once the request is on the stream, or (False, entries waiting) when
        `bound` are waiting already. `request`: the client's message as it sent it. The run is
        watched for `watch_seconds` from now (before a worker can take it: see `watch`)."""
        self.watch(run_id, watch_seconds)
        answer = self._enqueue(keys=[self.runs], args=[GROUP, bound, "run", run_id, "request", request,
                                                       "client", client or ""])
        if answer[0] == 1:
            return True, answer[1].decode()
        return False, int(answer[1])

    @_regrouped
    def position(self, entry_id):
        """Its place among the requests no worker has taken yet (1: next); 0 once one has."""
        return int(self._position(keys=[self.runs], args=[GROUP, entry_id]))

    @_regrouped
    def held(self, entry_id):
        """Whether the request still waits or is held by a worker (False: done, withdrawn or lost)."""
        return bool(self._held(keys=[self.runs], args=[GROUP, entry_id]))

    @_regrouped
    def withdraw(self, entry_id):
        """Take a request no worker has yet off the stream: True, or False if one has it."""
        return bool(self._withdraw(keys=[self.runs], args=[GROUP, entry_id]))

    def read(self, run_id, after, block_ms):
        """[(id, state, text, notes)] of a run's messages after id `after`, waiting up to `block_ms`
        for one; `notes`: what the worker noted beside the message (see `publish`)."""
        answer = self.redis.xread({self._key(run_id, "messages"): after}, block=block_ms, count=100)
        return [(entry_id.decode(), *_message(fields)) for _, entries in answer for entry_id, fields in entries]

    def ends(self, run_id):
        """The first and the last of a run's messages as (state, text, notes), or None for each, and
        the last one's number (0: none)."""
        key = self._key(run_id, "messages")
        first = self.redis.xrange(key, count=1)
        last = self.redis.xrevrange(key, count=1)
        number = int(last[0][0].decode().rpartition("-")[2]) if last else 0
        return (_message(first[0][1]) if first else None), (_message(last[0][1]) if last else None), number

    def watch(self, run_id, seconds):
        """The replica still forwards this run (it lapses `seconds` after the last call)."""
        self.redis.set(self._key(run_id, "watched"), 1, ex=max(1, round(seconds)))

    def stop(self, run_id):
        self.redis.xadd(self._key(run_id, "control"), {"op": "stop"})
        self.redis.expire(self._key(run_id, "control"), KEPT)

    def forget(self, run_id):
        """The run is over and forwarded: its keys go (but `closed`, which expires: a worker that
        comes back after its run was ended must still find it closed)."""
        self.redis.delete(*(self._key(run_id, what) for what in ("messages", "control", "watched")))

    def close(self, run_id, writer):
        """Make the run `writer`'s alone to finish: True, or False if it is finished or being
        ended already (then nothing is to be added)."""
        return bool(self._close(keys=[self._key(run_id, "closed")], args=[writer, KEPT]))

    # -- a worker -------------------------------------------------------------------------------

    @_regrouped
    def take(self, worker, block_ms):
        """The next request for `worker` as (entry id, fields), or None if none came in `block_ms`."""
        answer = self.redis.xreadgroup(GROUP, worker, {self.runs: ">"}, count=1, block=block_ms)
        for _, entries in answer or ():
            for entry_id, fields in entries:
                return entry_id.decode(), {key.decode(): value.decode() for key, value in fields.items()}
        return None

    def publish(self, run_id, writer, number, state, message, **notes):
        """Add a run's message number `number` (1, 2, ... for each run: what makes a try again
        harmless), its text, with `notes` (strings or numbers) that spare the replica parsing it:
        the worker's name, the events so far, the finished status. False (nothing added) once
        another writer closed the run (see `close`)."""
        fields = [item for key, value in {"state": state, "message": message, **notes}.items() if value is not None
                  for item in (key, value)]
        return bool(self._publish(keys=[self._key(run_id, "messages"), self._key(run_id, "closed")],
                                  args=[writer, number, state, KEPT, *fields]))

    def stop_asked(self, run_id, block_ms):
        """Whether a stop for the run has come (waiting up to `block_ms` for one)."""
        return bool(self.redis.xread({self._key(run_id, "control"): "0-0"}, block=block_ms, count=1))

    def watched(self, run_id):
        return bool(self.redis.exists(self._key(run_id, "watched")))

    @_regrouped
    def keep(self, worker, entry_ids):
        """Touch the worker's pending requests (their idle time restarts); the ids it no longer
        holds (a reaper took them: it was silent too long) are returned."""
        if not entry_ids:
            return set()
        held = self.redis.xclaim(self.runs, GROUP, worker, 0, list(entry_ids), justid=True)
        return set(entry_ids) - {entry_id.decode() for entry_id in held}

    def done(self, entry_id):
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.runs, GROUP, entry_id)
            pipe.xdel(self.runs, entry_id)
            pipe.execute()

    def announce(self, worker, about, seconds):
        """The worker is alive for `seconds` more, and says `about` (a dict) of itself."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(f"{self.prefix}:worker:{worker}", json.dumps(about), ex=max(1, round(seconds)))
            pipe.sadd(f"{self.prefix}:workers", worker)
            pipe.execute()

    def retire(self, worker, consumer=True):
        """The worker stopped: it is no longer a live worker, nor (`consumer`) a consumer of the
        group. A consumer deleted drops its pending requests: one that still holds some must stay,
        for a reaper to end them."""
        self.redis.delete(f"{self.prefix}:worker:{worker}")
        self.redis.srem(f"{self.prefix}:workers", worker)
        if consumer:
            self.redis.xgroup_delconsumer(self.runs, GROUP, worker)

    # -- anyone ---------------------------------------------------------------------------------

    def workers(self):
        """{name: what it says of itself} of the live workers."""
        names = sorted(name.decode() for name in self.redis.smembers(f"{self.prefix}:workers"))
        found, lapsed = {}, []
        for name, value in zip(names, self.redis.mget([f"{self.prefix}:worker:{name}" for name in names])
                               if names else ()):
            if value is None:
                lapsed.append(name)
            else:
                found[name] = json.loads(value)
        if lapsed:  # (one that comes back is in again at its next sign of life, a second later)
            self.redis.srem(f"{self.prefix}:workers", *lapsed)
        return found

    @_regrouped
    def waiting(self):
        """Requests on the stream that no worker has taken yet."""
        return self.redis.xlen(self.runs) - self.redis.xpending(self.runs, GROUP)["pending"]

    @_regrouped
    def drop_gone_consumers(self, idle_seconds):
        """Forget the consumers of workers that are gone and hold nothing (a crashed worker's stay
        in the group otherwise, for ever): how many. A worker that comes back is one again at its
        next read."""
        return int(self._drop_gone(keys=[self.runs], args=[GROUP, f"{self.prefix}:worker:", int(idle_seconds * 1000)]))

    @_regrouped
    def abandoned(self, idle_seconds):
        """Requests whose worker was silent for `idle_seconds`: each [(entry id, fields, worker)]
        is now the caller's alone to end (claiming them restarts their idle time)."""
        idle_ms = int(idle_seconds * 1000)
        stale = self.redis.xpending_range(self.runs, GROUP, min="-", max="+", count=100, idle=idle_ms)
        found = []
        for entry in stale:
            claimed = self.redis.xclaim(self.runs, GROUP, REAPER, idle_ms, [entry["message_id"]])
            for entry_id, fields in claimed:
                if fields is None:  # (deleted meanwhile)
                    continue
                found.append((entry_id.decode(), {key.decode(): value.decode() for key, value in fields.items()},
                              entry["consumer"].decode()))
        return found
