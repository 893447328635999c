"""``routelab render`` (headless exports from the command line) and ``routelab SCENARIO --step N``.

The render command must work without a display and never open a window; bad input gives one
``routelab: error:`` line and exit status 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import resources
from engine.scenario import loads
from engine.trace import from_jsonable
from gui.cli import main
from gui.main_window import MainWindow
from tests.bench.bench_render import ten_proxy_scenario_text

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = resources.list_scenarios()


def _headless_env() -> dict[str, str]:
    """The environment of a machine without a display, where nobody chose a Qt platform."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    return env


def _render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gui.cli", "render", *args],
        cwd=ROOT,
        env=_headless_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_render_works_without_a_display(tmp_path: Path) -> None:
    scenario = tmp_path / "ten-proxies.json"
    scenario.write_text(ten_proxy_scenario_text(), encoding="utf-8")
    png = tmp_path / "graph.png"
    done = _render(str(scenario), "--step", "3", "-o", str(png))
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(f"wrote the graph to {png}")
    assert "Traceback" not in done.stderr
    image = QImage(str(png))
    assert not image.isNull()
    assert image.width() > 1000  # 12 elements at scale 2
    svg = tmp_path / "ladder.svg"
    done = _render("tour", "--view", "ladder", "-o", str(svg))
    assert done.returncode == 0, done.stderr
    assert ET.parse(svg).getroot().tag.endswith("svg")


@pytest.mark.parametrize("name", LIBRARY)
def test_every_library_scenario_renders(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], qtbot: QtBot
) -> None:
    for view, out in (("graph", "g.png"), ("ladder", "l.png"), ("ladder", "l.svg")):
        assert main(["render", name, "--view", view, "-o", str(tmp_path / out)]) == 0
    assert QImage(str(tmp_path / "g.png")).width() > 0
    assert QImage(str(tmp_path / "l.png")).height() > 0
    for out in ("t.json", "l.mmd", "t.md", "t.txt", "m.sip"):
        assert main(["render", name, "--step", "1", "-o", str(tmp_path / out)]) == 0
    trace = from_jsonable(json.loads((tmp_path / "t.json").read_text(encoding="utf-8")))
    assert trace.steps
    assert (tmp_path / "m.sip").read_bytes().endswith(b"\r\n")
    err = capsys.readouterr().err
    assert err.count("wrote ") == 8
    # The render command opened no window.
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tour", "-o", "out.gif"], "the extension decides the format"),
        (["tour", "-o", "noextension"], "the extension decides the format"),
        (["tour", "--step", "0", "-o", "x.png"], "step 0 is out of range"),
        (["tour", "--step", "999", "-o", "x.png"], "step 999 is out of range: the trace has 33"),
        (["tour", "--view", "graph", "-o", "x.mmd"], "use --view ladder"),
        (["tour", "--scale", "0", "-o", "x.png"], "--scale"),
        (["no-such-scenario", "-o", "x.png"], "no library scenario of that name"),
        (["tour", "-o", "/nonexistent-dir/x.png"], "No such file or directory"),
    ],
    ids=[
        "unknown-format",
        "no-extension",
        "step-0",
        "step-too-big",
        "mermaid-of-the-graph",
        "scale",
        "unknown-scenario",
        "unwritable",
    ],
)
def test_bad_input_is_one_line_and_status_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["render", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("routelab: error: ")
    assert message in err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_broken_scenario_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "title": "x", "proxies": [{"name": "P", "lisen": []}]}', "utf-8")
    with pytest.raises(SystemExit) as info:
        main(["render", str(bad), "-o", str(tmp_path / "x.png")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "did you mean 'listen'" in err
    assert err.count("\n") == 1


def test_render_help_lists_the_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    out = capsys.readouterr().out
    for ext in (".png", ".svg", ".mmd", ".txt", ".md", ".json", ".sip"):
        assert ext in out


# --------------------------------------------------------------------------
# routelab SCENARIO --step N (gui/app.py)


def _run_app(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, look: Callable[[MainWindow], object]
) -> object:
    """``run_app(argv)`` with the event loop replaced by ``look(window)`` on the window it
    opened (its result returned), then the window closed."""
    from gui import app as app_module

    seen: list[object] = []
    before = set(QApplication.topLevelWidgets())

    def fake_exec(self: QApplication) -> int:
        (window,) = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, MainWindow) and w not in before
        ]
        seen.append(look(window))
        window.session.undo_stack.setClean()
        window.close()
        window.deleteLater()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_app installs its own
    assert app_module.run_app(argv) == 0
    (result,) = seen
    return result


