"""Reading captures: pcap and pcapng files, and text files of SIP messages.

Rule 1: stream, keep only SIP.  Files are read packet by packet; a packet that carries no SIP
is counted and forgotten, TCP streams and IP fragments are buffered only until their SIP
messages are complete, with caps on everything, so a capture of a million packets never has to
fit in memory.
Rule 2: never a traceback.  Truncated files, garbage, non-SIP traffic and malformed packets end
up in :class:`ReadSummary` (what was skipped and why); whatever can be read is read.

The file formats are read by **dpkt** (1.9.8, pure Python, maintained, MIT-like licence):
``dpkt.pcap.Reader`` for libpcap files (either byte order, micro- and nanosecond timestamps)
and dpkt's pcapng block classes (section header, interface description with its link type,
``if_tsresol`` and ``if_tsoffset``, enhanced and obsolete packet blocks) for pcapng, walked
block by block so that every interface keeps its own link type.  The link, IP, UDP and TCP
headers are decoded here with ``struct``-style slicing rather than with dpkt's layer classes:
those build an object per layer and cost about 20 µs a packet (Ethernet/IPv4/UDP, measured on
this machine), several times the whole budget of 100,000 messages a second.

Link types: Ethernet (with 802.1Q/802.1ad tags), Linux cooked v1 and v2, raw IP (101, and the
platform values 12 and 14, and 228/229), BSD loopback (0) and OpenBSD loopback (108).  IPv4
and IPv6 (extension headers skipped, fragments of both reassembled), UDP, and TCP with stream
reassembly: segments are put in sequence order per direction, and the byte stream is cut into
SIP messages by their Content-Length (several messages per segment, one message across
segments).

Text files: plain SIP messages separated by blank lines, sngrep's "save as text" format
(``YYYY/MM/DD HH:MM:SS.uuuuuu SRC -> DST`` then the message), the text files of Kamailio's
sipdump module (``====================`` records with ``srcip``/``dstip``/``proto`` lines), and
Wireshark's packet dissections as text (File > Export Packet Dissections > As Plain Text, or
``tshark -V``: ``Frame N:`` blocks whose IP and transport lines give the addresses, whose
``Epoch Time`` gives the time when the frame's details are shown, and whose SIP headers are
read as the paste dialog reads them; the message bodies are not in that text).
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import socket
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import dpkt
from dpkt import pcapng

from engine.catalog import CapturedMessage, DialogCatalog, call_id_bytes, sip_offset
from engine.logtext import ESCAPED as ESCAPED_FORM
from engine.logtext import WIRESHARK as WIRESHARK_FORM
from engine.logtext import clean
from engine.packetline import (
    WIRESHARK_IP,
    WIRESHARK_PORTS,
    WIRESHARK_PROTOCOLS,
    Packet,
    hostport,
    read_packet_line,
    wireshark_ip,
)
from gui.hep import decode as decode_hep

#: Progress callback: (bytes done, bytes in all).
Progress = Callable[[int, int], None]

PROGRESS_EVERY = 4096  # frames between progress reports and cancel checks
MAX_RECORD = 1 << 20  # a packet record longer than this is corrupt (libpcap's limit is 256 KiB)
MAX_BLOCK = 16 << 20  # a pcapng block longer than this is corrupt
MAX_STREAMS = 4096  # TCP directions buffered at once
MAX_STREAM_BUFFER = 1 << 20  # bytes buffered per TCP direction
MAX_GAP_BYTES = 256 << 10  # out-of-order bytes held before a missing segment is given up
MAX_GAP_SEGMENTS = 64  # out-of-order segments held before a missing segment is given up
MAX_FRAGMENTED = 1024  # IP datagrams being reassembled at once
MAX_TEXT_LINE = 1 << 20

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
# DLT_RAW is 12 on most systems and 14 on OpenBSD; files written there may carry it.
RAW_LINKTYPES = frozenset({LINKTYPE_RAW, 12, 14, LINKTYPE_IPV4, LINKTYPE_IPV6})
LINKTYPE_NAMES = {
    LINKTYPE_NULL: "BSD loopback",
    LINKTYPE_ETHERNET: "Ethernet",
    LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked v1",
    LINKTYPE_LINUX_SLL2: "Linux cooked v2",
    **dict.fromkeys(RAW_LINKTYPES, "raw IP"),
}

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x34\xcd\xb2\xa1",
    b"\xa1\xb2\xcd\x34",
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"

# Why things were skipped: stable words, counted in ReadSummary.skipped.
NOT_IP = "frames that are not IP (ARP, LLDP, ...)"
NOT_UDP_TCP = "IP packets that are neither UDP nor TCP"
UDP_NOT_SIP = "UDP datagrams that are not SIP"
TCP_NOT_SIP = "TCP segments carrying no SIP (other protocols, TLS)"
KEEPALIVE = "keep-alives (empty lines)"
TRUNCATED = "truncated packets (cut by the snap length or the end of the file)"
MALFORMED = "packets with malformed headers"
FRAGMENTS_LOST = "IP fragments whose datagram never completed"
TCP_GAP = "TCP segments lost in a gap (data missing from the capture)"
TCP_RETRANSMISSION = "TCP retransmissions (data already seen)"
TCP_INCOMPLETE = "incomplete SIP messages at the end of a TCP stream"
TCP_GARBAGE = "bytes of TCP data that are not SIP, between SIP messages"
TCP_TOO_MANY = "TCP streams dropped (too many open at once)"
UNSUPPORTED_LINK = "frames of an unsupported link type"
TEXT_NOT_SIP = "lines of text that are not part of a SIP message"
NO_CALL_ID = "SIP messages without a Call-ID"
HEP_NOT_SIP = "HEP packets carrying no SIP (RTCP reports, logs)"
WIRESHARK_NO_SIP = "Wireshark frames without a SIP message shown in them"
WIRESHARK_SHORTENED = (
    "Wireshark frames with a header line it shortened (export the packets as pcap instead)"
)
# Each reason as said of one item.
ONE: dict[str, str] = {
    NOT_IP: "frame that is not IP (ARP, LLDP, ...)",
    NOT_UDP_TCP: "IP packet that is neither UDP nor TCP",
    UDP_NOT_SIP: "UDP datagram that is not SIP",
    TCP_NOT_SIP: "TCP segment carrying no SIP (other protocols, TLS)",
    KEEPALIVE: "keep-alive (an empty line)",
    TRUNCATED: "truncated packet (cut by the snap length or the end of the file)",
    MALFORMED: "packet with malformed headers",
    FRAGMENTS_LOST: "IP fragment whose datagram never completed",
    TCP_GAP: "TCP segment lost in a gap (data missing from the capture)",
    TCP_RETRANSMISSION: "TCP retransmission (data already seen)",
    TCP_INCOMPLETE: "incomplete SIP message at the end of a TCP stream",
    TCP_GARBAGE: "byte of TCP data that is not SIP, between SIP messages",
    TCP_TOO_MANY: "TCP stream dropped (too many open at once)",
    UNSUPPORTED_LINK: "frame of an unsupported link type",
    TEXT_NOT_SIP: "line of text that is not part of a SIP message",
    NO_CALL_ID: "SIP message without a Call-ID",
    HEP_NOT_SIP: "HEP packet carrying no SIP (an RTCP report, a log)",
    WIRESHARK_NO_SIP: "Wireshark frame without a SIP message shown in it",
    WIRESHARK_SHORTENED: (
        "Wireshark frame with a header line it shortened (export the packets as pcap instead)"
    ),
}


class CancelledError(Exception):
    """Reading was cancelled by the user."""


class CaptureError(Exception):
    """The file cannot be read at all (missing, unreadable): one line for the user."""


def _count(n: int, noun: str) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass
class ReadSummary:
    """What a read found and what it skipped, with the reasons."""

    path: str
    format: str = ""
    link_types: list[str] = field(default_factory=list)
    frames: int = 0
    messages: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, count: int = 1) -> None:
        """Count ``count`` items skipped for ``reason``."""
        self.skipped[reason] += count

    def lines(self) -> list[str]:
        """The summary for people, one line each."""
        kinds = f" ({', '.join(self.link_types)})" if self.link_types else ""
        unit = "record" if self.format.startswith("text") else "frame"
        out = [
            f"{self.format or 'unknown format'}{kinds}: {_count(self.frames, unit)} read, "
            f"{_count(self.messages, 'SIP message')} found"
        ]
        out += [
            f"skipped {n} {ONE.get(reason, reason) if n == 1 else reason}"
            for reason, n in sorted(self.skipped.items())
        ]
        out += self.notes
        return out

    def text(self) -> str:
        """The summary as one block of text."""
        return "\n".join(self.lines())


# --------------------------------------------------------------------------
# files


class _Input:
    """A binary file read through dpkt: bounded reads, position for progress, cut detection."""

    __slots__ = ("_f", "_raw", "cut", "name", "position", "size")

    def __init__(self, f: IO[bytes], raw: IO[bytes], size: int, name: str) -> None:
        self._f = f
        self._raw = raw
        self.size = size
        self.name = name
        self.position = 0
        self.cut = False

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > MAX_RECORD:
            raise _CorruptError(f"a record of {n} bytes at byte {self.position}")
        data = self._f.read(n)
        got = len(data)
        self.position += got
        if got < n and (got or n > 24):
            # A short read: the file ends inside a record.  (An empty read of a packet
            # header, 16 or 24 bytes, is just the end of the file.)
            self.cut = True
        return data

    def done(self) -> int:
        """Bytes of the file on disk consumed so far (for progress)."""
        if self._raw is self._f:
            return self.position
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0


class _CorruptError(Exception):
    pass


def _open(path: Path) -> tuple[IO[bytes], IO[bytes], int]:
    try:
        raw: IO[bytes] = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 - closed by caller
    except OSError as exc:
        raise CaptureError(f"{path}: {exc.strerror or exc}") from None
    try:
        size = os.fstat(raw.fileno()).st_size
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            return gzip.GzipFile(fileobj=raw, mode="rb"), raw, size  # type: ignore[return-value]
        raw.seek(0)
    except OSError as exc:
        raw.close()
        raise CaptureError(f"{path}: {exc.strerror or exc}") from None
    return raw, raw, size


# --------------------------------------------------------------------------
# frames to SIP payloads


_IPV4_HEADER = struct.Struct("!BBHHHBB2x4s4s")
_PORTS = struct.Struct("!HH")
_TCP_HEADER = struct.Struct("!HHIIBB")
_MASK32 = 0xFFFFFFFF

_SIP_START = re.compile(
    rb"(?:\A|\n)(SIP/2\.0 [0-9]{3}|[A-Z][A-Z0-9_.!%*+`'~-]* [^ \r\n]+ SIP/2\.0\r?\n)"
)
_CONTENT_LENGTH = re.compile(rb"\n(?:content-length|l)[ \t]*:[ \t]*([0-9]+)", re.IGNORECASE)

Sink = Callable[[int, float | None, str, str, str, bytes], None]


class _Stream:
    """One direction of a TCP connection, being reassembled."""

    __slots__ = (
        "buf",
        "dead",
        "dst",
        "first",
        "found",
        "frame",
        "next_seq",
        "pending",
        "pending_bytes",
        "resync",
        "src",
        "time",
    )

    def __init__(self, src: str, dst: str, next_seq: int, *, resync: bool) -> None:
        self.src = src
        self.dst = dst
        self.next_seq = next_seq
        self.first = next_seq  # the sequence number the stream was taken up at
        self.buf = bytearray()
        self.pending: dict[int, bytes] = {}
        self.pending_bytes = 0
        self.resync = resync  # look for a SIP start line before cutting messages
        self.dead = False  # never showed SIP: stop buffering
        self.found = False  # at least one SIP message came out of it
        self.time: float | None = None  # of the last segment
        self.frame = 0  # of the last segment


class _Decoder:
    """Link layer to SIP payloads: fragments, TCP streams, the SIP pre-filter.

    ``sink(frame, time, src, dst, transport, payload)`` receives each SIP payload.
    """

    def __init__(self, summary: ReadSummary, sink: Sink) -> None:
        self.summary = summary
        self.skipped = summary.skipped
        self.sink = sink
        self.addresses: dict[bytes, str] = {}
        self.streams: dict[bytes, _Stream] = {}
        self.fragments: dict[tuple[Any, ...], list[Any]] = {}
        self.unsupported: set[int] = set()
        self.hep = 0  # SIP messages unwrapped from HEP packets

    # -- addresses -------------------------------------------------------------

    def address(self, ip: bytes, port: bytes) -> str:
        key = ip + port
        text = self.addresses.get(key)
        if text is None:
            number = (port[0] << 8) | port[1]
            if len(ip) == 4:
                text = f"{socket.inet_ntop(socket.AF_INET, ip)}:{number}"
            else:
                text = f"[{socket.inet_ntop(socket.AF_INET6, ip)}]:{number}"
            self.addresses[key] = text
        return text

    # -- link layer ------------------------------------------------------------

    def frame(self, linktype: int, ts: float | None, frame: int, buf: bytes) -> None:
        """Decode one captured frame."""
        if linktype == LINKTYPE_ETHERNET:
            if buf[12:14] == b"\x08\x00":
                self.ipv4(buf, 14, ts, frame)
                return
            off = 12
            ethertype = buf[12:14]
            while ethertype in (b"\x81\x00", b"\x88\xa8", b"\x91\x00"):
                off += 4
                ethertype = buf[off : off + 2]
            self.by_ethertype(ethertype, buf, off + 2, ts, frame)
        elif linktype in RAW_LINKTYPES:
            self.by_version(buf, 0, ts, frame)
        elif linktype == LINKTYPE_LINUX_SLL:
            self.by_ethertype(buf[14:16], buf, 16, ts, frame)
        elif linktype == LINKTYPE_LINUX_SLL2:
            self.by_ethertype(buf[0:2], buf, 20, ts, frame)
        elif linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
            # The 4-byte address family is in the capturing host's byte order (NULL) or in
            # network order (LOOP), and its values differ between systems: the IP version
            # nibble that follows says more.
            self.by_version(buf, 4, ts, frame)
        else:
            if linktype not in self.unsupported:
                self.unsupported.add(linktype)
                self.summary.notes.append(
                    f"link type {linktype} is not supported: its frames are skipped"
                )
            self.skipped[UNSUPPORTED_LINK] += 1

    def by_ethertype(
        self, ethertype: bytes, buf: bytes, off: int, ts: float | None, n: int
    ) -> None:
        if ethertype == b"\x08\x00":
            self.ipv4(buf, off, ts, n)
        elif ethertype == b"\x86\xdd":
            self.ipv6(buf, off, ts, n)
        elif len(ethertype) < 2:
            self.skipped[TRUNCATED] += 1
        else:
            self.skipped[NOT_IP] += 1

    def by_version(self, buf: bytes, off: int, ts: float | None, n: int) -> None:
        if len(buf) <= off:
            self.skipped[TRUNCATED] += 1
            return
        version = buf[off] >> 4
        if version == 4:
            self.ipv4(buf, off, ts, n)
        elif version == 6:
            self.ipv6(buf, off, ts, n)
        else:
            self.skipped[NOT_IP] += 1

    # -- IP --------------------------------------------------------------------

    def ipv4(self, buf: bytes, off: int, ts: float | None, n: int) -> None:
        try:
            vihl, _tos, total, ident, frag, _ttl, proto, src, dst = _IPV4_HEADER.unpack_from(
                buf, off
            )
        except struct.error:
            self.skipped[TRUNCATED] += 1
            return
        ihl = (vihl & 15) * 4
        if vihl >> 4 != 4 or ihl < 20 or total < ihl:
            self.skipped[MALFORMED] += 1
            return
        end = off + total
        if end > len(buf):
            self.skipped[TRUNCATED] += 1
            return
        data = buf[off + ihl : end]
        if frag & 0x3FFF:  # more fragments, or an offset: a piece of a datagram
            whole = self.reassemble(
                (4, src, dst, ident, proto), (frag & 0x1FFF) * 8, data, bool(frag & 0x2000), ts
            )
            if whole is None:
                return
            data = whole
        if proto == 17:
            self.udp(src, dst, data, ts, n)
        elif proto == 6:
            self.tcp(src, dst, data, ts, n)
        else:
            self.skipped[NOT_UDP_TCP] += 1

    def ipv6(self, buf: bytes, off: int, ts: float | None, n: int) -> None:
        if len(buf) < off + 40:
            self.skipped[TRUNCATED] += 1
            return
        if buf[off] >> 4 != 6:
            self.skipped[MALFORMED] += 1
            return
        length = (buf[off + 4] << 8) | buf[off + 5]
        nh = buf[off + 6]
        src, dst = buf[off + 8 : off + 24], buf[off + 24 : off + 40]
        end = off + 40 + length
        if end > len(buf):
            self.skipped[TRUNCATED] += 1
            return
        data = buf[off + 40 : end]
        while nh in (0, 43, 44, 60):  # hop-by-hop, routing, fragment, destination options
            if len(data) < 8:
                self.skipped[MALFORMED] += 1
                return
            if nh == 44:
                offset = ((data[2] << 8) | data[3]) & 0xFFF8
                more = bool(data[3] & 1)
                whole = self.reassemble(
                    (6, src, dst, data[4:8]), offset, data[8:], more, ts, data[0]
                )
                if whole is None:
                    return
                nh, data = whole[0], whole[1:]
                continue
            nh, data = data[0], data[(data[1] + 1) * 8 :]
        if nh == 17:
            self.udp(src, dst, data, ts, n)
        elif nh == 6:
            self.tcp(src, dst, data, ts, n)
        else:
            self.skipped[NOT_UDP_TCP] += 1

    def reassemble(
        self,
        key: tuple[Any, ...],
        offset: int,
        data: bytes,
        more: bool,
        ts: float | None,
        next_header: int | None = None,
    ) -> bytes | None:
        """Add one fragment; the whole datagram once every piece is there (else None).

        For IPv6 the result starts with the next-header byte of the first fragment.
        """
        entry = self.fragments.get(key)
        if entry is None:
            if len(self.fragments) >= MAX_FRAGMENTED:
                oldest = next(iter(self.fragments))
                self.skipped[FRAGMENTS_LOST] += len(self.fragments.pop(oldest)[1])
            entry = self.fragments[key] = [None, {}, None]
        if not more:
            entry[0] = offset + len(data)
        if offset == 0 and next_header is not None:
            entry[2] = next_header
        entry[1][offset] = data
        total = entry[0]
        if total is None:
            return None
        have = 0
        pieces = []
        for start in sorted(entry[1]):
            piece = entry[1][start]
            if start > have:
                return None
            if start + len(piece) > have:
                pieces.append(piece[have - start :])
                have = start + len(piece)
        if have < total:
            return None
        del self.fragments[key]
        whole = b"".join(pieces)[:total]
        if next_header is not None or key[0] == 6:
            return bytes([entry[2] if entry[2] is not None else 59]) + whole
        return whole

    # -- UDP -------------------------------------------------------------------

    def unwrap_hep(self, payload: bytes, ts: float | None, n: int) -> bool:
        """True when ``payload`` is a HEP packet (gui.hep): its SIP message goes to the sink
        with the addresses, transport and time the capture agent saw it with."""
        hep = decode_hep(payload)
        if hep is None:
            return False
        start = sip_offset(hep.payload) if hep.sip else -1
        if start < 0:
            self.skipped[HEP_NOT_SIP] += 1
            return True
        self.hep += 1
        src = self.address(hep.src_ip, hep.src_port)
        dst = self.address(hep.dst_ip, hep.dst_port)
        time = hep.time if hep.time is not None else ts
        self.sink(n, time, src, dst, hep.proto, hep.payload[start:])
        return True

    def udp(self, src: bytes, dst: bytes, data: bytes, ts: float | None, n: int) -> None:
        if len(data) < 8:
            self.skipped[TRUNCATED] += 1
            return
        length = (data[4] << 8) | data[5]
        payload = data[8:length] if 8 <= length <= len(data) else data[8:]
        start = sip_offset(payload)
        if start < 0:
            if self.unwrap_hep(payload, ts, n):
                return
            if payload and not payload.strip(b"\r\n\x00"):
                self.skipped[KEEPALIVE] += 1
            else:
                self.skipped[UDP_NOT_SIP] += 1
            return
        if start:
            payload = payload[start:]
        self.sink(n, ts, self.address(src, data[0:2]), self.address(dst, data[2:4]), "udp", payload)

    # -- TCP -------------------------------------------------------------------

    def tcp(self, src: bytes, dst: bytes, data: bytes, ts: float | None, n: int) -> None:
        try:
            _sport, _dport, seq, _ack, offset, flags = _TCP_HEADER.unpack_from(data)
        except struct.error:
            self.skipped[TRUNCATED] += 1
            return
        header = (offset >> 4) * 4
        if header < 20 or header > len(data):
            self.skipped[MALFORMED] += 1
            return
        payload = data[header:]
        key = src + data[0:2] + dst + data[2:4]
        streams = self.streams
        stream = streams.get(key)
        if flags & 0x04:  # RST
            if stream is not None:
                self.close(key, stream)
            return
        if flags & 0x02:  # SYN: the stream starts at seq + 1
            start = (seq + 1) & _MASK32
            if stream is not None and stream.first == start:
                # Its first data segment came before the SYN: the stream is right as it is.
                stream.resync = False
                self.cut(stream, ts, n)
                return
            if stream is not None:
                self.close(key, stream)
            stream = self.open(key, src, dst, data, start, resync=False)
            return
        if not payload:
            if flags & 0x01 and stream is not None:  # FIN
                self.close(key, stream)
            return
        if stream is None:
            # The capture began after the handshake: take the stream from here, and look for a
            # start line before trusting the first bytes.
            stream = self.open(key, src, dst, data, seq, resync=True)
        if stream.dead:
            self.skipped[TCP_NOT_SIP] += 1
            return
        gap = (seq - stream.next_seq) & _MASK32
        if gap >= 1 << 31:
            gap -= 1 << 32
        if gap == 0:
            stream.buf += payload
            stream.next_seq = (seq + len(payload)) & _MASK32
            if stream.pending:
                self.drain(stream)
        elif gap < 0:
            if -gap >= len(payload):
                self.skipped[TCP_RETRANSMISSION] += 1
                return
            stream.buf += payload[-gap:]
            stream.next_seq = (seq + len(payload)) & _MASK32
            if stream.pending:
                self.drain(stream)
        else:
            if seq not in stream.pending:
                stream.pending[seq] = payload
                stream.pending_bytes += len(payload)
            if stream.pending_bytes > MAX_GAP_BYTES or len(stream.pending) > MAX_GAP_SEGMENTS:
                # A sender retransmits long before this: the capture missed the segment.
                self.skip_gap(stream)
        stream.time, stream.frame = ts, n
        self.cut(stream, ts, n)
        if flags & 0x01:
            self.close(key, stream)

    def open(
        self, key: bytes, src: bytes, dst: bytes, tcp: bytes, next_seq: int, *, resync: bool
    ) -> _Stream:
        streams = self.streams
        if len(streams) >= MAX_STREAMS:
            oldest = next(iter(streams))
            self.close(oldest, streams[oldest])
            self.skipped[TCP_TOO_MANY] += 1
        stream = _Stream(
            self.address(src, tcp[0:2]), self.address(dst, tcp[2:4]), next_seq, resync=resync
        )
        streams[key] = stream
        return stream

    def close(self, key: bytes, stream: _Stream) -> None:
        self.streams.pop(key, None)
        if stream.pending:
            self.skipped[TCP_GAP] += len(stream.pending)
        if stream.buf.strip(b"\r\n") and not stream.dead:
            self.skipped[TCP_INCOMPLETE] += 1

    def drain(self, stream: _Stream) -> None:
        pending = stream.pending
        progress = True
        while pending and progress:
            progress = False
            for seq in list(pending):
                gap = (seq - stream.next_seq) & _MASK32
                if gap >= 1 << 31:
                    gap -= 1 << 32
                if gap > 0:
                    continue
                piece = pending.pop(seq)
                stream.pending_bytes -= len(piece)
                if -gap < len(piece):
                    stream.buf += piece[-gap:]
                    stream.next_seq = (seq + len(piece)) & _MASK32
                    progress = True

    def skip_gap(self, stream: _Stream) -> None:
        """Data is missing: give up on it, go on from the first segment after the gap."""
        first = min(stream.pending, key=lambda s: (s - stream.next_seq) & _MASK32)
        self.skipped[TCP_GAP] += 1
        if stream.buf:
            self.skipped[TCP_INCOMPLETE] += 1
            stream.buf.clear()
        stream.next_seq = first
        stream.resync = True
        self.drain(stream)

    def cut(self, stream: _Stream, ts: float | None, n: int) -> None:
        """Cut complete SIP messages off the front of a stream's buffer."""
        buf = stream.buf
        while buf:
            if buf[0] in (13, 10):
                stripped = len(buf) - len(buf.lstrip(b"\r\n"))
                del buf[:stripped]
                self.skipped[KEEPALIVE] += 1
                continue
            if buf[:4] == b"HEP3":  # HEP over TCP (siptrace to a collector): by its length
                if len(buf) < 6:
                    return
                total = int.from_bytes(buf[4:6], "big")
                if total < 6:
                    self.skipped[TCP_GARBAGE] += 4
                    del buf[:4]
                    stream.resync = True
                    continue
                if len(buf) < total:
                    return
                packet = bytes(buf[:total])
                del buf[:total]
                stream.found, stream.resync = True, False
                if not self.unwrap_hep(packet, ts, n):
                    self.skipped[TCP_GARBAGE] += total
                continue
            if stream.resync:
                m = _SIP_START.search(buf)
                hep = buf.find(b"HEP3")
                if hep > 0 and (m is None or hep < m.start(1)):
                    self.skipped[TCP_GARBAGE] += hep
                    del buf[:hep]
                    continue
                if m is None:
                    if len(buf) > 65536:
                        self.skipped[TCP_GARBAGE] += len(buf) - 1024
                        del buf[:-1024]
                        if not stream.found:
                            stream.dead = True
                            buf.clear()
                    return
                if m.start(1):
                    self.skipped[TCP_GARBAGE] += m.start(1)
                    del buf[: m.start(1)]
                stream.resync = False
            end = buf.find(b"\r\n\r\n")
            sep = 4
            if end < 0:
                end = buf.find(b"\n\n")
                sep = 2
            if end < 0:
                if len(buf) > 65536:
                    stream.resync = True
                    self.skipped[TCP_GARBAGE] += 1
                    del buf[:1]
                    continue
                return
            head = bytes(buf[:end])
            if sip_offset(head) != 0:
                # Not a SIP start line here: skip the line and look for the next one.
                line_end = head.find(b"\n")
                drop = line_end + 1 if line_end >= 0 else end + sep
                self.skipped[TCP_GARBAGE] += drop
                del buf[:drop]
                stream.resync = True
                continue
            m = _CONTENT_LENGTH.search(head)
            length = int(m.group(1)) if m is not None and len(m.group(1)) <= 8 else 0
            total = end + sep + length
            if total > MAX_STREAM_BUFFER:
                self.skipped[TCP_GARBAGE] += end + sep
                del buf[: end + sep]
                stream.resync = True
                continue
            if len(buf) < total:
                return
            message = bytes(buf[:total])
            del buf[:total]
            stream.found = True
            self.sink(n, ts, stream.src, stream.dst, "tcp", message)

    def finish(self) -> None:
        """The capture ended: give up on the gaps, cut what can be cut, count the rest."""
        for key, stream in list(self.streams.items()):
            while stream.pending and not stream.dead:
                self.skip_gap(stream)
                self.cut(stream, stream.time, stream.frame)
            self.close(key, stream)
        for entry in self.fragments.values():
            self.skipped[FRAGMENTS_LOST] += len(entry[1])
        self.fragments.clear()
        if self.hep:
            self.summary.notes.append(
                f"{self.hep} SIP message{'s' * (self.hep != 1)} unwrapped from HEP packets "
                "(as Kamailio's siptrace sends them to Homer): shown with the addresses, "
                "transport and time the capture agent saw"
            )


