"""The end of a program: atexit handlers run after the loop is gone, last registered first, and
the status given to sys.exit() is the program's exit status."""

import asyncio
import atexit
import sys


def goodbye(who, punctuation="."):
    print(f"goodbye from {who}{punctuation}")


async def job(name, delay):
    await asyncio.sleep(delay)
    print("done", name)
    return name


async def main():
    atexit.register(goodbye, "a task", punctuation="!")
    results = await asyncio.gather(job("slow", 0.02), job("fast", 0.01))
    print("results", results)


atexit.register(goodbye, "the module")


@atexit.register
def loop_at_exit():
    async def last_words():
        await asyncio.sleep(0.01)
        print("a loop still runs in an atexit handler")

    asyncio.run(last_words())


asyncio.run(main())
print("leaving with status 3", flush=True)
sys.exit(3)
