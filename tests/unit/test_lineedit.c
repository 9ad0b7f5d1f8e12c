/*
 * test_lineedit.c: the shell's line editor (shell/lineedit.c).
 *
 * A test types a byte string, as a terminal would send it, and checks the
 * events it produced, the lines it completed and every byte echoed back
 * (captured through the echo callback).
 */
#include "unit.h"

#include "lineedit.h"

struct term {
	struct lineedit le;
	char echo[16384]; /* everything echoed, NUL-terminated */
	size_t echo_len;
	char events[64];  /* one letter per event: L line, C cancel, T too long */
	int nevents;
	char lines[8][LINE_MAX]; /* the lines LE_LINE announced, in order */
	int nlines;
};

static void capture(void *ctx, const char *s, size_t n)
{
	struct term *t = ctx;
	if (t->echo_len + n >= sizeof t->echo)
		fail_msg("echo: more than %zu bytes", sizeof t->echo);
	memcpy(t->echo + t->echo_len, s, n);
	t->echo_len += n;
	t->echo[t->echo_len] = '\0';
}

static int setup(void **state)
{
	struct term *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	le_init(&t->le, capture, t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Forgets what was echoed and which events came, keeping the editor's state. */
static void clear(struct term *t)
{
	t->echo_len = 0;
	t->echo[0] = '\0';
	t->nevents = 0;
	t->events[0] = '\0';
	t->nlines = 0;
}

/* Types n bytes; returns the events as letters ("" if none). */
static const char *typen(struct term *t, const char *s, size_t n)
{
	clear(t);
	for (size_t i = 0; i < n; i++) {
		enum le_event ev = le_feed(&t->le, (unsigned char)s[i]);
		if (ev == LE_NONE)
			continue;
		if (t->nevents + 1 >= (int)sizeof t->events)
			fail_msg("more than %zu events", sizeof t->events);
		assert_in_range(ev, LE_LINE, LE_TOO_LONG);
		t->events[t->nevents++] = "-LCT"[ev]; /* in enum le_event's order */
		t->events[t->nevents] = '\0';
		if (ev == LE_LINE) {
			assert_true(t->nlines < 8);
			assert_int_equal(strlen(le_line(&t->le)), t->le.len);
			strcpy(t->lines[t->nlines++], le_line(&t->le));
		}
	}
	return t->events;
}

static const char *type(struct term *t, const char *s)
{
	return typen(t, s, strlen(s));
}

/* The line being edited now. */
static const char *editing(const struct term *t)
{
	assert_int_equal(strlen(t->le.buf), t->le.len);
	return t->le.buf;
}

static int count_char(const char *s, char c)
{
	int n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

static void test_enter_cr_lf(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "ls"), "");
	assert_string_equal(editing(t), "ls");
	assert_string_equal(t->echo, "ls");
	assert_string_equal(type(t, "\r"), "L");
	assert_string_equal(t->lines[0], "ls");
	assert_string_equal(t->echo, "\n");
	assert_string_equal(type(t, "help\n"), "L");
	assert_string_equal(t->lines[0], "help");
	assert_string_equal(t->echo, "help\n");
}

/* CRLF is one Enter, not a line and an empty one. */
static void test_enter_crlf(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "ls\r\nmem\r\n"), "LL");
	assert_string_equal(t->lines[0], "ls");
	assert_string_equal(t->lines[1], "mem");
	assert_string_equal(t->echo, "ls\nmem\n");
	/* The LF may come in a later read. */
	assert_string_equal(type(t, "a\r"), "L");
	assert_string_equal(type(t, "\n"), "");
	assert_string_equal(t->echo, "");
	assert_string_equal(type(t, "b\r"), "L");
	assert_string_equal(t->lines[0], "b");
	/* Empty lines: one per CR or LF, except the LF of a CRLF. */
	assert_string_equal(type(t, "\r\n"), "L");
	assert_string_equal(t->lines[0], "");
	assert_string_equal(type(t, "\r\r\n\n"), "LLL");
	assert_string_equal(type(t, "\n\r"), "LL");
	/* Only the byte right after a CR is swallowed. */
	assert_string_equal(type(t, "x\ry\n"), "LL");
	assert_string_equal(t->lines[1], "y");
}

