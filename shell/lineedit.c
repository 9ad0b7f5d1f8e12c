/*
 * lineedit.c: the shell's line editor, a byte-at-a-time state machine.
 *
 * Keys: printable ASCII inserts at the end; Backspace (0x7f or 0x08)
 * erases; Ctrl-U erases the line; Ctrl-C drops it; Enter (CR, LF or CRLF)
 * ends it; Up and Down (ESC [ A / ESC [ B, or ESC O A / ESC O B) walk the
 * history. Other control bytes, other escape sequences and bytes >= 0x80
 * are ignored. A line that would not fit in LINE_MAX-1 bytes is never
 * overflowed: the excess is not stored or echoed, and Enter reports
 * LE_TOO_LONG instead of running a truncated command.
 * Pure C: echo goes through a callback; host unit tests drive it.
 */
#include "lineedit.h"

#include "kstring.h"

enum { ESC_NONE, ESC_START, ESC_CSI, ESC_SS3 };
#define ESC_MAX 16 /* longest escape sequence we wait out */

static void echo(struct lineedit *le, const char *s, size_t n)
{
	if (le->echo)
		le->echo(le->ctx, s, n);
}

void le_init(struct lineedit *le, void (*fn)(void *ctx, const char *s, size_t n), void *ctx)
{
	memset(le, 0, sizeof *le);
	le->hist_pos = -1;
	le->echo = fn;
	le->ctx = ctx;
}

static void erase_shown(struct lineedit *le)
{
	for (size_t i = 0; i < le->len; i++)
		echo(le, "\b \b", 3);
}

static void start_line(struct lineedit *le)
{
	le->len = le->typed = 0;
	le->buf[0] = '\0';
	le->hist_pos = -1;
}

/* Replaces the line being edited with s, on screen too. */
static void show(struct lineedit *le, const char *s)
{
	erase_shown(le);
	le->len = strlen(s);
	memcpy(le->buf, s, le->len + 1);
	le->typed = le->len;
	echo(le, le->buf, le->len);
}

static const char *history_entry(const struct lineedit *le, int back)
{
	int i = ((le->hist_newest - back) % LINE_HISTORY + LINE_HISTORY) % LINE_HISTORY;
	return le->history[i];
}

static void history_move(struct lineedit *le, int dir)
{
	int pos = le->hist_pos + dir;
	if (pos < -1 || pos >= le->hist_count)
		return; /* nothing further that way */
	if (le->hist_pos == -1) {
		memcpy(le->draft, le->buf, le->len);
		le->draft[le->len] = '\0';
	}
	le->hist_pos = pos;
	show(le, pos == -1 ? le->draft : history_entry(le, pos));
}

static void history_add(struct lineedit *le)
{
	if (le->len == 0 || (le->hist_count && strcmp(history_entry(le, 0), le->buf) == 0))
		return;
	le->hist_newest = (le->hist_newest + 1) % LINE_HISTORY;
	memcpy(le->history[le->hist_newest], le->buf, le->len + 1);
	if (le->hist_count < LINE_HISTORY)
		le->hist_count++;
}

/* Handles a byte inside an escape sequence. */
static void feed_escape(struct lineedit *le, int c)
{
	if (le->esc == ESC_START) {
		le->esc = c == '[' ? ESC_CSI : c == 'O' ? ESC_SS3 : ESC_NONE;
		le->esc_len = 0;
		return;
	}
	/* CSI: parameter and intermediate bytes 0x20-0x3f, then a final 0x40-0x7e. */
	if (c >= 0x40 && c <= 0x7e) {
		le->esc = ESC_NONE;
		if (c == 'A')
			history_move(le, +1);
		else if (c == 'B')
			history_move(le, -1);
		return;
	}
	if (c < 0x20 || c > 0x3f || ++le->esc_len > ESC_MAX)
		le->esc = ESC_NONE; /* not a sequence we know: give up on it */
}

/* Feeds one received byte; returns what it completed, if anything. */
enum le_event le_feed(struct lineedit *le, int c)
{
	c &= 0xff;
	if (le->line_done) { /* the caller has had the last line: start a new one */
		le->line_done = 0;
		start_line(le);
	}
	int after_cr = le->last_cr;
	le->last_cr = c == '\r';
	if (le->esc != ESC_NONE) {
		/* A control byte ends the sequence and acts as itself (ECMA-48
		 * 5.4), so Esc then Enter, Ctrl-C or Backspace is not lost; a
		 * second ESC starts a new sequence. */
		if (c >= 0x20 && c != 0x7f) {
			feed_escape(le, c);
			return LE_NONE;
		}
		le->esc = ESC_NONE;
	}
	switch (c) {
	case '\n':
		if (after_cr)
			return LE_NONE; /* the LF of a CRLF */
		/* fall through */
	case '\r': {
		echo(le, "\n", 1);
		int too_long = le->typed > le->len;
		le->buf[le->len] = '\0';
		if (!too_long)
			history_add(le);
		le->hist_pos = -1;
		if (too_long) {
			le->dropped = le->typed;
			start_line(le);
			return LE_TOO_LONG;
		}
		le->line_done = 1;
		return LE_LINE;
	}
	case 0x03: /* Ctrl-C */
		echo(le, "^C\n", 3);
		start_line(le);
		return LE_CANCEL;
	case 0x15: /* Ctrl-U */
		erase_shown(le);
		start_line(le);
		return LE_NONE;
	case 0x7f:
	case 0x08:
		if (le->typed > le->len) {
			le->typed--; /* erase an unstored excess byte first */
		} else if (le->len) {
			le->len--;
			le->typed--;
			echo(le, "\b \b", 3);
		}
		le->buf[le->len] = '\0';
		return LE_NONE;
	case 0x1b:
		le->esc = ESC_START;
		return LE_NONE;
	}
	if (c < 0x20 || c > 0x7e)
		return LE_NONE; /* other control bytes and non-ASCII: ignored */
	le->typed++;
	if (le->len + 1 >= LINE_MAX) {
		if (le->typed == LINE_MAX)
			echo(le, "\a", 1); /* ring once when the line first overflows */
		return LE_NONE;
	}
	le->buf[le->len++] = (char)c;
	le->buf[le->len] = '\0';
	echo(le, (const char *)&le->buf[le->len - 1], 1);
	return LE_NONE;
}

/* The line that LE_LINE announced; valid until the next le_feed. */
const char *le_line(const struct lineedit *le)
{
	return le->buf;
}

/* After LE_TOO_LONG: how many characters the dropped line had. */
size_t le_overflow_length(const struct lineedit *le)
{
	return le->dropped;
}

