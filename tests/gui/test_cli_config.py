"""``routelab config``: each proxy's kamailio.cfg, printed or written into a folder."""

from __future__ import annotations

from pathlib import Path

import pytest

import resources
from engine.kamcfg import scenario_configs
from engine.scenario import loads
from tests.gui.test_cli_trace import run

TOUR = scenario_configs(loads(resources.scenario_text("tour")))


def test_one_proxy_by_name_in_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "config", "tour", "--proxy", "p2")
    assert (status, err) == (0, "")
    assert out == TOUR[1].text


def test_every_proxy_one_after_the_other(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "config", "tour")
    assert status == 0
    parts = out.split("# ==> ")
    assert parts[0] == ""
    assert [p.split(" <==\n", 1)[0] for p in parts[1:]] == [c.name for c in TOUR]
    assert [p.split(" <==\n", 1)[1].rstrip("\n") for p in parts[1:]] == [
        c.text.rstrip("\n") for c in TOUR
    ]


def test_into_a_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "new" / "configs"
    status, out, err = run(capsys, "config", "tour", "-o", str(folder))
    assert (status, out) == (0, "")
    assert err.splitlines() == [f"wrote {folder / c.name}" for c in TOUR]
    for config in TOUR:
        assert (folder / config.name).read_text(encoding="utf-8") == config.text


def test_mistakes_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(capsys, "config", "tour", "--proxy", "P9")
    assert (status, out) == (2, "")
    assert err == (
        "routelab: error: --proxy P9: the scenario has no such proxy "
        "(its proxies: P1, P2, P3, P4)\n"
    )
    a_file = tmp_path / "f"
    a_file.write_text("x", encoding="utf-8")
    status, _, err = run(capsys, "config", "tour", "-o", str(a_file))
    assert status == 2
    assert err == f"routelab: error: -o {a_file}: not a folder\n"
    status, _, err = run(capsys, "config", str(a_file))
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("routelab: error: ")
