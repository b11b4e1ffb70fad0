# compare: stdout and stderr
"""Objects that fight being described: messages that are not strings, or raise, or run to
megabytes; reprs that raise or are huge (the program's own, or a built-in container's of
megabytes); callables and arguments whose attributes raise; code whose module is named by a
number; an exception handler's context that is not asyncio's. Each is the program's business,
as in a plain run: every task still finishes, and what it prints is all that shows."""

import asyncio
import functools
import types


class NotAString(Exception):
    def __str__(self):
        return 42


class RaisingStr(Exception):
    def __str__(self):
        raise RuntimeError("no str")


class HugeStr(Exception):
    def __str__(self):
        return "y" * 5_000_000


class RaisingRepr:
    def __repr__(self):
        raise ValueError("no repr")


class HugeRepr:
    def __repr__(self):
        return "x" * 5_000_000


class NoAttributes:
    """Every attribute asked for raises, even the class."""

    def __call__(self, *args):
        print("called", len(args))

    def __getattribute__(self, name):
        if name == "__call__":
            return object.__getattribute__(self, name)
        raise RuntimeError(f"no {name}")


class Unhashable(Exception):
    __hash__ = None

    def __eq__(self, other):
        raise RuntimeError("no eq")


async def fails(exception):
    raise exception


async def returns(value):
    await asyncio.sleep(0)
    return value


async def sleeps():
    await asyncio.sleep(1)


async def main():
    loop = asyncio.get_running_loop()
    for exception in (NotAString(), RaisingStr(), HugeStr(), Unhashable()):
        try:
            await asyncio.create_task(fails(exception))
        except Exception as caught:
            print("done", type(caught).__name__)
    big = (list(range(2_000_000)), bytes(30_000_000), "'" * 10_000_000, {n: [n] for n in range(500_000)})
    for value in (RaisingRepr(), HugeRepr(), [HugeRepr()] * 3, {"key": RaisingRepr()}, *big):
        task = asyncio.create_task(returns(value))
        result = await task
        print("returned", type(result).__name__, task.done())
    queue = asyncio.Queue()
    for value in big:
        await queue.put(value)
        print("through a queue", type(await queue.get()).__name__)
    future = loop.create_future()
    loop.call_soon(future.set_exception, RaisingStr())
    try:
        await future
    except RaisingStr:
        print("future raised")
    odd = NoAttributes()
    loop.call_soon(odd)
    loop.call_soon(odd, odd, odd)
    loop.call_soon(functools.partial(odd, 1))
    loop.call_later(0.01, odd, odd)
    loop.call_soon(types.MethodType(odd, asyncio.current_task()))  # a task's "method" that asks for names
    await asyncio.sleep(0.02)
    await loop.run_in_executor(None, odd)
    await asyncio.to_thread(odd, odd)
    for message in (HugeStr(), RaisingRepr(), odd):
        task = asyncio.create_task(sleeps())
        await asyncio.sleep(0)
        task.cancel(message)
        try:
            await task
        except asyncio.CancelledError:
            print("cancelled", task.cancelled())
    # code run with globals of its own, named by something that is not a string
    namespace = {"__name__": 42, "asyncio": asyncio}
    exec("async def elsewhere():\n    await asyncio.sleep(0)\n    return 'back'\n", namespace)
    print("exec'd", await asyncio.create_task(namespace["elsewhere"]()))
    loop.set_exception_handler(lambda loop, context: print("handled", sorted(context)))
    loop.call_exception_handler({"message": HugeStr(), "exception": HugeStr(), "task": odd, "future": odd})
    print("end")


asyncio.run(main())
