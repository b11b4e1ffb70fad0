"""What a program prints about the loop's own objects, and bytes it writes to stdout."""

import asyncio
import faulthandler
import sys


async def main():
    sys.stdout.reconfigure(line_buffering=True)
    print(sys.stdout.name, sys.stderr.name, sys.stdout.encoding)
    faulthandler.enable()  # (it asks sys.stderr for its file descriptor)
    print(sys.stdout.fileno(), sys.stderr.fileno(), sys.stdout.buffer.fileno())
    loop = asyncio.get_running_loop()
    print(loop)
    print(type(loop), type(asyncio.current_task()))
    handle = loop.call_soon(print, "called soon")
    timer = loop.call_later(1, print, "never")
    print(handle, type(handle), type(timer))
    timer.cancel()
    await asyncio.sleep(0)
    sys.stdout.flush()  # (text waits in its own buffer, above the bytes one, until flushed)
    sys.stdout.buffer.write("bytes: caf\u00e9".encode()[:-1])
    sys.stdout.buffer.write("bytes: caf\u00e9\n".encode()[-2:])
    sys.stdout.buffer.flush()


asyncio.run(main())
