"""An alarm interrupts a blocking time.sleep (and signal.pause) at the time it names."""
import asyncio
import signal
import time


class Interrupted(Exception):
    pass


def interrupt(signum, frame):
    raise Interrupted


def note(signum, frame):
    print("alarm during the sleep")


async def main():
    signal.signal(signal.SIGALRM, interrupt)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        time.sleep(2)  # blocks the loop; the alarm's handler raises out of it
        print("slept through")
    except Interrupted:
        print("interrupted, well before the 2 s:", 0.3 <= time.monotonic() - start < 1.5)
    signal.signal(signal.SIGALRM, note)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    time.sleep(0.5)  # the handler returns: the sleep goes on for the rest (PEP 475)
    print("slept all of it:", time.monotonic() - start >= 0.5)
    signal.alarm(1)
    signal.pause()  # waits for the alarm
    print("paused until the alarm:", time.monotonic() - start >= 1.5)

asyncio.run(main())
