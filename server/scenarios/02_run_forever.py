"""A loop that runs forever, stopped cleanly

`loop.run_forever()` does not wait for any particular coroutine: it keeps
turning until somebody calls `loop.stop()`. Servers and long-lived workers run
like this. Here a heartbeat task does its work, then asks the loop to stop;
the loop finishes the iteration it is in and `run_forever()` returns.

Between beats the ready queue is empty and the loop sleeps until the next timer
in the heap. In blocking mode each beat holds the loop with `time.sleep`, so
the loop never gets to wait: it is frozen instead.
"""
import asyncio
import time


async def heartbeat(loop):
    for beat in range(1, 4):
        print("beat", beat)
        await asyncio.sleep(0.5)  # blocking: time.sleep(0.5)
    print("no more beats: asking the loop to stop")
    loop.stop()


loop = asyncio.new_event_loop()
task = loop.create_task(heartbeat(loop))
loop.run_forever()
print("run_forever returned; the heartbeat task is done:", task.done())
loop.close()
