"""The end of a program: os._exit() in a task ends the process at once. What was flushed before it
is printed, atexit handlers do not run, and its status is the exit status."""

import asyncio
import atexit
import os

atexit.register(print, "never printed: os._exit skips atexit handlers")


async def ticker(enough):
    for n in range(100):
        print("tick", n, flush=True)
        if n == 3:
            enough.set()
        await asyncio.sleep(0.01)


async def leaver(enough):
    await enough.wait()
    await asyncio.sleep(0.001)
    print("about to leave", flush=True)
    os.write(1, b"written to fd 1 before os._exit\n")
    os._exit(4)


async def main():
    enough = asyncio.Event()
    asyncio.create_task(ticker(enough))
    await asyncio.create_task(leaver(enough))
    print("never printed: the process is gone")


asyncio.run(main())
