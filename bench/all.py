"""Every benchmark, one after another, under a header naming the date and the machine:

    python bench/all.py [--quick]

Each figure is printed with its ratio against its limit, both measured in the same run (see each
script's docstring). The README's benchmark section is made from this output. Nothing is
asserted: the machine may be shared and noisy (the load average before and after is printed).
"""

import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = [  # (script, its arguments when --quick)
    ("engine.py", ["--quick"]),
    ("path.py", []),
    ("server.py", []),
    ("page.py", []),
]


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory = next((int(line.split()[1]) // 2**20 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {memory} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def load():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def against_a_limit(line):
    """Whether an output line states a figure against its target (each script words them so)."""
    if "no target" in line:
        return False
    return "target" in line or re.search(r" = \d+(\.\d+)?x", line) is not None


def main(argv):
    quick = "--quick" in argv
    print(f"# Loopscope benchmarks, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {machine()}")
    print(f"# load average before: {load()}", flush=True)
    targets = []
    for script, quick_args in BENCHES:
        print(f"\n## bench/{script}", flush=True)
        done = subprocess.Popen([sys.executable, str(ROOT / "bench" / script), *(quick_args if quick else [])],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for line in done.stdout:  # (shown as it comes: a script may run for minutes)
            print(line, end="", flush=True)
            if against_a_limit(line):
                targets.append(f"{script}: {line.strip()}")
        if done.wait():
            print(f"(bench/{script} failed with exit status {done.returncode})")
            targets.append(f"{script}: failed with exit status {done.returncode}")
    print(f"\n# load average after: {load()}")
    print("\n## Every figure against its limit (1.00x or less, or 'of the target' 1.00 or less, meets it)")
    for line in targets:
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
