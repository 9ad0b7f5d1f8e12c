/*
 * test_format.c: ksnprintf (lib/format.c), the kernel's only printf.
 *
 * Its documented differences from C's printf are tested as they are:
 * '#' prints 0x even for 0 and the width counts it, %p always prints 0x.
 */
#include "unit.h"

#include <limits.h>

#include "format.h"

/* Formats into a fresh 128-byte buffer and checks text and return value. */
#define check(expect, ...)                                            \
	do {                                                          \
		char buf_[128];                                       \
		memset(buf_, 'Z', sizeof buf_);                       \
		int n_ = ksnprintf(buf_, sizeof buf_, __VA_ARGS__);   \
		assert_string_equal(buf_, expect);                    \
		assert_int_equal(n_, strlen(expect));                 \
	} while (0)

/* Calls kvsnprintf with no format checking, for formats gcc would reject. */
static int unchecked(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

static void test_plain_text(void **state)
{
	(void)state;
	check("hello, world", "hello, world");
	check("100%", "100%%");
	check("a%b", "a%cb", '%');
}

static void test_signed(void **state)
{
	(void)state;
	check("0", "%d", 0);
	check("42", "%d", 42);
	check("-42", "%i", -42);
	check("2147483647", "%d", INT_MAX);
	check("-2147483648", "%d", INT_MIN);
	check("-9223372036854775808", "%lld", LLONG_MIN);
	check("9223372036854775807", "%ld", LONG_MAX);
	check("-1", "%ld", -1L);
	check("-5", "%zd", (ssize_t)-5);
}

static void test_signed_width(void **state)
{
	(void)state;
	check("   -7", "%5d", -7);
	check("-0007", "%05d", -7);
	check("-7   |", "%-5d|", -7);
	check("12345", "%3d", 12345);
}

static void test_unsigned(void **state)
{
	(void)state;
	check("4294967295", "%u", UINT_MAX);
	check("18446744073709551615", "%lu", ULONG_MAX);
	check("18446744073709551615", "%llu", ULLONG_MAX);
	check("123", "%zu", (size_t)123);
	/* An int argument read as %u is reinterpreted, not sign-extended. */
	check("4294967295", "%u", (unsigned)-1);
}

static void test_hex(void **state)
{
	(void)state;
	check("0", "%x", 0);
	check("deadbeef", "%x", 0xdeadbeefU);
	check("DEADBEEF", "%X", 0xdeadbeefU);
	check("ffffffffffffffff", "%lx", ~0UL);
	check("00ff", "%04x", 0xff);
	check("  ff", "%4x", 0xff);
	check("ff  |", "%-4x|", 0xff);
}

/* '#' always prints 0x, also for 0 (C prints a bare 0), and counts in the width. */
static void test_hex_alternate(void **state)
{
	(void)state;
	check("0x1000", "%#lx", 0x1000UL);
	check("0x0", "%#lx", 0UL);
	check("0xffffffff80000000", "%#lx", 0xffffffff80000000UL);
	check("0x0000000000001000", "%#018lx", 0x1000UL);
	check("0xffff800000000000", "%#018lx", 0xffff800000000000UL);
	check("0x0000000000000000", "%#018lx", 0UL);
	check("   0x10", "%#7x", 0x10);
	check("0x10   |", "%-#7x|", 0x10);
	check("0xAB", "%#X", 0xab); /* the prefix stays lower case, unlike C's 0X */
}

static void test_pointer(void **state)
{
	(void)state;
	check("0x1234", "%p", (void *)0x1234);
	check("0xffffffff80001000", "%p", (void *)0xffffffff80001000UL);
	check("0x0", "%p", (void *)0);
}

static void test_string(void **state)
{
	(void)state;
	const char *volatile null = NULL; /* hidden from gcc's format checks */
	check("abc", "%s", "abc");
	check("(null)", "%s", null);
	check("", "%s", "");
	check("abc", "%.*s", 3, "abcdef");
	check("", "%.*s", 0, "abcdef");
	check("ab", "%.*s", 5, "ab");
	check("abcdef", "%.*s", -1, "abcdef"); /* negative precision: none */
	check("ab", "%.2s", "abcdef");
	check("abc       |", "%-10s|", "abc");
	check("       abc|", "%10s|", "abc");
	check("abcdefghijkl", "%10s", "abcdefghijkl");
	check("  ab|", "%4.2s|", "abcdef");
	check("   (null)", "%9s", null);
}

static void test_char(void **state)
{
	(void)state;
	check("x", "%c", 'x');
	check("  x", "%3c", 'x');
	check("x  |", "%-3c|", 'x');
	check("[%]", "[%%]");
}

static void test_star_width(void **state)
{
	(void)state;
	check("   42", "%*d", 5, 42);
	check("00042", "%0*d", 5, 42);
}

static void test_mixed(void **state)
{
	(void)state;
	check("pt 0x0000000000400000: PML4 index 0, PDPT 0, PD 2",
	      "pt %#018lx: PML4 index %lu, PDPT %lu, PD %lu", 0x400000UL, 0UL, 0UL, 2UL);
	check("trap 14 at 0xffffffff80001234 (kmain+0x34)", "trap %d at %#lx (%s+%#lx)", 14,
	      0xffffffff80001234UL, "kmain", 0x34UL);
}

/* Unknown conversions print as they stand; a '%' at the end stops cleanly. */
static void test_unknown_conversion(void **state)
{
	(void)state;
	char buf[32];
	assert_int_equal(unchecked(buf, sizeof buf, "a%qb", 0), 4);
	assert_string_equal(buf, "a%qb");
	assert_int_equal(unchecked(buf, sizeof buf, "end%", 0), 4);
	assert_string_equal(buf, "end%");
	assert_int_equal(unchecked(buf, sizeof buf, "end%-0l", 0), 4);
	assert_string_equal(buf, "end%");
}

/* The return value is the full length; the buffer is always terminated. */
static void test_truncation(void **state)
{
	(void)state;
	char buf[8];
	memset(buf, 'Z', sizeof buf);
	assert_int_equal(ksnprintf(buf, sizeof buf, "%s", "0123456789"), 10);
	assert_string_equal(buf, "0123456");

	memset(buf, 'Z', sizeof buf);
	assert_int_equal(ksnprintf(buf, 5, "%#018lx", 0x1234UL), 18);
	assert_string_equal(buf, "0x00");
	assert_int_equal(buf[5], 'Z'); /* nothing written past cap */

	memset(buf, 'Z', sizeof buf);
	assert_int_equal(ksnprintf(buf, 1, "abc"), 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'Z');

	memset(buf, 'Z', sizeof buf);
	assert_int_equal(ksnprintf(buf, 8, "1234567"), 7); /* exactly fits */
	assert_string_equal(buf, "1234567");

	memset(buf, 'Z', sizeof buf);
	assert_int_equal(ksnprintf(buf, 8, "%-10s|", "ab"), 11);
	assert_string_equal(buf, "ab     ");
}

/* cap 0 writes nothing at all, so a NULL buffer is fine: a length query. */
static void test_cap_zero(void **state)
{
	(void)state;
	char buf[4] = { 'Z', 'Z', 'Z', 'Z' };
	assert_int_equal(ksnprintf(buf, 0, "%d-%s", 123, "abc"), 7);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(ksnprintf(NULL, 0, "%#018lx", 1UL), 18);
}

/*
 * The output of a randomized mix of conversions that C and ksnprintf agree
 * on matches the host's snprintf byte for byte (fixed seed).
 */
static void test_agrees_with_libc(void **state)
{
	(void)state;
	static const char *const fmts[] = { "%d", "%5d", "%-5d|", "%05d", "%u", "%x", "%8X",
					    "%-8x|", "%ld", "%lu", "%lx", "%016lx", "%s",
					    "%12s", "%-12s|", "%.3s", "%c" };
	char mine[96], libc[96];
	srand(1);
	for (int i = 0; i < 20000; i++) {
		int k = rand() % (int)(sizeof fmts / sizeof fmts[0]);
		const char *f = fmts[k];
		unsigned long u = ((unsigned long)rand() << 33) ^ ((unsigned long)rand() << 2) ^
				  (unsigned long)rand();
		if (rand() % 2)
			u = -u;
		long v = (long)u;
		int a, b;
		if (strchr(f, 's')) {
			static const char *const strs[] = { "", "a", "kmain", "a rather long name" };
			const char *s = strs[rand() % 4];
			a = unchecked(mine, sizeof mine, f, s);
			b = snprintf(libc, sizeof libc, f, s);
		} else if (strchr(f, 'l')) {
			a = unchecked(mine, sizeof mine, f, v);
			b = snprintf(libc, sizeof libc, f, v);
		} else if (f[1] == 'c') {
			int c = ' ' + rand() % 95;
			a = unchecked(mine, sizeof mine, f, c);
			b = snprintf(libc, sizeof libc, f, c);
		} else {
			a = unchecked(mine, sizeof mine, f, (int)v);
			b = snprintf(libc, sizeof libc, f, (int)v);
		}
		if (a != b || strcmp(mine, libc) != 0)
			fail_msg("format \"%s\": ksnprintf gave \"%s\" (%d), libc \"%s\" (%d)", f, mine,
				 a, libc, b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_signed_width),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hex_alternate),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_char),
		cmocka_unit_test(test_star_width),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_unknown_conversion),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_cap_zero),
		cmocka_unit_test(test_agrees_with_libc),
	};
	return unit_run("format", tests);
}
