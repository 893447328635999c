"""The words of SIP routing a learner meets in RouteLab, each said once.

The Lesson panel and the Markdown export list the ones their text uses
(:func:`used_terms`), so that a definition is there when the word is.
"""

from __future__ import annotations

import re

# (term, how it is found in a text, what it means); in the order a learner meets them.
TERMS: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (term, re.compile(pattern), meaning)
    for term, pattern, meaning in (
        (
            "R-URI",
            r"\bR-URI\b|\bRequest-URI\b",
            "the Request-URI, the address in the request line: where the request is meant to go.",
        ),
        (
            "route set",
            r"\b[Rr]oute set\b",
            "the proxies a dialog's in-dialog requests go through, learned from the "
            "Record-Route headers of the request and response that set the dialog up "
            "(RFC 3261 12.1); each request carries it as Route headers.",
        ),
        (
            "remote target",
            r"\bremote target\b",
            "the other side's Contact: where in-dialog requests end, after the route set.",
        ),
        (
            "loose and strict routers",
            r"\b(?:loose|strict)(?:-routing)? (?:router|rout)|\blr\b|;lr",
            "a Route value with the lr parameter names a loose router (RFC 3261), which leaves "
            "the R-URI alone and takes the Route headers as the way; one without lr names a "
            "strict router (RFC 2543), which expects to find itself in the R-URI.",
        ),
        (
            "$du",
            r"\$du\b",
            "Kamailio's destination URI: when set, the request is sent there, while the "
            "R-URI stays as it is; when not, it goes to the R-URI.",
        ),
        (
            "-3, preloaded route",
            r"(?<![\w.])-3\b|\bpreloaded\b",
            "a Route set the caller put into an initial request itself. loose_route() "
            "returns -3 when the only Route was this proxy's own and it removed it.",
        ),
        (
            "r2",
            r"\br2\b",
            "marks the two Record-Route values of a proxy that received a request on one "
            "interface and sent it on another (double Record-Route, RFC 5658).",
        ),
        (
            "ftag",
            r"\bftag\b",
            "the caller's From tag in a proxy's Record-Route, which later tells the "
            "direction of a request (is_direction()).",
        ),
        (
            "spiral and loop",
            r"\bspiral\b|\bloop\b",
            "a request that comes back to a proxy with a new R-URI or Route set spirals, and "
            "is processed again; the same request coming back unchanged loops "
            "(RFC 3261 16.3).",
        ),
        (
            "flow token",
            r"\bflow token\b",
            "the outbound module's encoding of a connection into a Record-Route user part, "
            "so that requests reach a user agent behind NAT down the connection it opened "
            "(RFC 5626); loose_route() returns 2 when one is used, -2 when it is refused.",
        ),
    )
)


def used_terms(text: str) -> list[tuple[str, str]]:
    """The terms ``text`` uses, with what they mean, in :data:`TERMS` order.

    >>> [t for t, _ in used_terms("P1 sets $du; the R-URI stays.")]
    ['R-URI', '$du']
    """
    return [(term, meaning) for term, pattern, meaning in TERMS if pattern.search(text)]


__all__ = ["TERMS", "used_terms"]
