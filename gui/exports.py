"""Exports: the graph and the ladder as pictures, the trace as text, the current message as .sip.

Rule 1: every writer is a plain function of a scene or of the trace, so the same code serves
the File > Export menu (the window's own scenes, as the user sees them) and ``routelab render``
(scenes built headless by :mod:`gui.render`).
Rule 2: files are written atomically (a temporary file, then a rename), and a failure is an
:class:`ExportError` or :class:`OSError` the caller reports in one sentence.

The formats, by file extension:

========  ==========================================================================
``.png``  the graph or the ladder, rendered at ``scale`` (2 by default), within a pixel budget
``.svg``  the graph or the ladder as vector graphics (text stays text)
``.mmd``  the ladder as a Mermaid sequence diagram, one line per step
``.txt``  the trace for people, as ``routelab trace`` prints it
``.md``   the trace as Markdown: one table per request, then why (each call and decision)
``.json`` the canonical trace JSON (``routelab trace --json``, the golden files' format)
``.sip``  the current step's message, CRLF line ends, as it goes on the wire
========  ==========================================================================

File > Export > Kamailio Configs writes the kamailio.cfg of every proxy into a folder
(:func:`engine.kamcfg.scenario_configs`, as ``routelab config -o DIR`` does).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QAction, QColor, QImage, QPainter, QPalette
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsItem, QGraphicsScene, QMenu, QMessageBox

from engine.kamcfg import ConfigFile, scenario_configs
from engine.trace import StepKind, Trace, TraceStep, to_jsonable
from gui.cli_trace import format_trace
from gui.glossary import used_terms
from gui.ladder import arrow_label
from gui.session import atomic_write_bytes
from gui.theme import FLAG_STYLES, rc_text, role

if TYPE_CHECKING:
    from gui.main_window import MainWindow
    from gui.render import Document

PICTURE_FORMATS = (".png", ".svg")
LADDER_FORMATS = (".png", ".svg", ".mmd")
TRACE_FORMATS = (".txt", ".md", ".json")
MESSAGE_FORMATS = (".sip",)
ALL_FORMATS = (".png", ".svg", ".mmd", ".txt", ".md", ".json", ".sip")

MARGIN = 16.0
DEFAULT_SCALE = 2.0
MAX_SIDE = 32_000  # QPainter's raster engine draws up to 32767 pixels a side
MAX_PIXELS = 48_000_000  # about 190 MB of ARGB32: a bigger picture gets a smaller scale


class ExportError(Exception):
    """Nothing to export, or a format that does not fit what is exported."""


# --------------------------------------------------------------------------
# files


# One atomic writer for the whole app (gui.session): an export is never half a file.
write_bytes = atomic_write_bytes


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text as given (no newline translation: a .sip file keeps its CRLF)."""
    write_bytes(path, text.encode("utf-8"))


def suffix_of(path: str | Path) -> str:
    """The lower-case extension, with its dot."""
    return Path(path).suffix.lower()


# --------------------------------------------------------------------------
# pictures


def scene_rect(scene: QGraphicsScene) -> QRectF:
    """What a picture of the scene shows: its scene rectangle and every item, plus a margin."""
    rect = scene.sceneRect().united(scene.itemsBoundingRect())
    return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)


def picture_scale(rect: QRectF, scale: float = DEFAULT_SCALE) -> float:
    """``scale``, made smaller when the picture would pass the side or pixel limits."""
    w, h = max(rect.width(), 1.0), max(rect.height(), 1.0)
    fit = min(scale, MAX_SIDE / w, MAX_SIDE / h, math.sqrt(MAX_PIXELS / (w * h)))
    while fit > 0.01 and math.ceil(w * fit) * math.ceil(h * fit) > MAX_PIXELS:
        fit *= 0.995  # rounding up to whole pixels must not pass the budget either
    return max(fit, 0.01)


def image_size(scene: QGraphicsScene, scale: float = DEFAULT_SCALE) -> QSize:
    """The pixel size of the PNG :func:`scene_png` writes for this scene."""
    rect = scene_rect(scene)
    s = picture_scale(rect, scale)
    return QSize(max(1, math.ceil(rect.width() * s)), max(1, math.ceil(rect.height() * s)))


