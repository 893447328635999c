"""The ladder: lifelines and arrows follow the trace, selection syncs both ways, and a
50-element, 1,000-message ladder builds and scrolls fast (pytest-qt, offscreen)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from engine.scenario import loads
from engine.trace import StepKind, Trace
from gui import resources
from gui.ladder import ROW, LadderScene, LadderView
from gui.main_window import MainWindow
from gui.render import document, ladder_order
from tests.bench.bench_render import big_trace

LIBRARY = resources.scenario_files()


@pytest.fixture
def window(qtbot: QtBot, isolated_settings: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(settings=isolated_settings)
    yield win
    win.session.undo_stack.setClean()
    win.close()
    win.deleteLater()


def _trace(path: Path) -> tuple[Trace, list[str]]:
    doc = document(loads(path.read_text(encoding="utf-8")))
    return doc.trace, ladder_order(doc.positions)


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_lifelines_and_arrows_match_the_trace(qtbot: QtBot, path: Path) -> None:
    trace, order = _trace(path)
    scene = LadderScene()
    scene.set_trace(trace, order)
    canvas = scene.canvas
    # One lifeline per element, in the layout's order, each once.
    assert canvas.names[: len(order)] == order
    assert len(set(canvas.names)) == len(canvas.names)
    assert {s.element for s in trace.steps} <= set(canvas.names)
    # One arrow per step, time downwards, from the element to the next one.
    assert len(canvas.steps) == len(trace.steps)
    previous_y = -1.0
    for row, step in enumerate(trace.steps):
        arrow = canvas.arrow(row)
        assert arrow.y > previous_y
        previous_y = arrow.y
        assert arrow.x1 == canvas.x_of(step.element)
        # A reply shown in one step spans its whole way back (its path), as on the graph.
        end = step.path[-1] if step.path else step.next_element
        if end and end != step.element:
            assert arrow.x2 == canvas.x_of(end)
        else:
            assert arrow.x2 is None  # delivered here, or a dead end: a circle
        # Responses are dashed, a proxy's own answer too.
        assert arrow.response == (step.kind is StepKind.RESPONSE or step.status is not None)
        first_line = (step.message_out or step.message_in).split("\r\n", 1)[0]
        assert arrow.label.split(" ")[0] in (first_line or step.method)
        assert canvas.step_at(QPointF(arrow.x1, arrow.y)) == row
        assert canvas.step_at(QPointF(arrow.x1, arrow.y + ROW * 0.4)) == row
    # The scene is as big as the diagram, and every row paints without error.
    assert scene.sceneRect() == canvas.boundingRect()
    image = QImage(400, 300, QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(image)
    scene.render(painter)
    painter.end()


def test_rc_and_flags_are_drawn_where_the_trace_has_them(qtbot: QtBot) -> None:
    trace, order = _trace(resources.scenario_file(resources.TOUR))
    scene = LadderScene()
    scene.set_trace(trace, order)
    with_rc = [s for s in trace.steps if s.rc is not None]
    assert with_rc, "the tour calls loose_route()"
    # The marks sit to the right of the arrow's start, inside the row's rectangle.
    for step in with_rc:
        rect = scene.canvas.arrow_rect(step.index)
        assert rect.contains(QPointF(scene.canvas.x_of(step.element) + 20, rect.center().y()))


def test_ladder_follows_the_session_and_clicks_select_steps(
    window: MainWindow, qtbot: QtBot
) -> None:
    assert window.session.open_file(resources.scenario_file(resources.TOUR))
    window.centre.setCurrentIndex(window.centre.indexOf(window.ladder_view))
    window.show()
    qtbot.waitExposed(window)
    canvas = window.ladder.canvas
    view = window.ladder_view
    last = len(window.session.trace.steps) - 1
    # Session -> ladder: the current arrow is highlighted and scrolled into sight.
    for index in (0, last // 2, last, 3):
        window.session.set_step(index)
        assert canvas.current == index
        arrow = canvas.arrow(index)
        on_screen = view.mapFromScene(QPointF(arrow.x1, arrow.y))
        assert view.viewport().rect().contains(on_screen), index
    # Ladder -> session: clicking an arrow selects its step everywhere.
    target = last - 2
    window.session.set_step(target)  # scrolls it into sight
    window.session.set_step(0)
    arrow = canvas.arrow(target)
    window.session.set_step(target - 1)
    pos = view.mapFromScene(QPointF(arrow.x1, arrow.y))
    with qtbot.waitSignal(window.session.step_changed) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [target]
    assert window.session.step_index == target
    assert window.timeline.currentIndex().row() == target


def test_fit_and_zoom_act_on_the_ladder_when_it_is_in_sight(
    window: MainWindow, qtbot: QtBot
) -> None:
    assert window.session.open_file(resources.scenario_file("five-proxy-chain"))
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    view = window.ladder_view
    graph_scale = window.view.transform().m11()
    window.centre.setCurrentIndex(window.centre.indexOf(view))
    assert window.drawing() is view
    width = view.sceneRect().width()
    assert width > view.viewport().width()  # seven lifelines: wider than the centre
    # Fit: the whole width in sight, as far as the names stay readable.
    window.act_fit.trigger()
    scale = view.transform().m11()
    assert scale == max(LadderView.MIN_FIT, view.viewport().width() / width)
    assert view.auto_fit
    window.act_zoom_in.trigger()
    assert view.transform().m11() == pytest.approx(scale * 1.2)
    assert not view.auto_fit
    window.act_zoom_out.trigger()
    assert view.transform().m11() == pytest.approx(scale)
    assert window.view.transform().m11() == graph_scale  # the graph is left as it was
    # The current step is still brought into sight, under the sticky parts, when zoomed.
    last = len(window.session.trace.steps) - 1
    window.session.set_step(last)
    arrow = view.ladder.canvas.arrow(last)
    on_screen = view.mapFromScene(QPointF(arrow.x1, arrow.y))
    assert view.viewport().rect().contains(on_screen)
    assert on_screen.y() > LadderView.BAND
    # Back on the graph, the actions act on the graph again.
    window.centre.setCurrentIndex(window.centre.indexOf(window.view))
    window.act_zoom_in.trigger()
    assert window.view.transform().m11() == pytest.approx(graph_scale * 1.2)


def test_a_narrow_ladder_is_fitted_at_its_own_size_and_ctrl_wheel_zooms(qtbot: QtBot) -> None:
    trace, order = _trace(resources.scenario_file("no-record-route"))
    scene = LadderScene()
    scene.set_trace(trace, order)
    view = LadderView(scene)
    qtbot.addWidget(view)
    view.resize(int(scene.sceneRect().width()) + 200, 500)
    view.show()
    qtbot.waitExposed(view)
    view.fit()
    assert view.transform().m11() == 1.0  # never enlarged to fill the width
    centre = view.viewport().rect().center()

    def wheel(modifiers: Qt.KeyboardModifier) -> None:
        event = QWheelEvent(
            QPointF(centre),
            QPointF(view.viewport().mapToGlobal(centre)),
            QPoint(),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            modifiers,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        view.wheelEvent(event)

    wheel(Qt.KeyboardModifier.NoModifier)
    assert view.transform().m11() == 1.0  # the plain wheel scrolls
    wheel(Qt.KeyboardModifier.ControlModifier)
    assert view.transform().m11() == pytest.approx(1.15)
    for _ in range(40):
        wheel(Qt.KeyboardModifier.ControlModifier)
    assert view.transform().m11() <= LadderView.MAX_SCALE


def test_ladder_view_keeps_names_and_numbers_in_sight(qtbot: QtBot) -> None:
    trace = big_trace()
    scene = LadderScene()
    scene.set_trace(trace, list(dict.fromkeys(s.element for s in trace.steps)))
    view = LadderView(scene)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.zoom(1 / view.transform().m11())  # at its own size: wider than the view
    view.scroll_to_start()
    assert not view.sticky_header()
    assert not view.sticky_gutter()
    view.reveal(scene.set_current(600))
    assert view.sticky_header()
    assert view.sticky_gutter()
    arrow = scene.canvas.arrow(600)
    on_screen = view.mapFromScene(QPointF(arrow.x1, arrow.y))
    assert view.viewport().rect().contains(on_screen)
    # Below the sticky names: the arrow is not hidden under them.
    assert on_screen.y() > LadderView.BAND
    assert view.row_at(on_screen) == 600
    # A click on the sticky names selects nothing behind them.
    clicked: list[int] = []
    scene.step_clicked.connect(clicked.append)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=on_screen)
    assert clicked == [600]
    top = on_screen
    top.setY(5)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=top)
    assert clicked == [600]
    # And it paints (the sticky parts draw in viewport coordinates without error).
    assert not view.grab().isNull()


def test_fifty_elements_and_a_thousand_messages_build_and_scroll_fast(qtbot: QtBot) -> None:
    trace = big_trace()
    elements = {s.element for s in trace.steps}
    assert len(elements) >= 50
    assert len(trace.steps) >= 1000
    start = time.perf_counter()
    scene = LadderScene()
    scene.set_trace(trace, sorted(elements))
    built = time.perf_counter() - start
    assert built < 1.0, f"ladder build took {built:.3f} s"
    view = LadderView(scene)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    bar = view.verticalScrollBar()
    frames = 40
    start = time.perf_counter()
    for i in range(frames):
        bar.setValue(i * bar.maximum() // frames)
        view.viewport().repaint()
    per_frame = (time.perf_counter() - start) / frames
    # A full repaint per scroll step; 60 frames a second leave 16 ms.  Generous for CI.
    assert per_frame < 0.05, f"{per_frame * 1000:.1f} ms per scrolled frame"


def test_the_ladder_is_fitted_when_first_shown(window: MainWindow, qtbot: QtBot) -> None:
    assert window.session.open_file(resources.scenario_file("five-proxy-chain"))
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    view = window.ladder_view
    window.centre.setCurrentWidget(view)  # never fitted by hand
    width = view.sceneRect().width()
    qtbot.waitUntil(
        lambda: view.transform().m11() == max(LadderView.MIN_FIT, view.viewport().width() / width)
    )
    assert view.transform().m11() < 1.0


def test_the_labels_follow_the_application_font(qapp: QApplication) -> None:
    from PySide6.QtGui import QFont

    from gui.ladder import LABEL_SCALE, LadderCanvas, label_font

    before = qapp.font()
    canvas = LadderCanvas()
    try:
        heights = []
        for size in (9.0, 14.0):
            font = QFont(before)
            font.setPointSizeF(size)
            qapp.setFont(font)
            assert label_font().pointSizeF() == pytest.approx(size * LABEL_SCALE)
            heights.append(canvas._metrics.height())
        assert heights[1] > heights[0]
    finally:
        qapp.setFont(before)
