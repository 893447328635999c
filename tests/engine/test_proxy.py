"""engine/proxy.py: sockets, aliases, rr module parameters and the locality test.

The locality cases follow the spec's section 2 rule by rule; their ids name the rule
and the run recorded on a real Kamailio 5.6.3 (OBS ids of spec section 5).
"""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest

from engine.errors import ConfigError
from engine.proxy import (
    Alias,
    Outbound,
    Proxy,
    RrParams,
    Socket,
    find_socket,
    is_myself,
    locate,
    near_miss,
    parse_alias,
    parse_socket,
)
from engine.uri import parse_uri

# Spec section 5, fixture P.
P = Proxy.build(
    listen=[
        "udp:127.0.0.1:5060",
        "tcp:127.0.0.1:5060",
        "udp:127.0.0.2:5060",
        "udp:127.0.0.1:5070",
        "udp:127.0.0.3:5060 advertise 203.0.113.5:5080",
        "udp:[::1]:5060",
    ],
    aliases=["proxy.example.com", "pbx.example.org:5090"],
)


@pytest.mark.parametrize(
    ("uri", "myself"),
    [
        # Rule 1: no host (tel:) -> not myself.
        pytest.param("tel:+15551234", False, id="rule1-tel-has-no-host-L49"),
        # Rule 2: no port means 5060, whatever the scheme or transport.
        pytest.param("sips:127.0.0.1;lr", True, id="rule2-sips-without-port-is-5060-L36"),
        pytest.param("sips:127.0.0.1:5061;lr", False, id="rule2-nothing-on-5061-L37"),
        pytest.param("sip:127.0.0.1;transport=tls", True, id="rule2-tls-without-port-is-5060"),
        pytest.param("sip:127.0.0.1:5080;lr", False, id="rule2-port-not-ours-L34"),
        pytest.param("sip:127.0.0.1:5070;lr", True, id="rule2-second-port"),
        # Rule 3: transport= is ignored.
        pytest.param("sip:127.0.0.2;transport=tcp;lr", True, id="rule3-transport-ignored-L38"),
        # Rule 4 and 5b: brackets stripped, IPv6 compared as addresses.
        pytest.param("sip:[0:0:0:0:0:0:0:1];lr", True, id="rule5b-ipv6-as-address-L60b"),
        pytest.param("sip:[::1]:5060;lr", True, id="rule4-ipv6-brackets"),
        # Rule 5b: IPv4 compared as text.
        pytest.param("sip:127.000.000.001;lr", False, id="rule5b-ipv4-as-text-L64"),
        # Rule 5c: advertised host with the real port, real IP with the advertised port.
        pytest.param("sip:203.0.113.5;lr", True, id="rule5c-advertised-host-real-port-L41b"),
        pytest.param("sip:127.0.0.3:5080;lr", True, id="rule5c-real-ip-advertised-port-L41c"),
        pytest.param("sip:203.0.113.5:5080;lr", True, id="rule5c-advertised-both-L41"),
        pytest.param("sip:203.0.113.5:5090;lr", False, id="rule5c-advertised-host-other-port"),
        # Rule 6: aliases, host case-insensitive, port any when the alias has none.
        pytest.param("sip:proxy.example.com;lr", True, id="rule6-alias-L30"),
        pytest.param("sip:PROXY.Example.COM;lr", True, id="rule6-alias-case-L31"),
        pytest.param("sip:proxy.example.com:7777;lr", True, id="rule6-alias-any-port"),
        pytest.param("sip:pbx.example.org;lr", False, id="rule6-alias-port-5090-not-5060-L32"),
        pytest.param("sip:pbx.example.org:5090;lr", True, id="rule6-alias-port-5090-L33"),
        # Rule 8: a gr parameter (GRUU) is never myself.
        pytest.param("sip:127.0.0.1;gr=urn:uuid:1;lr", False, id="rule8-gruu-L39"),
        pytest.param("sip:127.0.0.1;GR;lr", False, id="rule8-gruu-flag-any-case"),
        # Rule 9: the user part is ignored.
        pytest.param("sip:alice@127.0.0.1;lr", True, id="rule9-user-ignored-L40"),
        # Rule 10: no DNS: a name that would resolve to us is not myself.
        pytest.param("sip:localhost;lr", False, id="rule10-no-dns"),
        pytest.param("sip:p2.example.net;lr", False, id="foreign"),
    ],
)
def test_is_myself_follows_spec_section_2(uri: str, myself: bool) -> None:
    assert is_myself(parse_uri(uri), P) is myself


