"""Crash safety: one place for unexpected errors, autosave, recovery, atomic saves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from engine.scenario import loads
from gui import resources
from gui.app import offer_recovery
from gui.autosave import Autosaver, read_autosave
from gui.errors import install_excepthook, log_path
from gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's data directory (platformdirs follows XDG_DATA_HOME on Linux)."""
    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


@pytest.fixture
def window(qapp: QApplication, isolated_settings: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(settings=isolated_settings)
    assert win.session.open_file(resources.scenario_file(resources.TOUR))
    old_hook = sys.excepthook
    win.reporter = install_excepthook(win)
    yield win
    sys.excepthook = old_hook
    win.session.undo_stack.setClean()
    win.close()
    win.deleteLater()


def test_an_exception_in_a_slot_is_reported_logged_and_survived(
    window: MainWindow, qtbot: QtBot
) -> None:
    before = window.session.scenario
    steps = window.session.trace.steps

    def broken(_index: int) -> None:
        raise RuntimeError("injected fault")

    window.session.step_changed.connect(broken)
    window.session.set_step(3)  # the slot raises inside Qt's signal delivery
    window.session.step_changed.disconnect(broken)
    reporter = window.reporter
    assert reporter is not None
    assert len(reporter.reports) == 1
    assert "injected fault" in reporter.reports[0]
    # Logged to the user's data directory.
    assert "RuntimeError: injected fault" in log_path().read_text(encoding="utf-8")
    # Shown with a "Copy details" button that copies the traceback.
    box = reporter.box
    assert box is not None
    copy = box.findChild(QPushButton, "copy-details")
    assert copy is not None
    copy.click()
    clipboard = QGuiApplication.clipboard()
    assert clipboard is not None
    assert "injected fault" in clipboard.text()
    box.close()
    # The app goes on with the document intact.
    assert window.session.scenario is before
    assert window.session.trace.steps == steps
    window.session.set_step(4)
    assert window.session.step_index == 4


def test_faults_in_several_places_never_lose_the_document(window: MainWindow) -> None:
    before = window.session.scenario
    faults = 0
    for signal_ in (window.session.step_changed, window.session.trace_changed):

        def boom(*_args: object) -> None:
            raise ValueError("fault")

        signal_.connect(boom)
        if signal_ is window.session.step_changed:
            window.session.next_step()
        else:
            window.session.trace_changed.emit()
        signal_.disconnect(boom)
        faults += 1
    assert window.reporter is not None
    assert len(window.reporter.reports) == faults
    if window.reporter.box is not None:
        window.reporter.box.close()
    assert window.session.scenario is before


def test_autosave_writes_unsaved_edits_and_removes_them_when_saved(
    window: MainWindow, tmp_path: Path
) -> None:
    target = tmp_path / "autosave.json"
    saver = Autosaver(window.session, target)
    saver.save_now()
    assert not target.exists()  # nothing unsaved yet
    window.composer._edit(("title",), "edited, not saved")
    assert target.exists()  # written after the re-simulation
    text, origin = read_autosave(target)  # type: ignore[misc]
    assert loads(text).title == "edited, not saved"
    assert origin is not None
    window.session.save(tmp_path / "saved.json")
    assert not target.exists()


def test_a_draft_made_valid_is_autosaved_at_once(window: MainWindow, tmp_path: Path) -> None:
    doc = json.loads(resources.scenario_file(resources.TOUR).read_text(encoding="utf-8"))
    doc["requests"][0]["max_forwards"] = -5
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    target = tmp_path / "autosave.json"
    Autosaver(window.session, target)
    assert not window.open_path(path)
    assert window.fix_draft()
    window.composer._edit(("requests", 0, "max_forwards"), 70)
    assert window.session.scenario is not None
    assert target.exists()  # unsaved work, kept before the autosave timer's next round
    text, origin = read_autosave(target)  # type: ignore[misc]
    assert loads(text).requests[0].max_forwards == 70
    assert origin == str(path.resolve())


def test_recovery_after_a_crash(window: MainWindow, tmp_path: Path, qtbot: QtBot) -> None:
    target = tmp_path / "autosave.json"
    saver = Autosaver(window.session, target)
    window.composer._edit(("title",), "work in progress")
    saver.timer.stop()
    assert target.exists()
    # A new start after the crash.
    fresh = MainWindow()
    try:
        assert offer_recovery(fresh, target, ask=lambda: True)
        assert fresh.session.scenario is not None
        assert fresh.session.scenario.title == "work in progress"
        assert fresh.session.dirty  # recovered work still needs saving
    finally:
        fresh.session.undo_stack.setClean()
        fresh.close()
        fresh.deleteLater()
    # Declining removes it.
    assert not offer_recovery(window, target, ask=lambda: False)
    assert not target.exists()
    # A broken autosave is dropped, never a crash.
    target.write_text("{not json", encoding="utf-8")
    assert not offer_recovery(window, target, ask=lambda: True)
    assert not target.exists()


WRITER = r"""
import sys
from pathlib import Path
from gui.session import atomic_write
path = Path(sys.argv[1])
big = "x" * 2_000_000
i = 0
print("ready", flush=True)
while True:
    i += 1
    atomic_write(path, f"version {i}\n" + big + f"\nend {i}\n")
"""


def test_killing_the_app_mid_save_leaves_old_or_new_never_a_mix(tmp_path: Path) -> None:
    target = tmp_path / "scenario.json"
    target.write_text("version 0\n" + "x" * 2_000_000 + "\nend 0\n", encoding="utf-8")
    kills = 0
    for delay in (0.05, 0.11, 0.17, 0.23, 0.31):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        kills += 1
        text = target.read_text(encoding="utf-8")
        head, _, rest = text.partition("\n")
        assert head.startswith("version ")
        number = head.split()[1]
        assert rest.endswith(f"\nend {number}\n"), "a half-written file"
        assert len(rest) == 2_000_000 + len(f"\nend {number}\n")
    assert kills == 5


def test_error_dialog_for_a_corrupt_file_is_not_blocking(
    window: MainWindow, tmp_path: Path
) -> None:
    bad = tmp_path / "deep.json"
    bad.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert not window.session.open_file(bad)
    assert window.findChild(QMessageBox, "error-box") is not None
    assert window.session.scenario is not None
