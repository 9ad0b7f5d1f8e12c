/* platform_linux.h: what the Linux port (platform_linux.c) offers its programs
 * (tests, bench) beyond runtime/platform.h. */
#ifndef MORESTACK_PLATFORM_LINUX_H
#define MORESTACK_PLATFORM_LINUX_H
#include <stddef.h>
#include <stdint.h>
void host_init(void);
extern void (*host_console)(const char *s, size_t n); /* NULL: stderr */
/* The move-stress switch on the Linux port: every `interval_us` (a
 * timer's SIGPROF), the running task's stack moves at whatever instruction
 * of its own code it is on (rt_stress_tick). 0 turns it off. The
 * environment variable MORESTACK_STRESS_US sets it in host_init. */
void host_stress(unsigned interval_us);
/* A stop (runtime/preempt.c) `us` from now, as a Ctrl-C makes on bare
 * metal: a timer's SIGALRM requests it and offers each interrupted
 * context to rt_preempt every 200 us while it stands; parked tasks with
 * ids from first_parked_id die too. host_stop_cancel disarms it and clears
 * the request. */
void host_stop_after(unsigned us, const char *reason, uint64_t first_parked_id);
void host_stop_cancel(void);
#endif
