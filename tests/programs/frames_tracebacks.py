"""Frames and depth: the stacks and tracebacks a program looks at (traceback, inspect, print_stack,
logging, a KeyboardInterrupt out of run_forever) show the frames a plain run shows. (Paths differ from
machine to machine: only file names are printed.)"""

import asyncio
import inspect
import io
import logging
import re
import signal
import sys
import traceback


def short(text):
    return re.sub(r"(/[^\s\"'<>:]*/)?([\w.-]+\.py)", r"\2", text)


def where(frames):
    return [short(f"{filename}:{name}") for filename, _, name, _ in frames]


async def look_around():
    stack = io.StringIO()
    asyncio.current_task().print_stack(file=stack)
    print(short(stack.getvalue()))
    print("extract_stack:", where(traceback.extract_stack()))
    print("inspect.stack:", [info.function for info in inspect.stack()])
    print("get_stack:", [frame.f_code.co_name for frame in asyncio.current_task().get_stack()])
    print("get_stack(limit=2):", [frame.f_code.co_name for frame in asyncio.current_task().get_stack(limit=2)])
    try:
        1 / 0
    except ZeroDivisionError:
        print(short(traceback.format_exc()))
        print("inspect.trace:", [info.function for info in inspect.trace()])
        logging.exception("logged with its traceback")
        logging.warning("a stack", stack_info=True)


def fails():
    raise ValueError("a callback that fails")


def report(loop, context):
    print("exception handler:", short(context["message"]))
    print(short("".join(traceback.format_exception(context["exception"]))))


async def main():
    asyncio.get_running_loop().set_exception_handler(report)
    await asyncio.create_task(look_around())
    asyncio.get_running_loop().call_soon(fails)
    await asyncio.sleep(0.01)
    print("done main")


def interrupt():
    signal.raise_signal(signal.SIGINT)


logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(funcName)s: %(message)s")
logging.Formatter.formatStack = lambda self, stack: short(stack)
logging.Formatter.formatException = lambda self, info: short("".join(traceback.format_exception(*info)))
asyncio.run(main())
loop = asyncio.new_event_loop()
loop.call_soon(interrupt)
try:
    loop.run_forever()
except KeyboardInterrupt:
    print(short(traceback.format_exc()))
finally:
    loop.close()
print("done")
