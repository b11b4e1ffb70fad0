import asyncio


async def spin():
    count = 0
    while True:
        count += 1


async def main():
    asyncio.create_task(spin(), name="spinner")
    await asyncio.sleep(1)
    print("never printed")


asyncio.run(main())
