import asyncio
import queue
import socket
import threading
import time


async def nap():
    time.sleep(0.2)


async def crunch():
    total = 0
    for i in range(3_000_000):
        total += i


async def wait_for_event():
    threading.Event().wait(0.3)


async def wait_for_queue():
    try:
        queue.Queue().get(timeout=0.3)
    except queue.Empty:
        pass


async def wait_for_socket():
    mine, theirs = socket.socketpair()
    mine.settimeout(0.3)
    try:
        mine.recv(10)
    except TimeoutError:
        pass


async def main():
    for step in (nap, crunch, wait_for_event, wait_for_queue, wait_for_socket):
        await asyncio.create_task(step())


asyncio.run(main())
