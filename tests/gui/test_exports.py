"""Every export format: pictures decode at the right size, SVG is XML, Mermaid lists every
message, JSON is the trace; and the File > Export menu writes them (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from engine.kamcfg import scenario_configs
from engine.message import SipRequest, parse_message
from engine.scenario import loads
from engine.trace import StepKind, Trace, TraceStep, from_jsonable, to_jsonable
from gui import exports, render, resources
from gui.cli_trace import format_trace
from gui.exports import ExportError, export_document, image_size, mermaid
from gui.main_window import MainWindow
from tests.bench.bench_render import big_trace

LIBRARY = resources.scenario_files()
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def tour() -> render.Document:
    return render.document(loads(resources.scenario_file(resources.TOUR).read_text("utf-8")))


@pytest.fixture
def window(qtbot: QtBot, isolated_settings: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(settings=isolated_settings)
    yield win
    win.session.undo_stack.setClean()
    win.close()
    win.deleteLater()


def _png(path: Path) -> QImage:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(path))
    assert not image.isNull()
    return image


def _svg(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return root


@pytest.mark.parametrize("view", ["graph", "ladder"])
def test_png_decodes_at_the_size_of_the_scene(
    qtbot: QtBot, tour: render.Document, tmp_path: Path, view: str
) -> None:
    out = tmp_path / f"{view}.png"
    written = export_document(out, tour, view=view, index=4)
    scene = (
        render.ladder_scene(tour.trace, render.ladder_order(tour.positions), 4)
        if view == "ladder"
        else render.graph_scene(tour, 4)
    )
    expected = image_size(scene)
    assert written.size == expected
    image = _png(out)
    assert (image.width(), image.height()) == (expected.width(), expected.height())
    # Twice the scene's size (the default scale), margins included.
    rect = exports.scene_rect(scene)
    assert expected.width() == pytest.approx(rect.width() * exports.DEFAULT_SCALE, abs=1)
    # Not blank: the drawing has more than the background colour.
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 17)
    }
    assert len(colours) > 3


@pytest.mark.parametrize("view", ["graph", "ladder"])
def test_svg_parses_as_xml_and_names_the_elements(
    qtbot: QtBot, tour: render.Document, tmp_path: Path, view: str
) -> None:
    out = tmp_path / f"{view}.svg"
    written = export_document(out, tour, view=view, index=1)
    root = _svg(out)
    assert written.size is not None
    assert root.get("viewBox") == f"0 0 {written.size.width()} {written.size.height()}"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == tour.trace.title
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for name in tour.graph.nodes:
        assert name in texts  # text stays text: every element is named
    if view == "ladder":
        assert "rc −3" in texts  # the tour's preloaded Route at P1


def test_mermaid_lists_every_message(tour: render.Document, tmp_path: Path) -> None:
    out = tmp_path / "ladder.mmd"
    export_document(out, tour, view="ladder")
    text = out.read_text(encoding="utf-8")
    trace = tour.trace
    lines = text.splitlines()
    assert lines[:3] == ["---", f"title: {json.dumps(trace.title)}", "---"]
    assert lines[3] == "sequenceDiagram"
    participants = [ln.split(" as ", 1)[1] for ln in lines if ln.startswith("    participant ")]
    assert participants == render.ladder_order(tour.positions)
    ids = {name: f"e{i}" for i, name in enumerate(participants)}
    steps = [
        ln for ln in lines if re.match(r"    (e\d+-{1,2}>>e\d+|Note right of e\d+): \d+\. ", ln)
    ]
    assert len(steps) == len(trace.steps)
    for line, step in zip(steps, trace.steps, strict=True):
        assert f": {step.index + 1}. " in line
        src = ids[step.element]
        if step.next_element and step.next_element != step.element:
            arrow = "-->>" if step.kind is StepKind.RESPONSE else "->>"
            assert line.startswith(f"    {src}{arrow}{ids[step.next_element]}: ")
        else:
            assert line.startswith(f"    Note right of {src}: ")
    # One note per request, and nothing Mermaid would read as syntax in the texts.
    assert sum(ln.startswith("    Note over ") for ln in lines) == len(trace.requests)
    for ln in lines[4:]:
        body = ln.split(": ", 1)[-1]
        assert ";" not in body.replace("#59;", "").replace("#35;", "").replace("#lt;", "").replace(
            "#gt;", ""
        ).replace("#37;", "").replace("#quot;", "")
        assert "<" not in body


def test_json_is_the_trace(tour: render.Document, tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    export_document(out, tour)
    text = out.read_text(encoding="utf-8")
    assert from_jsonable(json.loads(text)) == tour.trace
    assert text == json.dumps(to_jsonable(tour.trace), indent=2, sort_keys=True) + "\n"


def test_text_and_markdown(tour: render.Document, tmp_path: Path) -> None:
    export_document(tmp_path / "t.txt", tour)
    assert (tmp_path / "t.txt").read_text("utf-8") == format_trace(tour.trace) + "\n"
    export_document(tmp_path / "t.md", tour)
    md = (tmp_path / "t.md").read_text("utf-8").splitlines()
    trace = tour.trace
    assert md[0].startswith("# Tour")
    assert [ln for ln in md if ln.startswith("## ")] == [
        f"## {i + 1}. {label}" for i, label in enumerate(trace.requests)
    ]
    rows = [ln for ln in md if re.match(r"\| \d+ \|", ln)]
    assert [int(r.split("|")[1]) for r in rows] == [s.index + 1 for s in trace.steps]
    # Every row has the table's seven cells: pipes inside the text are escaped.
    assert all(len(re.split(r"(?<!\\)\|", r)) == 9 for r in rows)
    # Why: every call of every step, with its return code and each decision in order,
    # after the names they use, said once.
    said = [ln.strip() for ln in md]
    words = md.index("**Words used here**")
    assert words < md.index(next(ln for ln in md if ln.startswith("## ")))  # before the steps
    assert sum(ln.startswith("- *$du*: Kamailio's destination URI") for ln in md) == 1
    assert not any(ln.startswith("- *flow token*") for ln in md)  # the tour has none
    for step in trace.steps:
        if not step.rr_calls:
            continue
        assert f"- **Step {step.index + 1}, {step.element}**" in said
    preloaded = next(s for s in trace.steps if s.rc == -3)
    call = next(c for c in preloaded.rr_calls if c.rc == -3)
    line = said.index(f"- `{call.call}` returned **−3**: {call.meaning}")
    listed = said[line + 1 : line + 1 + len(call.decisions)]
    rules = [re.search(r"`([a-z0-9-]+)`$", ln) for ln in listed]
    assert [m.group(1) if m else None for m in rules] == [d.rule for d in call.decisions]


def test_sip_is_the_message_on_the_wire(tour: render.Document, tmp_path: Path) -> None:
    out = tmp_path / "m.sip"
    export_document(out, tour, index=1)
    data = out.read_bytes()
    step = tour.trace.steps[1]
    assert data == step.message_out.encode("utf-8")
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    message = parse_message(data.decode("utf-8"))
    assert isinstance(message, SipRequest)
    assert message.method == step.method


def test_bad_requests_are_export_errors(tour: render.Document, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown format"):
        export_document(tmp_path / "x.gif", tour)
    with pytest.raises(ExportError, match="use graph or ladder"):
        export_document(tmp_path / "x.png", tour, view="table")
    silent = TraceStep(
        index=0,
        request=0,
        element="A",
        kind=StepKind.UAC,
        method="BYE",
        message_in="",
        message_out="",
    )
    with pytest.raises(ExportError, match="no message"):
        exports.message_text(silent)
    with pytest.raises(ExportError, match="no steps"):
        export_document(
            tmp_path / "m.sip", render.Document(tour.scenario, Trace(title="t"), tour.graph, {})
        )


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_every_library_scenario_renders_headless(qtbot: QtBot, path: Path, tmp_path: Path) -> None:
    doc = render.document(loads(path.read_text(encoding="utf-8")))
    graph = export_document(tmp_path / "g.png", doc, view="graph", index=0)
    assert graph.size is not None
    assert _png(tmp_path / "g.png").size() == graph.size
    export_document(tmp_path / "l.svg", doc, view="ladder", index=len(doc.trace.steps) - 1)
    _svg(tmp_path / "l.svg")
    export_document(tmp_path / "l.mmd", doc)
    assert (tmp_path / "l.mmd").read_text("utf-8").count(": ") >= len(doc.trace.steps)


def test_a_huge_ladder_png_stays_within_the_pixel_budget(qtbot: QtBot) -> None:
    trace = big_trace()
    scene = render.ladder_scene(trace, list(dict.fromkeys(s.element for s in trace.steps)))
    size = image_size(scene)
    assert size.width() * size.height() <= exports.MAX_PIXELS
    assert max(size.width(), size.height()) <= exports.MAX_SIDE


# --------------------------------------------------------------------------
# the File > Export menu


def _choose(
    monkeypatch: pytest.MonkeyPatch, path: Path | None, chosen_filter: str = ""
) -> list[str]:
    """Answer the file dialog with ``path`` (None: the user cancels)."""
    asked: list[str] = []

    def fake(*args: object, **_kwargs: object) -> tuple[str, str]:
        asked.append(str(args[1]))
        return ("" if path is None else str(path)), chosen_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake)
    return asked


def _open_tour(window: MainWindow) -> None:
    assert window.session.open_file(resources.scenario_file(resources.TOUR))
    window.session.set_step(5)


def test_file_export_menu_has_the_five_exports(window: MainWindow) -> None:
    actions = window.export_actions
    assert actions.menu.title() == "&Export"
    assert [a.text() for a in actions.menu.actions() if not a.isSeparator()] == [
        "Export &Graph…",
        "Export &Ladder…",
        "Export &Trace…",
        "Export Current &Message…",
        "Export Kamailio &Configs…",
    ]
    actions.menu.aboutToShow.emit()
    assert not actions.graph.isEnabled()  # nothing open yet
    assert not actions.configs.isEnabled()
    _open_tour(window)
    actions.menu.aboutToShow.emit()
    assert all(a.isEnabled() for a in actions.menu.actions())


def _choose_folder(monkeypatch: pytest.MonkeyPatch, folder: Path | None) -> None:
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", lambda *_a, **_k: "" if folder is None else str(folder)
    )


def test_export_kamailio_configs_into_a_folder(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_tour(window)
    scenario = window.session.scenario
    assert scenario is not None
    _choose_folder(monkeypatch, tmp_path)
    window.export_actions.configs.trigger()
    configs = scenario_configs(scenario)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P1.cfg", "P2.cfg", "P3.txt", "P4.cfg"]
    for config in configs:
        assert (tmp_path / config.name).read_text("utf-8") == config.text
    assert "4 configs" in window.statusBar().currentMessage()
    assert window.settings.value("export/folder") == str(tmp_path)


def test_export_kamailio_configs_asks_before_replacing_files(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_tour(window)
    (tmp_path / "P2.cfg").write_text("mine", encoding="utf-8")
    _choose_folder(monkeypatch, tmp_path)
    asked: list[str] = []

    def answer(reply: QMessageBox.StandardButton) -> None:
        def fake(_parent: object, _title: str, text: str, *_a: object) -> object:
            asked.append(text)
            return reply

        monkeypatch.setattr(QMessageBox, "question", fake)

    answer(QMessageBox.StandardButton.Cancel)
    window.export_actions.configs.trigger()
    assert asked == [f"{tmp_path} already has P2.cfg. Replace it?"]
    assert (tmp_path / "P2.cfg").read_text("utf-8") == "mine"
    assert not (tmp_path / "P1.cfg").exists()
    answer(QMessageBox.StandardButton.Yes)
    window.export_actions.configs.trigger()
    assert (tmp_path / "P2.cfg").read_text("utf-8").startswith("#!KAMAILIO")
    _choose_folder(monkeypatch, None)  # cancelled: nothing asked, nothing written
    asked.clear()
    window.export_actions.configs.trigger()
    assert asked == []


def test_export_kamailio_configs_reports_a_folder_it_cannot_write(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    _open_tour(window)
    _choose_folder(monkeypatch, tmp_path / "gone")
    with qtbot.waitSignal(window.session.error_raised) as blocker:
        window.export_actions.configs.trigger()
    title, message = blocker.args
    assert title == "Cannot export"
    assert message.startswith(f"{tmp_path / 'gone'}: ")


def test_export_graph_from_the_menu(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_tour(window)
    asked = _choose(monkeypatch, tmp_path / "graph", "SVG image (*.svg)")
    window.export_actions.graph.trigger()
    assert asked == ["Export Graph"]
    _svg(tmp_path / "graph.svg")  # the extension came from the chosen filter
    _choose(monkeypatch, tmp_path / "graph.png")
    window.export_actions.graph.trigger()
    image = _png(tmp_path / "graph.png")
    assert image.size() == image_size(window.scene)
    assert "graph" in window.statusBar().currentMessage()


def test_export_ladder_trace_and_message_from_the_menu(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_tour(window)
    trace = window.session.trace
    _choose(monkeypatch, tmp_path / "ladder.png")
    window.export_actions.ladder.trigger()
    assert _png(tmp_path / "ladder.png").size() == image_size(window.ladder)
    _choose(monkeypatch, tmp_path / "ladder.mmd")
    window.export_actions.ladder.trigger()
    assert (tmp_path / "ladder.mmd").read_text("utf-8") == mermaid(
        trace, window.ladder.canvas.names
    )
    _choose(monkeypatch, tmp_path / "trace.json")
    window.export_actions.trace.trigger()
    assert from_jsonable(json.loads((tmp_path / "trace.json").read_text("utf-8"))) == trace
    _choose(monkeypatch, tmp_path / "step6.sip")
    window.export_actions.message.trigger()
    current = window.session.current
    assert current is not None
    assert (tmp_path / "step6.sip").read_bytes() == (
        current.message_out or current.message_in
    ).encode("utf-8")


def test_export_errors_are_reported_once(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    _open_tour(window)
    _choose(monkeypatch, tmp_path / "missing-folder" / "graph.png")
    with qtbot.waitSignal(window.session.error_raised) as blocker:
        window.export_actions.graph.trigger()
    title, message = blocker.args
    assert title == "Cannot export"
    assert "missing-folder" in message
    # Cancelling the file dialog does nothing.
    _choose(monkeypatch, None)
    with qtbot.assertNotEmitted(window.session.error_raised):
        window.export_actions.trace.trigger()


def test_export_configs_of_no_proxies_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no proxies"):
        exports.export_configs((), tmp_path)
    assert list(tmp_path.iterdir()) == []
