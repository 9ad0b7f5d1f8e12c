/*
 * demo.h: drawing live stack frames for the demos (demo.c), and the demos.
 * A picture is a list of 8-byte cells with their real addresses, drawn
 * high addresses at the top, as docs/go-semantics.md draws frames.
 */
#ifndef MORESTACK_DEMO_H
#define MORESTACK_DEMO_H
#include <stdbool.h>
#include <stdint.h>

#define DEMO_CELLS 48

/*
 * A picture lives in a global, where the stack mover cannot adjust it, and
 * a task's stack may move between two drawings (a growth, or the
 * move-stress switch at any instruction). So a cell in the running task's
 * stack is kept as its distance below the stack's top, which no move
 * changes (a move keeps the distance from the top), and turned back into
 * an address only where it is used (demo.c's cell_addr); so are the values
 * remembered to mark changes.
 */
struct demo_cell {
	uintptr_t where;     /* the address, or (in_stack) its distance below the stack's top */
	bool in_stack;
	const char *label;   /* what this word is, or NULL: not part of the story */
};

struct demo_picture {
	struct demo_cell cell[DEMO_CELLS];
	int n;
	uint64_t before[DEMO_CELLS]; /* values at the previous drawing (kept as cells are), to mark changes */
	bool drawn;
};

extern bool demo_color;
extern bool demo_step;
void demo_pause(void);
void demo_pic_add(struct demo_picture *p, const volatile void *addr, const char *label);
void demo_pic_range(struct demo_picture *p, const void *lo, const void *hi);
void demo_draw(struct demo_picture *p, const char *title);
void demo_go_source(const char *const *lines);
void demo_print_task_stack(void);
bool demo_compare(const char *what, const char *go, const char *ours);
int demo_run(const char *cmd, uint64_t (*fn)(uint64_t), const char *name, uint64_t *value);

/* The demos, one file each (demo_NAME.c), and the commands that drive them (demo.c). */
void cmd_swap(int argc, char **argv);
void cmd_incr(int argc, char **argv);
void cmd_frames(int argc, char **argv);
void cmd_escape(int argc, char **argv);
void cmd_closure(int argc, char **argv);
void cmd_hotsplit(int argc, char **argv);
void cmd_callret(int argc, char **argv);
void cmd_layout(int argc, char **argv);
void cmd_stackpool(int argc, char **argv);
void cmd_conventions(int argc, char **argv);
void cmd_heapstack(int argc, char **argv);
void cmd_demo(int argc, char **argv);
void cmd_step(int argc, char **argv);
void cmd_color(int argc, char **argv);
#endif
