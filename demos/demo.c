/*
 * demo.c: how the demos draw live stack frames on an 80-column terminal.
 *
 *     address                value                what
 *                          +--------------------+---------------------------+
 *     0xffffc00000010fe8   | 0x0000000000000001 | main: a                   |
 *     0xffffc00000010fc8   | 0xffffffff80005a10 | return address: main+0x3c |
 *
 * High addresses at the top (the stack grows down the page). Cells whose
 * value changed since the previous drawing are marked (bold yellow with
 * colour, "*" without); a value that is the address of another drawn cell
 * gets an arrow to that cell's label. Unlabelled words between labelled
 * ones (spills, alignment) are folded into one line.
 */
#include "demo.h"
#include "input.h"
#include "kernel.h"
#include "serial.h"
#include "shell.h"
#include "stop.h"
#include "x86.h"

bool demo_color = true;
bool demo_step;

/*
 * In step mode, waits for a key before going on (for teaching); q leaves
 * step mode; Ctrl-C stops the demo. It polls the keyboards rather than
 * sleep: a demo may run with interrupts off.
 */
void demo_pause(void)
{
	if (!demo_step)
		return;
	kprintf("  -- step: press a key (q: leave step mode) --\n");
	int c;
	while ((c = input_getc()) < 0) {
		if (stop_pending()) {
			rt_yield(); /* Ctrl-C: a task dies here; the shell's demo returns */
			return;
		}
		pause();
	}
	if (c == 'q' || c == 'Q') {
		demo_step = false;
		kprintf("  step: off (the demo runs on to its end)\n");
	}
}

/* Prints the running task's stack range, the frame every drawn address
 * of a demo must fall in (the tests check they do). */
void demo_print_task_stack(void)
{
	struct rt_task *t = rt_current();
	kprintf("  the task's stack: [%#lx, %#lx)\n", t->stack_lo, t->stack_hi);
}

/* A word as a picture keeps it (demo.h): a value inside the running task's
 * stack (its guard included) as its distance below the top, flagged. */
static uint64_t keep(uint64_t v, bool *in_stack)
{
	struct rt_task *t = rt_current();
	*in_stack = t && v >= t->stack_lo - RT_STACK_GUARD && v <= t->stack_hi;
	return *in_stack ? t->stack_hi - v : v;
}

/* Cell i's address now (the stack's top is read at each use: a move may come at any time). */
static uintptr_t cell_addr(const struct demo_picture *p, int i)
{
	return p->cell[i].in_stack ? rt_current()->stack_hi - p->cell[i].where : p->cell[i].where;
}

/* The index of the cell at addr, or -1. */
static int find(const struct demo_picture *p, uintptr_t addr)
{
	bool in_stack;
	uintptr_t where = keep(addr, &in_stack);
	for (int i = 0; i < p->n; i++)
		if (p->cell[i].where == where && p->cell[i].in_stack == in_stack)
			return i;
	return -1;
}

void demo_pic_add(struct demo_picture *p, const volatile void *addr, const char *label)
{
	int i = find(p, (uintptr_t)addr);
	if (i >= 0) {
		p->cell[i].label = label;
		return;
	}
	if (p->n < DEMO_CELLS) {
		struct demo_cell *c = &p->cell[p->n++];
		c->where = keep((uintptr_t)addr, &c->in_stack);
		c->label = label;
	}
}

/* Adds every 8-byte word of [lo, hi) without a label (it may get one later). */
void demo_pic_range(struct demo_picture *p, const void *lo, const void *hi)
{
	for (uintptr_t a = (uintptr_t)lo & ~7UL; a < (uintptr_t)hi && p->n < DEMO_CELLS; a += 8)
		if (find(p, a) < 0)
			demo_pic_add(p, (const void *)a, NULL);
}

static const char *label_of(struct demo_picture *p, uint64_t value)
{
	int i = find(p, value);
	return i >= 0 ? p->cell[i].label : NULL;
}

/* Draws the picture, highest address first; marks what changed since the last drawing. */
void demo_draw(struct demo_picture *p, const char *title)
{
	/* sort by address, high first (insertion sort: a few dozen cells) */
	for (int i = 1; i < p->n; i++)
		for (int j = i; j > 0 && cell_addr(p, j) > cell_addr(p, j - 1); j--) {
			struct demo_cell c = p->cell[j];
			uint64_t b = p->before[j];
			p->cell[j] = p->cell[j - 1];
			p->before[j] = p->before[j - 1];
			p->cell[j - 1] = c;
			p->before[j - 1] = b;
		}
	kprintf("\n  %s\n", title);
	kprintf("  %-18s   %-18s   %s\n", "address", "value", "what");
	kprintf("  %18s +--------------------+----------------------------------+\n", "");
	int folded = 0;
	for (int i = 0; i < p->n; i++) {
		uintptr_t a = cell_addr(p, i);
		uint64_t v = *(volatile uint64_t *)a;
		bool in_stack;
		uint64_t kept = keep(v, &in_stack);
		bool changed = p->drawn && kept != p->before[i];
		p->before[i] = kept;
		if (!p->cell[i].label) {
			folded++;
			if (i + 1 < p->n && !p->cell[i + 1].label)
				continue;
			kprintf("  %18s | %-18s | %-32s |\n", "", "...",
				folded == 1 ? "(1 other word)" : "(other words)");
			folded = 0;
			continue;
		}
		char what[80];
		const char *to = label_of(p, v);
		if (to)
			ksnprintf(what, sizeof what, "%s -> %s", p->cell[i].label, to);
		else
			ksnprintf(what, sizeof what, "%s", p->cell[i].label);
		if (changed && demo_color)
			kprintf("  %#018lx | \033[1;33m%#018lx\033[0m | \033[1;33m%-32.32s\033[0m |\n",
				a, v, what);
		else
			kprintf("  %#018lx | %#018lx | %-32.32s |%s\n", a, v, what,
				changed ? " *" : "");
	}
	kprintf("  %18s +--------------------+----------------------------------+\n", "");
	p->drawn = true;
	demo_pause();
}

