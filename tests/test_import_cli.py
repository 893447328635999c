"""``routelab import``: list the dialogs of a capture, write one as a scenario, report differences.

Driven through ``gui.cli.main`` (the console script's entry point) with generated captures, and
once as a real subprocess to prove no traceback ever reaches the user.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.scenario import loads
from engine.simulate import simulate
from gui.cli import main
from tests.capture_factory import STRAY, trapezoid, udp_frames, write_pcap

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "import sys; from gui.cli import main; sys.exit(main())"


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    hops = trapezoid(1) + trapezoid(2, bye_from_p2_to=STRAY) + trapezoid(3)
    return write_pcap(tmp_path / "calls.pcap", udp_frames(hops))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_list_prints_one_line_per_dialog_call_id_first(
    capture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "import", str(capture), "--list")
    assert status == 0
    lines = out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        "call-1@10.0.0.1",
        "call-2@10.0.0.1",
        "call-3@10.0.0.1",
    ]
    assert lines[0].split("\t") == [
        "call-1@10.0.0.1",
        "INVITE",
        "sip:alice@atlanta.example.com",
        "sip:bob@biloxi.example.com",
        "21",
        "4",
        "2023-11-14T22:13:20.000Z",
    ]
    assert lines[1].split("\t")[4:6] == ["19", "5"]
    assert "routelab: pcap (Ethernet): 61 frames read, 61 SIP messages found" in err


def test_list_is_the_default_and_can_search(
    capture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "import", str(capture), "--search", "CALL-3", "-q")
    assert status == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == ["call-3@10.0.0.1"]


def test_write_a_scenario(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "observed.json"
    status, out, err = run(
        capsys, "import", str(capture), "--call-id", "call-2@10.0.0.1", "-o", str(target)
    )
    assert status == 0
    assert out == ""
    assert f"wrote {target}: 3 user agents, 2 proxies, 3 requests" in err
    scenario = loads(target.read_text(encoding="utf-8"))
    assert scenario.call_id == "call-2@10.0.0.1"
    assert [p.name for p in scenario.proxies] == ["P1", "P2"]
    assert scenario.highlights[0].startswith("P2 sent the BYE to 10.0.0.5:5060 (UA1)")
    assert simulate(scenario).steps
    assert json.loads(target.read_text(encoding="utf-8"))["format"] == 1


def test_report_of_one_dialog(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "import", str(capture), "--call-id", "call-2@10.0.0.1", "--report")
    assert status == 1
    assert out.startswith("# Predicted versus observed: Call-ID call-2@10.0.0.1")
    assert "## Differences (1)" in out
    # Numbered like the hops that agree: the step of the BYE as it reached P2.
    assert "Each hop checked is numbered by the step of the in-dialog request as it reached" in out
    assert (
        "- step 16, P2, BYE: P2 sent the BYE to 10.0.0.5:5060 (UA1), but its route set says "
        "sip:10.0.0.2;lr;ftag=a2 (P1)." in out
    )
    status, out, _ = run(capsys, "import", str(capture), "--call-id", "call-1@10.0.0.1", "--report")
    assert status == 0
    assert "## Differences (0)" in out


def test_report_of_every_dialog(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "import", str(capture), "--report", "-q")
    assert status == 1
    assert out.splitlines() == [
        "call-2@10.0.0.1: 1 difference(s)",
        "  step 16, P2, BYE: P2 sent the BYE to 10.0.0.5:5060 (UA1), but its route set says "
        "sip:10.0.0.2;lr;ftag=a2 (P1).",
        "3 dialogs, 11 in-dialog hops through a proxy checked, 1 difference(s) in 1 dialog(s) "
        "(steps: the request as it reached the proxy)",
    ]


def test_one_dialog_hop_by_hop(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "import", str(capture), "--call-id", "call-2@10.0.0.1", "-q")
    assert status == 0
    assert "P2 -> UA1" in out
    assert "[mismatch]" in out
    assert out.splitlines()[-1].startswith(
        "difference: step 16 (sent on at step 17): P2 sent the BYE"
    )


def test_element_names_merge_and_split(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "import",
        str(capture),
        "--call-id",
        "call-1@10.0.0.1",
        "--report",
        "--element",
        "10.0.0.2:5060=Edge",
        "--element",
        "10.0.0.3:5060=Edge",
    )
    assert status == 0
    assert "| Edge | proxy | 10.0.0.2:5060, 10.0.0.3:5060 | - |" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--call-id", "nope"], "no message with Call-ID 'nope'"),
        (["-o", "x.json"], "-o/--output needs --call-id"),
        (["--list", "--report"], "--list lists dialogs"),
        (["--call-id", "call-1@10.0.0.1", "--element", "junk"], "expected ADDRESS=NAME"),
    ],
    ids=["unknown-call-id", "output-without-call-id", "list-and-report", "bad-element"],
)
def test_usage_errors_are_one_line(
    capture: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, out, err = run(capsys, "import", str(capture), "-q", *args)
    assert status == 2
    assert out == ""
    assert err.startswith("routelab: error: ")
    assert message in err
    assert "Traceback" not in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "import", str(tmp_path / "none.pcap"), "--list")
    assert status == 2
    assert err.strip() == f"routelab: error: {tmp_path / 'none.pcap'}: No such file or directory"


def test_a_dialog_without_its_invite_has_no_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_pcap(tmp_path / "late.pcap", udp_frames(trapezoid(1)[12:]))
    status, _, err = run(
        capsys, "import", str(path), "--call-id", "call-1@10.0.0.1", "-o", str(tmp_path / "s")
    )
    assert status == 2
    assert "cannot write a scenario" in err
    assert "dialog-creating request" in err
    assert not (tmp_path / "s").exists()


def test_garbage_lists_nothing_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "garbage.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(range(256)) * 20)
    status, out, err = run(capsys, "import", str(path), "--list")
    assert status == 2
    assert out == ""
    assert "no SIP message was found (0 frames read)" in err


def test_the_real_command_never_shows_a_traceback(tmp_path: Path) -> None:
    garbage = tmp_path / "x.pcapng"
    garbage.write_bytes(b"\x0a\x0d\x0d\x0a" + b"\xff" * 100)
    for args in (["--list"], ["--report"], ["--call-id", "x", "-o", str(tmp_path / "o.json")]):
        proc = subprocess.run(
            # As the console script runs it (``-m gui.cli`` would load gui.cli twice, as
            # __main__ and as gui.cli, and UsageError would be two different classes).
            [sys.executable, "-c", ENTRY, "import", str(garbage), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert "Traceback" not in proc.stderr
        assert proc.returncode in (0, 2)


def test_a_text_file_without_sip_is_an_error_not_an_empty_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\nfoo\n", encoding="utf-8")
    status, out, err = run(capsys, "import", str(path), "--list")
    assert status == 2
    assert out == ""
    assert "the file is empty" not in err
    assert err.strip().endswith(f"routelab: error: {path}: no SIP message was found (3 lines read)")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    status, _, err = run(capsys, "import", str(empty), "--list", "-q")
    assert status == 2
    assert err.strip() == f"routelab: error: {empty}: the file is empty"


def test_an_element_address_not_in_the_dialog_is_reported(
    capture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys, "import", str(capture), "-q", "--call-id", "call-1@10.0.0.1", "--report",
        "--element", "10.9.9.9:5060=Ghost",
    )  # fmt: skip
    assert status == 0
    assert "--element 10.9.9.9:5060=Ghost: no message of the dialog is from or to" in err
    assert "Ghost" not in out
    status, _, err = run(
        capsys, "import", str(capture), "-q", "--report", "--element", "10.9.9.9=Ghost"
    )
    assert "--element 10.9.9.9=Ghost" in err


def test_naming_one_element_keeps_the_others_names(
    capture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without --element the proxies are P1 (10.0.0.2) and P2 (10.0.0.3).
    status, out, _ = run(
        capsys, "import", str(capture), "-q", "--call-id", "call-1@10.0.0.1", "--report",
        "--element", "10.0.0.2:5060=Edge",
    )  # fmt: skip
    assert status == 0
    assert "| Edge | proxy | 10.0.0.2:5060 |" in out
    assert "| P2 | proxy | 10.0.0.3:5060 |" in out
    assert "| P1 |" not in out
