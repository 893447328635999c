"""Headless rendering and the big ladder, timed; prints seconds.

Run: ``python3 tests/bench/bench_render.py``.  Targets (issue 5):

* ``routelab render`` of a 10-proxy scenario to PNG, interpreter start-up included (a fresh
  process, no display): under 2 s;
* the ladder of 1,000 messages between 50 elements builds in under 1 s (and scrolling
  repaints a frame well inside 16 ms).
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.scenario import dumps
from engine.simulate import simulate
from engine.trace import Trace
from tests.bench.bench_simulate import build_scenario

ROOT = Path(__file__).resolve().parents[2]


def ten_proxy_scenario_text() -> str:
    """Alice -> P1 .. P10 -> Bob with a few in-dialog requests, as scenario file text."""
    return dumps(build_scenario(10, 4))


@functools.cache
def big_trace() -> Trace:
    """A trace of more than 1,000 messages between 50 elements (48 proxies in a chain)."""
    return simulate(build_scenario(48, 18))


def render_once(scenario: Path, out: Path) -> float:
    """Seconds for ``routelab render SCENARIO -o OUT.png`` in a fresh process without display."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)  # the command must choose offscreen by itself
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gui.cli", "render", str(scenario), "-o", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def ladder_figures() -> tuple[int, int, float, float]:
    """(messages, elements, build seconds, seconds per scrolled frame) for the big ladder."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gui.ladder import LadderScene, LadderView
    from gui.render import ensure_app

    app = ensure_app()
    trace = big_trace()
    order = list(dict.fromkeys(s.element for s in trace.steps))
    start = time.perf_counter()
    scene = LadderScene()
    scene.set_trace(trace, order)
    build = time.perf_counter() - start
    view = LadderView(scene)
    view.resize(1200, 800)
    view.show()
    app.processEvents()
    bar = view.verticalScrollBar()
    frames = 100
    start = time.perf_counter()
    for i in range(frames):
        bar.setValue(i * bar.maximum() // frames)
        view.viewport().repaint()
    frame = (time.perf_counter() - start) / frames
    view.close()
    return len(trace.steps), len(order), build, frame


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "ten-proxies.json"
        scenario.write_text(ten_proxy_scenario_text(), encoding="utf-8")
        runs = [render_once(scenario, Path(tmp) / f"out{i}.png") for i in range(5)]
    print(
        f"render 10-proxy scenario to PNG (fresh process, start-up included): median "
        f"{statistics.median(runs):.3f} s (runs: {', '.join(f'{r:.3f}' for r in runs)})"
    )
    messages, elements, build, frame = ladder_figures()
    print(f"ladder build, {messages} messages x {elements} elements: {build:.4f} s")
    print(f"ladder scroll, full repaint per frame: {frame * 1000:.1f} ms")


if __name__ == "__main__":
    main()
