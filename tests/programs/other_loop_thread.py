import asyncio
import threading


async def compute(x):
    await asyncio.sleep(0.05)
    return x * 2


def run_loop(loop):
    asyncio.set_event_loop(loop)
    loop.run_forever()


loop = asyncio.new_event_loop()
thread = threading.Thread(target=run_loop, args=(loop,), daemon=True)
thread.start()
for i in range(3):
    print("result", asyncio.run_coroutine_threadsafe(compute(i), loop).result())
loop.call_soon_threadsafe(loop.stop)
thread.join()
loop.close()
print("done main")
