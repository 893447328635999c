"""``routelab trace``: readable hops, --json, library names, and exit status 2 for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import resources
from engine.trace import from_jsonable
from gui.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_trace_a_library_scenario_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "trace", "rfc3261-16-12-1-2-strict-proxy")
    assert status == 0
    assert out.startswith("RFC 3261 16.12.1.2: traversing a strict-routing proxy\n")
    # Requests and steps count from 1, as in the app.
    assert "[1] INVITE from U1\n  #1   U1 -> P1" in out
    assert "[3] BYE from U2" in out
    assert "P4 -> P3" in out
    assert "BYE sip:p3.middle.com SIP/2.0   rc 1   [loose-to-strict, local-route-removed]" in out
    assert "[strict-next-hop]" in out  # the why
    assert "R-URI   sip:caller@u1.example.com -> sip:p3.middle.com" in out


def test_trace_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "trace", "tour", "--json")
    assert status == 0
    trace = from_jsonable(json.loads(out))
    assert trace.title.startswith("Tour")
    assert trace.requests[0] == "INVITE from Alice"


def test_trace_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(resources.scenario_text("no-record-route"), encoding="utf-8")
    status, out, _ = run(capsys, "trace", str(path))
    assert status == 0
    assert "No record-routing" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": 1, "title": "x", "proxies": [{"name": "P", "lisen": []}]}', "did you mean"),
        ("{", "not valid JSON"),
        (
            resources.scenario_text("tour").replace("udp:192.0.2.1:5060", "udp:192.0.2.1:70000"),
            "proxies[0].listen[0]: port 70000 is out of range",
        ),
    ],
)
def test_bad_files_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    status, out, err = run(capsys, "trace", str(path))
    assert status == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_missing_file_and_unknown_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, "trace", "no-such-scenario")
    assert status == 2
    assert "no such file, and no library scenario" in err
    status, _, err = run(capsys, "trace", str(tmp_path))
    assert status == 2
    assert "not a file" in err
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"title": "\xe9"}')
    status, _, err = run(capsys, "trace", str(bad))
    assert status == 2
    assert "not UTF-8" in err
