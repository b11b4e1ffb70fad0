# compare: stdout and stderr
"""Unreferenced tasks waiting on a gather and on a shield are collected too: what the tracer knows
of a gather's future (a subclass of asyncio's Future) and of a shield's outer one holds neither."""

import asyncio
import gc
import weakref


async def forever(name):
    loop = asyncio.get_running_loop()
    try:
        await asyncio.gather(loop.create_future(), loop.create_future())
    finally:
        print("finally runs in", name)


async def shielded(name):
    try:
        await asyncio.shield(asyncio.get_running_loop().create_future())
    finally:
        print("finally runs in", name)


async def main():
    refs = [weakref.ref(asyncio.create_task(forever("gather"), name="gather")),
            weakref.ref(asyncio.create_task(shielded("shield"), name="shield"))]
    await asyncio.sleep(0)
    gc.collect()
    print("collected:", [r() is None for r in refs])


asyncio.run(main())