# --------------------------------------------------------------------------
# the file formats


_IDB = {True: pcapng.InterfaceDescriptionBlockLE, False: pcapng.InterfaceDescriptionBlock}
_EPB = {True: pcapng.EnhancedPacketBlockLE, False: pcapng.EnhancedPacketBlock}
_PB = {True: pcapng.PacketBlockLE, False: pcapng.PacketBlock}
_SHB = {True: pcapng.SectionHeaderBlockLE, False: pcapng.SectionHeaderBlock}


def _pcapng_frames(f: _Input, summary: ReadSummary) -> Iterator[tuple[int, float | None, bytes]]:
    """Walk pcapng blocks (dpkt's block classes decode them), interface by interface."""
    summary.format = "pcapng"
    little = True
    interfaces: list[tuple[int, float, int]] = []  # link type, divisor, offset
    try:
        while True:
            head = f.read(8)
            if len(head) < 8:
                if head:
                    summary.notes.append("the file ends in the middle of a pcapng block")
                return
            if head[:4] == PCAPNG_MAGIC:
                bom = f.read(4)
                if bom == b"\x4d\x3c\x2b\x1a":
                    little = True
                elif bom == b"\x1a\x2b\x3c\x4d":
                    little = False
                else:
                    summary.notes.append(f"corrupt pcapng section header at byte {f.position - 12}")
                    return
                length = struct.unpack("<I" if little else ">I", head[4:])[0]
                if length < 28 or length % 4 or length > MAX_BLOCK:
                    summary.notes.append(f"corrupt pcapng section header at byte {f.position - 12}")
                    return
                rest = f.read(length - 12)
                if len(rest) < length - 12:
                    summary.notes.append("the file ends in the middle of a pcapng block")
                    return
                _SHB[little](head + bom + rest)
                interfaces = []
                continue
            btype, length = struct.unpack("<II" if little else ">II", head)
            if length < 12 or length % 4 or length > MAX_BLOCK:
                summary.notes.append(
                    f"corrupt pcapng block (length {length}) at byte {f.position - 8}: "
                    "the rest of the file is skipped"
                )
                return
            body = f.read(length - 8)
            if len(body) < length - 8:
                summary.notes.append("the file ends in the middle of a pcapng block")
                return
            block = head + body
            if btype == pcapng.PCAPNG_BT_EPB:
                epb = _EPB[little](block)
                if epb.iface_id >= len(interfaces):
                    summary.skip(MALFORMED)
                    continue
                linktype, divisor, offset = interfaces[epb.iface_id]
                ts = offset + ((epb.ts_high << 32) | epb.ts_low) / divisor
                yield linktype, ts, epb.pkt_data
            elif btype == pcapng.PCAPNG_BT_IDB:
                idb = _IDB[little](block)
                divisor, offset = 1e6, 0
                for opt in idb.opts:
                    if opt.code == pcapng.PCAPNG_OPT_IF_TSRESOL and opt.data:
                        value = opt.data[0]
                        divisor = float((2 if value & 0x80 else 10) ** (value & 0x7F))
                    elif opt.code == pcapng.PCAPNG_OPT_IF_TSOFFSET and len(opt.data) >= 8:
                        offset = struct.unpack("<q" if little else ">q", opt.data[:8])[0]
                interfaces.append((idb.linktype, divisor or 1e6, offset))
                name = LINKTYPE_NAMES.get(idb.linktype, f"link type {idb.linktype}")
                if name not in summary.link_types:
                    summary.link_types.append(name)
            elif btype == pcapng.PCAPNG_BT_PB:
                pb = _PB[little](block)
                if pb.iface_id < len(interfaces):
                    linktype, divisor, offset = interfaces[pb.iface_id]
                    ts = offset + ((pb.ts_high << 32) | pb.ts_low) / divisor
                    yield linktype, ts, pb.pkt_data
            elif btype == pcapng.PCAPNG_BT_SPB and interfaces and len(block) >= 16:
                # Simple packet block: original length, then the data (no timestamp).
                size = struct.unpack("<I" if little else ">I", block[8:12])[0]
                yield interfaces[0][0], None, block[12 : 12 + min(size, len(block) - 16)]
    except (dpkt.Error, struct.error, ValueError) as exc:
        summary.notes.append(f"corrupt pcapng block at byte {f.position}: {exc}")
    except _CorruptError as exc:
        summary.notes.append(f"corrupt pcapng block: {exc}")


