import asyncio
import threading
import time


def from_thread(loop, future, values):
    for value in values:
        time.sleep(0.05)
        loop.call_soon_threadsafe(print, "from thread:", value)
    loop.call_soon_threadsafe(future.set_result, "thread finished")


async def main():
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    thread = threading.Thread(target=from_thread, args=(loop, future, [1, 2, 3]))
    thread.start()
    print(await future)
    thread.join()
    print("done main")

asyncio.run(main())
