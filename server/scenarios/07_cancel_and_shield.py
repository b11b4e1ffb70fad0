"""Cancelling a task, and shielding one from cancellation

`task.cancel()` does not stop a task on the spot: it asks. The next time the
task is at an `await`, a `CancelledError` is thrown into it there; it may clean
up, and normally lets the error propagate, which finishes the task as
cancelled.

`asyncio.shield()` protects a task from cancellation coming through the code
that awaits it. Here `wait_for()` gives up after one second and cancels what it
waits on — the shield — but the protected task carries on and still delivers
its result.

In blocking mode the jobs never reach an `await` while they wait, so there is
no moment to deliver the cancellation: the "doomed" job completes anyway and
the timeout cannot fire in time.
"""
import asyncio
import time


async def slow_job(name, seconds):
    try:
        print(f"{name}: working for {seconds} s")
        await asyncio.sleep(seconds)  # blocking: time.sleep(seconds)
        print(f"{name}: finished")
        return f"{name}'s result"
    except asyncio.CancelledError:
        print(f"{name}: cancelled while waiting")
        raise


async def main():
    doomed = asyncio.create_task(slow_job("doomed", 3), name="doomed")
    await asyncio.sleep(1)
    doomed.cancel("not needed any more")
    try:
        print("main:", await doomed)
    except asyncio.CancelledError:
        print("main: doomed was cancelled:", doomed.cancelled())

    protected = asyncio.create_task(slow_job("protected", 2), name="protected")
    try:
        await asyncio.wait_for(asyncio.shield(protected), timeout=1)
    except TimeoutError:
        print("main: stopped waiting after 1 s; the shielded task goes on")
    print("main:", await protected)


asyncio.run(main())
