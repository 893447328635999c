"""The atheris fuzz targets, run on their seed corpora and on every saved finding.

The long coverage-guided runs happen outside the suite (``python3 tests/fuzz/fuzz_*.py
-max_total_time=600``); this test keeps the targets working and replays each input
that once crashed (``tests/fuzz/regressions/<target>-*``), so a finding never returns.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, shared_dir
from tests.fuzz import fuzz_capture, fuzz_paste, fuzz_scenario, fuzz_sip

REGRESSIONS = Path(__file__).parent / "regressions"


def _seeds() -> list[tuple[str, Callable[[bytes], None], bytes]]:
    fuzz_sip.PROXY = fuzz_sip._proxy()  # type: ignore[assignment]
    cases: list[tuple[str, Callable[[bytes], None], bytes]] = []
    for path in sorted((shared_dir() / "vectors").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines()[:40]:
            raw = json.loads(line)["raw"].encode()
            cases.append(("sip", fuzz_sip.one_input, raw))
            cases.append(("sip", fuzz_sip.one_input, raw[: len(raw) // 2]))
    for path in sorted((ROOT / "resources" / "scenarios").glob("*.json")):
        data = path.read_bytes()
        cases.append(("scenario", fuzz_scenario.one_input, data))
        cases.append(("scenario", fuzz_scenario.one_input, data[: len(data) // 3]))
    corpus = Path(tempfile.mkdtemp(prefix="routelab-capture-seeds-"))
    fuzz_capture.seed(corpus)
    for path in sorted(corpus.iterdir()):
        data = path.read_bytes()
        cases.append(("capture", fuzz_capture.one_input, data))
        cases.append(("capture", fuzz_capture.one_input, data[: len(data) * 2 // 3]))
    for text in fuzz_paste.SEEDS.values():
        data = text.encode()
        cases.append(("paste", fuzz_paste.one_input, data))
        cases.append(("paste", fuzz_paste.one_input, data[: len(data) // 2]))
    targets = {
        "sip": fuzz_sip.one_input,
        "scenario": fuzz_scenario.one_input,
        "capture": fuzz_capture.one_input,
        "paste": fuzz_paste.one_input,
    }
    for path in sorted(REGRESSIONS.glob("*-*")):
        name = path.name.split("-", 1)[0]
        if name in targets:
            cases.append((path.name, targets[name], path.read_bytes()))
    return cases


CASES = _seeds()


@pytest.mark.parametrize(("name", "target", "data"), CASES, ids=[c[0] for c in CASES])
def test_fuzz_target_never_crashes(name: str, target: Callable[[bytes], None], data: bytes) -> None:
    target(data)  # any exception but the documented parse errors fails the test
