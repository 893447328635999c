"""The only code that knows where ``resources/`` is (icons, scenario library, pictures)."""

from __future__ import annotations

import json
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


def course() -> list[tuple[str, list[Path]]]:
    """The library as a course: section titles, each with its scenario files in teaching
    order (``resources/course.json``); files it does not name come last, under "Other"."""
    try:
        data = json.loads((root() / "course.json").read_text(encoding="utf-8"))
        sections = [(str(s["title"]), [str(n) for n in s["scenarios"]]) for s in data["sections"]]
    except (OSError, ValueError, KeyError, TypeError):
        sections = []  # (a broken course file: the library in file order)
    files = {p.stem: p for p in scenario_files()}
    out: list[tuple[str, list[Path]]] = []
    for title, names in sections:
        paths = [files.pop(n) for n in names if n in files]
        if paths:
            out.append((title, paths))
    if files:
        out.append(("Other", list(files.values())))
    return out


def scenario_file(name: str) -> Path:
    """A library scenario by name (with or without ``.json``)."""
    stem = name[:-5] if name.endswith(".json") else name
    return root() / "scenarios" / f"{stem}.json"
