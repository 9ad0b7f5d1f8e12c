/*
 * lineedit.c: the shell's line editor, a byte-at-a-time state machine.
 *
 * Keys, as a terminal (or the keyboard drivers) send them:
 *   printable ASCII      inserts at the cursor
 *   Backspace (DEL, ^H)  erases before the cursor; Delete (ESC [ 3 ~) at it
 *   Left, Right          ESC [ D / ESC [ C (or ESC O D / C), ^B / ^F
 *   Home, End            ESC [ H / ESC [ F, ESC [ 1 ~ / 4 ~, 7 ~ / 8 ~, ESC O H / F, ^A / ^E
 *   ^W                   erases the word before the cursor; ^K from the cursor to the end
 *   ^U                   erases the line; ^C drops it; Enter (CR, LF or CRLF) ends it
 *   Up, Down             ESC [ A / B (or ESC O A / B) walk the history
 *
 * Escape sequences are parsed whole (ECMA-48 5.4): ESC [ then parameter
 * bytes 0x20-0x3f then one final byte 0x40-0x7e; ESC O then one byte. A
 * sequence the editor does not know vanishes whole, however long its
 * parameters (only the first ESC_MAX are looked at; none is ever typed
 * into the line). ESC followed by any other byte (Alt-x) drops the ESC
 * and types the byte. A control byte inside a sequence ends it and acts as
 * itself, so Esc then Enter still runs the line.
 *
 * Other control bytes and bytes >= 0x80 are ignored. A line that would not
 * fit in LINE_MAX-1 bytes is never overflowed: the excess is not stored or
 * echoed, and Enter reports LE_TOO_LONG instead of running a truncated
 * command.
 *
 * What is echoed keeps the terminal's cursor where the editor's is: text
 * is redrawn from the cursor to the end, then the cursor is moved back
 * with backspaces (no other escape sequence is sent).
 * Pure C: echo goes through a callback; host unit tests drive it.
 */
#include "lineedit.h"

#include "kstring.h"

enum { ESC_NONE, ESC_START, ESC_CSI, ESC_SS3 };
#define ESC_MAX 16 /* parameter bytes looked at; the rest are waited out */

static void echo(struct lineedit *le, const char *s, size_t n)
{
	if (le->echo && n)
		le->echo(le->ctx, s, n);
}

static void echo_repeat(struct lineedit *le, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		echo(le, &c, 1);
}

void le_init(struct lineedit *le, void (*fn)(void *ctx, const char *s, size_t n), void *ctx)
{
	memset(le, 0, sizeof *le);
	le->hist_pos = -1;
	le->echo = fn;
	le->ctx = ctx;
}

/* Moves the cursor to the end, then erases the whole line on screen. */
static void erase_shown(struct lineedit *le)
{
	echo(le, le->buf + le->pos, le->len - le->pos);
	for (size_t i = 0; i < le->len; i++)
		echo(le, "\b \b", 3);
	le->pos = le->len;
}

static void start_line(struct lineedit *le)
{
	le->len = le->pos = le->typed = 0;
	le->buf[0] = '\0';
	le->hist_pos = -1;
}

/* Replaces the line being edited with s, on screen too; the cursor at its end. */
static void show(struct lineedit *le, const char *s)
{
	erase_shown(le);
	le->len = le->pos = strlen(s);
	memcpy(le->buf, s, le->len + 1);
	le->typed = le->len;
	echo(le, le->buf, le->len);
}

/* Redraws from the cursor to the end, blanks `gone` cells after it (what a
 * deletion left), and puts the terminal's cursor back at the editor's. */
static void redraw_tail(struct lineedit *le, size_t gone)
{
	echo(le, le->buf + le->pos, le->len - le->pos);
	echo_repeat(le, ' ', gone);
	echo_repeat(le, '\b', le->len - le->pos + gone);
}

