"""The ``routelab`` command.

``routelab`` alone opens the app on its tour scenario; ``routelab FILE`` opens a
scenario; ``routelab rr ...`` runs the rr engine on requests; ``routelab trace``
plays a scenario hop by hop; ``routelab config`` gives its proxies' kamailio.cfg.
Qt is imported only when a window is needed, so the engine commands start fast and
work without a display.

Rule: no traceback ever reaches the user.  Bad input gives one line that says
what and where, and exit status 2 (1 for ``--check`` failures).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import IO, Any, NoReturn

import orjson

from engine.batch import EXPECTED_FIELDS, VectorRun, check_source, compare, evaluate, run_vector
from engine.core import drop_error
from engine.errors import EngineError
from engine.message import SipMessage, SipRequest, parse_message
from engine.packetline import Packet
from engine.proxy import Outbound, Proxy
from engine.script import parse_script

PROG = "routelab"


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit status 2."""


def _fail(message: str, status: int = 2) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(status)


# --------------------------------------------------------------------------
# routelab rr


def _rr_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rr",
        help="run loose_route()/record_route() on a request, or on a file of vectors",
        description=(
            "Run Kamailio 5.6.3's rr functions on one SIP request (from FILE or stdin), "
            "or on a JSONL file of vectors."
        ),
    )
    p.add_argument("file", nargs="?", help="the request (default: stdin); '-' for stdin")
    p.add_argument(
        "--listen",
        action="append",
        default=[],
        metavar="SOCKET",
        help="a listen socket proto:host:port [advertise host:port] (repeatable; default: "
        "guessed as the paste dialog does, from where a capture's packet line says the "
        "request went and from the URI that names the proxy: the top Route and its r2 "
        "partner, or the R-URI after a strict router; said on stderr)",
    )
    p.add_argument("--alias", action="append", default=[], help="[proto:]host[:port] (repeatable)")
    p.add_argument(
        "--modparam",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an rr module parameter, e.g. enable_double_rr=0 (repeatable)",
    )
    p.add_argument("--outbound", action="store_true", help="load the outbound module before rr")
    p.add_argument("--flow-token-secret", help="outbound flow_token_secret (ignored by 5.6.3)")
    p.add_argument("--force-outbound-flag", type=int, help="outbound force_outbound_flag")
    p.add_argument("--force-no-outbound-flag", type=int, help="outbound force_no_outbound_flag")
    p.add_argument("--source", help="where the request came from, proto:ip:port")
    p.add_argument("--received-on", help="the socket it arrived on (default: first --listen)")
    p.add_argument("--send-socket", help="the socket it leaves from (default: --received-on)")
    p.add_argument("--flags", type=int, default=0, help="message flag bit mask")
    p.add_argument(
        "--script",
        default="loose_route()",
        help='the rr calls, e.g. "record_route();loose_route()" (default: loose_route())',
    )
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--vectors", metavar="FILE.jsonl", help="run each vector, print one JSON object a line"
    )
    group.add_argument(
        "--check", metavar="FILE.jsonl", help="compare each vector with its expected fields"
    )
    p.set_defaults(func=_cmd_rr)


def _proxy_from_args(args: argparse.Namespace) -> Proxy:
    modparams: dict[str, object] = {}
    for item in args.modparam:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--modparam {item!r}: expected NAME=VALUE")
        modparams[name.strip()] = value.strip()
    outbound = None
    if args.outbound or args.flow_token_secret or args.force_outbound_flag is not None:
        outbound = Outbound(
            flow_token_secret=args.flow_token_secret,
            force_outbound_flag=args.force_outbound_flag,
            force_no_outbound_flag=args.force_no_outbound_flag,
        )
    listen = args.listen or [DEFAULT_LISTEN]
    return Proxy.build(listen=listen, aliases=args.alias, modparams=modparams, outbound=outbound)


#: The proxy's socket when the engine builds it from arguments without --listen (the rr
#: command guesses one first: _guess_listen).
DEFAULT_LISTEN = "udp:127.0.0.1:5060"


def _read_text(path: str | None) -> tuple[str, str]:
    if path in (None, "-"):
        return sys.stdin.read(), "<stdin>"
    assert path is not None
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            return fh.read(), path
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None


def outcome_json(run: VectorRun) -> dict[str, Any]:
    """The JSON form of one run: the expected fields, the proxy it ran at (given or
    guessed), each call and its decision steps."""
    out: dict[str, Any] = dict(run.fields)
    proxy = run.context.proxy
    out["proxy"] = {
        "listen": [s.describe() for s in proxy.listen],
        "aliases": [str(a) for a in proxy.aliases],
    }
    out["calls"] = [
        {
            "call": str(call),
            "rc": res.rc,
            "meaning": res.meaning,
            "path": res.path,
            "removed": list(res.removed),
            "appended": res.appended,
            "added": list(res.added),
            "steps": [{"rule": s.rule, "text": s.text} for s in res.steps],
        }
        for call, res in zip(run.calls, run.results, strict=True)
    ]
    return out


