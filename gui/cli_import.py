"""``routelab import CAPTURE``: the dialogs of a capture, a dialog as a scenario, and the report.

CAPTURE is a pcap or pcapng file (gzip-compressed or not), or a text file of SIP messages
(plain, sngrep's "save as text", Kamailio's sipdump).

* ``--list`` (the default) prints one line per dialog, tab-separated: Call-ID, first method,
  From, To, messages, addresses, start time (UTC).  What was skipped, and why, goes
  to stderr; a file with no SIP message at all is an error (exit status 2).
* ``--call-id ID -o FILE`` writes the scenario the dialog suggests.
* ``--report`` prints the predicted-versus-observed differences: of one dialog with
  ``--call-id`` (as Markdown), else of every dialog.  Exit status 1 when there are differences.
  Every hop checked, whether it matches, differs or cannot be verified, is numbered by the
  step of the in-dialog request as it reached the proxy.
* ``--element ADDRESS=NAME`` names an element; an address the dialog does not show is
  reported on stderr, and the elements not named keep their usual names where they can.
* ``--call-id ID`` alone prints the observed dialog hop by hop, like ``routelab trace``.

Bad input never gives a traceback: a missing file or an unknown Call-ID is one line on stderr
with exit status 2 (see :mod:`gui.cli`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import os
import sys
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from engine.catalog import DialogSummary, search
from gui.capture import CaptureError, ReadSummary, list_dialogs, read_dialog, read_dialogs
from gui.cli import PROG, UsageError

if TYPE_CHECKING:
    from engine.observe import Check, Difference, Observation

#: Bytes of messages one pass of ``--report`` (every dialog) keeps in memory.
REPORT_BATCH_BYTES = 128 << 20


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` subcommand to the ``routelab`` argument parser."""
    p = sub.add_parser(
        "import",
        help="read a capture: list its dialogs, write one as a scenario, report differences",
        description=(
            "Read a capture (pcap, pcapng, or a text file of SIP messages: plain, sngrep, "
            "Kamailio sipdump, Wireshark's dissections as text, or each message under a line "
            "about its packet as ngrep -W byline, FreeSWITCH's siptrace, Asterisk's pjsip "
            "logger and tcpdump -n -A print them, or a log of one message a line with its line "
            "ends escaped, #015#012 or \\r\\n). --list prints one line per "
            "dialog (Call-ID first, tab-separated); --call-id ID -o FILE writes that dialog "
            "as a scenario; --report prints what the proxies did differently from what "
            "loose_route() says (exit status 1 when there are differences)."
        ),
    )
    p.add_argument("capture", metavar="CAPTURE", help="a pcap, pcapng or text file")
    p.add_argument(
        "--list",
        action="store_true",
        help="list the dialogs: Call-ID, method, From, To, messages, addresses, start (UTC)",
    )
    p.add_argument("--search", metavar="TEXT", help="with --list: only dialogs matching TEXT")
    p.add_argument("--call-id", metavar="ID", help="the dialog to import")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write the dialog as a scenario (needs --call-id)"
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="print the predicted-versus-observed differences (of --call-id, else of all)",
    )
    p.add_argument(
        "--element",
        action="append",
        default=[],
        metavar="ADDRESS=NAME",
        help="name the element at ADDRESS (ip:port); one name for several addresses merges "
        "them, different names split them (repeatable)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no read summary on stderr")
    p.set_defaults(func=_cmd_import)


def _summary(summary: ReadSummary, quiet: bool) -> None:
    if quiet:
        return
    for line in summary.lines():
        print(f"{PROG}: {line}", file=sys.stderr)


