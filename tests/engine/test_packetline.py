"""engine/packetline.py and what it gives a paste: the capture's or log's line about the
packet names where the request went, which becomes the receiving proxy's first socket and
the caller's address; rulers and a Content-Length end the message.
"""

from __future__ import annotations

import pytest

from engine.logtext import clean
from engine.packetline import is_ruler, packet_before, read_packet_line, wireshark_packet
from engine.paste import (
    PastedResponse,
    build_proxy,
    closest_scenario,
    guess_proxy,
    read_pasted,
    read_pasted_message,
)

HEAD = [
    "BYE sip:bob@192.0.2.20 SIP/2.0",
    "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK776asdhds",
    "Max-Forwards: 70",
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
    "From: <sip:alice@atlanta.example.com>;tag=1928301774",
    "To: <sip:bob@biloxi.example.com>;tag=a6c85cf",
    "Call-ID: a84b4c76e66710",
    "CSeq: 314160 BYE",
    "Content-Length: 0",
]

V4 = ("198.51.100.7", 5062), ("203.0.113.5", 5060)
V6 = ("2001:db8::7", 5062), ("2001:db8::5", 5060)
PJSIP_SENT = "<--- Transmitting SIP request (402 bytes) to TLS:[2001:db8::5]:5060 --->"
PJSIP_RECEIVED = "<--- Received SIP request (402 bytes) from UDP:198.51.100.7:5062 --->"


@pytest.mark.parametrize(
    ("line", "proto", "source", "destination"),
    [
        ("U 198.51.100.7:5062 -> 203.0.113.5:5060 #3", "udp", *V4),
        ("T 2026/11/29 10:00:01.123 198.51.100.7:5062 -> 203.0.113.5:5060", "tcp", *V4),
        ("U 2001:db8::7:5062 -> 2001:db8::5:5060", "udp", *V6),
        ("2026/11/29 10:00:01.123456 198.51.100.7:5062 -> 203.0.113.5:5060", "", *V4),
        ("10:00:01.12 IP 198.51.100.7.5062 > 203.0.113.5.5060: SIP: BYE sip:b SIP/2.0", "udp", *V4),
        ("10:00:01.12 IP 198.51.100.7.5062 > 203.0.113.5.5060: UDP, length 402", "udp", *V4),
        ("10:00:01.12 IP6 2001:db8::7.5062 > 2001:db8::5.5060: Flags [P.], seq 1:403", "tcp", *V6),
        ("send 402 bytes to udp/[203.0.113.5]:5060 at 10:00:01.123456:", "udp", None, V4[1]),
        ("recv 402 bytes from tcp/[2001:db8::7]:5062 at 10:00:01.123456:", "tcp", V6[0], None),
        (PJSIP_SENT, "tls", None, V6[1]),
        (PJSIP_RECEIVED, "udp", V4[0], None),
        ("<--- SIP read from UDP:198.51.100.7:5062 --->", "udp", V4[0], None),
    ],
)
def test_each_layout_names_its_addresses(
    line: str,
    proto: str,
    source: tuple[str, int] | None,
    destination: tuple[str, int] | None,
) -> None:
    packet = read_packet_line(line, 4)
    assert packet is not None
    assert (packet.line, packet.proto, packet.source, packet.destination) == (
        4,
        proto,
        source,
        destination,
    )


@pytest.mark.parametrize(
    "line",
    [
        "10:00:01.12 IP pbx.sip > p1.example.sip: UDP, length 402",  # names, not addresses
        "U host.example:5060 -> 203.0.113.5:5060",
        "U 198.51.100.7:5062 -> 203.0.113.5:70000",  # no such port
        "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK-1",
        "send 402 bytes to udp/[203.0.113.5] at 10:00:01:",
        "",
    ],
)
def test_a_line_naming_no_addresses_is_no_packet_line(line: str) -> None:
    assert read_packet_line(line, 1) is None


def test_only_a_line_just_before_the_message_is_its_packet_line() -> None:
    lines = ["U 198.51.100.7:5062 -> 203.0.113.5:5060", "", "-" * 40, "one", "two", "three", "BYE"]
    assert packet_before(lines, 6) is None  # three lines of other text stand between
    assert packet_before(lines, 4) is not None  # blank lines and rulers are not counted
    assert is_ruler("   " + "=" * 20)
    assert not is_ruler("---")
    assert not is_ruler("-- x --")


