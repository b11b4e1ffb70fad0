# compare: stdout and stderr
"""An object handed to a timer that is cancelled goes when the program drops it, future or not."""

import asyncio
import gc
import weakref


def report(what):
    print("timer fired for", what)


class Token:
    pass


async def main():
    loop = asyncio.get_running_loop()
    future, token = loop.create_future(), Token()
    refs = [weakref.ref(future), weakref.ref(token)]
    for thing in (future, token):
        loop.call_later(5, report, thing).cancel()
    del future, token, thing
    gc.collect()
    print("collected:", [ref() is None for ref in refs])
    await asyncio.sleep(0)
    print("done main")


asyncio.run(main())
