"""Timers less than a millisecond apart fire in due order, and none before its time: a real loop runs
a timer only once its time has come (it waits for the first in whole milliseconds, rounded up, and runs
all that are due when it wakes)."""
import asyncio


async def main():
    loop = asyncio.get_running_loop()
    start = loop.time()

    def check(name, when):
        print(name, "ran at or after its time:", loop.time() >= when)

    for name, delay in (("third", 0.0108), ("first", 0.0101), ("second", 0.0104)):  # (set out of order)
        loop.call_at(start + delay, check, name, start + delay)
    await asyncio.sleep(0.012)
    print("a sleep of 12 ms lasted it:", loop.time() - start >= 0.012)
    await asyncio.sleep(0.01)
    print("end")

asyncio.run(main())
