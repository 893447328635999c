"""What each field of the composer means, in a sentence: its tool tip and what a screen
reader says of it.

Keyed by ``(section, field)``: the section is the object the field belongs to
(``""`` for the scenario itself, ``user_agents``, ``proxies``, ``rr``, ``outbound``,
``dialog``, ``requests``), because a name such as ``route`` means one thing in the
dialog and another in a later request.  README's "Scenario files" tables say the same
at more length; ``tests/gui/test_composer.py`` checks that every field the composer
shows has its sentence here.
"""

from __future__ import annotations

from collections.abc import Sequence

HELP: dict[tuple[str, str], str] = {
    # the scenario
    ("", "title"): "Shown in the library and as the trace's title.",
    ("", "description"): "What the scenario teaches, in a few sentences.",
    ("", "highlights"): "What a learner should notice, one point a line, in order.",
    ("", "call_id"): "The dialog's Call-ID. Empty: made from the title and the caller's address.",
    ("", "dialog"): "The request that creates the dialog, and how it is answered.",
    ("", "names"): (
        "The name table, 'host name = element name' a line: how a host name in a URI finds "
        "an element. No real DNS is ever used."
    ),
    # user agents
    ("user_agents", "name"): "Unique among all elements: 1-40 letters, digits, spaces, _ . + -.",
    ("user_agents", "address"): (
        "Its transport address, proto:ip:port (IPv6 in brackets). It accepts any transport on "
        "that address and port."
    ),
    ("user_agents", "contact"): "Its Contact: the remote target the other side of a dialog uses.",
    ("user_agents", "aor"): (
        "Its address of record, in From and To, and the Request-URI of a call to it."
    ),
    ("user_agents", "display"): "Its display name in From and To.",
    ("user_agents", "outbound_proxy"): (
        "Where its initial requests without a Route header go (RFC 3261 8.1.2); no Route "
        "header is added."
    ),
    ("user_agents", "route_style"): (
        "How it writes its route set: one Route line a value (lines), or one comma-separated "
        "line (comma)."
    ),
    ("user_agents", "lr_on_as_strict"): (
        "Model a SIP stack that knows only a bare ;lr and takes ;lr=on for a strict router."
    ),
    # proxies
    ("proxies", "name"): "Unique among all elements.",
    ("proxies", "listen"): (
        "Kamailio listen= sockets, one a line: proto:ip:port [advertise host[:port]] "
        "[name NAME]; proto is udp, tcp, tls, sctp, ws or wss."
    ),
    ("proxies", "aliases"): (
        "Kamailio alias= entries, one a line: [proto:]host[:port]. Without a port an alias "
        "matches any port."
    ),
    ("proxies", "profile"): "What the proxy's request_route does (its Kamailio script).",
    ("proxies", "loose_route_mode"): (
        "Not 0: the script calls loose_route_mode(N) instead of loose_route(). In Kamailio "
        "5.6.3 any value but 0 means loose only: the R-URI-is-myself check is skipped."
    ),
    ("proxies", "rr"): 'The rr module\'s parameters (modparam("rr", ...)).',
    ("proxies", "outbound"): "The outbound module (RFC 5626 flow tokens), when loaded.",
    ("proxies", "record_route_params"): (
        "Parameters for record_route(\";a=b\"), starting with ';'. Pseudo-variables such as "
        "$ci are filled in as Kamailio does."
    ),
    ("proxies", "record_route_preset"): (
        "Call record_route_preset() with these addresses (one or two lines, host[:port]"
        "[;params]) instead of record_route(). Two without ;r2=on is the classic missing-r2 "
        "mistake."
    ),
    ("proxies", "forward_to"): (
        "Where initial requests for other domains go ($du); the R-URI stays. Empty: they go "
        "by their R-URI."
    ),
    ("proxies", "location"): (
        "The location service, 'address of record = contact' a line: an initial request "
        "whose R-URI is this proxy gets the contact as its R-URI; a miss is 404."
    ),
    # modparam("rr", ...)
    ("rr", "enable_full_lr"): (
        "1: Record-Route URIs carry ;lr=on instead of ;lr, for stacks that drop an lr "
        "without a value. Default 0."
    ),
    ("rr", "append_fromtag"): (
        "1: Record-Route URIs carry ;ftag= with the From tag, which is_direction() and "
        "$rdir read. Default 1."
    ),
    ("rr", "enable_double_rr"): (
        "0: one Record-Route. 1: two (each with ;r2=on) when the request leaves on another "
        "socket than it came on. 2: always two. Not 0 also lets loose_route() take an r2 "
        "pair at once. Default 1."
    ),
    ("rr", "add_username"): (
        "1: the Record-Route URI gets a user part (the R-URI's user). Cannot be used with "
        "the outbound module. Default 0."
    ),
    ("rr", "enable_socket_mismatch_warning"): (
        "1: log a warning when the socket an r2 Route names is not this proxy's. Logging "
        "only: routing is the same. Default 1."
    ),
    ("rr", "custom_user_avp"): (
        "With add_username=1: an AVP whose value, when set, is the Record-Route user "
        "instead of the R-URI's."
    ),
    ("rr", "force_send_socket"): (
        "1: when the first Route is this proxy (and not an r2 pair), the request leaves "
        "from the socket that Route names. Default 0."
    ),
    ("rr", "ignore_sips"): (
        "1: Record-Route is always sip:. 0: sips: when the R-URI is sips:. Default 0."
    ),
    ("rr", "sockname_mode"): (
        "1: Record-Route gets ;sn= with the socket's name, and loose_route() finds the "
        "socket to force by that name. Default 0."
    ),
    # the outbound module
    ("outbound", "loaded"): "Load the outbound module: flow tokens in Record-Route (RFC 5626).",
    ("outbound", "flow_token_secret"): (
        "The secret flow tokens are signed with (HMAC-SHA1-80). Kamailio 5.6.3 signs with "
        "the same key whatever its text; left empty, it draws a random key at each start, "
        "and RouteLab uses that same fixed key instead."
    ),
    ("outbound", "force_outbound_flag"): (
        "A message flag number: set, record_route() adds a flow token even when RFC 5626 would not."
    ),
    ("outbound", "force_no_outbound_flag"): (
        "A message flag number: set, record_route() adds no flow token."
    ),
    # the dialog-creating request
    ("dialog", "method"): "The request that creates the dialog: INVITE, SUBSCRIBE or REFER.",
    ("dialog", "from"): "The calling user agent.",
    ("dialog", "to"): "The called user agent (the To header).",
    ("dialog", "request_uri"): "The Request-URI. Empty: the called user agent's address of record.",
    ("dialog", "route"): (
        "The caller's preloaded Route set, one <uri> a line (empty: none). A Route header "
        "pasted whole is split into its values."
    ),
    ("dialog", "responses"): (
        "The status codes the called side answers, provisional ones first, one a line. "
        "Empty: 180 and 200 for INVITE, 200 for SUBSCRIBE, 202 for REFER."
    ),
    ("dialog", "headers"): "Extra headers, 'Name: value' a line (Supported: outbound ...).",
    ("dialog", "max_forwards"): "The Max-Forwards the request starts with (0-255).",
    ("dialog", "note"): "Shown at the request's first step.",
    # the in-dialog requests
    ("requests", "method"): (
        "Any method in capitals but CANCEL and REGISTER: ACK, BYE, INVITE (a re-INVITE), "
        "UPDATE, INFO, NOTIFY ..."
    ),
    ("requests", "from"): "Which party of the dialog sends it.",
    ("requests", "request_uri"): (
        "Replaces the remote target for this request. Empty: the target the dialog learnt."
    ),
    ("requests", "route"): (
        "A route set typed by hand, replacing the sender's for this request, one <uri> a "
        "line. Empty: the route set the dialog learnt. A strict first value is handled as "
        "RFC 3261 12.2.1.1 says."
    ),
    ("requests", "responses"): "The final response (one line). Empty: 200; an ACK gets none.",
    ("requests", "contact"): (
        "A new Contact for the sender from this request on (a target refresh). Empty: no change."
    ),
    ("requests", "headers"): "Extra headers, 'Name: value' a line.",
    ("requests", "max_forwards"): "The Max-Forwards the request starts with (0-255).",
    ("requests", "note"): "Shown at the request's first step.",
}


def section_and_field(path: Sequence[str | int]) -> tuple[str, str]:
    """The ``HELP`` key of a composer field path: its object's name and its own.

    >>> section_and_field(("proxies", 0, "rr", "enable_double_rr"))
    ('rr', 'enable_double_rr')
    >>> section_and_field(("title",))
    ('', 'title')
    """
    names = [p for p in path if isinstance(p, str)]
    return (names[-2] if len(names) > 1 else "", names[-1] if names else "")


def help_for(path: Sequence[str | int]) -> str:
    """The sentence for a composer field, or ``""`` when it has none."""
    return HELP.get(section_and_field(path), "")
