"""Something for every hook of the tracer (server/engine/instrument.py's HOOKS) to see, and output
that shows whether the loop did what it does without Loopscope: tests/test_hook_guard.py breaks
each hook in turn and compares this program's output with a plain run."""

import asyncio
import os
import signal
import sys
import time


def boom():
    raise ValueError("a callback failed")  # the loop's exception handler reports it (to stderr)


def blocking(name):
    time.sleep(0.02)
    print("in thread", name)
    return name.upper()


async def worker(name, delay):
    await asyncio.sleep(delay)
    print("worker", name, "woke after", delay)
    return name


async def main():
    loop = asyncio.get_running_loop()
    loop.call_soon(boom)
    loop.call_soon(print, "called soon")
    task = asyncio.create_task(worker("a", 0.01), name="first")
    task.set_name("renamed")
    print("task is called", task.get_name())
    timer = loop.call_later(5, print, "a cancelled timer never fires")
    timer.cancel()
    sleeper = asyncio.create_task(asyncio.sleep(10), name="sleeper")
    await asyncio.sleep(0)
    sleeper.cancel("no need")
    try:
        await sleeper
    except asyncio.CancelledError as exc:
        print("sleeper cancelled:", exc, sleeper.cancelled())
    future = loop.create_future()
    loop.call_later(0.03, future.set_result, 42)
    print("future gave", await future)
    print("to_thread gave", await asyncio.to_thread(blocking, "t"))
    print("run_in_executor gave", await loop.run_in_executor(None, blocking, "e"))
    time.sleep(0.01)
    worker("never", 0)  # never awaited: Python warns (to stderr) at this line
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:  # holds the loop for 200 ms: the sampler looks at it, and reports it stalled
        pass
    print("to stderr", file=sys.stderr)
    sys.stdout.flush()
    os.write(1, b"straight to fd 1\n")
    await asyncio.sleep(0.01)  # (fd 1's bytes are in their place once the loop waits)
    print("gathered", await asyncio.gather(worker("b", 0.02), worker("c", 0.01), task))
    limit, queue = asyncio.Semaphore(1), asyncio.Queue(maxsize=1)

    async def holder(number):
        async with limit:  # the second waits for the slot
            item = await queue.get()  # ... after waiting on an empty queue
            print("holder", number, "got", item)

    holders = [asyncio.create_task(holder(n)) for n in (1, 2)]
    await asyncio.sleep(0)
    for item in ("x", "y"):
        await queue.put(item)  # the second waits for room
    await asyncio.gather(*holders)
    print("shielded", await asyncio.shield(worker("d", 0.01)))
    print("renamed again:", task.get_name())
    print("a CPU-time timer, disarmed:", signal.setitimer(signal.ITIMER_PROF, 0))  # (its timing is told apart)


print("before the loop")
asyncio.run(main())
print("after the loop")
