"""The only code that knows where ``resources/`` is (icons, scenario library, pictures)."""

from __future__ import annotations

from importlib import resources as importlib_resources
from pathlib import Path

from PySide6.QtGui import QIcon

TOUR = "tour"


def root() -> Path:
    """The folder of the ``resources`` package."""
    return Path(str(importlib_resources.files("resources")))


def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/NAME.svg`` (an empty icon when missing)."""
    path = root() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def new_scenario_text() -> str:
    """The scenario File > New starts from: two user agents and one proxy that
    record-routes, an INVITE, its ACK and a BYE."""
    return (root() / "templates" / "new-scenario.json").read_text(encoding="utf-8")


def scenario_files() -> list[Path]:
    """Every scenario of the library, sorted by file name."""
    return sorted((root() / "scenarios").glob("*.json"))


def scenario_file(name: str) -> Path:
    """A library scenario by name (with or without ``.json``)."""
    stem = name[:-5] if name.endswith(".json") else name
    return root() / "scenarios" / f"{stem}.json"
