"""A thousand tasks at once

The loop does not care how many tasks exist, only how many are ready. A
thousand tasks each sleep for a (seeded) random time; almost all the time they
wait as timers in the heap, and the loop wakes each one exactly when it is due.
Running them one after another would take about eight minutes of sleeping;
concurrently it takes one second.

In blocking mode each worker calls `time.sleep()` for only a fifteenth of its
time, and the run takes more than half a minute instead of one second: the
sleeps happen one after another, each holding the loop, and every one of a
twentieth of a second or more shows as a block.
"""
import asyncio
import random
import time

rng = random.Random(1)


async def worker(number, seconds):
    await asyncio.sleep(seconds)  # blocking: time.sleep(seconds / 15)
    return number


async def main():
    tasks = [asyncio.create_task(worker(n, rng.random())) for n in range(1000)]
    done = await asyncio.gather(*tasks)
    print(f"{len(done)} tasks finished")  # (how long it took: the run's loop time, on the page)


asyncio.run(main())
