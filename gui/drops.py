"""What a drag brings: a local file, or SIP text (the main window and the paste box)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData


def dropped_file(mime: QMimeData) -> Path | None:
    """The first local file of a drag, None when it brings none."""
    for url in mime.urls() if mime.hasUrls() else ():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.is_file():
                return path
    return None


def dropped_sip_text(mime: QMimeData) -> str | None:
    """Dragged text that holds a SIP message (a request or status line's version), else None."""
    text = mime.text() if mime.hasText() and not mime.hasUrls() else ""
    return text if "SIP/2.0" in text else None


__all__ = ["dropped_file", "dropped_sip_text"]