# -- text files ----------------------------------------------------------------------


_REQUEST_LINE = re.compile(r"[A-Z][A-Z0-9_.!%*+`'~-]* \S+ SIP/2\.0\r?\n?\Z")
_STATUS_LINE = re.compile(r"SIP/2\.0 [0-9]{3}")
_SNGREP_HEADER = re.compile(
    r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? (\S+) -> (\S+)\r?\n?\Z"
)
_SIPDUMP_START = "=" * 20
_SIPDUMP_DATA = "~" * 20
_SIPDUMP_END = "|" * 20
_TEXT_CONTENT_LENGTH = re.compile(r"(?:content-length|l)[ \t]*:[ \t]*([0-9]+)", re.IGNORECASE)


def _is_start_line(line: str) -> bool:
    return bool(_STATUS_LINE.match(line) or _REQUEST_LINE.match(line))


class _Lines:
    """Lines of a binary file, decoded as UTF-8 (bad bytes replaced), line ends kept."""

    def __init__(self, f: _Input, summary: ReadSummary) -> None:
        self.f = f
        self.summary = summary
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        readline = self.f._f.readline
        while True:
            raw = readline(MAX_TEXT_LINE)
            if not raw:
                return
            self.f.position += len(raw)
            self.count += 1
            yield raw.decode("utf-8", "replace")


