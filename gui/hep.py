"""HEP, the Homer encapsulation protocol: a SIP message as a capture agent (Kamailio's
siptrace module, heplify, a Homer capture server's peers) sends it to a collector, with the
addresses, transport and time it was seen with.

A capture of that traffic (UDP to port 9060, mostly, or TCP: the capture reader cuts a TCP
stream at each ``HEP3`` packet's length) holds the SIP messages one layer down:
:func:`decode` unwraps one datagram, so that the capture reader shows each message with its
own addresses and time instead of the agent's and the collector's.

Read as Kamailio 5.6.3's siptrace writes them (``tests/data/hep/``, recorded here with
``hep_version`` 1, 2 and 3 over IPv4 and IPv6):

* versions 1 and 2: a byte each of version, header length (8 + the two addresses: 16 for
  IPv4, 40 for IPv6), address family (2 or 10) and IP protocol (17 UDP, 6 TCP, 132 SCTP),
  the two ports, the two addresses; version 2 then the capture time, seconds and
  microseconds as the agent's host writes them (little-endian on x86 and ARM), and a capture
  id and two bytes of padding; then the message;
* version 3: ``HEP3``, the total length, then chunks of vendor, type and length (all
  big-endian): 1 family, 2 IP protocol, 3/4 IPv4 and 5/6 IPv6 source and destination, 7/8
  ports, 9/10 seconds and microseconds, 11 the payload's protocol (1 SIP), 15 the payload
  (16, a compressed one, is not read: such a packet counts as HEP without SIP).

Rule: anything that does not read as one of these exactly (a length that does not add up,
an unknown family) is not HEP, and the datagram stays what it was.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

_PROTOCOLS = {17: "udp", 6: "tcp", 132: "sctp"}
_FAMILIES = {2: 4, 10: 16}  # AF_INET, AF_INET6: address length
_V2_TIME = struct.Struct("<IIH2x")  # seconds, microseconds, capture id, padding
_CHUNK = struct.Struct("!HHH")  # vendor, type, length (with these 6 bytes)


class Hep(NamedTuple):
    """One unwrapped HEP packet: the message and what the agent saw it with (addresses as
    packed bytes, ports as two big-endian bytes, as the capture reader's own)."""

    proto: str
    src_ip: bytes
    src_port: bytes
    dst_ip: bytes
    dst_port: bytes
    time: float | None
    payload: bytes
    sip: bool  # the agent says the payload is SIP (version 3), or it is not known


def decode(data: bytes) -> Hep | None:
    """The HEP packet ``data`` is, None when it is none.

    >>> ip = bytes([192, 0, 2, 10]) + bytes([192, 0, 2, 1])
    >>> v1 = bytes([1, 16, 2, 17, 0x13, 0xC4, 0x13, 0xC4]) + ip + b"BYE sip:b SIP/2.0\\r\\n"
    >>> h = decode(v1)
    >>> h.proto, h.src_ip, h.dst_port, h.payload[:3]
    ('udp', b'\\xc0\\x00\\x02\\n', b'\\x13\\xc4', b'BYE')
    >>> decode(b"OPTIONS sip:x SIP/2.0") is None
    True
    """
    if data[:4] == b"HEP3":
        return _version3(data)
    if data[:1] in (b"\x01", b"\x02"):
        return _version12(data)
    return None


def _version12(data: bytes) -> Hep | None:
    if len(data) < 8:
        return None
    version, length, family, protocol = data[0], data[1], data[2], data[3]
    size = _FAMILIES.get(family)
    if size is None or length != 8 + 2 * size or protocol not in _PROTOCOLS:
        return None
    end = length + (_V2_TIME.size if version == 2 else 0)
    if len(data) <= end:
        return None
    time = None
    if version == 2:
        seconds, micro, _capture = _V2_TIME.unpack_from(data, length)
        time = seconds + micro / 1e6
    return Hep(
        _PROTOCOLS[protocol],
        data[8 : 8 + size],
        data[4:6],
        data[8 + size : length],
        data[6:8],
        time,
        data[end:],
        True,
    )


def _version3(data: bytes) -> Hep | None:
    if len(data) < 6:
        return None
    total = int.from_bytes(data[4:6], "big")
    if not 6 <= total <= len(data):
        return None
    chunks: dict[int, bytes] = {}
    pos = 6
    while pos < total:
        if pos + _CHUNK.size > total:
            return None
        vendor, kind, length = _CHUNK.unpack_from(data, pos)
        if length < _CHUNK.size or pos + length > total:
            return None
        if vendor == 0:
            chunks[kind] = data[pos + _CHUNK.size : pos + length]
        pos += length
    family = chunks.get(1, b"")
    protocol = chunks.get(2, b"")
    size = _FAMILIES.get(family[0]) if len(family) == 1 else None
    src, dst = (chunks.get(3), chunks.get(4)) if size == 4 else (chunks.get(5), chunks.get(6))
    sport, dport, payload = chunks.get(7), chunks.get(8), chunks.get(15)
    if (
        size is None
        or src is None
        or dst is None
        or len(src) != size
        or len(dst) != size
        or sport is None
        or dport is None
        or len(sport) != 2
        or len(dport) != 2
    ):
        return None
    seconds, micro = chunks.get(9, b""), chunks.get(10, b"")
    time = None
    if len(seconds) == 4:
        time = int.from_bytes(seconds, "big") + (
            int.from_bytes(micro, "big") / 1e6 if len(micro) == 4 else 0.0
        )
    kind = chunks.get(11, b"")
    proto = _PROTOCOLS.get(protocol[0], "") if len(protocol) == 1 else ""
    # No raw payload (a compressed one, chunk 16, is not read): HEP, but nothing to show.
    sip = payload is not None and kind in (b"", b"\x01")
    return Hep(proto, src, sport, dst, dport, time, payload or b"", sip)


__all__ = ["Hep", "decode"]
