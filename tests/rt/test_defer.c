/*
 * test_defer.c: defer on the Linux host port: Go's programs of
 * docs/go-semantics.md section 2 (their C twins in twins/twin_defer.c) checked
 * against what Go 1.19 prints, then what defer must survive.
 */
#include "rt_test.h"

#include "internal.h" /* the runtime's own records and counters, checked here */

#include <alloca.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "twins.h"

#include "closure.h"
#include "defer.h"
#include "panic.h"
#include "platform.h"

static void test_incr_and_incrn_print_0_1_and_0_2(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t a = 0, b;
	b = twin_incr(a);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	b = twin_incrn(a);
	assert_int_equal(a, 0);
	assert_int_equal(b, 2);
	assert_int_equal(rt_defer_pending(), 0);
}

static void test_defer_arg_is_1_and_defer_closure_is_5(void **state)
{
	(void)state;
	rt_test_setup();
	assert_int_equal(twin_defer_arg(), 1);
	assert_int_equal(twin_defer_closure(), 5);
}

static void test_lifo_order_2_1_0(void **state)
{
	(void)state;
	rt_test_setup();
	char out[16];
	twin_lifo(out, sizeof out);
	assert_string_equal(out, "2 1 0");
}

/* Notes single digits, for the tests below. */
static char order[64];
static size_t order_len;

static void note(uint64_t i)
{
	order[order_len++] = (char)('0' + i);
	order[order_len] = '\0';
}

/* A closure over a frame's r and x: func() { r = x }. */
struct rx {
	uint64_t *r, *x;
};

RT_CLOSURE_CODE(copy_x, void);
void copy_x_body(void *env)
{
	struct rx *e = env;
	*e->r = *e->x;
}

/* 10,000 defers in one frame: records in the heap, all run, newest first. */
static uint64_t last_seen, out_of_order, ran;

static void check_order(uint64_t i)
{
	if (ran && i != last_seen - 1)
		out_of_order++;
	last_seen = i;
	ran++;
}

RT_DEFERS static uint64_t many_defers(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rt_defer((void *)check_order, 1, i);
	RT_RETURN(rt_defer_pending());
}

static void test_ten_thousand_defers_in_one_frame(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_heap_stats h0, h1;
	rt_defer_trim();
	rt_heap_get_stats(&h0);
	ran = out_of_order = 0;
	assert_int_equal(many_defers(10000), 10000);
	assert_int_equal(ran, 10000);
	assert_int_equal(out_of_order, 0);
	assert_int_equal(last_seen, 0);
	rt_defer_trim(); /* the record cache keeps up to 256 of them for reuse */
	rt_heap_get_stats(&h1);
	assert_int_equal(h1.objects_live, h0.objects_live); /* every record freed */
}

/* A deferring function whose stack moves before it returns: the records follow. */
__attribute__((noinline)) static uint64_t deep(uint64_t n)
{
	volatile char pad[200];
	pad[0] = 1;
	return n ? deep(n - 1) + pad[0] : 0;
}

RT_DEFERS static uint64_t defers_then_grows(uint64_t n)
{
	uint64_t r = 0, x = 1;
	rt_defer_result(&r);
	struct rx env = { &r, &x };
	void *f = rt_closure_new(copy_x, &env);
	rt_defer((void *)rt_closure_free, 1, (uint64_t)f);
	rt_defer(f, 0);
	x = 7 + deep(n); /* grows: r, x, env and the frame record all move */
	RT_RETURN(0);
}

static uint64_t grow_task(uint64_t n)
{
	uint64_t v = defers_then_grows(n);
	return v == 7 + n && rt_current()->stats.grows > 0 && rt_defer_pending() == 0;
}

static void test_defers_survive_a_stack_move(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(grow_task, 20000, "grower");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_reap(t);
}

static uint64_t spin(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rt_yield();
	return 0;
}

/* A deferring function whose stack shrinks (it yields from a shallow
 * point after growing deep) before it returns: the records follow. */
