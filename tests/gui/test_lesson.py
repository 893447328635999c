"""The Lesson panel's text: what a scenario teaches, its step numbers linked."""

from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

import resources
from engine.scenario import loads
from gui.lesson import LessonView, lesson_html, scenario_html

TOUR = loads(resources.scenario_text("tour"))


def test_only_steps_of_the_trace_are_links_not_steps_of_an_rfc_procedure() -> None:
    s = replace(TOUR, highlights=("Step 3, P2: see RFC 3261 16.6 step 4; steps 40 on.",))
    text = scenario_html(s, steps=33)
    assert '<a href="step:3">Step 3</a>' in text
    assert "16.6 step 4" in text
    assert 'href="step:4"' not in text
    assert 'href="step:40"' not in text  # the trace has 33


def test_the_description_keeps_its_paragraphs_and_lines() -> None:
    s = replace(TOUR, description="First.\n\nSecond,\nwith a line.")
    assert "<p>First.</p><p>Second,<br>with a line.</p>" in scenario_html(s)


def test_nothing_to_teach_says_why() -> None:
    assert "fix the field marked in the composer" in lesson_html(None, 0)
    assert "This capture suggests no scenario" in lesson_html(None, 5, observed=True)


def test_the_same_lesson_again_leaves_the_panel_where_the_reader_scrolled(qtbot: QtBot) -> None:
    view = LessonView()
    qtbot.addWidget(view)
    view.resize(200, 120)
    view.show()
    qtbot.waitExposed(view)
    view.show_scenario(TOUR, 33)
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())
    kept = view.verticalScrollBar().value()
    assert kept > 0
    view.show_scenario(TOUR, 33)
    assert view.verticalScrollBar().value() == kept


def test_the_lesson_says_the_words_it_uses_and_only_those() -> None:
    text = lesson_html(TOUR, 33)
    assert "<p><b>Words used here</b></p>" in text
    assert "<b>r2</b>: marks the two Record-Route values" in text
    assert "<b>flow token</b>" not in text  # the tour has none
    plain = replace(TOUR, description="Two proxies.", highlights=("Nothing special.",))
    assert "Words used here" not in lesson_html(plain, 33)
