/* platform_linux.h: what the Linux port (platform_linux.c) offers its programs
 * (tests, bench) beyond runtime/platform.h. */
#ifndef MORESTACK_PLATFORM_LINUX_H
#define MORESTACK_PLATFORM_LINUX_H
#include <stddef.h>
void host_init(void);
extern void (*host_console)(const char *s, size_t n); /* NULL: stderr */
/* The move-stress switch on the Linux port: every `interval_us` (a
 * timer's SIGPROF), the running task's stack moves at whatever instruction
 * of its own code it is on (rt_stress_tick). 0 turns it off. The
 * environment variable MORESTACK_STRESS_US sets it in host_init. */
void host_stress(unsigned interval_us);
#endif
