"""Engine benchmarks: tracer overhead, sandbox start latency, event throughput.

    python bench/engine.py [--quick]

Prints numbers and ratios; it asserts nothing (this machine is shared and noisy).
Targets from the engine issue: overhead <= 3x, start latency <= 1.3x of a bare
`python -c "import asyncio"`. When valgrind is installed it also counts the CPU
instructions per callback, plain and traced: unlike times, those are the same
from run to run, so they show whether a change to the tracer made it cheaper.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import catalog, sandbox  # noqa: E402
from server.events import wire  # noqa: E402
from server.runner import Options, Program, Run  # noqa: E402

WORKLOAD = """
import asyncio, time

async def worker(steps):
    for _ in range(steps):
        await asyncio.sleep(0)

async def main(tasks, steps):
    start = time.perf_counter()
    await asyncio.gather(*(worker(steps) for _ in range(tasks)))
    return time.perf_counter() - start

print(asyncio.run(main(TASKS, STEPS)))
"""


def plain_seconds(source):
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True)
    return float(done.stdout)


def traced_seconds(source):
    """The same program under the tracer (no sandbox: this measures the tracer alone), events to a pipe."""
    config = json.dumps({"source": source, "filename": "bench.py", "target": "bench", "clock": "real"})
    done = subprocess.run([sys.executable, "-S", "-B", "-c", sandbox.bootstrap(str(ROOT))], input=config.encode(),
                          capture_output=True, check=True)
    trace = wire.Decoder().feed(done.stdout)
    printed = [event["text"] for event in trace if event["kind"] == "stdout"]
    return float(printed[0]), len(trace)


def overhead(repeats):
    """The same ~100k callbacks spread over many tasks and over few: each callback's tracer work
    touches its task's own objects too, and with many tasks those are further from the CPU."""
    for tasks, steps in ((1000, 100), (100, 1000)):
        source = WORKLOAD.replace("TASKS", str(tasks)).replace("STEPS", str(steps))
        plain, traced = [], []
        for _ in range(repeats):  # interleaved, so that a busy spell of this shared machine hits both
            plain.append(plain_seconds(source))
            traced.append(traced_seconds(source))
        callbacks = tasks * (steps + 1)
        best_plain, best = min(plain), min(t for t, _ in traced)
        ratios = sorted(t / p for (t, _), p in zip(traced, plain))
        print(f"tracer overhead, {tasks} tasks x {steps} steps: {callbacks:,} callbacks; plain "
              f"{best_plain * 1000:.0f} ms ({callbacks / best_plain:,.0f}/s), traced {best * 1000:.0f} ms "
              f"({callbacks / best:,.0f}/s, {traced[0][1]:,} events): {best / best_plain:.2f}x best to best, "
              f"{ratios[len(ratios) // 2]:.2f}x median of pairs (target <= 3x)")


def overhead_at_the_cap(repeats):
    """What a real run can cost: about the 50,000 events a run may send (Limits.events), as
    125 tasks x 100 steps. The ~100k-callback lines above are twice that, and cheaper per
    callback once the interpreter is warm: the cap is where a tuning has to pay."""
    tasks, steps = 125, 100
    source = WORKLOAD.replace("TASKS", str(tasks)).replace("STEPS", str(steps))
    plain, traced = [], []
    for _ in range(repeats):
        plain.append(plain_seconds(source))
        traced.append(traced_seconds(source))
    best_plain, best = min(plain), min(t for t, _ in traced)
    ratios = sorted(t / p for (t, _), p in zip(traced, plain))
    print(f"tracer overhead at the event cap, {tasks} tasks x {steps} steps ({traced[0][1]:,} events, cap "
          f"{sandbox.Limits().events:,}): plain {best_plain * 1000:.1f} ms, traced {best * 1000:.1f} ms: "
          f"{best / best_plain:.2f}x best to best, {ratios[len(ratios) // 2]:.2f}x median of pairs")


def _instructions(argv, stdin=None):
    """CPU instructions the command executes, counted by valgrind."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                          input=None if stdin is None else stdin.encode(), capture_output=True, check=True)
    return int(done.stderr.decode().rpartition("Collected : ")[2].split()[0])


def instructions_per_callback():
    """Instructions per callback, plain and traced: the workload's minus the same program's with no steps."""
    if shutil.which("valgrind") is None:
        print("instructions per callback: skipped (valgrind is not installed)")
        return
    python = os.path.realpath(sys.executable)  # valgrind must run the interpreter itself, not a wrapper
    counts = {}
    for steps in (0, 100):
        source = WORKLOAD.replace("TASKS", "100").replace("STEPS", str(steps))
        config = json.dumps({"source": source, "filename": "bench.py", "target": "bench", "clock": "real"})
        counts["plain", steps] = _instructions([python, "-c", source])
        counts["traced", steps] = _instructions([python, "-S", "-B", "-c", sandbox.bootstrap(str(ROOT))], stdin=config)
    callbacks = 100 * 100
    plain = (counts["plain", 100] - counts["plain", 0]) / callbacks
    traced = (counts["traced", 100] - counts["traced", 0]) / callbacks
    print(f"instructions per callback (valgrind, 10,000 callbacks): plain {plain:,.0f}, traced {traced:,.0f}: "
          f"{traced / plain:.2f}x")


def first_event_latency(repeats):
    support = sandbox.detect()
    bare, sandboxed = [], []
    program = Program("pass\n", "main.py", "main.py")
    for _ in range(repeats):  # interleaved, so that a busy spell of this shared machine hits both
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import asyncio"], check=True)
        bare.append(time.perf_counter() - start)
        run = Run(program, Options(), support=support)
        start = time.perf_counter()
        events = run.events()
        next(events)
        sandboxed.append(time.perf_counter() - start)
        events.close()
    b, s = statistics.median(bare), statistics.median(sandboxed)
    print(f"start to first event: sandboxed {s * 1000:.1f} ms vs bare python -c 'import asyncio' "
          f"{b * 1000:.1f} ms: {s / b:.2f}x (target <= 1.3x) [{support.describe()}]")


def throughput(repeats):
    scenario = catalog.get("stress")
    program = Program(scenario.source(), scenario.filename, scenario.id, trusted=True)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = sum(1 for _ in Run(program, Options()).events())
        rates.append(count / (time.perf_counter() - start))
    print(f"events through the pipe (stress scenario, sandboxed, checked by the runner): "
          f"{count:,} events, {max(rates):,.0f} events/s")


if __name__ == "__main__":
    repeats = 2 if "--quick" in sys.argv else 5
    overhead(repeats)
    overhead_at_the_cap(repeats * 2)
    instructions_per_callback()
    first_event_latency(repeats * 4)
    throughput(repeats)
