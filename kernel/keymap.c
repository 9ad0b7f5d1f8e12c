/*
 * keymap.c: what a key sends, on the US layout (see keymap.h). One table
 * for the PS/2 keyboard (ps2.c, through its scan-code-to-usage table) and
 * the USB one (hid.c): both behave the same by construction.
 *
 * Rules (those of a terminal): Shift picks the second character; Caps Lock
 * inverts the case of letters only; Ctrl turns a letter into its control
 * code (Ctrl-C is 0x03) and leaves other keys alone; the editing keys send
 * ESC [ sequences whatever the modifiers.
 */
#include "keymap.h"

/* Usages 0x04 (a) to 0x38 (/): unshifted and shifted. */
static const char normal[0x39] = {
	[0x04] = 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p',
	'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '1', '2', '3', '4', '5', '6', '7', '8',
	'9', '0', '\r', 0x1b, 0x7f, '\t', ' ', '-', '=', '[', ']', '\\', 0, ';', '\'', '`', ',',
	'.', '/',
};
static const char shifted[0x39] = {
	[0x04] = 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P',
	'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '!', '@', '#', '$', '%', '^', '&', '*',
	'(', ')', '\r', 0x1b, 0x7f, '\t', ' ', '_', '+', '{', '}', '|', 0, ':', '"', '~', '<',
	'>', '?',
};

/* The keys that send the same whatever the modifiers. */
static const struct {
	uint8_t usage;
	const char *seq;
} fixed[] = {
	{ 0x52, "\x1b[A" }, { 0x51, "\x1b[B" }, { 0x4f, "\x1b[C" }, { 0x50, "\x1b[D" }, /* arrows */
	{ 0x4a, "\x1b[H" }, { 0x4d, "\x1b[F" }, { 0x4c, "\x1b[3~" },                   /* Home End Del */
	{ 0x58, "\r" },                                                                 /* keypad Enter */
	{ 0x55, "*" },                                                                  /* keypad * */
};

int keymap_bytes(uint8_t usage, bool shift, bool ctrl, bool caps, char out[KEYMAP_MAX])
{
	out[0] = 0;
	for (unsigned i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		if (fixed[i].usage != usage)
			continue;
		int n = 0;
		for (; fixed[i].seq[n]; n++)
			out[n] = fixed[i].seq[n];
		out[n] = 0;
		return n;
	}
	if (usage >= sizeof normal)
		return 0;
	char c = shift ? shifted[usage] : normal[usage];
	if (c >= 'a' && c <= 'z' && caps)
		c = (char)(c - 'a' + 'A');
	else if (c >= 'A' && c <= 'Z' && caps)
		c = (char)(c - 'A' + 'a');
	if (ctrl && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
		c = (char)(c & 0x1f);
	if (!c)
		return 0;
	out[0] = c;
	out[1] = 0;
	return 1;
}
