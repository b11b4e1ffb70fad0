"""Coroutines awaited one after another: no concurrency

`async def` and `await` alone do not make anything run at the same time.
`main()` awaits `hello()` and only when it has completely finished does it
start `world()`. There is only ever one task, so while it waits the loop has
nothing else to do: the 2 s and the 1 s add up to 3 s.

Compare with the next scenario, where the same two coroutines become tasks.
"""
import asyncio
import time


async def hello():
    await asyncio.sleep(2)  # blocking: time.sleep(2)
    print("hello")


async def world():
    await asyncio.sleep(1)  # blocking: time.sleep(1)
    print("world")


async def main():
    await hello()
    await world()


asyncio.run(main())
