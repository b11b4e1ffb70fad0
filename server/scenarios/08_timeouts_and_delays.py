"""Timeouts and delayed starts

Two ways to stop waiting: `asyncio.timeout()` around a block of code, and
`asyncio.wait_for()` around one awaitable. Both schedule a timer; if it fires
first, the waiting code is cancelled and a `TimeoutError` comes out instead.
If the work wins, the timer is cancelled and never runs.

`loop.call_later()` runs a plain callback after a delay — here it starts a
task late. Its handle can also be cancelled before it is due: watch it leave
the timer heap without ever running.

In blocking mode the slow fetch holds the loop past its deadline, so the
timeout's timer cannot fire while it matters: no timeout happens at all.
"""
import asyncio
import time


async def fetch(name, seconds):
    await asyncio.sleep(seconds)  # blocking: time.sleep(seconds)
    return f"{name} arrived after {seconds} s"


async def late_job():
    print("late job: started by call_later")


async def main():
    loop = asyncio.get_running_loop()
    started = []
    loop.call_later(1.5, lambda: started.append(asyncio.create_task(late_job(), name="late")))
    never = loop.call_later(5, print, "this reminder never prints")
    never.cancel()

    try:
        async with asyncio.timeout(1):
            print(await fetch("slow data", 2))
    except TimeoutError:
        print("asyncio.timeout(1): gave up on the slow fetch")

    print(await asyncio.wait_for(fetch("quick data", 0.5), timeout=1))
    await asyncio.sleep(1)
    await asyncio.gather(*started)


asyncio.run(main())
