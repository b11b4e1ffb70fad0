"""The end of a program: SystemExit raised in a task leaves asyncio.run(); the tasks still pending are
cancelled as asyncio.run() always does, atexit handlers run, and sys.exit('text') prints the text on
stderr and ends with status 1."""

import asyncio
import atexit

atexit.register(print, "atexit handler")


async def waiter():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("waiter cancelled")
        raise


async def main():
    asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    print("exiting from a task", flush=True)
    raise SystemExit("bye")


try:
    asyncio.run(main())
finally:
    print("finally after asyncio.run")
