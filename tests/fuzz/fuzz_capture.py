"""Coverage-guided fuzzing (atheris) of the capture importer.

Run: ``python3 tests/fuzz/fuzz_capture.py -max_total_time=600 [CORPUS_DIR]`` (seed it with
``python3 tests/fuzz/fuzz_capture.py --seed CORPUS_DIR``).
Contract: any file gives a listing and, for each dialog, an observed trace with a summary of
what was skipped; only ``CaptureError`` (the file cannot be opened at all) may be raised.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

WORK = Path(tempfile.mkdtemp(prefix="routelab-fuzz-capture-"))


def one_input(data: bytes) -> None:
    """The fuzz target: list the dialogs of the bytes as a file, then analyse each one."""
    from engine.observe import observe, report
    from gui.capture import CaptureError, list_dialogs

    path = WORK / "input.cap"
    path.write_bytes(data)
    try:
        listing = list_dialogs(path, keep_bytes=1 << 20)
    except CaptureError:
        return
    for messages in (listing.kept or {}).values():
        report(observe(messages))


def seed(folder: Path) -> None:
    """Write a few generated captures (several link types, TCP, text, HEP) as the corpus."""
    from tests import capture_factory as cf
    from tests.bench.bench_import_text import generate as ngrep_text

    folder.mkdir(parents=True, exist_ok=True)
    hops = cf.trapezoid(0)
    cf.write_pcap(folder / "eth.pcap", cf.udp_frames(hops))
    cf.write_pcap(folder / "sll.pcap", cf.udp_frames(hops, "sll"), linktype=113)
    cf.write_pcapng(folder / "eth.pcapng", cf.udp_frames(hops))
    (folder / "text.txt").write_text("\r\n\r\n".join(h.text for h in hops), encoding="utf-8")
    (folder / "wireshark.txt").write_text(
        "".join(
            cf.wireshark_frame(i + 1, h, epoch=True, names=i % 2 == 1) for i, h in enumerate(hops)
        ),
        encoding="utf-8",
    )
    ngrep_text(folder / "ngrep.txt", 1)
    logged = [h.text.replace("\r\n", "#015#012") for h in hops]
    (folder / "log.txt").write_text(
        "\n".join(f"2023-11-14T22:13:20 pbx kamailio: {line}" for line in logged),
        encoding="utf-8",
    )
    hep = Path(__file__).resolve().parents[1] / "data" / "hep"
    src, dst = "192.0.2.50:40000", "192.0.2.60:9060"
    cf.write_pcap(
        folder / "hep.pcap",
        [
            cf.ethernet(cf.ip_packet(src, dst, 17, cf.udp(src, dst, path.read_bytes())))
            for path in sorted(hep.glob("*.bin"))
        ],
    )


def main() -> None:
    from tests.fuzz import run

    run(one_input, ["gui.capture", "gui.hep"], seed)


if __name__ == "__main__":
    main()