def _text_format(first: str) -> str:
    if first.rstrip("\r\n") == _SIPDUMP_START:
        return "sipdump"
    if _SNGREP_HEADER.match(first):
        return "sngrep"
    if _WIRESHARK_FRAME.match(first) or _WIRESHARK_LIST.match(first):
        return "wireshark"
    return "plain"


def _address_text(ip: str, port: str) -> str:
    ip = ip.strip()
    if ":" in ip and not ip.startswith("["):
        ip = f"[{ip}]"
    return f"{ip}:{port.strip()}" if ip else ""


TextRecord = tuple[int, float | None, str, str, str, str]


def _text_records(lines: Iterator[str], summary: ReadSummary) -> Iterator[TextRecord]:
    """Detect the text format from the first non-blank line and read records; a text whose
    first message stands right under a line about its packet is read packet by packet."""
    first = ""
    buffered: list[str] = []
    for line in lines:
        buffered.append(line)
        if line.strip():
            first = line
            break
    kind = _text_format(first)
    if kind == "plain":
        for line in lines:
            buffered.append(line)
            if len(buffered) >= FRAMED_LOOK:
                break
        head = clean("".join(buffered))
        if head.packet is not None:
            kind = "packets"
        elif head.form == ESCAPED_FORM:
            kind = "log lines"
    summary.format = f"text ({kind})"

    def chained() -> Iterator[str]:
        yield from buffered
        yield from lines

    if kind == "sipdump":
        yield from _sipdump(chained(), summary)
    elif kind == "sngrep":
        yield from _sngrep(chained(), summary)
    elif kind == "wireshark":
        yield from _wireshark(chained(), summary)
    elif kind == "packets":
        yield from _packets(chained(), summary)
    elif kind == "log lines":
        yield from _log_lines(chained(), summary)
    else:
        yield from _plain(chained(), summary)


