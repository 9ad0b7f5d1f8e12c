/*
 * fbcon.c: the console on the screen: text drawn into the GOP framebuffer
 * the loader recorded, beside the serial line (console.c sends every byte
 * to both), for PCs without a serial port.
 *
 *   framebuffer (mapped at FB_VIRT, written, never read)
 *   +--------------------------------------------------+
 *   | cell (0,0) | cell (1,0) | ...        font.width   |  each cell: one glyph,
 *   | ...                                  x height px  |  fg on bg
 *   +--------------------------------------------------+
 *   row stride = PixelsPerScanLine * 4 bytes (not the width)
 *
 * Invariants:
 *   - The framebuffer is only written: what is on it is also in `text`
 *     and `attr` (a character and a colour per cell), so a scroll redraws
 *     from there instead of reading the (slow, uncached) framebuffer.
 *   - The cursor is always inside the grid; a line feed on the last row
 *     scrolls by half a screen at once (a redraw is the expensive part).
 *   - Bytes the screen cannot show are dropped: ANSI sequences are parsed
 *     whole (SGR colours are honoured, the others ignored), other control
 *     bytes and non-ASCII bytes are skipped.
 * Pixel formats: RGBX, BGRX, or a bitmask per colour (UEFI's
 * PixelBitMask); a BltOnly mode has no framebuffer and no screen console.
 */
#include "fbcon.h"

#include "font.h"
#include "kernel.h"
#include "kstring.h"
#include "memlayout.h"
#include "pagetable.h"
#include "x86.h"

#define MAX_CELLS (480 * 270) /* a 3840x2160 screen in 8x8 cells: more than any font here needs */

static struct {
	bool on;
	volatile uint32_t *fb;
	uint32_t width, height, stride; /* pixels; stride: pixels per scan line */
	uint32_t cols, rows, cx, cy;
	const struct font *font;
	uint32_t palette[16];
	uint8_t fg, bg; /* palette indexes */
	bool wc;        /* mapped write-combining (PAT entry 1) */
	int esc;        /* 0, 1 after ESC, 2 inside CSI */
	int params[4], nparams;
} fc;

static char text[MAX_CELLS];
static uint8_t attr[MAX_CELLS]; /* fg | bg << 4 */

/* The pixel value of an 8-bit-per-channel colour in the screen's format. */
static uint32_t pixel(uint32_t r, uint32_t g, uint32_t b)
{
	switch (boot_info.fb_format) {
	case FB_RGBX:
		return r | g << 8 | b << 16;
	case FB_BGRX:
		return b | g << 8 | r << 16;
	default: { /* FB_BITMASK: each channel scaled into its mask */
		uint32_t v = 0, masks[3] = { boot_info.fb_red_mask, boot_info.fb_green_mask,
					     boot_info.fb_blue_mask };
		uint32_t c[3] = { r, g, b };
		for (int i = 0; i < 3; i++) {
			if (!masks[i])
				continue;
			int shift = __builtin_ctz(masks[i]), bits = 0; /* no popcount: no libgcc */
			for (uint32_t m = masks[i] >> shift; m & 1; m >>= 1)
				bits++;
			uint32_t scaled = bits >= 8 ? c[i] << (bits - 8) : c[i] >> (8 - bits);
			v |= (scaled << shift) & masks[i];
		}
		return v;
	}
	}
}

/* The eight ANSI colours and their bright forms (the VGA palette). */
static void make_palette(void)
{
	static const uint8_t rgb[16][3] = {
		{ 0, 0, 0 }, { 170, 0, 0 }, { 0, 170, 0 }, { 170, 85, 0 }, { 0, 0, 170 }, { 170, 0, 170 },
		{ 0, 170, 170 }, { 170, 170, 170 }, { 85, 85, 85 }, { 255, 85, 85 }, { 85, 255, 85 },
		{ 255, 255, 85 }, { 85, 85, 255 }, { 255, 85, 255 }, { 85, 255, 255 }, { 255, 255, 255 },
	};
	for (int i = 0; i < 16; i++)
		fc.palette[i] = pixel(rgb[i][0], rgb[i][1], rgb[i][2]);
}

