import asyncio


async def handle(reader, writer):
    while data := await reader.readline():
        writer.write(data.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def client(name, port, lines):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for line in lines:
        writer.write(f"{name}: {line}\n".encode())
        await writer.drain()
        print((await reader.readline()).decode().strip())
    writer.close()
    await writer.wait_closed()
    print("done", name)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await asyncio.gather(
            asyncio.create_task(client("alice", port, ["hi", "bye"]), name="alice"),
        )
        await asyncio.create_task(client("bob", port, ["one", "two", "three"]), name="bob")
    print("done main")

asyncio.run(main())
