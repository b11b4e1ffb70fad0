# Pauses are chosen so no two timers fall due within 50 ms of each other (0.2 s and 0.45 s steps):
# a real run orders such near-ties by how late the machine wakes, which varies under load.
import asyncio


async def producer(queue, n):
    for i in range(n):
        await queue.put(i)
        print("put", i)
    await queue.put(None)
    await queue.put(None)
    print("done producer")


async def consumer(name, queue, pause):
    while (item := await queue.get()) is not None:
        print(name, "got", item)
        await asyncio.sleep(pause)
    print("done", name)


async def main():
    queue = asyncio.Queue(maxsize=3)
    await asyncio.gather(
        asyncio.create_task(producer(queue, 8), name="producer"),
        asyncio.create_task(consumer("fast", queue, 0.2), name="fast"),
        asyncio.create_task(consumer("slow", queue, 0.45), name="slow"),
    )

asyncio.run(main())
