"""Reading text back off the screen: a screen dump cut into the font's cells,
each cell matched against the glyphs of the font the kernel draws with
(read from the same Debian PSF file with tools/psf.py). A cell whose
pixels match no glyph reads as '\\x00'; the background is the black of
the screen's corner.

Fast enough to poll (a machine without a serial line is read only this
way): a cell's raw bytes are looked up in a dict of cells already decoded
(the same glyph in the same colour is the same bytes), so each distinct
(glyph, colour) is decoded pixel by pixel once per process; a row of cells
that is all background is skipped with one comparison. A 1280x800 dump
takes about 0.2 s pixel by pixel, a few tens of ms this way."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import psf  # noqa: E402

FONTS = {"small": "/usr/share/consolefonts/Uni2-Terminus16.psf.gz",
         "large": "/usr/share/consolefonts/Uni2-Terminus32x16.psf.gz"}
_cache = {}
_decoded = {}          # (bg, cell bytes) -> (character, foreground colour or None)
MAX_DECODED = 50000    # firmware logos are many distinct cells: bound the dict


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


def _decode_cell(cell, bg, table):
    """One cell pixel by pixel: its character and its (most common) foreground colour."""
    bits, counts = [], {}
    for i in range(0, len(cell), 3):
        px = cell[i:i + 3]
        on = px != bg
        bits.append(1 if on else 0)
        if on:
            counts[px] = counts.get(px, 0) + 1
    fg = max(counts, key=counts.get) if counts else None
    return table.get(tuple(bits), "\x00"), fg


def cells(dump):
    """The screen as rows of cells, each row a list of (character, foreground
    colour as RGB bytes, None for a blank cell), blank cells at the end kept."""
    width, height, rgb = dump
    f, table = font_for(width)
    bg = bytes(rgb[0:3])
    fw, fh = f.width, f.height
    line_bytes, cell_bytes = width * 3, fw * 3
    cols = width // fw
    blank_band = bg * (width * fh)
    blank = (" ", None)
    if len(_decoded) > MAX_DECODED:
        _decoded.clear()
    rows = []
    for cy in range(height // fh):
        top = cy * fh * line_bytes
        if rgb[top:top + fh * line_bytes] == blank_band:
            rows.append([blank] * cols)
            continue
        lines = [rgb[top + y * line_bytes:top + (y + 1) * line_bytes] for y in range(fh)]
        row = []
        for cx in range(cols):
            a = cx * cell_bytes
            key = (bg, b"".join([ln[a:a + cell_bytes] for ln in lines]))
            hit = _decoded.get(key)
            if hit is None:
                hit = _decoded[key] = _decode_cell(key[1], bg, table)
            row.append(hit)
        rows.append(row)
    return rows


def text(dump):
    """The screen's text, one string per row of cells, trailing blanks removed;
    and the set of foreground colours seen."""
    rows, colours = [], set()
    for row in cells(dump):
        rows.append("".join(ch for ch, _ in row).rstrip())
        colours.update(fg for _, fg in row if fg is not None)
    return rows, colours
