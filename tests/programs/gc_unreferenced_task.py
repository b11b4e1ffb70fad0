# compare: stdout and stderr
"""A task nobody references, waiting on a future nobody will resolve, is destroyed by the
garbage collector: asyncio says so on stderr, its `finally` runs, a weak reference dies."""

import asyncio
import gc
import weakref


async def forever(name):
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        print("finally runs in", name)


async def main():
    task = asyncio.create_task(forever("lost"), name="lost")
    ref = weakref.ref(task)
    await asyncio.sleep(0)  # it starts and waits
    del task
    gc.collect()
    print("task collected:", ref() is None)
    await asyncio.sleep(0.01)
    print("done main")


asyncio.run(main())
