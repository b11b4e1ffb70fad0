import asyncio


async def work(name):
    await asyncio.sleep(0.1)
    print(name, "done")


async def main():
    asyncio.create_task(work("dropped"))
    kept = asyncio.create_task(work("kept"))
    async with asyncio.TaskGroup() as group:
        group.create_task(work("grouped"))
    await kept


asyncio.run(main())
