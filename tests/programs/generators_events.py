import asyncio


async def ticks(n):
    for i in range(n):
        await asyncio.sleep(0.01)
        yield i


async def waiter(name, event):
    await event.wait()
    print("done", name)


async def main():
    print([i async for i in ticks(4)])
    event = asyncio.Event()
    tasks = [asyncio.create_task(waiter(f"e{i}", event), name=f"e{i}") for i in range(3)]
    await asyncio.sleep(0)
    event.set()
    await asyncio.gather(*tasks)
    lock = asyncio.Lock()

    async def locked(name):
        async with lock:
            await asyncio.sleep(0.01)
            print("done", name)

    await asyncio.gather(*(asyncio.create_task(locked(f"l{i}"), name=f"l{i}") for i in range(3)))
    print("done main")

asyncio.run(main())