def _background() -> QColor:
    return role(QPalette.ColorRole.Base)


@contextlib.contextmanager
def _uncached(scene: QGraphicsScene) -> Iterator[None]:
    """Items paint themselves while exporting: a cached item would become a bitmap in an SVG."""
    modes = [(item, item.cacheMode()) for item in scene.items()]
    for item, mode in modes:
        if mode != QGraphicsItem.CacheMode.NoCache:
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        yield
    finally:
        for item, mode in modes:
            if mode != QGraphicsItem.CacheMode.NoCache:
                item.setCacheMode(mode)


def scene_image(scene: QGraphicsScene, scale: float = DEFAULT_SCALE) -> QImage:
    """The scene rendered into an image (see :func:`image_size`)."""
    rect = scene_rect(scene)
    size = image_size(scene, scale)
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise ExportError(f"cannot make a {size.width()}x{size.height()} picture (out of memory)")
    image.fill(_background())
    painter = QPainter(image)
    try:
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        with _uncached(scene):
            scene.render(
                painter,
                QRectF(0, 0, size.width(), size.height()),
                rect,
                Qt.AspectRatioMode.IgnoreAspectRatio,
            )
    finally:
        painter.end()
    return image


def scene_png(scene: QGraphicsScene, path: str | Path, scale: float = DEFAULT_SCALE) -> QSize:
    """Write the scene as a PNG; returns its pixel size."""
    image = scene_image(scene, scale)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]  # the stubs say bytes; PySide6 6.11 wants str
        raise ExportError("Qt could not encode the PNG")
    buffer.close()
    write_bytes(path, bytes(data.data()))
    return image.size()


def scene_svg_bytes(scene: QGraphicsScene, title: str = "", description: str = "") -> bytes:
    """The scene as an SVG document."""
    rect = scene_rect(scene)
    width, height = math.ceil(rect.width()), math.ceil(rect.height())
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setResolution(96)  # CSS pixels: the width and height in mm match the viewBox
    generator.setSize(QSize(width, height))
    generator.setViewBox(QRect(0, 0, width, height))
    generator.setTitle(title)
    generator.setDescription(description or "Made with RouteLab")
    painter = QPainter(generator)
    try:
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        painter.fillRect(QRectF(0, 0, width, height), _background())
        with _uncached(scene):
            scene.render(
                painter, QRectF(0, 0, width, height), rect, Qt.AspectRatioMode.IgnoreAspectRatio
            )
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def scene_svg(scene: QGraphicsScene, path: str | Path, title: str = "") -> QSize:
    """Write the scene as an SVG file; returns its size in (CSS) pixels."""
    write_bytes(path, scene_svg_bytes(scene, title))
    rect = scene_rect(scene)
    return QSize(math.ceil(rect.width()), math.ceil(rect.height()))


# --------------------------------------------------------------------------
# the ladder as Mermaid

_MERMAID_ESCAPES = {
    "#": "#35;",
    ";": "#59;",
    "%": "#37;",
    "<": "#lt;",
    ">": "#gt;",
    '"': "#quot;",
}
_MERMAID_SPECIAL = re.compile('[#;%<>"]')


def _mermaid_text(text: str) -> str:
    text = " ".join(text.split())
    return _MERMAID_SPECIAL.sub(lambda m: _MERMAID_ESCAPES[m.group()], text)


def _flag_words(step: TraceStep) -> str:
    return ", ".join(FLAG_STYLES[f].title for f in step.flags)


def _step_summary(step: TraceStep) -> str:
    """The words on a step's arrow: message, return code, flags."""
    parts = [f"{step.index + 1}. {arrow_label(step)}"]
    rc = rc_text(step.rc)
    if rc:
        parts.append(f"rc {rc}")
    if step.flags:
        parts.append(_flag_words(step))
    return " · ".join(parts)


def ladder_elements(trace: Trace, order: Sequence[str]) -> list[str]:
    """Lifelines as the ladder draws them: ``order``, then any other element of the trace."""
    names = list(dict.fromkeys(order))
    for step in trace.steps:
        for name in (step.element, step.next_element):
            if name and name not in names:
                names.append(name)
    return names


