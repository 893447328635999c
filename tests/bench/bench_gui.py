"""Responsiveness of the main window (issue 4, requirement 9), offscreen.

Run: ``python3 tests/bench/bench_gui.py``.  Prints the median time of one step
(``Next``: session, graph, timeline, inspector and ladder updates, then every
repaint Qt schedules for it, flushed with ``processEvents``) for 10 and 50
proxies, and of one composer edit (validate, re-simulate, rebuild the views,
repaint) for 10 proxies.  A second figure forces a full repaint of the graph,
inspector and timeline as a worst case.
Targets: step < 16 ms (10 proxies), < 50 ms (50 proxies); edit < 100 ms (10 proxies).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from engine.scenario import dumps
from gui.main_window import MainWindow
from tests.bench.bench_simulate import build_scenario


def make_window(proxies: int) -> MainWindow:
    """A shown main window with a chain of ``proxies`` proxies loaded."""
    settings = QSettings(
        str(Path(os.environ.get("TMPDIR", "/tmp")) / "routelab-bench.ini"),
        QSettings.Format.IniFormat,
    )
    window = MainWindow(settings=settings)
    window.resize(1440, 900)
    window.show()
    assert window.session.open_text(dumps(build_scenario(proxies, 10)))
    QApplication.processEvents()
    return window


def step_times(window: MainWindow, *, full_repaint: bool = False) -> list[float]:
    """Seconds for each Next over the whole trace, repaint included."""
    session = window.session
    session.first_step()
    QApplication.processEvents()
    times = []
    while True:
        start = time.perf_counter()
        if not session.next_step():
            break
        if full_repaint:
            window.view.viewport().repaint()
            window.inspector.repaint()
            window.timeline.viewport().repaint()
        QApplication.processEvents()
        times.append(time.perf_counter() - start)
    return times


def edit_times(window: MainWindow, rounds: int = 20) -> list[float]:
    """Seconds for a composer edit that re-simulates (toggle the title), repaint included."""
    composer = window.composer
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        composer._edit(("title",), f"Benchmark edit {i}")
        QApplication.processEvents()
        times.append(time.perf_counter() - start)
    window.session.undo_stack.setClean()
    return times


def main() -> None:
    app = QApplication.instance() or QApplication([])
    assert app is not None
    for proxies in (10, 50):
        window = make_window(proxies)
        for full in (False, True):
            steps = step_times(window, full_repaint=full)
            kind = "forced full repaint" if full else "repaints as scheduled"
            print(
                f"{proxies} proxies: {len(window.session.trace.steps)} steps, one step "
                f"({kind}) median {statistics.median(steps) * 1000:.2f} ms, p95 "
                f"{sorted(steps)[int(len(steps) * 0.95)] * 1000:.2f} ms"
            )
        if proxies == 10:
            edits = edit_times(window)
            print(
                f"{proxies} proxies: one edit (validate, simulate, redraw) median "
                f"{statistics.median(edits) * 1000:.2f} ms"
            )
        window.session.undo_stack.setClean()
        window.close()


if __name__ == "__main__":
    main()
