"""engine/headers.py: comma lists, name-addr / addr-spec and header parameters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import SipParseError
from engine.headers import (
    NameAddr,
    _tag_everyday,
    parse_name_addr,
    parse_name_addr_list,
    split_values,
    tag_param,
)
from engine.uri import MEMO_LIMIT, SipUri
from tests.engine.strategies import attempt, name_addrs, texts_of


@pytest.mark.parametrize(
    ("body", "texts"),
    [
        pytest.param("<sip:a>, <sip:b>", ["<sip:a>", "<sip:b>"], id="two"),
        pytest.param('"Smith, A" <sip:a>, <sip:b>', ['"Smith, A" <sip:a>', "<sip:b>"], id="quoted"),
        pytest.param(
            '"a \\", b" <sip:a>, c', ['"a \\", b" <sip:a>', "c"], id="escaped-quote-in-quotes"
        ),
        pytest.param('"a \\\\", b', ['"a \\\\"', "b"], id="escaped-backslash-then-quote-closes"),
        pytest.param("<sip:a;x=1,2>, <sip:b>", ["<sip:a;x=1,2>", "<sip:b>"], id="comma-in-angle"),
        # Kamailio's parsers close at the first '>', they do not count nesting.
        pytest.param("<sip:a;x, <sip:b>, c", ["<sip:a;x, <sip:b>", "c"], id="first-gt-closes"),
        pytest.param("a,,b, ", ["a", "", "b", ""], id="empty-elements-kept"),
        pytest.param("", [""], id="empty-body"),
        pytest.param("  <sip:a>  ", ["<sip:a>"], id="blanks-trimmed"),
        pytest.param('"open, quote', ['"open, quote'], id="unterminated-quote"),
    ],
)
def test_split_values(body: str, texts: list[str]) -> None:
    elements = split_values(body)
    assert [e.text for e in elements] == texts
    for e in elements:
        assert body[e.start : e.end] == e.text


def test_split_values_offsets() -> None:
    (a, b) = split_values(" <sip:a> ,\t<sip:b>")
    assert (a.start, a.end, b.start, b.end) == (1, 8, 11, 18)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("<sip:a@x>", NameAddr("sip:a@x"), id="angle"),
        pytest.param(
            '"Bob" <sip:bob@b>;tag=9fxced76sl',
            NameAddr("sip:bob@b", '"Bob"', (("tag", "9fxced76sl"),)),
            id="quoted-display-tag",
        ),
        pytest.param(
            "Bob Smith <sip:bob@b> ; tag = 1 ; lr",
            NameAddr("sip:bob@b", "Bob Smith", (("tag", "1"), ("lr", None))),
            id="token-display-spaced-params",
        ),
        pytest.param(
            '"Smith, \\"Al\\" <boss>" <sip:a@x>',
            NameAddr("sip:a@x", '"Smith, \\"Al\\" <boss>"'),
            id="escapes-and-brackets-in-quotes",
        ),
        pytest.param(
            "sip:bob@b;tag=1",
            NameAddr("sip:bob@b", None, (("tag", "1"),), angle=False),
            id="addr-spec-params-belong-to-the-header",
        ),
        pytest.param(
            '<sip:a>;q="0,5;x"', NameAddr("sip:a", None, (("q", '"0,5;x"'),)), id="quoted-param"
        ),
        pytest.param("< sip:a >", NameAddr(" sip:a "), id="uri-text-as-written"),
    ],
)
def test_parse_name_addr(text: str, expected: NameAddr) -> None:
    assert parse_name_addr(text) == expected


@pytest.mark.parametrize(
    ("text", "require_angle", "what", "column"),
    [
        pytest.param("", False, "empty value", 1, id="empty"),
        pytest.param("sip:127.0.0.1;lr", True, "missing '<' in name-addr", 1, id="route-no-angle"),
        pytest.param('  "Bob" sip:b', False, "display name without '<uri>'", 3, id="display-only"),
        pytest.param("sip:a b", False, "white space in addr-spec", 6, id="space-in-addr-spec"),
        pytest.param(" <sip:a", False, "missing '>' in name-addr", 2, id="no-gt"),
        pytest.param('"Bob <sip:a>', False, "display name without '<uri>'", 1, id="open-quote"),
        pytest.param('Bo"b" <sip:a>', False, "stray quote in display name", 3, id="stray-quote"),
        pytest.param("<sip:a<b>", False, "nested '<' in name-addr", 7, id="nested-lt"),
        pytest.param("< >", False, "empty URI in name-addr", 2, id="empty-uri"),
        pytest.param("<sip:a> junk", False, "unexpected text 'junk' after '>'", 9, id="junk"),
        pytest.param("<sip:a>;x;;y", False, "empty parameter name", 11, id="empty-param"),
        pytest.param("sip:a;;y", False, "empty parameter name", 7, id="empty-param-addr-spec"),
    ],
)
def test_parse_name_addr_errors_say_what_and_where(
    text: str, require_angle: bool, what: str, column: int
) -> None:
    with pytest.raises(SipParseError) as info:
        parse_name_addr(text, require_angle=require_angle)
    assert info.value.what.startswith(what)
    assert info.value.column == column


def test_name_addr_accessors() -> None:
    na = parse_name_addr("<sip:bob@b;lr>;TAG= x ;flag")
    assert na.param("tag") == "x"
    assert na.param("Flag") == ""
    assert na.param("lr") is None  # a URI parameter, not a header parameter
    assert na.uri == SipUri("sip", "bob", None, "b", None, (("lr", None),))
    assert na.render() == "<sip:bob@b;lr>;TAG=x;flag"
    with pytest.raises(SipParseError):
        _ = parse_name_addr("<foo:bar>").uri


def test_parse_name_addr_list_locates_the_bad_value() -> None:
    assert parse_name_addr_list("<sip:a>, B <sip:b>;x") == (
        NameAddr("sip:a"),
        NameAddr("sip:b", "B", (("x", None),)),
    )
    with pytest.raises(SipParseError) as info:
        parse_name_addr_list("<sip:a>,  sip:b", require_angle=True)
    assert info.value.what == "value 2: missing '<' in name-addr 'sip:b'"
    assert info.value.column == 11
    with pytest.raises(SipParseError) as info:
        parse_name_addr_list("<sip:a>, ,<sip:b>")
    assert (info.value.what, info.value.column) == ("empty element 2", 10)


def test_long_values_are_parsed_without_the_memo() -> None:
    text = "<sip:a>;x=" + "v" * MEMO_LIMIT
    assert parse_name_addr(text) == parse_name_addr(text)
    assert parse_name_addr(text).param("x") == "v" * MEMO_LIMIT


@given(name_addrs())
def test_render_then_parse_is_the_identity(na: NameAddr) -> None:
    assert parse_name_addr(na.render(), require_angle=na.angle) == na


HEADERISH = texts_of(
    [
        *'<>",;=:@\\ \tabc',
        *("sip:", "<sip:a>", '"x"', ";tag=1", ", ", '\\"', "\u00e9"),
    ]
)


@settings(max_examples=500)
@given(st.one_of(HEADERISH, st.text(max_size=30)), st.booleans())
def test_any_text_gives_a_name_addr_or_a_located_error(text: str, require_angle: bool) -> None:
    na, error = attempt(parse_name_addr, text, require_angle=require_angle)
    if error is not None:
        assert 1 <= error.column <= len(text) + 1
    else:
        assert na is not None
        assert parse_name_addr(na.render(), require_angle=require_angle) == na


@settings(max_examples=500)
@given(st.one_of(HEADERISH, st.text(max_size=30)))
def test_split_values_never_fails_and_keeps_offsets(body: str) -> None:
    elements = split_values(body)
    assert elements
    for e in elements:
        assert body[e.start : e.end] == e.text == e.text.strip()
    starts = [e.start for e in elements]
    assert starts == sorted(starts)
    _, error = attempt(parse_name_addr_list, body)
    assert error is None or error.column is not None


def _tag_the_long_way(value: str) -> str:
    """The tag through parse_name_addr(): the last tag parameter, double quotes removed."""
    try:
        params = parse_name_addr(value).params
    except SipParseError:
        return ""
    tags = [v or "" for n, v in params if n.strip().lower() == "tag"]
    tag = tags[-1].strip() if tags else ""
    return tag[1:-1] if len(tag) > 1 and tag[0] == tag[-1] == '"' else tag


TAGISH = texts_of(
    [
        *'<>",;=:@\\ \tabcT',
        *("sip:", "<sip:a@b>", '"A b"', ";tag=1", ";TAG = x", ";tag", "tag=", ";;", "\u00e9"),
    ]
)


@settings(max_examples=1000)
@given(st.one_of(TAGISH, st.text(max_size=30)))
def test_tag_fast_path_agrees_with_the_name_addr_parser(value: str) -> None:
    found = _tag_everyday(value)
    assert found is None or found == _tag_the_long_way(value)
    assert tag_param(value) == _tag_the_long_way(value)


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("<sip:b@x>;tag=a6c85cf", "a6c85cf"),
        ('"Bob" <sip:b@x>;tag=1;x', "1"),
        ('"Bob, Jr" <sip:b@x> ; Tag = 2 ', "2"),
        # Each tag overwrites the one before; double quotes go (seen on 5.6.3).
        ("Bob <sip:b@x>;x;tag=3;tag=4", "4"),
        ("<sip:b@x>;tag=t1;tag=", ""),
        ("<sip:b@x>;tag=;tag=t1", "t1"),
        ("<sip:b@x>;tag=t1;tag", ""),
        ('<sip:b@x>;tag="q"', "q"),
        ('<sip:b@x>;tag= "q"', "q"),
        ('<sip:b@x>;tag=""', ""),
        ("<sip:b@x>;tag='q'", "'q'"),
        ("<sip:b@x>;tag", ""),
        ("<sip:b@x>;;tag=5", ""),  # empty parameter name: unparsable
        ("<sip:b@x> junk;tag=6", ""),
        ("<sip:b@x", ""),
        ('"Bob" x <sip:b@x>;tag=7', ""),
        ("sip:b@x;tag=8", "8"),  # addr-spec: the long way
    ],
)
def test_tag_param_cases(value: str, tag: str) -> None:
    assert tag_param(value) == tag == _tag_the_long_way(value)
