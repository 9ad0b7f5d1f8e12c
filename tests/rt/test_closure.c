/*
 * test_closure.c: closures on the Linux host port: Go's counter generator,
 * two closures sharing a variable, arguments passing through, the pool
 * (10,000 closures, freed and reused), an environment in a stack that
 * moves, environments in stacks that move while the pool is full (and the
 * move looks at those, not at the pool), a seeded model of creates, frees
 * and moves across tasks, and no mapping both writable and executable.
 */
#include "rt_test.h"

#include "internal.h" /* the runtime's own records and counters, checked here */

#include <inttypes.h>
#include <time.h>

#include "closure.h"

#include "twins.h"

/* Go's counter generator and the shared closures: twins/twin_closure.c. */
static uint64_t (*counter(void))(void)
{
	return (uint64_t (*)(void))twin_counter_new();
}

static void free_counter(uint64_t (*f)(void))
{
	assert_int_equal(twin_counter_free((void *)f), 0);
}

static void test_counter_generator_keeps_its_own_state(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t (*f)(void) = counter(), (*g)(void) = counter();
	assert_int_equal(f(), 1);
	assert_int_equal(f(), 2);
	assert_int_equal(f(), 3);
	assert_int_equal(g(), 1); /* a second counter has its own x */
	assert_int_equal(f(), 4);
	assert_true(rt_closure_is((void *)f));
	assert_ptr_equal(rt_closure_code((void *)f), counter_next);
	free_counter(f);
	free_counter(g);
	assert_int_equal(rt_closure_free_checked((void *)f), -1); /* already free */
	assert_int_equal(rt_closure_free_checked((void *)test_counter_generator_keeps_its_own_state), -1);
}

/* Two closures over one variable: inc and get share x. */

static void test_two_closures_share_a_variable(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t *x = rt_alloc(sizeof *x);
	void (*inc)(void) = (void (*)(void))rt_closure_new(shared_inc, x);
	uint64_t (*get)(void) = (uint64_t (*)(void))rt_closure_new(shared_get, x);
	inc();
	inc();
	assert_int_equal(get(), 2);
	*x = 40;
	inc();
	assert_int_equal(get(), 41);
	rt_closure_free((void *)inc);
	rt_closure_free((void *)get);
	rt_free(x);
}

/* Five arguments reach the body after the environment, in order. */
RT_CLOSURE_CODE(weigh, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
uint64_t weigh_body(void *env, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return *(uint64_t *)env + a + 10 * b + 100 * c + 1000 * d + 10000 * e;
}

static void test_arguments_pass_through(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t base = 700000;
	uint64_t (*f)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) =
		(uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t))rt_closure_new(weigh, &base);
	assert_int_equal(f(1, 2, 3, 4, 5), 754321);
	rt_closure_free((void *)f);
}

RT_CLOSURE_CODE(ident, uint64_t);
uint64_t ident_body(void *env) { return (uint64_t)env; }

static void test_ten_thousand_closures_and_reuse(void **state)
{
	(void)state;
	rt_test_setup();
	enum { N = 10000 };
	static void *fns[N];
	for (int round = 0; round < 2; round++) {
		struct rt_closure_stats before, after;
		rt_closure_get_stats(&before);
		for (uint64_t i = 0; i < N; i++)
			assert_non_null(fns[i] = rt_closure_new(ident, (void *)(i * 7 + 1)));
		for (uint64_t i = 0; i < N; i++)
			assert_int_equal(((uint64_t (*)(void))fns[i])(), i * 7 + 1);
		for (uint64_t i = 0; i < N; i++)
			rt_closure_free(fns[i]);
		rt_closure_get_stats(&after);
		assert_int_equal(after.live, before.live);
		if (round == 1) /* the second round reuses every page of the first */
			assert_int_equal(after.pages, before.pages);
	}
}

/* The pool is finite: when it is full, rt_closure_new says so (NULL), and a
 * freed trampoline is the next one handed out. */
