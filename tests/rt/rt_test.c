/* rt_test.c: console capture and setup shared by the host runtime tests. */
#include "rt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char console_buf[1 << 16];
size_t console_len;

/* Runs inside the fault handler too: write(2), not stdio, which may hold a lock. */
static void capture(const char *s, size_t n)
{
	if (write(2, s, n) < 0) { /* keep it visible in the test log too; the copy below still records it */
	}
	if (console_len + n >= sizeof console_buf)
		n = sizeof console_buf - 1 - console_len;
	memcpy(console_buf + console_len, s, n);
	console_len += n;
	console_buf[console_len] = '\0';
}

void console_reset(void)
{
	console_len = 0;
	console_buf[0] = '\0';
}

/* Under the move-stress switch, says how many moves it made (the log shows it worked). */
static void report_stress(void)
{
	uint64_t c[3];
	rt_stress_counts(c);
	if (rt_stress_moves)
		fprintf(stderr, "move-stress: %llu moves to larger stacks, %llu to the same size, %llu to smaller\n",
			(unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2]);
}

void rt_test_setup(void)
{
	static bool once;
	if (!once) {
		once = true;
		atexit(report_stress);
	}
	rt_set_stack_fault_on_free(false); /* the Linux port's default; host_init reads the environment */
	host_init();
	/* Tests count growths from a one-page first stack; test_stack.c tests
	 * the adaptive first stack on its own. */
	rt_stack_adaptive = false;
	/* Tests that keep a pointer to a parked task's local (fork, the
	 * neighbour-stack tests) expect a parked task to stay where it is;
	 * hibernation is tested in test_stack.c and by the fuzzer. */
	rt_stack_hibernation = false;
	host_console = capture;
	console_reset();
	rt_stack_limit = RT_STACK_LIMIT_DEFAULT;
	rt_trace_moves = false;
}

void expect_console(const char *needle)
{
	if (!strstr(console_buf, needle))
		fail_msg("expected \"%s\" in the runtime's output, which was:\n%s", needle, console_buf);
}
