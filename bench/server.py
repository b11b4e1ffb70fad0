"""Server benchmarks over real WebSockets: first-event latency, event throughput, 50 clients at once.

    python bench/server.py

Starts its own server on a free port (loopback only) and stops it at the end.
Prints numbers; asserts nothing (the machine is shared and noisy).
"""

import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from servers import LiveServer  # noqa: E402


def first_event_latency(live, runs=30):
    connection = live.client()
    latencies = []
    for _ in range(runs):
        start = time.perf_counter()
        connection.send({"op": "run", "scenario": "sequential"})
        connection.until(lambda m: m["type"] == "events")
        latencies.append(time.perf_counter() - start)
        connection.until(lambda m: m.get("state") == "finished")
    connection.close()
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"run to first event over /ws: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms ({runs} runs)")


def throughput(live):
    connection = live.client()
    start = time.perf_counter()
    events, _ = connection.run(scenario="stress")
    seconds = time.perf_counter() - start
    connection.close()
    print(f"events reaching a WebSocket client: {len(events):,} in {seconds * 1000:.0f} ms, "
          f"{len(events) / seconds:,.0f} events/s (stress scenario)")


def many_clients(live, count=50):
    statuses = []

    def one():
        connection = live.client()
        events, _ = connection.run(scenario="tasks")
        statuses.append(events[-1]["status"])
        connection.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    print(f"{count} simultaneous clients running 'tasks': all finished in {seconds:.2f} s "
          f"({statuses.count('ok')} ok)")


if __name__ == "__main__":
    live = LiveServer()
    try:
        first_event_latency(live)
        throughput(live)
        many_clients(live)
    finally:
        live.stop()