/* Removes the n bytes before the cursor. */
static void delete_before(struct lineedit *le, size_t n)
{
	if (!n)
		return;
	memmove(le->buf + le->pos - n, le->buf + le->pos, le->len - le->pos + 1);
	le->pos -= n;
	le->len -= n;
	le->typed -= n;
	echo_repeat(le, '\b', n);
	redraw_tail(le, n);
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

/* The editing keys, whether they came as a control byte or a sequence. */
enum key { KEY_UP, KEY_DOWN, KEY_LEFT, KEY_RIGHT, KEY_HOME, KEY_END, KEY_DELETE, KEY_KILL_WORD,
	   KEY_KILL_END, KEY_NONE };

static void key(struct lineedit *le, enum key k)
{
	switch (k) {
	case KEY_UP:
		history_move(le, +1);
		break;
	case KEY_DOWN:
		history_move(le, -1);
		break;
	case KEY_LEFT:
		if (le->pos) {
			le->pos--;
			echo(le, "\b", 1);
		}
		break;
	case KEY_RIGHT:
		if (le->pos < le->len)
			echo(le, le->buf + le->pos++, 1);
		break;
	case KEY_HOME:
		echo_repeat(le, '\b', le->pos);
		le->pos = 0;
		break;
	case KEY_END:
		echo(le, le->buf + le->pos, le->len - le->pos);
		le->pos = le->len;
		break;
	case KEY_DELETE:
		if (le->pos < le->len) {
			memmove(le->buf + le->pos, le->buf + le->pos + 1, le->len - le->pos);
			le->len--;
			le->typed--;
			redraw_tail(le, 1);
		}
		break;
	case KEY_KILL_WORD: { /* the spaces before the cursor, then the word before them */
		size_t n = 0;
		while (n < le->pos && le->buf[le->pos - n - 1] == ' ')
			n++;
		while (n < le->pos && le->buf[le->pos - n - 1] != ' ')
			n++;
		delete_before(le, n);
		break;
	}
	case KEY_KILL_END: {
		size_t gone = le->len - le->pos;
		le->typed -= gone;
		le->len = le->pos;
		le->buf[le->len] = '\0';
		redraw_tail(le, gone);
		break;
	}
	case KEY_NONE:
		break;
	}
}

/* The key a finished CSI (final byte f, first parameter p) or SS3 (f) sequence names. */
static enum key sequence_key(int f, int p, int ss3)
{
	switch (f) {
	case 'A': return KEY_UP;
	case 'B': return KEY_DOWN;
	case 'C': return KEY_RIGHT;
	case 'D': return KEY_LEFT;
	case 'H': return KEY_HOME;
	case 'F': return KEY_END;
	case '~':
		if (ss3)
			return KEY_NONE;
		return p == 1 || p == 7 ? KEY_HOME : p == 4 || p == 8 ? KEY_END : p == 3 ? KEY_DELETE
											: KEY_NONE;
	default: return KEY_NONE;
	}
}

static enum le_event feed_plain(struct lineedit *le, int c);

/* Handles a byte (0x20..0x7e or above) inside an escape sequence. */
static enum le_event feed_escape(struct lineedit *le, int c)
{
	if (le->esc == ESC_START) {
		le->esc_len = le->esc_param = le->esc_param_done = 0;
		if (c == '[' || c == 'O') {
			le->esc = c == '[' ? ESC_CSI : ESC_SS3;
			return LE_NONE;
		}
		le->esc = ESC_NONE; /* Alt-x: the ESC goes, the byte is typed */
		return feed_plain(le, c);
	}
	if (le->esc == ESC_SS3) { /* one final byte */
		le->esc = ESC_NONE;
		key(le, sequence_key(c, 0, 1));
		return LE_NONE;
	}
	if (c >= 0x40 && c <= 0x7e) { /* the final byte */
		le->esc = ESC_NONE;
		if (le->esc_len <= ESC_MAX)
			key(le, sequence_key(c, le->esc_param, 0));
		return LE_NONE;
	}
	if (c < 0x20 || c > 0x3f) { /* cannot be in a sequence: the sequence ends, the byte is dropped */
		le->esc = ESC_NONE;
		return LE_NONE;
	}
	if (le->esc_len++ < ESC_MAX && c >= '0' && c <= '9' && le->esc_param < 1000 &&
	    !le->esc_param_done)
		le->esc_param = le->esc_param * 10 + (c - '0');
	else if (c == ';')
		le->esc_param_done = 1;
	return LE_NONE;
}

/* A byte outside any escape sequence. */
static enum le_event feed_plain(struct lineedit *le, int c)
{
	if (c < 0x20 || c > 0x7e)
		return LE_NONE; /* control bytes reach here only from le_feed; non-ASCII: ignored */
	le->typed++;
	if (le->len + 1 >= LINE_MAX) {
		if (le->typed == LINE_MAX)
			echo(le, "\a", 1); /* ring once when the line first overflows */
		return LE_NONE;
	}
	memmove(le->buf + le->pos + 1, le->buf + le->pos, le->len - le->pos + 1);
	le->buf[le->pos] = (char)c;
	le->len++;
	echo(le, le->buf + le->pos, 1);
	le->pos++;
	redraw_tail(le, 0);
	return LE_NONE;
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
		if (c >= 0x20 && c != 0x7f)
			return feed_escape(le, c);
		le->esc = ESC_NONE;
	}
	switch (c) {
	case '\n':
		if (after_cr)
			return LE_NONE; /* the LF of a CRLF */
		/* fall through */
	case '\r': {
		key(le, KEY_END); /* the terminal's cursor after the line, for the newline */
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
		key(le, KEY_END);
		echo(le, "^C\n", 3);
		start_line(le);
		return LE_CANCEL;
	case 0x15: /* Ctrl-U */
		erase_shown(le);
		start_line(le);
		return LE_NONE;
	case 0x7f:
	case 0x08:
		if (le->typed > le->len)
			le->typed--; /* erase an unstored excess byte first */
		else if (le->pos)
			delete_before(le, 1);
		return LE_NONE;
	case 0x01: key(le, KEY_HOME); return LE_NONE;      /* Ctrl-A */
	case 0x05: key(le, KEY_END); return LE_NONE;       /* Ctrl-E */
	case 0x02: key(le, KEY_LEFT); return LE_NONE;      /* Ctrl-B */
	case 0x06: key(le, KEY_RIGHT); return LE_NONE;     /* Ctrl-F */
	case 0x17: key(le, KEY_KILL_WORD); return LE_NONE; /* Ctrl-W */
	case 0x0b: key(le, KEY_KILL_END); return LE_NONE;  /* Ctrl-K */
	case 0x1b:
		le->esc = ESC_START;
		return LE_NONE;
	}
	return feed_plain(le, c);
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
