"""The scenario as the composer edits it: every field present, defaults filled in.

Scenario files leave default values out; a form must show them all so that a
user can change ``loose_route_mode``, an rr parameter or the outbound module
even when the file does not mention them.  :func:`for_editing` fills the
defaults in, :func:`for_file` turns the edited document back into what
:func:`engine.scenario.loads` reads (the loader validates everything).
"""

from __future__ import annotations

import copy
from typing import Any

from engine.proxy import RR_DEFAULTS

#: How each field is edited; fields not listed follow their value's type.
FIELD_KINDS: dict[str, str] = {
    # text that may be unset (empty = not set)
    "outbound_proxy": "text?",
    "forward_to": "text?",
    "request_uri": "text?",
    "contact": "text?",
    # whole numbers that may be unset
    "force_outbound_flag": "int?",
    "force_no_outbound_flag": "int?",
    # one value per line
    "listen": "lines",
    "aliases": "lines",
    "highlights": "lines",
    "headers": "lines",
    "route": "lines?",
    "record_route_preset": "lines?",
    "responses": "ints?",
    # key = value per line
    "names": "mapping",
    "location": "mapping",
    # several lines of prose
    "description": "long",
    "note": "long",
}

OUTBOUND_OFF: dict[str, Any] = {
    "loaded": False,
    "flow_token_secret": "",
    "force_outbound_flag": None,
    "force_no_outbound_flag": None,
}

USER_AGENT: dict[str, Any] = {
    "name": "",
    "address": "",
    "contact": "",
    "aor": "",
    "display": "",
    "outbound_proxy": None,
    "route_style": "lines",
    "lr_on_as_strict": False,
}

PROXY: dict[str, Any] = {
    "name": "",
    "listen": [],
    "aliases": [],
    "profile": "kamailio-default",
    "loose_route_mode": 0,
    "rr": dict(RR_DEFAULTS),
    "outbound": OUTBOUND_OFF,
    "record_route_params": "",
    "record_route_preset": None,
    "forward_to": None,
    "location": {},
}

REQUEST: dict[str, Any] = {
    "method": "BYE",
    "from": "",
    "request_uri": None,
    "route": None,
    "responses": None,
    "contact": None,
    "headers": [],
    "max_forwards": 70,
    "note": "",
}

DIALOG: dict[str, Any] = {
    "method": "INVITE",
    "from": "",
    "to": "",
    "request_uri": None,
    "route": None,
    "responses": None,
    "headers": [],
    "max_forwards": 70,
    "note": "",
}

TOP: dict[str, Any] = {
    "format": 1,
    "title": "",
    "description": "",
    "highlights": [],
    "call_id": "",
    "user_agents": [],
    "proxies": [],
    "names": {},
    "dialog": DIALOG,
    "requests": [],
}

#: The template of each list's entries, for "Add".
ENTRY_TEMPLATES: dict[str, dict[str, Any]] = {
    "user_agents": USER_AGENT,
    "proxies": PROXY,
    "requests": REQUEST,
}


def _merge(template: dict[str, Any], value: Any) -> Any:
    """``value`` with every key of ``template`` present, in the template's order."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, default in template.items():
        out[key] = copy.deepcopy(default) if key not in value else value[key]
    out.update({k: v for k, v in value.items() if k not in out})
    return out


def editable(doc: dict[str, Any]) -> bool:
    """True when every value of ``doc`` (as :func:`for_editing` gives it) has the shape of
    the composer field that edits it: no key the format does not know, and each value of
    its field's type.  The composer can fix a wrong value of the right shape (a port out
    of range, a name nobody has), not a number written as text or a list where a name
    goes.

    >>> editable(for_editing({"format": 1, "title": "t", "dialog": {"method": "INVITE"}}))
    True
    >>> editable(for_editing({"format": 1, "title": 5, "dialog": {"method": "INVITE"}}))
    False
    """
    for key, value in doc.items():
        if key in ENTRY_TEMPLATES:
            template = ENTRY_TEMPLATES[key]
            if not isinstance(value, list) or not all(_fits(v, template) for v in value):
                return False
        elif key == "dialog":
            if not _fits(value, DIALOG):
                return False
        elif key not in TOP or not _fits(value, TOP[key]):
            return False
    return True


def _fits(value: Any, template: Any) -> bool:
    """Whether ``value`` has the shape of the template's field (see :func:`editable`)."""
    if isinstance(template, bool):
        return isinstance(value, bool)
    if isinstance(template, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(template, str):
        return isinstance(value, str)
    if template is None:  # an optional field: text, a number, or lines of them
        return (
            value is None
            or _scalar(value)
            or (isinstance(value, list) and all(_scalar(v) for v in value))
        )
    if isinstance(template, list):  # lines of text
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if isinstance(template, dict):
        if not isinstance(value, dict):
            return False
        if not template:  # a table: text = text
            return all(isinstance(v, str) for v in value.values())
        return all(k in template and _fits(v, template[k]) for k, v in value.items())
    return False


def _scalar(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def for_editing(data: dict[str, Any]) -> dict[str, Any]:
    """The file's JSON data with every field present (defaults filled in).

    >>> doc = for_editing({"format": 1, "title": "t", "proxies": [{"name": "P"}],
    ...                    "dialog": {"method": "INVITE", "from": "A", "to": "B"}})
    >>> doc["proxies"][0]["loose_route_mode"], doc["proxies"][0]["outbound"]["loaded"]
    (0, False)
    >>> "outbound" in for_file(doc)["proxies"][0]  # not loaded: absent from the file
    False
    """
    doc: dict[str, Any] = _merge(TOP, data)
    doc["dialog"] = _merge(DIALOG, doc["dialog"])
    for key in ("user_agents", "proxies", "requests"):
        if isinstance(doc.get(key), list):
            doc[key] = [_merge(ENTRY_TEMPLATES[key], v) for v in doc[key]]
    for proxy in doc["proxies"] if isinstance(doc.get("proxies"), list) else ():
        if not isinstance(proxy, dict):
            continue
        proxy["rr"] = _merge(dict(RR_DEFAULTS), proxy.get("rr") or {})
        outbound = proxy.get("outbound")
        if outbound is None:
            proxy["outbound"] = copy.deepcopy(OUTBOUND_OFF)
        elif isinstance(outbound, dict) and "loaded" not in outbound:
            proxy["outbound"] = _merge(OUTBOUND_OFF, {**outbound, "loaded": True})
    return doc


def _drop_unset(value: Any) -> Any:
    """Remove keys whose value is None: an unset optional field is an absent key."""
    if isinstance(value, dict):
        return {k: _drop_unset(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_unset(v) for v in value]
    return value


def for_file(doc: dict[str, Any]) -> dict[str, Any]:
    """The edited document as the scenario loader reads it."""
    data = copy.deepcopy(doc)
    for proxy in data.get("proxies") or ():
        if not isinstance(proxy, dict):
            continue
        outbound = proxy.get("outbound")
        if isinstance(outbound, dict) and "loaded" in outbound:
            if not outbound.get("loaded"):
                proxy["outbound"] = None
            else:
                proxy["outbound"] = {
                    k: v for k, v in outbound.items() if k != "loaded" and v not in ("", None)
                }
    # An unloaded outbound module is ``None`` here and so, like every unset field, absent.
    result: dict[str, Any] = _drop_unset(data)
    return result