static void draw_cell(uint32_t x, uint32_t y)
{
	const struct font *f = fc.font;
	uint32_t i = y * fc.cols + x;
	unsigned char ch = (unsigned char)text[i];
	if (ch < FONT_FIRST || ch > FONT_LAST)
		ch = ' ';
	const uint8_t *g = f->glyphs + (ch - FONT_FIRST) * f->row_bytes * f->height;
	uint32_t fg = fc.palette[attr[i] & 15], bg = fc.palette[attr[i] >> 4];
	/* Two pixels a store: the four colour pairs two glyph bits can make
	 * (the left pixel in the low half). A full 1280x800 screen (bench
	 * screen_redraw, under -icount): 18.3 ms a pixel at a time, 14.7 ms so. */
	const uint64_t pair[4] = { bg | (uint64_t)bg << 32, fg | (uint64_t)bg << 32,
				   bg | (uint64_t)fg << 32, fg | (uint64_t)fg << 32 };
	volatile uint32_t *p = fc.fb + (uint64_t)y * f->height * fc.stride + x * f->width;
	for (uint32_t row = 0; row < f->height; row++, p += fc.stride, g += f->row_bytes) {
		volatile uint64_t *q = (volatile uint64_t *)p;
		uint32_t col = 0;
		for (; col + 1 < f->width; col += 2) {
			uint32_t bits = g[col >> 3] >> (6 - (col & 7)); /* col at bit 1, col+1 at bit 0 */
			q[col >> 1] = pair[((bits >> 1) & 1) | (bits & 1) << 1];
		}
		if (col < f->width) /* an odd width's last column */
			p[col] = (g[col >> 3] >> (7 - (col & 7))) & 1 ? fg : bg;
	}
}

static void redraw(void)
{
	for (uint32_t y = 0; y < fc.rows; y++)
		for (uint32_t x = 0; x < fc.cols; x++)
			draw_cell(x, y);
}

static void clear_cells(uint32_t from, uint32_t n)
{
	memset(text + from, ' ', n);
	memset(attr + from, (uint8_t)(fc.fg | fc.bg << 4), n);
}

static void newline(void)
{
	fc.cx = 0;
	if (++fc.cy < fc.rows)
		return;
	uint32_t up = fc.rows / 2 ? fc.rows / 2 : 1; /* jump scroll: half a screen */
	memmove(text, text + up * fc.cols, (fc.rows - up) * fc.cols);
	memmove(attr, attr + up * fc.cols, (fc.rows - up) * fc.cols);
	clear_cells((fc.rows - up) * fc.cols, up * fc.cols);
	fc.cy = fc.rows - up;
	redraw();
}

static void put(char c)
{
	uint32_t i = fc.cy * fc.cols + fc.cx;
	text[i] = c;
	attr[i] = (uint8_t)(fc.fg | fc.bg << 4);
	draw_cell(fc.cx, fc.cy);
	if (++fc.cx == fc.cols)
		newline();
}

/* SGR (ESC [ ... m): 0 reset, 1 bright, 30-37 / 90-97 colours, 39 default. */
static void sgr(void)
{
	if (fc.nparams == 0)
		fc.params[fc.nparams++] = 0;
	for (int i = 0; i < fc.nparams; i++) {
		int p = fc.params[i];
		if (p == 0)
			fc.fg = 7;
		else if (p == 1)
			fc.fg |= 8;
		else if (p >= 30 && p <= 37)
			fc.fg = (uint8_t)((fc.fg & 8) | (p - 30));
		else if (p >= 90 && p <= 97)
			fc.fg = (uint8_t)(8 | (p - 90));
		else if (p == 39)
			fc.fg = 7;
	}
}

