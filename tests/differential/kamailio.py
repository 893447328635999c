"""Record what a real Kamailio 5.6.3 does with a vector input.

A *vector input* is a dict in the shared vector format (``/work/shared/vectors/README.md``): the
proxy (``listen``, ``aliases``, ``modparams``, optional ``outbound``), the ``raw`` request, its
``source``, the socket it arrives on (``received_on``), the socket it leaves from
(``send_socket``), optional ``msg_flags`` and the rr calls of the ``script``.  The recorder
answers with the *expected* dict a real Kamailio gives: ``rc``, ``ruri``, ``du``, ``fs``,
``routes`` and, when the script calls ``record_route``, ``rr_rc`` and ``record_routes``; and,
beyond the vector format, the return code of every rr call (``Recording.call_rcs``).

How one request is recorded (all on loopback):

1. Inputs are grouped by proxy configuration; one Kamailio process serves a whole group.  Its
   ``kamailio.cfg`` listens on exactly the proxy's sockets (the vectors compare addresses
   literally, so the ports cannot be moved), and holds one ``route[RLV_n]`` block per distinct
   (script, msg_flags, send_socket) *variant* of the group.
2. Before each request the harness sends a control ``OPTIONS`` from its own control socket; the
   config stores the variant number in a shared variable (``$shv``) and answers 200.  The answer
   orders the two messages, so the request that follows runs the right variant.
3. The request is sent from a UDP socket bound to the vector's ``source`` to its ``received_on``
   socket.  The variant sets the message flags, runs the rr calls, writes ``$rc``, ``$ru``, ``$du``
   and ``$fs`` (hex-encoded) into ``X-RL-*`` headers, forces the send socket to ``send_socket``
   unless rr already forced one, points ``$du`` at the harness's capture socket (IPv4 or IPv6,
   UDP or TCP, matching the send socket) and calls ``forward()``.  Requests always arrive over
   UDP; a TCP send socket makes Kamailio open (and then reuse) a connection to the TCP capture.
4. Route removals, the strict-router Route and the Record-Route headers are lumps that Kamailio
   applies only when it serialises the message, so the harness reads ``routes`` and
   ``record_routes`` from the request *as forwarded*.  Over UDP, the forwarded request's source
   address is the socket it really left from (checked against ``send_socket``); over TCP, the
   source port is the connection's own, and ``$fs`` (or ``send_socket``) says the socket.

Only processes started here are stopped, by their process id (each Kamailio runs in its own
process group whose id is the started process's id).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KAMAILIO_PATHS = ("/usr/sbin/kamailio",)

# The rr-module calls a script may contain.  Anything else is refused: the script text is pasted
# into kamailio.cfg.
RR_FUNCTIONS = frozenset(
    {
        "loose_route",
        "loose_route_preloaded",
        "loose_route_mode",
        "record_route",
        "record_route_preset",
        "record_route_advertised_address",
        "add_rr_param",
        "check_route_param",
        "is_direction",
        "remove_record_route",
        "rr_next_hop_route",
    }
)
_CALL_RE = re.compile(
    r'^(?P<name>[a-z_]+)\((?P<args>(?:"[^"\\\r\n]*"(?:\s*,\s*"[^"\\\r\n]*")*|-?\d+)?)\)$'
)
_SOCKET_RE = re.compile(r"^(?P<proto>udp|tcp):(?P<host>\[[0-9A-Fa-f:.]+\]|[0-9.]+):(?P<port>\d+)$")
_ALIAS_RE = re.compile(
    r"^(?:(?:udp|tcp|tls|sctp):)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d+)?$"
)
_MODPARAM_NAME_RE = re.compile(r"^[a-z_]+$")
_SAFE_STRING_RE = re.compile(r'^[^"\\\r\n]*$')


class RecorderError(Exception):
    """A vector or proxy that the recorder cannot reproduce (bad input, busy port, no answer)."""


def find_kamailio() -> str | None:
    """Path of the kamailio binary, or None when it is not installed."""
    for candidate in KAMAILIO_PATHS:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("kamailio")


# --------------------------------------------------------------------------- sockets and parsing


@dataclass(frozen=True, slots=True)
class SockAddr:
    """A transport address ``proto:host:port`` as written in vectors (IPv6 in brackets)."""

    proto: str
    host: str  # without brackets
    port: int

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    @property
    def sockaddr(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.proto}:{host}:{self.port}"


_LISTEN_OPTIONS = re.compile(
    r"^(?P<socket>\S+)(?:\s+advertise\s+(?P<advertise>[A-Za-z0-9.-]+(?::\d+)?))?"
    r'(?:\s+name\s+"?(?P<name>[A-Za-z0-9_.-]+)"?)?$'
)


def parse_listen(text: str) -> tuple[SockAddr, str]:
    """A proxy's listen socket: the address, and the ``listen=`` line that makes Kamailio
    listen on it, with ``advertise host[:port]`` and ``name NAME`` when the vector has them
    (``udp:127.0.0.1:5060 advertise 203.0.113.5:5080 name s1``)."""
    match = _LISTEN_OPTIONS.match(text.strip())
    if match is None:
        raise RecorderError(
            f"bad listen socket {text!r}: want udp:IP:PORT [advertise H:P] [name N]"
        )
    addr = parse_sockaddr(match["socket"])
    line = f"listen={addr}"
    if match["advertise"]:
        line += f" advertise {match['advertise']}"
    if match["name"]:
        line += f' name "{match["name"]}"'
    return addr, line


def parse_sockaddr(text: str) -> SockAddr:
    """Parse ``udp:127.0.0.1:5060`` / ``udp:[::1]:5060``; only loopback addresses are accepted."""
    match = _SOCKET_RE.match(text)
    if match is None:
        raise RecorderError(f"bad socket address {text!r}: want udp:IP:PORT")
    host = match["host"].strip("[]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError as exc:
        raise RecorderError(f"bad IP in socket address {text!r}") from exc
    if not ip.is_loopback:
        raise RecorderError(f"socket address {text!r} is not loopback; refusing to use it")
    port = int(match["port"])
    if not 0 < port < 65536:
        raise RecorderError(f"bad port in socket address {text!r}")
    return SockAddr(match["proto"], str(ip), port)


def sockaddr_from_peer(proto: str, peer: tuple[Any, ...]) -> SockAddr:
    return SockAddr(proto, str(ipaddress.ip_address(peer[0])), int(peer[1]))


def split_header_values(value: str) -> list[str]:
    """Split a Route/Record-Route header value on commas outside quotes and ``<...>``."""
    entries: list[str] = []
    current: list[str] = []
    in_quotes = False
    in_angle = False
    escaped = False
    for char in value:
        if in_quotes:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
            continue
        if char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == "," and not in_angle:
            entries.append("".join(current).strip(" \t"))
            current = []
            continue
        current.append(char)
    entries.append("".join(current).strip(" \t"))
    return entries


@dataclass(frozen=True, slots=True)
class CapturedRequest:
    """The request as Kamailio forwarded it."""

    start_line: str
    headers: tuple[tuple[str, str], ...]  # (name, value), unfolded, in order

    def values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for hname, value in self.headers if hname.lower() == wanted]

    def single(self, name: str) -> str | None:
        found = self.values(name)
        return found[-1] if found else None


def parse_captured(data: bytes) -> CapturedRequest:
    text = data.decode("utf-8", errors="surrogateescape")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(" \t"))
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        headers.append((name.strip(" \t"), value.strip(" \t")))
    return CapturedRequest(lines[0], tuple(headers))


def _header_value(raw: str, name: str) -> str | None:
    head = raw.split("\r\n\r\n", 1)[0]
    for line in head.split("\r\n")[1:]:
        hname, sep, value = line.partition(":")
        if sep and hname.strip(" \t").lower() == name.lower():
            return value.strip(" \t")
    return None


def _call_id(raw: str) -> str | None:
    return _header_value(raw, "Call-ID") or _header_value(raw, "i")


# --------------------------------------------------------------------------- inputs

INPUT_KEYS = (
    "id",
    "description",
    "proxy",
    "raw",
    "msg_flags",
    "source",
    "received_on",
    "send_socket",
    "script",
)


def input_of(vector: Mapping[str, Any]) -> dict[str, Any]:
    """The input fields of a vector (drops ``expected`` and anything unknown)."""
    return {key: vector[key] for key in INPUT_KEYS if key in vector}


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    text: str


def parse_script(script: Sequence[str]) -> tuple[Call, ...]:
    calls = []
    for entry in script:
        match = _CALL_RE.match(entry.strip())
        if match is None or match["name"] not in RR_FUNCTIONS:
            raise RecorderError(f"script entry {entry!r} is not a supported rr call")
        calls.append(Call(match["name"], entry.strip()))
    return tuple(calls)


def calls_loose_route(script: Sequence[str]) -> bool:
    return any(call.name.startswith("loose_route") for call in parse_script(script))


def calls_record_route(script: Sequence[str]) -> bool:
    return any(call.name.startswith("record_route") for call in parse_script(script))


@dataclass(frozen=True, slots=True)
class Variant:
    """What the config does for one request: flags, rr calls, send socket."""

    calls: tuple[Call, ...]
    msg_flags: int
    send_socket: SockAddr


def proxy_key(proxy: Mapping[str, Any]) -> str:
    """Canonical text of a proxy configuration; equal keys share one Kamailio process."""
    return json.dumps(proxy, sort_keys=True, separators=(",", ":"))


def variant_of(vector: Mapping[str, Any]) -> Variant:
    flags = int(vector.get("msg_flags") or 0)
    if not 0 <= flags < 2**32:
        raise RecorderError(f"msg_flags {flags} out of range")
    return Variant(parse_script(vector["script"]), flags, parse_sockaddr(vector["send_socket"]))


# --------------------------------------------------------------------------- config rendering


def _cfg_string(value: object, what: str) -> str:
    text = str(value)
    if not _SAFE_STRING_RE.match(text):
        raise RecorderError(f"{what} {text!r} cannot be written into kamailio.cfg")
    return f'"{text}"'


def modparam_line(module: str, name: str, value: object) -> str:
    if not _MODPARAM_NAME_RE.match(name):
        raise RecorderError(f"bad modparam name {name!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        rendered = _cfg_string(value, f"modparam {module}.{name}")
    else:
        rendered = str(value)
    return f'modparam("{module}", "{name}", {rendered})'


# What the config does before the rr calls.  It matters: with nothing before it, record_route()
# alone does not see the top Route's ftag (the Route header has not been reached by the parser),
# while the shared vectors (R11) were recorded by a rig that had parsed the headers first.
PRELUDE_NONE = "none"
PRELUDE_PARSE_HEADERS = "parse-headers"
PRELUDE_ROUTE_URI = "route-uri"
PRELUDES: dict[str, list[str]] = {
    PRELUDE_NONE: [],
    # $hdr() of an absent header makes the core parse every header of the request.
    PRELUDE_PARSE_HEADERS: ["    $var(rl_pre) = $hdr(X-RouteLab-Absent);"],
    # $route_uri parses the first Route header's body.
    PRELUDE_ROUTE_URI: ["    $var(rl_pre) = $route_uri;"],
}


def render_cfg(
    proxy: Mapping[str, Any],
    variants: Sequence[Variant],
    *,
    control_port: int,
    nonce: str,
    capture4: int,
    capture6: int | None,
    prelude: str = PRELUDE_PARSE_HEADERS,
    tcp4: int | None = None,
    tcp6: int | None = None,
) -> str:
    """kamailio.cfg for one proxy configuration and the variants its requests need."""
    listen_lines = [parse_listen(s) for s in proxy["listen"]]
    listen = [addr for addr, _line in listen_lines]
    if not any(s.proto == "udp" for s in listen):
        raise RecorderError("a proxy needs a udp listen socket: requests are sent over UDP")
    lines = [
        "#!KAMAILIO",
        "# Generated by tests/differential/kamailio.py -- one RouteLab differential run.",
        "debug=1",
        "log_stderror=yes",
        "memdbg=5",
        "memlog=5",
        "children=1",
        "auto_aliases=no",
        "disable_tcp=" + ("no" if any(s.proto == "tcp" for s in listen) else "yes"),
        "disable_sctp=yes",
        "enable_tls=no",
        "mhomed=0",
        "dns=no",
        "rev_dns=no",
        "dns_try_ipv6=no",
        "dns_try_naptr=no",
        "dns_srv_lb=no",
        "use_dns_cache=no",
        "use_dns_failover=no",
        "dns_retr_time=1",
        "dns_retr_no=1",
        "dns_servers_no=1",
    ]
    lines += [line for _addr, line in listen_lines]
    for alias in proxy.get("aliases", []):
        if not _ALIAS_RE.match(alias):
            raise RecorderError(f"bad alias {alias!r}")
        lines.append(f"alias={alias}")
    lines += [
        'loadmodule "sl.so"',
        'loadmodule "pv.so"',
        'loadmodule "textops.so"',
        'loadmodule "xlog.so"',
    ]
    outbound = proxy.get("outbound")
    if outbound and outbound.get("loaded", True):
        lines.append('loadmodule "outbound.so"')
        for key in ("flow_token_secret", "force_outbound_flag", "force_no_outbound_flag"):
            if key in outbound:
                lines.append(modparam_line("outbound", key, outbound[key]))
    lines.append('loadmodule "rr.so"')
    for name, value in proxy.get("modparams", {}).items():
        lines.append(modparam_line("rr", name, value))
    lines.append('modparam("pv", "shvset", "rlv=i:-1")')
    lines += [
        "",
        "request_route {",
        f'    if ($sp == {control_port} && $hdr(X-RouteLab-Control) == "{nonce}") {{',
        "        $shv(rlv) = $(hdr(X-RouteLab-Variant){s.int});",
        '        sl_send_reply("200", "RouteLab control");',
        "        exit;",
        "    }",
    ]
    lines += PRELUDES[prelude]
    lines += [
        "    switch ($shv(rlv)) {",
    ]
    for index in range(len(variants)):
        lines += [
            f"        case {index}:",
            f"            route(RLV_{index});",
            "            break;",
        ]
    lines += [
        "        default:",
        '            xlog("L_ERR", "RouteLab: no variant selected\\n");',
        "    }",
        "    exit;",
        "}",
        "",
    ]
    for index, variant in enumerate(variants):
        lines.append(f"route[RLV_{index}] {{")
        lines += [f"    setflag({bit});" for bit in range(32) if variant.msg_flags >> bit & 1]
        lr_call = rr_call = False
        for number, call in enumerate(variant.calls):
            # $rc is read once, right after the call, into the call's own variable.
            lines.append(f"    {call.text};")
            lines.append(f"    $var(rl_c{number}) = $rc;")
            if call.name.startswith("loose_route"):
                lines.append(f"    $var(rl_rc) = $var(rl_c{number});")
                lr_call = True
            elif call.name.startswith("record_route"):
                lines.append(f"    $var(rl_rrrc) = $var(rl_c{number});")
                rr_call = True
        if variant.calls:
            codes = " ".join(f"$var(rl_c{number})" for number in range(len(variant.calls)))
            lines.append(f'    append_hf("X-RL-CALLS: {codes}\\r\\n");')
        if lr_call:
            lines.append('    append_hf("X-RL-RC: $var(rl_rc)\\r\\n");')
        if rr_call:
            lines.append('    append_hf("X-RL-RRRC: $var(rl_rrrc)\\r\\n");')
        lines += [
            "    route(RL_REPORT);",
            "    if ($fs == $null) {",
            f"        force_send_socket({variant.send_socket});",
            "    }",
            "    route(RL_DELIVER);",
            "}",
            "",
        ]
    lines += [
        "route[RL_REPORT] {",
        '    append_hf("X-RL-RU: =$(ru{s.encode.hexa})\\r\\n");',
        "    if ($du == $null) {",
        '        append_hf("X-RL-DU: -\\r\\n");',
        "    } else {",
        '        append_hf("X-RL-DU: =$(du{s.encode.hexa})\\r\\n");',
        "    }",
        "    if ($fs == $null) {",
        '        append_hf("X-RL-FS: -\\r\\n");',
        "    } else {",
        '        append_hf("X-RL-FS: =$(fs{s.encode.hexa})\\r\\n");',
        "    }",
        "}",
        "",
        "route[RL_DELIVER] {",
        # A TCP send socket sends to the harness's TCP capture (the same address family).
        '    if ($fs =~ "^tcp:\\[") {',
        f'        $du = "sip:[::1]:{tcp6 or 0};transport=tcp";',
        '    } else if ($fs =~ "^tcp:") {',
        f'        $du = "sip:127.0.0.1:{tcp4 or 0};transport=tcp";',
        '    } else if ($fs =~ "^[a-z]+:\\[") {',
        # Without IPv6 loopback nothing can be captured from an IPv6 socket: the request is
        # then reported as not forwarded.
        f'        $du = "sip:[::1]:{capture6 or capture4}";',
        "    } else {",
        f'        $du = "sip:127.0.0.1:{capture4}";',
        "    }",
        "    forward();",
        "    exit;",
        "}",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Recording:
    """What Kamailio did with one vector input: ``expected`` or ``error``."""

    vector: Mapping[str, Any]
    expected: dict[str, Any] | None
    error: str | None = None
    sent_from: str | None = None  # the socket the request actually left from
    note: str | None = None  # how the recorder had to adapt the input, if it did
    # The return code of every rr call of the script, in order (the vector format keeps
    # only the last of each family, as rc and rr_rc).
    call_rcs: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.expected is not None

    def as_vector(self) -> dict[str, Any]:
        """The input with ``expected`` added, in the shared vector format.

        ``send_socket`` is the socket the request really left from: when rr itself forced a
        socket (``$fs``), Kamailio sends from that one, whatever the input asked for.
        """
        if self.expected is None:
            raise RecorderError(f"no recording: {self.error}")
        vector = input_of(self.vector)
        if self.sent_from is not None and self.sent_from != vector.get("send_socket"):
            vector["send_socket"] = self.sent_from
        vector["expected"] = self.expected
        return vector


def _unhex(value: str | None, what: str) -> str | None:
    if value is None:
        raise RecorderError(f"forwarded request lacks its {what} report header")
    if value == "-":
        return None
    if not value.startswith("="):
        raise RecorderError(f"bad {what} report header {value!r}")
    return bytes.fromhex(value[1:]).decode("utf-8", errors="surrogateescape")


def expected_from_capture(captured: CapturedRequest, script: Sequence[str]) -> dict[str, Any]:
    """Turn a forwarded request (with its X-RL-* report headers) into an expected dict."""
    expected: dict[str, Any] = {}
    if calls_loose_route(script):
        rc = captured.single("X-RL-RC")
        if rc is None:
            raise RecorderError("forwarded request lacks X-RL-RC")
        expected["rc"] = int(rc)
    expected["ruri"] = _unhex(captured.single("X-RL-RU"), "R-URI")
    expected["du"] = _unhex(captured.single("X-RL-DU"), "$du")
    expected["fs"] = _unhex(captured.single("X-RL-FS"), "$fs")
    expected["routes"] = [
        entry for value in captured.values("Route") for entry in split_header_values(value)
    ]
    if calls_record_route(script):
        rr_rc = captured.single("X-RL-RRRC")
        if rr_rc is None:
            raise RecorderError("forwarded request lacks X-RL-RRRC")
        expected["rr_rc"] = int(rr_rc)
        expected["record_routes"] = [
            entry
            for value in captured.values("Record-Route")
            for entry in split_header_values(value)
        ]
    return expected


def call_rcs_from_capture(captured: CapturedRequest, script: Sequence[str]) -> tuple[int, ...]:
    """The return code of every rr call, from the forwarded request's X-RL-CALLS header."""
    if not script:
        return ()
    value = captured.single("X-RL-CALLS")
    if value is None:
        raise RecorderError("forwarded request lacks X-RL-CALLS")
    codes = tuple(int(word) for word in value.split())
    if len(codes) != len(script):
        raise RecorderError(f"X-RL-CALLS has {len(codes)} codes for {len(script)} calls")
    return codes


