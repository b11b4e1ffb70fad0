"""Many timers cancelled: the loop purges them from its heap, and timers due at the same moment
fire in the order that heap gives them (a program's `wait_for`s and timeouts cancel timers often)."""

import asyncio


async def main():
    loop = asyncio.get_running_loop()
    fired = []
    due = loop.time() + 1
    handles = []
    for i in range(300):
        handles.append(loop.call_at(due + (i % 7) * 0.001, fired.append, i))
    for i, handle in enumerate(handles):
        if i % 5:
            handle.cancel()
    await asyncio.sleep(0)  # one loop iteration: the cancelled timers are purged here
    print("timers left in the heap:", len(loop._scheduled))
    await asyncio.sleep(2)
    print("fired:", fired)


asyncio.run(main())
