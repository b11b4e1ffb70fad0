"""gather() and TaskGroup: running several awaitables together

`asyncio.gather()` runs its awaitables concurrently and returns their results
in the order they were given, not the order they finished. If one fails, the
error reaches you, but the others keep running unless you cancel them;
`return_exceptions=True` turns failures into values in the result list.

`asyncio.TaskGroup` (Python 3.11+) is the structured way: tasks created in the
`async with` block all finish before the block ends, and if one fails the group
cancels the rest and raises every error together as an `ExceptionGroup`.
"""
import asyncio
import time


async def job(name, seconds, fail=False):
    await asyncio.sleep(seconds)  # blocking: time.sleep(seconds)
    if fail:
        raise ValueError(f"{name} failed")
    print(f"{name}: done")
    return name


async def main():
    print("gather:", await asyncio.gather(job("a", 1), job("b", 0.5)))
    results = await asyncio.gather(job("c", 1), job("broken", 0.5, fail=True), return_exceptions=True)
    print("gather, return_exceptions=True:", results)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(job("d", 1), name="d")
            group.create_task(job("broken", 0.5, fail=True), name="broken")
    except* ValueError as failures:
        print("TaskGroup cancelled the others and raised:", [str(e) for e in failures.exceptions])


asyncio.run(main())
