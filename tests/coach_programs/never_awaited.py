import asyncio


async def fetch(name):
    await asyncio.sleep(0.1)
    print("fetched", name)


async def main():
    fetch("first")
    pending = fetch("second")
    await asyncio.sleep(0.2)
    print("main is done")


asyncio.run(main())
