"""A thousand tasks at once

The loop does not care how many tasks exist, only how many are ready. A
thousand tasks each sleep for a (seeded) random time; almost all the time they
wait as timers in the heap, and the loop wakes each one exactly when it is due.
Running them one after another would take about eight minutes of sleeping;
concurrently it takes one second.

In blocking mode each worker calls `time.sleep()` for only a thousandth of its
time, and still the run is half a second longer than all of them together:
the sleeps happen one after another, holding the loop each time.
"""
import asyncio
import random
import time

rng = random.Random(1)


async def worker(number, seconds):
    await asyncio.sleep(seconds)  # blocking: time.sleep(seconds / 1000)
    return number


async def main():
    start = time.perf_counter()
    tasks = [asyncio.create_task(worker(n, rng.random())) for n in range(1000)]
    done = await asyncio.gather(*tasks)
    print(f"{len(done)} tasks finished in about {time.perf_counter() - start:.0f} s")


asyncio.run(main())
