"""The program's world: a program reads its own source file, as it can at home."""

import asyncio
import inspect
import linecache
import os


async def count_lines():
    with open(__file__, encoding="utf-8") as source:
        return sum(1 for _ in source)


async def main():
    lines = await count_lines()
    print("my first line:", open(__file__).readline().strip())
    print("lines in my file:", lines)
    print("__file__ is absolute:", os.path.isabs(__file__), "named", os.path.basename(__file__))
    print("it is a file:", os.path.isfile(__file__))
    print("inspect finds my source:", inspect.getsource(count_lines).splitlines()[0])
    print("linecache too:", linecache.getline(__file__, 1).strip())
    print("done main")


asyncio.run(main())
