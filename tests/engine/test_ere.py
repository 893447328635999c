"""engine/ere.py: POSIX extended regular expressions as Kamailio 5.6.3 compiles them.

The refused patterns stopped a real Kamailio 5.6.3 from starting when used in
``check_route_param()``, and the matches agree with its answers (``RL-RX-*`` in
tests/data/vectors).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ere import EreError, compile_ere, translate

SUBJECT = ";lr;ftag=f123;nat=yes"


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("[[:digit:]]", True),
        ("ftag=f[[:digit:]]+", True),
        ("[[:alpha:]]=yes", True),
        ("[[:upper:]]=YES", True),  # case-insensitive, classes too
        ("[[:space:]]", False),
        ("NAT=YES", True),
        ("lr|zz", True),
        ("^;lr;", True),
        ("yes$", True),
        ("f1{2}", False),
        ("f12?3", True),
        ("(nat|x)=yes", True),
        (".*", True),
        ("", True),
        ("ftag=[^;]*;nat", True),
        ("a**", True),  # a repetition of a repetition: glibc takes it
        ("l+*r", True),
        ("n{1,2}at", True),
        ("x{0,}nat", True),
        ("[]x]", False),
        ("[^]a]", True),
        ("[a-]", True),
        ("[[.;.]]lr", True),
        ("\\;lr", True),  # an escaped ';' is a ';'
        ("\\d", False),  # no \d in POSIX: a plain 'd'
        ("\\w+=yes", True),
        ("[\\]", False),  # inside brackets a backslash is itself
        ("f\\(", False),
    ],
)
def test_matches_as_kamailio(pattern: str, matches: bool) -> None:
    assert (compile_ere(pattern).search(SUBJECT) is not None) is matches


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        ("(?i)lr", "'?' at column 2 has nothing to repeat"),
        ("(", "a '(' is never closed"),
        ("lr)", "')' at column 3 closes no group"),
        ("[", "the '[' at column 1 is never closed"),
        ("*lr", "'*' at column 1 has nothing to repeat"),
        ("+lr", "'+' at column 1 has nothing to repeat"),
        ("a|*b", "'*' at column 3 has nothing to repeat"),
        ("lr{", "'{' at column 3 is not a repetition"),
        ("x{1", "'{' at column 2 is not a repetition"),
        ("{1}", "'{' at column 1 has nothing to repeat"),
        ("a{3,1}", "the repetition at column 2 counts down"),
        ("a{40000}", "the repetition at column 2 is too large"),
        ("[[:nope:]]", "unknown class [:nope:]"),
        ("[[:digit:]", "the '[' at column 1 is never closed"),
        ("lr\\", "a '\\' ends the pattern"),
        ("[z-a]", "the range z-a in the '[' at column 1 ends before it starts"),
        ("$?", "'?' at column 2 has nothing to repeat"),
        ("[[.xy.]]", "unknown collating element 'xy'"),
    ],
)
def test_refused_as_glibc_refuses(pattern: str, what: str) -> None:
    with pytest.raises(EreError) as info:
        compile_ere(pattern)
    assert str(info.value).startswith(what)


@given(st.text(alphabet="ab;=[]^$.*+?{},|()\\:-dwlbB0123 .&~", max_size=16))
def test_any_pattern_compiles_or_is_refused(pattern: str) -> None:
    try:
        translated = translate(pattern)
    except EreError:
        return
    compile_ere(pattern)  # what it translates to is a Python pattern
    assert isinstance(translated, str)
