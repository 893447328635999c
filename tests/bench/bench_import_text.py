"""Benchmark: list the dialogs of the same calls as ``bench_import.py``, written as the text
``ngrep -W byline -t port 5060`` prints (each message under its ``U src -> dst`` line, a '.'
for each CR).

Text goes through :func:`engine.logtext.clean` message by message (prefixes, dots, rulers,
Content-Length), so it is read more slowly than a pcap; there is no target, the figures are
printed for the README.

Run: ``python3 tests/bench/bench_import_text.py [CALLS]`` (default 2,000 calls, 42,000
messages).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_import import SDP, measure, measure_cli, report
from tests.capture_factory import trapezoid


def _bare(address: str) -> str:
    host, port = address.rsplit(":", 1)
    return f"{host.strip('[]')}:{port}"


def generate(path: Path, calls: int) -> int:
    """Write the calls as ngrep text; returns the number of messages."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("interface: eth0 (10.0.0.0/255.255.255.0)\nfilter: ( port 5060 )\n")
        for n in range(calls):
            for hop in trapezoid(n, body=SDP):
                count += 1
                stamp = f"2023/11/14 22:{count // 60000 % 60:02d}:{count // 1000 % 60:02d}.000000"
                fh.write(f"#\nU {stamp} {_bare(hop.src)} -> {_bare(hop.dst)} #{count}\n")
                fh.write("".join(line + ".\n" for line in hop.text.split("\r\n")))
                fh.write("\n")
    return count


def main(argv: list[str]) -> int:
    calls = int(argv[1]) if len(argv) > 1 else 2_000
    with tempfile.TemporaryDirectory(prefix="routelab-bench-") as tmp:
        path = Path(tmp) / "calls.ngrep.txt"
        count = generate(path, calls)
        size = os.path.getsize(path) / 2**20
        print(f"generated {count} messages ({calls} calls, {size:.0f} MiB of ngrep text)")
        report(measure(path))
        cli = measure_cli(path)
        print(f"routelab import --list (whole command): {cli:.2f} s, {count / cli:,.0f} messages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
