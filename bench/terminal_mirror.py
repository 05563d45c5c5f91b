"""What mirroring a terminal costs per byte of output, beside baselines measured in the same
run: the mirror filter, the pyte screen model, and the whole TerminalMirror (filter,
coalescing, model, snapshots), each against a plain UTF-8 decode/encode of the same bytes.

    PYTHONPATH=src python bench/terminal_mirror.py [--megabytes 8]

The workload is htop-style redraws (colours, cursor addressing, wide characters) mixed
with plain log lines. Figures are MB/s and ratios to the baseline; nothing is asserted.
Target: the whole mirror keeps up with ≥ 5 MB/s of output on one core (a busy TUI writes
well under 1 MB/s).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from tether.terminal.filter import MirrorFilter
from tether.terminal.mirror import TerminalMirror
from tether.terminal.screen import ScreenModel


def workload(megabytes: float) -> list[bytes]:
    frame = "".join(
        f"\x1b[{row};1H\x1b[3{row % 7}m{row * 37:6d}\x1b[0m  {row % 100:5.1f}%  é日本 ▇▅▃\x1b[K"
        for row in range(1, 30)
    )
    log = "".join(f"2026-12-01 build step {i}: ok\r\n" for i in range(40))
    chunk = (frame + log).encode()
    count = max(1, int(megabytes * 1024 * 1024 / len(chunk)))
    return [chunk] * count


def rate(label: str, pieces: list[bytes], work: Callable[[bytes], object]) -> float:
    total = sum(map(len, pieces))
    start = time.perf_counter()
    for piece in pieces:
        work(piece)
    elapsed = time.perf_counter() - start
    mbps = total / elapsed / 1e6
    print(f"{label:<28} {mbps:8.1f} MB/s")
    return mbps


async def whole_mirror(pieces: list[bytes]) -> float:
    events: list[dict[str, object]] = []
    mirror = TerminalMirror(events.append, 120, 40)
    mirror.start()
    total = sum(map(len, pieces))
    start = time.perf_counter()
    for piece in pieces:
        mirror.feed(piece)
    mirror.close()
    elapsed = time.perf_counter() - start
    mbps = total / elapsed / 1e6
    snapshots = sum(1 for e in events if e["kind"] == "terminal_snapshot")
    print(f"{'TerminalMirror (all of it)':<28} {mbps:8.1f} MB/s   ({snapshots} snapshots)")
    return mbps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=8)
    pieces = workload(parser.parse_args().megabytes)
    baseline = rate("baseline: decode+encode", pieces, lambda b: b.decode().encode())
    figures = {
        "filter": rate("MirrorFilter", pieces, MirrorFilter().feed),
        "screen model": rate("ScreenModel (pyte)", pieces, ScreenModel(120, 40).feed),
        "whole mirror": asyncio.run(whole_mirror(pieces)),
    }
    for name, mbps in figures.items():
        print(f"{name}: {baseline / mbps:.0f}x slower than the baseline")


if __name__ == "__main__":
    main()
