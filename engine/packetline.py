"""Where a message in pasted or captured text went: the line a capture tool or a SIP
stack's log prints about the packet, just before the message itself.

Rule: only a line that names addresses in one of the layouts below is read, and only the
addresses it names (a log of the receiving side names where the message came from, not
where it arrived); hosts must be IP addresses (a name resolved by the tool says nothing
certain about a socket).  IPv6 addresses are kept without brackets.

========================  ==========================================================
ngrep (``-W byline``)     ``U 192.0.2.10:5060 -> 192.0.2.1:5060 #3`` (``T ... [AP] #3`` for TCP)
sngrep (save as text)     ``2026/11/29 10:00:01.123456 192.0.2.10:5060 -> 192.0.2.1:5060``
tcpdump (``-n``)          ``10:00:01.1 IP 192.0.2.10.5060 > 192.0.2.1.5060: SIP: BYE ...``
FreeSWITCH (siptrace)     ``send 402 bytes to udp/[192.0.2.1]:5060 at 10:00:01.123456:``
Asterisk (pjsip logger)   ``<--- Transmitting SIP request (402 bytes) to UDP:192.0.2.1:5060 --->``
Asterisk (chan_sip)       ``<--- SIP read from UDP:192.0.2.10:5060 --->``
Wireshark (details)       ``Internet Protocol Version 4, Src: 192.0.2.10, Dst: 192.0.2.1`` and
                          ``User Datagram Protocol, Src Port: 5060, Dst Port: 5060``
========================  ==========================================================

>>> p = read_packet_line("U 192.0.2.10:5060 -> 192.0.2.1:5060 #3", 2)
>>> p.proto, p.source, p.destination
('udp', ('192.0.2.10', 5060), ('192.0.2.1', 5060))
>>> read_packet_line("10:00:01.1 IP pbx.sip > p1.sip: UDP, length 402", 1) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from engine.uri import is_ip

_MAX_TEXT = 100  # how much of the packet's line a Packet keeps, for the words


@dataclass(frozen=True, slots=True)
class Packet:
    """What a packet line says: its 1-based ``line`` in the user's text and its ``text``
    (shortened), the transport (``proto``, lower case, ``""`` when the line does not say)
    and the ``source`` and ``destination`` as (host, port), None where the line names none.
    """

    line: int
    text: str
    proto: str = ""
    source: tuple[str, int] | None = None
    destination: tuple[str, int] | None = None

    def describe(self) -> str:
        """The packet's addresses in words, for the receiving proxy's guess.

        >>> Packet(2, "U a -> b", "udp", ("192.0.2.10", 5060), ("192.0.2.1", 5060)).describe()
        'line 2 (the request went from 192.0.2.10:5060 to 192.0.2.1:5060 over UDP)'
        """
        parts = []
        if self.source is not None:
            parts.append(f"from {hostport(*self.source)}")
        if self.destination is not None:
            parts.append(f"to {hostport(*self.destination)}")
        if self.proto:
            parts.append(f"over {self.proto.upper()}")
        return f"line {self.line} (the request went {' '.join(parts)})"


def hostport(host: str, port: int) -> str:
    """``host:port``, an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# An address and port joined by ':' (IPv6 in brackets, or bare: the port is after the last
# colon), or by '.' as tcpdump writes them.
_ADDR = r"(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+?)"
_COLON = rf"{_ADDR}:(\d{{1,5}})(?!\d)"
_DOT = r"([0-9A-Fa-f:.]+?)\.(\d{1,5})(?!\d)"
_PROTO = r"(udp|tcp|tls|sctp|wss?)"

# (pattern, what its groups are): "s"/"d" a source or destination host-port pair in two
# groups, "p" the transport (a word, or ngrep's letter); "x" takes no group: the transport
# is in tcpdump's words after the addresses.
_LAYOUTS: tuple[tuple[re.Pattern[str], str], ...] = (
    # ngrep: "U src -> dst #3", "T src -> dst [AP] #3" (TCP with its flags), after a time
    # stamp of one or two words (-T, -t)
    (
        re.compile(rf"^([UT]) (?:\S+ ){{0,2}}{_COLON} -> {_COLON}(?: \[[A-Z]*\])?(?: #\d+)?\s*$"),
        "psd",
    ),
    # sngrep's text export and other "src -> dst" lines
    (re.compile(rf"(?:^|\s){_COLON} -> {_COLON}(?:\s|$)"), "sd"),
    # tcpdump -n
    (re.compile(rf"\bIP6? {_DOT} > {_DOT}:"), "sdx"),
    # FreeSWITCH's sofia siptrace
    (re.compile(rf"\bsend \d+ bytes to {_PROTO}/{_COLON}", re.IGNORECASE), "pd"),
    (re.compile(rf"\brecv \d+ bytes from {_PROTO}/{_COLON}", re.IGNORECASE), "ps"),
    # Asterisk: pjsip's logger, chan_sip's debug
    (
        re.compile(
            rf"\bTransmitting SIP (?:request|response) \(\d+ bytes\) to {_PROTO}:{_COLON}",
            re.IGNORECASE,
        ),
        "pd",
    ),
    (
        re.compile(
            rf"\b(?:Received SIP (?:request|response) \(\d+ bytes\)|SIP read) from "
            rf"{_PROTO}:{_COLON}",
            re.IGNORECASE,
        ),
        "ps",
    ),
)
_NGREP_PROTO = {"U": "udp", "T": "tcp"}
_TCPDUMP_TCP = re.compile(r"\bFlags \[")
_TCPDUMP_UDP = re.compile(r"\b(?:UDP|SIP)\b")


