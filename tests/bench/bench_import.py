"""Benchmark: list the dialogs of a capture of 10,000 calls through two record-routing proxies.

The capture (generated into a temporary folder) holds 10,000 calls Alice -> P1 -> P2 -> Bob,
each INVITE / 100 / 180 / 200 / ACK / BYE / 200 hop by hop: 21 UDP messages a call, 210,000 in
all, INVITE and 200 OK with an SDP body.  The listing runs in a fresh interpreter (so its peak
memory is its own) through the same code as ``routelab import CAPTURE --list``.

Target: at least 100,000 messages a second (sngrep 1.6.0 manages about 74,000 on this machine,
tshark extracting SIP fields about 43,000) with a peak memory under 400 MiB.

Run: ``python3 tests/bench/bench_import.py [CALLS]``; it prints the messages per second and the
peak memory, and exits with status 1 when a target is missed.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import dpkt

from tests.capture_factory import trapezoid

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATE = 100_000
TARGET_PEAK_MIB = 400

SDP = (
    "v=0\r\no=- 20518 0 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
)
_ETHERNET = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
_IP = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")


def _packed(addr: str) -> tuple[bytes, int]:
    host, port = addr.rsplit(":", 1)
    return bytes(int(x) for x in host.split(".")), int(port)


def generate(path: Path, calls: int = 10_000) -> int:
    """Write the capture; returns the number of messages."""
    packed: dict[str, tuple[bytes, int]] = {}
    count = 0
    start = 1_700_000_000.0
    with open(path, "wb") as fh:
        writer = dpkt.pcap.Writer(fh, snaplen=65535)
        write = writer.writepkt_time
        for n in range(calls):
            for hop in trapezoid(n, body=SDP):
                src = packed.get(hop.src) or packed.setdefault(hop.src, _packed(hop.src))
                dst = packed.get(hop.dst) or packed.setdefault(hop.dst, _packed(hop.dst))
                payload = hop.text.encode()
                udp = _UDP.pack(src[1], dst[1], 8 + len(payload), 0) + payload
                ip = _IP.pack(0x45, 0, 20 + len(udp), count & 0xFFFF, 0, 64, 17, 0, src[0], dst[0])
                write(_ETHERNET + ip + udp, start + count * 0.0005)
                count += 1
    return count


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
from gui.capture import list_dialogs
listing = list_dialogs({path!r})
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "messages": listing.summary.messages, "dialogs": len(listing.catalog),
                  "peak_mib": usage.ru_maxrss / 1024}}))
"""


def measure(path: Path) -> dict[str, float]:
    """List the capture in a fresh interpreter: seconds, messages, dialogs, peak MiB."""
    code = _CHILD.format(root=str(ROOT), path=str(path))
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def measure_cli(path: Path) -> float:
    """Wall-clock seconds of ``routelab import CAPTURE --list`` (output discarded)."""
    entry = "import sys; from gui.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", entry, "import", str(path), "--list", "-q"]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def report(result: dict[str, float]) -> float:
    """Print what :func:`measure` found; returns the messages per second."""
    rate = result["messages"] / result["seconds"]
    print(
        f"listed {int(result['messages'])} messages, {int(result['dialogs'])} dialogs in "
        f"{result['seconds']:.2f} s: {rate:,.0f} messages/s, peak memory "
        f"{result['peak_mib']:.0f} MiB (CPU {result['cpu_seconds']:.2f} s, interpreter "
        "start-up and imports included)"
    )
    return rate


def main(argv: list[str]) -> int:
    calls = int(argv[1]) if len(argv) > 1 else 10_000
    with tempfile.TemporaryDirectory(prefix="routelab-bench-") as tmp:
        path = Path(tmp) / "calls.pcap"
        t0 = time.perf_counter()
        count = generate(path, calls)
        print(
            f"generated {count} messages ({calls} calls, {os.path.getsize(path) / 2**20:.0f} "
            f"MiB) in {time.perf_counter() - t0:.1f} s"
        )
        result = measure(path)
        rate = report(result)
        cli = measure_cli(path)
        print(f"routelab import --list (whole command, start-up included): {cli:.2f} s, "
              f"{count / cli:,.0f} messages/s")  # fmt: skip
        ok = rate >= TARGET_RATE and result["peak_mib"] < TARGET_PEAK_MIB
        print("targets met" if ok else "TARGET MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
