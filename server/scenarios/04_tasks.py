"""Tasks: two coroutines run concurrently

`asyncio.create_task()` hands a coroutine to the loop, which will start it as
soon as it can, without waiting for anyone to await it. Both tasks reach their
`await asyncio.sleep()` almost at once, two timers wait side by side in the
heap, and the shorter one fires first: `world` finishes before `hello`, and the
whole run takes 2 s instead of 3 s. Awaiting a task afterwards collects its
return value.

In blocking mode `time.sleep()` holds the loop: `hello` keeps it for 2 s
before `world` may even start, they finish in creation order, and it takes 3 s
again. Creating tasks does not make blocking code concurrent.
"""
import asyncio
import time


async def hello():
    await asyncio.sleep(2)  # blocking: time.sleep(2)
    print("hello")
    return "hello is done"


async def world():
    await asyncio.sleep(1)  # blocking: time.sleep(1)
    print("world")
    return "world is done"


async def main():
    hello_task = asyncio.create_task(hello(), name="hello")
    world_task = asyncio.create_task(world(), name="world")
    print(await hello_task, "/", await world_task)


asyncio.run(main())