@lru_cache(maxsize=256)  # a capture's few addresses come by again and again
def _pair(host: str, port: str) -> tuple[str, int] | None:
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    number = int(port)
    if not is_ip(host) or not 0 < number < 65536:
        return None
    return host, number


# Every layout's line holds one of these: most lines of a text are turned away by them alone
# (a capture's text runs every line through read_packet_line()).
_MARKS = re.compile(r"->| > | bytes|SIP read")


def read_packet_line(line: str, number: int) -> Packet | None:
    """The packet line ``line`` (user line ``number``) as a Packet, None when it is none."""
    if _MARKS.search(line) is None:
        return None
    for pattern, groups in _LAYOUTS:
        m = pattern.search(line)
        if m is None:
            continue
        values = iter(m.groups())
        proto = ""
        found: dict[str, tuple[str, int] | None] = {}
        for kind in groups:
            if kind == "p":
                word = next(values)
                proto = _NGREP_PROTO.get(word, word.lower())
            elif kind == "x":
                tcp, udp = _TCPDUMP_TCP.search(line), _TCPDUMP_UDP.search(line)
                proto = "tcp" if tcp else "udp" if udp else ""
            else:
                found[kind] = _pair(next(values), next(values))
        if any(pair is None for pair in found.values()):
            continue
        return Packet(number, _short(line), proto, found.get("s"), found.get("d"))
    return None


def _short(line: str) -> str:
    text = line.strip()
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


_RULER = re.compile(r"[ \t]*([-=_*#~])\1{3,}[ \t]*\Z")


def is_ruler(line: str) -> bool:
    """True for a line of one repeated punctuation character (``-----``, ``=====``), which
    logs print between messages.

    >>> is_ruler("   " + "-" * 72), is_ruler("--"), is_ruler("Via: x")
    (True, False, False)
    """
    return _RULER.match(line) is not None


def packet_before(lines: Sequence[str], start: int, reach: int = 3) -> Packet | None:
    """The packet line among the ``reach`` lines just before line index ``start`` (blank
    lines and rulers not counted), None when none of them is one."""
    seen = 0
    for i in range(start - 1, -1, -1):
        line = lines[i]
        if not line.strip() or is_ruler(line):
            continue
        packet = read_packet_line(line, i + 1)
        if packet is not None:
            return packet
        seen += 1
        if seen >= reach:
            break
    return None


# Wireshark's layer lines (the capture import reads whole frames with them too).
WIRESHARK_IP = re.compile(r"Internet Protocol Version [46], Src: (.+?), Dst: (.+?)\s*$")
WIRESHARK_PORTS = re.compile(
    r"(User Datagram|Transmission Control|Stream Control Transmission) Protocol, "
    r"Src Port: (?:\S+ \()?(\d+)\)?, Dst Port: (?:\S+ \()?(\d+)\)?"
)
WIRESHARK_PROTOCOLS = {
    "User Datagram": "udp",
    "Transmission Control": "tcp",
    "Stream Control Transmission": "sctp",
}
_NAMED = re.compile(r"\(([0-9A-Fa-f:.]+)\)\s*$")


def wireshark_ip(value: str) -> str:
    """An address as Wireshark shows it, the IP taken from "name (IP)" when names are on.

    >>> wireshark_ip("alice.example (198.51.100.7)"), wireshark_ip("203.0.113.5")
    ('198.51.100.7', '203.0.113.5')
    """
    named = _NAMED.search(value)
    return (named.group(1) if named else value).strip()


def wireshark_packet(lines: Sequence[str], start: int, reach: int = 400) -> Packet | None:
    """The addresses of the packet whose SIP layer begins above line index ``start`` in
    Wireshark's packet details: its IP and UDP/TCP layer lines (not indented), looked for
    upwards as far as the packet's ``Frame`` line."""
    ip: re.Match[str] | None = None
    ports: re.Match[str] | None = None
    ip_line = 0
    for i in range(start - 1, max(start - reach, 0) - 1, -1):
        line = lines[i]
        if line[:1] in (" ", "\t") or not line.strip():
            continue
        if ports is None:
            ports = WIRESHARK_PORTS.match(line)
        if ip is None:
            ip = WIRESHARK_IP.match(line)
            ip_line = i + 1
        if line.startswith("Frame ") or (ip is not None and ports is not None):
            break
    if ip is None or ports is None:
        return None
    source = _pair(wireshark_ip(ip.group(1)), ports.group(2))
    destination = _pair(wireshark_ip(ip.group(2)), ports.group(3))
    if source is None or destination is None:
        return None
    proto = WIRESHARK_PROTOCOLS[ports.group(1)]
    return Packet(ip_line, _short(lines[ip_line - 1]), proto, source, destination)


__all__ = [
    "WIRESHARK_IP",
    "WIRESHARK_PORTS",
    "WIRESHARK_PROTOCOLS",
    "Packet",
    "hostport",
    "is_ruler",
    "packet_before",
    "read_packet_line",
    "wireshark_ip",
    "wireshark_packet",
]