RT_DEFERS static uint64_t defers_grows_yields(uint64_t n)
{
	uint64_t r = 0, x = 3;
	rt_defer_result(&r);
	struct rx env = { &r, &x };
	void *f = rt_closure_new(copy_x, &env);
	rt_defer((void *)rt_closure_free, 1, (uint64_t)f);
	rt_defer(f, 0);
	x += deep(n);            /* grows to a few MiB and comes back */
	for (int i = 0; i < 12; i++)
		rt_yield();      /* each yield may halve the stack: r, x, env, records move */
	RT_RETURN(0);
}

static uint64_t shrink_task(uint64_t n)
{
	uint64_t v = defers_grows_yields(n);
	return v == 3 + n && rt_current()->stats.shrinks >= 3;
}

static void test_defers_survive_a_stack_shrink(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(shrink_task, 20000, "shrinker");
	struct rt_task *other = rt_spawn(spin, 20, "spinner");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_join(other, NULL);
	rt_reap(t);
	rt_reap(other);
}

/* A backtrace taken inside a deferred call shows the deferring function's caller. */
static char seen[1024];

static void take_backtrace(void)
{
	uintptr_t *fp = __builtin_frame_address(0);
	seen[0] = '\0';
	for (int i = 0; fp && i < 12; i++) {
		char name[96];
		if (plat_symbolize(fp[1] - 1, name, sizeof name)) {
			strncat(seen, name, sizeof seen - strlen(seen) - 2);
			strcat(seen, " ");
		}
		fp = (uintptr_t *)fp[0];
	}
}

RT_DEFERS static void defers_a_backtrace(void)
{
	rt_defer((void *)take_backtrace, 0);
	RT_RETURN_VOID();
}

__attribute__((noinline)) static void the_true_caller(void)
{
	defers_a_backtrace();
	__asm__ volatile("" ::: "memory");
}

static void test_backtrace_in_a_deferred_call_shows_the_callers(void **state)
{
	(void)state;
	rt_test_setup();
	the_true_caller();
	if (!strstr(seen, "rt_defer_return+") || !strstr(seen, "defers_a_backtrace+") ||
	    !strstr(seen, "the_true_caller+") ||
	    !strstr(seen, "test_backtrace_in_a_deferred_call_shows_the_callers+"))
		fail_msg("backtrace from a deferred call: %s", seen);
}

/* A deferred call may yield, and a deferred call may defer. */
RT_DEFERS static void inner_defers(void)
{
	rt_defer((void *)note, 1, 9);
	RT_RETURN_VOID();
}

static void yield_then_defer(uint64_t i)
{
	rt_yield();
	note(i);
	inner_defers();
}

RT_DEFERS static uint64_t yielding_defers(uint64_t arg)
{
	(void)arg;
	rt_defer((void *)yield_then_defer, 1, 1);
	rt_defer((void *)yield_then_defer, 1, 2);
	RT_RETURN(0);
}


static void test_deferred_calls_may_yield_and_defer(void **state)
{
	(void)state;
	rt_test_setup();
	order_len = 0;
	struct rt_task *a = rt_spawn(yielding_defers, 0, "deferrer");
	struct rt_task *b = rt_spawn(spin, 10, "spinner");
	assert_int_equal(rt_join(a, NULL), RT_EXIT_RETURNED);
	rt_join(b, NULL);
	assert_string_equal(order, "2919");
	rt_reap(a);
	rt_reap(b);
}

/* ---- results in every register the ABI returns them in ---- */

static volatile double fp_sink;
static volatile long double ld_sink;
static const double fp_garbage = -12345.0;

/* A deferred call that computes floats, as deferred calls do, then leaves
 * garbage in %xmm0/%xmm1 and runs the x87 stack eight deep (which a result
 * left on it would not survive). */
