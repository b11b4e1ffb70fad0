import asyncio
import time


def blocking(name, seconds):
    time.sleep(seconds)
    return name


async def ticker():
    for i in range(5):
        print("tick", i)
        await asyncio.sleep(0.1)
    print("done ticker")


async def main():
    tick = asyncio.create_task(ticker(), name="ticker")
    print(await asyncio.to_thread(blocking, "thread-a", 0.25))
    loop = asyncio.get_running_loop()
    print(await loop.run_in_executor(None, blocking, "thread-b", 0.1))
    await tick
    print("done main")

asyncio.run(main())
