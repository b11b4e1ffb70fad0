# compare: stdout and stderr
"""Tasks cancelled by callbacks (a timer, call_soon, a worker thread's call_soon_threadsafe; one
of them queued right behind the task's first step) and by a task: each says who cancelled it,
in the order a plain run does."""

import asyncio


async def sleeper(name):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as cancelled:
        print("done", name, cancelled.args)
        raise


async def main():
    loop = asyncio.get_running_loop()
    timer, soon, thread, direct, late = (
        asyncio.create_task(sleeper(name), name=name) for name in ("timer", "soon", "thread", "direct", "late"))
    await asyncio.sleep(0)  # the five start, and wait
    fresh = asyncio.create_task(sleeper("fresh"), name="fresh")
    loop.call_soon(fresh.cancel)
    loop.call_soon(soon.cancel, "from call_soon")
    # the worker queues the cancel before the loop hears that the job is done
    await loop.run_in_executor(None, loop.call_soon_threadsafe, thread.cancel)
    direct.cancel()
    loop.call_later(0.1, timer.cancel)
    await asyncio.sleep(0.2)
    late.cancel()
    for task in (timer, soon, thread, direct, late, fresh):
        try:
            await task
        except asyncio.CancelledError:
            print("awaited", task.get_name(), task.cancelled())


asyncio.run(main())
