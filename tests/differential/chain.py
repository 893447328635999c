"""Play a whole scenario through a chain of real Kamailio 5.6.3 proxies and compare it with
the engine's simulation, message by message and hop by hop.

``tests/differential/kamailio.py`` checks one proxy and one request at a time.  This module
checks what the app shows: a dialog stepped through every hop.  For a scenario of the
library (or any scenario of the same kind), :func:`play`

1. simulates the scenario with :func:`engine.simulate.simulate`;
2. starts one Kamailio per proxy with the config the app shows for it
   (:func:`engine.kamcfg.proxy_config`: the proxy's sockets, aliases, rr and outbound
   modparams, the ``request_route`` of its profile, its location service as a table of the
   scenario's contacts), each decision logged (:func:`instrument`);
3. plays the user agents itself: each request of the trace leaves the sending user agent
   exactly as the trace has it, to the address the trace sends it to, over that address's
   transport; the user agent that receives it answers as the trace does (the dialog's final
   answer is the trace's, on the Via headers that really arrived; other requests get a plain
   200) and the answer goes back through the real proxies;
4. compares each request as it reaches its user agent, and the dialog's answers (18x and
   final) as they reach the caller, with the trace (the start line and every header but Via
   in order, and the sent-by of each Via: branches are each implementation's own); a request
   the trace ends at a proxy must reach no user agent, and the caller must get the answer the
   trace gives;
5. compares every hop: each ``loose_route()`` return code, and ``$ru``, ``$du`` and ``$fs``
   at each ``t_relay()``, with the trace step at that proxy.

Where network namespaces can be made (:func:`run_isolated`), a scenario keeps its own
addresses, IPv6 included, and its name table becomes the namespace's ``/etc/hosts``.
Elsewhere :func:`relocate` moves its IPv4 addresses to loopback, and only scenarios that need
neither names nor IPv6 nor TCP can be played.  :func:`playable` says why a scenario cannot
be.  Every Kamailio started here is stopped here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import SipParseError
from engine.kamcfg import proxy_config
from engine.message import Header, SipRequest, SipResponse, parse_message, render
from engine.profiles import PROFILES, Kind
from engine.scenario import ProxyNode, Scenario, loads
from engine.simulate import simulate
from engine.trace import Flag, StepKind, Trace, TraceStep
from engine.uri import is_ip, parse_uri
from tests.differential.kamailio import KamailioProcess, RecorderError

# One loopback network per network of the scenario, away from the 127.0.0.1 and 127.0.0.2
# that tests/differential/kamailio.py's proxies listen on.
_FIRST_NETWORK = 10
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3})\.(\d{1,3})(?![\d.])")
# The log goes to stderr, which the harness reads; one process keeps each proxy's lines in order.
_CORE = {"debug": "1", "log_stderror": "yes", "children": "1"}


class ChainError(Exception):
    """The chain could not be set up or did not answer (not a disagreement)."""


#: How a ChainError starts when a proxy's Kamailio ends before it answers.
STARTUP_EXIT = "kamailio exited at start-up"


def relocate(text: str) -> str:
    """The scenario text with every IPv4 address moved to loopback.

    >>> relocate('"udp:192.0.2.1:5060", "sip:bob@198.51.100.20", "udp:192.0.2.10:5060"')
    '"udp:127.0.10.1:5060", "sip:bob@127.0.11.20", "udp:127.0.10.10:5060"'
    """
    networks: dict[str, str] = {}

    def move(m: re.Match[str]) -> str:
        network = networks.setdefault(m.group(1), f"127.0.{_FIRST_NETWORK + len(networks)}")
        return f"{network}.{m.group(2)}"

    return _IPV4.sub(move, text)


def playable(data: Mapping[str, Any], trace: Trace, *, isolated: bool = False) -> str | None:
    """Why a scenario (its JSON object, and its trace) cannot be played on real proxies, or
    None.

    On loopback (``isolated`` False) every element must be on UDP over IPv4, with no advertised
    address, and no proxy may relay to a host name (there is no DNS).  In a network namespace
    of its own (:func:`run_isolated`) the scenario keeps its addresses, IPv6 included, user
    agents and proxies may use TCP too, and its name table becomes the namespace's
    ``/etc/hosts``.
    """
    if not isolated:
        for step in trace.steps:
            if step.kind is StepKind.PROXY and step.next_address and step.next_hop:
                try:
                    host = parse_uri(step.next_hop).host
                except SipParseError:
                    return (
                        f"{step.element} relays to {step.next_hop}, which the harness cannot read"
                    )
                if not is_ip(host):
                    return f"{step.element} relays to the host name {host} (no DNS here)"
    for ua in data.get("user_agents", []):
        address = str(ua.get("address", ""))
        if isolated and not address.startswith(("udp:", "tcp:")):
            return f"user agent {ua.get('name')} is not on UDP or TCP"
        if not isolated and (not address.startswith("udp:") or "[" in address):
            return f"user agent {ua.get('name')} is not on UDP over IPv4"
    for proxy in data.get("proxies", []):
        profile = PROFILES.get(proxy.get("profile", "kamailio-default"))
        if profile is None:
            return f"proxy {proxy.get('name')} runs an unknown profile"
        if profile.kind is not Kind.KAMAILIO and (
            len(proxy.get("listen", [])) != 1 or not proxy["listen"][0].startswith("udp:")
        ):
            return f"{proxy.get('name')}, played by the harness, needs one UDP socket"
        for listen in proxy.get("listen", []):
            if isolated and not listen.startswith(("udp:", "tcp:")):
                return f"proxy {proxy.get('name')} listens on {listen} (UDP or TCP only)"
            if not isolated and (not listen.startswith("udp:") or "[" in listen or " " in listen):
                return f"proxy {proxy.get('name')} listens on {listen} (UDP over IPv4 only)"
    return None


def render_chain_cfg(node: ProxyNode) -> str:
    """kamailio.cfg for one proxy of a scenario: the config the app shows
    (:func:`engine.kamcfg.proxy_config`), logging to stderr from one process, with each
    decision logged (:func:`instrument`)."""
    return instrument(proxy_config(node, core=_CORE))


_LOOSE_ROUTE_IF = re.compile(r"^(\s*)if \((loose_route\(\)|loose_route_mode\(\d+\))\) \{(.*)$")
_HOP = "RLHOP"
_RELAY = "RLRELAY"
# What each logged decision is matched by: Call-ID, CSeq number, method, top Via's branch.
_KEY = "$ci|$cs|$rm|$sel(via[1].branch)"


def instrument(route: str) -> str:
    r"""The profile's ``request_route`` with each decision written to the log, so that every
    hop can be compared with the trace's step: the return code of each ``loose_route()``,
    and ``$ru``, ``$du`` and ``$fs`` as each ``t_relay()`` takes them.

    ``if (loose_route()) {`` becomes the call, its ``$rc`` kept in ``$var(rl_lr)`` and
    logged, then ``if ($var(rl_lr) > 0) {`` (the same test); the ``$rc`` checks after it read
    ``$var(rl_lr)``, because the logging is itself a call that sets ``$rc``.

    >>> print(instrument("    if (loose_route()) {\n        t_relay(); exit;\n    }\n"
    ...                  "    if ($rc == -2) { exit; }\n"), end="")
        loose_route(); $var(rl_lr) = $rc;
        xlog("L_NOTICE", "RLHOP|$ci|$cs|$rm|$sel(via[1].branch)|$var(rl_lr)\n");
        if ($var(rl_lr) > 0) {
            xlog("L_NOTICE", "RLRELAY|$ci|$cs|$rm|$sel(via[1].branch)|$ru|$du|$fs\n");
            t_relay(); exit;
        }
        if ($var(rl_lr) == -2) { exit; }
    """
    out = []
    for line in route.splitlines():
        m = _LOOSE_ROUTE_IF.match(line)
        if m is not None:
            indent, call, rest = m.groups()
            out.append(f"{indent}{call}; $var(rl_lr) = $rc;")
            out.append(f'{indent}xlog("L_NOTICE", "{_HOP}|{_KEY}|$var(rl_lr)\\n");')
            out.append(f"{indent}if ($var(rl_lr) > 0) {{{rest}")
            continue
        stripped = line.lstrip()
        if stripped.startswith("t_relay();"):
            indent = line[: len(line) - len(stripped)]
            out.append(f'{indent}xlog("L_NOTICE", "{_RELAY}|{_KEY}|$ru|$du|$fs\\n");')
        out.append(line.replace("$rc == -2", "$var(rl_lr) == -2"))
    return "\n".join(out) + "\n"


def _hop_events(log: str) -> list[tuple[str, tuple[str, str, str], list[str]]]:
    """The logged decisions of one proxy, in order: (kind, (Call-ID, CSeq number, method),
    values, the top Via's branch first)."""
    events = []
    for line in log.splitlines():
        for kind in (_HOP, _RELAY):
            at = line.find(kind + "|")
            if at >= 0:
                fields = line[at:].rstrip().split("|")
                events.append((kind, (fields[1], fields[2], fields[3]), fields[4:]))
                break
    return events


def _sockaddr(text: str) -> tuple[str, int]:
    """``udp:127.0.10.1:5060`` or ``udp:[2001:db8::1]:5060`` (the transport may be left
    out, an ``advertise`` part is ignored) as a socket address."""
    address = text.split()[0]
    if address.split(":", 1)[0].isalpha():
        address = address.split(":", 1)[1]  # udp:, tcp: ...
    host, port = address.rsplit(":", 1)
    return host.strip("[]"), int(port)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def shape(text: str) -> dict[str, Any]:
    """What the comparison looks at in a message: its start line, each Via's protocol and
    sent-by, and every other header in order, names in their canonical form."""
    msg = parse_message(text)
    vias: list[str] = []
    headers: list[tuple[str, str]] = []
    for header in msg.headers:
        if header.key == "via":
            vias += [v.split(";", 1)[0].strip() for v in header.value.split(",")]
        else:
            headers.append((header.key, header.value))
    return {"start": msg.start_line, "via": vias, "headers": headers}


@dataclass
class Difference:
    """One message where the real chain and the simulation differ."""

    what: str
    simulated: dict[str, Any]
    real: dict[str, Any] | None

    def __str__(self) -> str:
        lines = [f"{self.what}:"]
        if self.real is None:
            lines.append("  real chain: nothing arrived")
            lines.append(f"  simulated:  {self.simulated['start']}")
            return "\n".join(lines)
        for key in ("start", "via"):
            if self.simulated[key] != self.real[key]:
                lines.append(f"  {key}: simulated {self.simulated[key]!r}, real {self.real[key]!r}")
        sim, real = self.simulated["headers"], self.real["headers"]
        if sim != real:
            lines.append("  headers (simulated | real):")
            for i in range(max(len(sim), len(real))):
                a = sim[i] if i < len(sim) else ""
                b = real[i] if i < len(real) else ""
                mark = "  " if a == b else "!="
                lines.append(f"   {mark} {a} | {b}")
        return "\n".join(lines)


@dataclass
class ChainRun:
    """What :func:`play` found: the messages compared and the differences."""

    compared: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)


# Where a message came from, to answer it there: a UDP address, or the TCP connection.
Peer = tuple[str, int] | socket.socket


class _Agent:
    """One user agent of the harness: a UDP socket and a TCP listener on its address, and
    every TCP connection made to or from it, each with what has arrived on it so far.  It
    sends over the transport of the address it sends to, as a UA sends to a
    ``;transport=tcp`` target over TCP whatever its own transport."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        family = _family(address[0])
        self.udp = socket.socket(family, socket.SOCK_DGRAM)
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.connections: dict[socket.socket, bytes] = {}
        try:
            self.udp.bind(address)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind(address)
            self.listener.listen(8)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.connections.clear()
        self.udp.close()
        self.listener.close()

    def send(self, data: bytes, to: Peer | str) -> None:
        """Send to a peer (the one a message came from) or to ``proto:host:port``."""
        if isinstance(to, socket.socket):
            to.sendall(data)
        elif isinstance(to, tuple):
            self.udp.sendto(data, to)
        elif to.startswith("tcp:"):
            conn = socket.create_connection(
                _sockaddr(to), timeout=3.0, source_address=(self.address[0], 0)
            )
            self.connections[conn] = b""
            conn.sendall(data)
        else:
            self.udp.sendto(data, _sockaddr(to))

    def next_message(self, deadline: float) -> tuple[str, Peer] | None:
        """The next datagram, or whole message on a connection (framed by Content-Length)."""
        while True:
            for conn, buffered in self.connections.items():
                end = buffered.find(b"\r\n\r\n")
                if end >= 0:
                    head = buffered[:end].decode("utf-8", errors="replace")
                    m = re.search(r"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
                    total = end + 4 + (int(m.group(1)) if m else 0)
                    if len(buffered) >= total:
                        self.connections[conn] = buffered[total:]
                        return buffered[:total].decode("utf-8", errors="replace"), conn
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.udp, self.listener, *self.connections], [], [], left)
            if not ready:
                return None
            for sock in ready:
                if sock is self.udp:
                    data, peer = sock.recvfrom(65535)
                    return data.decode("utf-8", errors="replace"), peer[:2]
                if sock is self.listener:
                    conn, _ = self.listener.accept()
                    self.connections[conn] = b""
                    continue
                data = sock.recv(65535)
                if not data:
                    sock.close()
                    del self.connections[sock]
                else:
                    self.connections[sock] += data


class _StandIn:
    """An element that is not Kamailio (an RFC 2543 strict router), played by the harness
    from the trace: each request that reaches it is compared with the trace's step there and
    sent on as the trace has it, over the Via headers that really arrived; each response is
    sent back to where its request came from, without the top Via."""

    def __init__(self, name: str, agent: _Agent) -> None:
        self.name = name
        self.agent = agent
        self.steps: list[TraceStep] = []
        self.label = ""
        self.upstream: dict[str, Peer] = {}  # our Via branch -> where the request came from
        self.seen: set[tuple[str, str]] = set()  # (top Via branch, method) of each request

    def handle(self, text: str, peer: Peer, run: ChainRun) -> None:
        try:
            msg = parse_message(text)
        except Exception:  # not ours to judge here
            return
        if isinstance(msg, SipResponse):
            vias = [h for h in msg.headers if h.key == "via"]
            branch = _branch(vias[0].value) if vias else ""
            if branch in self.upstream:
                rest = tuple(h for h in msg.headers if h is not vias[0])
                self.agent.send(render(replace(msg, headers=rest)).encode(), self.upstream[branch])
            return
        top = next((h.value for h in msg.headers if h.key == "via"), "")
        if (_branch(top), msg.method) in self.seen or not self.steps:
            # A retransmission (tm sends an INVITE nobody answers again after 0.5 s, 1 s,
            # 2 s ...), or more than the trace sends through here.
            return
        self.seen.add((_branch(top), msg.method))
        step = self.steps.pop(0)
        what = f"{self.label}: the {step.method} as {self.name} receives it"
        run.compared.append(what)
        if shape(text) != shape(step.message_in):
            run.differences.append(Difference(what, shape(step.message_in), shape(text)))
        if not step.message_out:
            return
        out = parse_message(step.message_out)
        real_vias = tuple(h for h in msg.headers if h.key == "via")
        if isinstance(out, SipResponse):  # the stand-in answers (483, 404 ...)
            others = tuple(h for h in out.headers if h.key != "via")
            self.agent.send(render(replace(out, headers=real_vias + others)).encode(), peer)
            return
        own = next(h for h in out.headers if h.key == "via")
        headers: list[Header] = []
        for h in out.headers:
            if h.key != "via":
                headers.append(h)
            elif h is own:
                headers += [own, *real_vias]
        self.upstream[_branch(own.value)] = peer
        assert step.next_address is not None
        self.agent.send(render(replace(out, headers=tuple(headers))).encode(), step.next_address)


def _branch(via: str) -> str:
    m = re.search(r";\s*branch\s*=\s*([^;,\s]+)", via, re.IGNORECASE)
    return m.group(1) if m else ""


class _UserAgents:
    """The scenario's user agents, by name, and the stand-ins for its elements that are not
    Kamailio (which answer whenever the harness waits for anything)."""

    def __init__(self, data: Mapping[str, Any], run: ChainRun) -> None:
        self.agents: dict[str, _Agent] = {}
        self.stand_ins: dict[str, _StandIn] = {}
        self.run = run
        elements = [(ua["name"], ua["address"], False) for ua in data["user_agents"]]
        elements += [
            (p["name"], p["listen"][0], True)
            for p in data.get("proxies", [])
            if PROFILES[p.get("profile", "kamailio-default")].kind is not Kind.KAMAILIO
        ]
        for name, address, stand_in in elements:
            try:
                agent = _Agent(_sockaddr(address))
            except OSError as exc:
                self.close()
                raise ChainError(f"cannot bind {address} for {name}: {exc}") from None
            if stand_in:
                self.stand_ins[name] = _StandIn(name, agent)
            else:
                self.agents[name] = agent

    @property
    def names(self) -> list[str]:
        return list(self.agents)

    def expect(self, trace: Trace, request: int, label: str) -> None:
        """Give each stand-in the trace's steps at it for this request."""
        for name, stand_in in self.stand_ins.items():
            stand_in.steps = [
                s
                for s in trace.steps
                if s.request == request and s.kind is StepKind.PROXY and s.element == name
            ]
            stand_in.label = label

    def close(self) -> None:
        for agent in [*self.agents.values(), *(s.agent for s in self.stand_ins.values())]:
            agent.close()
        self.agents.clear()
        self.stand_ins.clear()

    def send(self, ua: str, text: str, to: Peer | str) -> None:
        self.agents[ua].send(text.encode("utf-8"), to)

    def receive(
        self, ua: str, want: str, timeout: float = 3.0
    ) -> tuple[SipRequest | SipResponse, str, Peer] | None:
        """The first message at ``ua`` that ``want`` accepts (see :func:`_wanted`); the
        stand-ins handle what reaches them meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for stand_in in self.stand_ins.values():
                while (got := stand_in.agent.next_message(time.monotonic() + 0.001)) is not None:
                    stand_in.handle(*got, self.run)
            slice_end = min(deadline, time.monotonic() + (0.02 if self.stand_ins else 3600))
            got = self.agents[ua].next_message(slice_end)
            if got is None:
                continue
            text, peer = got
            try:
                msg = parse_message(text)
            except Exception:  # not ours to judge here: keep waiting
                continue
            if _wanted(msg, want):
                return msg, text, peer
        return None


def _wanted(msg: SipRequest | SipResponse, want: str) -> bool:
    """``want`` is ``"INVITE"`` (a request of that method, by CSeq) or ``"200 INVITE"`` (a
    final response of that status to that method)."""
    cseq = (msg.header("CSeq") or "").split()
    method = cseq[-1] if cseq else ""
    if " " in want:
        status, wanted_method = want.split()
        return (
            isinstance(msg, SipResponse) and str(msg.status) == status and method == wanted_method
        )
    return isinstance(msg, SipRequest) and msg.method == want


def _reply_200(request: SipRequest) -> str:
    """A plain 200 OK to a request (copies Via, From, To, Call-ID and CSeq)."""
    keep = [h for h in request.headers if h.key in ("via", "from", "to", "call-id", "cseq")]
    response = SipResponse(headers=(*keep,), status=200, reason="OK")
    return render(response).replace("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n", 1)


def _with_vias(response_text: str, request: SipRequest) -> str:
    """The trace's response with the Via headers that really arrived in ``request``."""
    response = parse_message(response_text)
    assert isinstance(response, SipResponse)
    vias = tuple(h for h in request.headers if h.key == "via")
    others = tuple(h for h in response.headers if h.key != "via")
    return render(
        SipResponse(
            headers=vias + others,
            body=response.body,
            status=response.status,
            reason=response.reason,
        )
    )


@contextlib.contextmanager
def _proxies(
    binary: str, data: Mapping[str, Any], scenario: Scenario, workdir: Path
) -> Iterator[list[_ChainProxy]]:
    started: list[_ChainProxy] = []
    try:
        for number, (proxy, node) in enumerate(
            zip(data.get("proxies", []), scenario.proxies, strict=True)
        ):
            if PROFILES[node.profile].kind is not Kind.KAMAILIO:
                continue  # played by the harness (_StandIn)
            process = _ChainProxy(binary, proxy, node, workdir / f"p{number}")
            process.start()
            started.append(process)
        yield started
    finally:
        for process in started:
            process.stop()


class _ChainProxy(KamailioProcess):
    """A :class:`KamailioProcess` with a chain proxy's config, ready when it answers."""

    def __init__(
        self, binary: str, proxy: Mapping[str, Any], node: ProxyNode, workdir: Path
    ) -> None:
        family = _family(_sockaddr(proxy["listen"][0])[0])
        self._probe = socket.socket(family, socket.SOCK_DGRAM)
        self._probe.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        super().__init__(binary, proxy, [], workdir, self._probe, self._probe, None)
        self._cfg = render_chain_cfg(node)

    def start(self) -> None:
        self._launch(self._cfg)

    def _wait_ready(self) -> None:
        """Ready once an OPTIONS to its first socket gets any response."""
        assert self.process is not None
        host, port = _sockaddr(self.proxy["listen"][0])
        uri_host = f"[{host}]" if ":" in host else host
        deadline = time.monotonic() + self.startup_timeout
        seq = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ChainError(f"{STARTUP_EXIT}:\n{self.log_tail()}")
            seq += 1
            me_host, me_port = self._probe.getsockname()[:2]
            me = f"[{me_host}]" if ":" in me_host else me_host
            probe = (
                f"OPTIONS sip:{uri_host}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {me}:{me_port};branch=z9hG4bK-chainprobe-{seq}\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:probe@{me}>;tag=probe\r\n"
                f"To: <sip:{uri_host}:{port}>\r\nCall-ID: chain-probe-{seq}\r\n"
                f"CSeq: {seq} OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
            self._probe.sendto(probe.encode(), (host, port))
            ready, _, _ = select.select([self._probe], [], [], 0.1)
            if ready:
                self._probe.recv(65535)
                return
        raise ChainError(f"kamailio did not answer within the start-up timeout:\n{self.log_tail()}")

    def stop(self) -> None:
        super().stop()
        self._probe.close()


def _steps(trace: Trace, request: int, kind: StepKind) -> list[TraceStep]:
    return [s for s in trace.steps if s.request == request and s.kind is kind]


def play(scenario_text: str, binary: str, *, isolated: bool = False) -> ChainRun:
    """Play a scenario on real Kamailio proxies and compare it with its simulation.

    ``isolated``: the caller runs in a network namespace of its own where the scenario's
    addresses and names are set up (:func:`run_isolated`); else the scenario moves to loopback.
    """
    text = scenario_text if isolated else relocate(scenario_text)
    data = json.loads(text)
    scenario = loads(text)
    trace = simulate(scenario)
    why = playable(data, trace, isolated=isolated)
    if why is not None:
        raise ChainError(f"cannot be played on real proxies: {why}")
    run = ChainRun()
    with tempfile.TemporaryDirectory(prefix="routelab-chain-") as tmp:
        uas = _UserAgents(data, run)
        try:
            with _proxies(binary, data, scenario, Path(tmp)) as proxies:
                for request, label in enumerate(trace.requests):
                    _play_request(trace, request, label, uas, run)
                time.sleep(0.05)  # the last log lines
                for process in proxies:
                    assert process.log_path is not None
                    log = process.log_path.read_text(encoding="utf-8", errors="replace")
                    _compare_hops(trace, process.proxy["name"], log, run)
        except RecorderError as exc:
            raise ChainError(str(exc)) from None
        finally:
            uas.close()
    return run


def _endless(step: TraceStep) -> bool:
    """A step where the trace stops a request that would go round and round (a loop, not a
    spiral: RFC 3261 16.3) until Max-Forwards runs out."""
    return Flag.LOOP in step.flags and "Max-Forwards runs out" in step.note


def _compare_hops(trace: Trace, proxy: str, log: str, run: ChainRun) -> None:
    """Each decision the proxy logged against the trace's steps at it: the return code of
    every loose_route(), and $ru, $du and $fs at every t_relay() (each logged with the top
    Via's branch).  Visits are matched by
    Call-ID, CSeq and method, in order; a request the trace stops as a loop is left out (Kamailio
    goes round until Max-Forwards runs out)."""
    real: dict[tuple[str, str, str], list[tuple[str, list[str]]]] = {}
    invite_branches: set[tuple[str, str, str]] = set()
    logged: set[tuple[str, tuple[str, str, str], str]] = set()
    for kind, key, values in _hop_events(log):
        call_id, cseq, method = key
        branch, values = values[0], values[1:]
        if (kind, key, branch) in logged:
            # A retransmission: tm sends a request nobody answers again (after 0.5 s, 1 s
            # ...), and the script logs it again.  A spiral comes back under another branch.
            continue
        logged.add((kind, key, branch))
        if method == "INVITE":
            invite_branches.add((call_id, cseq, branch))
        elif method == "ACK" and (call_id, cseq, branch) in invite_branches:
            # The ACK tm sends a hop on for a failed INVITE (RFC 3261 17.1.1.3: the
            # INVITE's own branch); the trace sums that answer up and shows no such ACK.
            continue
        real.setdefault(key, []).append((kind, values))
    looped = {s.request for s in trace.steps if _endless(s)}
    expected: dict[tuple[str, str, str], list[tuple[str, list[str]]]] = {}
    labels: dict[tuple[str, str, str], str] = {}
    for step in trace.steps:
        if step.kind is not StepKind.PROXY or step.element != proxy or step.request in looped:
            continue
        message = parse_message(step.message_in)
        cseq = (message.header("CSeq") or "").split()
        key = (message.header("Call-ID") or "", cseq[0] if cseq else "", step.method)
        labels[key] = trace.requests[step.request]
        events = expected.setdefault(key, [])
        if step.rc is not None:
            events.append((_HOP, [str(step.rc)]))
        if any(call.call == "t_relay()" for call in step.rr_calls):
            values = [step.ruri_after, step.du_after or "<null>", step.forced_socket or "<null>"]
            events.append((_RELAY, values))
    for key, events in expected.items():
        what = f"{labels[key]}: the decisions at {proxy}"
        run.compared.append(what)
        got = real.get(key, [])[: len(events)]
        if got != events:
            run.differences.append(
                Difference(
                    what,
                    {"start": "", "via": [], "headers": [(k, "|".join(v)) for k, v in events]},
                    {"start": "", "via": [], "headers": [(k, "|".join(v)) for k, v in got]},
                )
            )


def _play_dead_end(
    trace: Trace, request: int, label: str, uac: TraceStep, uas: _UserAgents, run: ChainRun
) -> None:
    """A request the trace ends at a proxy: answered there, discarded, or caught in a loop.
    It must reach no user agent, and the caller must get the answer the trace says."""
    stops = [s for s in _steps(trace, request, StepKind.PROXY) if s.status is not None]
    looped = any(_endless(s) for s in trace.steps if s.request == request)
    if stops:
        status, by = stops[0].status, f"{stops[0].element}'s"
    elif looped and uac.method != "ACK":
        # "it would go round until Max-Forwards runs out and someone answers 483"
        status, by = 483, "the loop's"
    else:
        status, by = None, ""
    if status is not None:
        what = f"{label}: {by} {status} as {uac.element} receives it"
        run.compared.append(what)
        if uas.receive(uac.element, f"{status} {uac.method}") is None:
            start = f"SIP/2.0 {status}"
            run.differences.append(
                Difference(what, {"start": start, "via": [], "headers": []}, None)
            )
    for other in uas.names:
        if other == uac.element:
            continue
        what = f"{label}: never reaches {other}"
        run.compared.append(what)
        got = uas.receive(other, uac.method, timeout=0.3)
        if got is not None:
            nothing = {"start": "(nothing)", "via": [], "headers": []}
            run.differences.append(Difference(what, nothing, shape(got[1])))


def _answers(trace: Trace, request: int, element: str, *, final: bool) -> list[TraceStep]:
    """The trace's answers that ``element`` sends to a request: its final ones, or its
    provisional ones above 100 (which the trace sums up in one step each)."""
    return [
        s
        for s in trace.steps
        if s.request == request
        and s.kind is StepKind.RESPONSE
        and s.element == element
        and s.status is not None
        and (s.status >= 200 if final else 100 < s.status < 200 and bool(s.message_out))
    ]


def _play_request(trace: Trace, request: int, label: str, uas: _UserAgents, run: ChainRun) -> None:
    (uac,) = _steps(trace, request, StepKind.UAC)
    if uac.next_address is None:
        return  # the user agent does not send it (no dialog): nothing to play
    uas.expect(trace, request, label)
    uas.send(uac.element, uac.message_out, uac.next_address)
    arrivals = _steps(trace, request, StepKind.UAS)
    if not arrivals:
        _play_dead_end(trace, request, label, uac, uas, run)
        return
    (uas_step,) = arrivals
    got = uas.receive(uas_step.element, uac.method)
    what = f"{label}: the {uac.method} as {uas_step.element} receives it"
    simulated = shape(uas_step.message_in)
    run.compared.append(what)
    if got is None:
        run.differences.append(Difference(what, simulated, None))
        return
    received, text, peer = got
    real = shape(text)
    if real != simulated:
        run.differences.append(Difference(what, simulated, real))
    assert isinstance(received, SipRequest)
    if uac.method == "ACK":
        return
    final = _answers(trace, request, uas_step.element, final=True)
    if (request == 0 or uac.method == "INVITE") and final and final[0].message_out:
        # The dialog's own answer (and a re-INVITE's) as the trace has it, To tag and
        # Contact included.
        for step in _answers(trace, request, uas_step.element, final=False):
            # 18x, as the trace sums them up: they must reach the caller as the callee sent
            # them, without the proxies' Vias (Record-Route, To tag and Contact included).
            early = _with_vias(step.message_out, received)
            uas.send(uas_step.element, early, peer)
            what = f"{label}: the {step.status} as {uac.element} receives it"
            run.compared.append(what)
            simulated = shape(early)
            simulated["via"] = simulated["via"][-len(shape(uac.message_out)["via"]) :]
            got_early = uas.receive(uac.element, f"{step.status} {uac.method}", timeout=3.0)
            if got_early is None:
                run.differences.append(Difference(what, simulated, None))
            elif shape(got_early[1]) != simulated:
                run.differences.append(Difference(what, simulated, shape(got_early[1])))
        answer = _with_vias(final[0].message_out, received)
        uas.send(uas_step.element, answer, peer)
        at_caller = [
            s
            for s in trace.steps
            if s.request == request
            and s.kind is StepKind.RESPONSE
            and s.element == uac.element
            and s.message_in  # not the answer of a caller that is its own callee
        ]
        back = uas.receive(uac.element, f"{final[0].status} {uac.method}")
        what = f"{label}: the {final[0].status} as {uac.element} receives it"
        run.compared.append(what)
        if at_caller:
            simulated = shape(at_caller[0].message_in)
        else:
            # The trace sums the answer up in one step: the caller must get it as the callee
            # sent it, with the proxies' Vias gone again.
            simulated = shape(answer)
            simulated["via"] = simulated["via"][-len(shape(uac.message_out)["via"]) :]
        if back is None:
            run.differences.append(Difference(what, simulated, None))
        elif shape(back[1]) != simulated:
            run.differences.append(Difference(what, simulated, shape(back[1])))
        return
    uas.send(uas_step.element, _reply_200(received), peer)
    uas.receive(uac.element, f"200 {uac.method}", timeout=1.0)


# --------------------------------------------------------------------------- isolated runs


def _addresses(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every element's IP addresses (user agents' and proxies' sockets), by element name."""
    out: dict[str, list[str]] = {}
    for ua in data.get("user_agents", []):
        out.setdefault(ua["name"], []).append(_sockaddr(ua["address"])[0])
    for proxy in data.get("proxies", []):
        for listen in proxy.get("listen", []):
            host = _sockaddr(listen)[0]
            if host not in out.setdefault(proxy["name"], []):
                out[proxy["name"]].append(host)
    return out


def hosts_file(data: Mapping[str, Any]) -> str:
    """The ``/etc/hosts`` of an isolated run: the scenario's name table, each name with every
    address of the element it names.

    >>> print(hosts_file({"user_agents": [{"name": "U1", "address": "udp:192.0.2.101:5060"}],
    ...                   "names": {"u1.example.com": "U1"}}), end="")
    127.0.0.1 localhost
    ::1 localhost
    192.0.2.101 u1.example.com
    """
    addresses = _addresses(data)
    lines = ["127.0.0.1 localhost", "::1 localhost"]
    for name, element in data.get("names", {}).items():
        lines += [f"{address} {name}" for address in addresses.get(element, [])]
    return "\n".join(lines) + "\n"


def _setup_namespace(data: Mapping[str, Any], workdir: Path) -> None:
    """In a fresh network and mount namespace: loopback up with every address of the
    scenario on it, and the scenario's names as /etc/hosts (no DNS server at all)."""

    def run(*command: str) -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ChainError(f"{' '.join(command)}: {done.stderr.strip()}")

    run("ip", "link", "set", "lo", "up")
    for host in sorted({h for hosts in _addresses(data).values() for h in hosts}):
        if host in ("127.0.0.1", "::1"):
            continue
        if ":" in host:
            run("ip", "-6", "addr", "add", f"{host}/128", "dev", "lo", "nodad")
        else:
            run("ip", "addr", "add", f"{host}/32", "dev", "lo")
    hosts = workdir / "hosts"
    hosts.write_text(hosts_file(data), encoding="utf-8")
    resolv = workdir / "resolv.conf"
    resolv.write_text("# RouteLab chain run: no DNS server, names come from /etc/hosts\n")
    run("mount", "--bind", str(hosts), "/etc/hosts")
    run("mount", "--bind", str(resolv), "/etc/resolv.conf")


def run_isolated(
    paths: list[Path], binary: str, timeout: float = 300.0, pcap_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Play each scenario file in a network namespace of its own, keeping its addresses and
    names: one result per path, ``{"path", "compared", "differences"}``, ``{"path",
    "unplayable"}`` (why not) or ``{"path", "error"}``; with ``"retried"`` (the first
    error) when a Kamailio ended at start-up and the scenario was played again.  With
    ``pcap_dir``, every packet of each run is written to ``<pcap_dir>/<file stem>.pcap``.
    ChainError when namespaces cannot be made here (``unshare`` needs root)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise ChainError("unshare (util-linux) is not installed")
    if shutil.which("ip") is None or shutil.which("mount") is None:
        raise ChainError("ip (iproute2) and mount are needed to set a namespace up")
    probe = subprocess.run([unshare, "--net", "--mount", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        raise ChainError(f"cannot make a network namespace: {probe.stderr.decode().strip()}")
    root = Path(__file__).resolve().parents[2]

    def play_alone(path: Path) -> dict[str, Any]:
        pcap = [] if pcap_dir is None else ["--pcap", str(pcap_dir / f"{path.stem}.pcap")]
        done = subprocess.run(
            [unshare, "--net", "--mount", sys.executable, "-m", "tests.differential.chain",
             "--isolated", "--binary", binary, *pcap, str(path)],
            capture_output=True, text=True, check=False, cwd=root, timeout=timeout,
        )  # fmt: skip
        try:
            result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            result = {"path": str(path), "error": f"no result: {done.stderr.strip()[-2000:]}"}
        return result

    results = []
    for path in paths:
        result = play_alone(path)
        if str(result.get("error", "")).startswith(STARTUP_EXIT):
            # Once in some 20,000 start-ups a Kamailio child exits (status 0) before the
            # proxy answers, and the same scenario plays when tried again (seen in sweeps):
            # play it once more in a fresh namespace, and keep what happened the first time.
            first = result["error"]
            result = {**play_alone(path), "retried": first}
        results.append(result)
    return results


class LoopbackCapture:
    """Every packet on the namespace's loopback, kept in memory and written as a pcap file:
    what a capture of real proxies shows the capture analysis (``engine.observe``).

    An ``AF_PACKET`` socket (root, which the namespace has) sees each packet twice on ``lo``,
    going out and coming in; only the incoming copy is kept.
    """

    OUTGOING = 4  # PACKET_OUTGOING

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        # A buffer big enough for a whole scenario's packets, read once at the end (root may
        # go beyond the system's limit).
        self.sock.setsockopt(socket.SOL_SOCKET, 33, 64 * 1024 * 1024)  # SO_RCVBUFFORCE
        self.sock.setsockopt(socket.SOL_SOCKET, 29, 1)  # SO_TIMESTAMP: the kernel's time
        self.sock.bind(("lo", 0))
        self.frames: list[tuple[float, bytes]] = []

    def poll(self) -> None:
        """Take every packet waiting now, with the time the kernel received it."""
        while select.select([self.sock], [], [], 0)[0]:
            data, ancillary, _flags, address = self.sock.recvmsg(65535, 64)
            if address[2] == self.OUTGOING:
                continue
            when = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == 29 and len(value) >= 16:
                    seconds, micros = struct.unpack("@qq", value[:16])
                    when = seconds + micros / 1e6
            self.frames.append((when, data))

    def write(self, path: Path) -> None:
        import dpkt  # the project's pcap library (a dependency of the app)

        self.poll()
        self.sock.close()
        with path.open("wb") as f:
            writer = dpkt.pcap.Writer(f, linktype=1)  # lo frames carry an Ethernet header
            for when, data in self.frames:
                writer.writepkt(data, ts=when)


def _main(argv: list[str] | None = None) -> int:
    """``unshare --net --mount python3 -m tests.differential.chain --isolated FILE``: play
    one scenario in this (fresh) namespace and print the result as one JSON line; with
    ``--pcap OUT`` also write every packet of the run to ``OUT``."""
    parser = argparse.ArgumentParser(description=_main.__doc__)
    parser.add_argument("--isolated", action="store_true", required=True)
    parser.add_argument("--binary", default="/usr/sbin/kamailio")
    parser.add_argument("--pcap", type=Path, default=None)
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"path": str(args.path)}
    # The run adds the scenario's addresses to the loopback and mounts over /etc/hosts:
    # never in the namespaces of the machine itself, where only a loopback is not alone.
    others = sorted(name for _, name in socket.if_nameindex() if name != "lo")
    if others:
        result["error"] = (
            f"not in a network namespace of its own (it has {', '.join(others)}): "
            "run it as unshare --net --mount python3 -m tests.differential.chain ..."
        )
        print(json.dumps(result))
        return 2
    text = args.path.read_text(encoding="utf-8")
    data = json.loads(text)
    why = playable(data, simulate(loads(text)), isolated=True)
    if why is not None:
        print(json.dumps({**result, "unplayable": why}))
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="routelab-netns-") as tmp:
            _setup_namespace(data, Path(tmp))
            capture = LoopbackCapture() if args.pcap is not None else None
            run = play(text, args.binary, isolated=True)
            if capture is not None:
                capture.write(args.pcap)
        result["compared"] = run.compared
        result["differences"] = [str(d) for d in run.differences]
    except ChainError as exc:
        result["error"] = str(exc)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