static void test_pool_exhaustion_and_reuse(void **state)
{
	(void)state;
	rt_test_setup();
	enum { MAX = 4096 * 64 }; /* MAX_PAGES * stubs per page, see closure.c */
	static void *fns[MAX + 1];
	struct rt_closure_stats s0;
	rt_closure_get_stats(&s0);
	uint64_t n = 0;
	while (n <= MAX && (fns[n] = rt_closure_new(ident, (void *)n)))
		n++;
	assert_int_equal(n + s0.live, MAX); /* the pool held exactly MAX */
	void *again = rt_closure_new(ident, NULL);
	assert_null(again);
	rt_closure_free(fns[123]);
	void *reused = rt_closure_new(ident, (void *)77);
	assert_ptr_equal(reused, fns[123]);
	assert_int_equal(((uint64_t (*)(void))reused)(), 77);
	fns[123] = reused;
	for (uint64_t i = 0; i < n; i++)
		rt_closure_free(fns[i]);
}

/* A closure over a local: its environment is in the stack, and moves with it. */
struct frame_env {
	uint64_t value;
};

RT_CLOSURE_CODE(read_frame, uint64_t);
uint64_t read_frame_body(void *env) { return ((struct frame_env *)env)->value; }

__attribute__((noinline)) static uint64_t deep_then_call(uint64_t (*f)(void), uint64_t n)
{
	volatile char pad[200];
	pad[0] = 1;
	uint64_t r = n ? deep_then_call(f, n - 1) : f();
	return r + pad[0] - 1;
}

static uint64_t stack_env_task(uint64_t arg)
{
	(void)arg;
	struct frame_env local = { 0xfeed };
	uint64_t (*f)(void) = (uint64_t (*)(void))rt_closure_new(read_frame, &local);
	uint64_t got = deep_then_call(f, 20000); /* grows: local moves, the env follows */
	uint64_t ok = got == 0xfeed && rt_closure_env((void *)f) == (void *)&local &&
		      rt_current()->stats.grows > 0;
	rt_closure_free((void *)f);
	return ok;
}

static void test_stack_environment_follows_a_move(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(stack_env_task, 0, "closure");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_reap(t);
}

/* ---- the pool full, a few environments in a stack that moves ---- */

enum { POOL_MAX = 4096 * 64 }; /* MAX_PAGES * stubs per page, see closure.c */
static void *bulk[POOL_MAX];
static struct frame_env *bulk_env[POOL_MAX];
static uint64_t bulk_n;

/* Fills the pool but for room slots: closures over heap objects (heap != 0)
 * or over plain numbers no stack can hold (ident's environments). */
static void fill_pool(int heap, uint64_t room)
{
	for (bulk_n = 0; bulk_n < POOL_MAX; bulk_n++) {
		void *env = (void *)((1UL << 63) | (bulk_n * 0x9e3779b97f4a7c15UL >> 1));
		if (heap) {
			assert_non_null(bulk_env[bulk_n] = rt_alloc(sizeof(struct frame_env)));
			bulk_env[bulk_n]->value = bulk_n * 3 + 1;
			env = bulk_env[bulk_n];
		}
		void *f = rt_closure_new(heap ? (void *)read_frame : (void *)ident, env);
		if (!f) {
			if (heap)
				rt_free(bulk_env[bulk_n]);
			break;
		}
		bulk[bulk_n] = f;
	}
	assert_null(rt_closure_new(ident, NULL)); /* full */
	assert_true(bulk_n >= room);
	for (uint64_t i = 0; i < room; i++) {
		bulk_n--;
		rt_closure_free(bulk[bulk_n]);
		if (heap)
			rt_free(bulk_env[bulk_n]);
	}
}

/* Calls every bulk closure (each still returns its own value) and frees them. */
static void check_and_empty_pool(int heap)
{
	for (uint64_t i = 0; i < bulk_n; i++) {
		uint64_t want = heap ? i * 3 + 1 : (1UL << 63) | (i * 0x9e3779b97f4a7c15UL >> 1);
		uint64_t got = ((uint64_t (*)(void))bulk[i])();
		if (got != want)
			fail_msg("bulk closure %" PRIu64 " returned %#" PRIx64 ", want %#" PRIx64, i, got, want);
		rt_closure_free(bulk[i]);
		if (heap)
			rt_free(bulk_env[i]);
	}
	bulk_n = 0;
}

