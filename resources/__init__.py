"""The files RouteLab ships: the scenario library, icons and pictures.

This package holds data, and its two helpers find the library through
:mod:`importlib.resources`, so they work from a checkout, a wheel or a zip.
The engine never reads files; callers pass the text to ``engine.scenario.loads``.

>>> "tour" in list_scenarios()
True
>>> scenario_text("tour").startswith("{")
True
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def _folder() -> Traversable:
    return resources.files(__name__) / "scenarios"


def list_scenarios() -> tuple[str, ...]:
    """The names of the library scenarios (kebab-case, without ``.json``), sorted."""
    return tuple(
        sorted(
            entry.name[: -len(".json")]
            for entry in _folder().iterdir()
            if entry.name.endswith(".json") and entry.is_file()
        )
    )


def scenario_path(name: str) -> Traversable:
    """The library file of a scenario, by name (``.json`` optional); it may not exist."""
    stem = name[: -len(".json")] if name.endswith(".json") else name
    return _folder() / f"{stem}.json"


def scenario_text(name: str) -> str:
    """The text of a library scenario; FileNotFoundError when there is none of that name."""
    if name not in list_scenarios() and name[: -len(".json")] not in list_scenarios():
        raise FileNotFoundError(f"no library scenario called {name!r}")
    return scenario_path(name).read_text(encoding="utf-8")


__all__ = ["list_scenarios", "scenario_path", "scenario_text"]
