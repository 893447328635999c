"""Fuzz the parser contract: 100,000 generated inputs, a value or one typed error, never a crash.

STYLE.md section 4 (after h11): any ``str`` given to the SIP parsers yields a value or a
:class:`~engine.errors.SipParseError` that says what and where; and the whole pipeline
(``parse_message`` -> the rr script at a fixed proxy -> the forwarded request) raises
nothing but :class:`~engine.errors.EngineError` subclasses.

Most inputs are *mutated real messages*: the ``raw`` of every shared vector plus the
hand-written messages in ``tests/data/messages``, put through byte flips, deletions,
duplications, splices, insertions of the characters SIP parsers trip over, truncation,
line-end and case changes.  A smaller share are mutated URIs and header values given to
the URI and name-addr parsers directly, and mutated vector objects given to
:func:`engine.batch.run_vector`.  Everything is seeded, so a failure reproduces: the
assertion message names the input number and the text.

Every value a parser returns must also survive ``parse(render(value)) == value``.

The totals are kept in :data:`RESULTS`; ``tests/engine/conftest.py`` prints them in the
terminal summary (``fuzz: 100000 inputs, 0 crashes``).
"""

from __future__ import annotations

import contextlib
import json
import random
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.batch import evaluate, run_vector
from engine.errors import EngineError, SipParseError
from engine.headers import parse_name_addr, parse_name_addr_list, split_values
from engine.message import SipRequest, parse_message, render
from engine.proxy import Outbound, Proxy
from engine.rr import (
    Context,
    forwarded,
    loose_route,
    route_entries,
)
from engine.script import parse_script
from engine.uri import parse_uri, render_uri
from tests.conftest import shared_dir

FUZZ_INPUTS = 100_000
SEED = 4475  # RFC 4475, the SIP torture test messages

#: Filled by the test, printed by tests/engine/conftest.py's pytest_terminal_summary.
RESULTS: dict[str, int] = {}

MESSAGES_DIR = Path(__file__).resolve().parents[1] / "data" / "messages"