enum { FEW = 8 };

struct few_result {
	uint64_t ok_calls, ok_envs, moved, made;
	uint64_t grows, shrinks;
};

/* Calls every closure at the bottom of the recursion: the stack has grown under them. */
__attribute__((noinline)) static uint64_t deep_then_call_all(uint64_t (**f)(void), uint64_t n)
{
	volatile char pad[200];
	pad[0] = 1;
	uint64_t r = 0;
	if (n)
		r = deep_then_call_all(f, n - 1);
	else
		for (int i = 0; i < FEW; i++)
			r += f[i]() == 0x5eed00 + (uint64_t)i;
	return r + pad[0] - 1;
}

/* Makes FEW closures over locals, grows its stack, calls them at the bottom
 * and again here, and checks each environment is where its local is now. */
static uint64_t few_in_a_stack_task(uint64_t arg)
{
	struct few_result *res = (struct few_result *)arg;
	struct rt_task *me = rt_current();
	struct frame_env frame_locals[FEW], *locals = frame_locals;
	uint64_t (*frame_f[FEW])(void), (**f)(void) = frame_f;
	/* UBSan's object-size checks keep "end - pointer" differences that no
	 * move can adjust: hide where these arrays are, so it checks nothing. */
	__asm__("" : "+r"(locals), "+r"(f));
	uintptr_t lo0 = me->stack_lo;
	for (int i = 0; i < FEW; i++) {
		locals[i].value = 0x5eed00 + (uint64_t)i;
		f[i] = (uint64_t (*)(void))rt_closure_new(read_frame, &locals[i]);
		res->made += f[i] != NULL;
	}
	if (res->made != FEW)
		return 0;
	res->ok_calls = deep_then_call_all(f, 20); /* about 5 KiB: 4 -> 8 KiB */
	res->moved = me->stack_lo != lo0;
	for (int i = 0; i < FEW; i++) {
		res->ok_calls += f[i]() == 0x5eed00 + (uint64_t)i;
		res->ok_envs += rt_closure_env((void *)f[i]) == (void *)&locals[i] &&
				(uintptr_t)&locals[i] >= me->stack_lo && (uintptr_t)&locals[i] < me->stack_hi;
		rt_closure_free((void *)f[i]);
	}
	res->grows = me->stats.grows;
	res->shrinks = me->stats.shrinks;
	return 1;
}

/* Runs few_in_a_stack_task with the pool full and checks it; returns the
 * closure stats' change over the task and its moves in *moves. */
static struct rt_closure_stats grow_few_with_full_pool(int heap, uint64_t *moves)
{
	fill_pool(heap, FEW);
	struct rt_closure_stats before, after;
	rt_closure_get_stats(&before);
	struct few_result res = { 0 };
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(few_in_a_stack_task, (uint64_t)&res, "few");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	rt_reap(t);
	rt_closure_get_stats(&after);
	assert_true(ok);
	assert_int_equal(res.made, FEW);
	assert_int_equal(before.live, POOL_MAX - FEW); /* the pool was full with them */
	assert_true(res.moved);
	assert_true(res.grows >= 1);
	assert_int_equal(res.ok_calls, 2 * FEW); /* at the bottom, and back at the top */
	assert_int_equal(res.ok_envs, FEW);
	check_and_empty_pool(heap);
	*moves = res.grows + res.shrinks;
	after.adjusted -= before.adjusted;
	after.visited -= before.visited;
	return after;
}

/* Every move while the FEW closures lived moved exactly the FEW. The
 * move-stress switch adds moves at any instruction, some before they were
 * made or after they were freed, which move none: then it is the FEW at
 * least once (the growth) and never more than the FEW a move. */
static void expect_few_adjusted(uint64_t adjusted, uint64_t moves)
{
	if (!rt_stress_moves)
		assert_int_equal(adjusted, FEW * moves);
	else
		assert_true(adjusted % FEW == 0 && adjusted >= FEW && adjusted <= FEW * moves);
}

/* 262,144 live closures, FEW of them over locals of a task whose stack
 * grows: those follow the move, the others are untouched. */
