"""Output in its place: signal handlers that print and flush (one set with signal.signal, one with
loop.add_signal_handler) print their lines once, where a plain run prints them."""

import asyncio
import signal

received = []


def handler(signum, frame):
    received.append(signum)
    print("handler: got", signal.Signals(signum).name, "number", len(received), flush=True)
    if len(received) % 3 == 0:
        signal.raise_signal(signal.SIGUSR2)  # (a handler inside a handler)


def inner(signum, frame):
    print("  the inner handler ran inside it", flush=True)


async def job(name):
    for n in range(4):
        print(name, "step", n, flush=n % 2 == 0)
        signal.raise_signal(signal.SIGUSR1)
        print(name, "after the signal", n)
        await asyncio.sleep(0.01)
    print("done", name)


async def main():
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGWINCH, lambda: print("the loop's handler ran", flush=True))
    signal.raise_signal(signal.SIGWINCH)
    await asyncio.sleep(0)
    await asyncio.gather(job("first"), job("second"))
    loop.remove_signal_handler(signal.SIGWINCH)


signal.signal(signal.SIGUSR1, handler)
previous = signal.signal(signal.SIGUSR2, inner)
print("handlers as set:", signal.getsignal(signal.SIGUSR1) is handler, previous is signal.SIG_DFL)
asyncio.run(main())
print("signals received:", len(received))