def _sipdump(lines: Iterator[str], summary: ReadSummary) -> Iterator[TextRecord]:
    record = 0
    meta: dict[str, str] = {}
    data: list[str] = []
    state = "between"
    for line in lines:
        if state == "between":
            if line.rstrip("\r\n") == _SIPDUMP_START:
                state, meta, data = "meta", {}, []
            elif line.strip():
                summary.skip(TEXT_NOT_SIP)
        elif state == "meta":
            if line.rstrip("\r\n") == _SIPDUMP_DATA:
                state = "data"
            else:
                key, _, value = line.partition(":")
                meta[key.strip().lower()] = value.strip()
        else:
            marker = line.find(_SIPDUMP_END)
            if marker < 0:
                data.append(line)
                continue
            data.append(line[:marker])
            record += 1
            state = "between"
            try:
                when: float | None = float(meta.get("time", ""))
            except ValueError:
                when = None
            proto = (meta.get("proto", "").split() or [""])[0].lower()
            yield (
                record,
                when,
                _address_text(meta.get("srcip", ""), meta.get("srcport", "")),
                _address_text(meta.get("dstip", ""), meta.get("dstport", "")),
                proto if proto != "none" else "",
                "".join(data),
            )
    if state != "between":
        summary.notes.append("the file ends in the middle of a sipdump record")