static void test_full_pool_stack_environments_follow_growth(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t moves;
	struct rt_closure_stats d = grow_few_with_full_pool(1, &moves);
	expect_few_adjusted(d.adjusted, moves);
}

/*
 * A growth with the pool full looks at the closures in the moving stack,
 * not at the pool: the slots rt_closures_adjust visits. With heap
 * environments (the common case) the index holds only the FEW; with the
 * pool full of environments that are not heap objects, it holds them all
 * and a move visits the FEW plus two paths of the treap (about 2 ln n
 * slots deep, 25 for 262,144). The old scan visited 262,144 per move.
 */
static void test_growth_with_full_pool_visits_only_its_closures(void **state)
{
	(void)state;
	rt_test_setup();
	for (int heap = 1; heap >= 0; heap--) {
		uint64_t moves;
		struct rt_closure_stats d = grow_few_with_full_pool(heap, &moves);
		uint64_t bound = heap ? 4 * FEW + 4 : 4 * FEW + 256;
		fprintf(stderr, "%s environments: %" PRIu64 " moves visited %" PRIu64 " slots, adjusted %" PRIu64 "\n",
			heap ? "heap" : "non-heap", moves, d.visited, d.adjusted);
		expect_few_adjusted(d.adjusted, moves);
		if (d.visited > moves * bound)
			fail_msg("%" PRIu64 " moves visited %" PRIu64 " slots: more than %" PRIu64 " a move",
				 moves, d.visited, bound);
	}
}

/* ---- a seeded model: closures over heap objects and over cells in the
 * stacks of tasks that grow and shrink, created and freed at random ---- */

enum { MODEL_TASKS = 4, MODEL_CELLS = 16, MODEL_MAX = 256, MODEL_STEPS = 300, MODEL_BULK = 20000 };

struct model_closure {
	uint64_t (*fn)(void);
	int task;            /* whose stack holds the environment, or -1: the heap */
	uintptr_t off;       /* the task's stack_hi - env: a move keeps it */
	struct frame_env *heap;
	uint64_t want;
};

static struct model {
	uint64_t seed, rng;
	struct model_closure c[MODEL_MAX];
	unsigned n;
	struct rt_task *task[MODEL_TASKS];
	uintptr_t cells_off[MODEL_TASKS]; /* stack_hi - the task's cells */
	int alive[MODEL_TASKS];
	uint64_t moves_seen, checks, created, freed;
	char err[256];
} m;

static uint64_t model_rand(uint64_t n)
{
	m.rng ^= m.rng << 13;
	m.rng ^= m.rng >> 7;
	m.rng ^= m.rng << 17;
	return m.rng % n;
}

static uint64_t model_moves(void)
{
	uint64_t n = 0;
	for (int i = 0; i < MODEL_TASKS; i++)
		if (m.task[i])
			n += m.task[i]->stats.grows + m.task[i]->stats.shrinks;
	return n;
}

static uint64_t cell_value(int task, uint64_t cell) { return 0xce11000000UL | (uint64_t)task << 16 | cell; }

/* Every closure of the model returns its value and has its environment where it should be. */
static void model_check(void)
{
	m.checks++;
	for (unsigned i = 0; i < m.n && !m.err[0]; i++) {
		struct model_closure *c = &m.c[i];
		uint64_t got = c->fn();
		void *env = rt_closure_env((void *)c->fn), *want_env = c->heap;
		if (c->task >= 0)
			want_env = (void *)(m.task[c->task]->stack_hi - c->off);
		if (got != c->want || env != want_env)
			snprintf(m.err, sizeof m.err,
				 "check %" PRIu64 ", closure %u (task %d): returned %#" PRIx64 " (want %#" PRIx64
				 "), env %p (want %p)", m.checks, i, c->task, got, c->want, env, want_env);
	}
	m.moves_seen = model_moves();
}

static void model_check_if_moved(void)
{
	if (model_moves() != m.moves_seen)
		model_check();
}

