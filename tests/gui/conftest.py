"""GUI test fixtures: offscreen Qt, settings in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path) -> Iterator[QSettings]:
    """QSettings that live in tmp_path, so tests never touch the user's settings."""
    QCoreApplication.setOrganizationName("RouteLabTests")
    QCoreApplication.setApplicationName("RouteLabTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    settings = QSettings()
    settings.clear()
    yield settings
    settings.clear()