def test_wireshark_reads_the_ip_and_udp_layers_of_the_same_packet() -> None:
    lines = [
        "Frame 1: 480 bytes on wire",
        "Internet Protocol Version 4, Src: 192.0.2.99, Dst: 192.0.2.98",
        "Frame 2: 480 bytes on wire",
        "Ethernet II, Src: 00:00:5e:00:53:01, Dst: 00:00:5e:00:53:02",
        "Internet Protocol Version 4, Src: alice.example (198.51.100.7), Dst: 203.0.113.5",
        "    0100 .... = Version: 4",
        "Transmission Control Protocol, Src Port: 5062, Dst Port: sip (5060), Seq: 1",
        "Session Initiation Protocol (BYE)",
        "    Request-Line: BYE sip:bob@192.0.2.20 SIP/2.0",
    ]
    packet = wireshark_packet(lines, 8)
    assert packet is not None
    assert (packet.line, packet.proto, packet.source, packet.destination) == (5, "tcp", *V4)
    # Frame 2 has no IP layer of its own above its SIP layer: Frame 1's is not taken.
    assert wireshark_packet([*lines[:4], *lines[6:]], 6) is None


def paste(*before: str, head: list[str] = HEAD, after: tuple[str, ...] = ("",)) -> str:
    return "\n".join([*before, *head, *after]) + "\n"


def test_the_request_arrived_where_the_capture_says_and_the_route_names_an_alias() -> None:
    pasted = read_pasted(paste("#", "U 198.51.100.7:5062 -> 203.0.113.5:5060 #3"))
    guess = guess_proxy(pasted.request, pasted.clean.packet)
    assert guess.listen == ("udp:203.0.113.5:5060",)  # not a placeholder address
    assert guess.aliases == ("p1.example.com",)
    assert guess.source == (
        "line 2 (the request went from 198.51.100.7:5062 to 203.0.113.5:5060 over UDP) "
        "and the top Route <sip:p1.example.com;lr>"
    )
    built = closest_scenario(pasted, build_proxy(guess.listen, guess.aliases))
    caller = built.scenario.user_agents[0]
    assert str(caller.address) == "udp:198.51.100.7:5062"
    assert caller.contact == "sip:caller@198.51.100.7:5062"
    assert "Caller is at 198.51.100.7:5062, where line 2 of the paste says" in " ".join(built.notes)
    assert built.differences == ()


def test_a_route_naming_another_address_stays_a_socket_of_the_proxy() -> None:
    head = [h.replace("p1.example.com", "10.0.0.1:5070") for h in HEAD]
    pasted = read_pasted(paste("T 198.51.100.7:5062 -> 203.0.113.5:5060", head=head))
    guess = guess_proxy(pasted.request, pasted.clean.packet)
    assert guess.listen == ("tcp:203.0.113.5:5060", "udp:10.0.0.1:5070")
    # The same address and port as the packet's: one socket.
    head = [h.replace("p1.example.com", "203.0.113.5") for h in HEAD]
    pasted = read_pasted(paste("T 198.51.100.7:5062 -> 203.0.113.5:5060", head=head))
    assert guess_proxy(pasted.request, pasted.clean.packet).listen == ("tcp:203.0.113.5:5060",)


def test_a_log_of_the_receiving_side_names_only_the_source() -> None:
    pasted = read_pasted(paste(PJSIP_RECEIVED))
    assert pasted.clean.packet is not None
    assert pasted.clean.packet.destination is None
    guess = guess_proxy(pasted.request, pasted.clean.packet)
    assert guess.listen == ("udp:192.0.2.1:5060",)  # the placeholder, as without the line
    assert guess.source == "the top Route <sip:p1.example.com;lr>"


def test_a_source_of_the_other_ip_version_or_in_use_is_not_the_callers() -> None:
    pasted = read_pasted(paste("U 2001:db8::7:5062 -> 2001:db8::5:5060"))
    guess = guess_proxy(pasted.request, pasted.clean.packet)
    assert guess.listen == ("udp:[2001:db8::5]:5060",)
    built = closest_scenario(pasted, build_proxy(guess.listen, guess.aliases))
    assert str(built.scenario.user_agents[0].address) == "udp:[2001:db8::7]:5062"
    # The source is the R-URI's host (the callee's address): the caller gets another one.
    pasted = read_pasted(paste("U 192.0.2.20:5060 -> 203.0.113.5:5060"))
    guess = guess_proxy(pasted.request, pasted.clean.packet)
    built = closest_scenario(pasted, build_proxy(guess.listen, guess.aliases))
    assert built.scenario.user_agents[0].address.host != "192.0.2.20"


