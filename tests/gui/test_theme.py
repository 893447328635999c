"""The theme's colour helpers, and the dark palette the screenshots use."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gui import theme
from gui.screenshots import dark_palette

GROUPS = (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive, QPalette.ColorGroup.Disabled)


@pytest.fixture
def dark() -> QPalette:
    pal = dark_palette()
    assert isinstance(pal, QPalette)
    return pal


def test_the_dark_palette_is_dark_in_every_group(dark: QPalette) -> None:
    for group in GROUPS:
        window = dark.color(group, QPalette.ColorRole.Window)
        for role in (
            QPalette.ColorRole.WindowText,
            QPalette.ColorRole.Text,
            QPalette.ColorRole.ButtonText,
            QPalette.ColorRole.PlaceholderText,
            QPalette.ColorRole.Link,
        ):
            text = dark.color(group, role)
            assert text.lightness() > window.lightness(), (group, role)
            # Enabled words read at 4.5:1; disabled ones and placeholders are dimmed,
            # yet readable (3:1).
            least = 4.5 if group != QPalette.ColorGroup.Disabled else 3.0
            if role is QPalette.ColorRole.PlaceholderText:
                least = 3.0
            assert theme.contrast_ratio(text, window) >= least, (group, role, text.name())


def test_disabled_words_are_dimmed(dark: QPalette) -> None:
    active = dark.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
    disabled = dark.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert disabled.lightness() < active.lightness()


def test_error_colour_contrast_on_both_palettes(qapp: QApplication, dark: QPalette) -> None:
    light = qapp.palette()
    try:
        for pal in (light, dark):
            qapp.setPalette(pal)
            for role in (
                QPalette.ColorRole.Window,
                QPalette.ColorRole.Base,
                QPalette.ColorRole.Button,
            ):
                ratio = theme.contrast_ratio(theme.error_color(), pal.color(role))
                assert ratio >= 4.5, (role, theme.error_color().name(), ratio)
    finally:
        qapp.setPalette(light)
        theme.palette_changed()


def test_is_dark_notices_a_new_palette_without_being_told(
    qapp: QApplication, dark: QPalette
) -> None:
    light = qapp.palette()
    try:
        assert not theme.is_dark()
        qapp.setPalette(dark)
        assert theme.is_dark()
    finally:
        qapp.setPalette(light)
    assert not theme.is_dark()


def test_contrast_ratio() -> None:
    assert theme.contrast_ratio(QColor("white"), QColor("white")) == pytest.approx(1.0)
    assert theme.contrast_ratio(QColor("#767676"), QColor("white")) == pytest.approx(4.54, 0.01)