def _blocks(
    lines: Iterator[str], header: re.Pattern[str], *, limit: int | None = None
) -> Iterator[tuple[re.Match[str] | None, list[str]]]:
    """A text export cut at each line ``header`` matches: first ``(None, the lines before
    the first such line)``, then ``(its match, the lines after it up to the next)``, a block
    keeping at most ``limit`` lines."""
    match: re.Match[str] | None = None
    block: list[str] = []
    for line in lines:
        m = header.match(line)
        if m is not None:
            yield match, block
            match, block = m, []
        elif limit is None or len(block) < limit:
            block.append(line)
    yield match, block


def _sngrep(lines: Iterator[str], summary: ReadSummary) -> Iterator[TextRecord]:
    for record, (header, data) in enumerate(_blocks(lines, _SNGREP_HEADER)):
        if header is None:
            for line in data:
                if line.strip():
                    summary.skip(TEXT_NOT_SIP)
            continue
        text = "".join(data)
        # sngrep writes the message and then "\n\n".
        text = text[:-2] if text.endswith("\n\n") else text.rstrip("\n")
        *stamp, src, dst = header.groups()
        yield record, _local_time(*stamp), src, dst, "", text


def _local_time(
    year: str, month: str, day: str, hour: str, minute: str, second: str, fraction: str | None
) -> float | None:
    """A local date and time written as sngrep and ``ngrep -t`` write them, in seconds since
    the epoch; None when it is no date."""
    try:
        stamp = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        return stamp.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)
    except (ValueError, OverflowError, OSError):
        return None


# Wireshark's text export: "Frame 12: 612 bytes on wire ...", or its packet list heading.
_WIRESHARK_FRAME = re.compile(r"Frame (\d+): ")
_WIRESHARK_LIST = re.compile(r"\s*No\.\s+Time\s+Source\s+Destination")
_WIRESHARK_EPOCH = re.compile(r"\s+Epoch (?:Arrival )?Time: (\d+(?:\.\d+)?) seconds")
MAX_FRAME_LINES = 20_000  # a frame's text beyond this is not a SIP message any more


def _wireshark(lines: Iterator[str], summary: ReadSummary) -> Iterator[TextRecord]:
    """Frames of Wireshark's packet dissections: each ``Frame N:`` block up to the next."""
    # The frame line counts among its MAX_FRAME_LINES.
    for frame, after in _blocks(lines, _WIRESHARK_FRAME, limit=MAX_FRAME_LINES - 1):
        if frame is None:
            continue  # the packet list heading, and what else stands before the first frame
        block = [frame.string, *after]
        src = dst = proto = ""
        when: float | None = None
        for line in block:
            if not src and (m := WIRESHARK_IP.match(line)) is not None:
                src, dst = wireshark_ip(m.group(1)), wireshark_ip(m.group(2))
            elif not proto and (m := WIRESHARK_PORTS.match(line)) is not None:
                proto = WIRESHARK_PROTOCOLS[m.group(1)]
                src, dst = _address_text(src, m.group(2)), _address_text(dst, m.group(3))
            elif when is None and (m := _WIRESHARK_EPOCH.match(line)) is not None:
                when = float(m.group(1))
        cleaned = clean("".join(block))
        if cleaned.form != WIRESHARK_FORM:
            summary.skip(WIRESHARK_NO_SIP)
        elif cleaned.cut_short:
            summary.skip(WIRESHARK_SHORTENED)
        else:
            yield int(frame.group(1)), when, src, dst, proto, cleaned.text + "\r\n\r\n"


# How far into a text its first message and the line about its packet are looked for.
FRAMED_LOOK = 200
# A whole local date and time (sngrep's and ngrep -t's; a log's ISO 8601 stamp, its zone
# left aside as the others have none).
_PACKET_TIME = re.compile(
    r"(\d{4})[/-](\d{2})[/-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
)
# What a log line holding a whole message has: its line ends escaped (engine.logtext).
_ESCAPED_MARK = re.compile(r"#015#012|#012|\\r\\n|\\n")


def _log_lines(lines: Iterator[str], summary: ReadSummary) -> Iterator[TextRecord]:
    """A log that holds one message a line, its line ends escaped (Kamailio's ``xlog("$mb")``
    through rsyslog as ``#015#012``, a JSON log's ``\\r\\n``): each such line read as a pasted
    one is (:func:`engine.logtext.clean`), the time from an ISO 8601 stamp at its start."""
    number = 0
    for line in lines:
        if not line.strip():
            continue
        cleaned = clean(line) if _ESCAPED_MARK.search(line) else None
        if cleaned is None or cleaned.form != ESCAPED_FORM:
            summary.skip(TEXT_NOT_SIP)
            continue
        number += 1
        text = cleaned.text if "\r\n\r\n" in cleaned.text else cleaned.text + "\r\n\r\n"
        stamp = _PACKET_TIME.match(line.lstrip())
        yield number, None if stamp is None else _local_time(*stamp.groups()), "", "", "", text


def _packets(lines: Iterator[str], summary: ReadSummary) -> Iterator[TextRecord]:
    """Messages each under a line about its packet, as ngrep (``-W byline``), FreeSWITCH's
    siptrace, Asterisk's pjsip logger or ``tcpdump -n -A`` print them: the text is cut at
    every such line (:mod:`engine.packetline`), and each piece read as a pasted message is
    (:func:`engine.logtext.clean`: log prefixes, ngrep's dots, rulers, Content-Length); the
    addresses come from the packet line, the time too when it holds a date."""
    number = 0
    block: list[str] = []

    def read() -> Iterator[TextRecord]:
        nonlocal number
        if not block:
            return
        cleaned = clean("".join(block))
        packet = cleaned.packet if cleaned.packet and cleaned.packet.line == 1 else None
        if packet is None:
            # Lines before the first packet line, or a packet line with no message under it.
            summary.skip(TEXT_NOT_SIP, sum(1 for ln in block if ln.strip()))
            return
        src = "" if packet.source is None else hostport(*packet.source)
        dst = "" if packet.destination is None else hostport(*packet.destination)
        time = _packet_time(block[0])
        rest = block[1:]
        while True:
            # What stands around a message (ngrep's '#', rulers, a log's other lines).
            others = cleaned.skipped - 1 + (0 if cleaned.next_start else cleaned.after)
            if others > 0:
                summary.skip(TEXT_NOT_SIP, others)
            number += 1
            text = cleaned.text if "\r\n\r\n" in cleaned.text else cleaned.text + "\r\n\r\n"
            yield number, time, src, dst, packet.proto, text
            if not cleaned.next_start:
                return
            # Several messages in one packet (a TCP segment): each read under the same line.
            rest = rest[cleaned.next_start - 2 :]
            cleaned = clean("".join([block[0], *rest]))

    flow: Packet | None = None  # the packet line of ``block``
    glue = False  # the next line goes on with the block's last one (a segment cut mid-line)
    for line_no, line in enumerate(lines, start=1):
        packet = read_packet_line(line, line_no)
        if packet is not None:
            if flow is not None and _continued(block, flow, packet):
                # The next TCP segment of the same flow goes on with the message.
                block, glue = _segment_end(block)
                continue
            yield from read()
            block, flow, glue = [], packet, False
        elif glue:
            glue = False
            line = block.pop().rstrip("\r\n") + line
        block.append(line)
    yield from read()


