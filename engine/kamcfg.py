"""A scenario's proxy as the ``kamailio.cfg`` that runs it: :func:`proxy_config`.

Rule 1: the config is the proxy as RouteLab models it, and nothing else: its sockets and aliases
(with ``auto_aliases=no``, so that "myself" is exactly those), the rr and outbound module
parameters that differ from Kamailio's defaults, and the ``request_route`` of its profile
(:func:`engine.profiles.config_text`) with the scenario's location table written out as
statements.  The chain differential tests run these very configs on real Kamailio 5.6.3 proxies
(``tests/differential/chain.py`` only turns the log on and adds log lines), so the config the
app shows is one that was checked to do what the trace shows.
Rule 2: text only; writing it to a file is the caller's business.

>>> from engine.proxy import parse_socket
>>> node = ProxyNode(name="P1", listen=(parse_socket("udp:192.0.2.1:5060"),))
>>> cfg = proxy_config(node)
>>> cfg.splitlines()[0], "listen=udp:192.0.2.1:5060" in cfg, "request_route {" in cfg
('#!KAMAILIO', True, True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from engine.errors import SipParseError
from engine.headers import tag_param
from engine.message import parse_message
from engine.profiles import PROFILES, Kind, cfg_string, config_text
from engine.scenario import ProxyNode, Scenario
from engine.trace import RrCall, StepKind, TraceStep
from engine.uri import parse_uri

#: The modules the configs load, in order (the outbound module goes right before rr).
MODULES = ("tm", "sl", "rr", "maxfwd", "textops", "siputils", "pv", "xlog")

#: Core parameters before the sockets; ``proxy_config(core=...)`` replaces values by name.
CORE_DEFAULTS: Mapping[str, str] = {
    "debug": "2",
    "log_stderror": "no",
    "children": "2",
}

# What the simulation assumes of the core, so the same for every config: only the listed
# sockets and aliases are "myself", UDP unless a socket is TCP, no DNS (hosts are taken as
# written, and Via gets no received= from a reverse look-up).
_FIXED_CORE = (
    ("auto_aliases", "no", "only the sockets and aliases below are this proxy (myself)"),
    ("disable_sctp", "yes", ""),
    ("enable_tls", "no", ""),
    ("dns", "no", ""),
    ("rev_dns", "no", ""),
    ("use_dns_cache", "no", ""),
    ("dns_try_naptr", "no", ""),
)

_LOOKUP = '        if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }'


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """A proxy's config: its file name and text, and whether Kamailio runs it.

    ``kamailio`` is False for elements RouteLab plays itself (an RFC 2543 strict router):
    their text describes what they do in the same form, but is no Kamailio config.
    """

    name: str
    text: str
    kamailio: bool


def proxy_config(
    node: ProxyNode,
    *,
    title: str = "",
    core: Mapping[str, str] | None = None,
    file_name: str | None = None,
) -> str:
    """The ``kamailio.cfg`` of ``node``; ``title`` names the scenario in the header comment,
    ``core`` replaces the values of :data:`CORE_DEFAULTS` (the tests log to stderr),
    ``file_name`` is the name the start command names (default :func:`config_name`).

    For a profile that is not Kamailio, the profile's description in the same form, marked
    as such in its first lines.
    """
    profile = PROFILES[node.profile]
    route = config_text(
        profile,
        loose_route_mode=node.loose_route_mode,
        record_route_params=node.record_route_params,
        record_route_preset=node.record_route_preset,
        forward_to=node.forward_to,
    )
    head = [
        f"# {node.name}: written by RouteLab" + (f' from the scenario "{title}"' if title else ""),
        f"# profile {profile.name}: {profile.title}.",
    ]
    if profile.kind is not Kind.KAMAILIO:
        head.append("# RouteLab plays this element itself: there is no Kamailio config to run.")
        return "\n".join(head) + "\n\n" + route
    route = route.replace(_LOOKUP, _location_table(node))
    values = {**CORE_DEFAULTS, **(core or {})}
    lines = ["#!KAMAILIO", "#", *head]
    lines += [
        "# Kamailio 5.6 (Debian bookworm: apt-get install kamailio"
        + (" kamailio-outbound-modules)." if node.outbound is not None else ")."),
        f"# Start: kamailio -DD -E -f {file_name or config_name(node)} "
        "(the listen addresses must exist here).",
        "",
        "####### Global parameters #########",
    ]
    lines += [f"{name}={value}" for name, value in values.items()]
    tcp = any(s.proto == "tcp" for s in node.listen)
    lines.append(f"disable_tcp={'no' if tcp else 'yes'}")
    for name, value, why in _FIXED_CORE:
        lines.append(f"{name}={value}" + (f"    # {why}" if why else ""))
    lines.append("")
    lines += [f"listen={sock.describe()}" for sock in node.listen]
    lines += [f"alias={alias}" for alias in node.aliases]
    lines += ["", "####### Modules ########"]
    for module in MODULES:
        if module == "rr" and node.outbound is not None:
            # Before rr, as RFC 5626 edge proxies load it (rr binds to it when present).
            lines.append('loadmodule "outbound.so"')
        lines.append(f'loadmodule "{module}.so"')
    if node.outbound is not None:
        for key in ("flow_token_secret", "force_outbound_flag", "force_no_outbound_flag"):
            value = getattr(node.outbound, key)
            if value is not None:
                lines.append(_modparam("outbound", key, value))
    lines += [_modparam("rr", name, value) for name, value in node.rr.changed().items()]
    lines += ["", "####### Routing logic ########"]
    return "\n".join(lines) + "\n" + route


def scenario_configs(scenario: Scenario) -> tuple[ConfigFile, ...]:
    """The config of every proxy of ``scenario``, in the scenario's order, each with a file
    name of its own (names that give the same file name are numbered: ``P-1-2.cfg``); an
    element that is not Kamailio gets its description as ``NAME.txt``."""
    configs: list[ConfigFile] = []
    taken: set[str] = set()
    for node in scenario.proxies:
        kamailio = PROFILES[node.profile].kind is Kind.KAMAILIO
        stem = config_name(node).removesuffix(".cfg")
        name, number = stem, 1
        while name.lower() in taken:
            number += 1
            name = f"{stem}-{number}"
        taken.add(name.lower())
        name += ".cfg" if kamailio else ".txt"
        configs.append(
            ConfigFile(name, proxy_config(node, title=scenario.title, file_name=name), kamailio)
        )
    return tuple(configs)


class Mark(NamedTuple):
    """A line of a config that ran at a step: its number (from 0) and what it did there."""

    line: int
    says: str


def script_marks(config: str, step: TraceStep) -> tuple[Mark, ...]:
    """The lines of ``config`` that made the decisions of ``step`` at its proxy, in the
    order they ran: each call of the step (rr functions, ``remove_hf``, the location table,
    ``$du``), the reply the proxy sent or the ``t_relay()`` that sent the request on; each
    with what it did (a call's return code and meaning).

    The lines are followed as Kamailio runs them: a request with a To tag enters the
    in-dialog block (``if (has_totag()) {``), any other passes over it, and the block of an
    ``if (loose_route()) {`` whose call returned 0 or less is passed over too.
    """
    if step.kind is not StepKind.PROXY or not config.startswith("#!KAMAILIO"):
        return ()
    codes = [line.partition("#")[0].rstrip() for line in config.splitlines()]
    dialog = _line_of(codes, "    if (has_totag()) {", 0)
    if dialog < 0:
        return ()
    try:
        in_dialog = bool(tag_param(parse_message(step.message_in).header("To")))
    except SipParseError:
        in_dialog = False
    skip = {} if in_dialog else {dialog: _block_end(codes, dialog)}
    wanted: list[tuple[str, int, str]] = []
    for call in step.rr_calls:
        name = call.call.partition("(")[0].strip()
        marker = _MARKERS.get(name.split(" ")[0], f"{name}(")
        wanted.append((marker, call.rc, _says(call)))
    # The reply or the relay that ended the step, when the trace does not name it a call.
    if not any(c.call.startswith(("sl_send_reply(", "t_relay(")) for c in step.rr_calls):
        if step.status is not None:
            wanted.append((f'sl_send_reply("{step.status}"', 1, f"answers {step.status}"))
        elif step.next_element is not None:
            wanted.append(("t_relay(", 1, f"sends the request on to {step.next_element}"))
    found: dict[int, list[str]] = {}
    number = 0
    for marker, rc, says in wanted:
        at = number
        while at < len(codes) and marker not in codes[at]:
            at = skip.get(at, at) + 1
        if at == len(codes):
            continue  # not a line of this config (the trace names it another way)
        found.setdefault(at, [])
        if says not in found[at]:
            found[at].append(says)
        number = at
        if rc <= 0 and codes[at].lstrip().startswith("if (") and codes[at].endswith("{"):
            number = _block_end(codes, at) + 1  # the call's test failed
    return tuple(Mark(line, "; ".join(says)) for line, says in found.items())


def _says(call: RrCall) -> str:
    """What a call did, in a few words: its return code (an assignment has none) and
    meaning, else its first decision."""
    what = call.meaning or (call.decisions[0].text if call.decisions else "")
    if call.call.startswith("$"):  # an assignment returns nothing
        return f"{call.call}: {what}" if what else call.call
    return f"{call.call} returned {call.rc}" + (f": {what}" if what else "")


# Calls whose line does not name them the way the trace does.
_MARKERS = {"lookup": "$var(found) = 0", "$du": "$du = ", "t_check_trans": 'is_method("ACK")'}


def _line_of(lines: list[str], line: str, start: int) -> int:
    try:
        return lines.index(line, start)
    except ValueError:
        return -1


def _block_end(codes: list[str], opening: int) -> int:
    """The line that closes the block ``codes[opening]`` opens (same indent, ``}``)."""
    indent = codes[opening][: len(codes[opening]) - len(codes[opening].lstrip())]
    end = _line_of(codes, indent + "}", opening + 1)
    return end if end >= 0 else len(codes) - 1


def config_name(node: ProxyNode) -> str:
    """A file name for the proxy's config: its name, letters and digits kept."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", node.name).strip("-.") or "proxy"
    return f"{stem}.cfg"


def _modparam(module: str, name: str, value: int | str) -> str:
    rendered = str(value) if isinstance(value, int) else cfg_string(value)
    return f'modparam("{module}", "{name}", {rendered})'


def _location_table(node: ProxyNode) -> str:
    """The location service of the scenario as statements: the R-URI's user and host (host in
    any case) give the contact, as the simulation looks it up; else 404."""
    lines = [
        "        # The scenario's location service as a table (a registrar would load usrloc",
        '        # and registrar and call lookup("location") here).',
        "        $var(found) = 0;",
    ]
    if not node.location:
        lines.append(f"        # (the scenario gives {node.name} no entries)")
    for aor, contact in node.location:
        try:
            uri = parse_uri(aor)
        except SipParseError:  # checked when the scenario is read; never written unquoted
            lines.append(f"        # {aor!r} is not a SIP URI: no R-URI matches it")
            continue
        if not uri.user:
            lines.append(f"        # {aor}: no user, so no R-URI that gets this far matches it")
            continue
        lines.append(
            f"        if ($rU == {cfg_string(uri.user)} && $(rd{{s.tolower}}) == "
            f"{cfg_string(uri.host.lower())}) {{ $ru = {cfg_string(contact)}; $var(found) = 1; }}"
        )
    lines.append('        if ($var(found) == 0) { sl_send_reply("404", "Not Found"); exit; }')
    return "\n".join(lines)


__all__ = [
    "CORE_DEFAULTS",
    "MODULES",
    "ConfigFile",
    "Mark",
    "config_name",
    "proxy_config",
    "scenario_configs",
    "script_marks",
]