FREESWITCH = [
    "send 402 bytes to udp/[203.0.113.5]:5060 at 10:00:01.123456:",
    "   " + "-" * 72,
    *("   " + h for h in HEAD),
]


@pytest.mark.parametrize("blank", ["   ", "", None])
def test_freeswitch_siptrace_ends_at_its_ruler(blank: str | None) -> None:
    """sofia's siptrace indents the message between two rulers; a message copied without
    its blank line ends at the closing ruler all the same."""
    after = (*(() if blank is None else (blank,)), "   " + "-" * 72)
    pasted = read_pasted(paste(*FREESWITCH[:2], head=FREESWITCH[2:], after=after))
    assert pasted.request.body == ""
    assert pasted.request.header("Content-Length") == "0"
    assert pasted.clean.describe().endswith("left out 1 line after the message")
    assert guess_proxy(pasted.request, pasted.clean.packet).listen == ("udp:203.0.113.5:5060",)


def test_a_body_ends_where_its_content_length_says() -> None:
    head = [*HEAD[:-1], "Content-Type: text/plain", "Content-Length: 7"]
    cleaned = clean(paste(head=head, after=("", "hello!!and then", "# the next packet", "")))
    assert cleaned.text.endswith("\r\n\r\nhello!!")
    assert (cleaned.trailing, cleaned.after) == (8, 1)
    said = cleaned.describe()
    assert "left out 8 characters after the message" in said
    assert "left out 1 line after the message" in said
    # Content-Length counts bytes: a body in UTF-8 ends where its bytes do.
    body = "v=0\r\ns=Café\r\n"
    head = [*HEAD[:-1], f"Content-Length: {len(body.encode())}"]
    cleaned = clean(paste(head=head, after=("", "v=0", "s=Café", "Nov 29 10:00:02 more words")))
    assert cleaned.text.endswith("\r\n\r\n" + body)
    assert (cleaned.trailing, cleaned.after) == (0, 1)
    # Without a Content-Length the body is every line after the blank one, as before.
    cleaned = clean(paste(head=HEAD[:-1], after=("", "hello", "world")))
    assert cleaned.text.endswith("\r\n\r\nhello\r\nworld\r\n")
    assert (cleaned.trailing, cleaned.after) == (0, 0)


@pytest.mark.parametrize("last", [".", "k", "7"])  # the checksum's low byte, printed or not
def test_tcpdump_runs_a_responses_header_bytes_into_its_status_line_too(last: str) -> None:
    ok = ["SIP/2.0 200 OK", "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK-1", "CSeq: 2 BYE"]
    text = "\n".join(
        [
            "10:00:01.2 IP 203.0.113.5.5060 > 198.51.100.7.5062: SIP: SIP/2.0 200 OK",
            f"E....@.@........{last}SIP/2.0 200 OK",
            *ok[1:],
            "Content-Length: 0",
            "",
            "",
        ]
    )
    pasted = read_pasted_message(text)
    assert isinstance(pasted, PastedResponse)
    assert pasted.response.status == 200
    assert pasted.response.header("CSeq") == "2 BYE"
    assert pasted.clean.lead == f"E....@.@........{last}"
    assert pasted.clean.packet is not None
    assert pasted.clean.packet.source == ("203.0.113.5", 5060)


def test_without_a_packet_line_the_placeholder_addresses_are_as_before() -> None:
    """The next hop's placeholder is taken first, then the caller's (as before packet lines)."""
    pasted = read_pasted(paste())
    guess = guess_proxy(pasted.request, pasted.clean.packet)
    built = closest_scenario(pasted, build_proxy(guess.listen, guess.aliases))
    caller, callee = built.scenario.user_agents
    assert (str(caller.address), str(callee.address)) == (
        "udp:192.0.2.11:5060",
        "udp:192.0.2.10:5060",
    )
