import asyncio


async def fail():
    await asyncio.sleep(0.1)
    raise ValueError("nobody hears this")


async def main():
    asyncio.create_task(fail())
    await asyncio.sleep(0.5)
    print("main is done")


asyncio.run(main())
