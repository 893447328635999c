"""Pseudo-variables in the rr functions' string parameters, as Kamailio 5.6.3 fills them in.

``record_route()``'s parameters, ``record_route_preset()``'s and
``record_route_advertised_address()``'s addresses and ``add_rr_param()``'s parameter are
formats: Kamailio replaces each ``$name`` in them with its value when the function runs
(``record_route(";x=$ci")`` adds ``;x=`` and the Call-ID).  Each value here was seen on a real
Kamailio 5.6.3 (``RL-PV-*`` in ``tests/data/vectors``).

Rule 1: :func:`parse_format` refuses what Kamailio refuses to start with (a lone ``$``, an
unclosed parenthesis, an unknown name) and what RouteLab does not model (transformations,
other pseudo-variables), with a :class:`~engine.errors.ScriptError` that says which.
Rule 2: a value that is not there is ``<null>``, as Kamailio prints it; ``$var()`` is never
set by these scripts, so it is 0.

>>> parse_format(";x=$ci;y=$$")
(';x=', Pv(name='ci', inner=None, text='$ci'), ';y=$')
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from engine.errors import ConfigError, ScriptError, SipParseError
from engine.headers import NameAddr, parse_name_addr, tag_param
from engine.proxy import parse_socket
from engine.uri import SipUri, parse_uri

if TYPE_CHECKING:  # engine.rr imports this module
    from engine.rr import Context

NULL = "<null>"


class Pv(NamedTuple):
    """One pseudo-variable of a format: ``$name`` or ``$name(inner)``, and its text."""

    name: str
    inner: str | None
    text: str


Piece = str | Pv

#: The pseudo-variables RouteLab models: name -> what it is, for the steps and the errors.
MODELLED: dict[str, str] = {
    "ci": "Call-ID",
    "fu": "From URI",
    "fU": "From user",
    "fd": "From host",
    "ft": "From tag",
    "fn": "From display name",
    "tu": "To URI",
    "tU": "To user",
    "td": "To host",
    "tt": "To tag",
    "tn": "To display name",
    "ru": "R-URI",
    "rU": "R-URI user",
    "rd": "R-URI host",
    "rp": "R-URI port",
    "rz": "R-URI scheme",
    "ou": "original R-URI",
    "oU": "original R-URI user",
    "od": "original R-URI host",
    "rm": "method",
    "cs": "CSeq number",
    "si": "source IP",
    "sp": "source port",
    "Ri": "receiving IP",
    "Rp": "receiving port",
    "pr": "protocol",
    "proto": "protocol",
    "du": "destination URI",
    "ua": "User-Agent",
    "route_uri": "the first Route's URI as the request came",
    "rdir": "the request's direction",
    "fti": "the From tag of the dialog's initial request",
    "tti": "the To tag of the dialog's initial request",
    "null": "nothing",
    "hdr": "a header",
    "var": "a script variable, never set here",
    "avp": "an AVP, never set here",
}
_WITH_INNER = frozenset({"hdr", "var", "avp", "rdir"})
_RDIR = {"id": ("1", "2"), "name": ("downstream", "upstream")}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_format(text: str) -> tuple[Piece, ...]:
    """``text`` as literal pieces and pseudo-variables; ScriptError for a format Kamailio
    refuses or RouteLab does not model."""
    if "$" not in text:
        return (text,) if text else ()
    return _parse_memo(text)


@lru_cache(maxsize=256)
def _parse_memo(text: str) -> tuple[Piece, ...]:
    pieces: list[Piece] = []
    literal: list[str] = []
    pos = 0
    while pos < len(text):
        dollar = text.find("$", pos)
        if dollar < 0:
            literal.append(text[pos:])
            break
        literal.append(text[pos:dollar])
        after = text[dollar + 1 : dollar + 2]
        if after == "$":
            literal.append("$")
            pos = dollar + 2
            continue
        if after == "(":
            if text.find(")", dollar) < 0:
                _refuse(text, "a '$(' without its ')'")
            raise ScriptError(
                f"{text!r}: RouteLab does not model the $(...) forms of pseudo-variables "
                "(transformations, indexes); write $name"
            )
        m = _NAME.match(text, dollar + 1)
        if m is None:
            _refuse(text, "a '$' that starts no pseudo-variable (write $$ for a dollar sign)")
        name, end = m.group(), m.end()
        inner: str | None = None
        if text[end : end + 1] == "(":
            close = text.find(")", end)
            if close < 0:
                _refuse(text, f"${name}( without its ')'")
            inner, end = text[end + 1 : close], close + 1
        if name not in MODELLED:
            known = ", ".join(f"${n}" for n in MODELLED if n not in _WITH_INNER)
            near = difflib.get_close_matches(name, list(MODELLED), n=1)
            hint = f" (did you mean ${near[0]}?)" if near else ""
            raise ScriptError(
                f"{text!r}: ${name} is not a pseudo-variable RouteLab models{hint} (it models "
                f"{known}, $hdr(Name), $var(name) and $avp(name)); Kamailio refuses to start "
                "with a name none of its loaded modules provides"
            )
        if (inner is None) == (name in _WITH_INNER):
            form = f"${name}(name)" if name in _WITH_INNER else f"${name}"
            raise ScriptError(f"{text!r}: write {form}")
        if name == "rdir" and inner not in _RDIR:
            _refuse(text, f"$rdir({inner}): the rr module knows $rdir(id) and $rdir(name)")
        if "".join(literal):
            pieces.append("".join(literal))
        literal = []
        pieces.append(Pv(name, inner, text[dollar:end]))
        pos = end
    if "".join(literal):
        pieces.append("".join(literal))
    return tuple(pieces)


def _refuse(text: str, what: str) -> NoReturn:
    raise ScriptError(f"{text!r}: {what}: Kamailio 5.6.3 refuses to start ('wrong format')")


def fill(text: str, ctx: Context) -> tuple[str, tuple[tuple[Pv, str], ...]]:
    """``text`` with each pseudo-variable replaced by its value for the request in ``ctx``,
    and each pseudo-variable with its value, in order."""
    if "$" not in text:
        return text, ()
    pieces = parse_format(text)
    values = [p if isinstance(p, str) else value(p, ctx) for p in pieces]
    pairs = tuple((p, v) for p, v in zip(pieces, values, strict=True) if isinstance(p, Pv))
    return "".join(values), pairs


def value(pv: Pv, ctx: Context) -> str:
    """The text Kamailio prints for ``pv``: its value, else ``<null>``."""
    name = pv.name
    request = ctx.request
    if name == "ci":
        return _or_null(request.header("Call-ID"))
    if name[0] in "ft" and len(name) == 2:
        return _party(name[1], request.header("From" if name[0] == "f" else "To"))
    if name in ("ru", "rU", "rd", "rp", "rz"):
        return _uri_part(name[1], ctx.ruri)
    if name in ("ou", "oU", "od"):
        return _uri_part(name[1], request.uri)
    if name == "rm":
        return request.method
    if name == "cs":
        cseq = request.header("CSeq")
        return cseq.split()[0] if cseq and cseq.split() else NULL
    if name in ("si", "sp"):
        # The source as the rr functions read it (rr._source_addr): proto:address:port.
        try:
            source = parse_socket(ctx.source or "")
        except ConfigError:
            return NULL
        return source.host.strip("[]") if name == "si" else str(source.port)
    if name == "Ri":
        return ctx.received_on.host.strip("[]")  # IPv6 without brackets (seen on 5.6.3)
    if name == "Rp":
        return str(ctx.received_on.port)
    if name in ("pr", "proto"):
        return ctx.received_on.proto
    if name == "du":
        return _or_null(ctx.du)
    if name == "ua":
        return _or_null(request.header("User-Agent"))
    if name == "hdr":
        return _or_null(request.header(pv.inner or ""))
    if name == "var":
        return "0"
    if name in ("route_uri", "rdir", "fti", "tti"):
        return _rr_value(pv, ctx)
    return NULL  # $null, $avp(): nothing set


def _rr_value(pv: Pv, ctx: Context) -> str:
    """The rr module's own pseudo-variables (RL-RRPV-* in tests/data/vectors)."""
    from engine.rr import direction  # engine.rr imports this module

    if pv.name == "route_uri":
        # The first Route of the request as it came (loose_route() removing it changes
        # nothing), as written; empty, not <null>, when there is none or it cannot be read.
        first = ctx.routes[0].elements if ctx.routes else None
        return first[0][0].uri_text if first else ""
    upstream = direction(ctx) == "upstream"
    if pv.name == "rdir":
        return _RDIR[pv.inner or "id"][upstream]
    # $fti / $tti: the From and To tags of the initial request, swapped going upstream.
    from_side = (pv.name == "fti") != upstream
    return ctx.request.tag("From" if from_side else "To") or NULL