/* After LE_LINE the line stays readable until the next byte starts a new one. */
static void test_next_line_starts_fresh(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "first\r"), "L");
	assert_string_equal(le_line(&t->le), "first");
	assert_string_equal(type(t, "z"), "");
	assert_string_equal(editing(t), "z");
	assert_int_equal(t->le.typed, 1);
}

static void test_backspace(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "abc\x7f\x08" "d"), "");
	assert_string_equal(editing(t), "ad");
	assert_string_equal(t->echo, "abc\b \b\b \bd");
	/* Past the start of the line: nothing happens, nothing is echoed. */
	assert_string_equal(type(t, "\x7f\x7f\x7f\x08"), "");
	assert_string_equal(editing(t), "");
	assert_string_equal(t->echo, "\b \b\b \b");
	assert_int_equal(t->le.typed, 0);
	assert_string_equal(type(t, "\r"), "L");
	assert_string_equal(t->lines[0], "");
	/* On an empty line from the start. */
	assert_string_equal(type(t, "\x08\x7f" "ok\r"), "L");
	assert_string_equal(t->lines[0], "ok");
	assert_string_equal(t->echo, "ok\n");
}

static void test_ctrl_u(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "hello\x15"), "");
	assert_string_equal(editing(t), "");
	assert_string_equal(t->echo, "hello\b \b\b \b\b \b\b \b\b \b");
	assert_string_equal(type(t, "\x15"), ""); /* on an empty line: nothing */
	assert_string_equal(t->echo, "");
	assert_string_equal(type(t, "hi\r"), "L");
	assert_string_equal(t->lines[0], "hi");
}

/* Ctrl-C drops the line: LE_CANCEL, not run, not in the history. */
static void test_ctrl_c(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "reboot\x03"), "C");
	assert_string_equal(t->echo, "reboot^C\n");
	assert_string_equal(editing(t), "");
	assert_string_equal(type(t, "\x1b[A"), ""); /* history is empty */
	assert_string_equal(editing(t), "");
	assert_string_equal(type(t, "x\r"), "L");
	assert_string_equal(t->lines[0], "x");
	assert_string_equal(type(t, "\x03"), "C"); /* on an empty line too */
	assert_string_equal(type(t, "\x1b[A\x1b[A"), "");
	assert_string_equal(editing(t), "x");
	assert_int_equal(t->le.hist_count, 1);
}

static void test_history_up_down(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "one\rtwo\r"), "LL");
	assert_string_equal(type(t, "\x1b[A"), "");
	assert_string_equal(editing(t), "two");
	assert_string_equal(t->echo, "two");
	assert_string_equal(type(t, "\x1b[A"), "");
	assert_string_equal(editing(t), "one");
	assert_string_equal(t->echo, "\b \b\b \b\b \bone"); /* "two" erased first */
	assert_string_equal(type(t, "\x1b[A"), ""); /* nothing older: no change */
	assert_string_equal(editing(t), "one");
	assert_string_equal(t->echo, "");
	assert_string_equal(type(t, "\x1b[B"), "");
	assert_string_equal(editing(t), "two");
	assert_string_equal(type(t, "\x1b[B"), ""); /* back to the (empty) new line */
	assert_string_equal(editing(t), "");
	assert_string_equal(t->echo, "\b \b\b \b\b \b");
	assert_string_equal(type(t, "\x1b[B"), ""); /* nothing newer */
	assert_string_equal(t->echo, "");
	/* A recalled line can be edited and run. */
	assert_string_equal(type(t, "\x1b[A\x1b[A\x7f" "e\r"), "L");
	assert_string_equal(t->lines[0], "one");
	assert_string_equal(type(t, "\x1b[A"), "");
	assert_string_equal(editing(t), "one");
	assert_int_equal(t->le.hist_count, 3);
}

/* ESC O A / ESC O B (application cursor mode) work like ESC [ A / ESC [ B. */
static void test_history_ss3(void **state)
{
	struct term *t = *state;
	type(t, "alpha\rbeta\r");
	assert_string_equal(type(t, "\x1bOA\x1bOA"), "");
	assert_string_equal(editing(t), "alpha");
	assert_string_equal(type(t, "\x1bOB"), "");
	assert_string_equal(editing(t), "beta");
	/* Parameters before the final byte (Ctrl-Up: ESC [ 1 ; 5 A) still move. */
	assert_string_equal(type(t, "\x1b[1;5A"), "");
	assert_string_equal(editing(t), "alpha");
	assert_string_equal(type(t, "\r"), "L");
	assert_string_equal(t->lines[0], "alpha");
}

