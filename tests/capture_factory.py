"""Captures the tests write themselves: SIP call flows, link layers, TCP segments, fragments.

Nothing here comes from a real network: the call flows are built from the RFC 3261 trapezoid
(Alice -> P1 -> P2 -> Bob, both proxies record-routing), the frames with ``struct`` and the
files with dpkt's writers.  Shared by tests/gui/test_capture.py, tests/test_import_cli.py and
tests/bench/bench_import.py.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dpkt
from dpkt import pcapng

ALICE = "10.0.0.1:5060"
P1 = "10.0.0.2:5060"
P2 = "10.0.0.3:5060"
BOB = "10.0.0.4:5060"
STRAY = "10.0.0.5:5060"


@dataclass(frozen=True)
class Hop:
    """One message on the wire."""

    src: str
    dst: str
    text: str
    transport: str = "udp"


def _msg(lines: Sequence[str], body: str = "") -> str:
    return "\r\n".join([*lines, f"Content-Length: {len(body.encode())}", "", body])


def trapezoid(
    n: int = 0,
    *,
    bye_from_p2_to: str | None = None,
    p1_name: str | None = None,
    transport: str = "udp",
    double_rr_p1: str | None = None,
    addresses: tuple[str, str, str, str] = (ALICE, P1, P2, BOB),
    with_trying: bool = True,
    body: str = "",
) -> list[Hop]:
    """One call Alice -> P1 -> P2 -> Bob: INVITE, 100s, 180, 200, ACK, BYE from Bob, 200.

    21 messages with the 100 Trying of each hop.  ``bye_from_p2_to`` makes P2 send Bob's BYE
    to that address instead of P1 (a misrouting proxy); ``p1_name`` makes P1 record-route
    with a host name instead of its IP; ``double_rr_p1`` gives P1 a second address (it
    receives from Alice on its first and sends to P2 from that one, double record-routing).
    """
    a, p1, p2, b = addresses
    p1_out = double_rr_p1 or p1
    t = transport.upper()
    tp = f";transport={transport}" if transport != "udp" else ""
    call_id = f"call-{n}@{a.rsplit(':', 1)[0]}"
    ftag, ttag = f"a{n}", f"b{n}"

    def hostport(addr: str) -> str:
        h, port = addr.rsplit(":", 1)
        return addr if port != "5060" else h

    p1_uri = p1_name or hostport(p1)
    if double_rr_p1:
        rr_p1 = [
            f"<sip:{hostport(p1_out)}{tp};r2=on;lr;ftag={ftag}>",
            f"<sip:{p1_uri}{tp};r2=on;lr;ftag={ftag}>",
        ]
    else:
        rr_p1 = [f"<sip:{p1_uri}{tp};lr;ftag={ftag}>"]
    rr_p2 = [f"<sip:{hostport(p2)}{tp};lr;ftag={ftag}>"]
    va = f"Via: SIP/2.0/{t} {hostport(a)};branch=z9hG4bK-a-{n}"
    vp1 = f"Via: SIP/2.0/{t} {hostport(p1_out)};branch=z9hG4bK-p1-{n}"
    vp2 = f"Via: SIP/2.0/{t} {hostport(p2)};branch=z9hG4bK-p2-{n}"
    frm = f"From: <sip:alice@atlanta.example.com>;tag={ftag}"
    to = "To: <sip:bob@biloxi.example.com>"
    to_t = f"{to};tag={ttag}"
    cid = f"Call-ID: {call_id}"
    contact_a = f"Contact: <sip:alice@{hostport(a)}{tp}>"
    contact_b = f"Contact: <sip:bob@{hostport(b)}{tp}>"
    ruri = f"sip:bob@{hostport(b)}"
    inv = "CSeq: 1 INVITE"
    rr_all = [*rr_p2, *rr_p1]

    def rr(values: list[str]) -> list[str]:
        return [f"Record-Route: {v}" for v in values]

    sdp = body
    hops: list[Hop] = []

    def add(src: str, dst: str, lines: list[str], content: str = "") -> None:
        hops.append(Hop(src, dst, _msg(lines, content), transport))

    add(
        a, p1, [f"INVITE {ruri} SIP/2.0", va, "Max-Forwards: 70", frm, to, cid, inv, contact_a], sdp
    )
    if with_trying:
        add(p1, a, ["SIP/2.0 100 Trying", va, frm, to, cid, inv])
    add(
        p1_out,
        p2,
        [f"INVITE {ruri} SIP/2.0", *rr(rr_p1), vp1, va, "Max-Forwards: 69", frm, to, cid, inv,
         contact_a],
        sdp,
    )  # fmt: skip
    if with_trying:
        add(p2, p1_out, ["SIP/2.0 100 Trying", vp1, va, frm, to, cid, inv])
    add(
        p2,
        b,
        [f"INVITE {ruri} SIP/2.0", *rr(rr_all), vp2, vp1, va, "Max-Forwards: 68", frm, to, cid,
         inv, contact_a],
        sdp,
    )  # fmt: skip
    if with_trying:
        add(b, p2, ["SIP/2.0 100 Trying", vp2, vp1, va, frm, to, cid, inv])
    for status in ("180 Ringing", "200 OK"):
        content = sdp if status.startswith("200") else ""
        add(b, p2, [f"SIP/2.0 {status}", *rr(rr_all), vp2, vp1, va, frm, to_t, cid, inv,
                    contact_b], content)  # fmt: skip
        add(p2, p1_out, [f"SIP/2.0 {status}", *rr(rr_all), vp1, va, frm, to_t, cid, inv,
                         contact_b], content)  # fmt: skip
        add(p1, a, [f"SIP/2.0 {status}", *rr(rr_all), va, frm, to_t, cid, inv, contact_b],
            content)  # fmt: skip
    # Alice's route set: the 2xx Record-Route reversed (P1 first); Bob's: as received (P2 first).
    route_a = ", ".join(reversed(rr_all))
    route_b = ", ".join(rr_all)
    ack = "CSeq: 1 ACK"
    va2 = f"Via: SIP/2.0/{t} {hostport(a)};branch=z9hG4bK-a-ack-{n}"
    add(a, p1, [f"ACK sip:bob@{hostport(b)}{tp} SIP/2.0", va2, "Max-Forwards: 70",
                f"Route: {route_a}", frm, to_t, cid, ack])  # fmt: skip
    route_after_p1 = ", ".join(reversed(rr_p2))
    vp1a = f"Via: SIP/2.0/{t} {hostport(p1_out)};branch=z9hG4bK-p1-ack-{n}"
    add(p1_out, p2, [f"ACK sip:bob@{hostport(b)}{tp} SIP/2.0", vp1a, va2, "Max-Forwards: 69",
                     f"Route: {route_after_p1}", frm, to_t, cid, ack])  # fmt: skip
    vp2a = f"Via: SIP/2.0/{t} {hostport(p2)};branch=z9hG4bK-p2-ack-{n}"
    add(p2, b, [f"ACK sip:bob@{hostport(b)}{tp} SIP/2.0", vp2a, vp1a, va2, "Max-Forwards: 68",
                frm, to_t, cid, ack])  # fmt: skip
    # Bob hangs up: BYE to Alice's contact through P2 then P1.
    bye = "CSeq: 1 BYE"
    vb = f"Via: SIP/2.0/{t} {hostport(b)};branch=z9hG4bK-b-bye-{n}"
    bfrm = f"From: <sip:bob@biloxi.example.com>;tag={ttag}"
    bto = f"To: <sip:alice@atlanta.example.com>;tag={ftag}"
    bye_uri = f"sip:alice@{hostport(a)}{tp}"
    add(b, p2, [f"BYE {bye_uri} SIP/2.0", vb, "Max-Forwards: 70", f"Route: {route_b}", bfrm, bto,
                cid, bye])  # fmt: skip
    vp2b = f"Via: SIP/2.0/{t} {hostport(p2)};branch=z9hG4bK-p2-bye-{n}"
    route_after_p2 = ", ".join(rr_p1)
    target = bye_from_p2_to or p1_out
    add(p2, target, [f"BYE {bye_uri} SIP/2.0", vp2b, vb, "Max-Forwards: 69",
                     f"Route: {route_after_p2}", bfrm, bto, cid, bye])  # fmt: skip
    vp1b = f"Via: SIP/2.0/{t} {hostport(p1)};branch=z9hG4bK-p1-bye-{n}"
    if bye_from_p2_to is None:
        add(p1, a, [f"BYE {bye_uri} SIP/2.0", vp1b, vp2b, vb, "Max-Forwards: 68", bfrm, bto, cid,
                    bye])  # fmt: skip
        add(a, p1, ["SIP/2.0 200 OK", vp1b, vp2b, vb, bfrm, bto, cid, bye])
        add(p1_out, p2, ["SIP/2.0 200 OK", vp2b, vb, bfrm, bto, cid, bye])
    else:
        add(target, p2, ["SIP/2.0 200 OK", vp2b, vb, bfrm, bto, cid, bye])
    add(p2, b, ["SIP/2.0 200 OK", vb, bfrm, bto, cid, bye])
    return hops


# --------------------------------------------------------------------------
# packets


def _ip_bytes(addr: str) -> tuple[bytes, int, int]:
    host, port = addr.rsplit(":", 1)
    ip = ipaddress.ip_address(host.strip("[]"))
    return ip.packed, int(port), ip.version


def udp(src: str, dst: str, payload: bytes) -> bytes:
    """A UDP datagram (header and payload), checksum 0."""
    _, sport, _ = _ip_bytes(src)
    _, dport, _ = _ip_bytes(dst)
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(src: str, dst: str, seq: int, payload: bytes = b"", flags: int = 0x18) -> bytes:
    """A TCP segment (20-byte header) with the given sequence number and flags."""
    _, sport, _ = _ip_bytes(src)
    _, dport, _ = _ip_bytes(dst)
    return (
        struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, flags, 65535, 0, 0)
        + payload
    )


def ipv4(src: str, dst: str, proto: int, data: bytes, *, ident: int = 1, frag: int = 0) -> bytes:
    """An IPv4 packet (no options); ``frag`` is the raw flags/fragment-offset field."""
    s, _, _ = _ip_bytes(src)
    d, _, _ = _ip_bytes(dst)
    return (
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, frag, 64, proto, 0, s, d)
        + data
    )


def ipv6(src: str, dst: str, proto: int, data: bytes) -> bytes:
    """An IPv6 packet without extension headers."""
    s, _, _ = _ip_bytes(src)
    d, _, _ = _ip_bytes(dst)
    return struct.pack("!IHBB16s16s", 6 << 28, len(data), proto, 64, s, d) + data


def ip_packet(src: str, dst: str, proto: int, data: bytes, *, ident: int = 1) -> bytes:
    """IPv4 or IPv6 by the addresses."""
    if _ip_bytes(src)[2] == 6:
        return ipv6(src, dst, proto, data)
    return ipv4(src, dst, proto, data, ident=ident)


def ipv4_fragments(
    src: str, dst: str, proto: int, data: bytes, size: int, ident: int
) -> list[bytes]:
    """The IPv4 fragments of one datagram, ``size`` bytes of data each (a multiple of 8)."""
    out = []
    for off in range(0, len(data), size):
        piece = data[off : off + size]
        more = 0x2000 if off + size < len(data) else 0
        out.append(ipv4(src, dst, proto, piece, ident=ident, frag=more | (off // 8)))
    return out


def ipv6_fragments(
    src: str, dst: str, proto: int, data: bytes, size: int, ident: int
) -> list[bytes]:
    """The IPv6 fragments of one datagram (fragment extension header 44)."""
    out = []
    for off in range(0, len(data), size):
        piece = data[off : off + size]
        more = 1 if off + size < len(data) else 0
        header = struct.pack("!BBHI", proto, 0, off | more, ident)
        out.append(ipv6(src, dst, 44, header + piece))
    return out


# link layers

ETH_IPV4, ETH_IPV6 = b"\x08\x00", b"\x86\xdd"


def ethertype(ip: bytes) -> bytes:
    return ETH_IPV6 if ip[0] >> 4 == 6 else ETH_IPV4


def ethernet(ip: bytes, *, vlan: bool = False) -> bytes:
    tag = b"\x81\x00\x00\x64" if vlan else b""
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" + tag + ethertype(ip) + ip


def sll(ip: bytes) -> bytes:
    return struct.pack("!HHH8s", 0, 1, 6, b"\x02\x00\x00\x00\x00\x01\x00\x00") + ethertype(ip) + ip


def sll2(ip: bytes) -> bytes:
    return (
        ethertype(ip)
        + struct.pack("!HIHBB8s", 0, 2, 1, 0, 6, b"\x02\x00\x00\x00\x00\x01\x00\x00")
        + ip
    )


def null(ip: bytes) -> bytes:
    family = 2 if ip[0] >> 4 == 4 else 30  # AF_INET; AF_INET6 as macOS writes it
    return struct.pack("<I", family) + ip


def loop(ip: bytes) -> bytes:
    family = 2 if ip[0] >> 4 == 4 else 24
    return struct.pack("!I", family) + ip


def raw(ip: bytes) -> bytes:
    return ip


LINKS = {
    "ethernet": (dpkt.pcap.DLT_EN10MB, ethernet),
    "sll": (113, sll),
    "sll2": (276, sll2),
    "raw": (101, raw),
    "raw12": (12, raw),
    "null": (0, null),
    "loop": (108, loop),
}


def udp_frames(hops: Iterable[Hop], link: str = "ethernet") -> list[bytes]:
    """One frame per message, over UDP."""
    wrap = LINKS[link][1]
    return [
        wrap(ip_packet(h.src, h.dst, 17, udp(h.src, h.dst, h.text.encode()), ident=i))
        for i, h in enumerate(hops, start=1)
    ]


def write_pcap(path: Path, frames: Iterable[bytes], linktype: int = 1, *, nano: bool = False,
               start: float = 1_700_000_000.0) -> Path:  # fmt: skip
    """A libpcap file, one frame every millisecond."""
    with open(path, "wb") as fh:
        writer = dpkt.pcap.Writer(fh, snaplen=65535, linktype=linktype, nano=nano)
        for i, frame in enumerate(frames):
            writer.writepkt(frame, ts=start + i / 1000)
    return path


def write_pcapng(path: Path, frames: Iterable[bytes], linktype: int = 1,
                 start: float = 1_700_000_000.0) -> Path:  # fmt: skip
    """A pcapng file (one interface), one frame every millisecond."""
    with open(path, "wb") as fh:
        writer = pcapng.Writer(fh, snaplen=65535, linktype=linktype)
        for i, frame in enumerate(frames):
            writer.writepkt(frame, ts=start + i / 1000)
    return path


def write_pcapng_interfaces(path: Path, frames: Iterable[tuple[int, bytes]],
                            linktypes: Sequence[int]) -> Path:  # fmt: skip
    """A pcapng file with several interfaces; ``frames`` are (interface, frame)."""
    idbs = [pcapng.InterfaceDescriptionBlockLE(snaplen=65535, linktype=lt) for lt in linktypes]
    with open(path, "wb") as fh:
        writer = pcapng.Writer(fh, idb=idbs)
        for i, (iface, frame) in enumerate(frames):
            epb = pcapng.EnhancedPacketBlockLE(pkt_data=frame, iface_id=iface)
            ts = int((1_700_000_000 + i / 1000) * 1e6)
            epb.ts_high, epb.ts_low = ts >> 32, ts & 0xFFFFFFFF
            writer.writepkt(epb)
    return path


def tcp_stream_frames(
    hops: Sequence[Hop],
    *,
    segment: int = 0,
    coalesce: bool = False,
    link: str = "ethernet",
    handshake: bool = True,
) -> list[bytes]:
    """The messages over TCP, one connection per direction pair.

    ``segment`` > 0 cuts each message into segments of that many bytes (one message across
    segments); ``coalesce`` puts consecutive messages of the same direction into one segment
    (several messages in one segment).
    """
    wrap = LINKS[link][1]
    seqs: dict[tuple[str, str], int] = {}
    frames: list[bytes] = []

    def send(src: str, dst: str, data: bytes, flags: int = 0x18) -> None:
        key = (src, dst)
        if key not in seqs:
            seqs[key] = 1000 * (len(seqs) + 1)
            if handshake:
                frames.append(wrap(ip_packet(src, dst, 6, tcp(src, dst, seqs[key], b"", 0x02))))
            seqs[key] += 1
        frames.append(wrap(ip_packet(src, dst, 6, tcp(src, dst, seqs[key], data, flags))))
        seqs[key] += len(data)

    i = 0
    while i < len(hops):
        h = hops[i]
        data = h.text.encode()
        if coalesce:
            while i + 1 < len(hops) and (hops[i + 1].src, hops[i + 1].dst) == (h.src, h.dst):
                i += 1
                data += hops[i].text.encode()
        if segment:
            for off in range(0, len(data), segment):
                send(h.src, h.dst, data[off : off + segment])
        else:
            send(h.src, h.dst, data)
        i += 1
    return frames


def wireshark_frame(number: int, hop: Hop, *, epoch: bool, names: bool) -> str:
    """One frame as Wireshark's "Export Packet Dissections > As Plain Text" writes it."""
    src_ip, src_port = hop.src.rsplit(":", 1)
    dst_ip, dst_port = hop.dst.rsplit(":", 1)
    head, _, _body = hop.text.partition("\r\n\r\n")
    start, *headers = head.split("\r\n")
    kind = "Status-Line" if start.startswith("SIP/2.0") else "Request-Line"
    v6 = src_ip.startswith("[")
    shown_src = f"alice.example.com ({src_ip.strip('[]')})" if names else src_ip.strip("[]")
    lines = [
        f"Frame {number}: {len(hop.text) + 42} bytes on wire ({(len(hop.text) + 42) * 8} bits)",
        "    Encapsulation type: Ethernet (1)",
        *([f"    Epoch Time: 1700000000.{number:06d}000 seconds"] if epoch else []),
        "    [Protocols in frame: eth:ethertype:ip:udp:sip]",
        "Ethernet II, Src: 52:54:00:12:34:56, Dst: 52:54:00:65:43:21",
        f"Internet Protocol Version {6 if v6 else 4}, Src: {shown_src}, Dst: {dst_ip.strip('[]')}",
        "    0100 .... = Version: 4",
        f"User Datagram Protocol, Src Port: {src_port}, Dst Port: {dst_port}",
        f"Session Initiation Protocol ({start.split()[0]})",
        f"    {kind}: {start}",
        "        [Resent Packet: False]",
        "    Message Header",
        *(f"        {h}" for h in headers),
        "",
    ]
    return "\n".join(lines) + "\n"
