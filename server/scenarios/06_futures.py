"""Futures: one result, awaited by several tasks

A future is a box for a result that does not exist yet. It starts pending
(`done()` is false); later someone puts a result — or an exception — in it, and
from then on it is done. Every task awaiting it is woken up, and awaiting it
again just returns the same value at once. Tasks themselves are futures that
get their result from their coroutine.

Here three readers wait on one future, which `loop.call_later()` resolves after
one second: watch the timer fire, the future complete and three wake-ups enter
the ready queue together. A second future is failed with an exception, which
is raised in the task that awaits it.
"""
import asyncio


async def reader(name, future):
    print(f"{name}: waiting for the future")
    value = await future
    print(f"{name}: got {value!r}")


async def main():
    loop = asyncio.get_running_loop()
    answer = loop.create_future()
    print("done?", answer.done())
    readers = [asyncio.create_task(reader(name, answer), name=name) for name in ("reader-1", "reader-2", "reader-3")]
    loop.call_later(1, answer.set_result, 42)
    await asyncio.gather(*readers)
    print("done?", answer.done(), "- awaited again:", await answer)

    broken = loop.create_future()
    loop.call_later(0.5, broken.set_exception, ValueError("the data never came"))
    try:
        await broken
    except ValueError as exc:
        print("awaiting the failed future raised:", exc)


asyncio.run(main())
