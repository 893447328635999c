"""``routelab render SCENARIO -o FILE``: the graph, the ladder, the trace or a message, headless.

The format follows the extension of FILE: ``.png`` and ``.svg`` (the graph, or the ladder with
``--view ladder``), ``.mmd`` (the ladder as a Mermaid sequence diagram), ``.txt``, ``.md`` and
``.json`` (the trace), ``.sip`` (the message of ``--step N``, step 1 by default).  It never
opens a window: a QApplication is started only for the pictures, on the offscreen platform
unless ``QT_QPA_PLATFORM`` says otherwise.  Bad input gives one line and exit status 2
(:class:`gui.cli.UsageError`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gui.cli import UsageError

FORMATS = (".png", ".svg", ".mmd", ".txt", ".md", ".json", ".sip")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``render`` subcommand to the ``routelab`` argument parser."""
    p = sub.add_parser(
        "render",
        help="write the graph, the ladder, the trace or a message to a file, without a window",
        description=(
            "Render a scenario headless. The format follows the extension of FILE: .png and "
            ".svg (the graph, or the ladder with --view ladder), .mmd (the ladder as a Mermaid "
            "sequence diagram), .txt, .md and .json (the trace), .sip (the message of --step, "
            "step 1 by default). SCENARIO is a file or the name of a library scenario."
        ),
    )
    p.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a library name")
    p.add_argument("--step", type=int, default=None, metavar="N", help="show step N (1-based)")
    p.add_argument(
        "--view",
        choices=("graph", "ladder"),
        default=None,
        help="the picture for .png and .svg (default: graph)",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=2.0,
        help="pixels per scene unit for .png (default 2; lowered for very large pictures)",
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    p.set_defaults(func=_cmd_render)


def _cmd_render(args: argparse.Namespace) -> int:
    from engine.errors import EngineError
    from engine.scenario import loads
    from gui.cli_trace import read_scenario_text

    output: str = args.output
    suffix = Path(output).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"-o {output}: the extension decides the format; use one of {' '.join(FORMATS)}"
        )
    if args.view == "graph" and suffix == ".mmd":
        raise UsageError("a .mmd file is the ladder as a Mermaid diagram: use --view ladder")
    if not 0 < args.scale <= 8:
        raise UsageError(f"--scale {args.scale}: use a number above 0 and at most 8")
    scenario = loads(read_scenario_text(args.scenario))
    # Qt only now: the text formats need it for nothing but the module imports.
    from gui import exports, render

    try:
        doc = render.document(scenario)
        index = render.check_step(doc.trace, args.step)
    except EngineError as exc:
        raise UsageError(f"{args.scenario}: {exc}") from None
    if suffix in (".png", ".svg"):
        render.ensure_app()
    try:
        written = exports.export_document(
            output, doc, view=args.view or "graph", index=index, scale=args.scale
        )
    except exports.ExportError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{output}: {exc.strerror or exc}") from None
    print(written.describe(), file=sys.stderr)
    return 0


__all__ = ["FORMATS", "add_parsers"]
