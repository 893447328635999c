"""Engine test hooks: the fuzz totals go into the terminal summary."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Only when the fuzz test ran in this session (its module filled RESULTS).
    fuzz = sys.modules.get("tests.engine.test_fuzz")
    results = getattr(fuzz, "RESULTS", None)
    if results:
        terminalreporter.write_line(
            f"fuzz: {results['inputs']} inputs, {results['crashes']} crashes, "
            f"{results['violations']} contract violations"
        )
