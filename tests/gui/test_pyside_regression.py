"""PySide6 6.12.0 on CPython 3.11 crashes ("none_dealloc") after a few thousand calls to
void methods such as QGraphicsItem.setPos; 6.11.3 works.  Keep the pin honest."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

CRASHER = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QGraphicsScene
app = QApplication([])
scene = QGraphicsScene()
item = QGraphicsRectItem(0, 0, 10, 10)
scene.addItem(item)
for i in range(50_000):
    item.setPos(i % 100, i % 37)
    item.setZValue(i % 5)
    item.update()
print("survived", item.pos().x())
"""


def _pin() -> str:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return next(d for d in deps if d.lower().startswith("pyside6"))


def test_pin_excludes_6_12_0() -> None:
    pin = _pin()
    assert "<6.12" in pin.replace(" ", ""), pin


def test_installed_pyside_is_inside_the_pin() -> None:
    installed = tuple(int(x) for x in re.findall(r"\d+", version("PySide6-Essentials"))[:3])
    assert (6, 11, 3) <= installed < (6, 12, 0), installed


def test_many_void_calls_do_not_crash() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("survived")