__attribute__((noinline)) static void clobber_fp(void)
{
	volatile double d = 3.0;
	volatile float f = 5.0f;
	volatile long double l = 7.0L;
	fp_sink = d * d + f;
	ld_sink = l * l / 3.0L;
	__asm__ volatile("movsd %0, %%xmm0\n\tmovsd %0, %%xmm1" ::"m"(fp_garbage) : "xmm0", "xmm1");
	__asm__ volatile("fldpi; fldpi; fldpi; fldpi; fldpi; fldpi; fldpi; fldpi\n\t"
			 "fstp %%st(0); fstp %%st(0); fstp %%st(0); fstp %%st(0)\n\t"
			 "fstp %%st(0); fstp %%st(0); fstp %%st(0); fstp %%st(0)" ::: "st", "st(1)", "st(2)",
			 "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
}

/* A deferred call that also grows the stack (in a task: it moves). */
__attribute__((noinline)) static uint64_t deep(uint64_t n);
static void clobber_fp_deep(void)
{
	fp_sink = (double)deep(3000);
	clobber_fp();
}

static const void *fp_clobberer = (const void *)clobber_fp;

struct dd {
	double a, b;
};
struct ld {
	long a;
	double b;
};
struct ff4 {
	float a, b, c, d;
};
struct big {
	double a, b, c; /* in memory: %rax holds the caller's buffer */
};

RT_DEFERS static double ret_double(double x)
{
	rt_defer(fp_clobberer, 0);
	RT_RETURN(x * 2.5);
}
RT_DEFERS static float ret_float(float x)
{
	rt_defer(fp_clobberer, 0);
	RT_RETURN(x * 0.5f);
}
RT_DEFERS static long double ret_ldouble(long double x)
{
	rt_defer(fp_clobberer, 0);
	RT_RETURN(x / 3.0L);
}
RT_DEFERS static _Complex long double ret_cldouble(long double re, long double im)
{
	rt_defer(fp_clobberer, 0);
	_Complex long double z;
	__real__ z = re / 7.0L;
	__imag__ z = im / 9.0L;
	RT_RETURN(z);
}
RT_DEFERS static struct dd ret_dd(double a, double b)
{
	rt_defer(fp_clobberer, 0);
	RT_RETURN(((struct dd){ a + 0.25, b - 0.25 }));
}
RT_DEFERS static struct ld ret_ld(long a, double b)
{
	rt_defer(fp_clobberer, 0);
	RT_RETURN(((struct ld){ a * 3, b * 3 }));
}
RT_DEFERS static struct ff4 ret_ff4(float a)
{
	rt_defer(fp_clobberer, 0);
	RT_RETURN(((struct ff4){ a, a + 1, a + 2, a + 3 }));
}
RT_DEFERS static struct big ret_big(double a)
{
	rt_defer(fp_clobberer, 0);
	RT_RETURN(((struct big){ a, a * 2, a * 3 }));
}

/* Checks every kind; returns a bit per wrong one (0: all right). */
static uint64_t check_fp_results(void)
{
	uint64_t bad = 0;
	volatile double x = 1.75; /* not folded */
	if (ret_double(x) != 1.75 * 2.5)
		bad |= 1;
	if (ret_float((float)x) != 0.875f)
		bad |= 2;
	long double l = ret_ldouble(x);
	if (l != 1.75L / 3.0L)
		bad |= 4;
	_Complex long double z = ret_cldouble(x, 2 * x);
	if (__real__ z != 1.75L / 7.0L || __imag__ z != 3.5L / 9.0L)
		bad |= 8;
	struct dd d = ret_dd(x, 2 * x);
	if (d.a != 2.0 || d.b != 3.25)
		bad |= 16;
	struct ld e = ret_ld(-4, x);
	if (e.a != -12 || e.b != 5.25)
		bad |= 32;
	struct ff4 f = ret_ff4((float)x);
	if (f.a != 1.75f || f.b != 2.75f || f.c != 3.75f || f.d != 4.75f)
		bad |= 64;
	struct big g = ret_big(x);
	if (g.a != 1.75 || g.b != 3.5 || g.c != 5.25)
		bad |= 128;
	/* The x87 stack is empty again: eight pushes fit (a leftover entry would overflow). */
	long double sum = 0;
	for (int i = 0; i < 8; i++)
		sum += ld_sink * i;
	if (sum != ld_sink * 28)
		bad |= 256;
	return bad;
}

static uint64_t fp_task(uint64_t deep_clobber)
{
	if (deep_clobber)
		fp_clobberer = (const void *)clobber_fp_deep;
	uint64_t bad = check_fp_results();
	fp_clobberer = (const void *)clobber_fp;
	if (deep_clobber && rt_current()->stats.grows == 0)
		bad |= 512;
	return bad;
}

static void test_floating_point_results_survive_deferred_calls(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t bad = check_fp_results();
	if (bad)
		fail_msg("outside tasks: wrong results, mask %#lx (1 double, 2 float, 4 long double, "
			 "8 complex long double, 16 {double,double}, 32 {long,double}, 64 {float x4}, "
			 "128 in memory, 256 x87 stack left dirty)", bad);
	for (uint64_t deep_clobber = 0; deep_clobber < 2; deep_clobber++) {
		struct rt_task *t = rt_spawn(fp_task, deep_clobber, "fp");
		assert_int_equal(rt_join(t, &bad), RT_EXIT_RETURNED);
		if (bad)
			fail_msg("in a task (deferred call moves the stack: %lu): wrong results, mask %#lx",
				 deep_clobber, bad);
		rt_reap(t);
	}
}

/* ---- alloca and VLA memory made after rt_defer ---- */

struct area {
	unsigned char *p;
	size_t n;
	int ok;
};

static unsigned char area_byte(size_t i)
{
	return (unsigned char)(i * 7 + 1);
}

/* Runs first and uses a lot of stack, as a deferred call may. */
__attribute__((noinline)) static void stomp(void)
{
	volatile unsigned char big[96 << 10];
	for (size_t i = 0; i < sizeof big; i += 64)
		big[i] = 0xee;
	fp_sink = big[100];
}

/* Runs last: is the memory the function made after its defers still as it left it? */
static void check_area(struct area *a)
{
	a->ok = 1;
	for (size_t i = 0; i < a->n; i++)
		if (a->p[i] != area_byte(i))
			a->ok = 0;
}

RT_DEFERS static uint64_t alloca_after_defer(struct area *a)
{
	rt_defer((void *)check_area, 1, (uint64_t)a);
	rt_defer((void *)stomp, 0);
	a->p = alloca(a->n);
	for (size_t i = 0; i < a->n; i++)
		a->p[i] = area_byte(i);
	RT_RETURN(0);
}

RT_DEFERS static uint64_t vla_after_defer(struct area *a)
{
	rt_defer((void *)check_area, 1, (uint64_t)a);
	rt_defer((void *)stomp, 0);
	unsigned char vla[a->n];
	a->p = vla;
	for (size_t i = 0; i < a->n; i++)
		vla[i] = area_byte(i);
	RT_RETURN(0);
}

static const size_t area_sizes[] = { 1, 100, 3000, 4096, 5000, 20000, 70000 };

/* Returns a bit per size whose memory the deferred calls overwrote (alloca, then VLA << 8). */
static uint64_t check_areas(uint64_t unused)
{
	(void)unused;
	uint64_t bad = 0;
	for (unsigned i = 0; i < sizeof area_sizes / sizeof area_sizes[0]; i++) {
		struct area a = { NULL, area_sizes[i], -1 };
		alloca_after_defer(&a);
		if (a.ok != 1)
			bad |= 1UL << i;
		struct area v = { NULL, area_sizes[i], -1 };
		vla_after_defer(&v);
		if (v.ok != 1)
			bad |= 1UL << (i + 8);
	}
	return bad;
}

static void test_alloca_and_vla_after_defer_survive_the_deferred_calls(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t bad = check_areas(0);
	if (bad)
		fail_msg("outside tasks: overwritten, mask %#lx (bit i: alloca of size #i, bit 8+i: VLA)", bad);
	struct rt_task *t = rt_spawn(check_areas, 0, "alloca");
	assert_int_equal(rt_join(t, &bad), RT_EXIT_RETURNED);
	if (bad)
		fail_msg("in a task (the stack moves): overwritten, mask %#lx", bad);
	rt_reap(t);
}

/* Returning without RT_RETURN: where the function's memory ends is unknown; stop, never guess. */
RT_DEFERS static uint64_t plain_return(uint64_t x)
{
	rt_defer((void *)note, 1, 5);
	return x + 1;
}

static void test_a_return_without_rt_return_stops_the_task(void **state)
{
	(void)state;
	rt_test_setup();
	order_len = 0;
	order[0] = '\0';
	struct rt_task *t = rt_spawn(plain_return, 1, "plain");
	assert_int_equal(rt_join(t, NULL), RT_EXIT_KILLED);
	assert_string_equal(order, ""); /* no deferred call ran over its memory */
	expect_console("returned without RT_RETURN");
	rt_reap(t);
}

/* ---- out of memory: a fatal error for the task, never a lost deferred call ---- */

/* Runs body in a child process whose address space may grow only `extra`
 * bytes more; returns its exit status (128 + signal if it died of one). */
static int with_memory_cap(int (*body)(void), size_t extra)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		if (!f || fscanf(f, "%ld", &pages) != 1)
			_exit(90);
		fclose(f);
		rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
		struct rlimit rl = { cap, cap };
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(91);
		_exit(body());
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 92;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint64_t silent_failures, registered;

RT_DEFERS static uint64_t defer_until_out_of_memory(uint64_t limit)
{
	for (uint64_t i = 0; i < limit; i++) {
		if (rt_defer((void *)check_order, 1, i) != 0 && ++silent_failures > 100)
			break;
		registered++;
	}
	RT_RETURN(0);
}

static int oom_in_rt_defer(void)
{
	ran = out_of_order = silent_failures = registered = 0;
	struct rt_heap_stats h;
	struct rt_task *t = rt_spawn(defer_until_out_of_memory, 100000000, "oom");
	enum rt_exit_kind k = rt_join(t, NULL);
	rt_heap_get_stats(&h);
	if (h.failed_allocs == 0)
		return 10; /* the cap did not bite */
	if (silent_failures)
		return 11; /* rt_defer lost a call and said so only by returning -1 */
	if (k != RT_EXIT_KILLED)
		return 12;
	if (!strstr(console_buf, "out of memory in defer"))
		return 13;
	if (ran)
		return 14; /* a killed task's deferred calls do not run, in any order */
	return registered > 10000 ? 0 : 15;
}

/* Takes every object the heap can still give, of every size class. */
static void exhaust_heap(void)
{
	for (size_t size = 16; size <= 4096; size += 16)
		while (rt_alloc(size))
			;
}

RT_DEFERS static uint64_t defers_with_no_memory(uint64_t unused)
{
	(void)unused;
	uint64_t r = 4;
	exhaust_heap();
	rt_defer_result(&r); /* the frame record: no room */
	RT_RECOVER_RETURNS(r);
	rt_defer((void *)note, 1, 1);
	RT_RETURN(r);
}

static int oom_at_the_first_record(void)
{
	order_len = 0;
	order[0] = '\0';
	struct rt_task *t = rt_spawn(defers_with_no_memory, 0, "oom2");
	rt_defer_trim(); /* no cached records to fall back on */
	enum rt_exit_kind k = rt_join(t, NULL);
	if (k != RT_EXIT_KILLED)
		return 20;
	if (!strstr(console_buf, "out of memory in defer"))
		return 21;
	return order_len ? 22 : 0;
}

static void test_out_of_memory_in_defer_kills_the_task(void **state)
{
	(void)state;
	rt_test_setup();
	int st = with_memory_cap(oom_in_rt_defer, 16 << 20);
	if (st)
		fail_msg("many defers near out of memory: child exit %d (see oom_in_rt_defer)", st);
	st = with_memory_cap(oom_at_the_first_record, 16 << 20);
	if (st)
		fail_msg("a frame record with no memory: child exit %d (see oom_at_the_first_record)", st);
}

/* ---- what RT_RETURN hands back, and what rt_defer refuses ---- */

static void set_to(uint64_t *r, uint64_t v) { *r = v; }

RT_DEFERS static int32_t narrow_named(void)
{
	uint64_t b = 1;
	rt_defer_result(&b);
	rt_defer((void *)set_to, 2, (uint64_t)&b, 0x100000007UL);
	RT_RETURN((int32_t)b); /* the caller gets the low 32 bits of b after the defer: 7 */
}

RT_DEFERS static const char *pointer_named(const char *s)
{
	uint64_t b = (uint64_t)s;
	rt_defer_result(&b);
	rt_defer((void *)set_to, 2, (uint64_t)&b, (uint64_t)(s + 2));
	RT_RETURN(s);
}

RT_DEFERS static bool bool_named(void)
{
	uint64_t b = 0;
	rt_defer_result(&b);
	rt_defer((void *)set_to, 2, (uint64_t)&b, 0x200); /* not 0: true, though its low byte is 0 */
	RT_RETURN((bool)b);
}

RT_DEFERS static double double_not_named(void)
{
	uint64_t b = 0;
	rt_defer_result(&b); /* a double has no named result: the value stands */
	rt_defer((void *)set_to, 2, (uint64_t)&b, 0x4000000000000000UL);
	RT_RETURN(0.25);
}

/* Defers only on some paths: RT_RETURN on a path that did not defer does nothing. */
RT_DEFERS static uint64_t defers_if(uint64_t x)
{
	if (x & 1)
		rt_defer((void *)note, 1, x % 10);
	RT_RETURN(x + 1);
}

RT_DEFERS static int miscounted(void)
{
	int r = 0;
	r |= rt_defer((void *)note, 2, 1) == -1;          /* says 2, gives 1 */
	r |= (rt_defer((void *)note, 1, 1, 2) == -1) << 1; /* says 1, gives 2 */
	r |= (rt_defer((void *)note, 7, 1, 2, 3, 4, 5, 6, 7) == -1) << 2;
	r |= (rt_defer((void *)note, 0) == 0) << 3;
	RT_RETURN(r);
}

static void test_rt_return_hands_back_the_right_value(void **state)
{
	(void)state;
	rt_test_setup();
	assert_int_equal(narrow_named(), 7);
	const char *s = "abcdef";
	assert_ptr_equal(pointer_named(s), s + 2);
	assert_true(double_not_named() == 0.25);
	assert_true(bool_named());
	order_len = 0;
	for (uint64_t x = 0; x < 6; x++)
		assert_int_equal(defers_if(x), x + 1);
	order[order_len] = '\0';
	assert_string_equal(order, "135");
	assert_int_equal(rt_defer_pending(), 0);
	console_buf[0] = '\0';
	order_len = 0;
	assert_int_equal(miscounted(), 15);
	assert_int_equal(order_len, 1); /* the zero-argument note ran, as note(0); nothing else */
	assert_int_equal(order[0], '0');
	assert_non_null(strstr(console_buf, "the argument count said is not the 1 given"));
	assert_non_null(strstr(console_buf, "the argument count said is not the 2 given"));
	assert_non_null(strstr(console_buf, "7 arguments, at most 6"));
}

/* ---- rt_defer_run_all: Goexit's half ---- */

__attribute__((noinline)) static void note_recover(void)
{
	const char *m = rt_recover();
	note(m ? 'r' - '0' : 'n' - '0');
}

__attribute__((noinline)) static void note_and_panic(void)
{
	note('p' - '0');
	rt_panic("during goexit");
}

RT_DEFERS static uint64_t goexit_inner(uint64_t with_panic)
{
	rt_defer((void *)note, 1, 4);
	if (with_panic)
		rt_defer((void *)note_and_panic, 0);
	rt_defer_run_all();
	rt_exit(42 + with_panic);
}

RT_DEFERS static uint64_t goexit_middle(uint64_t with_panic)
{
	rt_defer((void *)note, 1, 3);
	rt_defer((void *)note_recover, 0);
	goexit_inner(with_panic);
	RT_RETURN(0);
}

RT_DEFERS static uint64_t goexit_outer(uint64_t with_panic)
{
	rt_defer((void *)note, 1, 1);
	rt_defer((void *)note, 1, 2);
	goexit_middle(with_panic);
	RT_RETURN(0);
}

RT_DEFERS static uint64_t exit_with_defers_inner(uint64_t v)
{
	rt_defer((void *)note, 1, 2);
	rt_exit(v); /* Go's Goexit: the pending deferred calls run first */
}

RT_DEFERS static uint64_t exit_with_defers(uint64_t v)
{
	rt_defer((void *)note, 1, 1);
	exit_with_defers_inner(v);
	RT_RETURN(0);
}

/* rt_exit runs what is deferred, innermost first, as Goexit does (it used to drop it). */
static void test_exit_runs_pending_deferred_calls(void **state)
{
	(void)state;
	rt_test_setup();
	order_len = 0;
	order[0] = '\0';
	uint64_t v = 0;
	struct rt_task *t = rt_spawn(exit_with_defers, 9, "goexit");
	assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 9);
	assert_string_equal(order, "21");
	rt_reap(t);
}

