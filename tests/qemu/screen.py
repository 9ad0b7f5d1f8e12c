"""Reading text back off the screen: a screen dump cut into the font's cells,
each cell matched against the glyphs of the font the kernel draws with
(read from the same Debian PSF file with tools/psf.py). A cell whose
pixels match no glyph reads as '\\x00'; the background is the black of
the screen's corner."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import psf  # noqa: E402

FONTS = {"small": "/usr/share/consolefonts/Uni2-Terminus16.psf.gz",
         "large": "/usr/share/consolefonts/Uni2-Terminus32x16.psf.gz"}
_cache = {}


def font_for(width):
    """The font the kernel picks for a screen this wide (kernel/fbcon.c)."""
    name = "large" if width >= 2560 else "small"
    if name not in _cache:
        f = psf.read(FONTS[name])
        table = {}
        for c in range(0x20, 0x7f):
            g = f.glyph(chr(c))
            bits = tuple(f.pixel(g, x, y) for y in range(f.height) for x in range(f.width))
            table.setdefault(bits, chr(c))
        _cache[name] = (f, table)
    return _cache[name]


def text(dump):
    """The screen's text, one string per row of cells, trailing blanks removed;
    and the set of foreground colours seen."""
    width, height, rgb = dump
    f, table = font_for(width)
    bg = rgb[0:3]
    rows, colours = [], set()
    for cy in range(height // f.height):
        line = []
        for cx in range(width // f.width):
            bits = []
            for y in range(f.height):
                off = ((cy * f.height + y) * width + cx * f.width) * 3
                for x in range(f.width):
                    px = rgb[off + 3 * x:off + 3 * x + 3]
                    on = px != bg
                    bits.append(1 if on else 0)
                    if on:
                        colours.add(bytes(px))
            line.append(table.get(tuple(bits), "\x00"))
        rows.append("".join(line).rstrip())
    return rows, colours
