"""An alarm interrupts a callback that computes, once it has computed for the time the alarm names."""
import asyncio
import signal
import time


class Interrupted(Exception):
    pass


def interrupt(signum, frame):
    raise Interrupted


async def main():
    signal.signal(signal.SIGALRM, interrupt)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    rounds = 0
    try:
        while True:  # computes until the alarm interrupts it
            sum(range(1000))
            rounds += 1
    except Interrupted:
        print("interrupted:", rounds > 0, time.monotonic() - start >= 0.1)
    await asyncio.sleep(0.05)
    print("done main")

asyncio.run(main())
