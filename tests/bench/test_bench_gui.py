"""pytest-benchmark entry points for the GUI figures (run once as tests by default;
``pytest tests/bench --benchmark-enable`` measures them)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication
from pytest_benchmark.fixture import BenchmarkFixture

from tests.bench.bench_gui import make_window


@pytest.mark.parametrize("proxies", [10, 50])
def test_bench_one_step(benchmark: BenchmarkFixture, qapp: QApplication, proxies: int) -> None:
    window = make_window(proxies)
    session = window.session
    session.first_step()

    def step() -> None:
        if not session.next_step():
            session.first_step()
        QApplication.processEvents()

    benchmark(step)
    assert session.current is not None
    window.close()


def test_bench_edit(benchmark: BenchmarkFixture, qapp: QApplication) -> None:
    window = make_window(10)
    titles = iter(range(10**9))

    def edit() -> None:
        window.composer._edit(("title",), f"edit {next(titles)}")
        QApplication.processEvents()

    benchmark(edit)
    assert window.session.scenario is not None
    assert window.session.scenario.title.startswith("edit ")
    window.session.undo_stack.setClean()
    window.close()
