"""The threads a program can see are its own: Loopscope's helper threads never show."""

import asyncio
import threading


def names():
    return sorted(thread.name for thread in threading.enumerate())


def work():
    print("in a worker:", threading.active_count(), names()[0])


async def main():
    print("at start:", threading.active_count(), names())
    await asyncio.sleep(0.01)  # (the sampler and fd 1's reader have long started)
    await asyncio.to_thread(work)
    print("main thread only?", threading.current_thread() is threading.main_thread())


asyncio.run(main())
print("after run:", threading.active_count(), names())
