"""gui/cli.py: the ``routelab rr`` command (one request, ``--json``, ``--vectors``, ``--check``).

The command must never show a traceback: bad input gives one ``routelab: error:`` line
and exit status 2, a bad vector line gives an ``error`` object and the rest go on.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gui.cli import main

BYE = (
    "BYE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1\r\n"
    "To: <sip:b@x>;tag=1\r\nFrom: <sip:a@y>;tag=2\r\nCall-ID: cli-1\r\nCSeq: 2 BYE\r\n"
    "Route: <sip:127.0.0.1;lr>, <sip:p3.example.org>\r\n\r\n"
)
ARGS = ["--listen", "udp:127.0.0.1:5060", "--alias", "proxy.example.com"]


def vector(vid: str, **changes: Any) -> dict[str, Any]:
    v: dict[str, Any] = {
        "id": vid,
        "proxy": {"listen": ["udp:127.0.0.1:5060"], "aliases": ["proxy.example.com"]},
        "raw": BYE,
        "source": "udp:127.0.0.1:5999",
        "received_on": "udp:127.0.0.1:5060",
        "send_socket": "udp:127.0.0.1:5060",
        "script": ["loose_route()"],
        "expected": {
            "rc": 1,
            "ruri": "sip:p3.example.org",
            "du": None,
            "fs": None,
            "routes": ["<sip:bob@10.0.0.2>"],
        },
    }
    v.update(changes)
    return v


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "vectors.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_one_request_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bye.sip"
    path.write_bytes(BYE.encode())
    assert main(["rr", str(path), *ARGS]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("loose_route() = 1  (routed by the Route set")
    assert "  R-URI          sip:p3.example.org" in lines
    assert "  $du            (unset)" in lines
    assert "  Route          <sip:bob@10.0.0.2>" in lines
    assert "  removed        <sip:127.0.0.1;lr>" in lines
    assert "                 <sip:p3.example.org>" in lines
    assert "  appended       <sip:bob@10.0.0.2>" in lines
    why = out.split("Why:\n")[1].splitlines()
    assert why[0].startswith("  1. [loose_route: in-dialog] In-dialog request")
    assert why[1].startswith("  2. [loose_route: route-is-myself] Route 1 <sip:127.0.0.1;lr>")
    assert why[2].startswith(
        "  3. [loose_route: strict-next-hop] The next hop <sip:p3.example.org>"
    )


@pytest.mark.parametrize("argv", [["rr"], ["rr", "-"]], ids=["no-file", "dash"])
def test_one_request_from_stdin(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(BYE.replace("\r\n", "\n")))
    assert main([*argv, *ARGS]) == 0
    assert capsys.readouterr().out.startswith("loose_route() = 1")


def test_json_output(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(BYE))
    assert main(["rr", "--json", "--script", 'record_route(";p=1"); loose_route()', *ARGS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rc"] == 1
    assert out["ruri"] == "sip:p3.example.org"
    assert out["routes"] == ["<sip:bob@10.0.0.2>"]
    assert out["record_routes"] == ["<sip:127.0.0.1;lr;ftag=2;p=1>"]
    assert [c["call"] for c in out["calls"]] == ['record_route(";p=1")', "loose_route()"]
    lr = out["calls"][1]
    assert (lr["rc"], lr["path"], lr["appended"]) == (1, "A", "<sip:bob@10.0.0.2>")
    assert lr["removed"] == ["<sip:127.0.0.1;lr>", "<sip:p3.example.org>"]
    assert [s["rule"] for s in lr["steps"]] == ["in-dialog", "route-is-myself", "strict-next-hop"]
    assert lr["meaning"].startswith("routed by the Route set")


def test_vectors_keep_order_and_report_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(
        tmp_path,
        json.dumps(vector("first")),
        '{"id": "broken", "raw": ',  # malformed JSON
        json.dumps(vector("bad-request", raw="HELLO\r\n\r\n")),
        "",  # blank lines are skipped
        json.dumps(
            vector(
                "bad-modparam", proxy={"listen": ["udp:127.0.0.1:5060"], "modparams": {"nope": 1}}
            )
        ),
        '{"id": "huge", "n": ' + "9" * 5000 + "}",  # json.loads() refuses this with ValueError
        json.dumps(vector("last")),
    )
    assert main(["rr", "--vectors", str(path)]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["id"] for r in records] == [
        "first",
        None,
        "bad-request",
        "bad-modparam",
        None,
        "last",
    ]
    assert records[0] == {
        "id": "first",
        "rc": 1,
        "ruri": "sip:p3.example.org",
        "du": None,
        "fs": None,
        "routes": ["<sip:bob@10.0.0.2>"],
    }
    assert records[5] == {**records[0], "id": "last"}
    assert records[1]["line"] == 2
    # The line stops after '"raw": ': the value is missing at its end, column 25.
    assert "malformed JSON line (Expecting value at column 25)" in records[1]["error"]
    assert "not a SIP request or status line" in records[2]["error"]
    assert "unknown rr modparam 'nope'" in records[3]["error"]
    assert (records[4]["line"], "malformed JSON line" in records[4]["error"]) == (6, True)
    assert captured.err.count("routelab: ") == 4
    assert "Traceback" not in captured.err


def test_vectors_all_good_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lines(tmp_path, json.dumps(vector("a")), json.dumps(vector("b")))
    assert main(["rr", "--vectors", str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_check_lists_the_failing_vector_and_its_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = vector("wrong")
    wrong["expected"] = {**wrong["expected"], "du": "sip:x", "routes": []}
    path = write_lines(tmp_path, json.dumps(vector("right")), json.dumps(wrong))
    assert main(["rr", "--check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "FAIL wrong:",
        '    du: expected "sip:x", got null',
        '    routes: expected [], got ["<sip:bob@10.0.0.2>"]',
        "1 passed, 1 failed",
    ]


def test_check_counts_bad_lines_as_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_expected = vector("no-expected")
    del no_expected["expected"]
    path = write_lines(tmp_path, "not json", json.dumps(no_expected), json.dumps(vector("ok")))
    assert main(["rr", "--check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL line 1: ")
    assert out[1].startswith("FAIL no-expected: ")
    assert "no 'expected' object" in out[1]
    assert out[-1] == "1 passed, 2 failed"


def test_check_all_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lines(tmp_path, json.dumps(vector("a")))
    assert main(["rr", "--check", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["1 passed, 0 failed"]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        pytest.param(["rr", "/no/such/file.sip"], "", "/no/such/file.sip: ", id="missing-file"),
        pytest.param(
            ["rr", "--vectors", "/no/such.jsonl"], "", "/no/such.jsonl: ", id="missing-vectors"
        ),
        pytest.param(["rr"], "HELLO\r\n\r\n", "<stdin>: line 1, column 1", id="unparsable"),
        pytest.param(["rr"], "SIP/2.0 200 OK\r\n\r\n", "this is a response", id="response"),
        pytest.param(["rr", "--listen", "udp:nowhere:5060"], BYE, "listen", id="bad-listen"),
        pytest.param(
            ["rr", "--modparam", "enable_double_rr"], BYE, "NAME=VALUE", id="bad-modparam"
        ),
        pytest.param(
            ["rr", "--modparam", "nope=1"], BYE, "unknown rr modparam", id="unknown-modparam"
        ),
        pytest.param(
            ["rr", "--script", "loose_route("], BYE, "expected name(arguments)", id="bad-script"
        ),
        pytest.param(
            ["rr", *ARGS, "--received-on", "udp:10.9.9.9:5060"],
            BYE,
            "not one of",
            id="foreign-socket",
        ),
        pytest.param(
            ["rr", "--outbound", "--force-outbound-flag", "-5"], BYE, "0..63", id="bad-flag"
        ),
        pytest.param(
            ["rr"],
            BYE.replace("CSeq: 2 BYE\r\n", ""),
            "Kamailio 5.6.3 drops this request before the script runs: it has no CSeq header",
            id="dropped-by-the-core",
        ),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    argv: list[str],
    stdin: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("routelab: error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_never_a_traceback_in_a_real_process(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        "[" * 100_000 + "]" * 100_000,  # nested deeper than json.loads() can follow
        json.dumps(vector("bad", script=["loose_route()", 7])),
        json.dumps(vector("good")),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "gui.cli", "rr", "--vectors", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r.get("error") is None for r in records] == [False, False, True]
    assert records[-1]["id"] == "good"


def test_one_request_copied_from_a_log_reads_like_the_bare_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = tmp_path / "bye.sip"
    bare.write_bytes(BYE.encode())
    assert main(["rr", "--json", str(bare), *ARGS]) == 0
    plain = capsys.readouterr()
    logged = tmp_path / "syslog.txt"
    logged.write_text(
        "Nov 29 10:00:01 pbx kamailio[812]: INFO: <script>: got "
        + BYE.replace("\r\n", "#015#012")
        + "\n",
        encoding="utf-8",
    )
    assert main(["rr", "--json", str(logged), *ARGS]) == 0
    read = capsys.readouterr()
    assert json.loads(read.out) == json.loads(plain.out)
    assert plain.err == ""
    assert read.err.startswith(f"{logged}: read as copied from a log or capture: ")
    assert "#015#012" in read.err


def test_a_bad_request_reports_its_own_error_not_the_log_readings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.sip"
    path.write_text(BYE.replace("CSeq: 2 BYE", "CSeq 2 BYE"), encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["rr", str(path), *ARGS])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "line 6, column 1: header line without ':'" in err


NGREP_BYE = (
    "U 2026/11/30 10:01:02.123456 10.0.0.5:5060 -> 10.0.0.1:5060 #12\n"
    "BYE sip:bob@10.0.0.9:5060 SIP/2.0.\n"
    "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK776.\n"
    "From: <sip:alice@example.com>;tag=abc.\n"
    "To: <sip:bob@example.com>;tag=xyz.\n"
    "Call-ID: 1234@10.0.0.5.\n"
    "CSeq: 3 BYE.\n"
    "Route: <sip:10.0.0.1;lr;ftag=abc>,<sip:proxy2.example.net;lr>.\n"
    "Content-Length: 0.\n"
    ".\n"
)


def test_a_captures_packet_line_says_where_the_proxy_is_without_listen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As the paste dialog reads it: the request went to 10.0.0.1, so that is this proxy,
    # and its Route is removed (the default 127.0.0.1 would take it for a foreign hop).
    path = tmp_path / "ngrep.txt"
    path.write_text(NGREP_BYE, encoding="utf-8")
    assert main(["rr", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["du"] == "sip:proxy2.example.net;lr"
    assert out["routes"] == ["<sip:proxy2.example.net;lr>"]
    assert "no --listen: the proxy listens on udp:10.0.0.1:5060" in captured.err
    # --listen given: it is used, and nothing is guessed.
    assert main(["rr", str(path), "--json", "--listen", "udp:10.0.0.2:5060"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["du"] == "sip:10.0.0.1;lr;ftag=abc"
    assert "no --listen" not in captured.err


def test_without_listen_the_proxy_is_guessed_from_its_route_and_said(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both halves of a double Record-Route name the proxy: both become its sockets, so
    # the pair is removed and the socket of the second half forced.
    pair = "Route: <sip:10.0.0.1;r2=on;lr>, <sip:[2001:db8::1];r2=on;lr>, <sip:p3.example.org;lr>"
    bye = BYE.replace("Route: <sip:127.0.0.1;lr>, <sip:p3.example.org>", pair)
    monkeypatch.setattr(sys, "stdin", io.StringIO(bye))
    assert main(["rr", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["routes"] == ["<sip:p3.example.org;lr>"]
    assert out["fs"] == "udp:[2001:db8::1]:5060"
    assert out["proxy"] == {
        "listen": ["udp:10.0.0.1:5060", "udp:[2001:db8::1]:5060"],
        "aliases": [],
    }
    assert (
        "no --listen: the proxy listens on udp:10.0.0.1:5060, udp:[2001:db8::1]:5060 (guessed "
        "from the top Route <sip:10.0.0.1;r2=on;lr> and its r2 partner"
    ) in captured.err
    assert "stands in" not in captured.err
    # A name: an alias of a placeholder address, which is said to be one.
    named = BYE.replace("<sip:127.0.0.1;lr>", "<sip:edge.example.com;lr>")
    monkeypatch.setattr(sys, "stdin", io.StringIO(named))
    assert main(["rr", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["ruri"] == "sip:p3.example.org"  # its Route removed: p3 is next (strict)
    assert out["routes"] == ["<sip:bob@10.0.0.2>"]
    assert "with alias edge.example.com" in captured.err
    assert "192.0.2.1 stands in for an address the text does not give" in captured.err


@pytest.mark.parametrize("source", ["127.0.0.1:25061", "foo", "udp:192.0.2.1:99999"])
def test_a_source_that_is_not_proto_ip_port_is_refused(
    source: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(BYE))
    with pytest.raises(SystemExit) as info:
        main(["rr", *ARGS, "--source", source])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"routelab: error: --source {source!r}: expected proto:ip:port")
    assert len(err.strip().splitlines()) == 1


def test_without_listen_the_sockets_given_are_the_proxys_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    named = BYE.replace("<sip:127.0.0.1;lr>", "<sip:edge.example.com;lr>")
    monkeypatch.setattr(sys, "stdin", io.StringIO(named))
    argv = ["rr", "--json", "--received-on", "udp:127.0.0.1:5060"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["proxy"]["listen"] == [
        "udp:127.0.0.1:5060",
        "udp:192.0.2.1:5060",
    ]
    # Both halves of an r2 pair on one address: one socket.
    pair = BYE.replace(
        "<sip:127.0.0.1;lr>, <sip:p3.example.org>",
        "<sip:10.0.0.1;r2=on;lr>, <sip:10.0.0.1;r2=on;lr>, <sip:p3.example.org;lr>",
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(pair))
    assert main(["rr", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["proxy"]["listen"] == ["udp:10.0.0.1:5060"]
