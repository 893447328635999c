"""Routing profiles: what a proxy's ``request_route`` does, as data.

Rule 1: a profile is a frozen value.  :mod:`engine.simulate` interprets it; adding a profile means
adding one entry to :data:`PROFILES` (and, only for a new kind of element, a new :class:`Kind`).
Rule 2: every Kamailio profile is modelled on a real configuration and :func:`config_text` writes
it out as the Kamailio config a learner would read, so the trace and the documentation agree.

The profiles:

* ``kamailio-default``: Kamailio 5.6's default ``kamailio.cfg`` reduced to its routing: in-dialog
  requests call ``loose_route()`` and relay (to ``$du``, else the R-URI) or get 404 "Not here";
  initial requests drop preloaded Route headers, ``record_route()`` for INVITE and SUBSCRIBE, then a
  location lookup when the R-URI is this proxy, else relay by the R-URI.
* ``honour-preloaded``: initial requests call ``loose_route()`` first: 1 relays along the caller's
  Route set, -3 (only this proxy was named) continues on the R-URI.
* ``deny-preloaded``: initial requests with a Route header get 403 "Preload Route denied".
* ``outbound-edge``: the default profile for an RFC 5626 edge proxy: -2 (tampered flow token)
  gets 403 as in Kamailio's outbound sample configuration.
* ``rfc2543-strict``: not Kamailio: an RFC 2543 strict router.  It record-routes without ``lr`` and
  routes a request with a Route header by moving the top Route into the R-URI.
* ``no-record-route``: the default profile without any ``record_route()``.

>>> PROFILES["deny-preloaded"].preloaded
<Preloaded.DENY: 'deny'>
>>> "remove_hf(\\"Route\\");" in config_text(PROFILES["kamailio-default"])
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """Which kind of element runs the profile."""

    KAMAILIO = "kamailio"  # Kamailio 5.6.3 with the rr module (engine.rr)
    RFC2543_STRICT = "rfc2543-strict"  # an RFC 2543 strict router, implemented directly


class Preloaded(enum.Enum):
    """What an initial request's preloaded Route headers get."""

    REMOVE = "remove"  # remove_hf("Route"): ignore them (Kamailio's default config)
    HONOUR = "honour"  # loose_route() first: follow them
    DENY = "deny"  # 403 "Preload Route denied"


@dataclass(frozen=True, slots=True)
class Profile:
    """A routing profile: the decisions a proxy's script makes, as data."""

    name: str
    title: str
    summary: str
    kind: Kind = Kind.KAMAILIO
    preloaded: Preloaded = Preloaded.REMOVE
    #: initial-request methods that get record_route()
    record_route: tuple[str, ...] = ("INVITE", "SUBSCRIBE")
    #: in-dialog methods that get record_route() after loose_route() (RFC 6665 NOTIFY)
    record_route_in_dialog: tuple[str, ...] = ("NOTIFY",)
    #: the reply when loose_route() returns -2 on a request that is not an ACK
    flow_token_rejected: tuple[int, str] = (404, "Not here")
    #: the reply when an in-dialog request is not routed by loose_route()
    not_routed: tuple[int, str] = (404, "Not here")


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "kamailio-default",
            "Kamailio default config",
            "In-dialog: loose_route() and relay, else 404. Initial: drop preloaded Route "
            "headers, record_route() for INVITE and SUBSCRIBE, location lookup or relay "
            "by the R-URI.",
        ),
        Profile(
            "honour-preloaded",
            "Honour preloaded routes",
            "Like the default config, but initial requests call loose_route() first: "
            "1 relays along the caller's Route set, -3 continues on the R-URI.",
            preloaded=Preloaded.HONOUR,
            flow_token_rejected=(403, "Forbidden"),
        ),
        Profile(
            "deny-preloaded",
            "Deny preloaded routes",
            'Like the default config, but an initial request with a Route header gets 403 "Preload '
            'Route denied".',
            preloaded=Preloaded.DENY,
        ),
        Profile(
            "outbound-edge",
            "Outbound edge proxy (RFC 5626)",
            "The default config on an edge proxy with the outbound module: a tampered flow "
            "token (-2) gets 403 Forbidden.",
            flow_token_rejected=(403, "Forbidden"),
        ),
        Profile(
            "rfc2543-strict",
            "RFC 2543 strict router",
            "Not Kamailio: record-routes without lr and routes by moving the top Route into "
            "the R-URI (the behaviour RFC 3261 16.6 step 6 and 16.4 repair).",
            kind=Kind.RFC2543_STRICT,
        ),
        Profile(
            "no-record-route",
            "No record-routing",
            "The default config without record_route(): later requests of the dialog go "
            "straight from user agent to user agent.",
            record_route=(),
            record_route_in_dialog=(),
        ),
    )
}


