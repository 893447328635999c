"""``routelab trace SCENARIO``: play a scenario and print every hop, or the trace as JSON.

SCENARIO is a file, or the name of a library scenario (``routelab trace tour``).  Bad files
raise :class:`engine.errors.ScenarioError`, which ``gui.cli.main`` prints as one line with exit
status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import textwrap

import resources
from engine.scenario import loads
from engine.simulate import simulate
from engine.trace import StepKind, Trace, TraceStep, to_jsonable
from gui.cli import UsageError

MAX_FILE_SIZE = 2_000_000
WIDTH = 100


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``trace`` subcommand to the ``routelab`` argument parser."""
    p = sub.add_parser(
        "trace",
        help="play a scenario hop by hop and print what each element did",
        description=(
            "Play a scenario's dialog hop by hop: each element, its request line, the rr "
            "return codes, what changed and why, and the flags. SCENARIO is a file or the "
            f"name of a library scenario ({', '.join(resources.list_scenarios()[:3])}, ...)."
        ),
    )
    p.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a library name")
    p.add_argument("--json", action="store_true", help="print the whole trace as JSON")
    p.set_defaults(func=_cmd_trace)


def read_scenario_text(name: str) -> str:
    """The text of a scenario file, else of the library scenario of that name."""
    if os.path.isfile(name):
        size = os.path.getsize(name)
        if size > MAX_FILE_SIZE:
            raise UsageError(f"{name}: {size} bytes is too large for a scenario")
        try:
            with open(name, encoding="utf-8") as fh:
                return fh.read()
        except UnicodeDecodeError as exc:
            raise UsageError(f"{name}: not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise UsageError(f"{name}: {exc.strerror or exc}") from None
    if name.removesuffix(".json") in resources.list_scenarios():
        return resources.scenario_text(name)
    if os.path.exists(name):
        raise UsageError(f"{name}: not a file")
    library = ", ".join(resources.list_scenarios())
    raise UsageError(f"{name}: no such file, and no library scenario of that name ({library})")


def _cmd_trace(args: argparse.Namespace) -> int:
    text = read_scenario_text(args.scenario)
    trace = simulate(loads(text))
    if args.json:
        print(json.dumps(to_jsonable(trace), indent=2, sort_keys=True))
    else:
        print(format_trace(trace))
    return 0


def _first_line(text: str) -> str:
    return text.split("\r\n", 1)[0]


def _wrap(label: str, text: str) -> list[str]:
    indent = " " * 8
    head = f"{indent}{label:<8}"
    lines = textwrap.wrap(
        text,
        WIDTH,
        initial_indent=head,
        subsequent_indent=indent + " " * 8,
        break_on_hyphens=False,
        break_long_words=False,
    )
    return lines or [head.rstrip()]


def format_step(step: TraceStep) -> list[str]:
    """The lines for one step: who, where to, the start line, return code, changes, why."""
    arrow = f"{step.element} -> {step.next_element}" if step.next_element else step.element
    message = step.message_out or step.message_in
    line = _first_line(message) if message else "(nothing sent)"
    rc = f"   rc {step.rc}" if step.rc is not None else ""
    flags = f"   [{', '.join(f.value for f in step.flags)}]" if step.flags else ""
    # Counted from 1, as the app's timeline and `render --step` count.
    out = [f"  #{step.index + 1:<3} {arrow:<18} {line}{rc}{flags}"]
    if step.kind is StepKind.PROXY:
        if step.ruri_after and step.ruri_after != step.ruri_before:
            out += _wrap("R-URI", f"{step.ruri_before} -> {step.ruri_after}")
        if step.du_after:
            out += _wrap("$du", step.du_after)
        if step.forced_socket:
            out += _wrap("socket", f"forced {step.forced_socket}")
        changes = [f"- {r}" for r in step.routes_removed]
        if step.route_appended:
            changes.append(f"+ {step.route_appended} (appended last)")
        if changes:
            out += _wrap("Route", ", ".join(changes))
        if step.record_routes_added:
            out += _wrap("RR", ", ".join(f"+ {r}" for r in step.record_routes_added))
        if step.received_on and step.sent_from and step.received_on != step.sent_from:
            out += _wrap("sockets", f"in {step.received_on}, out {step.sent_from}")
        for call in step.rr_calls:
            out += _wrap(
                "call", f"{call.call} = {call.rc}" + (f": {call.meaning}" if call.meaning else "")
            )
            for d in call.decisions:
                out += _wrap("why", f"[{d.rule}] {d.text}")
    if step.note:
        out += _wrap("note", step.note)
    return out


def format_trace(trace: Trace) -> str:
    """The whole trace for people, one block per request."""
    lines = [trace.title]
    lines += [f"warning: {w}" for w in trace.warnings]
    for i, label in enumerate(trace.requests):
        lines.append("")
        lines.append(f"[{i + 1}] {label}")
        for step in trace.steps_of(i):
            lines += format_step(step)
    return "\n".join(lines)


__all__ = ["add_parsers", "format_step", "format_trace", "read_scenario_text"]