def format_outcome(run: VectorRun) -> str:
    """The outcome for people: each call's return code, the fields, then the steps."""
    lines: list[str] = []
    for call, res in zip(run.calls, run.results, strict=True):
        meaning = res.meaning
        lines.append(f"{call} = {res.rc}" + (f"  ({meaning})" if meaning else ""))
    f = run.fields
    lines.append("")
    ruri = run.context.ruri
    unreadable = "  ($ru is empty: Kamailio cannot parse it)" if f["ruri"] != ruri else ""
    lines.append(f"  R-URI          {ruri}{unreadable}")
    lines.append(f"  $du            {f['du'] if f['du'] is not None else '(unset)'}")
    lines.append(f"  forced socket  {f['fs'] if f['fs'] is not None else '(none)'}")
    routes = f["routes"]
    lines.append(f"  Route          {routes[0] if routes else '(none)'}")
    lines.extend(f"                 {r}" for r in routes[1:])
    removed = [r for res in run.results for r in res.removed]
    if removed:
        lines.append(f"  removed        {removed[0]}")
        lines.extend(f"                 {r}" for r in removed[1:])
    appended = [res.appended for res in run.results if res.appended]
    if appended:
        lines.append(f"  appended       {appended[0]}")
    if "record_routes" in f:
        rrs = f["record_routes"]
        lines.append(f"  Record-Route   {rrs[0] if rrs else '(none)'}")
        lines.extend(f"                 {r}" for r in rrs[1:])
    lines.append("")
    lines.append("Why:")
    n = 0
    for res in run.results:
        for step in res.steps:
            n += 1
            lines.append(f"  {n}. [{step.function}: {step.rule}] {step.text}")
    return "\n".join(lines)


def _iter_jsonl(path: str) -> Iterator[tuple[int, str]]:
    if path == "-":
        yield from enumerate(sys.stdin, start=1)
        return
    try:
        fh: IO[str] = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    with fh:
        yield from enumerate(fh, start=1)


def _decode(line: str) -> Any:
    """One JSON line decoded.

    orjson reads a vector line three times as fast as the json module; a line it refuses
    goes to json, whose verdict and error message count (json also takes what orjson
    does not: NaN, lone surrogates).  The one silent difference: an integer beyond 64
    bits reads as a float, which the vector fields refuse with a clear message.
    """
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def _encode(record: dict[str, Any]) -> str:
    """One output line, compact JSON; json's escapes where orjson refuses (surrogates)."""
    try:
        return orjson.dumps(record).decode()
    except TypeError:
        return json.dumps(record, separators=(",", ":"))


def _vector_or_error(path: str, n: int, line: str) -> tuple[Any, Any, dict[str, Any] | str]:
    """Decode and run one line: (decoded object, id, fields) or (object, id, error text)."""
    try:
        obj = _decode(line.rstrip("\r\n"))  # an error's column counts within the line
    except json.JSONDecodeError as exc:
        return None, None, f"{path}:{n}: malformed JSON line ({exc.msg} at column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        # json.loads() refuses integers of more than 4300 digits (ValueError) and nesting
        # deeper than the interpreter's recursion limit.
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(":")[0]
        return None, None, f"{path}:{n}: malformed JSON line ({why})"
    if not isinstance(obj, dict):
        return obj, None, f"{path}:{n}: expected a JSON object"
    vid = obj.get("id")
    try:
        return obj, vid, run_vector(obj)
    except EngineError as exc:
        return obj, vid, f"{path}:{n}: {vid or 'vector'}: {exc}"
    except RecursionError:
        return obj, vid, f"{path}:{n}: {vid or 'vector'}: input nested too deeply"


def vector_line(path: str, n: int, line: str) -> tuple[str, str | None]:
    """What ``routelab rr --vectors`` writes for line ``n`` of ``path``: the output JSON
    line (without its line end) and the error text, None when the vector ran."""
    _obj, vid, result = _vector_or_error(path, n, line)
    if isinstance(result, str):
        return _encode({"id": vid, "line": n, "error": result}), result
    record = {"id": vid}
    record.update(result)
    return _encode(record), None


def _cmd_vectors(path: str) -> int:
    out = sys.stdout
    errors = 0
    for n, line in _iter_jsonl(path):
        if not line.strip():
            continue
        text, error = vector_line(path, n, line)
        if error is not None:
            errors += 1
            print(f"{PROG}: {error}", file=sys.stderr)
        out.write(text + "\n")
    return 1 if errors else 0


