"""Every vector recorded from a real Kamailio 5.6.3 must be reproduced exactly.

The files in ../shared/vectors may grow; each line becomes one test case.  So does
each line of tests/data/vectors: cases this project recorded itself (with
tests/differential's recorder) where the engine once differed from Kamailio.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.batch import compare, run_vector
from tests.conftest import shared_dir

VECTOR_DIR = shared_dir() / "vectors"
OWN_VECTOR_DIR = Path(__file__).resolve().parents[1] / "data" / "vectors"
VECTOR_FILES = sorted(VECTOR_DIR.glob("*.jsonl")) + sorted(OWN_VECTOR_DIR.glob("*.jsonl"))


def _load() -> list[Any]:
    cases = []
    for path in VECTOR_FILES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                vector = json.loads(line)
                cases.append(pytest.param(vector, id=vector.get("id", f"{path.name}:{n}")))
    return cases


CASES = _load()


def test_vectors_are_present() -> None:
    # The brief counts 174 shared ones today; the files may only grow.
    own = sum(
        len(p.read_text(encoding="utf-8").splitlines())
        for p in VECTOR_FILES
        if p.parent == OWN_VECTOR_DIR
    )
    assert own >= 1785
    assert len(CASES) - own >= 174, f"expected the shared vectors in {VECTOR_DIR}"


@pytest.mark.parametrize("vector", CASES)
def test_vector(vector: dict[str, Any]) -> None:
    actual = run_vector(vector)
    expected = vector["expected"]
    diff = compare(expected, actual)
    assert not diff, {k: {"kamailio": expected[k], "engine": actual.get(k)} for k in diff}
    # The engine reports exactly the fields the script calls for.
    assert set(actual) == set(expected)


def test_check_command_passes_every_vector(tmp_path: Path) -> None:
    joined = tmp_path / "all.jsonl"
    joined.write_text("".join(p.read_text(encoding="utf-8") for p in VECTOR_FILES))
    proc = subprocess.run(
        [sys.executable, "-m", "gui.cli", "rr", "--check", str(joined)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"{len(CASES)} passed, 0 failed"