/* Empty lines and immediate repeats are not stored; other repeats are. */
static void test_history_no_empty_or_duplicates(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "a\r\r\r\na\ra\rb\r"), "LLLLLL");
	assert_int_equal(t->le.hist_count, 2);
	type(t, "\x1b[A");
	assert_string_equal(editing(t), "b");
	type(t, "\x1b[A");
	assert_string_equal(editing(t), "a");
	type(t, "\x1b[A");
	assert_string_equal(editing(t), "a");
	type(t, "\x15\r");
	assert_string_equal(type(t, "a\r"), "L");
	assert_int_equal(t->le.hist_count, 3); /* a, b, a */
	/* Running a recalled newest entry does not store it again. */
	assert_string_equal(type(t, "\x1b[A\r"), "L");
	assert_int_equal(t->le.hist_count, 3);
}

/* The history keeps the last LINE_HISTORY lines. */
static void test_history_capped(void **state)
{
	struct term *t = *state;
	char cmd[32];
	for (int i = 0; i < LINE_HISTORY + 5; i++) {
		snprintf(cmd, sizeof cmd, "cmd%d\r", i);
		assert_string_equal(type(t, cmd), "L");
	}
	assert_int_equal(t->le.hist_count, LINE_HISTORY);
	for (int back = 0; back < LINE_HISTORY; back++) {
		type(t, "\x1b[A");
		snprintf(cmd, sizeof cmd, "cmd%d", LINE_HISTORY + 4 - back);
		assert_string_equal(editing(t), cmd);
	}
	type(t, "\x1b[A\x1b[A"); /* the oldest kept one stays */
	snprintf(cmd, sizeof cmd, "cmd%d", 5);
	assert_string_equal(editing(t), cmd);
	for (int i = 0; i < LINE_HISTORY; i++)
		type(t, "\x1b[B");
	assert_string_equal(editing(t), "");
}

/* The line being typed is kept while browsing and comes back at the bottom. */
static void test_history_restores_draft(void **state)
{
	struct term *t = *state;
	type(t, "older\rnewer\r");
	type(t, "dra");
	type(t, "\x1b[A\x1b[A\x1b[B");
	assert_string_equal(editing(t), "newer");
	assert_string_equal(type(t, "\x1b[B"), "");
	assert_string_equal(editing(t), "dra");
	assert_string_equal(t->echo, "\b \b\b \b\b \b\b \b\b \bdra");
	assert_string_equal(type(t, "ft\r"), "L");
	assert_string_equal(t->lines[0], "draft");
}

/* LINE_MAX - 1 characters fit; the line ends and runs normally. */
static void test_longest_line_fits(void **state)
{
	struct term *t = *state;
	char s[LINE_MAX + 1];
	memset(s, 'a', LINE_MAX - 1);
	s[LINE_MAX - 1] = '\r';
	s[LINE_MAX] = '\0';
	assert_string_equal(type(t, s), "L");
	assert_int_equal(strlen(t->lines[0]), LINE_MAX - 1);
	assert_int_equal(count_char(t->echo, '\a'), 0);
	assert_int_equal(count_char(t->echo, 'a'), LINE_MAX - 1);
	/* It is in the history and can be recalled whole. */
	type(t, "\x1b[A");
	assert_int_equal(t->le.len, LINE_MAX - 1);
	assert_int_equal(strlen(editing(t)), LINE_MAX - 1);
}

/*
 * One character too many: nothing is stored or echoed past the buffer, the
 * bell rings once, and Enter says LE_TOO_LONG with the length typed. The
 * line is not run, not stored in the history, and the next line is normal.
 */