static void feed(char ch)
{
	unsigned char c = (unsigned char)ch;
	if (fc.esc == 1) {
		fc.esc = c == '[' ? 2 : 0;
		fc.nparams = 0;
		fc.params[0] = 0;
		return;
	}
	if (fc.esc == 2) {
		if (c >= '0' && c <= '9') {
			if (fc.nparams == 0)
				fc.nparams = 1;
			if (fc.nparams <= 4 && fc.params[fc.nparams - 1] < 10000)
				fc.params[fc.nparams - 1] = fc.params[fc.nparams - 1] * 10 + (c - '0');
		} else if (c == ';') {
			if (fc.nparams == 0)
				fc.nparams = 1;
			if (fc.nparams < 4)
				fc.params[fc.nparams++] = 0;
			else
				fc.nparams = 5; /* too many: ignore the rest */
		} else if (c >= 0x40 && c <= 0x7e) {
			fc.esc = 0;
			if (c == 'm' && fc.nparams <= 4)
				sgr();
		} else if (c < 0x20 || c > 0x3f) {
			fc.esc = 0;
		}
		return;
	}
	switch (c) {
	case 0x1b:
		fc.esc = 1;
		return;
	case '\n':
		newline();
		return;
	case '\r':
		fc.cx = 0;
		return;
	case '\b':
		if (fc.cx)
			fc.cx--;
		return;
	case '\t':
		do
			put(' ');
		while (fc.cx % 8);
		return;
	}
	if (c >= FONT_FIRST && c <= FONT_LAST)
		put(ch);
}

void fbcon_write(const char *s, unsigned long n)
{
	if (!fc.on)
		return;
	for (unsigned long i = 0; i < n; i++)
		feed(s[i]);
}

bool fbcon_active(void) { return fc.on; }

void fbcon_redraw(void)
{
	if (fc.on)
		redraw();
}

void fbcon_describe(char *buf, unsigned long cap)
{
	if (!fc.on)
		ksnprintf(buf, cap, "none (no linear framebuffer)");
	else
		ksnprintf(buf, cap, "%ux%u pixels, %u per line, %ux%u text in %s (%ux%u), %s", fc.width,
			  fc.height, fc.stride, fc.cols, fc.rows, fc.font->name, fc.font->width,
			  fc.font->height, fc.wc ? "write-combining" : "write-back (no PAT)");
}

/*
 * Programs the PAT as PAT_KERNEL (pagetable.h): entry 1 write-combining.
 * Nothing mapped so far uses entry 1 (PWT alone), so no mapping changes
 * type under its users. Caches and TLB flushed as the SDM asks (11.12.4).
 * False if the CPU has no PAT (CPUID.1:EDX bit 16).
 */
#define MSR_PAT 0x277
static bool pat_init(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(d & (1u << 16)))
		return false;
	wrmsr(MSR_PAT, PAT_KERNEL);
	__asm__ volatile("wbinvd" ::: "memory");
	write_cr3(read_cr3());
	return true;
}

/* Maps the framebuffer (write-combining where the CPU has a PAT: a line of
 * glyphs is many small writes, which WC gathers) and clears the screen.
 * After vm_init. */
void fbcon_init(void)
{
	if (!boot_info.fb_base || boot_info.fb_format == FB_NONE || !boot_info.fb_width ||
	    boot_info.fb_pixels_per_line < boot_info.fb_width)
		return;
	uint64_t bytes = (uint64_t)boot_info.fb_pixels_per_line * boot_info.fb_height * 4;
	uint64_t base = boot_info.fb_base & ~(PAGE_SIZE - 1);
	uint64_t size = (boot_info.fb_base + bytes - base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	fc.wc = pat_init();
	if (size > FB_REGION || pt_map(&kernel_pt_env, vm_root(), FB_VIRT, base, size,
				       PTE_W | PTE_NX | (fc.wc ? PTE_WC : 0), PT_MAP_LARGE)) {
		kprintf("fbcon: cannot map the framebuffer at %#lx (%lu KiB): the screen stays blank\n",
			boot_info.fb_base, bytes >> 10);
		return;
	}
	fc.fb = (volatile uint32_t *)(FB_VIRT + (boot_info.fb_base - base));
	fc.width = boot_info.fb_width;
	fc.height = boot_info.fb_height;
	fc.stride = boot_info.fb_pixels_per_line;
	fc.font = fc.width >= 2560 ? &font_large : &font_small;
	fc.cols = fc.width / fc.font->width;
	fc.rows = fc.height / fc.font->height;
	if (fc.cols * fc.rows > MAX_CELLS || !fc.cols || !fc.rows)
		return;
	make_palette();
	fc.fg = 7;
	fc.bg = 0;
	clear_cells(0, fc.cols * fc.rows);
	fc.on = true;
	redraw();
}
