"""Coverage-guided fuzzing (atheris) of the paste dialog's reading: any text, as the user
pasted it.

Run: ``python3 tests/fuzz/fuzz_paste.py -max_total_time=600 [CORPUS_DIR]`` (seed it with
``python3 tests/fuzz/fuzz_paste.py --seed CORPUS_DIR``).
Contract: the text reads as a request, a response or one ``SipParseError``; a request gives a
proxy guess, ``loose_route()``'s outcome and a scenario or a ``ScenarioError``; a response
gives its route sets; a Route set alone wraps or not. No other exception.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# What a capture tool or a log prints around a message: the seeds wrap a request in each.
_BYE = [
    "BYE sip:bob@192.0.2.20 SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1",
    "Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>",
    "From: <sip:alice@a.example>;tag=1",
    "To: <sip:bob@b.example>;tag=9",
    "Call-ID: abc@192.0.2.10",
    "CSeq: 2 BYE",
    "Content-Length: 0",
]
SEEDS = {
    "plain.txt": "\n".join(_BYE) + "\n\n",
    "ngrep.txt": "#\nU 192.0.2.10:5060 -> 192.0.2.1:5060 #3\n"
    + "".join(f"{line}.\n" for line in _BYE)
    + ".\n\n#\n",
    "freeswitch.txt": "send 402 bytes to udp/[192.0.2.1]:5060 at 10:00:01.123456:\n   "
    + "-" * 72
    + "\n"
    + "".join(f"   {line}\n" for line in _BYE)
    + "   \n   "
    + "-" * 72
    + "\n",
    "syslog.txt": "".join(f"Nov 29 10:00:01 pbx kamailio[812]: {line}\n" for line in _BYE),
    "rsyslog.txt": "Nov 29 10:00:01 pbx kamailio[812]: INFO: <script>: "
    + "#015#012".join(_BYE)
    + "#015#012#015#012\n",
    "tcpdump.txt": "10:00:01.1 IP 192.0.2.10.5060 > 192.0.2.1.5060: SIP: "
    + _BYE[0]
    + "\nE....@.@........."
    + "\n".join(_BYE)
    + "\n\n",
    "response.txt": "SIP/2.0 200 OK\nRecord-Route: <sip:p2.example.com;lr>\n"
    "Record-Route: <sip:192.0.2.1;lr>\n" + "\n".join(_BYE[3:7]) + "\nContact: <sip:b@192.0.2.20>\n",
    "routes.txt": "Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>\n",
}


def one_input(data: bytes) -> None:
    """The fuzz target: read the text as pasted and take it as far as the dialog does."""
    from engine.errors import ConfigError, ScenarioError, SipParseError
    from engine.paste import (
        PastedResponse,
        build_proxy,
        closest_scenario,
        guess_proxy,
        read_pasted_message,
        read_response,
        run_loose_route,
        wrap_route_set,
    )

    text = data.decode("utf-8", "replace")
    wrap_route_set(text)
    try:
        pasted = read_pasted_message(text)
    except SipParseError:
        return
    if isinstance(pasted, PastedResponse):
        read_response(pasted.response)
        return
    guess = guess_proxy(pasted.request, pasted.clean.packet)
    try:
        proxy = build_proxy(guess.listen, guess.aliases)
    except ConfigError:
        return
    run_loose_route(pasted.request, proxy)
    try:
        closest_scenario(pasted, proxy)
    except ScenarioError:
        return


def seed(folder: Path) -> None:
    """Write the seed texts as the corpus."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SEEDS.items():
        (folder / name).write_text(text, encoding="utf-8")


def main() -> None:
    from tests.fuzz import run

    run(one_input, ["engine.logtext", "engine.packetline", "engine.paste"], seed)


if __name__ == "__main__":
    main()
