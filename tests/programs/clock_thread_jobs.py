"""Thread-pool jobs, one after another, while a far timer waits: loop time must follow the wall
clock through each job's hand-over, never jump to the far timer in between (a job that finished
between the loop's look at its selector and its question "does a thread work?" once let it)."""
import asyncio


async def main():
    loop = asyncio.get_running_loop()
    start = loop.time()
    far = asyncio.create_task(asyncio.sleep(10))
    for i in range(200):
        assert await loop.run_in_executor(None, int, i) == i
    print("200 jobs done before the far timer:", loop.time() - start < 5, far.done())
    far.cancel()


asyncio.run(main())
