"""Fixtures for the differential run: a real Kamailio records, the engine must agree.

Environment:

* ``ROUTELAB_KAMAILIO`` -- the kamailio binary (default: ``/usr/sbin/kamailio`` or ``PATH``).
* ``ROUTELAB_DIFF_SEED`` -- generator seed (default :data:`.generate.SEED`).
* ``ROUTELAB_DIFF_DUMP=path`` -- write the generated vectors, with what Kamailio did as their
  ``expected``, to this JSONL file (replay them with the engine's CLI).
* ``ROUTELAB_SHARED_VECTORS`` -- the shared vectors directory (default ``/work/shared/vectors``).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .generate import calls_loose_route, diff_seed, generated_inputs, is_flow_token_case
from .kamailio import Recorder, Recording, find_kamailio

KAMAILIO_VERSION = "5.6.3"


@dataclass
class DiffStats:
    """Counts for the terminal summary."""

    requests: int = 0
    loose_route: int = 0
    flow_token: int = 0
    recorded: int = 0
    compared: int = 0
    agree: int = 0
    disagree: list[str] = field(default_factory=list)
    startups: int = 0
    record_seconds: float = 0.0
    shared: str = ""
    # tests/differential/test_chain.py: scenarios played on real proxies
    chain_scenarios: int = 0
    chain_messages: int = 0
    chain_differ: int = 0
    chain_retried: int = 0  # played again after a Kamailio ended at start-up
    capture_scenarios: int = 0  # captures of real proxies read by the capture analysis
    capture_checks: int = 0
    capture_differences: int = 0


STATS_KEY = pytest.StashKey[DiffStats]()


def shared_vectors_dir() -> Path:
    return Path(os.environ.get("ROUTELAB_SHARED_VECTORS", "/work/shared/vectors"))


@pytest.fixture(scope="session")
def diff_stats(pytestconfig: pytest.Config) -> DiffStats:
    return pytestconfig.stash.setdefault(STATS_KEY, DiffStats())


@pytest.fixture(scope="session")
def kamailio_binary() -> str:
    """The kamailio binary; skips when absent, fails when it is not 5.6.3."""
    binary = os.environ.get("ROUTELAB_KAMAILIO") or find_kamailio()
    if binary is None or not os.access(binary, os.X_OK):
        pytest.skip(
            f"kamailio not installed ({binary or 'no /usr/sbin/kamailio, none on PATH'} is not "
            "executable; ROUTELAB_KAMAILIO names another binary): the differential tests need "
            "Kamailio 5.6.3 (apt-get install kamailio kamailio-outbound-modules)"
        )
    version = subprocess.run(
        [binary, "-v"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    if f"kamailio {KAMAILIO_VERSION} " not in version:
        pytest.fail(
            f"{binary} is not Kamailio {KAMAILIO_VERSION} (it says "
            f"{version.splitlines()[0] if version else 'nothing'!r}); the vectors and the engine "
            f"model {KAMAILIO_VERSION}"
        )
    return binary


@pytest.fixture(scope="session")
def recorder(kamailio_binary: str) -> Iterator[Recorder]:
    """One recorder for the session; its Kamailio processes never outlive it."""
    with Recorder(kamailio_binary) as rec:
        yield rec


@pytest.fixture(scope="session")
def generated_recordings(recorder: Recorder, diff_stats: DiffStats) -> list[Recording]:
    """Every generated input, recorded with the real Kamailio (in generation order)."""
    inputs = generated_inputs()
    started = time.monotonic()
    before = recorder.startups
    recordings = recorder.record_all(inputs)
    diff_stats.record_seconds = time.monotonic() - started
    diff_stats.startups = recorder.startups - before
    diff_stats.requests = len(inputs)
    diff_stats.loose_route = sum(1 for v in inputs if calls_loose_route(v))
    diff_stats.flow_token = sum(1 for v in inputs if is_flow_token_case(v))
    diff_stats.recorded = sum(1 for r in recordings if r.ok)
    dump = os.environ.get("ROUTELAB_DIFF_DUMP")
    if dump:
        with Path(dump).open("w", encoding="utf-8") as handle:
            for recording in recordings:
                if recording.ok:
                    handle.write(json.dumps(recording.as_vector(), ensure_ascii=False) + "\n")
    return recordings


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = terminalreporter.config.stash.get(STATS_KEY, None)
    if stats is None or (not stats.requests and not stats.shared and not stats.chain_scenarios):
        return
    terminalreporter.section("RouteLab differential (real Kamailio 5.6.3 vs engine)")
    if stats.shared:
        terminalreporter.write_line(f"harness: {stats.shared}")
    if stats.requests:
        terminalreporter.write_line(
            f"generated (seed {diff_seed()}): {stats.requests} requests, "
            f"{stats.loose_route} calling loose_route, {stats.flow_token} flow-token cases; "
            f"{stats.recorded} recorded by {stats.startups} Kamailio start-up(s) "
            f"in {stats.record_seconds:.1f}s"
        )
    if stats.compared:
        terminalreporter.write_line(
            f"differential: {stats.compared} requests, {stats.agree} agree, "
            f"{len(stats.disagree)} disagree"
        )
        for ident in stats.disagree[:20]:
            terminalreporter.write_line(f"  disagree: {ident}")
        if len(stats.disagree) > 20:
            terminalreporter.write_line(f"  ... and {len(stats.disagree) - 20} more")
    if stats.chain_scenarios:
        terminalreporter.write_line(
            f"chain: {stats.chain_scenarios} scenarios played on real Kamailio proxies, "
            f"{stats.chain_messages} messages and hop decisions compared with the simulation, "
            f"{stats.chain_differ} differ"
            + (
                f" ({stats.chain_retried} played twice: a Kamailio ended at start-up)"
                if stats.chain_retried
                else ""
            )
        )
    if stats.capture_scenarios:
        terminalreporter.write_line(
            f"captures: the packets of {stats.capture_scenarios} of those runs read by the "
            f"capture analysis, {stats.capture_checks} in-dialog hops checked against "
            f"loose_route(), {stats.capture_differences} differences"
        )