static void test_overlong_line(void **state)
{
	struct term *t = *state;
	for (size_t extra = 1; extra <= 100; extra += 99) {
		size_t n = LINE_MAX - 1 + extra;
		int hist = t->le.hist_count;
		char *s = malloc(n);
		assert_non_null(s);
		for (size_t i = 0; i < n; i++)
			s[i] = (char)('a' + i % 26);
		assert_string_equal(typen(t, s, n), "");
		assert_int_equal(t->le.len, LINE_MAX - 1);
		assert_memory_equal(t->le.buf, s, LINE_MAX - 1);
		assert_int_equal(t->le.buf[LINE_MAX - 1], '\0');
		assert_int_equal(count_char(t->echo, '\a'), 1);
		assert_int_equal(t->echo_len, LINE_MAX - 1 + 1); /* the kept bytes and one BEL */
		assert_memory_equal(t->echo, s, LINE_MAX - 1);
		free(s);
		assert_string_equal(type(t, "\r"), "T");
		assert_int_equal(le_overflow_length(&t->le), n);
		assert_string_equal(t->echo, "\n");
		assert_string_equal(editing(t), "");
		assert_int_equal(t->le.hist_count, hist);
		assert_string_equal(type(t, "\n"), ""); /* the LF of its CRLF */
		assert_string_equal(type(t, "ok\r"), "L");
		assert_string_equal(t->lines[0], "ok");
		assert_string_equal(t->echo, "ok\n");
		type(t, "\x1b[A\x1b[A");
		assert_string_equal(editing(t), "ok");
		type(t, "\x15");
	}
}

/* Backspace erases the unstored excess first; erased back to fit, the line runs. */
static void test_overlong_then_backspace(void **state)
{
	struct term *t = *state;
	char s[LINE_MAX + 2];
	memset(s, 'b', sizeof s);
	typen(t, s, LINE_MAX + 2); /* 3 too many */
	assert_string_equal(type(t, "\x7f\x7f"), "");
	assert_string_equal(t->echo, ""); /* the excess was never shown */
	assert_int_equal(t->le.len, LINE_MAX - 1);
	assert_string_equal(type(t, "\x7f"), "");
	assert_string_equal(type(t, "\x7f"), "");
	assert_string_equal(t->echo, "\b \b"); /* now a shown one goes */
	assert_string_equal(type(t, "\r"), "L");
	assert_int_equal(strlen(t->lines[0]), LINE_MAX - 2);
	/* Ctrl-U and Ctrl-C forget an overflow too. */
	typen(t, s, LINE_MAX + 2);
	assert_string_equal(type(t, "\x15" "a\r"), "L");
	assert_string_equal(t->lines[0], "a");
	typen(t, s, LINE_MAX + 2);
	assert_string_equal(type(t, "\x03" "b\r"), "CL");
	assert_string_equal(t->lines[0], "b");
}

/* Other control bytes and bytes >= 0x80 are ignored, not stored, not echoed. */
static void test_ignored_bytes(void **state)
{
	struct term *t = *state;
	static const char s[] = "a\x04\x07\t\x0c\x0e\x1f~\x80\xc3\xa9\xff" "b\r";
	assert_string_equal(typen(t, s, sizeof s - 1), "L");
	assert_string_equal(t->lines[0], "a~b");
	assert_string_equal(t->echo, "a~b\n");
	/* le_feed takes an int: only its low byte counts. */
	assert_int_equal(le_feed(&t->le, 0x100 | 'q'), LE_NONE);
	assert_int_equal(le_feed(&t->le, -1), LE_NONE); /* 0xff */
	assert_int_equal(le_feed(&t->le, '\r'), LE_LINE);
	assert_string_equal(le_line(&t->le), "q");
}

/* Unknown escape sequences vanish whole; the characters after them are typed. */
static void test_unknown_escapes(void **state)
{
	struct term *t = *state;
	/* PgUp, Ctrl-F5, F1, bracketed paste's start, F5. */
	assert_string_equal(type(t, "a\x1b[5~b\x1b[15;5~c\x1bOPd\x1b[200~e\x1b[15~f\r"), "L");
	assert_string_equal(t->lines[0], "abcdef");
	assert_string_equal(t->echo, "abcdef\n");
	/* ESC and another byte (Alt-x): the ESC goes, the byte is typed. */
	assert_string_equal(type(t, "\x1bxyz\r"), "L");
	assert_string_equal(t->lines[0], "xyz");
	/* A byte that cannot be in a CSI sequence ends it and is dropped. */
	assert_string_equal(type(t, "\x1b[\x80" "abc\r"), "L");
	assert_string_equal(t->lines[0], "abc");
}

/* An endless parameter string is waited out whole: none of it is typed,
 * and its final byte ends it (ESC [ 1111...1 a is one sequence). */
