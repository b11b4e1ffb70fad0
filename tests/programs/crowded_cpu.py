"""A callback that computes 30 ms while four threads share its CPU: it takes some five times as long
in real time. Under the virtual clock it is charged what it ran, and reported stalled only if it
computed that long (tests/test_fidelity.py)."""

import asyncio
import hashlib
import os
import threading
import time

CPU = min(os.sched_getaffinity(0))
crowded = threading.Event()
done = threading.Event()


def hog():
    os.sched_setaffinity(0, {CPU})  # (this thread only) the loop's CPU, shared
    data = b"x" * 20_000_000
    crowded.set()
    while not done.is_set():
        hashlib.sha256(data).digest()  # (C code that lets go of the GIL: the threads compete for the CPU)


def compute(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def main():
    os.sched_setaffinity(0, {CPU})
    hogs = [threading.Thread(target=hog) for _ in range(4)]
    for thread in hogs:
        thread.start()
    await asyncio.to_thread(crowded.wait)
    await asyncio.sleep(0)
    compute(0.03)  # 30 ms of CPU, in a step of its own, and four times as long waiting for the CPU
    print("computed")
    done.set()
    for thread in hogs:
        await asyncio.to_thread(thread.join)


asyncio.run(main())
