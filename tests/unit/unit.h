/*
 * unit.h: what every host unit test includes. cmocka needs stdarg, stddef,
 * stdint and setjmp before its own header. The tests link the kernel's pure
 * modules unchanged; libc stands in for lib/string.c.
 */
#ifndef MORESTACK_UNIT_H
#define MORESTACK_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/*
 * Runs a group of tests. stdout goes line-buffered first, so the TAP lines
 * of the tests that passed are not lost when a sanitizer kills the process
 * in a later one (run.sh counts the tests that never reported as failed).
 */
#define unit_run(name, tests)                                  \
	(setvbuf(stdout, NULL, _IOLBF, 0),                     \
	 cmocka_run_group_tests_name(name, tests, NULL, NULL))

#endif
