"""Shared fixtures: where the shared vectors live, and the golden-file switch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never open real windows.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The shared reference folder: $ROUTELAB_SHARED, else ../shared beside the clone."""
    env = os.environ.get("ROUTELAB_SHARED")
    return Path(env) if env else ROOT.parent / "shared"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.json from the current engine instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
