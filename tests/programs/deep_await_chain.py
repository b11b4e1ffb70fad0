# compare: stdout and stderr
"""Await chains far deeper than any program needs: each task waits at the bottom of its chain."""

import asyncio
import sys

sys.setrecursionlimit(5000)  # each coroutine of a chain resumes the next one


async def level(n, depth):
    if n == 0:
        await asyncio.sleep(1 / depth)  # the deepest is done first
        return depth
    return await level(n - 1, depth)


async def main():
    tasks = [asyncio.create_task(level(depth, depth), name=f"chain{depth}") for depth in (1000, 150, 3)]
    for task in tasks:
        print("done", task.get_name(), await task)


asyncio.run(main())
