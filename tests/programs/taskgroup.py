import asyncio


async def worker(name, delay, fail=False):
    try:
        await asyncio.sleep(delay)
        if fail:
            raise RuntimeError(f"{name} broke")
        print("done", name)
    except asyncio.CancelledError:
        print("cancelled", name)
        raise


async def main():
    async with asyncio.TaskGroup() as group:
        for i, delay in enumerate([0.3, 0.1, 0.2]):
            group.create_task(worker(f"w{i}", delay), name=f"w{i}")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(worker("x", 1), name="x")
            group.create_task(worker("y", 0.5, fail=True), name="y")
            group.create_task(worker("z", 0.2), name="z")
    except* RuntimeError as eg:
        print("group failed:", [str(e) for e in eg.exceptions])
    print("done main")

asyncio.run(main())