def _continued(block: list[str], flow: Packet, packet: Packet) -> bool:
    """Whether ``packet`` (a packet line) carries the rest of the message under ``flow``
    in ``block``: ngrep's TCP packets (``T src -> dst``, a CR shown as '.'), the same flow,
    and no line of a CR alone yet ('.') to end that message's head.  ngrep -W byline
    prints each TCP segment under a packet line of its own, wherever TCP cut the stream,
    and an empty line and a '#' after it."""
    if flow.proto != "tcp" or packet.proto != "tcp" or not flow.text.startswith("T "):
        return False
    if (flow.source, flow.destination) != (packet.source, packet.destination):
        return False
    payload = _segment_end(block[1:])[0]
    if not payload or not any(ln.rstrip("\r\n").endswith(".") for ln in payload):
        return False  # no CR shown as '.': not ngrep's way of printing
    return not any(ln.strip() == "." for ln in payload)


def _segment_end(block: list[str]) -> tuple[list[str], bool]:
    """``block`` without the empty line and the '#' ngrep prints after a segment, and
    whether the segment ended inside a line (its last line has no '.' for a CR): then the
    next segment's first line goes on with it."""
    block = list(block)
    while len(block) > 1 and block[-1].strip() in ("#", ""):
        block.pop()
    return block, len(block) > 1 and not block[-1].rstrip("\r\n").endswith(".")


def _packet_time(line: str) -> float | None:
    """The time in a packet line that holds a whole date (ngrep -t), as sngrep's is read."""
    m = _PACKET_TIME.search(line)
    return None if m is None else _local_time(*m.groups())


def _plain(lines: Iterator[str], summary: ReadSummary) -> Iterator[TextRecord]:
    """Messages separated by blank lines; a body runs for its Content-Length.

    Without a Content-Length a body runs to the next start line that follows a blank line.
    The blank lines between two messages are not part of either.
    """
    record = 0
    current: list[str] = []
    state = "between"
    length: int | None = None
    body = 0
    head = 0  # lines in ``current`` up to and including the empty line after the headers
    previous_blank = True

    def emit(*, trim: bool) -> TextRecord:
        nonlocal record
        record += 1
        end = len(current)
        if trim:
            while end > head and not current[end - 1].strip():
                end -= 1
        text = "".join(current[:end])
        if state == "head":  # the file ended inside the headers
            text += "\r\n" if text.endswith("\r\n") else "\n"
        return record, None, "", "", "", text

    for line in lines:
        blank = not line.strip()
        if state == "between":
            if not blank:
                if _is_start_line(line):
                    state, current = "head", [line]
                else:
                    summary.skip(TEXT_NOT_SIP)
        elif state == "head":
            current.append(line)
            if blank:
                m = None
                for h in current[1:]:
                    m = _TEXT_CONTENT_LENGTH.match(h) or m
                length = int(m.group(1)) if m is not None and len(m.group(1)) <= 8 else None
                body, head, state = 0, len(current), "body"
                if length == 0:
                    yield emit(trim=False)
                    state, current = "between", []
        elif _is_start_line(line) and previous_blank and (length is None or body > 0):
            yield emit(trim=True)
            state, current = "head", [line]
        else:
            current.append(line)
            body += len(line.encode("utf-8", "surrogateescape"))
            if length is not None and body >= length:
                yield emit(trim=False)
                state, current = "between", []
        previous_blank = blank
    if current:
        yield emit(trim=True)


# --------------------------------------------------------------------------
# the public readers