def test_the_app_opens_a_scenario_at_a_step(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def look(window: MainWindow) -> tuple[object, ...]:
        return (
            window.session.step_index,
            window.ladder.canvas.current,
            window.timeline.currentIndex().row(),
            window.session.path,
        )

    path = resources.scenario_path("five-proxy-chain")
    shot = tmp_path / "shot.png"  # --screenshot: default layout, no autosave, no recovery
    seen = _run_app([str(path), "--step", "7", "--screenshot", str(shot)], monkeypatch, look)
    assert isinstance(seen, tuple)
    step, ladder, timeline, opened = seen
    assert (step, ladder, timeline) == (6, 6, 6)
    assert str(opened).endswith("five-proxy-chain.json")


def test_the_app_opens_a_capture_given_on_the_command_line(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.capture_factory import trapezoid, udp_frames, write_pcap

    def look(window: MainWindow) -> tuple[object, ...]:
        dialog = window.capture_actions.dialog
        if dialog is not None:
            dialog.close()
        # The tour behind it, untitled.
        title = window.session.scenario.title
        return None if dialog is None else dialog.path, window.session.path, title

    capture = write_pcap(tmp_path / "call.pcap", udp_frames(trapezoid(1)))
    shot = tmp_path / "shot.png"
    seen = _run_app([str(capture), "--screenshot", str(shot)], monkeypatch, look)
    assert isinstance(seen, tuple)
    opened, path, title = seen
    assert opened == capture
    assert path is None
    assert str(title).startswith("Tour")


def test_the_app_opens_a_library_scenario_by_name_as_an_untitled_copy(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def look(window: MainWindow) -> tuple[object, ...]:
        scenario = window.session.scenario
        assert scenario is not None
        return scenario.title, window.session.path, window.session.step_index

    shot = tmp_path / "shot.png"
    seen = _run_app(["maddr-route", "--step", "3", "--screenshot", str(shot)], monkeypatch, look)
    assert isinstance(seen, tuple)
    title, path, step = seen
    assert title == loads(resources.scenario_text("maddr-route")).title
    assert path is None  # Save never overwrites the library
    assert step == 2


def test_a_file_that_does_not_open_is_said_and_its_step_not_applied_to_the_tour(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def look(window: MainWindow) -> tuple[object, ...]:
        scenario = window.session.scenario
        assert scenario is not None
        return scenario.title, window.session.step_index, window.session.path

    missing = tmp_path / "nosuch.json"
    shot = tmp_path / "shot.png"
    seen = _run_app([str(missing), "--step", "5", "--screenshot", str(shot)], monkeypatch, look)
    assert isinstance(seen, tuple)
    title, step, path = seen
    assert str(title).startswith("Tour")
    assert step == 0
    assert path is None  # the tour stands in untitled: Save never overwrites the library
    assert f"routelab: {missing}: No such file or directory" in capsys.readouterr().err


def test_the_apps_help_names_the_commands_without_a_window(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gui.app import _parse

    with pytest.raises(SystemExit):
        _parse(["--help"])
    said = capsys.readouterr().out
    for command in ("rr", "trace", "render", "import", "config"):
        assert command in said
    assert "library scenario" in said
