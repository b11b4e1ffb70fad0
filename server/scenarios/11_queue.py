"""A Queue between producers and consumers

`asyncio.Queue` hands items from tasks that make them to tasks that use them.
Two consumers, one slower than the other, take items out. A consumer awaiting
`get()` on an empty queue suspends until an item arrives; a
producer awaiting `put()` on a full queue (here it holds two items) suspends
until there is room. `task_done()` and `join()` let the producer know when
every item has been processed, after which the idle consumers are cancelled.
"""
import asyncio
import time


async def producer(queue):
    for item in range(1, 7):
        await queue.put(item)
        print(f"produced item {item} (queue size {queue.qsize()})")


async def consumer(name, queue, seconds):
    while True:
        item = await queue.get()
        print(f"{name}: processing item {item}")
        await asyncio.sleep(seconds)  # blocking: time.sleep(seconds)
        queue.task_done()


async def main():
    queue = asyncio.Queue(maxsize=2)
    workers = [
        asyncio.create_task(consumer(f"consumer-{n}", queue, seconds), name=f"consumer-{n}")
        for n, seconds in ((1, 0.5), (2, 0.7))
    ]
    await producer(queue)
    await queue.join()
    print("every item processed; stopping the consumers")
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


asyncio.run(main())
