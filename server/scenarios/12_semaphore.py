"""A Semaphore limits how many tasks work at once

Six downloads start together, but `asyncio.Semaphore(2)` lets only two inside
the `async with` block at a time; the others suspend in `acquire()` until a
place frees up. This is how you stay polite to a server, or within a connection
limit, while still using concurrency.
"""
import asyncio
import time


async def download(number, limit):
    async with limit:
        print(f"download {number}: started")
        await asyncio.sleep(1)  # blocking: time.sleep(1)
        print(f"download {number}: finished")


async def main():
    limit = asyncio.Semaphore(2)
    async with asyncio.TaskGroup() as group:
        for number in range(1, 7):
            group.create_task(download(number, limit), name=f"download {number}")


asyncio.run(main())