def _seed_messages() -> list[str]:
    seeds: list[str] = []
    for path in sorted((shared_dir() / "vectors").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seeds.append(json.loads(line)["raw"])
    for path in sorted(MESSAGES_DIR.glob("*.sip")):
        seeds.append(path.read_bytes().decode("utf-8"))
    return seeds


def _seed_vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = []
    for path in sorted((shared_dir() / "vectors").glob("*.jsonl")):
        vectors.extend(
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        )
    return vectors


SEEDS = _seed_messages()
VECTORS = _seed_vectors()

# What SIP parsers trip over: line ends, NUL, the delimiters of name-addrs, URIs and lists,
# plus a few longer pieces that steer mutants into the interesting branches.
SPECIALS = (
    "\r",
    "\n",
    "\r\n",
    "\x00",
    "<",
    ">",
    ";",
    ",",
    ":",
    '"',
    "@",
    "[",
    "]",
    "\\",
    " ",
    "\t",
    "=",
    "?",
    "\r\n ",
    "\r\n\r\n",
    "sip:",
    "sips:",
    "tel:",
    ";lr",
    ";r2=on",
    ";maddr=",
    ";gr",
    ";ob",
    ";tag=",
    "[::1]",
    ":5060",
    ":99999",
    "<sip:127.0.0.1;lr>",
    "<sip:127.0.0.1;r2=on;lr>",
    "<sip:p9.example.org>",
    "\r\nRoute: <sip:127.0.0.1;lr>",
    "\r\nRoute: ",
    "\r\nTo: <sip:x@y>;tag=1",
    "\u00e9",
    "\ud800",
    "\u2028",
    "\x85",
    "%00",
    "\u0665",  # ARABIC-INDIC DIGIT FIVE: str.isdigit() and \d accept it
)


def _flip(rng: random.Random, text: str) -> str:
    if not text:
        return text
    i = rng.randrange(len(text))
    return text[:i] + chr(ord(text[i]) ^ (1 << rng.randrange(7))) + text[i + 1 :]


def _delete(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + text[i + rng.randint(1, 24) :]


def _duplicate(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    j = i + rng.randint(1, 60)
    return text[:j] + text[i:j] + text[j:]


def _splice(rng: random.Random, text: str) -> str:
    other = rng.choice(SEEDS)
    a = rng.randrange(len(other))
    i = rng.randrange(len(text) + 1)
    return text[:i] + other[a : a + rng.randint(1, 120)] + text[i:]


def _insert(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice(SPECIALS) + text[i:]


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _line_ends(rng: random.Random, text: str) -> str:
    choice = rng.randrange(3)
    if choice == 0:
        return text.replace("\r\n", "\n")
    if choice == 1:
        return text.replace("\r\n", "\r\n ", 1 + rng.randrange(3))  # fold a line or two
    return "\r\n" * rng.randint(1, 3) + text  # keep-alive CRLFs in front


def _case(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    j = i + rng.randint(1, 40)
    piece = text[i:j]
    return text[:i] + (piece.upper() if rng.random() < 0.5 else piece.lower()) + text[j:]


def _swap_lines(rng: random.Random, text: str) -> str:
    lines = text.split("\r\n")
    if len(lines) > 2:
        a, b = rng.randrange(1, len(lines)), rng.randrange(1, len(lines))
        lines[a], lines[b] = lines[b], lines[a]
    return "\r\n".join(lines)


MUTATORS: tuple[Callable[[random.Random, str], str], ...] = (
    _flip,
    _flip,
    _delete,
    _duplicate,
    _splice,
    _insert,
    _insert,
    _insert,
    _truncate,
    _line_ends,
    _case,
    _swap_lines,
)


def mutate(rng: random.Random, text: str, rounds: int) -> str:
    """Apply ``rounds`` random mutations."""
    for _ in range(rounds):
        text = rng.choice(MUTATORS)(rng, text)
    return text


# --------------------------------------------------------------------------
# the fixed proxies and scripts of the pipeline

PROXY = Proxy.build(
    listen=[
        "udp:127.0.0.1:5060",
        "tcp:127.0.0.1:5060",
        "udp:127.0.0.2:5060",
        "udp:127.0.0.3:5060 advertise 203.0.113.5:5080",
        "udp:[::1]:5060",
    ],
    aliases=["proxy.example.com", "pbx.example.org:5090"],
    modparams={"force_send_socket": 1},
)
OUTBOUND_PROXY = Proxy.build(
    listen=["udp:127.0.0.1:5060", "udp:[::1]:5060"],
    modparams={"add_username": 0, "enable_double_rr": 2},
    outbound=Outbound(flow_token_secret="x", force_outbound_flag=3),
)
SCRIPTS = (
    (
        PROXY,
        parse_script(
            'add_rr_param(";a=1"); loose_route(); record_route(";p=1"); '
            'add_rr_param(";late"); check_route_param("ftag=[a-z]"); is_direction("upstream")'
        ),
    ),
    (OUTBOUND_PROXY, parse_script("record_route(); loose_route_mode(1)")),
    (PROXY, parse_script('loose_route_preloaded(); record_route_preset("10.0.0.1", "10.0.0.2")')),
)


# --------------------------------------------------------------------------
# the contracts


def _located(error: SipParseError | None, *, line: bool) -> None:
    """A parse error must say where: a column, and a line for whole messages."""
    if error is None:
        return
    assert error.column is not None, f"error without a column: {error}"
    assert not line or error.line is not None, f"error without a line: {error}"


def _check_message(text: str) -> None:
    """parse_message: a value that renders back to itself, or a located SipParseError."""
    error: SipParseError | None = None
    try:
        msg = parse_message(text)
    except SipParseError as exc:
        error = exc
    _located(error, line=True)
    if error is not None:
        return
    assert parse_message(render(msg)) == msg
    if not isinstance(msg, SipRequest):
        return
    # The pipeline may refuse a request (an EngineError, such as the Route-count limit),
    # but nothing else may escape it.
    with contextlib.suppress(EngineError):
        ctx, _res = loose_route(Context.start(msg, PROXY, source="udp:127.0.0.1:5999"))
        route_entries(ctx)
        render(forwarded(ctx))
    for proxy, calls in SCRIPTS:
        with contextlib.suppress(EngineError):
            run = evaluate(msg, proxy, calls, source="udp:192.0.2.9:5999", flags=8)
            render(forwarded(run.context))


def _check_fragment(text: str) -> None:
    """URI, name-addr and list parsers on a piece of header text."""
    error: SipParseError | None = None
    try:
        uri = parse_uri(text)
    except SipParseError as exc:
        error = exc
    _located(error, line=True)
    if error is None:
        assert parse_uri(render_uri(uri)) == uri
    for require_angle in (False, True):
        error = None
        try:
            na = parse_name_addr(text, require_angle=require_angle)
        except SipParseError as exc:
            error = exc
        _located(error, line=False)
        if error is None:
            assert parse_name_addr(na.render(), require_angle=require_angle) == na
    for el in split_values(text):
        assert text[el.start : el.end] == el.text
    error = None
    try:
        parse_name_addr_list(text, require_angle=True)
    except SipParseError as exc:
        error = exc
    _located(error, line=False)


FRAGMENTS = (
    "sip:alice:pw@[2001:db8::1]:5070;lr;maddr=10.0.0.1;transport=tcp?subject=hi&x=y",
    "sips:127.0.0.1:5061;r2=on;lr=on;ftag=abc",
    "tel:+1-201-555-0123;phone-context=example.com",
    '"Smith, A \\"B\\"" <sip:a@example.org;lr>;tag=x;q="0,5"',
    "<sip:127.0.0.1;lr>, <sip:p2.example.net;lr>, Name <sip:p3;lr>;hp",
    "sip:bob@example.net;tag=1",
)


def _fragment(rng: random.Random) -> str:
    source = rng.choice(FRAGMENTS) if rng.random() < 0.7 else rng.choice(SEEDS)
    if len(source) > 120:
        a = rng.randrange(len(source))
        source = source[a : a + rng.randint(1, 100)]
    return mutate(rng, source, rng.randint(1, 4))


def _mutate_vector(rng: random.Random) -> dict[str, Any]:
    vector = json.loads(json.dumps(rng.choice(VECTORS)))
    key = rng.choice(("raw", "raw", "script", "proxy", "source", "received_on", "msg_flags"))
    junk: list[Any] = [
        None,
        -1,
        10**40,
        "9" * 5000,
        "",
        [],
        {},
        [1, 2],
        ["loose_route()", 7],
        True,
        "udp:127.0.0.1:" + "9" * 5000,
        'setflag(99999999999999999999999); loose_route_mode("x")',
        "loose_route_mode(" + "9" * 5000 + ")",
        ['check_route_param("a{4294967296}")'],
        ['check_route_param("' + "(" * 1200 + ")" * 1200 + '")'],
        ['is_direction("sideways")'],
        ['record_route("no-semicolon")'],
    ]
    if key == "raw":
        vector["raw"] = mutate(rng, vector["raw"], rng.randint(1, 4))
    elif key == "proxy":
        field = rng.choice(("listen", "aliases", "modparams", "outbound", "name"))
        value: Any = rng.choice(junk)
        if field == "outbound":
            value = {rng.choice(("force_outbound_flag", "force_no_outbound_flag")): value}
        elif field == "modparams":
            value = {rng.choice(("enable_double_rr", "sockname_mode", "nope")): value}
        elif field in ("listen", "aliases") and rng.random() < 0.5:
            value = [mutate(rng, "udp:127.0.0.1:5060 advertise 203.0.113.5:5080", 2)]
        vector["proxy"][field] = value
    else:
        vector[key] = rng.choice(junk)
    return vector


def _check_vector(vector: dict[str, Any]) -> None:
    with contextlib.suppress(EngineError):
        run_vector(vector)


def _one(rng: random.Random) -> tuple[str, Callable[[], None]]:
    """The next generated input: (what, check)."""
    roll = rng.random()
    if roll < 0.80:
        text = mutate(rng, rng.choice(SEEDS), rng.randint(1, 5))
        return text, lambda: _check_message(text)
    if roll < 0.97:
        frag = _fragment(rng)
        return frag, lambda: _check_fragment(frag)
    vector = _mutate_vector(rng)
    return json.dumps(vector)[:300], lambda: _check_vector(vector)


def test_seed_corpus_is_real() -> None:
    # Every seed is a message the engine reads; otherwise the mutants would test little.
    assert len(SEEDS) >= 174 + 10
    responses = 0
    for text in SEEDS:
        msg = parse_message(text)
        responses += not isinstance(msg, SipRequest)
    assert responses == 1  # 10-response-200-record-route.sip


def test_mutators_change_their_input() -> None:
    rng = random.Random(1)
    text = SEEDS[0]
    changed = sum(mutate(rng, text, 1) != text for _ in range(200))
    assert changed > 150


def test_fuzz_parser_contract() -> None:
    rng = random.Random(SEED)
    crashes: list[str] = []  # an exception that is not an EngineError
    violations: list[str] = []  # a broken promise: no location, parse(render(x)) != x
    count = 0
    for n in range(FUZZ_INPUTS):
        what, check = _one(rng)
        count += 1
        try:
            check()
        except AssertionError as exc:
            violations.append(f"input {n}: {what!r}: {exc}"[:2000])
        except Exception as exc:
            tb = "".join(traceback.format_exception(exc)[-3:])
            crashes.append(f"input {n}: {what!r}\n{tb}"[:3000])
    RESULTS["inputs"] = count
    RESULTS["crashes"] = len(crashes)
    RESULTS["violations"] = len(violations)
    summary = f"fuzz: {count} inputs, {len(crashes)} crashes, {len(violations)} contract violations"
    assert not crashes, summary + "\n" + "\n".join(crashes[:3])
    assert not violations, summary + "\n" + "\n".join(violations[:3])
    assert count == FUZZ_INPUTS


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("\r\n\r\n", id="only-keepalives"),
        pytest.param("\x00", id="nul"),
        pytest.param("INVITE sip:a@b SIP/2.0\r\n\x00: x\r\n\r\n", id="nul-header-name"),
        pytest.param("SIP/2.0 200 OK  \r\n\r\n", id="reason-trailing-spaces"),
        pytest.param("SIP/2.0 099 Low\r\n\r\n", id="status-leading-zero"),
        pytest.param("BYE sip:a@b SIP/2.0\r\nX: a\r\n \r\n\r\n", id="blank-continuation"),
        pytest.param("BYE sip:a@b SIP/2.0\r\nX: a\r\n \x0b\r\n\r\n", id="vt-continuation"),
        pytest.param("\n" * 70_000, id="oversized-keepalives"),
    ],
)
def test_message_regressions(text: str) -> None:
    # Inputs the fuzzer found or that sit on the contract's edges.
    _check_message(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("sip:h:\u0665\u0660\u0666\u0660", id="unicode-digit-port"),
        pytest.param("<sip:a@b>;x", id="flag-param"),
        pytest.param('"unterminated <sip:a@b>', id="open-quote"),
    ],
)
def test_fragment_regressions(text: str) -> None:
    _check_fragment(text)


@pytest.mark.parametrize(
    "vector",
    [
        pytest.param({"script": ["loose_route()", 7]}, id="script-list-with-int"),
        pytest.param({"script": ["setflag(" + "9" * 5000 + ")"]}, id="script-huge-int"),
        pytest.param({"proxy": {"listen": ["udp:127.0.0.1:" + "9" * 5000]}}, id="listen-huge-port"),
        pytest.param(
            {"proxy": {"listen": ["udp:127.0.0.1:5060"], "outbound": {"force_outbound_flag": -2}}},
            id="negative-outbound-flag",
        ),
        pytest.param(
            {
                "proxy": {
                    "listen": ["udp:127.0.0.1:5060"],
                    "outbound": {"force_outbound_flag": 10**40},
                }
            },
            id="huge-outbound-flag",
        ),
        pytest.param(
            {"script": ['check_route_param("a{4294967296}")']}, id="regex-repeat-overflow"
        ),
        pytest.param(
            {"script": ['check_route_param("' + "(" * 1200 + ")" * 1200 + '")']},
            id="regex-nesting-recursion",
        ),
    ],
)
def test_vector_regressions(vector: dict[str, Any]) -> None:
    base = dict(VECTORS[0])
    base["proxy"] = dict(base["proxy"])
    base["script"] = ["record_route()"]
    for key, value in vector.items():
        if key == "proxy":
            base["proxy"].update(value)
        else:
            base[key] = value
    with pytest.raises(EngineError):
        run_vector(base)