def _cmd_check(path: str) -> int:
    passed = failed = 0
    for n, line in _iter_jsonl(path):
        if not line.strip():
            continue
        obj, vid, result = _vector_or_error(path, n, line)
        if isinstance(result, str):
            failed += 1
            print(f"FAIL {vid or f'line {n}'}: {result}")
            continue
        expected = obj.get("expected")
        if not isinstance(expected, dict):
            failed += 1
            print(f"FAIL {vid or f'line {n}'}: {path}:{n}: no 'expected' object")
            continue
        diff = compare(expected, result)
        if diff:
            failed += 1
            print(f"FAIL {vid or f'line {n}'}:")
            for k in diff:
                want, got = json.dumps(expected[k]), json.dumps(result.get(k))
                print(f"    {k}: expected {want}, got {got}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def _request_of(text: str, name: str) -> tuple[SipMessage, Packet | None]:
    """The message in ``text``: as it is, or, when that does not parse, as copied from a log
    or a capture (the paste dialog's reading: prefixes, one-line logs, Wireshark's packet
    details; what was left out is said on stderr), with the capture's line about the
    packet when there is one.  The error is the text's own."""
    try:
        return parse_message(text), None
    except EngineError as exc:
        error = exc
    from engine.paste import read_pasted  # only for text that is not a bare message

    try:
        pasted = read_pasted(text)
    except EngineError:
        raise UsageError(f"{name}: {error}") from None
    said = pasted.clean.describe()
    if said:
        print(f"{name}: read as copied from a log or capture: {said}", file=sys.stderr)
    return pasted.request, pasted.clean.packet


def _guess_listen(args: argparse.Namespace, msg: SipRequest, packet: Packet | None) -> str:
    """Without ``--listen``, the proxy's sockets and aliases are guessed as the paste dialog
    guesses them: where the capture's packet line says the request went, and the URI that
    names the proxy.  Returns what to say of it (whether a Route is this proxy's own
    depends on it): every socket and alias assumed, and which address is a placeholder."""
    if args.listen:
        return ""
    from engine.paste import PLACEHOLDER_V4, guess_proxy

    guess = guess_proxy(msg, packet)
    # The sockets the request came in and goes out on are the proxy's, whatever the guess.
    given = [s for s in (args.received_on, args.send_socket) if s]
    args.listen = list(dict.fromkeys([*given, *guess.listen]))
    added = [a for a in guess.aliases if a not in args.alias]
    args.alias = [*args.alias, *added]
    said = f"no --listen: the proxy listens on {', '.join(args.listen)}"
    if added:
        said += f", with alias{'es' if len(added) > 1 else ''} {', '.join(added)}"
    said += f" (guessed from {guess.source})"
    if guess.placeholder:
        said += f"; {PLACEHOLDER_V4} stands in for an address the text does not give"
    return said + ". Give --listen (and --alias) to say where it listens."


def _cmd_rr(args: argparse.Namespace) -> int:
    if args.vectors:
        return _cmd_vectors(args.vectors)
    if args.check:
        return _cmd_check(args.check)
    text, name = _read_text(args.file)
    msg, packet = _request_of(text, name)
    if not isinstance(msg, SipRequest):
        raise UsageError(f"{name}: this is a response; loose_route() takes a request")
    if args.source is not None:
        check_source(args.source, "--source")
    guessed = _guess_listen(args, msg, packet)
    proxy = _proxy_from_args(args)
    dropped = drop_error(msg)
    if dropped is not None:
        raise UsageError(f"{name}: {dropped.what}")
    run = evaluate(
        msg,
        proxy,
        parse_script(args.script),
        source=args.source,
        received_on=args.received_on,
        send_socket=args.send_socket,
        flags=args.flags,
    )
    if guessed:  # said once the request ran: bad input stays one line
        print(f"{name}: {guessed}", file=sys.stderr)
    if args.json:
        print(json.dumps(outcome_json(run), indent=2))
    else:
        print(format_outcome(run))
    return 0


# --------------------------------------------------------------------------
# main


SUBCOMMANDS = ("rr", "trace", "render", "import", "config")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for the engine subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="RouteLab: make SIP routing visible (Kamailio 5.6.3 rr module).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _rr_parser(sub)
    try:
        from gui import cli_trace
    except ImportError:  # pragma: no cover - the trace command ships with the simulator
        pass
    else:
        cli_trace.add_parsers(sub)
    from gui import cli_import

    cli_import.add_parsers(sub)
    from gui import cli_render

    cli_render.add_parsers(sub)
    from gui import cli_config

    cli_config.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``routelab`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-h")):
        from gui.app import run_app

        return run_app(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status: int = args.func(args)
    except UsageError as exc:
        _fail(str(exc))
    except EngineError as exc:
        _fail(str(exc))
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    # Run the imported module's main, not this __main__ copy: the subcommands raise
    # gui.cli.UsageError, which must be the class main() catches.
    from gui.cli import main as _main

    raise SystemExit(_main())


__all__ = ["EXPECTED_FIELDS", "build_parser", "format_outcome", "main", "outcome_json"]