class CaptureReader:
    """Reads one file (pcap, pcapng, text) and feeds its SIP payloads to a sink.

    ``progress(done, total)`` is called every few thousand frames with bytes of the file read,
    and ``cancelled()`` is asked as often; when it returns True, :class:`CancelledError` is raised.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.path = Path(path)
        self.progress = progress
        self.cancelled = cancelled
        self.summary = ReadSummary(str(self.path))

    def run(self, sink: Sink) -> ReadSummary:
        """Read the whole file, calling ``sink(frame, time, src, dst, transport, payload)``."""
        f, raw, size = _open(self.path)
        summary = self.summary
        counting = _Counting(summary, sink)
        try:
            source = _Input(f, raw, size, str(self.path))
            try:
                magic = f.read(4)
                f.seek(0)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                summary.notes.append(f"cannot read the file: {exc}")
                return summary
            if magic in PCAP_MAGICS or magic == PCAPNG_MAGIC:
                self._frames(source, counting, pcapng_file=magic == PCAPNG_MAGIC)
            else:
                self._text(source, counting)
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            summary.notes.append(f"reading stopped: {exc}")
        finally:
            f.close()
            if raw is not f:
                raw.close()
        if size == 0 and not summary.notes:
            summary.notes.append("the file is empty")
        if summary.messages == 0:
            summary.notes.append("no SIP message was found")
        if self.progress is not None:
            self.progress(size, size)
        return summary

    def _tick(self, source: _Input) -> None:
        if self.cancelled is not None and self.cancelled():
            raise CancelledError
        if self.progress is not None:
            self.progress(min(source.done(), source.size), source.size)

    def _frames(self, source: _Input, sink: _Counting, *, pcapng_file: bool) -> None:
        summary = self.summary
        decoder = _Decoder(summary, sink)
        if pcapng_file:
            n = 0
            frame = decoder.frame
            for linktype, ts, buf in _pcapng_frames(source, summary):
                n += 1
                try:
                    frame(linktype, ts, n, buf)
                except (IndexError, struct.error, ValueError):
                    summary.skip(MALFORMED)
                if not n % PROGRESS_EVERY:
                    summary.frames = n
                    self._tick(source)
            summary.frames = n
        else:
            self._pcap(source, decoder, sink.sink)
        decoder.finish()
        if source.cut and not any("ends" in note for note in summary.notes):
            summary.notes.append("the file ends in the middle of a packet (truncated)")

    def _pcap(self, source: _Input, decoder: _Decoder, sink: Sink) -> None:
        """A libpcap file through ``dpkt.pcap.Reader``.

        The loop decodes the everyday packet itself -- Ethernet, IPv4 without options, UDP,
        not a fragment -- and hands every other one to the decoder: one function call
        instead of four is what keeps listing above 100,000 messages a second.
        """
        summary = self.summary
        try:
            reader = dpkt.pcap.Reader(source)
        except (ValueError, dpkt.Error, struct.error, _CorruptError) as exc:
            summary.notes.append(f"not a readable pcap file ({exc})")
            return
        linktype = reader.datalink()
        summary.format = "pcap"
        summary.link_types.append(LINKTYPE_NAMES.get(linktype, f"link type {linktype}"))
        nano = isinstance(getattr(reader, "_divisor", None), Decimal)
        ethernet = linktype == LINKTYPE_ETHERNET
        frame = decoder.frame
        pairs: dict[bytes, tuple[str, str]] = {}
        address = decoder.address
        skipped = summary.skipped
        n = found = 0
        try:
            for ts, buf in reader:
                n += 1
                if nano:
                    ts = float(ts)
                if not n % PROGRESS_EVERY:
                    summary.frames = n
                    self._tick(source)
                if (
                    ethernet
                    and buf[12:14] == b"\x08\x00"
                    and buf[14:15] == b"\x45"
                    and buf[23:24] == b"\x11"
                    and not buf[20] & 0x3F
                    and not buf[21]
                ):
                    end = 14 + ((buf[16] << 8) | buf[17])
                    if end < 42 or end > len(buf):
                        skipped[TRUNCATED] += 1
                        continue
                    length = (buf[38] << 8) | buf[39]
                    payload = buf[42 : 34 + length] if 8 <= length <= end - 34 else buf[42:end]
                    if payload[:8] != b"SIP/2.0 ":
                        # A request line ends in " SIP/2.0" and starts with a capital letter;
                        # anything else (LF-only lines, keep-alives first) takes the long way.
                        nl = payload.find(b"\n", 0, 1024)
                        if not (
                            nl > 9
                            and payload[nl - 9 : nl] == b" SIP/2.0\r"
                            and 65 <= payload[0] <= 90
                        ):
                            start = sip_offset(payload)
                            if start < 0:
                                if decoder.unwrap_hep(payload, ts, n):
                                    continue
                                if payload and not payload.strip(b"\r\n\x00"):
                                    skipped[KEEPALIVE] += 1
                                else:
                                    skipped[UDP_NOT_SIP] += 1
                                continue
                            if start:
                                payload = payload[start:]
                    # Source and destination addresses and ports, as one key for both.
                    pair = pairs.get(buf[26:38])
                    if pair is None:
                        pair = pairs[buf[26:38]] = (
                            address(buf[26:30], buf[34:36]),
                            address(buf[30:34], buf[36:38]),
                        )
                    src, dst = pair
                    found += 1
                    sink(n, ts, src, dst, "udp", payload)
                    continue
                try:
                    frame(linktype, ts, n, buf)
                except (IndexError, struct.error, ValueError):
                    skipped[MALFORMED] += 1
        except (dpkt.Error, struct.error, ValueError):
            summary.notes.append(
                f"the file ends in the middle of a packet header (byte {source.position})"
            )
        except _CorruptError as exc:
            summary.notes.append(f"corrupt packet record: {exc}; the rest of the file is skipped")
        summary.frames = n
        summary.messages += found

    def _text(self, source: _Input, sink: _Counting) -> None:
        summary = self.summary
        lines = _Lines(source, summary)
        n = 0
        for record, when, src, dst, transport, text in _text_records(iter(lines), summary):
            n += 1
            payload = text.encode("utf-8", "surrogateescape")
            if sip_offset(payload) < 0:
                summary.skip(TEXT_NOT_SIP)
            else:
                sink(record, when, src, dst, transport, payload)
            if not n % PROGRESS_EVERY:
                summary.frames = n
                self._tick(source)
        summary.frames = n


class _Counting:
    """A sink that counts the messages it passes on."""

    __slots__ = ("sink", "summary")

    def __init__(self, summary: ReadSummary, sink: Sink) -> None:
        self.summary = summary
        self.sink = sink

    def __call__(
        self, frame: int, time: float | None, src: str, dst: str, transport: str, data: bytes
    ) -> None:
        self.summary.messages += 1
        self.sink(frame, time, src, dst, transport, data)


def to_message(
    frame: int, time: float | None, src: str, dst: str, transport: str, data: bytes
) -> CapturedMessage:
    """A payload as the engine takes it (UTF-8, bad bytes replaced)."""
    return CapturedMessage(frame, time, src, dst, transport, data.decode("utf-8", "replace"))


@dataclass
class Listing:
    """The dialogs of a capture, what was skipped, and (for small captures) their messages."""

    path: Path
    catalog: DialogCatalog
    summary: ReadSummary
    kept: dict[str, list[CapturedMessage]] | None = None

    def messages(self, call_id: str) -> list[CapturedMessage] | None:
        """The messages of one dialog when they were kept in memory, else None."""
        if self.kept is None:
            return None
        return self.kept.get(call_id, [])


def list_dialogs(
    path: str | Path,
    *,
    keep_bytes: int = 0,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Listing:
    """Read a capture once and summarise its dialogs (one per Call-ID).

    With ``keep_bytes`` > 0 the messages are also kept, as long as they take no more than
    that many bytes in all; beyond it they are dropped and :func:`read_dialog` reads the file
    again when a dialog is picked.
    """
    reader = CaptureReader(path, progress=progress, cancelled=cancelled)
    catalog = DialogCatalog()
    add = catalog.add
    kept: dict[str, list[CapturedMessage]] | None = {} if keep_bytes > 0 else None
    budget = [keep_bytes]

    def sink(
        frame: int, time: float | None, src: str, dst: str, transport: str, data: bytes
    ) -> None:
        nonlocal kept
        cid = add(data, time, src, dst, frame)
        if cid is not None and kept is not None:
            budget[0] -= len(data) + 200
            if budget[0] < 0:
                kept = None
            else:
                kept.setdefault(cid, []).append(to_message(frame, time, src, dst, transport, data))

    # Listing only: the catalog itself is the sink (one call a message, no more).
    summary = reader.run(sink if kept is not None else catalog.record)
    if catalog.without_call_id:
        summary.skipped[NO_CALL_ID] = catalog.without_call_id
    return Listing(Path(path), catalog, summary, kept)


def read_dialogs(
    path: str | Path,
    call_ids: Collection[str],
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[dict[str, list[CapturedMessage]], ReadSummary]:
    """The messages of the dialogs with those Call-IDs, in capture order."""
    wanted = {c.encode("utf-8", "surrogateescape"): c for c in call_ids}
    out: dict[str, list[CapturedMessage]] = {c: [] for c in call_ids}
    reader = CaptureReader(path, progress=progress, cancelled=cancelled)

    def sink(
        frame: int, time: float | None, src: str, dst: str, transport: str, data: bytes
    ) -> None:
        cid = call_id_bytes(data)
        if cid is None:
            reader.summary.skip(NO_CALL_ID)
            return
        name = wanted.get(cid)
        if name is not None:
            out[name].append(to_message(frame, time, src, dst, transport, data))

    summary = reader.run(sink)
    return out, summary


def read_dialog(
    path: str | Path,
    call_id: str,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[list[CapturedMessage], ReadSummary]:
    """The messages of one dialog, in capture order."""
    found, summary = read_dialogs(path, [call_id], progress=progress, cancelled=cancelled)
    return found[call_id], summary


def text_messages(text: str) -> int:
    """How many SIP messages the capture reader finds in ``text`` read as a text capture
    (the paste dialog offers to open a pasted call as a capture when there are several)."""
    summary = ReadSummary("")
    lines = iter(text.splitlines(keepends=True))
    return sum(
        1
        for *_meta, message in _text_records(lines, summary)
        if sip_offset(message.encode("utf-8", "surrogateescape")) >= 0
    )


def read_messages(
    path: str | Path, *, progress: Progress | None = None
) -> tuple[list[CapturedMessage], ReadSummary]:
    """Every SIP message of a (small) file, in order: for tests and small text files."""
    out: list[CapturedMessage] = []

    def sink(
        frame: int, time: float | None, src: str, dst: str, transport: str, data: bytes
    ) -> None:
        out.append(to_message(frame, time, src, dst, transport, data))

    summary = CaptureReader(path, progress=progress).run(sink)
    return out, summary


__all__ = [
    "CancelledError",
    "CaptureError",
    "CaptureReader",
    "Listing",
    "ReadSummary",
    "list_dialogs",
    "read_dialog",
    "read_dialogs",
    "read_messages",
    "text_messages",
    "to_message",
]
