"""The loop runs one coroutine to completion

Nothing asynchronous happens without an event loop: it is the scheduler that
decides which piece of code runs next. `loop.run_until_complete()` wraps the
coroutine in a task, turns the loop until that task is finished, and hands back
its return value. `asyncio.run()` does exactly this too, and also creates the
loop first and closes it afterwards.

Watch the single task step in, stop at `await asyncio.sleep(1)` while its timer
waits in the heap, and step in again when the timer is due. In blocking mode
`time.sleep(1)` never gives control back: the one step holds the loop for the
whole second.
"""
import asyncio
import time


async def first_async():
    print("starting some work")
    await asyncio.sleep(1)  # blocking: time.sleep(1)
    print("work finished")
    return 42


loop = asyncio.new_event_loop()
result = loop.run_until_complete(first_async())
print("run_until_complete returned", result)
loop.close()
