"""The clock moves while a callback computes: reads inside it, and timers it sets afterwards."""
import asyncio
import time


def compute(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def main():
    loop = asyncio.get_running_loop()
    loop.call_later(0.055, print, "timer set before")
    start = time.monotonic()
    compute(0.05)
    print("50 ms of computing took 50 ms:", time.monotonic() - start >= 0.049)
    loop.call_later(0.02, print, "timer set after")  # due at 70 ms, after the one due at 55 ms
    await asyncio.sleep(0.1)
    print("done main")

asyncio.run(main())
