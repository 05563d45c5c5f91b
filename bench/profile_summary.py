"""Where the time goes: a summary of the py-spy profiles `bench/e2e.py --profile DIR` wrote.

    .venv/bin/python bench/profile_summary.py DIR/flood-up-hub.txt [--top 30] [--match tether]

py-spy's raw format is one collapsed stack a line (`thread;outer (file:line);…;leaf N`),
idle samples left out. For each function this prints its self share (leaf samples) and
its inclusive share (stacks it appears in), as a percentage of the process's busy
samples and — when the run's `*-meta.json` is beside the file — of one core's time over
the sampled seconds. `--match` keeps the inclusive list to frames whose text contains
it; `--under FUNC` shows instead what the time inside FUNC goes to (its callees).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    """`func (…/site-packages/pkg/mod.py:12)` → `func (pkg/mod.py:12)`."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/src/", "/lib/python3", "bench/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    line = f":{match['line']}" if match["line"] else ""
    return f"{match['func']} ({path}{line})"


def function_of(frame: str) -> str:
    """A frame without its line number (so a function's lines add up)."""
    return re.sub(r":\d+\)$", ")", frame)


def load(path: Path) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """(self, inclusive, per-thread) sample counts and the total."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for raw in path.read_text(errors="replace").splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [short(f) for f in stack.split(";") if f]
        if frames and frames[0].startswith(("thread", "process")):
            threads[frames[0]] += count
            frames = frames[1:]
        if not frames:
            continue
        total += count
        own[function_of(frames[-1])] += count
        for name in {function_of(f) for f in frames}:
            inclusive[name] += count
    return own, inclusive, threads, total


def children(path: Path, name: str) -> tuple[Counter[str], int]:
    """Below the outermost frame containing `name`: samples by the function it called
    (`<self>`: in that frame itself), and the samples under it."""
    below: Counter[str] = Counter()
    total = 0
    for raw in path.read_text(errors="replace").splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = [function_of(short(f)) for f in stack.split(";") if f]
        at = next((i for i, f in enumerate(frames) if name in f), None)
        if at is None:
            continue
        count = int(count_text)
        total += count
        below[frames[at + 1] if at + 1 < len(frames) else "<self>"] += count
    return below, total


def main() -> None:
    """Print the summary of each file given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="inclusive list: only frames with this text")
    parser.add_argument("--under", default="", help="only: what this function's time is spent in")
    args = parser.parse_args()
    for path in args.files:
        if args.under:
            everything = load(path)[3]
            below, total = children(path, args.under)
            print(f"\n== {path.name}: under {args.under!r}: {total / max(everything, 1):.1%}")
            for child, count in below.most_common(args.top):
                print(f"  {count / max(everything, 1):6.1%}  {child}")
            continue
        own, inclusive, threads, total = load(path)
        if not total:
            print(f"{path}: no samples")
            continue
        label = path.stem.rsplit("-", 1)[0]
        meta_path = path.with_name(f"{label}-meta.json")
        busy = ""
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            core = total / (meta["seconds"] * meta["rate_hz"])
            busy = f", busy {core:.0%} of one core over {meta['seconds']:.1f} s"
        print(f"\n== {path.name}: {total} busy samples{busy}")
        for thread, count in threads.most_common():
            print(f"   thread {thread}: {count / total:.1%}")
        print(f"-- self (top {args.top})")
        for name, count in own.most_common(args.top):
            print(f"  {count / total:6.1%}  {name}")
        print(f"-- inclusive (top {args.top}{', matching ' + args.match if args.match else ''})")
        shown = 0
        for name, count in inclusive.most_common():
            if args.match and args.match not in name:
                continue
            print(f"  {count / total:6.1%}  {name}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