# --------------------------------------------------------------------------- the process


def _port_is_free(addr: SockAddr) -> bool:
    kind = socket.SOCK_STREAM if addr.proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(addr.family, kind) as probe:
        try:
            probe.bind(addr.sockaddr)
        except OSError:
            return False
    return True


@dataclass
class KamailioProcess:
    """One running Kamailio for one proxy configuration (see the module docstring)."""

    binary: str
    proxy: Mapping[str, Any]
    variants: list[Variant]
    workdir: Path
    control: socket.socket
    capture4: socket.socket
    capture6: socket.socket | None
    prelude: str = PRELUDE_PARSE_HEADERS
    tcp4: socket.socket | None = None  # the harness's TCP captures (listening)
    tcp6: socket.socket | None = None
    startup_timeout: float = 15.0
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> None:
        listen = [parse_listen(s)[0] for s in self.proxy["listen"]]
        busy = [str(s) for s in listen if not _port_is_free(s)]
        if busy:
            raise RecorderError(
                f"listen socket(s) already in use: {', '.join(busy)} (is the packaged kamailio "
                "service running? `systemctl stop kamailio`)"
            )
        cfg = render_cfg(
            self.proxy,
            self.variants,
            control_port=self.control.getsockname()[1],
            nonce=self.nonce,
            capture4=self.capture4.getsockname()[1],
            capture6=self.capture6.getsockname()[1] if self.capture6 else None,
            prelude=self.prelude,
            tcp4=self.tcp4.getsockname()[1] if self.tcp4 else None,
            tcp6=self.tcp6.getsockname()[1] if self.tcp6 else None,
        )
        self._launch(cfg)

    def _launch(self, cfg: str) -> None:
        """Write ``cfg``, start Kamailio on it in a process group of its own and wait until
        it answers (:meth:`_wait_ready`); stop it again when it does not."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg_path = self.workdir / "kamailio.cfg"
        cfg_path.write_text(cfg, encoding="utf-8")
        self.log_path = self.workdir / "kamailio.log"
        command = [
            self.binary,
            "-f", str(cfg_path),
            "-DD",
            "-E",
            "-w", str(self.workdir),
            "-P", str(self.workdir / "kamailio.pid"),
            "-Y", str(self.workdir),
            "-m", "64",
            "-M", "8",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # own process group, id = this pid
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _control_message(self, target: SockAddr, variant: int, seq: int) -> bytes:
        family = self.control.family
        host, port = self.control.getsockname()[:2]
        via_host = f"[{host}]" if family == socket.AF_INET6 else host
        target_host = f"[{target.host}]" if target.family == socket.AF_INET6 else target.host
        call_id = f"routelab-control-{self.nonce}-{seq}"
        return (
            f"OPTIONS sip:{target_host}:{target.port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {via_host}:{port};branch=z9hG4bK-rlctl-{self.nonce}-{seq}\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:routelab@{via_host}>;tag=rlctl\r\n"
            f"To: <sip:{target_host}:{target.port}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {seq} OPTIONS\r\n"
            f"X-RouteLab-Control: {self.nonce}\r\n"
            f"X-RouteLab-Variant: {variant}\r\n"
            f"Content-Length: 0\r\n\r\n"
        ).encode()

    def _control_target(self) -> SockAddr:
        listen = [parse_listen(s)[0] for s in self.proxy["listen"]]
        for addr in listen:
            if addr.family == self.control.family:
                return addr
        raise RecorderError("no listen socket of the control socket's address family")

    def _exchange_control(self, variant: int, seq: int, timeout: float) -> bool:
        """Send one control message; True when its 200 came back within timeout."""
        target = self._control_target()
        message = self._control_message(target, variant, seq)
        marker = f"routelab-control-{self.nonce}-{seq}".encode()
        _drain(self.control)
        self.control.sendto(message, target.sockaddr)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.control], [], [], left)
            if not ready:
                break
            data = self.control.recv(65535)
            if data.startswith(b"SIP/2.0 200") and marker in data:
                return True
        return False

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        seq = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RecorderError(
                    f"kamailio exited with {self.process.returncode} at start-up:\n"
                    + self.log_tail()
                )
            seq += 1
            if self._exchange_control(-1, seq, 0.1):
                return
        raise RecorderError("kamailio did not answer within start-up timeout:\n" + self.log_tail())

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def select_variant(self, index: int, seq: int) -> None:
        for _ in range(3):
            if not self.alive:
                raise RecorderError("kamailio is no longer running:\n" + self.log_tail())
            if self._exchange_control(index, seq, 1.0):
                return
        raise RecorderError("kamailio does not answer control messages:\n" + self.log_tail())

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        # Kamailio's workers share the group; make sure none outlives the main process.
        for _ in range(50):
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _drain(sock: socket.socket) -> None:
    while True:
        ready, _, _ = select.select([sock], [], [], 0)
        if not ready:
            return
        sock.recv(65535)


# --------------------------------------------------------------------------- the recorder


class Recorder:
    """Record vector inputs with a real Kamailio; use as a context manager.

    ``with Recorder() as recorder: recordings = recorder.record_all(vectors)`` gives one
    :class:`Recording` per input, in input order.
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        workdir: Path | None = None,
        request_timeout: float = 2.0,
        prelude: str = PRELUDE_PARSE_HEADERS,
    ) -> None:
        found = binary or find_kamailio()
        if found is None:
            raise RecorderError("kamailio is not installed")
        self.binary = found
        self.request_timeout = request_timeout
        if prelude not in PRELUDES:
            raise RecorderError(f"unknown prelude {prelude!r}")
        self.prelude = prelude
        self._own_tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._own_tmp = tempfile.TemporaryDirectory(prefix="routelab-kamailio-")
            workdir = Path(self._own_tmp.name)
        self.workdir = workdir
        self._sockets: list[socket.socket] = []
        self.capture4 = self._bind(socket.AF_INET, "127.0.0.1")
        self.control4 = self._bind(socket.AF_INET, "127.0.0.1")
        # IPv6 loopback may be missing (some containers); vectors that need it then fail alone.
        self.capture6 = self._bind_ipv6()
        self.control6 = self._bind_ipv6()
        # TCP captures, for requests Kamailio sends from a TCP socket; the connections it
        # opens stay open (it reuses them), each with what has arrived on it so far.
        self.tcp4 = self._listen_tcp(socket.AF_INET, "127.0.0.1")
        self.tcp6 = self._listen_tcp(socket.AF_INET6, "::1")
        self._tcp: dict[socket.socket, bytearray] = {}
        self._process: KamailioProcess | None = None
        self.startups = 0
        self._seq = 0

    def _bind(self, family: socket.AddressFamily, host: str) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((host, 0))
        except OSError:
            sock.close()
            raise
        self._sockets.append(sock)
        return sock

    def _listen_tcp(self, family: socket.AddressFamily, host: str) -> socket.socket | None:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.bind((host, 0))
            sock.listen(16)
        except OSError:
            sock.close()
            return None
        self._sockets.append(sock)
        return sock

    def _bind_ipv6(self) -> socket.socket | None:
        try:
            return self._bind(socket.AF_INET6, "::1")
        except OSError:
            return None

    @property
    def _captures(self) -> list[socket.socket]:
        return [sock for sock in (self.capture4, self.capture6) if sock is not None]

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
        for sock in [*self._sockets, *self._tcp]:
            sock.close()
        self._sockets.clear()
        self._tcp.clear()
        if self._own_tmp is not None:
            self._own_tmp.cleanup()
            self._own_tmp = None

    def record_all(self, vectors: Iterable[Mapping[str, Any]]) -> list[Recording]:
        """Record every input, grouping by proxy so each configuration starts Kamailio once.

        Results come back in input order.
        """
        items = list(vectors)
        groups: dict[str, list[int]] = {}
        for index, vector in enumerate(items):
            groups.setdefault(proxy_key(vector["proxy"]), []).append(index)
        results: list[Recording | None] = [None] * len(items)
        for number, indexes in enumerate(groups.values()):
            group = [items[i] for i in indexes]
            for i, recording in zip(indexes, self._record_group(group, number), strict=True):
                results[i] = recording
        return [r for r in results if r is not None]

    def _record_group(self, vectors: Sequence[Mapping[str, Any]], number: int) -> list[Recording]:
        variants: list[Variant] = []
        chosen: list[int | Recording] = []
        for vector in vectors:
            try:
                variant = variant_of(vector)
                parse_sockaddr(vector["source"])
                parse_sockaddr(vector["received_on"])
            except (RecorderError, KeyError, ValueError) as exc:
                chosen.append(Recording(vector, None, f"bad input: {exc}"))
                continue
            if variant not in variants:
                variants.append(variant)
            chosen.append(variants.index(variant))
        if not variants:
            return [c for c in chosen if isinstance(c, Recording)]
        proxy = vectors[0]["proxy"]
        listen_families = {parse_listen(s)[0].family for s in proxy["listen"]}
        control = self.control4 if socket.AF_INET in listen_families else self.control6
        if control is None:
            return [
                c if isinstance(c, Recording) else Recording(v, None, "no IPv6 loopback here")
                for c, v in zip(chosen, vectors, strict=True)
            ]
        process = KamailioProcess(
            binary=self.binary,
            proxy=proxy,
            variants=variants,
            workdir=self.workdir / f"proxy-{number:02d}",
            control=control,
            capture4=self.capture4,
            capture6=self.capture6,
            prelude=self.prelude,
            tcp4=self.tcp4,
            tcp6=self.tcp6,
        )
        try:
            process.start()
        except RecorderError as exc:
            return [
                c if isinstance(c, Recording) else Recording(v, None, f"start-up: {exc}")
                for c, v in zip(chosen, vectors, strict=True)
            ]
        self._process = process
        self.startups += 1
        try:
            out: list[Recording] = []
            for choice, vector in zip(chosen, vectors, strict=True):
                if isinstance(choice, Recording):
                    out.append(choice)
                    continue
                out.append(self._record_one(process, choice, vector))
            return out
        finally:
            process.stop()
            self._process = None

    def _record_one(
        self, process: KamailioProcess, variant: int, vector: Mapping[str, Any]
    ) -> Recording:
        self._seq += 1
        try:
            process.select_variant(variant, self._seq)
        except RecorderError as exc:
            return Recording(vector, None, str(exc))
        source = parse_sockaddr(vector["source"])
        target = parse_sockaddr(vector["received_on"])
        note = None
        if source.family != target.family:
            # A few shared vectors name an IPv4 source for a request that arrived on [::1].  Only
            # flow tokens look at the source address, so without outbound the request is sent
            # from the same port on the loopback address of the arrival socket's family.
            if vector["proxy"].get("outbound"):
                return Recording(vector, None, f"source {source} cannot reach {target}")
            host = "::1" if target.family == socket.AF_INET6 else "127.0.0.1"
            note = f"sent from {host} port {source.port}: {source} cannot reach {target}"
            source = SockAddr(source.proto, host, source.port)
        raw: str = vector["raw"]
        call_id = _call_id(raw)
        for sock in self._captures:
            _drain(sock)
        for conn in list(self._tcp):
            self._tcp[conn].clear()  # what an earlier request left behind
        sender = socket.socket(source.family, socket.SOCK_DGRAM)
        try:
            sender.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sender.bind(source.sockaddr)
            except OSError as exc:
                return Recording(vector, None, f"cannot bind source {source}: {exc}")
            sender.sendto(raw.encode("utf-8", errors="surrogateescape"), target.sockaddr)
            captured = self._capture(call_id)
        finally:
            sender.close()
        if captured is None:
            return Recording(
                vector,
                None,
                f"kamailio forwarded nothing within {self.request_timeout}s:\n"
                + process.log_tail(10),
            )
        data, peer = captured
        try:
            forwarded = parse_captured(data)
            expected = expected_from_capture(forwarded, vector["script"])
            call_rcs = call_rcs_from_capture(forwarded, vector["script"])
        except (RecorderError, ValueError) as exc:
            return Recording(vector, None, f"unreadable forwarded request: {exc}")
        if peer is not None:
            sent_from = str(sockaddr_from_peer("udp", peer))
        else:  # TCP: the socket the request left from is the one $fs names
            sent_from = expected.get("fs") or vector.get("send_socket")
        return Recording(vector, expected, None, sent_from, note, call_rcs)

    def _capture(self, call_id: str | None) -> tuple[bytes, tuple[Any, ...] | None] | None:
        """The request Kamailio forwarded, and where from (None over TCP, whose source
        port tells nothing of the socket)."""
        deadline = time.monotonic() + self.request_timeout
        listeners = [s for s in (self.tcp4, self.tcp6) if s is not None]
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([*self._captures, *listeners, *self._tcp], [], [], left)
            for sock in ready:
                if sock in listeners:
                    conn, _peer = sock.accept()
                    self._tcp[conn] = bytearray()
                    continue
                if sock in self._tcp:
                    data = self._tcp_message(sock)
                    peer = None
                    if data is None:
                        continue
                else:
                    data, peer = sock.recvfrom(65535)
                if call_id is not None:
                    captured = parse_captured(data)
                    got = captured.single("Call-ID") or captured.single("i")
                    if got != call_id:
                        continue  # a late copy of an earlier request
                return data, peer
        return None

    def _tcp_message(self, conn: socket.socket) -> bytes | None:
        """Read from a TCP connection; the first whole message in it, else None."""
        buffer = self._tcp[conn]
        chunk = conn.recv(65535)
        if not chunk:
            conn.close()
            del self._tcp[conn]
            return None
        buffer += chunk
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = re.search(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)", buffer[:end], re.I)
        total = end + 4 + (int(length.group(1)) if length else 0)
        if len(buffer) < total:
            return None
        data = bytes(buffer[:total])
        del buffer[:total]
        return data


def iter_vector_files(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Vectors of JSONL files, one JSON object a line."""
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.differential.kamailio IN.jsonl... > OUT.jsonl``: record vector inputs.

    Writes each input with the ``expected`` Kamailio gave; reports failures on stderr.
    """
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("inputs", nargs="+", type=Path, help="JSONL files of vector inputs")
    parser.add_argument("--prelude", choices=sorted(PRELUDES), default=PRELUDE_PARSE_HEADERS)
    args = parser.parse_args(argv)
    failed = 0
    with Recorder(prelude=args.prelude) as recorder:
        for recording in recorder.record_all(iter_vector_files(args.inputs)):
            if recording.ok:
                print(json.dumps(recording.as_vector(), ensure_ascii=False))
            else:
                failed += 1
                print(f"{recording.vector.get('id')}: {recording.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
