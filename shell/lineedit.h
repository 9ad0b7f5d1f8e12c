#ifndef MORESTACK_LINEEDIT_H
#define MORESTACK_LINEEDIT_H
#include <stddef.h>

#define LINE_MAX 256   /* bytes in a line, with its terminating NUL */
#define LINE_HISTORY 16

/* What feeding one byte produced. */
enum le_event {
	LE_NONE,      /* keep going */
	LE_LINE,      /* a line is ready: le_line() */
	LE_CANCEL,    /* Ctrl-C dropped the line */
	LE_TOO_LONG,  /* Enter after an overlong line: dropped, le_overflow_length() says how long */
};

struct lineedit {
	char buf[LINE_MAX];
	size_t len;
	size_t pos;         /* the cursor: where the next byte goes, 0..len */
	size_t typed;       /* printable bytes typed into this line, kept or not */
	size_t dropped;     /* length of the last line refused as too long */
	int esc;            /* escape-sequence state, see lineedit.c */
	int esc_len;        /* parameter bytes seen; past ESC_MAX the sequence is only waited out */
	int esc_param;      /* its first numeric parameter (ESC [ 3 ~: 3) */
	int esc_param_done; /* a ';' ended the first parameter */
	int last_cr;        /* the previous byte was CR: swallow a following LF */
	int line_done;      /* LE_LINE was returned: the next byte starts a new line */
	char history[LINE_HISTORY][LINE_MAX];
	int hist_count;     /* entries stored, newest at hist_newest */
	int hist_newest;
	int hist_pos;       /* -1: editing a new line; else how far back we are */
	char draft[LINE_MAX]; /* the new line, kept while browsing history */
	void (*echo)(void *ctx, const char *s, size_t n);
	void *ctx;
};

void le_init(struct lineedit *le, void (*echo)(void *ctx, const char *s, size_t n), void *ctx);
enum le_event le_feed(struct lineedit *le, int byte);
const char *le_line(const struct lineedit *le);
size_t le_overflow_length(const struct lineedit *le);
#endif
