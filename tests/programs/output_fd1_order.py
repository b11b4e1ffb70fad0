"""Output in its place: what is written straight to file descriptor 1 (os.write, sys.__stdout__, a
file opened on descriptor 1, under contextlib.redirect_stdout too) is printed where it was written,
among the prints before and after it. (Each print is flushed before a write to descriptor 1: a plain
run whose stdout is a pipe would hold it in its buffer otherwise.)"""

import asyncio
import contextlib
import io
import os
import sys

fd1 = open(1, "w", closefd=False)


async def writer(name, rounds):
    for n in range(rounds):
        print(f"{name} print {n}", flush=True)
        os.write(1, f"{name} os.write {n}\n".encode())
        sys.__stdout__.write(f"{name} sys.__stdout__ {n}\n")
        sys.__stdout__.flush()
        caught = io.StringIO()
        with contextlib.redirect_stdout(caught):
            print("caught, never shown")
            os.write(1, f"{name} os.write under redirect_stdout {n}\n".encode())
        fd1.write(f"{name} open(1) {n}\n")
        fd1.flush()
        sys.stdout.buffer.write(f"{name} buffer {n}\n".encode())
        print(f"{name} caught {caught.getvalue()!r}", flush=True)
        await asyncio.sleep(0)
    print("done", name, flush=True)


async def main():
    await asyncio.gather(writer("a", 30), writer("b", 20))
    os.write(1, b"the last os.write\n")


asyncio.run(main())
print("after asyncio.run", flush=True)
os.write(1, b"written at the very end\n")
