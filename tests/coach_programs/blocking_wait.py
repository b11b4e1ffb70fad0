import asyncio
import queue
import threading


async def wait_for_event():
    ready = threading.Event()
    ready.wait(0.3)


async def wait_for_queue():
    jobs = queue.Queue()
    try:
        jobs.get(timeout=0.3)
    except queue.Empty:
        pass


async def compute():
    total = 0
    for i in range(3_000_000):
        total += i
    return total


async def main():
    await asyncio.gather(wait_for_event(), wait_for_queue(), compute())


asyncio.run(main())
