/*
 * rt_test.h: shared by the host runtime tests. The runtime, its Linux
 * platform and these tests run natively; console output is captured so
 * tests can assert on the runtime's reports.
 */
#ifndef MORESTACK_RT_TEST_H
#define MORESTACK_RT_TEST_H
#include "unit.h"

#include "heap.h"
#include "platform_linux.h"
#include "rt.h"

extern char console_buf[1 << 16];
extern size_t console_len;
void console_reset(void);
void rt_test_setup(void);     /* call first in every test: cmocka replaces signal handlers */
void expect_console(const char *needle);
#endif
