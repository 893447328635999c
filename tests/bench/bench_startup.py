"""Cold start of ``routelab`` to a painted window, measured from outside the process.

Run: ``python3 tests/bench/bench_startup.py`` (offscreen). Prints the median of 5 runs.
Target (issue 4): under 1.5 s on this machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_run() -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ROUTELAB_EXIT_AFTER_PAINT="1")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gui.cli import main; sys.exit(main([]))"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("painted"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError("the app never reported a painted window")
    proc.wait(timeout=30)
    return elapsed


def main() -> None:
    runs = [one_run() for _ in range(5)]
    print(
        f"cold start to painted window: median {statistics.median(runs):.3f} s "
        f"(runs: {', '.join(f'{r:.3f}' for r in runs)})"
    )


if __name__ == "__main__":
    main()
