"""The parent's event path, measured against the raw pipe in one run: what the runner, a WebSocket
client and the CLI get of the events the sandboxed child writes.

    python bench/path.py

Prints numbers and ratios (issue #16's targets: >= 150,000 events/s to a WebSocket client; a CLI
trace of a 20,000-event program <= 2x a plain run of it); asserts nothing (the machine is shared
and noisy: each figure is the median of a few interleaved repeats).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import orjson  # noqa: E402

from server import sandbox  # noqa: E402
from server.events import wire  # noqa: E402
from server.runner import Options, Program, Run  # noqa: E402
from server.sandbox import Limits  # noqa: E402
from server.spares import SparePool  # noqa: E402
from servers import LiveServer  # noqa: E402

WS_TARGET = 150_000  # events/s to a WebSocket client
CLI_TARGET = 2.0  # a CLI trace's wall time, as a multiple of a plain run's


def steps_program(tasks, steps=3):
    """A program of `tasks` tasks of `steps` steps each (about 20 events per task of 3 steps)."""
    return (f"import asyncio\n\nasync def job():\n    for _ in range({steps}):\n        await asyncio.sleep(0)\n\n"
            f"async def main():\n    await asyncio.gather(*(job() for _ in range({tasks})))\n    print('done')\n\n"
            "asyncio.run(main())\n")


def raw_pipe(program, spares=None):
    """(events, seconds) from the child's start (or, with `spares`, from taking a child started
    ahead, as a server with spares does) until its pipe closes, nothing decoded meanwhile."""
    if spares is not None:
        while not spares.ready():  # (the bench waits for its spare: a server's would be there already)
            time.sleep(0.01)
    run = Run(program, Options(), spares=spares)
    start = time.perf_counter()
    run._start()  # (the bench looks inside: the runner has no public "bytes only" mode)
    chunks, fd = [], run._process.stdout.fileno()
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    seconds = time.perf_counter() - start
    run._kill()
    return len(wire.Decoder().feed(b"".join(chunks))), seconds


def runner(program):
    start = time.perf_counter()
    count = sum(1 for _ in Run(program, Options()).events())
    return count, time.perf_counter() - start


def websocket(live, source):
    connection = live.client()
    start = time.perf_counter()
    events, _ = connection.run(code=source)
    seconds = time.perf_counter() - start
    connection.close()
    assert events[-1]["status"] == "ok", events[-1]
    return len(events), seconds


def cpu_seconds(pid):
    """User and system CPU time of process `pid` so far (its threads', not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def websocket_lean(live, source, cpu=None, deflate=False):
    """As `websocket`, its messages parsed by orjson, not the json module (which took the
    client as long as the server took to decode: here both share the machine's 2 cores).
    `cpu`, a list, gets (the server's, this client's) CPU seconds for the run. With `deflate`
    the client offers permessage-deflate, as browsers do: the server then compresses."""
    connection = live.client(deflate=deflate)
    server_before, client_before = cpu_seconds(live.process.pid), time.process_time()
    start = time.perf_counter()
    connection.send({"op": "run", "code": source})
    count = 0
    while True:
        message = orjson.loads(connection.ws.receive(timeout=60))
        if message["type"] == "events":
            count += len(message["events"])
        elif message["type"] == "error" or message.get("state") == "finished":
            break
    seconds = time.perf_counter() - start
    if cpu is not None:
        cpu.append((cpu_seconds(live.process.pid) - server_before, time.process_time() - client_before))
    connection.close()
    assert message.get("status") == "ok", message
    return count, seconds


def wall(argv):
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def rate(samples):
    return statistics.median(count / seconds for count, seconds in samples)


def main(repeats=5):
    big = steps_program(2200)  # ~44,000 events: near the run's cap of 50,000
    program = Program(big, "main.py", "main.py", trusted=True)
    # Without spares every run starts its own child (so the pipe's rate, start included, bounds it);
    # with the server's default of 2, as a server runs, a run starts from a child started ahead.
    live, spared = LiveServer(), LiveServer("--spares", "2")
    pool = SparePool(1, sandbox.detect(), Limits(), program.filename)
    try:
        raw, raw_spared, parent, ws, ws_spared, cpu, ws_deflate, cpu_deflate = [], [], [], [], [], [], [], []
        for _ in range(repeats):  # interleaved, so that a busy spell of this shared machine hits each
            raw.append(raw_pipe(program))
            raw_spared.append(raw_pipe(program, pool))
            parent.append(runner(program))
            ws.append(websocket(live, big))
            ws_spared.append(websocket_lean(spared, big, cpu))
            ws_deflate.append(websocket_lean(spared, big, cpu_deflate, deflate=True))
    finally:
        pool.close()
        live.stop()
        spared.stop()
    events = raw[0][0]
    pipe_rate, runner_rate, ws_rate, spared_rate = rate(raw), rate(parent), rate(ws), rate(ws_spared)
    pipe_spared = rate(raw_spared)
    print(f"raw pipe (child start to pipe closed, nothing decoded): {events:,} events, {pipe_rate:,.0f} events/s")
    print(f"raw pipe from a spare (a child started ahead, as a server's): {pipe_spared:,.0f} events/s, "
          f"{pipe_spared / WS_TARGET:.2f}x the WebSocket target (the most any client could get of this child)")
    print(f"runner (decoded, checked, numbered): {runner_rate:,.0f} events/s, {runner_rate / pipe_rate:.2f}x the pipe")
    print(f"to a WebSocket client (run request to finished status): {ws_rate:,.0f} events/s, "
          f"{ws_rate / pipe_rate:.2f}x the pipe, {ws_rate / WS_TARGET:.2f}x the target of {WS_TARGET:,}/s")
    print(f"to a WebSocket client parsing with orjson, the server's default 2 spares: {spared_rate:,.0f} events/s, "
          f"{spared_rate / pipe_spared:.2f}x the pipe from a spare, {spared_rate / WS_TARGET:.2f}x the target")
    server_cpu, client_cpu = (statistics.median(c[i] for c in cpu) * 1e6 / events for i in (0, 1))
    child_cpu = 1e6 / pipe_spared  # (the child computes all the while it writes: about one core's time)
    print(f"  CPU per event: the child ~{child_cpu:.1f} us, the server {server_cpu:.1f} us (decoding, batching, "
          f"sending), this client {client_cpu:.1f} us: on {os.cpu_count()} cores at most "
          f"{os.cpu_count() * 1e6 / (child_cpu + server_cpu + client_cpu):,.0f} events/s with all three on this machine")
    deflate_rate = rate(ws_deflate)
    server_deflate = statistics.median(c[0] for c in cpu_deflate) * 1e6 / events
    print(f"to a WebSocket client that offers compression (permessage-deflate), as browsers do: {deflate_rate:,.0f} "
          f"events/s, {deflate_rate / pipe_spared:.2f}x the pipe from a spare, {deflate_rate / WS_TARGET:.2f}x the target "
          f"(the server's CPU per event {server_deflate:.1f} us, compressing included)")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "twenty_thousand.py"
        path.write_text(steps_program(1000))
        plain, traced = [], []
        for _ in range(repeats):
            plain.append(wall([sys.executable, str(path)]))
            traced.append(wall([sys.executable, "-m", "server.trace", str(path)]))
    p, t = statistics.median(plain), statistics.median(traced)
    print(f"CLI trace of a 20,000-event program: plain {p * 1000:.0f} ms, traced {t * 1000:.0f} ms: {t / p:.2f}x "
          f"(target <= {CLI_TARGET:g}x: {t / p / CLI_TARGET:.2f} of it)")


if __name__ == "__main__":
    main()