def format_start(start: float | None) -> str:
    """A dialog's start time as ISO 8601 UTC with milliseconds ("-" when unknown).

    >>> format_start(1700000000.25)
    '2023-11-14T22:13:20.250Z'
    """
    if start is None:
        return "-"
    try:
        stamp = dt.datetime.fromtimestamp(start, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return "-"
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def format_dialog(d: DialogSummary) -> str:
    """One ``--list`` line: tab-separated, Call-ID first."""
    fields = (
        d.call_id,
        d.method,
        d.from_uri or "-",
        d.to_uri or "-",
        str(d.messages),
        str(d.elements),
        format_start(d.start),
    )
    return "\t".join(f.replace("\t", " ") for f in fields)


def _groups(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        address, sep, name = item.partition("=")
        if not sep or not address.strip() or not name.strip():
            raise UsageError(f"--element {item!r}: expected ADDRESS=NAME, e.g. 10.0.0.2:5060=P1")
        out[address.strip()] = name.strip()
    return out


def _cmd_import(args: argparse.Namespace) -> int:
    if args.output and not args.call_id:
        raise UsageError("-o/--output needs --call-id (routelab import CAPTURE --list shows them)")
    if args.list and (args.call_id or args.report):
        raise UsageError("--list lists dialogs; leave out --call-id and --report")
    try:
        if args.call_id:
            return _one_dialog(args)
        if args.report:
            return _report_all(args)
        return _list(args)
    except CaptureError as exc:
        raise UsageError(str(exc)) from None


def _list(args: argparse.Namespace) -> int:
    listing = list_dialogs(args.capture)
    summary = listing.summary
    if summary.messages == 0:
        size = os.path.getsize(args.capture)
        # The error below says it, once.
        summary.notes[:] = [n for n in summary.notes if n != "no SIP message was found"]
        _summary(summary, args.quiet)
        read = (
            f"{_lines_read(args.capture)} lines read"
            if summary.format.startswith("text") or not summary.format
            else f"{summary.frames} frames read"
        )
        raise UsageError(
            f"{args.capture}: no SIP message was found ({read})"
            if size
            else f"{args.capture}: the file is empty"
        )
    dialogs = listing.catalog.dialogs()
    if args.search:
        dialogs = search(dialogs, args.search)
    out = sys.stdout
    for d in dialogs:
        out.write(format_dialog(d) + "\n")
    out.flush()
    _summary(summary, args.quiet)
    return 0


def _lines_read(path: str) -> int:
    """The lines of a text capture (gzip-compressed or not)."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    lines = 0
    last = b"\n"
    try:
        with gzip.open(path, "rb") if compressed else open(path, "rb") as f:
            # A chunk at a time: the file may be large, and is no SIP at all.
            while chunk := f.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (OSError, EOFError, zlib.error):
        return lines
    return lines + (last != b"\n")


def _unknown_elements(groups: dict[str, str], shown: set[str]) -> None:
    """Say on stderr which --element addresses no dialog shows (they name nothing)."""
    from engine.observe import normal_address

    for address, name in groups.items():
        if normal_address(address) not in shown:
            print(
                f"{PROG}: warning: --element {address}={name}: no message of the dialog is "
                f"from or to {normal_address(address) or address!r}; it names nothing",
                file=sys.stderr,
            )


def _mismatches(obs: Observation) -> list[tuple[Check, Difference]]:
    """Each difference with its check, to be numbered like every other check: by the step of
    the request as it reached the proxy (``Check.step``; ``Difference.step`` is the step of
    what the proxy sent, where the trace shows the mismatch)."""
    return [(c, d) for c in obs.checks for d in c.differences]


def _observe(args: argparse.Namespace) -> tuple[Observation, ReadSummary]:
    from engine.observe import observe

    messages, summary = read_dialog(args.capture, args.call_id)
    if not messages:
        _summary(summary, args.quiet)
        raise UsageError(
            f"{args.capture}: no message with Call-ID {args.call_id!r} "
            f"(routelab import {args.capture} --list shows the Call-IDs)"
        )
    title = f"{Path(args.capture).name}: {args.call_id}"
    groups = _groups(args.element)
    obs = observe(messages, groups=groups, title=title)
    _unknown_elements(groups, {a for a, _ in obs.groups})
    return obs, summary


def _one_dialog(args: argparse.Namespace) -> int:
    from engine.observe import report
    from engine.scenario import dumps

    obs, summary = _observe(args)
    _summary(summary, args.quiet)
    status = 0
    if args.output:
        if obs.scenario is None:
            raise UsageError(f"cannot write a scenario for {args.call_id}: {obs.scenario_problem}")
        _write(Path(args.output), dumps(obs.scenario))
        if not args.quiet:
            s = obs.scenario
            print(
                f"{PROG}: wrote {args.output}: {len(s.user_agents)} user agents, "
                f"{len(s.proxies)} proxies, {1 + len(s.requests)} requests",
                file=sys.stderr,
            )
    if args.report:
        sys.stdout.write(report(obs, source=str(args.capture)))
        status = 1 if obs.differences else 0
    elif not args.output:
        from gui.cli_trace import format_trace

        print(format_trace(obs.trace))
        for c, d in _mismatches(obs):
            print(f"difference: step {c.step + 1} (sent on at step {d.step + 1}): {d.text}")
    return status


def _report_all(args: argparse.Namespace) -> int:
    from engine.observe import observe

    listing = list_dialogs(args.capture)
    _summary(listing.summary, args.quiet)
    dialogs = listing.catalog.dialogs()
    average = max(1, (os.path.getsize(args.capture) // max(1, listing.summary.frames)))
    batches: list[list[str]] = [[]]
    size = 0
    for d in dialogs:
        cost = d.messages * (average + 600)
        if batches[-1] and size + cost > REPORT_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(d.call_id)
        size += cost
    groups = _groups(args.element)
    shown: set[str] = set()
    checked = differing = total = 0
    out = sys.stdout
    for batch in batches:
        if not batch:
            continue
        found, _ = read_dialogs(args.capture, batch)
        for call_id in batch:
            obs = observe(found[call_id], groups=groups, title=call_id, with_scenario=False)
            shown.update(a for a, _ in obs.groups)
            checked += len(obs.checks)
            diffs = _mismatches(obs)
            if diffs:
                differing += 1
                total += len(diffs)
                out.write(f"{call_id}: {len(diffs)} difference(s)\n")
                for c, diff in diffs:
                    out.write(f"  step {c.step + 1}, {c.element}, {c.method}: {diff.text}\n")
            del found[call_id]
    out.write(
        f"{len(dialogs)} dialogs, {checked} in-dialog hops through a proxy checked, "
        f"{total} difference(s) in {differing} dialog(s) (steps: the request as it reached "
        "the proxy)\n"
    )
    _unknown_elements(groups, shown)
    return 1 if total else 0


def _write(path: Path, text: str) -> None:
    """Write atomically: a temporary file beside the target, then a rename."""
    directory = path.resolve().parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UsageError(f"{path}: {exc.strerror or exc}") from None


__all__ = ["add_parsers", "format_dialog", "format_start"]
