"""Speed: listing the dialogs of a capture (target: 100,000 messages a second or more).

Measured by pytest-benchmark (``pytest tests/bench --benchmark-enable``) on a capture of 500
calls, and at full size (10,000 calls, 210,000 messages, peak memory too) by
``python3 tests/bench/bench_import.py``; never by a timed assertion in the suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gui.capture import TEXT_NOT_SIP, list_dialogs
from tests.bench.bench_import import generate
from tests.bench.bench_import_text import generate as generate_text


def test_bench_list_500_calls(benchmark: Any, tmp_path: Path) -> None:
    path = tmp_path / "calls.pcap"
    assert generate(path, 500) == 500 * 21
    listing = benchmark(list_dialogs, path)
    assert len(listing.catalog) == 500
    assert listing.summary.messages == 500 * 21
    assert not listing.summary.skipped
    first = listing.catalog.dialogs()[0]
    assert (first.method, first.messages, first.elements) == ("INVITE", 21, 4)


def test_bench_list_100_calls_of_ngrep_text(benchmark: Any, tmp_path: Path) -> None:
    path = tmp_path / "calls.ngrep.txt"
    assert generate_text(path, 100) == 100 * 21
    listing = benchmark(list_dialogs, path)
    assert listing.summary.format == "text (packets)"
    assert len(listing.catalog) == 100
    assert listing.summary.messages == 100 * 21
    # Only ngrep's own lines: its two header lines and a '#' before each packet.
    assert listing.summary.skipped == {TEXT_NOT_SIP: 2 + 100 * 21}
    first = listing.catalog.dialogs()[0]
    assert (first.method, first.messages, first.elements) == ("INVITE", 21, 4)