static void test_run_all_runs_every_pending_call_innermost_first(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_heap_stats h0, h1;
	rt_defer_trim();
	rt_heap_get_stats(&h0);
	static const char *const want[] = { "4n321", "p4r321" };
	for (uint64_t with_panic = 0; with_panic < 2; with_panic++) {
		order_len = 0;
		order[0] = '\0';
		uint64_t v = 0;
		struct rt_task *t = rt_spawn(goexit_outer, with_panic, "goexit");
		assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
		assert_int_equal(v, 42 + with_panic);
		/* recover: nil with no panic (n); with one, it stops it and the rest still run (r) */
		assert_string_equal(order, want[with_panic]);
		rt_reap(t);
	}
	rt_defer_trim();
	rt_heap_get_stats(&h1);
	assert_int_equal(h1.objects_live, h0.objects_live);
	assert_int_equal(h1.bytes_live, h0.bytes_live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incr_and_incrn_print_0_1_and_0_2),
		cmocka_unit_test(test_exit_runs_pending_deferred_calls),
		cmocka_unit_test(test_defer_arg_is_1_and_defer_closure_is_5),
		cmocka_unit_test(test_lifo_order_2_1_0),
		cmocka_unit_test(test_ten_thousand_defers_in_one_frame),
		cmocka_unit_test(test_defers_survive_a_stack_move),
		cmocka_unit_test(test_defers_survive_a_stack_shrink),
		cmocka_unit_test(test_backtrace_in_a_deferred_call_shows_the_callers),
		cmocka_unit_test(test_deferred_calls_may_yield_and_defer),
		cmocka_unit_test(test_floating_point_results_survive_deferred_calls),
		cmocka_unit_test(test_alloca_and_vla_after_defer_survive_the_deferred_calls),
		cmocka_unit_test(test_a_return_without_rt_return_stops_the_task),
		cmocka_unit_test(test_out_of_memory_in_defer_kills_the_task),
		cmocka_unit_test(test_run_all_runs_every_pending_call_innermost_first),
		cmocka_unit_test(test_rt_return_hands_back_the_right_value),
	};
	return unit_run("defer", tests);
}