static void model_add(void *env, int task, uintptr_t off, struct frame_env *heap, uint64_t want)
{
	void *f = rt_closure_new(read_frame, env);
	if (!f) {
		snprintf(m.err, sizeof m.err, "rt_closure_new failed with %u in the model", m.n);
		return;
	}
	m.c[m.n++] = (struct model_closure){ (uint64_t (*)(void))f, task, off, heap, want };
	m.created++;
}

static void model_remove(unsigned i)
{
	rt_closure_free((void *)m.c[i].fn);
	if (m.c[i].heap)
		rt_free(m.c[i].heap);
	m.c[i] = m.c[--m.n];
	m.freed++;
}

/* One random create or free; the created environment is on the heap, in a
 * cell of any live task's stack, or in this deep frame (then it is checked
 * after more growth and freed before the frame returns). */
static void model_act(int self, struct frame_env *here);

__attribute__((noinline)) static void model_dive(int self, uint64_t depth, int act)
{
	volatile char pad[1000];
	struct frame_env here = { cell_value(self, 0xfff0 + depth % 16) };
	pad[0] = (char)depth;
	model_check_if_moved();
	if (depth)
		model_dive(self, depth - 1, act);
	else if (act)
		model_act(self, &here);
	(void)pad[0]; /* the frame is really 1 KiB */
}

static void model_act(int self, struct frame_env *here)
{
	uint64_t r = model_rand(8);
	if (m.n > 0 && (r < 3 || m.n == MODEL_MAX)) {
		model_remove((unsigned)model_rand(m.n));
	} else if (r < 5) {
		struct frame_env *e = rt_alloc(sizeof *e);
		e->value = 0xea900000 + m.created;
		model_add(e, -1, 0, e, e->value);
	} else if (r < 7) {
		int t = (int)model_rand(MODEL_TASKS);
		if (!m.alive[t])
			return;
		uint64_t cell = model_rand(MODEL_CELLS);
		uintptr_t off = m.cells_off[t] - cell * sizeof(struct frame_env);
		model_add((void *)(m.task[t]->stack_hi - off), t, off, NULL, cell_value(t, cell));
	} else {
		struct rt_task *me = rt_current();
		model_add(here, self, me->stack_hi - (uintptr_t)here, NULL, here->value);
		if (m.err[0])
			return;
		model_dive(self, model_rand(24), 0); /* grows under it, maybe */
		model_check();
		/* another closure may have taken its place in m.c: find it by its env */
		for (unsigned i = 0; i < m.n; i++)
			if (rt_closure_env((void *)m.c[i].fn) == (void *)here)
				model_remove(i--);
	}
}

static uint64_t model_task(uint64_t self)
{
	struct frame_env cells[MODEL_CELLS];
	struct rt_task *me = rt_current();
	for (uint64_t i = 0; i < MODEL_CELLS; i++)
		cells[i].value = cell_value((int)self, i);
	m.cells_off[self] = me->stack_hi - (uintptr_t)&cells[0];
	m.alive[self] = 1;
	for (int step = 0; step < MODEL_STEPS && !m.err[0]; step++) {
		model_dive((int)self, model_rand(48), 1); /* up to about 48 KiB deep */
		model_check_if_moved();
		rt_yield(); /* a shallow stack shrinks while the others run */
		model_check_if_moved();
	}
	m.alive[self] = 0; /* its cells die with it */
	for (unsigned i = 0; i < m.n; i++)
		if (m.c[i].task == (int)self)
			model_remove(i--);
	return cells[0].value == cell_value((int)self, 0);
}

