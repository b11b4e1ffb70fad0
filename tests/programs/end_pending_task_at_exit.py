# compare: stdout and stderr
# A task still pending when the program ends, held by a global only: the interpreter's shutdown
# clears the module, the task is destroyed (the loop says so) and its coroutine's finally runs.
import asyncio

async def forever():
    try:
        await asyncio.sleep(100)
    finally:
        print("finally at exit")

loop = asyncio.new_event_loop()
task = loop.create_task(forever())
loop.run_until_complete(asyncio.sleep(0.01))
print("leaving with a pending task")