def _or_null(text: str | None) -> str:
    return NULL if text is None else text


def _party(part: str, header: str | None) -> str:
    """$fu, $fU, $fd, $ft, $fn (and the To ones) from the header value."""
    if header is None:
        return NULL
    if part == "t":
        return tag_param(header) or NULL
    try:
        addr: NameAddr = parse_name_addr(header)
    except SipParseError:
        return NULL
    if part == "n":
        return addr.display or NULL
    return _uri_part(part, addr.uri_text)


def _uri_part(part: str, text: str) -> str:
    """u (the URI), U (user), d (host), p (port), z (scheme) of a URI text; all ``<null>``
    when Kamailio cannot parse the URI, the URI itself included (seen on 5.6.3)."""
    try:
        uri: SipUri = parse_uri(text)
    except SipParseError:
        return NULL
    if part == "u":
        return text
    if part == "U":
        return uri.user or NULL
    if part == "d":
        return uri.host or NULL
    if part == "z":
        return uri.scheme
    if uri.port is not None:
        return str(uri.port)
    # No port: 5061 when the (last) transport parameter is TLS, else 5060, sips included.
    transport = uri.uri_param("transport") if uri.host else None
    return "5061" if transport is not None and transport.lower() == "tls" else "5060"


__all__ = ["MODELLED", "NULL", "Piece", "Pv", "fill", "parse_format", "value"]
