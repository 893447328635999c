"""engine/outbound.py: RFC 5626 flow tokens as Kamailio 5.6.3's outbound module makes them.

Token texts below are the ones recorded in ../shared/vectors/outbound-kamailio-5.6.3.jsonl
(vector ids in the test ids).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.outbound import (
    MAC_LEN,
    Flow,
    TokenStatus,
    decode_flow_token,
    encode_flow_token,
    inspect_flow_token,
    key_for,
)
from engine.proxy import PROTO_IDS, Outbound

KEY = hashlib.sha1(b"").digest()
H01_TOKEN = "zaL+x1tnTDNo+AF/AAABE8R/AAABYeU="  # 127.0.0.1:5060 <- 127.0.0.1:25061 udp
H01_FLOW = Flow("udp", "127.0.0.1", 5060, "127.0.0.1", 25061)


def test_the_key_is_sha1_of_the_empty_string_whatever_the_secret() -> None:
    # spec 3.8: 5.6.x stores flow_token_secret with length 0 (fixed in 5.8).
    assert key_for(Outbound(flow_token_secret="anything")) == KEY
    assert key_for(Outbound()) == KEY


def test_encode_gives_kamailio_token_H01() -> None:  # noqa: N802
    assert encode_flow_token(H01_FLOW, KEY) == H01_TOKEN
    assert decode_flow_token(H01_TOKEN, KEY) == H01_FLOW


@given(
    proto=st.sampled_from(sorted(PROTO_IDS)),
    v6=st.booleans(),
    local=st.integers(0, 2**128 - 1),
    remote=st.integers(0, 2**128 - 1),
    lport=st.integers(0, 65535),
    rport=st.integers(0, 65535),
)
def test_encode_then_decode_is_the_identity(
    proto: str, v6: bool, local: int, remote: int, lport: int, rport: int
) -> None:
    make = ipaddress.IPv6Address if v6 else ipaddress.IPv4Address
    bits = 2**128 if v6 else 2**32
    flow = Flow(proto, str(make(local % bits)), lport, str(make(remote % bits)), rport)
    token = encode_flow_token(flow, KEY)
    assert len(base64.b64decode(token)) == (47 if v6 else 23)
    assert inspect_flow_token(token, KEY) == (TokenStatus.VALID, flow)


def test_ipv6_token_H24() -> None:  # noqa: N802
    token = "Fu3WSyWdMNLAiIEAAAAAAAAAAAAAAAAAAAABE8QAAAAAAAAAAAAAAAAAAAABYec="
    flow = decode_flow_token(token, KEY)
    assert flow == Flow("udp", "::1", 5060, "::1", 25063)
    assert flow.destination == "sip:[::1]:25063;transport=udp"
    assert flow.local_socket == "udp:[::1]:5060"
    raw = base64.b64decode(token)
    assert raw[MAC_LEN] == 0x80 | PROTO_IDS["udp"]  # the IPv6 flag


def test_flow_text_forms() -> None:
    assert H01_FLOW.destination == "sip:127.0.0.1:25061;transport=udp"
    assert H01_FLOW.local_socket == "udp:127.0.0.1:5060"


@pytest.mark.parametrize(
    ("token", "status"),
    [
        pytest.param("TaL+x1tnTDNo+AF/AAABE8R/AAABYeU=", TokenStatus.BAD_MAC, id="mac-byte-H03"),
        pytest.param(
            "zaL+x1tnTDNo+AF/AAABk8R/AAABYeU=", TokenStatus.BAD_MAC, id="payload-byte-H04"
        ),
        pytest.param("A" * 31 + "=", TokenStatus.BAD_MAC, id="23-zero-bytes-H18"),
        pytest.param("A" * 63 + "=", TokenStatus.BAD_MAC, id="47-zero-bytes-H19"),
        pytest.param("A" * 32, TokenStatus.NOT_A_TOKEN, id="24-bytes-H20"),
        pytest.param("A" * 30 + "==", TokenStatus.NOT_A_TOKEN, id="22-bytes-H21"),
        pytest.param("alice", TokenStatus.NOT_A_TOKEN, id="plain-user-H17"),
        pytest.param("", TokenStatus.NOT_A_TOKEN, id="empty"),
        pytest.param("zaL+x1tnTDNo+AF/AAABE8R/AAABYeU", TokenStatus.NOT_A_TOKEN, id="no-padding"),
        pytest.param("\u00e9" * 32, TokenStatus.NOT_A_TOKEN, id="not-ascii"),
        # Kamailio 5.6.3 goes by the length only (RL-FTOK-*): a token-sized user that is
        # not plain base64 is a token whose MAC fails.
        pytest.param("zaL-x1tnTDNo+AF/AAABE8R/AAABYeU=", TokenStatus.BAD_MAC, id="urlsafe"),
        pytest.param("A" * 10 + "=" + "A" * 20 + "=", TokenStatus.BAD_MAC, id="inner-equals"),
        pytest.param("A" * 20 + "!" + "A" * 10 + "=", TokenStatus.BAD_MAC, id="bang"),
        pytest.param("\u00e9" * 15 + "A=", TokenStatus.BAD_MAC, id="non-ascii-32-bytes"),
        pytest.param("A" * 28 + "====", TokenStatus.NOT_A_TOKEN, id="20-bytes"),
        pytest.param("zaL+x1tnTDNo+AF/AAABE8R/AAABYeU.", TokenStatus.NOT_A_TOKEN, id="dot-last"),
    ],
)
def test_what_is_not_a_valid_token(token: str, status: TokenStatus) -> None:
    assert inspect_flow_token(token, KEY) == (status, None)
    assert decode_flow_token(token, KEY) is None


def test_none_user_is_not_a_token() -> None:
    assert inspect_flow_token(None, KEY) == (TokenStatus.NOT_A_TOKEN, None)


@pytest.mark.parametrize("position", range(len(H01_TOKEN) - 1))
def test_any_flipped_character_breaks_the_token(position: int) -> None:
    # Tampering (RFC 5626 5.3): change one base64 character (for the one before '=',
    # its data bits) and the token no longer verifies.
    chars = list(H01_TOKEN)
    chars[position] = "B" if chars[position] != "B" else "C"
    tampered = "".join(chars)
    assert inspect_flow_token(tampered, KEY)[0] is not TokenStatus.VALID


def test_padding_bits_are_ignored_H05() -> None:  # noqa: N802
    # The character before '=' carries 2 unused bits: flipping one still decodes to
    # the same 23 bytes, so the token stays valid (seen on 5.6.3).
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    padded = H01_TOKEN[:-2] + alphabet[alphabet.index(H01_TOKEN[-2]) ^ 1] + "="
    assert padded == "zaL+x1tnTDNo+AF/AAABE8R/AAABYeV="  # as sent in vector H05
    assert decode_flow_token(padded, KEY) == H01_FLOW


def test_47_bytes_with_an_ipv4_flag_read_as_ipv4_H31() -> None:  # noqa: N802
    # The proto byte, not the length, decides how the addresses are read.
    token = "jenoqPdrYfw9cwF/AAABE8R/AAABYeUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    assert len(base64.b64decode(token)) == 47
    assert decode_flow_token(token, KEY) == H01_FLOW


def test_23_bytes_with_an_ipv6_flag_is_not_a_token() -> None:
    rest = bytes([0x81]) + bytes(12)
    mac = hmac.new(KEY, rest, hashlib.sha1).digest()[-MAC_LEN:]
    token = base64.b64encode(mac + rest).decode()
    assert len(base64.b64decode(token)) == 23
    assert inspect_flow_token(token, KEY) == (TokenStatus.NOT_A_TOKEN, None)


def test_another_key_rejects_the_token() -> None:
    other = hashlib.sha1(b"secret").digest()
    assert inspect_flow_token(H01_TOKEN, other) == (TokenStatus.BAD_MAC, None)
    assert decode_flow_token(encode_flow_token(H01_FLOW, other), other) == H01_FLOW


def test_unknown_proto_id_reads_as_udp() -> None:
    rest = bytes([0x07]) + bytes([127, 0, 0, 1]) + (5060).to_bytes(2, "big") + bytes(6)
    mac = hmac.new(KEY, rest, hashlib.sha1).digest()[-MAC_LEN:]
    flow = decode_flow_token(base64.b64encode(mac + rest).decode(), KEY)
    assert flow == Flow("udp", "127.0.0.1", 5060, "0.0.0.0", 0)
