"""What a drag brings: a local file, or SIP text (the main window and the paste box)."""

from __future__ import annotations

import json
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


def is_scenario_file(path: Path) -> bool:
    """True for a scenario file: named ``.json``, or one JSON object with a scenario's keys
    whatever its name (a capture, a log of JSON lines, is none)."""
    if path.suffix.lower() == ".json":
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 21)
    except OSError:
        return False
    if head.lstrip()[:1] != b"{" or len(head) >= 1 << 21:
        return False
    try:
        data = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and bool({"proxies", "user_agents"} & data.keys())


__all__ = ["dropped_file", "dropped_sip_text", "is_scenario_file"]
