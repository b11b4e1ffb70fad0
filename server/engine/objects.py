"""What the program does with asyncio's objects that the loop cannot see: semaphores, queues, shields.

A semaphore's slots, a queue's items and who waits on either live in the objects, not in the
loop's queues; `asyncio.shield()` makes an outer future whose link to its task no event shows.
So, as `loop.Task` does for `Task.cancel`, each of these public methods is wrapped: the wrapper
does exactly what asyncio's does, and tells the tracer (through its guarded hooks, see
`instrument.py`) what it did. The methods are replaced on asyncio's own classes, not in
subclasses, so `type()`, `isinstance()` and the program's own subclasses see what a plain run
sees. What differs: a traceback through `acquire()`, `get()` or `put()` shows one frame of
Loopscope's (as one from inside a callback shows the tracer's). Objects asyncio makes for itself
(the queue inside `as_completed()`) are not reported: they are not the program's to see.
"""

import asyncio
import functools
import sys

from .describe import module_of

_HOOKS = None  # the tracer's guarded hooks (instrument.Hooks), set by install()


def _made_by_asyncio():
    """Is the object being made asyncio's own (e.g. the Queue inside `as_completed()`)? Its
    maker is the first frame above the constructors (`__init__`s, a subclass's included)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name == "__init__":
        frame = frame.f_back
    return frame is not None and module_of(frame).startswith("asyncio.")


def _semaphore_init(plain):
    @functools.wraps(plain)
    def __init__(self, value=1):
        plain(self, value)
        if not _made_by_asyncio():
            _HOOKS.semaphore_made(self, value)

    return __init__


def _semaphore_acquire(plain):
    @functools.wraps(plain)
    async def acquire(self):
        waits = self.locked()  # (what asyncio's acquire asks first: it then suspends)
        if waits:
            _HOOKS.semaphore_changed(self, "wait")
        try:
            got = await plain(self)
        except BaseException:
            if waits:
                _HOOKS.semaphore_changed(self, "give_up")
            raise
        _HOOKS.semaphore_changed(self, "acquire")
        return got

    return acquire


def _semaphore_release(plain):
    @functools.wraps(plain)
    def release(self):
        plain(self)
        _HOOKS.semaphore_changed(self, "release")

    return release


def _queue_init(plain):
    @functools.wraps(plain)
    def __init__(self, maxsize=0):
        plain(self, maxsize)
        if not _made_by_asyncio():
            _HOOKS.queue_made(self, maxsize)

    return __init__


def _queue_wait(plain, side):
    """`get()` or `put(item)`: reports a wait when the queue is empty (full); the item itself goes
    in or out through `get_nowait` / `put_nowait`, which asyncio's own `get` / `put` call."""
    waiting, stuck = f"wait_{side}", (lambda queue: queue.empty()) if side == "get" else (lambda queue: queue.full())

    @functools.wraps(plain)
    async def wait(self, *args):
        waits = stuck(self)
        if waits:
            _HOOKS.queue_changed(self, waiting, None)
        try:
            return await plain(self, *args)
        except BaseException:
            if waits:
                _HOOKS.queue_changed(self, "give_up", None)
            raise

    return wait


def _queue_put_nowait(plain):
    @functools.wraps(plain)
    def put_nowait(self, item):
        plain(self, item)
        _HOOKS.queue_changed(self, "put", item)

    return put_nowait


def _queue_get_nowait(plain):
    @functools.wraps(plain)
    def get_nowait(self):
        item = plain(self)
        _HOOKS.queue_changed(self, "get", item)
        return item

    return get_nowait


def _shield(plain):
    @functools.wraps(plain)
    def shield(arg):
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # (no loop running: asyncio's own warnings must name the program's line)
            return plain(arg)
        inner = asyncio.ensure_future(arg)  # what shield() does first, so the inner task is known
        outer = plain(inner)
        if outer is not inner:  # (an inner that is done already is returned as it is)
            _HOOKS.shielded(outer, inner)
        return outer

    return shield


def install(tracer):
    """Wrap the methods of asyncio's semaphores and queues, and `asyncio.shield`, reporting to `tracer`."""
    global _HOOKS
    _HOOKS = tracer.hooks
    semaphore = asyncio.Semaphore
    semaphore.__init__ = _semaphore_init(semaphore.__init__)
    semaphore.acquire = _semaphore_acquire(semaphore.acquire)
    semaphore.release = _semaphore_release(semaphore.release)
    queue = asyncio.Queue
    queue.__init__ = _queue_init(queue.__init__)
    queue.get = _queue_wait(queue.get, "get")
    queue.put = _queue_wait(queue.put, "put")
    queue.put_nowait = _queue_put_nowait(queue.put_nowait)
    queue.get_nowait = _queue_get_nowait(queue.get_nowait)
    shield = _shield(asyncio.shield)
    asyncio.shield = asyncio.tasks.shield = shield
