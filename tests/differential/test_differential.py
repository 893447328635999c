"""Differential tests: the engine against a real Kamailio 5.6.3 on loopback.

* ``test_recorder_reproduces_shared_vectors`` -- the harness self-test: every shared vector's
  input, recorded by :mod:`.kamailio`, must give exactly its ``expected``.  Needs no engine.
* ``test_generated_vectors_all_recorded`` -- every generated input was recorded.
* ``test_engine_agrees_with_kamailio[<id>]`` -- one test per generated input: the engine's
  ``run_vector`` must give exactly what Kamailio did, and every rr call of the script must
  return what it returned in Kamailio.

The tests marked ``kamailio`` skip when Kamailio is not installed.  See ``DIFFERENTIAL.md``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from .conftest import DiffStats, shared_vectors_dir
from .generate import (
    FLOW_TOKEN_KEY,
    PROXIES,
    SEED,
    calls_loose_route,
    flow_token,
    generate,
    generated_inputs,
    is_flow_token_case,
)
from .kamailio import (
    Recorder,
    RecorderError,
    Recording,
    iter_vector_files,
    parse_script,
    parse_sockaddr,
    split_header_values,
    variant_of,
)

GENERATED = generated_inputs()

# The expected fields and the return code of every call, as Kamailio's are compared.
RunVector = Callable[[Mapping[str, Any]], dict[str, Any]]


def summarize(vector: Mapping[str, Any]) -> str:
    """A few lines that say what the request was."""
    head = vector["raw"].split("\r\n\r\n", 1)[0].split("\r\n")
    interesting = [
        line for line in head[1:] if line.split(":", 1)[0].strip().lower() in {"route", "to"}
    ]
    proxy = vector["proxy"]
    lines = [
        f"  {vector.get('description', '')}",
        f"  request: {head[0]}",
        *(f"           {line}" for line in interesting),
        f"  proxy: listen {proxy['listen']} aliases {proxy.get('aliases', [])} "
        f"modparams {proxy.get('modparams', {})}" + (" outbound" if proxy.get("outbound") else ""),
        f"  source {vector['source']} -> {vector['received_on']}, sent from "
        f"{vector['send_socket']}, flags {vector.get('msg_flags', 0)}, "
        f"script {vector['script']}",
    ]
    return "\n".join(lines)


def describe_disagreement(
    vector: Mapping[str, Any], engine: Mapping[str, Any], kamailio: Mapping[str, Any]
) -> str:
    fields = sorted(set(engine) | set(kamailio))
    differing = [name for name in fields if engine.get(name, "<absent>") != kamailio.get(name)]
    return "\n".join(
        [
            f"{vector['id']}: engine disagrees with Kamailio 5.6.3 on {', '.join(differing)}",
            summarize(vector),
            f"  engine:   {json.dumps(dict(engine), ensure_ascii=False)}",
            f"  kamailio: {json.dumps(dict(kamailio), ensure_ascii=False)}",
        ]
    )


@pytest.fixture(scope="session")
def run_vector() -> RunVector:
    """The engine's ``engine.batch.run_vector_full`` as the fields plus ``call_rcs``; skips
    while that module does not exist."""
    if importlib.util.find_spec("engine.batch") is None:
        pytest.skip("engine.batch (run_vector) does not exist yet")
    from engine.batch import run_vector_full

    def run(vector: Mapping[str, Any]) -> dict[str, Any]:
        done = run_vector_full(vector)
        return {**done.fields, "call_rcs": [result.rc for result in done.results]}

    return run


# --------------------------------------------------------------------------- needs Kamailio


@pytest.mark.kamailio
def test_recorder_reproduces_shared_vectors(
    recorder: Recorder, diff_stats: DiffStats, run_vector: RunVector
) -> None:
    paths = sorted(shared_vectors_dir().glob("*.jsonl"))
    if not paths:
        pytest.skip(f"no shared vectors in {shared_vectors_dir()} (set ROUTELAB_SHARED_VECTORS)")
    # The project's own recorded cases (tests/data/vectors) must stay true to Kamailio too.
    paths += sorted((Path(__file__).resolve().parents[1] / "data" / "vectors").glob("*.jsonl"))
    vectors = list(iter_vector_files(paths))
    recordings = recorder.record_all(vectors)
    mismatches = []
    for vector, recording in zip(vectors, recordings, strict=True):
        if recording.expected != vector["expected"]:
            mismatches.append(
                f"{vector['id']}: "
                + (f"not recorded: {recording.error}" if not recording.ok else "differs")
                + f"\n{summarize(vector)}"
                f"\n  vector:   {json.dumps(vector['expected'])}"
                f"\n  recorded: {json.dumps(recording.expected)}"
            )
            continue
        # The vector format keeps the last rc only; every call's (is_direction(),
        # check_route_param() ...) is compared here, with the engine's.
        engine_rcs = run_vector(vector)["call_rcs"]
        if engine_rcs != list(recording.call_rcs):
            mismatches.append(
                f"{vector['id']}: return codes of the calls differ\n{summarize(vector)}"
                f"\n  engine:   {engine_rcs}\n  kamailio: {list(recording.call_rcs)}"
            )
    diff_stats.shared = (
        f"{len(vectors) - len(mismatches)}/{len(vectors)} recorded vectors (shared and "
        "tests/data/vectors) reproduced by the recorder, each call's return code the engine's"
    )
    assert not mismatches, (
        f"the recorder does not reproduce {len(mismatches)} shared vector(s):\n"
        + "\n".join(mismatches)
    )


@pytest.mark.kamailio
def test_generated_vectors_all_recorded(generated_recordings: list[Recording]) -> None:
    failures = [f"{r.vector['id']}: {r.error}" for r in generated_recordings if not r.ok]
    assert not failures, f"{len(failures)} input(s) not recorded:\n" + "\n".join(failures)


@pytest.mark.kamailio
@pytest.mark.parametrize("index", range(len(GENERATED)), ids=[v["id"] for v in GENERATED])
def test_engine_agrees_with_kamailio(
    index: int,
    generated_recordings: list[Recording],
    run_vector: RunVector,
    diff_stats: DiffStats,
) -> None:
    recording = generated_recordings[index]
    if not recording.ok:
        pytest.skip(f"not recorded (test_generated_vectors_all_recorded fails): {recording.error}")
    vector = recording.as_vector()
    kamailio = {**vector.pop("expected"), "call_rcs": list(recording.call_rcs)}
    try:
        engine = run_vector(vector)
    except Exception as exc:  # an engine crash is a disagreement too; report it the same way
        engine = {"exception": f"{type(exc).__name__}: {exc}"}
    diff_stats.compared += 1
    if engine == kamailio:
        diff_stats.agree += 1
        return
    diff_stats.disagree.append(vector["id"])
    pytest.fail(describe_disagreement(vector, engine, kamailio), pytrace=False)


# --------------------------------------------------------------------------- no Kamailio needed


def test_generator_is_deterministic() -> None:
    assert generate(SEED) == generate(SEED)
    assert generate(SEED + 1) != generate(SEED)


def test_generator_covers_the_brief() -> None:
    vectors = generate(SEED)
    general = [v for v in vectors if not is_flow_token_case(v)]
    flows = [v for v in vectors if is_flow_token_case(v)]
    assert sum(1 for v in general if calls_loose_route(v)) >= 500
    assert len(flows) >= 40
    assert all(v["proxy"].get("outbound") for v in flows)
    # Every proxy configuration of the generator is used.
    assert len({json.dumps(v["proxy"], sort_keys=True) for v in vectors}) == len(PROXIES)
    assert len({v["id"] for v in vectors}) == len(vectors)
    scripts = {tuple(v["script"]) for v in vectors}
    assert ("loose_route()",) in scripts
    assert ("record_route()",) in scripts
    assert ("loose_route()", "record_route()") in scripts
    routes = [v["raw"].count("\r\nRoute:") + v["raw"].count("\r\nroute:") for v in vectors]
    assert min(routes) == 0
    assert max(routes) >= 4
    assert any(", <" in v["raw"] for v in vectors)  # comma-joined entries


def test_generated_inputs_are_recordable() -> None:
    for vector in generate(SEED):
        variant_of(vector)  # script, flags and send socket are acceptable
        for key in ("source", "received_on", "send_socket"):
            parse_sockaddr(vector[key])
        assert set(vector["proxy"]) <= {"listen", "aliases", "modparams", "outbound"}
        assert vector["proxy"] in PROXIES.values()


def test_flow_token_matches_kamailio() -> None:
    # Tokens Kamailio 5.6.3 itself put into Record-Route (shared vectors H01 and J12).
    assert flow_token("udp:127.0.0.1:5060", "udp:127.0.0.1:25061") == (
        "zaL+x1tnTDNo+AF/AAABE8R/AAABYeU="
    )
    assert flow_token("udp:[::1]:5060", "udp:[::1]:25063") == (
        "Fu3WSyWdMNLAiIEAAAAAAAAAAAAAAAAAAAABE8QAAAAAAAAAAAAAAAAAAAABYec="
    )
    assert len(FLOW_TOKEN_KEY) == 20


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        ("<sip:a;lr>", ["<sip:a;lr>"]),
        ("<sip:a;lr>, <sip:b>", ["<sip:a;lr>", "<sip:b>"]),
        ('"x, y" <sip:a;lr>,<sip:b>', ['"x, y" <sip:a;lr>', "<sip:b>"]),
        ("<sip:a;lr", ["<sip:a;lr"]),
        ("sip:a;lr", ["sip:a;lr"]),
        ("<sip:a;lr ;ftag=x> , <sip:b>", ["<sip:a;lr ;ftag=x>", "<sip:b>"]),
    ],
)
def test_split_header_values(value: str, entries: list[str]) -> None:
    assert split_header_values(value) == entries


@pytest.mark.parametrize("entry", ["exit()", 'xlog("x")', "loose_route();drop()", "record_route"])
def test_script_outside_rr_is_refused(entry: str) -> None:
    with pytest.raises(RecorderError):
        parse_script([entry])


@pytest.mark.parametrize("address", ["udp:192.0.2.1:5060", "udp:[2001:db8::1]:5060", "x"])
def test_only_loopback_sockets(address: str) -> None:
    with pytest.raises(RecorderError):
        parse_sockaddr(address)
