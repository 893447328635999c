"""The Lesson panel: what the open scenario teaches, to read while stepping through it.

The scenario's title, description and highlights ("what to notice"), read-only; a
highlight that names a step of the trace ("Step 16, P2: ...") links to it.  The same text,
without the links, describes an example in File > Open Example (:func:`scenario_html`).
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtWidgets import QTextBrowser, QWidget

from engine.scenario import Scenario
from engine.uri import is_number
from gui.glossary import used_terms

# "Step 16" or "steps 9": the number links to that step of the trace.  Not after a section
# number: "RFC 3261 16.6 step 3" names a step of the RFC's procedure.
_STEP = re.compile(r"(?<![0-9] )\b([Ss]teps?) (\d{1,4})\b")


def scenario_html(scenario: Scenario, steps: int = 0) -> str:
    """Title, description and highlights as HTML, the description's paragraphs and lines
    kept; with ``steps`` (the trace's length), step numbers up to it link to ``step:N``.

    >>> from engine.scenario import RequestSpec
    >>> s = Scenario(title="T", highlights=("Step 2, P1: a <Route> (RFC 3261 16.6 step 3).",),
    ...              dialog=RequestSpec(method="INVITE", sender="A", recipient="B"))
    >>> print(scenario_html(s, 5).split("<li>")[1])
    <a href="step:2">Step 2</a>, P1: a &lt;Route&gt; (RFC 3261 16.6 step 3).</li></ul>
    """
    parts = [f"<h3>{html.escape(scenario.title)}</h3>"]
    for paragraph in scenario.description.split("\n\n"):
        if paragraph.strip():
            parts.append(f"<p>{_linked(paragraph, steps).replace(chr(10), '<br>')}</p>")
    if scenario.highlights:
        parts.append("<p><b>What to notice</b></p><ul>")
        parts.extend(f"<li>{_linked(h, steps)}</li>" for h in scenario.highlights)
        parts.append("</ul>")
    return "".join(parts)


_HINT = (
    "<p><i>Step through with Next and Back on the toolbar, or with Right and Left in the "
    "drawing, the ladder or the timeline; Ctrl+Right goes to the next hop where something "
    "happens. The Legend explains the marks, and the Inspector says why each proxy did what "
    "it did.</i></p>"
)


def lesson_html(scenario: Scenario | None, steps: int, *, observed: bool = False) -> str:
    """The panel's text for ``scenario`` (None: nothing valid is open, or a capture that
    suggests no scenario when ``observed``), whose trace has ``steps`` steps."""
    if scenario is None:
        if observed:
            return (
                "<p>This capture suggests no scenario to learn from. The timeline lists its "
                "messages, and the Inspector says at each hop what loose_route() predicts.</p>"
            )
        return "<p>No valid scenario yet: fix the field marked in the composer.</p>"
    said = " ".join([scenario.title, scenario.description, *scenario.highlights])
    words = used_terms(said)
    glossary = (
        "<p><b>Words used here</b></p><ul>"
        + "".join(f"<li><b>{html.escape(t)}</b>: {html.escape(m)}</li>" for t, m in words)
        + "</ul>"
        if words
        else ""
    )
    return scenario_html(scenario, steps) + glossary + _HINT


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
        self._html = ""

    def show_scenario(
        self, scenario: Scenario | None, steps: int, *, observed: bool = False
    ) -> None:
        """Show what ``scenario`` teaches (its trace has ``steps`` steps); the same text
        again leaves the panel as it is (scrolled where the reader left it)."""
        self._steps = steps
        text = lesson_html(scenario, steps, observed=observed)
        if text != self._html:
            self._html = text
            self.setHtml(text)

    @Slot(QUrl)
    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() != "step":
            return
        text = url.path()
        if is_number(text) and 1 <= int(text) <= self._steps:
            self.step_requested.emit(int(text) - 1)


__all__ = ["LessonView", "lesson_html", "scenario_html"]