def test_rule6_alias_protocol_is_not_checked_L61() -> None:  # noqa: N802
    proxy = Proxy.build(listen=["udp:127.0.0.1:5060"], aliases=["tcp:tcponly.example.com:5060"])
    assert is_myself(parse_uri("sip:tcponly.example.com;transport=udp;lr"), proxy)
    assert parse_alias("tcp:tcponly.example.com:5060").proto == "tcp"


def test_locality_says_which_socket_or_alias() -> None:
    by_socket = locate(parse_uri("sip:127.0.0.3:5080"), P)
    assert by_socket.socket == P.listen[4]
    assert by_socket.reason() == "listen udp:127.0.0.3:5060 advertise 203.0.113.5:5080"
    by_alias = locate(parse_uri("sip:pbx.example.org:5090"), P)
    assert by_alias.alias == Alias("pbx.example.org", 5090)
    assert by_alias.reason() == "alias pbx.example.org:5090"
    gruu = locate(parse_uri("sip:127.0.0.1;gr"), P)
    assert (gruu.myself, gruu.gruu, gruu.socket) == (False, True, P.listen[0])
    assert "gr parameter" in gruu.reason()
    assert locate(parse_uri("sip:x.example"), P).reason() == "no listen socket or alias matches"


def test_the_first_matching_socket_wins() -> None:
    # udp and tcp both listen on 127.0.0.1:5060: protocol plays no part, the first counts.
    assert locate(parse_uri("sip:127.0.0.1;transport=tcp"), P).socket == P.listen[0]


def test_locate_tells_proxies_apart() -> None:
    # locate() remembers answers per proxy: two proxies asked about one host differ.
    a = Proxy.build(listen=["udp:10.0.0.1:5060"])
    b = Proxy.build(listen=["udp:10.0.0.2:5060"])
    uri = parse_uri("sip:10.0.0.1;lr")
    for _ in range(3):
        assert is_myself(uri, a)
        assert not is_myself(uri, b)


def test_a_changed_copy_of_a_proxy_does_not_inherit_its_answers() -> None:
    # Each proxy keeps its own host keys and locality answers: a copy with other sockets
    # or aliases works them out afresh, and the original's stay as they were.
    a = Proxy.build(listen=["udp:10.0.0.1:5060"])
    uri = parse_uri("sip:10.0.0.1;lr")
    assert is_myself(uri, a)
    b = replace(a, listen=(parse_socket("udp:10.0.0.2:5060"),))
    c = replace(a, aliases=(parse_alias("edge.example.com"),))
    assert not is_myself(uri, b)
    assert is_myself(parse_uri("sip:10.0.0.2"), b)
    assert is_myself(parse_uri("sip:EDGE.example.com:5060"), c)
    assert not is_myself(parse_uri("sip:edge.example.com"), a)
    assert is_myself(uri, a)
    assert is_myself(uri, c)


def test_what_a_proxy_remembers_is_not_part_of_its_value() -> None:
    asked = Proxy.build(listen=["udp:10.0.0.1:5060"], aliases=["p.example.com"])
    fresh = Proxy.build(listen=["udp:10.0.0.1:5060"], aliases=["p.example.com"])
    assert locate(parse_uri("sip:p.example.com"), asked).alias == asked.aliases[0]
    assert asked == fresh
    assert hash(asked) == hash(fresh)
    assert repr(asked) == repr(fresh)
    assert pickle.loads(pickle.dumps(asked)) == asked


