"""Frames and depth: a program recurses as deep as in a plain run (at module level, in a task, in a
callback, after setting its own limit) and counts the frames of its stack as a plain run does."""

import asyncio
import inspect
import sys


def deepest(n=0):
    try:
        return deepest(n + 1)
    except RecursionError:
        return n


async def in_a_task():
    print("in a task: depth", len(inspect.stack()), "deepest", deepest())


def in_a_callback(done):
    print("in a callback: depth", len(inspect.stack()), "deepest", deepest())
    done.set_result(None)


async def main():
    await asyncio.create_task(in_a_task())
    done = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(in_a_callback, done)
    await done
    print("in main: deepest", deepest())
    print("done main")


print("limit", sys.getrecursionlimit(), "module depth", len(inspect.stack()), "deepest", deepest())
asyncio.run(main())
sys.setrecursionlimit(300)
print("limit", sys.getrecursionlimit(), "deepest", deepest())
asyncio.run(main())
print("after the loop: deepest", deepest())
