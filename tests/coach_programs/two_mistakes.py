import asyncio
import time


async def fetch(url):
    await asyncio.sleep(0.5)
    return f"page of {url}"


async def tick():
    for n in range(3):
        print("tick", n)
        time.sleep(0.3)


async def main():
    fetch("example.org")
    await asyncio.gather(tick(), asyncio.sleep(0.5))
    print("done")


asyncio.run(main())