static void test_overlong_escape(void **state)
{
	struct term *t = *state;
	char s[256];
	strcpy(s, "\x1b[");
	memset(s + 2, '1', 100);
	strcpy(s + 102, "abc\r");
	assert_string_equal(type(t, s), "L");
	assert_string_equal(t->lines[0], "bc");
	/* The same with a parameter string of ';', all inside 0x20-0x3f. */
	memset(s + 2, ';', 100);
	assert_string_equal(type(t, s), "L");
	assert_string_equal(t->lines[0], "bc");
	/* An overlong Delete (ESC [ 0000...3 ~) deletes nothing. */
	strcpy(s, "xy\x1b[D\x1b[");
	memset(s + 7, '0', 40);
	strcpy(s + 47, "3~\r");
	assert_string_equal(type(t, s), "L");
	assert_string_equal(t->lines[0], "xy");
}

/*
 * Control keys still work right after an ESC or inside a sequence: Esc
 * then Enter runs the line, Esc then Ctrl-C cancels it, and a second ESC
 * starts a new sequence (ECMA-48 5.4: controls inside a sequence are
 * executed).
 */
static void test_control_inside_escape(void **state)
{
	struct term *t = *state;
	assert_string_equal(type(t, "ls\x1b\r"), "L");
	assert_string_equal(t->lines[0], "ls");
	assert_string_equal(type(t, "\n"), ""); /* and its LF is still swallowed */
	assert_string_equal(type(t, "mem\x1b[\r"), "L");
	assert_string_equal(t->lines[0], "mem");
	assert_string_equal(type(t, "abc\x1b\x03"), "C");
	assert_string_equal(type(t, "x\x1b[1\x7f\r"), "L");
	assert_string_equal(t->lines[0], "");
	type(t, "\x1b\x1b[A");
	assert_string_equal(editing(t), "mem");
}

/*
 * A one-line terminal, as the echo is drawn on it: printable bytes write at
 * the cursor and move it right, \b moves it left. After every byte the
 * editor takes, the screen must show its line and the cursor must be at
 * its cursor (trailing blanks aside: they are what erasing leaves).
 */
struct screen {
	char cell[LINE_MAX + 8];
	size_t cursor, width;
};

static void screen_echo(void *ctx, const char *s, size_t n)
{
	struct screen *sc = ctx;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\b') {
			assert_true(sc->cursor > 0);
			sc->cursor--;
		} else if (c == '\n') {
			memset(sc->cell, 0, sizeof sc->cell);
			sc->cursor = sc->width = 0;
		} else if (c == '\a') {
			continue;
		} else {
			assert_true(c >= 0x20 && c <= 0x7e);
			assert_true(sc->cursor < LINE_MAX + 8);
			sc->cell[sc->cursor++] = c;
			if (sc->cursor > sc->width)
				sc->width = sc->cursor;
		}
	}
}

static void expect_screen(const struct screen *sc, const struct lineedit *le)
{
	assert_int_equal(sc->cursor, le->pos);
	assert_memory_equal(sc->cell, le->buf, le->len);
	for (size_t i = le->len; i < sc->width; i++)
		assert_int_equal(sc->cell[i], ' ');
}

/* Feeds s to a fresh editor drawing on sc; checks the screen after every byte. */
static struct lineedit *edit(struct screen *sc, const char *s)
{
	static struct lineedit le;
	memset(sc, 0, sizeof *sc);
	le_init(&le, screen_echo, sc);
	for (; *s; s++) {
		enum le_event ev = le_feed(&le, (unsigned char)*s);
		if (ev == LE_NONE)
			expect_screen(sc, &le);
	}
	return &le;
}

