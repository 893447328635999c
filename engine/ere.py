"""POSIX extended regular expressions, as Kamailio compiles the ones in its config.

Rule: :func:`compile_ere` turns an ERE into a Python pattern that matches the same texts,
or raises :class:`EreError` where glibc's ``regcomp`` (``REG_EXTENDED | REG_ICASE``)
refuses it, which for a config means Kamailio does not start.  ``check_route_param()``
uses it.  Seen on Kamailio 5.6.3 (``tests/data/vectors`` ``RL-RX-*``): bracket classes
such as ``[[:digit:]]`` work, ``(?i)``, ``*lr``, ``lr{`` and ``{1}`` stop the start-up,
and a repeated repetition such as ``a**`` is fine.

The translation, piece by piece: a backslash outside brackets escapes the next character,
except glibc's ``\\w \\W \\s \\S \\b \\B``, which keep their meaning (``\\d`` is a plain
``d``); inside brackets a backslash is itself, and ``[:class:]`` names a class; a
repetition after a repetition applies to the whole repeated piece (``a**`` is
``(?:a*)*``); ``{m}``, ``{m,}`` and ``{m,n}`` repeat, any other ``{`` is an error.

>>> compile_ere("ftag=f[[:digit:]]+").search(";lr;FTAG=f123") is not None
True
>>> compile_ere("(?i)lr")
Traceback (most recent call last):
...
engine.ere.EreError: '?' at column 2 has nothing to repeat
"""

from __future__ import annotations

import re

__all__ = ["EreError", "compile_ere", "translate"]


class EreError(ValueError):
    """A pattern that glibc's ``regcomp`` refuses (what and where)."""


# The bracket classes of POSIX, as Python character-set pieces (ASCII, as in the C locale).
_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}
_GNU_ESCAPES = frozenset("wWsSbB")
_INTERVAL = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")
_REPEATS = "*+?{"
# Pieces a repetition cannot follow: an alternation and the anchors.
_NOT_REPEATABLE = frozenset({"|", "^", "$", "\\b", "\\B"})


def compile_ere(pattern: str) -> re.Pattern[str]:
    """The Python pattern for a POSIX ERE, case-insensitive as Kamailio compiles it."""
    return re.compile(translate(pattern), re.IGNORECASE)


def translate(pattern: str) -> str:
    """A POSIX ERE as Python ``re`` syntax; :class:`EreError` where glibc refuses it."""
    pieces: list[str] = []  # the pieces of the current group: atoms, repeated or not
    repeated: list[bool] = []
    stack: list[tuple[list[str], list[bool]]] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch in _REPEATS:
            end, quantifier = _repeat(pattern, i)
            if not pieces or pieces[-1] in _NOT_REPEATABLE:
                raise EreError(f"{ch!r} at column {i + 1} has nothing to repeat")
            if repeated[-1]:
                pieces[-1] = f"(?:{pieces[-1]})"
            pieces[-1] += quantifier
            repeated[-1] = True
            i = end
            continue
        if ch == "(":
            stack.append((pieces, repeated))
            pieces, repeated = [], []
            i += 1
            continue
        if ch == ")":
            if not stack:
                raise EreError(f"')' at column {i + 1} closes no group")
            inner = "".join(pieces)
            pieces, repeated = stack.pop()
            pieces.append(f"({inner})")
            repeated.append(False)
            i += 1
            continue
        if ch == "[":
            end, text = _bracket(pattern, i)
        elif ch == "\\":
            if i + 1 >= n:
                raise EreError("a '\\' ends the pattern")
            nxt = pattern[i + 1]
            text = f"\\{nxt}" if nxt in _GNU_ESCAPES else re.escape(nxt)
            end = i + 2
        elif ch in ".^$|":
            text, end = ch, i + 1
        else:
            text, end = re.escape(ch), i + 1
        pieces.append(text)
        repeated.append(False)
        i = end
    if stack:
        raise EreError("a '(' is never closed")
    return "".join(pieces)


def _repeat(pattern: str, i: int) -> tuple[int, str]:
    """Where a repetition at ``i`` ends, and its Python spelling."""
    ch = pattern[i]
    if ch != "{":
        return i + 1, ch
    m = _INTERVAL.match(pattern, i)
    if m is None:
        raise EreError(f"'{{' at column {i + 1} is not a repetition {{m}}, {{m,}} or {{m,n}}")
    low, comma, high = m.group(1), m.group(2), m.group(3)
    if comma and high and int(high) < int(low):
        raise EreError(f"the repetition at column {i + 1} counts down")
    if max(int(low), int(high or 0)) > 32767:  # RE_DUP_MAX
        raise EreError(f"the repetition at column {i + 1} is too large")
    return m.end(), m.group()


def _bracket(pattern: str, start: int) -> tuple[int, str]:
    """Where the bracket expression at ``start`` ends, and its Python spelling."""
    i = start + 1
    out = ["["]
    if pattern.startswith("^", i):
        out.append("^")
        i += 1
    first = True
    while True:
        if i >= len(pattern):
            raise EreError(f"the '[' at column {start + 1} is never closed")
        ch = pattern[i]
        if ch == "]" and not first:
            out.append("]")
            return i + 1, "".join(out)
        first = False
        if ch == "[" and pattern.startswith(":", i + 1):
            close = pattern.find(":]", i + 2)
            if close < 0:
                raise EreError(f"the '[:' at column {i + 1} is never closed")
            name = pattern[i + 2 : close]
            if name not in _CLASSES:
                raise EreError(f"unknown class [:{name}:] at column {i + 1}")
            out.append(_CLASSES[name])
            i = close + 2
            continue
        low, i = _bracket_char(pattern, i)
        if pattern.startswith("-", i) and i + 1 < len(pattern) and pattern[i + 1] != "]":
            high, i = _bracket_char(pattern, i + 1)
            if high < low:
                raise EreError(
                    f"the range {low}-{high} in the '[' at column {start + 1} ends before it starts"
                )
            out.append(f"{re.escape(low)}-{re.escape(high)}")
        else:
            out.append(re.escape(low))


def _bracket_char(pattern: str, i: int) -> tuple[str, int]:
    """One character of a bracket expression at ``i`` (``[.x.]`` and ``[=x=]`` included)
    and where it ends."""
    if pattern.startswith(("[.", "[="), i):
        kind = pattern[i + 1]
        close = pattern.find(kind + "]", i + 2)
        if close < 0:
            raise EreError(f"the '[{kind}' at column {i + 1} is never closed")
        name = pattern[i + 2 : close]
        if len(name) != 1:
            raise EreError(f"unknown collating element {name!r} at column {i + 1}")
        return name, close + 2
    return pattern[i], i + 1
