"""Vectors: one request at one proxy, in the shared JSON vector format.

Rule: :func:`run_vector` takes the decoded JSON object (no files, no I/O) and
returns the expected-field dictionary a real Kamailio would have produced:
``rc`` (when the script calls the loose_route family), ``ruri``, ``du``,
``fs``, ``routes``, and ``rr_rc`` / ``record_routes`` (when it calls the
record_route family).  A request that Kamailio's core would drop before the
script runs (:mod:`engine.core`) is an error, as Kamailio forwards nothing.

>>> head = ("BYE sip:b@10.0.0.2 SIP/2.0\\r\\nVia: SIP/2.0/UDP 10.0.0.1\\r\\n"
...         "From: <sip:a@x>;tag=f\\r\\nTo: <sip:b@x>;tag=t\\r\\nCall-ID: c\\r\\nCSeq: 2 BYE\\r\\n")
>>> vector = {"proxy": {"listen": ["udp:127.0.0.1:5060"]},
...           "raw": head + "Route: <sip:127.0.0.1;lr>\\r\\n\\r\\n",
...           "script": ["loose_route()"]}
>>> run_vector(vector)
{'rc': 1, 'ruri': 'sip:b@10.0.0.2', 'du': None, 'fs': None, 'routes': []}
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from engine.core import drop_error
from engine.errors import ConfigError, EngineError, ScriptError, SipParseError
from engine.message import SipRequest, parse_message
from engine.proxy import Outbound, Proxy, Socket, parse_socket
from engine.rr import Context, RrResult, forwarded, route_entries
from engine.script import LOOSE_ROUTE_FAMILY, RECORD_ROUTE_FAMILY, Call, parse_script, run_script
from engine.uri import parse_uri

EXPECTED_FIELDS = ("rc", "ruri", "du", "fs", "routes", "rr_rc", "record_routes")


def proxy_from_json(data: Any, where: str = "proxy") -> Proxy:
    """Build a :class:`Proxy` from a vector's ``proxy`` object.

    Vectors in a batch mostly share a few proxies, and a Proxy is immutable: the
    proxies built from plain JSON data are remembered, keyed by its ``repr`` (which
    tells lists from tuples and keeps the key order, so equal keys mean equal input).
    """
    return _proxy_keyed(data, where)[0]


def _proxy_keyed(data: Any, where: str) -> tuple[Proxy, str | None]:
    """The proxy, and the memo key of its data (None when it is not a plain JSON object)."""
    if type(data) is dict:
        key = repr(data)
        return _setup(key, data, None, None, where)[0], key
    return _proxy_from_json(data, where), None


# What a batch's vectors share: (proxy repr, received_on, send_socket) -> the proxy and
# its receiving and sending sockets, each worked out once (sockets are looked up by
# parsing their text).  Cleared when full: a batch uses a handful.
_SETUPS: dict[tuple[str, str | None, str | None], tuple[Proxy, Socket, Socket]] = {}


def _setup(
    key: str, data: Any, received_on: str | None, send_socket: str | None, where: str = "proxy"
) -> tuple[Proxy, Socket, Socket]:
    whole = (key, received_on, send_socket)
    found = _SETUPS.get(whole)
    if found is None:
        bare = _SETUPS.get((key, None, None))
        proxy = bare[0] if bare is not None else _proxy_from_json(data, where)
        rcv = proxy.socket(received_on) if received_on is not None else proxy.listen[0]
        snd = proxy.socket(send_socket) if send_socket is not None else rcv
        if len(_SETUPS) >= 256:
            _SETUPS.clear()
        found = _SETUPS[whole] = (proxy, rcv, snd)
    return found


def _proxy_from_json(data: Any, where: str) -> Proxy:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected an object")
    unknown = set(data) - {"name", "listen", "aliases", "modparams", "outbound"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    listen = data.get("listen", [])
    aliases = data.get("aliases", [])
    modparams = data.get("modparams", {})
    if not isinstance(listen, list) or not all(isinstance(s, str) for s in listen):
        raise ConfigError(f"{where}.listen: expected a list of strings")
    if not isinstance(aliases, list) or not all(isinstance(s, str) for s in aliases):
        raise ConfigError(f"{where}.aliases: expected a list of strings")
    if not isinstance(modparams, Mapping):
        raise ConfigError(f"{where}.modparams: expected an object")
    outbound = None
    ob = data.get("outbound")
    if ob is not None:
        if not isinstance(ob, Mapping):
            raise ConfigError(f"{where}.outbound: expected an object")
        if ob.get("loaded", True):
            outbound = Outbound(
                flow_token_secret=_opt_str(ob.get("flow_token_secret")),
                force_outbound_flag=_opt_int(ob.get("force_outbound_flag"), f"{where}.outbound"),
                force_no_outbound_flag=_opt_int(
                    ob.get("force_no_outbound_flag"), f"{where}.outbound"
                ),
            )
    name = data.get("name", "proxy")
    return Proxy.build(
        name=str(name), listen=listen, aliases=aliases, modparams=modparams, outbound=outbound
    )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: flag numbers must be integers, got {value!r}")
    return value


class VectorRun(NamedTuple):
    """Everything one vector produced: final context, each call's result, and the fields.

    A named tuple: a batch makes one per line.
    """

    context: Context
    calls: tuple[Call, ...]
    results: tuple[RrResult, ...]
    fields: dict[str, Any]


def evaluate(
    request: SipRequest,
    proxy: Proxy,
    calls: tuple[Call, ...],
    *,
    source: str | None = None,
    received_on: Socket | str | None = None,
    send_socket: Socket | str | None = None,
    flags: int = 0,
) -> VectorRun:
    """Run a script for one request at one proxy and collect the expected fields."""
    ctx = Context.start(
        request,
        proxy,
        received_on=received_on,
        send_socket=send_socket,
        source=source,
        flags=flags,
    )
    final, results = run_script(ctx, calls)
    lr = rrs = None  # the last call of each family
    for call, res in zip(calls, results, strict=True):
        if call.name in LOOSE_ROUTE_FAMILY:
            lr = res
        elif call.name in RECORD_ROUTE_FAMILY:
            rrs = res
    fields: dict[str, Any] = {} if lr is None else {"rc": lr.rc}
    fields["ruri"] = dollar_ru(final.ruri)
    fields["du"] = final.du
    fields["fs"] = None if final.fs is None else str(final.fs)
    fields["routes"] = list(route_entries(final))
    if rrs is not None:
        fields["rr_rc"] = rrs.rc
        # As the vectors record it: every Record-Route value of the request as it
        # leaves, the ones this proxy inserted on top of those it received.
        fields["record_routes"] = list(forwarded(final).list_values("Record-Route"))
    return VectorRun(final, calls, results, fields)


def dollar_ru(ruri: str) -> str:
    """``$ru`` as Kamailio 5.6.3 gives it: the R-URI, received or set by the script, or
    nothing when it cannot be parsed.

    >>> dollar_ru("sip:b@10.0.0.2"), dollar_ru("sip:127.0.0.1?x;y")
    ('sip:b@10.0.0.2', '')
    """
    try:
        parse_uri(ruri)
    except SipParseError:
        return ""
    return ruri


def run_vector_full(vector: Mapping[str, Any]) -> VectorRun:
    """Run one vector object; raises :class:`EngineError` subclasses on bad input."""
    if not isinstance(vector, Mapping):
        raise ConfigError("a vector must be a JSON object")
    get = vector.get
    data = get("proxy")
    proxy, key = _proxy_keyed(data, "proxy")
    raw = get("raw")
    if type(raw) is not str:
        raise SipParseError("raw: expected the request as a string")
    msg = parse_message(raw)
    if not isinstance(msg, SipRequest):
        raise SipParseError("raw: a response was given where a request is needed")
    dropped = drop_error(msg)
    if dropped is not None:
        raise dropped
    calls = _calls(get("script", _LOOSE_ROUTE_ONLY))
    flags = get("msg_flags", 0) or 0
    if type(flags) is not int or flags < 0:
        raise ConfigError(f"msg_flags: expected a non-negative integer, got {flags!r}")
    source = get("source")
    received_on = get("received_on")
    send_socket = get("send_socket")
    for name, value in (
        ("source", source),
        ("received_on", received_on),
        ("send_socket", send_socket),
    ):
        if value is not None and type(value) is not str:
            raise ConfigError(f"{name}: expected a string like udp:127.0.0.1:5060")
    if source is not None:
        check_source(source)
    if key is not None:
        # The sockets by their text, looked up once per batch (see _setup()).
        proxy, received_on, send_socket = _setup(key, data, received_on, send_socket)
    return evaluate(
        msg,
        proxy,
        calls,
        source=source,
        received_on=received_on,
        send_socket=send_socket,
        flags=flags,
    )


@lru_cache(maxsize=256)  # a batch's requests come from a few addresses
def check_source(source: str, where: str = "source") -> None:
    """ConfigError unless ``source`` is where a request came from, ``proto:ip:port``.

    >>> check_source("udp:127.0.0.1:5999")
    >>> check_source("127.0.0.1:5999")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    engine.errors.ConfigError: source '127.0.0.1:5999': expected proto:ip:port, such as ...
    """
    try:
        parse_socket(source)
    except ConfigError as exc:
        # parse_socket speaks of listen sockets; say what this value is.
        why = str(exc).partition(": ")[2]
        raise ConfigError(
            f"{where} {source!r}: expected proto:ip:port, such as udp:192.0.2.10:5060"
            + ("" if why.startswith("expected proto") else f" ({why})")
        ) from None


_LOOSE_ROUTE_ONLY = ("loose_route()",)


def _calls(script: object) -> tuple[Call, ...]:
    """The vector's script parsed; ScriptError when it is not a list of strings (or one)."""
    if type(script) is list:
        script = tuple(script)
    if type(script) is tuple or type(script) is str:
        try:
            return parse_script(script)
        except ScriptError:
            if type(script) is str or all(type(s) is str for s in script):
                raise
    raise ScriptError("script: expected a list of statements (strings)")


def run_vector(vector: Mapping[str, Any]) -> dict[str, Any]:
    """The expected-field dictionary for one vector object."""
    return run_vector_full(vector).fields


def compare(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Names of the expected fields whose values differ."""
    return [k for k in EXPECTED_FIELDS if k in expected and expected[k] != actual.get(k)]


__all__ = [
    "EXPECTED_FIELDS",
    "EngineError",
    "VectorRun",
    "check_source",
    "compare",
    "dollar_ru",
    "evaluate",
    "proxy_from_json",
    "run_vector",
    "run_vector_full",
]
