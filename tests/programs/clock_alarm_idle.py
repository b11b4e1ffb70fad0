"""signal.alarm and setitimer(ITIMER_REAL) go off while the loop waits, at the time they name."""
import asyncio
import signal


def on_alarm(signum, frame):
    print("alarm", signum == signal.SIGALRM)


async def main():
    signal.signal(signal.SIGALRM, on_alarm)
    print("left before:", signal.alarm(5))
    print("left after:", signal.alarm(0))
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    delay, interval = signal.getitimer(signal.ITIMER_REAL)
    print("armed:", 0.4 < delay <= 0.5, interval)
    for i in range(4):
        await asyncio.sleep(0.2)  # the alarm comes between the second and the third tick
        print("tick", i)
    signal.setitimer(signal.ITIMER_REAL, 0.1, 0.3)  # at 0.1, 0.4 and 0.7 s of the next 0.85
    await asyncio.sleep(0.85)
    signal.setitimer(signal.ITIMER_REAL, 0)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGALRM, print, "asyncio's handler")
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    await asyncio.sleep(0.3)
    print("done main")

asyncio.run(main())
