"""An htop-style program for tests: full-screen redraws with colours and cursor addressing.

`python redraw.py FRAMES` draws FRAMES frames on the alternate screen, each a table whose
cells change, then leaves a last frame saying `done N`. Every frame's bytes are also
written, base64, to the file named by $REDRAW_LOG (when set), so a test can compare what
arrived with exactly what was written."""

from __future__ import annotations

import base64
import os
import shutil
import sys
import time


def frame(n: int, cols: int, rows: int) -> bytes:
    out = [f"\x1b[H\x1b[1;44;97m frame {n:04d}  size {cols}x{rows}".ljust(cols) + "\x1b[0m"]
    for row in range(2, min(rows, 14)):
        cpu = (n * 37 + row * 11) % 1000 / 10
        colour = 31 + (n + row) % 6
        line = f"\x1b[{row};1H\x1b[{colour}m{row * 100 + n:6d}\x1b[0m  {cpu:5.1f}%  é日本 ▇▅▃"
        out.append(line + "\x1b[K")
    out.append(f"\x1b[{rows};1H\x1b[7m F10 quit \x1b[0m")
    return "".join(out).encode()


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    cols, rows = shutil.get_terminal_size((0, 0))
    log = open(os.environ["REDRAW_LOG"], "w") if os.environ.get("REDRAW_LOG") else None  # noqa: SIM115
    sys.stdout.buffer.write(b"\x1b[?1049h\x1b[?25l\x1b[2J")
    for n in range(1, frames + 1):
        data = frame(n, cols, rows)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        if log:
            log.write(base64.b64encode(data).decode() + "\n")
            log.flush()
        time.sleep(0.03)
    sys.stdout.buffer.write(f"\x1b[{rows - 1};1Hdone {frames} tty={os.isatty(1)}".encode())
    sys.stdout.buffer.flush()
    sys.stdin.readline()  # stay on screen until a key (and Enter) comes


if __name__ == "__main__":
    main()
