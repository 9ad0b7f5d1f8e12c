/* font.h: the console fonts, generated at build time from Debian's PSF
 * fonts by tools/psf.py (build/kernel/fonts.c): the printable ASCII
 * characters ' ' to '~', one glyph each, rows of row_bytes bytes, the
 * leftmost pixel in the top bit. */
#ifndef MORESTACK_FONT_H
#define MORESTACK_FONT_H
#include <stdint.h>

#define FONT_FIRST 0x20
#define FONT_LAST 0x7e

struct font {
	uint32_t width, height, row_bytes;
	const uint8_t *glyphs; /* (FONT_LAST - FONT_FIRST + 1) glyphs of row_bytes * height bytes */
	const char *name;      /* the PSF file it came from */
};

extern const struct font font_small; /* 8x16: Uni2-Terminus16 */
extern const struct font font_large; /* 16x32: Uni2-Terminus32x16, for screens 2,560 pixels wide and up */
#endif
