import asyncio


async def important():
    await asyncio.sleep(0.3)
    print("done important")
    return 42


async def main():
    task = asyncio.create_task(important(), name="important")

    async def wait_shielded():
        return await asyncio.shield(task)

    waiter = asyncio.create_task(wait_shielded(), name="waiter")
    await asyncio.sleep(0.1)
    waiter.cancel()
    try:
        await waiter
    except asyncio.CancelledError:
        print("waiter cancelled, shielded task still running:", not task.done())
    print("result", await task)
    print("done main")

asyncio.run(main())
