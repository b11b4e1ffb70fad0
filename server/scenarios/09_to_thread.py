"""Getting blocking code off the loop with threads

Some code cannot be awaited: a library that does its I/O the blocking way, or
a long computation. Called from a coroutine it holds the loop, and every other
task waits. `asyncio.to_thread()` (and the older `loop.run_in_executor()`) runs
such a function in a worker thread and gives the loop a future to await; the
loop stays free and the ticker keeps ticking. When the thread finishes, it
hands the result back with `call_soon_threadsafe`.

In blocking mode the same function is called directly in the coroutine: the
ticker freezes until it returns.
"""
import asyncio
import time


def blocking_io(seconds):
    time.sleep(seconds)
    return f"blocking_io slept {seconds} s"


async def ticker():
    for tick in range(1, 5):
        print("tick", tick)
        await asyncio.sleep(0.5)


async def main():
    ticking = asyncio.create_task(ticker(), name="ticker")
    result = await asyncio.to_thread(blocking_io, 1.2)  # blocking: result = blocking_io(1.2)
    print(result)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, blocking_io, 0.4)  # blocking: result = blocking_io(0.4)
    print(result)
    await ticking


asyncio.run(main())
