"""A tiny rr script: the calls a proxy's ``request_route`` makes, in order.

Rule: a script is data.  ``parse_script('record_route(";p=1"); loose_route()')``
gives :class:`Call` values; :func:`run_script` applies them to a
:class:`~engine.rr.Context` and returns every result.

>>> [c.name for c in parse_script('setflag(1); record_route(";a=1;b") ;loose_route()')]
['setflag', 'record_route', 'loose_route']
>>> parse_script("record_route(")
Traceback (most recent call last):
...
engine.errors.ScriptError: statement 1 'record_route(': expected name(arguments)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from engine.errors import ScriptError
from engine.pv import parse_format
from engine.rr import (
    Context,
    RrResult,
    Step,
    add_rr_param,
    check_route_param,
    is_direction,
    loose_route,
    loose_route_preloaded,
    record_route,
    record_route_advertised_address,
    record_route_preset,
    remove_record_route,
    rr_next_hop_route,
)

Arg = str | int


@dataclass(frozen=True, slots=True)
class Call:
    """One function call of the script."""

    name: str
    args: tuple[Arg, ...] = ()

    def __str__(self) -> str:
        rendered = ", ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in self.args)
        return f"{self.name}({rendered})"


# name -> (minimum, maximum) number of arguments
FUNCTIONS: dict[str, tuple[int, int]] = {
    "loose_route": (0, 0),
    "loose_route_mode": (1, 1),
    "loose_route_preloaded": (0, 0),
    "record_route": (0, 1),
    "record_route_preset": (1, 2),
    "record_route_advertised_address": (1, 1),
    "add_rr_param": (1, 1),
    "remove_record_route": (0, 0),
    "check_route_param": (1, 1),
    "is_direction": (1, 1),
    "rr_next_hop_route": (0, 0),
    "setflag": (1, 1),
    "resetflag": (1, 1),
}

LOOSE_ROUTE_FAMILY = ("loose_route", "loose_route_mode", "loose_route_preloaded")
# The functions whose string arguments are formats (pseudo-variables filled in: engine.pv).
FORMATTED = frozenset(
    {"record_route", "record_route_preset", "record_route_advertised_address", "add_rr_param"}
)
RECORD_ROUTE_FAMILY = ("record_route", "record_route_preset", "record_route_advertised_address")

_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*\Z", re.DOTALL)
_ARG = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(-?[0-9]+))\s*(?:,|\Z)')


def _split_statements(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    depth = 0
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == ";" and not quoted and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [s for s in (x.strip() for x in out) if s]


def parse_call(text: str, n: int = 1) -> Call:
    """Parse one statement such as ``record_route(";p=1")``."""
    m = _CALL.match(text)
    where = f"statement {n} {text.strip()!r}"
    if not m:
        raise ScriptError(f"{where}: expected name(arguments)")
    name, inner = m.group(1), m.group(2)
    if name not in FUNCTIONS:
        import difflib

        close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ScriptError(f"{where}: unknown function {name}{hint}")
    args: list[Arg] = []
    pos = 0
    inner = inner.strip()
    while pos < len(inner):
        am = _ARG.match(inner, pos)
        if not am or am.end() == pos:
            raise ScriptError(f'{where}: arguments must be "strings" or integers')
        if am.group(1) is not None:
            args.append(am.group(1).replace('\\"', '"'))
        elif len(am.group(2)) > 20:  # int() refuses more than 4300 digits; Kamailio, 64 bits
            raise ScriptError(f"{where}: integer {am.group(2)[:24]}... is too large")
        else:
            args.append(int(am.group(2)))
        pos = am.end()
    low, high = FUNCTIONS[name]
    if not low <= len(args) <= high:
        raise ScriptError(f"{where}: {name} takes {low}..{high} arguments, got {len(args)}")
    if name in FORMATTED:
        # Formats with pseudo-variables: refused here, as Kamailio refuses to start.
        for arg in args:
            if isinstance(arg, str):
                try:
                    parse_format(arg)
                except ScriptError as exc:
                    raise ScriptError(f"{where}: {exc}") from None
    return Call(name, tuple(args))


def parse_script(text: str | Iterable[str]) -> tuple[Call, ...]:
    """Parse ``"a(); b()"`` or a list of statements.

    >>> parse_script(["loose_route()", 7])
    Traceback (most recent call last):
    ...
    engine.errors.ScriptError: statement 2: expected a string, got 7
    """
    if isinstance(text, str):
        return _script_memo(text) if len(text) <= 1024 else _parse_script(text)
    items = tuple(text)
    for n, item in enumerate(items, start=1):
        if not isinstance(item, str):
            raise ScriptError(f"statement {n}: expected a string, got {item!r}"[:200])
    return _script_memo(items) if sum(map(len, items)) <= 1024 else _parse_script(items)


def _parse_script(text: str | tuple[str, ...]) -> tuple[Call, ...]:
    statements = (
        _split_statements(text)
        if isinstance(text, str)
        else [s for item in text for s in _split_statements(item)]
    )
    return tuple(parse_call(s, n) for n, s in enumerate(statements, start=1))


# Batches run the same few scripts again and again; a script is immutable data.
_script_memo = lru_cache(maxsize=256)(_parse_script)


def _str_arg(call: Call, i: int) -> str:
    value = call.args[i]
    if not isinstance(value, str):
        raise ScriptError(f"{call}: argument {i + 1} must be a string")
    return value


def _int_arg(call: Call, i: int) -> int:
    value = call.args[i]
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        raise ScriptError(f"{call}: argument {i + 1} must be an integer") from None


def run_call(ctx: Context, call: Call) -> tuple[Context, RrResult]:
    """Apply one call."""
    name = call.name
    if name == "loose_route":
        return loose_route(ctx)
    if name == "loose_route_mode":
        return loose_route(ctx, mode=_int_arg(call, 0))
    if name == "loose_route_preloaded":
        return loose_route_preloaded(ctx)
    if name == "record_route":
        return record_route(ctx, _str_arg(call, 0) if call.args else "")
    if name == "record_route_preset":
        second = _str_arg(call, 1) if len(call.args) > 1 else None
        return record_route_preset(ctx, _str_arg(call, 0), second)
    if name == "record_route_advertised_address":
        return record_route_advertised_address(ctx, _str_arg(call, 0))
    if name == "add_rr_param":
        return add_rr_param(ctx, _str_arg(call, 0))
    if name == "remove_record_route":
        return remove_record_route(ctx)
    if name == "check_route_param":
        return ctx, check_route_param(ctx, _str_arg(call, 0))
    if name == "is_direction":
        return ctx, is_direction(ctx, _str_arg(call, 0))
    if name == "rr_next_hop_route":
        return ctx, rr_next_hop_route(ctx)
    flag = _int_arg(call, 0)
    if not 0 <= flag < 64:
        raise ScriptError(f"{call}: flag must be 0..63")
    if name == "setflag":
        new = ctx._replace(flags=ctx.flags | (1 << flag))
    else:
        new = ctx._replace(flags=ctx.flags & ~(1 << flag))
    return new, RrResult(name, 1, (Step(name, f"{call}: message flag {flag}.", name),))


def run_script(ctx: Context, calls: Sequence[Call]) -> tuple[Context, tuple[RrResult, ...]]:
    """Apply the calls in order; return the final context and each call's result."""
    results: list[RrResult] = []
    for call in calls:
        ctx, res = run_call(ctx, call)
        results.append(res)
    return ctx, tuple(results)
