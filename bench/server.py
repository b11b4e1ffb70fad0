"""Server benchmarks over real WebSockets: first-event latency (with and without spares), event
throughput, a classroom of 60 clients pressing Run within a second.

    python bench/server.py

Starts its own server on a free port (loopback only) and stops it at the end.
Prints numbers; asserts nothing (the machine is shared and noisy).
"""

import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from servers import LiveServer, wait_until  # noqa: E402


def first_event_latency(cold, warm, runs=30):
    """Run request to first event over /ws on an idle server, without spares (`cold`) and with them
    (`warm`: each request waits until its spares are ready), beside a bare interpreter's start."""
    connections = {cold: cold.client(), warm: warm.client()}
    latencies = {cold: [], warm: []}
    bare = []
    for _ in range(runs):  # interleaved, so that a busy spell of this shared machine hits each
        for live, connection in connections.items():
            while live.get("/api/health")[1]["spares"]["ready"] < live.get("/api/health")[1]["spares"]["size"]:
                time.sleep(0.01)
            start = time.perf_counter()
            connection.send({"op": "run", "scenario": "sequential"})
            connection.until(lambda m: m["type"] == "events")
            latencies[live].append(time.perf_counter() - start)
            connection.until(lambda m: m.get("state") == "finished")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import asyncio"], check=True)
        bare.append(time.perf_counter() - start)
    for connection in connections.values():
        connection.close()

    def p50(values):
        return statistics.median(values) * 1000

    def p95(values):
        return sorted(values)[int(len(values) * 0.95) - 1] * 1000

    print(f"run to first event over /ws, idle server ({runs} runs each): without spares p50 {p50(latencies[cold]):.1f} ms "
          f"(p95 {p95(latencies[cold]):.1f}); with spares p50 {p50(latencies[warm]):.1f} ms (p95 {p95(latencies[warm]):.1f}): "
          f"{p50(latencies[warm]) / 25:.2f} of the 25 ms target, {p50(latencies[warm]) / p50(bare):.2f}x a bare "
          f"python -c 'import asyncio' ({p50(bare):.1f} ms)")


def throughput(live):
    connection = live.client()
    start = time.perf_counter()
    events, _ = connection.run(scenario="stress")
    seconds = time.perf_counter() - start
    connection.close()
    print(f"events reaching a WebSocket client: {len(events):,} in {seconds * 1000:.0f} ms, "
          f"{len(events) / seconds:,.0f} events/s (stress scenario)")


OWN_CODE = ("import asyncio\n\nasync def worker(n):\n    await asyncio.sleep(0.1 * n)\n    print('done', n)\n\n"
            "async def main():\n    await asyncio.gather(*(worker(n) for n in range(5)))\n\nasyncio.run(main())\n")


def classroom(live, label, count=60, target_p95=1.5):
    """`count` clients pressing Run within one second (the `tasks` scenario, then own code): all
    finish; each one's time from its request to its first event, p50 and p95 against the target;
    and how long the page's own files took to come meanwhile (another page staying responsive).
    Each round starts once the server's spares are all ready (a room that presses Run together
    after a while of reading, not twice within a second)."""
    health = live.get("/api/health")[1]
    spares = health["spares"]["size"]
    label = f"{label}: {health['runs']['max_running']} runs at once, {spares} spares"
    for what, request in (("the 'tasks' scenario", {"scenario": "tasks"}), ("own code", {"code": OWN_CODE})):
        wait_until(lambda: live.get("/api/health")[1]["spares"]["ready"] >= spares, 120)
        firsts, statuses, pages = [], [], []
        connections = [live.client() for _ in range(count)]
        barrier = threading.Barrier(count + 1)
        over = threading.Event()

        def one(connection, offset):
            barrier.wait()
            time.sleep(offset)  # (spread over the second, as a room's clicks are)
            start = time.perf_counter()
            connection.send({"op": "run", **request})
            messages = connection.until(lambda m: m["type"] == "events" or m["type"] == "error", timeout=120)
            firsts.append(time.perf_counter() - start)
            if messages[-1]["type"] == "events":
                messages = connection.until(lambda m: m.get("state") == "finished", timeout=120)
                statuses.append(messages[-1]["status"])
            else:
                statuses.append("refused")

        def another_page():
            barrier.wait()
            while not over.is_set():
                start = time.perf_counter()
                with urllib.request.urlopen(live.url + "/static/app.js", timeout=30) as response:
                    response.read()
                pages.append(time.perf_counter() - start)
                over.wait(0.05)

        threads = [threading.Thread(target=one, args=(c, i / count)) for i, c in enumerate(connections)]
        watcher = threading.Thread(target=another_page)
        start = time.perf_counter()
        for thread in threads + [watcher]:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - start
        over.set()
        watcher.join()
        for connection in connections:
            connection.close()
        firsts.sort()
        pages.sort()
        p95 = firsts[int(len(firsts) * 0.95) - 1]
        print(f"{count} clients pressing Run within a second ({what}; {label}): all done in {seconds:.2f} s "
              f"({statuses.count('ok')} ok); first event p50 {statistics.median(firsts) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms: {p95 / target_p95:.2f} of the {target_p95:g} s target; meanwhile the "
              f"page's app.js came in p95 {pages[int(len(pages) * 0.95) - 1] * 1000:.0f} ms ({len(pages)} loads)")


CLASSROOM = ("--max-runs", "64", "--spares", "60", "--max-memory", "256")  # (README "A classroom")


if __name__ == "__main__":
    live, cold = LiveServer("--spares", "2"), LiveServer("--spares", "0")
    try:
        first_event_latency(cold, live)
        throughput(live)
        classroom(live, "defaults")
    finally:
        live.stop()
        cold.stop()
    room = LiveServer(*CLASSROOM)
    try:
        classroom(room, " ".join(CLASSROOM))
    finally:
        room.stop()