static void test_cursor_keys(void **state)
{
	(void)state;
	struct screen sc;
	struct lineedit *le;
	/* Left, Left, insert: in the middle. Ctrl-B and ESC O D are Left too. */
	le = edit(&sc, "abc\x1b[D\x1b[DX");
	assert_string_equal(le->buf, "aXbc");
	assert_int_equal(le->pos, 2);
	le = edit(&sc, "abc\x02\x1bODY");
	assert_string_equal(le->buf, "aYbc");
	/* Right past the end does nothing; Left past the start does nothing. */
	le = edit(&sc, "ab\x1b[C\x1b[C\x1b[D\x1b[D\x1b[D\x1b[DZ\x06W");
	assert_string_equal(le->buf, "ZaWb");
	/* Home and End in every form: ESC [ H, ESC [ 1 ~, ESC [ 7 ~, ESC O H, ^A; and their Ends. */
	static const char *const homes[] = { "\x1b[H", "\x1b[1~", "\x1b[7~", "\x1bOH", "\x01" };
	static const char *const ends[] = { "\x1b[F", "\x1b[4~", "\x1b[8~", "\x1bOF", "\x05" };
	for (int i = 0; i < 5; i++) {
		char keys[64];
		snprintf(keys, sizeof keys, "mid%s<%s>", homes[i], ends[i]);
		le = edit(&sc, keys);
		assert_string_equal(le->buf, "<mid>");
		assert_int_equal(le->pos, 5);
	}
	/* Enter in the middle of the line runs all of it. */
	struct term *t = calloc(1, sizeof *t);
	assert_non_null(t);
	le_init(&t->le, capture, t);
	assert_string_equal(type(t, "echo hi\x1b[D\x1b[D\r"), "L");
	assert_string_equal(t->lines[0], "echo hi");
	assert_string_equal(t->echo, "echo hi\b\bhi\n");
	free(t);
}

static void test_deleting_in_the_middle(void **state)
{
	(void)state;
	struct screen sc;
	struct lineedit *le;
	/* Backspace before the cursor, Delete at it. */
	le = edit(&sc, "abcd\x1b[D\x1b[D\x7f");
	assert_string_equal(le->buf, "acd");
	assert_int_equal(le->pos, 1);
	le = edit(&sc, "abcd\x1b[D\x1b[D\x1b[3~");
	assert_string_equal(le->buf, "abd");
	assert_int_equal(le->pos, 2);
	/* Delete at the end and Backspace at the start do nothing. */
	le = edit(&sc, "ab\x1b[3~\x01\x7f");
	assert_string_equal(le->buf, "ab");
	/* Ctrl-W: the word before the cursor, and the spaces after it. */
	le = edit(&sc, "grow 100  \x17");
	assert_string_equal(le->buf, "grow ");
	le = edit(&sc, "grow 100 200\x1b[D\x1b[D\x1b[D\x17");
	assert_string_equal(le->buf, "grow 200");
	assert_int_equal(le->pos, 5);
	le = edit(&sc, "\x17x\x01\x17");
	assert_string_equal(le->buf, "x");
	/* Ctrl-K: from the cursor to the end. */
	le = edit(&sc, "spawn 100\x01\x06\x06\x06\x06\x06\x0b");
	assert_string_equal(le->buf, "spawn");
	/* Ctrl-U from the middle erases all of it. */
	le = edit(&sc, "hello\x1b[D\x1b[D\x15");
	assert_string_equal(le->buf, "");
	assert_int_equal(sc.cursor, 0);
	/* History recalled after moving the cursor: shown whole, cursor at its end. */
	le = edit(&sc, "tasks\rwx\x1b[D\x1b[A");
	assert_string_equal(le->buf, "tasks");
	assert_int_equal(le->pos, 5);
}

/* Random keys and bytes against the terminal model: the screen always shows the line. */
static void test_screen_follows_random_editing(void **state)
{
	(void)state;
	static const char *const keys[] = { "\x1b[D", "\x1b[C", "\x1b[H", "\x1b[F", "\x1b[3~", "\x1b[A",
					     "\x1b[B", "\x01", "\x05", "\x02", "\x06", "\x17", "\x0b",
					     "\x7f", "\x15", "\r", "a", "b", " ", "xyz", "\x1b[1;5C" };
	struct screen sc;
	static struct lineedit le;
	for (unsigned seed = 1; seed <= 200; seed++) {
		srand(seed);
		memset(&sc, 0, sizeof sc);
		le_init(&le, screen_echo, &sc);
		for (int i = 0; i < 2000; i++) {
			const char *k = keys[rand() % (int)(sizeof keys / sizeof keys[0])];
			for (; *k; k++) {
				enum le_event ev = le_feed(&le, (unsigned char)*k);
				assert_true(le.pos <= le.len && le.len < LINE_MAX);
				if (ev == LE_NONE)
					expect_screen(&sc, &le);
			}
		}
	}
}

