"""Draws the app icon (a white map pin on IOM blue) as RGBA PNGs, no dependencies.

Run from src-tauri/: python3 icons/make_icons.py
"""
import struct
import zlib

BLUE = (0, 51, 160, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def pixel(x, y, n):
    # Coordinates in 0..1; a rounded square, with a pin (circle over a triangle) in it.
    u, v = (x + 0.5) / n, (y + 0.5) / n
    r = 0.18
    cx, cy = min(max(u, r), 1 - r), min(max(v, r), 1 - r)
    if (u - cx) ** 2 + (v - cy) ** 2 > r * r:
        return CLEAR
    head = (u - 0.5) ** 2 + (v - 0.40) ** 2
    if head < 0.06 ** 2:
        return BLUE
    if head < 0.20 ** 2:
        return WHITE
    if 0.40 <= v <= 0.82 and abs(u - 0.5) <= 0.17 * (0.82 - v) / 0.42:
        return WHITE
    return BLUE


def png(n):
    rows = b"".join(b"\x00" + bytes(c for x in range(n) for c in pixel(x, y, n)) for y in range(n))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    with open(f"icons/{name}", "wb") as f:
        f.write(png(size))
