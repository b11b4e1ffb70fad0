import asyncio


async def slow(name, delay):
    try:
        await asyncio.sleep(delay)
        print("done", name)
        return name
    except asyncio.CancelledError:
        print("cancelled", name)
        raise


async def main():
    try:
        async with asyncio.timeout(0.1):
            await slow("inner", 1)
    except TimeoutError:
        print("timeout block expired")
    try:
        await asyncio.wait_for(slow("waited", 1), timeout=0.2)
    except TimeoutError:
        print("wait_for expired")
    print(await asyncio.wait_for(slow("quick", 0.05), timeout=1))
    done, pending = await asyncio.wait(
        [asyncio.create_task(slow(f"p{i}", 0.1 * (3 - i)), name=f"p{i}") for i in range(3)],
        return_when=asyncio.FIRST_COMPLETED,
    )
    print("first:", [t.get_name() for t in done])
    await asyncio.gather(*pending)
    print("done main")

asyncio.run(main())
