"""The Lesson panel: what the open scenario teaches, to read while stepping through it.

The scenario's title, description and highlights ("what to notice"), read-only; a
highlight that names a step ("Step 16, P2: ...") links to it.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtWidgets import QTextBrowser, QWidget

from engine.scenario import Scenario

# "Step 16", "steps 9 and 12": each number links to its step.
_STEP = re.compile(r"\b([Ss]teps?) (\d{1,4})\b")


def lesson_html(scenario: Scenario | None, steps: int) -> str:
    """The panel's text for ``scenario`` (None: nothing is open or valid yet), whose trace
    has ``steps`` steps: step numbers (from 1) up to that link to ``step:N``.

    >>> from engine.scenario import RequestSpec
    >>> s = Scenario(title="T", highlights=("Step 2, P1: a <Route>.",),
    ...              dialog=RequestSpec(method="INVITE", sender="A", recipient="B"))
    >>> '<a href="step:2">Step 2</a>, P1: a &lt;Route&gt;.' in lesson_html(s, 5)
    True
    """
    if scenario is None:
        return "<p>No valid scenario yet: fix the field marked in the composer.</p>"
    parts = [f"<h3>{html.escape(scenario.title)}</h3>"]
    if scenario.description:
        parts.append(f"<p>{_linked(scenario.description, steps)}</p>")
    if scenario.highlights:
        parts.append("<p><b>What to notice</b></p><ul>")
        parts.extend(f"<li>{_linked(h, steps)}</li>" for h in scenario.highlights)
        parts.append("</ul>")
    parts.append(
        "<p><i>Step through with Right and Left (or the toolbar); Ctrl+Right goes to the next "
        "hop where something happens. The Legend explains the marks, and the Inspector says "
        "why each proxy did what it did.</i></p>"
    )
    return "".join(parts)


def _linked(text: str, steps: int) -> str:
    """``text`` as HTML, its step numbers that exist as links."""
    out: list[str] = []
    pos = 0
    for m in _STEP.finditer(text):
        number = int(m.group(2))
        if not 1 <= number <= steps:
            continue
        out.append(html.escape(text[pos : m.start()]))
        out.append(f'<a href="step:{number}">{html.escape(m.group())}</a>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


class LessonView(QTextBrowser):
    """The lesson of the open scenario; ``step_requested`` fires with a 0-based step index
    when a step link is followed."""

    step_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lesson")
        self.setAccessibleName("What this scenario teaches")
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self._steps = 0

    def show_scenario(self, scenario: Scenario | None, steps: int) -> None:
        """Show what ``scenario`` teaches (its trace has ``steps`` steps)."""
        self._steps = steps
        self.setHtml(lesson_html(scenario, steps))

    @Slot(QUrl)
    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() != "step":
            return
        text = url.path()
        if text.isascii() and text.isdigit() and 1 <= int(text) <= self._steps:
            self.step_requested.emit(int(text) - 1)


__all__ = ["LessonView", "lesson_html"]