def test_a_locality_gives_its_reason_in_words() -> None:
    assert locate(parse_uri("sip:127.0.0.1"), P).reason() == "listen udp:127.0.0.1:5060"
    assert locate(parse_uri("sip:127.0.0.1;gr"), P).reason().startswith("it carries a gr")
    assert locate(parse_uri("sip:198.51.100.1"), P).reason() == (
        "no listen socket or alias matches"
    )


def test_a_near_miss_names_the_addresses_that_have_the_host_and_their_ports() -> None:
    proxy = Proxy.build(
        listen=["udp:192.0.2.1:5080", "tcp:192.0.2.1:5070 advertise 203.0.113.5"],
        aliases=["pbx.example.com:5090", "edge.example.com"],
    )
    assert near_miss(parse_uri("sip:pbx.example.com;lr"), proxy) == (
        "its host is that of alias pbx.example.com:5090, but a URI without a port means 5060, "
        "and this proxy has that host only on port 5090"
    )
    assert near_miss(parse_uri("sips:192.0.2.1:5061"), proxy) == (
        "its host is that of listen udp:192.0.2.1:5080 and listen tcp:192.0.2.1:5070 advertise "
        "203.0.113.5, but its port is 5061, and this proxy has that host only on ports "
        "5070, 5080"
    )
    assert "203.0.113.5" in (near_miss(parse_uri("sip:203.0.113.5:5080"), proxy) or "")
    # This proxy after all, a GRUU, or a host that is none of its own: nothing to say.
    assert near_miss(parse_uri("sip:192.0.2.1:5080"), proxy) is None
    assert near_miss(parse_uri("sip:edge.example.com:7000"), proxy) is None
    assert near_miss(parse_uri("sip:192.0.2.1:5080;gr"), proxy) is None
    assert near_miss(parse_uri("sip:198.51.100.1:5080"), proxy) is None
    assert near_miss(parse_uri("tel:+15551234"), proxy) is None


def test_find_socket() -> None:
    assert find_socket(P, "127.0.0.1", 5060, "tcp") == P.listen[1]
    assert find_socket(P, "127.0.0.1", None, None) == P.listen[0]
    assert find_socket(P, "203.0.113.5", 5080, None) == P.listen[4]
    assert find_socket(P, "[0::1]", 5060, "udp") == P.listen[5]
    assert find_socket(P, "127.0.0.9", None, None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("udp:127.0.0.1:5060", Socket("udp", "127.0.0.1", 5060), id="udp"),
        pytest.param("TCP:10.0.0.1", Socket("tcp", "10.0.0.1", 5060), id="default-port"),
        pytest.param("udp:[::1]:5070", Socket("udp", "[::1]", 5070), id="ipv6"),
        pytest.param(
            'tls:10.0.0.1:5061 advertise example.com name "edge"',
            Socket("tls", "10.0.0.1", 5061, "example.com", None, "edge"),
            id="advertise-and-name",
        ),
    ],
)
def test_parse_socket(text: str, expected: Socket) -> None:
    assert parse_socket(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("udp", id="no-colon"),
        pytest.param("quic:127.0.0.1:5060", id="unknown-proto"),
        pytest.param("udp:example.com:5060", id="name-not-address"),
        pytest.param("udp:127.0.0.1:0", id="port-0"),
        pytest.param("udp:127.0.0.1:65536", id="port-too-large"),
        # Regression (fuzz): int() refused this with ValueError, not ConfigError.
        pytest.param("udp:127.0.0.1:" + "9" * 5000, id="port-5000-digits"),
        pytest.param("udp:127.0.0.1:\u0665\u0660\u0666\u0660", id="unicode-digits"),
        pytest.param("udp:127.0.0.1:5060 mtu 1500", id="unknown-word"),
        pytest.param("udp:[::1:5060", id="open-bracket"),
        # A name that could not be written back into a listen line (kamailio.cfg).
        pytest.param('udp:127.0.0.1:5060 name ""', id="empty-name"),
        pytest.param('udp:127.0.0.1:5060 name a"b', id="quote-in-name"),
        pytest.param("udp:127.0.0.1:5060 name a\\b", id="backslash-in-name"),
    ],
)
def test_parse_socket_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_socket(text)


