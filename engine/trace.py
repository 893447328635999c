"""The trace of a simulated dialog: one :class:`TraceStep` per hop, as frozen values.

Rule 1: a trace is plain data.  The app paints what the trace says and never
makes a routing decision itself.
Rule 2: traces are deterministic and serialise canonically
(:func:`to_jsonable` / :func:`from_jsonable`), so the same scenario always
gives a byte-identical trace and golden files can be compared as text.

>>> step = TraceStep(index=0, request=0, element="P1", kind=StepKind.PROXY,
...                  method="BYE", message_in="", message_out="", flags=(Flag.LOCAL_ROUTE_REMOVED,))
>>> from_jsonable(to_jsonable(Trace(title="t", steps=(step,)))).steps[0] == step
True
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.rr import RrResult


class Flag(enum.Enum):
    """What a step shows a learner.  Values are stable identifiers used in files."""

    STRICT_TO_LOOSE = "strict-to-loose"  # R-URI named this proxy: recovered from the last Route
    LOOSE_TO_STRICT = "loose-to-strict"  # next hop is strict: R-URI and Route swapped
    STRICT_TO_STRICT = "strict-to-strict"  # R-URI named this proxy and the next Route is strict
    LOCAL_ROUTE_REMOVED = "local-route-removed"  # a Route naming this proxy was removed
    PRELOADED = "preloaded"  # loose_route() returned -3
    FLOW_TOKEN_USED = "flow-token-used"  # loose_route() returned 2
    FLOW_TOKEN_REJECTED = "flow-token-rejected"  # loose_route() returned -2
    NOT_ROUTED = "not-routed"  # loose_route() returned -1
    RECORD_ROUTE = "record-route"  # one Record-Route inserted
    DOUBLE_RECORD_ROUTE = "double-record-route"  # two Record-Route values (r2)
    DEAD_END = "dead-end"  # the request could not go on (403/404/483, no next hop)
    LOOP = "loop"  # the same request reached the same element twice, unchanged
    SPIRAL = "spiral"  # a request came back to an element with a new R-URI or Route set
    SECURITY = "security"  # a configuration lets a caller steer the proxy
    MISMATCH = "mismatch"  # observed traffic: the proxy did not do what loose_route() says


def loose_route_flags(
    result: RrResult, is_local: Callable[[str], bool], *, initial_without_route: bool = False
) -> set[Flag]:
    """The flags a step shows for one ``loose_route()`` call: the one place both the
    simulation (:mod:`engine.simulate`) and observed traffic (:mod:`engine.observe`) read
    them from.

    ``is_local`` tells whether a removed Route value names the proxy itself
    (:data:`Flag.LOCAL_ROUTE_REMOVED` is for those only); ``initial_without_route`` leaves out
    :data:`Flag.NOT_ROUTED` for an initial request that had no Route (-1 is normal there).

    >>> from engine.rr import RrResult
    >>> res = RrResult("loose_route", 1, (), path="A", removed=("<sip:p1;lr>",))
    >>> sorted(f.value for f in loose_route_flags(res, lambda v: "p1" in v))
    ['local-route-removed']
    >>> loose_route_flags(res, lambda v: False)
    set()
    """
    flags: set[Flag] = set()
    if any(is_local(v) for v in result.removed):
        flags.add(Flag.LOCAL_ROUTE_REMOVED)
    if result.appended:
        flags.add(Flag.LOOSE_TO_STRICT)
    if result.path == "S":
        flags.add(Flag.STRICT_TO_STRICT if result.strict_to_strict else Flag.STRICT_TO_LOOSE)
    by_rc = {-3: Flag.PRELOADED, 2: Flag.FLOW_TOKEN_USED, -2: Flag.FLOW_TOKEN_REJECTED}
    if result.rc in by_rc:
        flags.add(by_rc[result.rc])
    elif result.rc == -1 and not initial_without_route:
        flags.add(Flag.NOT_ROUTED)
    return flags


class StepKind(enum.Enum):
    """Which element handled the step."""

    UAC = "uac"  # a user agent sends a request (or the ACK/BYE it builds)
    PROXY = "proxy"  # a proxy receives and forwards
    UAS = "uas"  # a user agent receives a request
    RESPONSE = "response"  # a response travels back along the Via path


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision step of an rr call: stable rule id, function, sentence."""

    rule: str
    function: str
    text: str