static void test_model_of_creates_frees_and_moves(void **state)
{
	(void)state;
	rt_test_setup();
	const char *s = getenv("CLOSURE_SEED");
	memset(&m, 0, sizeof m);
	m.seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
	m.rng = m.seed * 0x9e3779b97f4a7c15UL | 1;
	fprintf(stderr, "closure model: seed %" PRIu64 " (CLOSURE_SEED=%" PRIu64 " repeats it)\n", m.seed,
		m.seed);
	/* many environments that are no heap objects, so the index is deep */
	for (bulk_n = 0; bulk_n < MODEL_BULK; bulk_n++)
		assert_non_null(bulk[bulk_n] = rt_closure_new(
					ident, (void *)((1UL << 63) | (bulk_n * 0x9e3779b97f4a7c15UL >> 1))));
	struct rt_closure_stats s0, s1;
	rt_closure_get_stats(&s0);
	for (uint64_t i = 0; i < MODEL_TASKS; i++)
		m.task[i] = rt_spawn(model_task, i, "model");
	uint64_t grows = 0, shrinks = 0;
	for (int i = 0; i < MODEL_TASKS; i++) {
		uint64_t ok = 0;
		if (rt_join(m.task[i], &ok) != RT_EXIT_RETURNED || !ok)
			fail_msg("seed %" PRIu64 ": model task %d did not return well (killed: \"%s\"; %s)",
				 m.seed, i, m.task[i]->kill_reason, m.err[0] ? m.err : "no check failed");
		grows += m.task[i]->stats.grows;
		shrinks += m.task[i]->stats.shrinks;
	}
	for (int i = 0; i < MODEL_TASKS; i++) {
		rt_reap(m.task[i]);
		m.task[i] = NULL;
	}
	if (m.err[0])
		fail_msg("seed %" PRIu64 ": %s", m.seed, m.err);
	model_check();
	if (m.err[0])
		fail_msg("seed %" PRIu64 ": %s", m.seed, m.err);
	rt_closure_get_stats(&s1);
	fprintf(stderr, "closure model: %" PRIu64 " grows, %" PRIu64 " shrinks, %" PRIu64 " checks, %" PRIu64
		" created, %" PRIu64 " freed, %" PRIu64 " environments adjusted, %" PRIu64 " slots visited\n",
		grows, shrinks, m.checks, m.created, m.freed, s1.adjusted - s0.adjusted, s1.visited - s0.visited);
	if (grows < 10 || shrinks < 10 || s1.adjusted == s0.adjusted)
		fail_msg("seed %" PRIu64 ": the model moved too little: %" PRIu64 " grows, %" PRIu64 " shrinks",
			 m.seed, grows, shrinks);
	while (m.n)
		model_remove(0);
	for (uint64_t i = 0; i < bulk_n; i++) {
		if (((uint64_t (*)(void))bulk[i])() != ((1UL << 63) | (i * 0x9e3779b97f4a7c15UL >> 1)))
			fail_msg("seed %" PRIu64 ": bulk closure %" PRIu64 " changed", m.seed, i);
		rt_closure_free(bulk[i]);
	}
	bulk_n = 0;
	rt_closure_get_stats(&s1);
	assert_int_equal(s1.live, s0.live - MODEL_BULK);
}

/* No mapping of this process is writable and executable. */
static void test_no_writable_executable_mapping(void **state)
{
	(void)state;
	rt_test_setup();
	void *f = rt_closure_new(ident, NULL);
	FILE *maps = fopen("/proc/self/maps", "r");
	assert_non_null(maps);
	char line[512];
	int wx = 0, stubs = 0;
	while (fgets(line, sizeof line, maps)) {
		char perms[5] = "";
		if (sscanf(line, "%*s %4s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') {
			fprintf(stderr, "W+X mapping: %s", line);
			wx++;
		}
		if (strstr(line, "morestack-closure-stubs"))
			stubs++;
	}
	fclose(maps);
	assert_int_equal(wx, 0);
	assert_true(stubs > 0); /* the code pages come from the stub memfd */
	rt_closure_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_generator_keeps_its_own_state),
		cmocka_unit_test(test_two_closures_share_a_variable),
		cmocka_unit_test(test_arguments_pass_through),
		cmocka_unit_test(test_ten_thousand_closures_and_reuse),
		cmocka_unit_test(test_pool_exhaustion_and_reuse),
		cmocka_unit_test(test_stack_environment_follows_a_move),
		cmocka_unit_test(test_full_pool_stack_environments_follow_growth),
		cmocka_unit_test(test_growth_with_full_pool_visits_only_its_closures),
		cmocka_unit_test(test_model_of_creates_frees_and_moves),
		cmocka_unit_test(test_no_writable_executable_mapping),
	};
	return unit_run("closure", tests);
}
