#!/usr/bin/env python3
"""Draw Ringside's toolbar/store icons: a white phone handset on a coloured circle.

Plain python3 (zlib + struct), no imaging library, so the icons can be rebuilt on
any machine: `python3 extension/.tools/make_icons.py` rewrites extension/icons/*.png.
Each pixel is 4x4 supersampled so the small sizes stay smooth.
"""
import math
import os
import struct
import zlib

CIRCLE = (0x1E, 0x88, 0x5A)  # green: "line is up" in every softphone
HANDSET = (0xFF, 0xFF, 0xFF)
SS = 4


def bezier(p0, p1, p2, t):
    u = 1 - t
    return (u * u * p0[0] + 2 * u * t * p1[0] + t * t * p2[0], u * u * p0[1] + 2 * u * t * p1[1] + t * t * p2[1])


# The handset in unit coordinates (circle radius 1, y down): a curved grip
# from the earpiece (upper left) to the mouthpiece (lower right), bulging to
# the lower left, with wider pads at both ends.
P0, P1, P2 = (-0.40, -0.44), (-0.46, 0.46), (0.44, 0.40)
GRIP = [bezier(P0, P1, P2, i / 48) for i in range(49)]
GRIP_HALF_WIDTH = 0.10


def pad(start, end, half_width, shift=0.09):
    """A capsule along the grip's end, pushed towards the inside of the curve
    (where the ear and mouth are), so the ends read as ear- and mouthpiece."""
    mx, my = (P0[0] + P2[0]) / 2, (P0[1] + P2[1]) / 2
    dx, dy = end[0] - start[0], end[1] - start[1]
    n = math.hypot(dx, dy)
    nx, ny = -dy / n, dx / n
    # The inside of the curve faces away from the control point.
    if nx * (P1[0] - mx) + ny * (P1[1] - my) > 0:
        nx, ny = -nx, -ny
    return (start[0] + nx * shift, start[1] + ny * shift), (end[0] + nx * shift, end[1] + ny * shift), half_width


PADS = [pad(GRIP[0], GRIP[10], 0.17), pad(GRIP[-1], GRIP[-11], 0.17)]


def seg_dist(p, a, b):
    ax, ay = p[0] - a[0], p[1] - a[1]
    bx, by = b[0] - a[0], b[1] - a[1]
    t = max(0.0, min(1.0, (ax * bx + ay * by) / (bx * bx + by * by)))
    return math.hypot(ax - t * bx, ay - t * by)


def in_handset(x, y):
    if any(seg_dist((x, y), a, b) <= w for a, b, w in PADS):
        return True
    return any(seg_dist((x, y), GRIP[i], GRIP[i + 1]) <= GRIP_HALF_WIDTH for i in range(len(GRIP) - 1))


def render(size):
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            cover = hand = 0
            for sy in range(SS):
                for sx in range(SS):
                    x = ((px + (sx + 0.5) / SS) / size) * 2 - 1
                    y = ((py + (sy + 0.5) / SS) / size) * 2 - 1
                    if x * x + y * y <= 0.98:
                        cover += 1
                        if in_handset(x * 1.05, y * 1.05):
                            hand += 1
            n = SS * SS
            if cover == 0:
                row += bytes(4)
                continue
            f = hand / cover
            rgb = [round(CIRCLE[i] * (1 - f) + HANDSET[i] * f) for i in range(3)]
            row += bytes(rgb + [round(255 * cover / n)])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width, height, raw):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "icons")
    for size in (16, 32, 48, 128):
        with open(os.path.join(out, f"{size}.png"), "wb") as f:
            f.write(render(size))
