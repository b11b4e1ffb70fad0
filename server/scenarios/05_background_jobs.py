"""A stream of background jobs finishing out of order

A producer receives a piece of work every half second and starts a task for
it without waiting for the result ("fire and forget"). Each job needs a
different, random amount of time (the random generator is seeded, so every run
is the same). Because the jobs run concurrently, a job submitted late but
short — job 5 here — finishes before jobs submitted long before it.

Fire-and-forget tasks still need two things: a reference kept somewhere (the
loop itself only holds a weak one), and to be awaited before the loop closes,
or they are destroyed unfinished. The `running` set and the final
`asyncio.gather()` do both.

In blocking mode each job holds the loop with `time.sleep()`: job 2 cannot even
be submitted until job 1 has completely finished, and everything runs in order.
"""
import asyncio
import random
import time

rng = random.Random(5)


async def process(job, seconds):
    print(f"job {job}: started, needs {seconds} s")
    await asyncio.sleep(seconds)  # blocking: time.sleep(seconds)
    print(f"job {job}: finished")


async def producer():
    running = set()
    for job in range(1, 6):
        task = asyncio.create_task(process(job, rng.randint(1, 5)), name=f"job {job}")
        running.add(task)
        task.add_done_callback(running.discard)
        print(f"submitted job {job}")
        await asyncio.sleep(0.5)
    print("all jobs submitted; waiting for the ones still running")
    await asyncio.gather(*running)


asyncio.run(producer())
