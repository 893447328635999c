"""engine/ stays pure: no Qt, no gui, no I/O modules in its own source (STYLE.md section 2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
FORBIDDEN_MODULES = {
    "socket",
    "subprocess",
    "time",
    "random",
    "uuid",
    "os",
    "io",
    "pathlib",
    "shutil",
    "threading",
    "asyncio",
    "select",
    "urllib",
    "http",
}


def test_importing_engine_pulls_in_no_qt_and_no_gui() -> None:
    code = (
        "import sys, engine, engine.rr, engine.batch, engine.script\n"
        "import importlib, pkgutil\n"
        "for m in pkgutil.iter_modules(engine.__path__):\n"
        "    importlib.import_module('engine.' + m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'gui', 'PySide6', 'shiboken6'}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ENGINE.parent)


def _violations(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names = ["open()"] if node.func.id in {"open", "exec", "eval", "input"} else []
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in FORBIDDEN_MODULES or top in {"gui", "PySide6"} or name == "open()":
                found.append(f"line {node.lineno}: {name}")
    return found


def test_engine_source_has_no_io() -> None:
    problems = {
        path.name: v for path in sorted(ENGINE.glob("*.py")) if (v := _violations(path.read_text()))
    }
    assert not problems


def test_the_scan_catches_io() -> None:
    # The scan itself must be able to fail.
    assert _violations("import socket\nfrom os import path\nopen('x')\n") == [
        "line 1: socket",
        "line 2: os",
        "line 3: open()",
    ]
