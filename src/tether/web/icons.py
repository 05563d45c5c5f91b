"""The app icons (PNG, for the web app manifest) drawn from the same shapes as
`static/icon.svg`: a green rounded square with a white "T" of two round-capped strokes.

Rendered here, in plain Python, so no image tool or browser is needed to make them:
each pixel's coverage comes from its signed distance to the shapes (an anti-aliased
edge one pixel wide). `python -m tether.web.icons` writes `static/icons/*.png`;
tests/web/test_pwa_files.py checks the committed files are what this draws.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path

GREEN = (0x2F, 0x6F, 0x4F)
WHITE = (0xFF, 0xFF, 0xFF)
VIEW = 32.0
"""The SVG's viewBox is 32 units wide."""
CORNER = 7.0
STROKE = 3.5
SEGMENTS = (((9.0, 10.0), (23.0, 10.0)), ((16.0, 10.0), (16.0, 23.0)))
ICONS = {
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "icon-maskable-512.png": (512, True),
}
"""File name → (size, maskable). A maskable icon fills the square (the launcher cuts the
shape) and keeps the letter inside the middle 80 % safe zone."""


def _rounded_square(x: float, y: float) -> float:
    """Signed distance (viewBox units) to the rounded square; negative inside."""
    half = VIEW / 2
    qx = abs(x - half) - (half - CORNER)
    qy = abs(y - half) - (half - CORNER)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - CORNER


def _letter(x: float, y: float) -> float:
    """Signed distance to the two strokes of the T (round caps)."""
    best = math.inf
    for (ax, ay), (bx, by) in SEGMENTS:
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(x - ax - t * dx, y - ay - t * dy))
    return best - STROKE / 2


def _coverage(distance: float, units_per_pixel: float) -> float:
    return max(0.0, min(1.0, 0.5 - distance / units_per_pixel))


def render(size: int, *, maskable: bool = False) -> bytes:
    """The icon as an RGBA PNG of `size` × `size` pixels."""
    step = VIEW / size
    scale = 0.8 if maskable else 1.0
    rows = bytearray()
    for row in range(size):
        rows.append(0)  # PNG filter type 0 (none) for this row
        y = (row + 0.5) * step
        for col in range(size):
            x = (col + 0.5) * step
            alpha = 1.0 if maskable else _coverage(_rounded_square(x, y), step)
            lx, ly = VIEW / 2 + (x - VIEW / 2) / scale, VIEW / 2 + (y - VIEW / 2) / scale
            ink = _coverage(_letter(lx, ly), step / scale)
            rgb = (round(g + (w - g) * ink) for g, w in zip(GREEN, WHITE, strict=True))
            rows.extend((*rgb, round(alpha * 255)))
    return _png(size, bytes(rows))


def _png(size: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def icons_dir() -> Path:
    """Where the manifest's icons live."""
    return Path(__file__).parent / "static" / "icons"


def main() -> int:
    """Write every icon."""
    target = icons_dir()
    target.mkdir(exist_ok=True)
    for name, (size, maskable) in ICONS.items():
        (target / name).write_bytes(render(size, maskable=maskable))
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