/* Without an echo callback nothing is echoed, and editing works the same. */
static void test_no_echo_callback(void **state)
{
	(void)state;
	struct lineedit *le = malloc(sizeof *le);
	assert_non_null(le);
	le_init(le, NULL, NULL);
	static const char s[] = "abc\x7f\x1b[Aq\r";
	enum le_event last = LE_NONE;
	for (const char *p = s; *p; p++)
		last = le_feed(le, *p);
	assert_int_equal(last, LE_LINE);
	assert_string_equal(le_line(le), "abq");
	for (int i = 0; i < LINE_MAX + 10; i++)
		le_feed(le, 'x');
	assert_int_equal(le_feed(le, '\n'), LE_TOO_LONG);
	assert_int_equal(le_overflow_length(le), LINE_MAX + 10);
	free(le);
}

static size_t echo_bytes;

static void count_echo(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	assert_non_null(s);
	echo_bytes += n;
}

/*
 * 1 MiB of random bytes (fixed seed), biased towards the interesting ones;
 * after every byte the editor's invariants hold. ASan watches the buffers.
 */
static void test_fuzz(void **state)
{
	(void)state;
	struct lineedit *le = malloc(sizeof *le);
	assert_non_null(le);
	le_init(le, count_echo, NULL);
	static const unsigned char special[] = { '\r', '\n', 0x7f, 0x08, 0x03, 0x15, 0x1b,
						 '[', 'O', 'A', 'B', 'C', 'D', 'H', 'F', '1', '3', ';',
						 '~', 0x01, 0x02, 0x05, 0x06, 0x0b, 0x17 };
	uint64_t lines = 0, cancels = 0, toolong = 0;
	srand(1);
	for (long i = 0; i < (1L << 20); i++) {
		int r = rand();
		int c, reps = 1;
		if (r % 4096 == 0) { /* now and then a long run, to overflow */
			c = 'a' + (r >> 12) % 26;
			reps = LINE_MAX + 20;
		} else if (r % 8 == 0) {
			c = special[(r >> 3) % sizeof special];
		} else if (r % 8 < 3) {
			c = (r >> 3) & 0xff;
		} else {
			c = ' ' + (r >> 3) % 95;
		}
		for (int k = 0; k < reps; k++) {
			enum le_event ev = le_feed(le, c);
			assert_true(le->len < LINE_MAX);
			assert_true(le->pos <= le->len);
			assert_int_equal(le->buf[le->len], '\0');
			assert_true(le->typed >= le->len);
			assert_true(le->hist_count >= 0 && le->hist_count <= LINE_HISTORY);
			assert_true(le->hist_pos >= -1 && le->hist_pos < le->hist_count);
			if (ev == LE_NONE || ev == LE_LINE)
				assert_int_equal(strlen(le->buf), le->len);
			if (ev == LE_LINE) {
				assert_int_equal(strlen(le_line(le)), le->len);
				lines++;
			} else if (ev == LE_CANCEL) {
				cancels++;
			} else if (ev == LE_TOO_LONG) {
				assert_true(le_overflow_length(le) > 0);
				toolong++;
			}
		}
	}
	for (int h = 0; h < le->hist_count; h++) {
		size_t n = strnlen(le->history[h], LINE_MAX);
		assert_true(n > 0 && n < LINE_MAX);
	}
	/* The random stream really did reach every outcome. */
	assert_true(lines > 1000);
	assert_true(cancels > 100);
	assert_true(toolong > 0);
	assert_true(echo_bytes > 0);
	free(le);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_enter_cr_lf),
		T(test_enter_crlf),
		T(test_next_line_starts_fresh),
		T(test_backspace),
		T(test_ctrl_u),
		T(test_ctrl_c),
		T(test_history_up_down),
		T(test_history_ss3),
		T(test_history_no_empty_or_duplicates),
		T(test_history_capped),
		T(test_history_restores_draft),
		T(test_longest_line_fits),
		T(test_overlong_line),
		T(test_overlong_then_backspace),
		T(test_ignored_bytes),
		T(test_unknown_escapes),
		T(test_overlong_escape),
		T(test_control_inside_escape),
		cmocka_unit_test(test_cursor_keys),
		cmocka_unit_test(test_deleting_in_the_middle),
		cmocka_unit_test(test_screen_follows_random_editing),
		cmocka_unit_test(test_no_echo_callback),
		cmocka_unit_test(test_fuzz),
	};
	return unit_run("lineedit", tests);
}