def test_socket_text_forms() -> None:
    s = parse_socket("udp:127.0.0.3:5060 advertise 203.0.113.5:5080")
    assert str(s) == "udp:127.0.0.3:5060"
    assert s.describe() == "udp:127.0.0.3:5060 advertise 203.0.113.5:5080"
    assert parse_socket('udp:[::1]:5060 name "x"').describe() == 'udp:[::1]:5060 name "x"'
    assert parse_socket("udp:[::1]:5060").is_ipv6
    assert str(Alias("h", 5090, "udp")) == "udp:h:5090"
    assert str(Alias("h")) == "h"


def test_rr_params() -> None:
    assert RrParams() == RrParams.from_mapping({})
    params = RrParams.from_mapping({"enable_double_rr": "2", "force_send_socket": 1})
    assert (params.enable_double_rr, params.force_send_socket) == (2, 1)
    assert params.changed() == {"enable_double_rr": 2, "force_send_socket": 1}
    assert RrParams.from_mapping({"custom_user_avp": "$avp(u)"}).custom_user_avp == "$avp(u)"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"enable_dobule_rr": 1}, "did you mean 'enable_double_rr'", id="typo"),
        pytest.param({"loose_route_mode": 1}, "does not exist in Kamailio 5.6.3", id="6.1-only"),
        pytest.param({"enable_double_rr": 3}, "not in 0..2", id="range"),
        pytest.param({"append_fromtag": "yes"}, "expected an integer", id="not-int"),
        pytest.param({"append_fromtag": True}, "expected an integer", id="bool"),
        pytest.param({"append_fromtag": "9" * 5000}, "expected an integer", id="huge"),
    ],
)
def test_rr_params_errors(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RrParams.from_mapping(values)


def test_build() -> None:
    assert P.socket("udp:127.0.0.2:5060") == P.listen[2]
    assert P.socket("udp:[0:0::1]:5060") == P.listen[5]
    with pytest.raises(ConfigError, match="not one of this proxy's listen sockets"):
        P.socket("udp:127.0.0.9:5060")
    with pytest.raises(ConfigError, match="at least one listen socket"):
        Proxy.build(listen=[])


@pytest.mark.parametrize(
    ("flag", "kept"),
    [
        pytest.param(None, None, id="unset"),
        pytest.param(-1, None, id="minus-one-means-unset"),
        pytest.param(0, 0, id="zero"),
        pytest.param(63, 63, id="sixty-three"),
    ],
)
def test_outbound_flags(flag: int | None, kept: int | None) -> None:
    proxy = Proxy.build(listen=["udp:127.0.0.1:5060"], outbound=Outbound(force_outbound_flag=flag))
    assert proxy.outbound is not None
    assert proxy.outbound.force_outbound_flag == kept


@pytest.mark.parametrize("flag", [-2, 64, 10**40], ids=["minus-two", "64", "huge"])
def test_outbound_flag_errors(flag: int) -> None:
    # Regression (fuzz): these reached record_route() and broke 1 << flag there.
    with pytest.raises(ConfigError, match="force_no_outbound_flag"):
        Proxy.build(listen=["udp:127.0.0.1:5060"], outbound=Outbound(force_no_outbound_flag=flag))


def test_add_username_with_outbound_is_a_config_error() -> None:
    Proxy.build(listen=["udp:127.0.0.1:5060"], modparams={"add_username": 1})
    with pytest.raises(ConfigError, match="add_username=1 cannot be used with the outbound"):
        Proxy.build(
            listen=["udp:127.0.0.1:5060"], modparams={"add_username": 1}, outbound=Outbound()
        )


def test_the_socket_named_for_a_uri_is_udp_first_whatever_the_listen_order() -> None:
    proxy = Proxy.build(listen=["tcp:10.0.0.1:5060", "udp:10.0.0.1:5060"])
    assert locate(parse_uri("sip:10.0.0.1;transport=tcp"), proxy).reason() == (
        "listen udp:10.0.0.1:5060"
    )