void demo_go_source(const char *const *lines)
{
	kprintf("Go:\n");
	for (; *lines; lines++)
		kprintf("    %s\n", *lines);
}

static void print_verdict(const char *what, const char *go, const char *ours)
{
	bool same = strcmp(go, ours) == 0;
	kprintf("  %-14s Go prints: %-6s here: %-6s %s\n", what, go, ours,
		same ? (demo_color ? "\033[1;32mmatches Go\033[0m" : "matches Go")
		     : (demo_color ? "\033[1;31mDIFFERS FROM GO\033[0m" : "DIFFERS FROM GO"));
}

/*
 * Comparisons made inside a demo's task wait here for the task's end: a
 * task that dies halfway gives no verdict about Go, not even for the
 * steps it finished (demo_run prints them once it has returned).
 */
#define DEMO_VERDICTS 8
static struct {
	char what[16], go[16], ours[24];
} pending[DEMO_VERDICTS];
static int npending;

/*
 * Prints Go's output beside ours; returns true if they match. Inside a
 * task only the values are printed now; the verdict waits for demo_run.
 */
bool demo_compare(const char *what, const char *go, const char *ours)
{
	bool same = strcmp(go, ours) == 0;
	if (!rt_current()) {
		print_verdict(what, go, ours);
		return same;
	}
	kprintf("  %-14s Go prints: %-6s here: %s\n", what, go, ours);
	if (npending < DEMO_VERDICTS) {
		ksnprintf(pending[npending].what, sizeof pending[0].what, "%s", what);
		ksnprintf(pending[npending].go, sizeof pending[0].go, "%s", go);
		ksnprintf(pending[npending].ours, sizeof pending[0].ours, "%s", ours);
		npending++;
	}
	return same;
}

/*
 * Runs a demo's task (fn(0), named name) to its end with task_run. If it
 * returned: prints the verdicts its comparisons made, returns how many
 * matched Go (and its value in *value). If it could not start or died:
 * says why, gives no verdict, returns -1.
 */
int demo_run(const char *cmd, rt_func fn, const char *name, uint64_t *value)
{
	npending = 0;
	bool ok = task_run(cmd, fn, 0, name, value, "no verdict about Go");
	int matched = 0;
	if (ok) {
		if (npending)
			kprintf("\n  the task finished; against Go:\n");
		for (int i = 0; i < npending; i++) {
			print_verdict(pending[i].what, pending[i].go, pending[i].ours);
			matched += strcmp(pending[i].go, pending[i].ours) == 0;
		}
	}
	npending = 0;
	return ok ? matched : -1;
}

void cmd_step(int argc, char **argv)
{
	int on = parse_on_off("step", argc, argv);
	if (on == -2)
		return;
	if (on >= 0)
		demo_step = on;
	kprintf("step: %s\n", demo_step ? "on: the demos pause at each picture until a key"
				       : "off");
}

/* `demo all`: every demo, in the order of a lecture. */
void cmd_demo(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(int, char **);
	} demos[] = {
		{ "callret", cmd_callret }, { "frames", cmd_frames }, { "layout", cmd_layout },
		{ "conventions", cmd_conventions },
		{ "swap", cmd_swap }, { "incr", cmd_incr },
		{ "escape", cmd_escape }, { "closure", cmd_closure }, { "hotsplit", cmd_hotsplit },
		{ "stackpool", cmd_stackpool }, { "heapstack", cmd_heapstack },
	};
	if (argc != 2 || strcmp(argv[1], "all") != 0) {
		kprintf("demo: usage: demo all (or run one: callret, frames, layout, conventions,\n"
			"  swap, incr, escape, closure, hotsplit, stackpool, heapstack)\n");
		return;
	}
	for (unsigned i = 0; i < sizeof demos / sizeof demos[0]; i++) {
		if (stop_pending()) {
			kprintf("demo: Ctrl-C: stopped before demo %u of %u\n", i + 1,
				(unsigned)(sizeof demos / sizeof demos[0]));
			return;
		}
		kprintf("\n==== demo %u of %u: %s ====\n", i + 1,
			(unsigned)(sizeof demos / sizeof demos[0]), demos[i].name);
		char *args[] = { (char *)demos[i].name, NULL };
		demos[i].run(1, args);
	}
	kprintf("\ndemo: all %u demos ran\n", (unsigned)(sizeof demos / sizeof demos[0]));
}

void cmd_color(int argc, char **argv)
{
	int on = parse_on_off("color", argc, argv);
	if (on == -2)
		return;
	if (on >= 0)
		demo_color = on;
	kprintf("color: %s\n", demo_color ? "on (ANSI)" : "off (plain text, changes marked *)");
}
