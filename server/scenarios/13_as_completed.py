"""as_completed(): results in the order they are ready

`asyncio.gather()` waits for everything and keeps the order you gave.
`asyncio.as_completed()` instead yields each result as soon as it is ready, so
you can use the fastest answer first — here the three lookups report back
shortest first, though they were started longest first.
"""
import asyncio
import time


async def lookup(name, seconds):
    await asyncio.sleep(seconds)  # blocking: time.sleep(seconds)
    return f"{name} ({seconds} s)"


async def main():
    lookups = [
        asyncio.create_task(lookup(name, seconds), name=name)
        for name, seconds in (("slow", 1.5), ("medium", 1), ("fast", 0.5))
    ]
    for next_done in asyncio.as_completed(lookups):
        print("ready:", await next_done)


asyncio.run(main())
