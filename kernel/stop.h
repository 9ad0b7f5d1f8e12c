/* stop.h: Ctrl-C stops the running command (stop.c); the tick that retries (tick.c). */
#ifndef MORESTACK_STOP_H
#define MORESTACK_STOP_H
#include <stdbool.h>
#include <stdint.h>

struct trapframe;

#define STOP_RETRY_NS 1000000UL /* a stop that found no safe point tries again 1 ms later */

void stop_arm(void);       /* the shell, before a command: Ctrl-C now stops it */
bool stop_disarm(void);    /* after it: true if Ctrl-C stopped it; clears the request */
bool stop_key(void);       /* input.c, for each Ctrl-C: true if it was a stop (not typed) */
bool stop_pending(void);   /* a stop was asked for: long loops of the shell end early */
void stop_at_interrupt(struct trapframe *tf); /* trap.c, after every IRQ */

/* The tick (tick.c): a hook returns the ns until the tick it wants next,
 * 0 for none; with tf NULL it is asked only for that (tick_begin). */
typedef uint64_t (*tick_hook)(struct trapframe *tf);
void tick_init(void);
void tick_set_stress(tick_hook hook);
void tick_begin(void);
void tick_end(void);
void tick_soon(uint64_t ns);
/* A driver with no interrupt (the USB keyboard): hook runs every
 * TICK_POLL_NS from now on, at the prompt and while commands run. */
#define TICK_POLL_NS 10000000UL
void tick_set_poll(void (*hook)(void));
#endif