def mermaid(trace: Trace, order: Sequence[str]) -> str:
    """The ladder as a Mermaid sequence diagram: every step, requests solid, responses dashed.

    A step whose message goes to another element is an arrow; one that ends at its element
    (delivered to a user agent, or a dead end) is a note on that lifeline.

    >>> from engine.trace import TraceStep
    >>> s = TraceStep(index=0, request=0, element="A", kind=StepKind.UAC, method="BYE",
    ...               message_in="", message_out="BYE sip:b SIP/2.0\\r\\n\\r\\n", next_element="B")
    >>> print(mermaid(Trace(title="t", steps=(s,), requests=("BYE from A",)), ["A", "B"]))
    ---
    title: "t"
    ---
    sequenceDiagram
        participant e0 as A
        participant e1 as B
        Note over e0,e1: BYE from A
        e0->>e1: 1. BYE sip:b
    <BLANKLINE>
    """
    names = ladder_elements(trace, order)
    ids = {name: f"e{i}" for i, name in enumerate(names)}
    title = json.dumps(trace.title or "RouteLab trace", ensure_ascii=False)
    lines = ["---", f"title: {title}", "---"]
    lines.append("sequenceDiagram")
    lines += [f"    participant {ids[n]} as {_mermaid_text(n)}" for n in names]
    span = ",".join(dict.fromkeys([ids[names[0]], ids[names[-1]]])) if names else ""
    current = -1
    for step in trace.steps:
        if step.request != current and span:
            current = step.request
            label = trace.requests[current] if current < len(trace.requests) else step.label
            lines.append(f"    Note over {span}: {_mermaid_text(label or f'request {current}')}")
        summary = _step_summary(step)
        src = ids[step.element]
        if step.next_element and step.next_element != step.element:
            arrow = "-->>" if step.kind is StepKind.RESPONSE else "->>"
            lines.append(f"    {src}{arrow}{ids[step.next_element]}: {_mermaid_text(summary)}")
        else:
            ends = "" if step.message_out else " (ends here)"
            lines.append(f"    Note right of {src}: {_mermaid_text(summary + ends)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# the trace as text


def trace_text(trace: Trace) -> str:
    """The trace for people, exactly as ``routelab trace`` prints it."""
    return format_trace(trace) + "\n"


def trace_json(trace: Trace) -> str:
    """The canonical trace JSON (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(to_jsonable(trace), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_code(text: str) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}" if text else ""


def trace_markdown(trace: Trace) -> str:
    """The trace as Markdown: title, warnings, then one table per request.

    >>> print(trace_markdown(Trace(title="A | B")).splitlines()[0])
    # A \\| B
    """
    out = [f"# {_md(trace.title or 'RouteLab trace')}", ""]
    for w in trace.warnings:
        out.append(f"> **Warning:** {_md(w)}")
        out.append("")
    glossary_at = len(out)
    indexes = sorted(set(range(len(trace.requests))) | {s.request for s in trace.steps})
    for i in indexes:
        steps = trace.steps_of(i)
        label = trace.requests[i] if i < len(trace.requests) else f"Request {i + 1}"
        out.append(f"## {i + 1}. {_md(label)}")
        out.append("")
        if not steps:
            out.append("_No steps._")
            out.append("")
            continue
        out.append("| Step | Element | To | Message | rc | Flags | What happened |")
        out.append("|---:|---|---|---|---:|---|---|")
        for s in steps:
            out.append(
                "| "
                + " | ".join(
                    [
                        str(s.index + 1),
                        _md(s.element),
                        _md(s.next_element or ""),
                        _md_code(arrow_label(s)),
                        rc_text(s.rc),
                        _md(_flag_words(s)),
                        _md(s.note),
                    ]
                )
                + " |"
            )
        out.append("")
        out.extend(_md_decisions(steps))
    # The words the trace uses, said once before it.
    words = used_terms("\n".join(out))
    if words:
        out[glossary_at:glossary_at] = [
            "**Words used here**",
            "",
            *(f"- *{_md(term)}*: {_md(meaning)}" for term, meaning in words),
            "",
        ]
    return "\n".join(out)


def _md_decisions(steps: Sequence[TraceStep]) -> list[str]:
    """Why, for the steps whose script made calls: each call with its return code and
    what it means, then its decision steps in order (the rule id after each)."""
    out: list[str] = []
    for s in steps:
        if not s.rr_calls:
            continue
        if not out:
            out += ["**Why, step by step**", ""]
        out.append(f"- **Step {s.index + 1}, {_md(s.element)}**")
        for call in s.rr_calls:
            meaning = f": {_md(call.meaning)}" if call.meaning else ""
            out.append(f"  - {_md_code(call.call)} returned **{rc_text(call.rc)}**{meaning}")
            out += [
                f"    {n}. {_md(d.text)} {_md_code(d.rule)}"
                for n, d in enumerate(call.decisions, start=1)
            ]
    return [*out, ""] if out else []


def message_text(step: TraceStep) -> str:
    """The message of a step: what it sends, else what it received (CRLF line ends)."""
    text = step.message_out or step.message_in
    if not text:
        raise ExportError(f"step {step.index + 1} has no message (nothing was sent)")
    return text


def trace_file_text(trace: Trace, suffix: str) -> str:
    """The text of a trace export by extension (.txt, .md, .json)."""
    if suffix == ".txt":
        return trace_text(trace)
    if suffix == ".md":
        return trace_markdown(trace)
    if suffix == ".json":
        return trace_json(trace)
    raise ExportError(f"a trace is written as {', '.join(TRACE_FORMATS)}, not {suffix or '?'}")


# --------------------------------------------------------------------------
# one entry point for the command line


@dataclass(frozen=True, slots=True)
class Written:
    """What an export wrote: the file, what it shows, and the picture size if any."""

    path: Path
    what: str
    size: QSize | None = None

    def describe(self) -> str:
        """One line for people."""
        size = f" ({self.size.width()}x{self.size.height()} px)" if self.size else ""
        return f"wrote {self.what} to {self.path}{size}"


def export_document(
    path: str | Path,
    doc: Document,
    *,
    view: str = "graph",
    index: int | None = None,
    scale: float = DEFAULT_SCALE,
) -> Written:
    """Write one export of a scenario, headless; the format follows the extension.

    ``view`` picks the picture (``graph`` or ``ladder``) for .png and .svg; ``index`` is the
    0-based step shown (and the message written to a .sip file; the first step by default).
    """
    from gui import render

    path = Path(path)
    suffix = suffix_of(path)
    trace = doc.trace
    if suffix not in ALL_FORMATS:
        raise ExportError(
            f"{path.name}: unknown format {suffix or '(no extension)'}; "
            f"use one of {' '.join(ALL_FORMATS)}"
        )
    if view not in ("graph", "ladder"):
        raise ExportError(f"--view {view}: use graph or ladder")
    if suffix in TRACE_FORMATS:
        write_text(path, trace_file_text(trace, suffix))
        return Written(path, f"the trace ({len(trace.steps)} steps)")
    if suffix == ".sip":
        if not trace.steps:
            raise ExportError("the trace has no steps, so there is no message to write")
        step = trace.steps[index or 0]
        write_text(path, message_text(step))
        return Written(path, f"the message of step {step.index + 1}")
    order = render.ladder_order(doc.positions)
    if suffix == ".mmd":
        write_text(path, mermaid(trace, order))
        return Written(path, f"the ladder as Mermaid ({len(trace.steps)} messages)")
    scene: QGraphicsScene
    if view == "ladder":
        scene = render.ladder_scene(trace, order, index)
    else:
        scene = render.graph_scene(doc, index)
    what = "the ladder" if view == "ladder" else "the graph"
    if suffix == ".png":
        return Written(path, what, scene_png(scene, path, scale))
    return Written(path, what, scene_svg(scene, path, trace.title))


# --------------------------------------------------------------------------
# the File > Export menu


@dataclass(frozen=True)
class ExportActions:
    """The actions of the File > Export submenu."""

    menu: QMenu
    graph: QAction
    ladder: QAction
    trace: QAction
    message: QAction
    configs: QAction


_FILTERS = {
    ".png": "PNG image (*.png)",
    ".svg": "SVG image (*.svg)",
    ".mmd": "Mermaid sequence diagram (*.mmd)",
    ".txt": "Plain text (*.txt)",
    ".md": "Markdown (*.md)",
    ".json": "JSON (*.json)",
    ".sip": "SIP message (*.sip)",
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "routelab"


def default_name(window: MainWindow, what: str, suffix: str) -> str:
    """A file name for an export: the scenario's file or title, what, and the extension."""
    s = window.session
    stem = s.path.stem if s.path else _slug(s.scenario.title if s.scenario else "")
    return f"{stem}-{what}{suffix}"


def ask_path(window: MainWindow, title: str, what: str, formats: Sequence[str]) -> Path | None:
    """Ask where to export; the extension follows the chosen filter when none is typed."""
    folder = str(window.settings.value("export/folder", "") or "")
    start = os.path.join(folder, default_name(window, what, formats[0]))
    filters = [_FILTERS[f] for f in formats]
    path, chosen = QFileDialog.getSaveFileName(window, title, start, ";;".join(filters))
    if not path:
        return None
    suffix = suffix_of(path)
    if suffix not in formats:
        picked = next((f for f in formats if _FILTERS[f] == chosen), formats[0])
        path += picked
    window.settings.setValue("export/folder", str(Path(path).parent))
    return Path(path)


def export_graph(window: MainWindow, path: str | Path) -> Written:
    """The graph as the window shows it (current step highlighted), to PNG or SVG."""
    path = Path(path)
    suffix = suffix_of(path)
    if suffix not in PICTURE_FORMATS:
        raise ExportError(f"the graph is exported as PNG or SVG, not {suffix or '?'}")
    if not window.scene.nodes:
        raise ExportError("there is no graph to export: open a scenario first")
    if suffix == ".png":
        return Written(path, "the graph", scene_png(window.scene, path))
    return Written(path, "the graph", scene_svg(window.scene, path, window.session.trace.title))


def export_ladder(window: MainWindow, path: str | Path) -> Written:
    """The ladder as the window shows it, to PNG, SVG or Mermaid."""
    path = Path(path)
    suffix = suffix_of(path)
    trace = window.session.trace
    if suffix not in LADDER_FORMATS:
        raise ExportError(f"the ladder is exported as PNG, SVG or Mermaid, not {suffix or '?'}")
    if not trace.steps:
        raise ExportError("there is no ladder to export: the trace has no steps")
    if suffix == ".mmd":
        write_text(path, mermaid(trace, window.ladder.canvas.names))
        return Written(path, "the ladder as Mermaid")
    if suffix == ".png":
        return Written(path, "the ladder", scene_png(window.ladder, path))
    return Written(path, "the ladder", scene_svg(window.ladder, path, trace.title))


def export_trace(window: MainWindow, path: str | Path) -> Written:
    """The whole trace as text, Markdown or JSON."""
    path = Path(path)
    trace = window.session.trace
    if not trace.steps:
        raise ExportError("there is no trace to export: open a scenario first")
    write_text(path, trace_file_text(trace, suffix_of(path)))
    return Written(path, "the trace")


def export_message(window: MainWindow, path: str | Path) -> Written:
    """The current step's message as a .sip file."""
    step = window.session.current
    if step is None:
        raise ExportError("no step is selected, so there is no message to export")
    write_text(path, message_text(step))
    return Written(Path(path), f"the message of step {step.index + 1}")


_NO_CONFIGS = "the scenario has no proxies, so there is no config to export"


def export_configs(configs: Sequence[ConfigFile], folder: str | Path) -> Written:
    """Write the proxies' configs (:func:`engine.kamcfg.scenario_configs`: ``NAME.cfg``, or
    ``NAME.txt`` for an element that is not Kamailio) into ``folder``."""
    folder = Path(folder)
    if not configs:
        raise ExportError(_NO_CONFIGS)
    for config in configs:
        write_text(folder / config.name, config.text)
    names = ", ".join(c.name for c in configs)
    return Written(folder, f"{len(configs)} configs ({names})" if len(configs) > 1 else names)


def _export_configs(window: MainWindow) -> None:
    """Ask for a folder, ask before replacing files there, export the configs."""
    scenario = window.session.scenario
    configs = scenario_configs(scenario) if scenario is not None else ()
    if not configs:
        window.session.error_raised.emit("Cannot export", _NO_CONFIGS.capitalize() + ".")
        return
    start = str(window.settings.value("export/folder", "") or "")
    chosen = QFileDialog.getExistingDirectory(window, "Export Kamailio Configs into", start)
    if not chosen:
        return
    folder = Path(chosen)
    window.settings.setValue("export/folder", str(folder))
    there = [c.name for c in configs if (folder / c.name).exists()]
    if there:
        answer = QMessageBox.question(
            window,
            "Replace files?",
            f"{folder} already has {', '.join(there)}. Replace "
            + ("them?" if len(there) > 1 else "it?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
    try:
        written = export_configs(configs, folder)
    except (ExportError, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        window.session.error_raised.emit("Cannot export", f"{folder}: {why}")
        return
    window.statusBar().showMessage(written.describe().capitalize(), 8000)


def _run(window: MainWindow, title: str, what: str, formats: Sequence[str], job: object) -> None:
    assert callable(job)
    path = ask_path(window, title, what, formats)
    if path is None:
        return
    try:
        written: Written = job(window, path)
    except (ExportError, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        window.session.error_raised.emit("Cannot export", f"{path}: {why}")
        return
    window.statusBar().showMessage(written.describe().capitalize(), 8000)


def install_menu(window: MainWindow, file_menu: QMenu) -> ExportActions:
    """Add File > Export (Graph, Ladder, Trace, Current Message, Kamailio Configs) to
    ``file_menu``."""
    menu = file_menu.addMenu("&Export")
    menu.setObjectName("menu-export")

    def action(text: str, name: str, tip: str, slot: object) -> QAction:
        act = QAction(text, window)
        act.setObjectName(name)
        act.setStatusTip(tip)
        act.setToolTip(tip)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    graph = action(
        "Export &Graph…",
        "export-graph",
        "Save the graph as it is shown, as PNG or SVG",
        lambda: _run(window, "Export Graph", "graph", PICTURE_FORMATS, export_graph),
    )
    ladder = action(
        "Export &Ladder…",
        "export-ladder",
        "Save the ladder diagram as PNG, SVG or a Mermaid sequence diagram",
        lambda: _run(window, "Export Ladder", "ladder", LADDER_FORMATS, export_ladder),
    )
    trace = action(
        "Export &Trace…",
        "export-trace",
        "Save every step as plain text, Markdown or JSON",
        lambda: _run(window, "Export Trace", "trace", TRACE_FORMATS, export_trace),
    )
    message = action(
        "Export Current &Message…",
        "export-message",
        "Save the current step's message as a .sip file",
        lambda: _run(window, "Export Current Message", "message", MESSAGE_FORMATS, export_message),
    )
    menu.addSeparator()
    configs = action(
        "Export Kamailio &Configs…",
        "export-configs",
        "Save the kamailio.cfg of every proxy into a folder",
        lambda: _export_configs(window),
    )

    def refresh() -> None:
        has_steps = bool(window.session.trace.steps)
        for act in (graph, ladder, trace):
            act.setEnabled(has_steps)
        message.setEnabled(window.session.current is not None)
        scenario = window.session.scenario
        configs.setEnabled(scenario is not None and bool(scenario.proxies))

    menu.aboutToShow.connect(refresh)
    return ExportActions(menu, graph, ladder, trace, message, configs)


__all__ = [
    "ALL_FORMATS",
    "ExportActions",
    "ExportError",
    "Written",
    "export_configs",
    "export_document",
    "export_graph",
    "export_ladder",
    "export_message",
    "export_trace",
    "image_size",
    "install_menu",
    "mermaid",
    "message_text",
    "scene_png",
    "scene_svg",
    "trace_json",
    "trace_markdown",
    "trace_text",
]
