"""Work done in many small chunks of CPU adds up, against a timeout, as in a plain run."""
import asyncio
import time


def compute(seconds):
    """Computes for `seconds` of this thread's CPU time (so a chunk is the same size on a busy machine)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def work(chunks):
    for _ in range(chunks):
        compute(0.002)
        await asyncio.sleep(0)
    return f"{chunks} chunks in time"


async def main():
    # 400 ms of work against 0.2 s: it always times out (sooner on a busy machine); done in time
    # would be a chunk count small enough for the busiest machine, which is no test of adding up.
    # (Off a chunk's end: which chunk the timeout follows hangs on no nanosecond.)
    try:
        print(await asyncio.wait_for(work(200), timeout=0.2005))
    except TimeoutError:
        print("200 chunks: timed out")

asyncio.run(main())
