"""The inspector's words for a step: what the element did, and what changed in the message."""

from __future__ import annotations

from engine.scenario import loads
from engine.simulate import simulate
from engine.trace import StepKind, TraceStep
from gui.inspector import explanation_html, message_diff_html
from resources import scenario_text
from tests.engine.test_simulate import scenario


def _reply_step() -> TraceStep:
    """P2 cannot resolve the re-INVITE's R-URI: its tm answers 478 itself."""
    trace = simulate(
        scenario(
            requests=[
                {"method": "ACK", "from": "Alice"},
                {"method": "INVITE", "from": "Alice", "request_uri": "sip:bob@nowhere.example"},
            ]
        )
    )
    (step,) = [s for s in trace.steps_of(2) if s.kind is StepKind.PROXY and s.status]
    return step


def test_a_proxy_that_answers_is_said_to_answer_not_to_send(qapp: object) -> None:
    step = _reply_step()
    text = explanation_html(step, 40)
    assert "answers <b>478 Unresolvable destination (478/TM)</b>" in text
    assert "back along the Via path to <b>P1</b>" in text
    assert "sends it to" not in text


def test_the_diff_of_an_answer_labels_the_status_line(qapp: object) -> None:
    step = _reply_step()
    diff = message_diff_html(step.message_in, step.message_out)
    assert "(the answer)" in diff
    assert "(the request it answers)" in diff
    assert "R-URI changed" not in diff


def test_a_forwarding_proxy_sends_and_its_new_r_uri_is_labelled(qapp: object) -> None:
    trace = simulate(loads(scenario_text("tour")))
    step = next(
        s
        for s in trace.steps
        if s.kind is StepKind.PROXY and s.status is None and s.ruri_before != s.ruri_after
    )
    assert "and sends it to" in explanation_html(step, len(trace.steps))
    diff = message_diff_html(step.message_in, step.message_out)
    assert "(R-URI changed)" in diff
    assert "(the answer)" not in diff
