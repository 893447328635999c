"""Coverage-guided fuzzing (atheris) of the SIP parser and the rr pipeline.

Run: ``python3 tests/fuzz/fuzz_sip.py -max_total_time=600 [CORPUS_DIR]``.
Contract: any text gives a message or a SipParseError, and the rr functions on any
parsed request give an outcome; any other exception is a crash (a finding).
Findings become regression cases in tests/fuzz/regressions/ (replayed by
tests/fuzz/test_regressions.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def one_input(data: bytes) -> None:
    """The fuzz target: parse, then run loose_route and record_route at a fixed proxy."""
    from engine.errors import EngineError
    from engine.message import SipRequest, parse_message
    from engine.rr import Context, forwarded, loose_route, record_route, route_entries

    text = data.decode("utf-8", "replace")
    try:
        msg = parse_message(text)
    except EngineError:
        return
    if not isinstance(msg, SipRequest):
        return
    ctx = Context.start(msg, PROXY, source="udp:127.0.0.1:25062")
    ctx, _ = loose_route(ctx)
    ctx, _ = record_route(ctx)
    route_entries(ctx)
    forwarded(ctx)


def _proxy() -> object:
    from engine.proxy import Outbound, Proxy

    return Proxy.build(
        listen=["udp:127.0.0.1:5060", "udp:[::1]:5060", "tcp:127.0.0.1:5060"],
        aliases=["proxy.example.com", "pbx.example.org:5090"],
        outbound=Outbound(flow_token_secret="x"),
    )


PROXY = None


def main() -> None:
    import atheris

    global PROXY
    with atheris.instrument_imports():
        import engine.headers
        import engine.message
        import engine.outbound
        import engine.proxy
        import engine.rr
        import engine.uri  # noqa: F401
    PROXY = _proxy()  # type: ignore[assignment]
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