@dataclass(frozen=True, slots=True)
class RrCall:
    """One rr function call made by a proxy's script, with its result."""

    call: str
    rc: int
    meaning: str = ""
    decisions: tuple[Decision, ...] = ()


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One hop: an element received ``message_in`` and sent ``message_out`` onwards.

    ``request`` is the index of the scenario request this step belongs to;
    ``label`` names it for people (``"BYE from Bob"``).  R-URI and ``$du`` are
    given before and after the element's processing; ``routes_before`` /
    ``routes_after`` are the Route values as received and as sent.
    """

    index: int
    request: int
    element: str
    kind: StepKind
    method: str
    message_in: str
    message_out: str
    label: str = ""
    status: int | None = None  # responses and local replies
    next_element: str | None = None
    next_hop: str | None = None  # the URI or address the message is sent to
    ruri_before: str = ""
    ruri_after: str = ""
    du_before: str | None = None
    du_after: str | None = None
    forced_socket: str | None = None
    routes_before: tuple[str, ...] = ()
    routes_after: tuple[str, ...] = ()
    routes_removed: tuple[str, ...] = ()
    route_appended: str | None = None
    record_routes_added: tuple[str, ...] = ()
    rr_calls: tuple[RrCall, ...] = ()
    flags: tuple[Flag, ...] = ()
    note: str = ""
    # Added for the dialog simulation (engine/simulate.py); all optional.
    received_on: str | None = None  # the element's socket the message arrived on
    sent_from: str | None = None  # the element's socket the message left from
    next_address: str | None = None  # the transport address it was sent to, proto:host:port
    route_set: tuple[str, ...] = ()  # user agents: the dialog's route set after this step
    remote_target: str | None = None  # user agents: the dialog's remote target after this step
    path: tuple[str, ...] = ()  # a summarised response: every element it passed, in order
    # Added for observed traffic (engine/observe.py): what differs from loose_route()'s answer.
    mismatch: str = ""

    @property
    def rc(self) -> int | None:
        """The return code of the last loose_route-family call, if any."""
        for call in reversed(self.rr_calls):
            if call.call.startswith("loose_route"):
                return call.rc
        return None


@dataclass(frozen=True, slots=True)
class Trace:
    """A whole simulated scenario: every step in order."""

    title: str
    steps: tuple[TraceStep, ...] = ()
    requests: tuple[str, ...] = ()  # a label per scenario request, in order
    warnings: tuple[str, ...] = field(default=())

    def steps_of(self, request: int) -> tuple[TraceStep, ...]:
        """The steps of one scenario request."""
        return tuple(s for s in self.steps if s.request == request)


# --------------------------------------------------------------------------
# canonical JSON


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    return value


def to_jsonable(trace: Trace) -> dict[str, Any]:
    """The trace as JSON-ready data (dump it with ``sort_keys=True, indent=2``)."""
    data: dict[str, Any] = _encode(trace)
    data["format"] = 1
    for step in data["steps"]:
        # Only observed traces carry a mismatch: simulated traces keep their canonical form.
        if not step.get("mismatch"):
            step.pop("mismatch", None)
    return data


def _decision(d: dict[str, Any]) -> Decision:
    return Decision(d["rule"], d["function"], d["text"])


def _call(d: dict[str, Any]) -> RrCall:
    return RrCall(d["call"], d["rc"], d.get("meaning", ""), tuple(map(_decision, d["decisions"])))


def _step(d: dict[str, Any]) -> TraceStep:
    data = dict(d)
    data["kind"] = StepKind(d["kind"])
    data["flags"] = tuple(Flag(f) for f in d.get("flags", ()))
    data["rr_calls"] = tuple(_call(c) for c in d.get("rr_calls", ()))
    for name in (
        "routes_before",
        "routes_after",
        "routes_removed",
        "record_routes_added",
        "route_set",
        "path",
    ):
        data[name] = tuple(d.get(name, ()))
    return TraceStep(**data)


def from_jsonable(data: dict[str, Any]) -> Trace:
    """The inverse of :func:`to_jsonable`."""
    return Trace(
        title=data["title"],
        steps=tuple(_step(s) for s in data["steps"]),
        requests=tuple(data.get("requests", ())),
        warnings=tuple(data.get("warnings", ())),
    )