def profile_names() -> tuple[str, ...]:
    """The known profile names, in documentation order.

    >>> profile_names()[0]
    'kamailio-default'
    """
    return tuple(PROFILES)


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def cfg_string(text: str) -> str:
    r"""``text`` as a double-quoted string of Kamailio's config language (its lexer undoes
    these escapes).

    >>> print(cfg_string('a"b\\c'))
    "a\"b\\c"
    """
    return '"' + text.translate(_ESCAPES) + '"'


def _methods(methods: tuple[str, ...]) -> str:
    return "|".join(methods)


def config_text(
    profile: Profile,
    *,
    loose_route_mode: int = 0,
    record_route_params: str = "",
    record_route_preset: tuple[str, ...] = (),
    forward_to: str | None = None,
) -> str:
    """The profile as the Kamailio ``request_route`` it models (pseudo-config for people).

    >>> print(config_text(PROFILES["rfc2543-strict"]).splitlines()[0])
    # RFC 2543 strict router (not Kamailio): what the element does with a request
    """
    if profile.kind is Kind.RFC2543_STRICT:
        lines = [
            "# RFC 2543 strict router (not Kamailio): what the element does with a request",
            "if (Max-Forwards == 0) reply 483 Too Many Hops;",
            "if (a Route header is present) {",
            "    R-URI = top Route URI; remove that Route;   # strict routing",
            "    forward to the new R-URI;",
            "}",
            "if (initial INVITE or SUBSCRIBE) add Record-Route <sip:this-proxy>;   # no lr",
            "if (R-URI is this proxy's domain) R-URI = location lookup, else 404;",
            "forward" + (f" to {forward_to}" if forward_to else " to the R-URI") + ";",
        ]
        return "\n".join(lines) + "\n"
    lr = f"loose_route_mode({loose_route_mode})" if loose_route_mode else "loose_route()"
    if record_route_preset:
        args = ", ".join(map(cfg_string, record_route_preset))
        rr_call = f"record_route_preset({args});"
    else:
        rr_call = (
            f"record_route({cfg_string(record_route_params)});"
            if record_route_params
            else ("record_route();")
        )
    lines = [
        "request_route {",
        '    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }',
        "    if (has_totag()) {                       # in-dialog request",
        f"        if ({lr}) {{",
    ]
    if profile.record_route_in_dialog:
        lines.append(
            f'            if (is_method("{_methods(profile.record_route_in_dialog)}")) {rr_call}'
        )
    lines += [
        "            t_relay();                       # to $du, else the R-URI",
        "            exit;",
        "        }",
    ]
    if profile.flow_token_rejected != profile.not_routed:
        status, reason = profile.flow_token_rejected
        lines.append(f'        if ($rc == -2) {{ sl_send_reply("{status}", "{reason}"); exit; }}')
    status, reason = profile.not_routed
    lines += [
        '        if (is_method("ACK")) exit;          # no transaction: discarded',
        f'        sl_send_reply("{status}", "{reason}");',
        "        exit;",
        "    }",
    ]
    if profile.preloaded is Preloaded.REMOVE:
        lines.append('    remove_hf("Route");                      # drop preloaded Route headers')
    elif profile.preloaded is Preloaded.DENY:
        deny = 'sl_send_reply("403", "Preload Route denied"); exit;'
        lines.append(f'    if (is_present_hf("Route")) {{ {deny} }}')
    else:
        status, reason = profile.flow_token_rejected
        lines += [
            f"    if ({lr}) {{                   # follow the caller's Route set",
            f'        if (is_method("{_methods(profile.record_route)}")) {rr_call}'
            if profile.record_route
            else "        # (no record-routing)",
            "        t_relay(); exit;",
            "    }",
            f'    if ($rc == -2) {{ sl_send_reply("{status}", "{reason}"); exit; }}',
            "    # -3: only this proxy was named; -1: no Route. Go on with the R-URI.",
        ]
    if profile.record_route:
        lines.append(f'    if (is_method("{_methods(profile.record_route)}")) {rr_call}')
    lines += [
        "    if (uri == myself) {",
        '        if ($rU == $null) { sl_send_reply("484", "Address Incomplete"); exit; }',
        '        if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }',
    ]
    if forward_to:
        lines += ["    } else {", f"        $du = {cfg_string(forward_to)};"]
    lines += ["    }", "    t_relay();                               # to $du, else the R-URI", "}"]
    return "\n".join(lines) + "\n"


__all__ = ["PROFILES", "Kind", "Preloaded", "Profile", "cfg_string", "config_text", "profile_names"]
