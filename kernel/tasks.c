/*
 * tasks.c: shell commands that run and show runtime tasks on bare metal.
 *
 *   grow DEPTH [B]   a task recurses DEPTH frames (each B bytes bigger), each
 *                    holding a pointer to its caller's locals; the whole
 *                    chain is checked after every move and on the way back up
 *   spawn DEPTH      the same, but the task parks at the bottom (see `tasks`,
 *                    `stack N`); `resume N` lets it unwind and finish
 *   tasks, stack N   a ps-like list; one task's stack and frames
 *   trace on|off     log every stack move as it happens
 *   stacklimit [N]   show or set the limit (bytes)
 *   stale            a pointer to a local kept in a global goes stale
 *   taskfault KIND   a task faults (null, div0, ud, gp): only it dies
 *   churn N [SEED]   N tasks grow and shrink to random depths, interleaved
 *
 * Tasks run with interrupts off: an interrupt would push its frame on
 * whatever task stack is live, and a task stack may be one page from full.
 */
#include "kernel.h"
#include "x86.h"

#include "../runtime/chan.h"
#include "../runtime/heap.h"
#include "../runtime/platform.h"
#include "../runtime/rt.h"

uint64_t rtplat_pool_frames(void);

/* Runs the scheduler until nothing is runnable, with interrupts off. */
static void run_tasks(void)
{
	uint64_t flags = read_rflags();
	cli();
	rt_run();
	if (flags & 0x200)
		sti();
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (~0UL - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* ---- the recursion: every frame points at its caller's frame ---- */

struct link {
	struct link *up;
	uint64_t depth, check;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Returns 0 if every link from l to the top is where and what it should be. */
static int chain_ok(const struct link *l)
{
	uint64_t d = l->depth;
	for (; l; l = l->up, d--)
		if (l->depth != d || l->check != mix(d) || (l->up && (uintptr_t)l->up <= (uintptr_t)l))
			return -1;
	return d == (uint64_t)-1 ? 0 : -1;
}

struct grow_job {
	uint64_t depth;
	uint64_t frame_bytes; /* extra bytes each frame takes (alloca), 0 for none */
	bool park;         /* wait at the bottom until resumed */
	uint64_t grows_seen;
	uint64_t checks, broken;
};

__attribute__((noinline)) static uint64_t recurse(struct grow_job *job, struct link *up, uint64_t depth)
{
	struct link me = { up, depth, mix(depth) };
	if (job->frame_bytes) { /* a big frame: the probes touch each page on the way down */
		volatile uint8_t *pad = __builtin_alloca(job->frame_bytes);
		pad[0] = (uint8_t)depth;
		pad[job->frame_bytes - 1] = (uint8_t)depth;
	}
	struct rt_task *t = rt_current();
	if (t->stats.grows != job->grows_seen) {
		job->grows_seen = t->stats.grows;
		job->checks++;
		job->broken += chain_ok(&me) != 0;
	}
	uint64_t below;
	if (depth + 1 == job->depth) {
		job->checks++;
		job->broken += chain_ok(&me) != 0;
		if (job->park)
			rt_park();
		below = 0;
	} else {
		below = recurse(job, &me, depth + 1);
	}
	if (me.up != up || me.depth != depth || me.check != mix(depth))
		job->broken++;
	return below ^ me.check;
}

static uint64_t grow_task(uint64_t arg)
{
	struct grow_job *job = (struct grow_job *)arg;
	return recurse(job, NULL, 0);
}

static uint64_t expected_checksum(uint64_t depth)
{
	uint64_t v = 0;
	for (uint64_t d = 0; d < depth; d++)
		v ^= mix(d);
	return v;
}

static void print_result(struct rt_task *t, struct grow_job *job)
{
	uint64_t v;
	enum rt_exit_kind k = rt_join(t, &v);
	if (k == RT_EXIT_KILLED) {
		kprintf("task %lu was killed (%s); the shell goes on\n", t->id, t->kill_reason);
	} else {
		bool ok = v == expected_checksum(job->depth) && job->broken == 0;
		kprintf("task %lu: %lu frames deep and back: checksum %s, chain checked %lu times, %s\n",
			t->id, job->depth, v == expected_checksum(job->depth) ? "ok" : "WRONG", job->checks,
			job->broken ? "BROKEN LINKS FOUND" : "every link intact");
		kprintf("  stack: %lu grows, %lu shrinks, high water %lu KiB, %lu bytes copied, "
			"%lu pointers adjusted, %lu us moving\n", t->stats.grows, t->stats.shrinks,
			t->stats.high_water >> 10, t->stats.bytes_copied, t->stats.pointers_adjusted,
			t->stats.move_ns / 1000);
		kprintf("  result: %s\n", ok ? "ok" : "FAILED");
	}
	rt_free(job);
	rt_reap(t);
}

static struct grow_job *new_job(const char *cmd, int argc, char **argv, bool park)
{
	uint64_t depth, frame = 0;
	if (argc < 2 || argc > 3 || parse_u64(argv[1], &depth) != 0 || depth == 0 ||
	    depth > 100000000 || (argc == 3 && (parse_u64(argv[2], &frame) != 0 || frame > (1 << 20)))) {
		kprintf("%s: usage: %s DEPTH [FRAME_BYTES] (1 to 100000000 frames, each up to "
			"1048576 bytes bigger)\n", cmd, cmd);
		return NULL;
	}
	struct grow_job *job = rt_alloc(sizeof *job);
	if (!job) {
		kprintf("%s: out of memory\n", cmd);
		return NULL;
	}
	job->depth = depth;
	job->frame_bytes = frame;
	job->park = park;
	return job;
}

void cmd_grow(int argc, char **argv)
{
	struct grow_job *job = new_job("grow", argc, argv, false);
	if (!job)
		return;
	struct rt_task *t = rt_spawn(grow_task, (uint64_t)job, "grow");
	if (!t) {
		kprintf("grow: cannot create a task: out of memory\n");
		rt_free(job);
		return;
	}
	run_tasks();
	print_result(t, job);
}

void cmd_spawn(int argc, char **argv)
{
	struct grow_job *job = new_job("spawn", argc, argv, true);
	if (!job)
		return;
	struct rt_task *t = rt_spawn(grow_task, (uint64_t)job, "parked");
	if (!t) {
		kprintf("spawn: cannot create a task: out of memory\n");
		rt_free(job);
		return;
	}
	run_tasks();
	if (t->state == RT_DONE) {
		print_result(t, job);
		return;
	}
	kprintf("task %lu parked %lu frames deep on a %lu KiB stack; 'resume %lu' lets it finish\n",
		t->id, job->depth, (t->stack_hi - t->stack_lo) >> 10, t->id);
}

static struct rt_task *task_arg(const char *cmd, int argc, char **argv)
{
	uint64_t id;
	if (argc != 2 || parse_u64(argv[1], &id) != 0) {
		kprintf("%s: usage: %s ID (see 'tasks')\n", cmd, cmd);
		return NULL;
	}
	struct rt_task *t = rt_task_by_id(id);
	if (!t)
		kprintf("%s: no task %lu (see 'tasks')\n", cmd, id);
	return t;
}

void cmd_resume(int argc, char **argv)
{
	struct rt_task *t = task_arg("resume", argc, argv);
	if (!t)
		return;
	if (t->state != RT_PARKED || t->fn != grow_task) {
		kprintf("resume: task %lu is not parked by 'spawn'\n", t->id);
		return;
	}
	struct grow_job *job = (struct grow_job *)t->arg;
	rt_ready(t);
	run_tasks();
	print_result(t, job);
}

static const char *state_name(enum rt_task_state s)
{
	return s == RT_RUNNABLE ? "runnable" : s == RT_RUNNING ? "running"
	       : s == RT_PARKED ? "parked" : "done";
}

void cmd_tasks(int argc, char **argv)
{
	(void)argc, (void)argv;
	struct rt_global_stats g;
	struct heap_stats h;
	rt_get_stats(&g);
	heap_get_stats(&h);
	kprintf("  ID NAME     STATE      STACK KiB  USED KiB  HIGH KiB GROWS SHRINKS COPIED KiB "
		"MOVING us\n");
	for (struct rt_task *t = rt_tasks(); t; t = t->all_next) {
		uint64_t size = t->stack_hi - t->stack_lo;
		uint64_t used = t->state == RT_DONE || !size ? 0 : t->stack_hi - t->saved_rsp;
		uint64_t high = t->state == RT_RUNNING ? t->stats.high_water : rt_stack_high_water(t);
		kprintf("%4lu %-8s %-9s %10lu %9lu %9lu %5lu %7lu %10lu %9lu\n", t->id, t->name,
			state_name(t->state), size >> 10, used >> 10, high >> 10, t->stats.grows,
			t->stats.shrinks, t->stats.bytes_copied >> 10, t->stats.move_ns / 1000);
	}
	kprintf("tasks: %lu spawned, %lu live; stacks: %lu KiB mapped, %lu MiB of address space used "
		"(never reused), %lu frames pooled\n", g.tasks_spawned, g.tasks_live,
		g.stack_bytes_committed >> 10, g.stack_va_used >> 20, rtplat_pool_frames());
	kprintf("heap: %lu objects, %lu bytes live, %lu pages held\n", h.objects_live, h.bytes_live,
		h.pages_held);
}

void cmd_stack(int argc, char **argv)
{
	struct rt_task *t = task_arg("stack", argc, argv);
	if (!t)
		return;
	if (t->state == RT_DONE || !t->stack_lo) {
		kprintf("stack: task %lu has finished; its stack is gone\n", t->id);
		return;
	}
	uint64_t size = t->stack_hi - t->stack_lo, used = t->stack_hi - t->saved_rsp;
	kprintf("task %lu (%s), %s: stack [%#lx, %#lx), %lu KiB, %lu bytes used, guard [%#lx, %#lx)\n",
		t->id, t->name, state_name(t->state), t->stack_lo, t->stack_hi, size >> 10, used,
		t->stack_lo - RT_STACK_GUARD, t->stack_lo);
	kprintf("  moves: %lu grows, %lu shrinks, %lu bytes copied, %lu pointers adjusted, %lu us moving; "
		"high water %lu bytes\n", t->stats.grows, t->stats.shrinks, t->stats.bytes_copied,
		t->stats.pointers_adjusted, t->stats.move_ns / 1000, rt_stack_high_water(t));
	/* The saved context (switch.S): six registers, then the return address. */
	uint64_t *ctx = (uint64_t *)t->saved_rsp;
	uint64_t rip = ctx[6], rbp = ctx[5];
	kprintf("  frames (innermost first; identical runs folded):\n");
	char name[96], last[96] = "";
	uint64_t repeat = 0, shown = 0;
	for (int n = 0; n < 100000000; n++) {
		symbolize(rip, name, sizeof name);
		if (strcmp(name, last) == 0) {
			repeat++;
		} else {
			if (repeat)
				kprintf("      ... %lu more frames of %s\n", repeat, last);
			repeat = 0;
			if (shown++ < 24)
				kprintf("  %#018lx  %s  (frame at %#lx)\n", rip, name, rbp);
			memcpy(last, name, sizeof last);
		}
		if (rbp < t->stack_lo || rbp + 16 > t->stack_hi || (rbp & 7))
			break;
		uint64_t *f = (uint64_t *)rbp;
		if (f[1] == 0 || f[0] <= rbp)
			break;
		rip = f[1];
		rbp = f[0];
	}
	if (repeat)
		kprintf("      ... %lu more frames of %s\n", repeat, last);
}

void cmd_trace(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "on") == 0)
		rt_trace_moves = true;
	else if (argc == 2 && strcmp(argv[1], "off") == 0)
		rt_trace_moves = false;
	else if (argc != 1) {
		kprintf("trace: usage: trace [on|off]\n");
		return;
	}
	kprintf("trace: stack moves are %s\n", rt_trace_moves ? "logged" : "not logged");
}

void cmd_stacklimit(int argc, char **argv)
{
	uint64_t v;
	if (argc == 2) {
		if (parse_u64(argv[1], &v) != 0 || v < RT_STACK_MIN * 2) {
			kprintf("stacklimit: '%s' is not a byte count of at least %lu\n", argv[1],
				RT_STACK_MIN * 2);
			return;
		}
		rt_stack_limit = v;
	} else if (argc != 1) {
		kprintf("stacklimit: usage: stacklimit [BYTES]\n");
		return;
	}
	kprintf("stacklimit: %lu bytes\n", rt_stack_limit);
}

/* ---- faults inside tasks ---- */

static uint64_t *volatile escaped;

__attribute__((noinline)) static void go_deep(uint64_t depth)
{
	volatile char pad[200];
	pad[0] = 1;
	if (depth)
		go_deep(depth - 1);
	(void)pad[0];
}

static uint64_t stale_task(uint64_t arg)
{
	uint64_t local = 42;
	escaped = &local; /* Go would move `local` to the heap; C keeps it on the stack */
	kprintf("stale: task %lu keeps &local = %p in a global, then grows its stack\n",
		rt_current()->id, (void *)escaped);
	go_deep(arg);
	kprintf("stale: local is now at %p; the global still says %p; reading through it...\n",
		(void *)&local, (void *)escaped);
	return *escaped;
}

void cmd_stale(int argc, char **argv)
{
	(void)argc, (void)argv;
	struct rt_task *t = rt_spawn(stale_task, 2000, "stale");
	if (!t) {
		kprintf("stale: out of memory\n");
		return;
	}
	run_tasks();
	uint64_t v;
	enum rt_exit_kind k = rt_join(t, &v);
	kprintf(k == RT_EXIT_KILLED ? "stale: task %lu died; the shell goes on\n"
				   : "stale: task %lu read %lu: the stale pointer did not fault\n", t->id, v);
	rt_reap(t);
}

static uint64_t fault_task(uint64_t kind)
{
	volatile uint64_t zero = 0;
	switch (kind) {
	case 0:
		return *(volatile uint64_t *)(zero + 16);
	case 1: {
		uint64_t hi = 0, lo = 1, d = zero;
		__asm__ volatile("divq %2" : "+a"(lo), "+d"(hi) : "r"(d));
		return lo;
	}
	case 2:
		__asm__ volatile("ud2");
		return 0;
	default:
		return *(volatile uint64_t *)0x8000000000000000ULL;
	}
}

void cmd_taskfault(int argc, char **argv)
{
	static const char *const kinds[] = { "null", "div0", "ud", "gp" };
	uint64_t k = 4;
	for (uint64_t i = 0; argc == 2 && i < 4; i++)
		if (strcmp(argv[1], kinds[i]) == 0)
			k = i;
	if (k == 4) {
		kprintf("taskfault: usage: taskfault null|div0|ud|gp\n");
		return;
	}
	struct rt_task *t = rt_spawn(fault_task, k, "faulty");
	if (!t) {
		kprintf("taskfault: out of memory\n");
		return;
	}
	run_tasks();
	enum rt_exit_kind e = rt_join(t, NULL);
	kprintf("taskfault: task %lu %s; the shell goes on\n", t->id,
		e == RT_EXIT_KILLED ? "was killed" : "returned normally (no fault?)");
	rt_reap(t);
}

/* ---- many tasks growing and shrinking at once ---- */

struct churn_job {
	struct grow_job grow;
	uint64_t seed, acc;
};

static struct rt_chan *churn_chan;
static uint64_t churn_sent, churn_received;

/*
 * Six rounds: recurse to a random depth (grows), come back, yield (shrinks),
 * then pass a token through a shared buffered channel (may park).
 */
static uint64_t churn_task(uint64_t arg)
{
	struct churn_job *job = (struct churn_job *)arg;
	uint64_t x = job->seed;
	for (int round = 0; round < 6; round++) {
		x = mix(x + (uint64_t)round);
		job->grow.depth = 1 + x % 3000;
		job->grow.grows_seen = rt_current()->stats.grows;
		job->acc ^= recurse(&job->grow, NULL, 0);
		rt_yield();
		uint64_t token = x, got = 0;
		chan_send(churn_chan, &token);
		churn_sent += token;
		chan_recv(churn_chan, &got);
		churn_received += got;
	}
	return job->acc;
}

static uint64_t churn_expect(uint64_t seed)
{
	uint64_t x = seed, acc = 0;
	for (int round = 0; round < 6; round++) {
		x = mix(x + (uint64_t)round);
		acc ^= expected_checksum(1 + x % 3000);
	}
	return acc;
}

void cmd_churn(int argc, char **argv)
{
	uint64_t n, seed = 1;
	if (argc < 2 || argc > 3 || parse_u64(argv[1], &n) != 0 || n == 0 || n > 100000 ||
	    (argc == 3 && parse_u64(argv[2], &seed) != 0)) {
		kprintf("churn: usage: churn N [SEED] (1 to 100000 tasks)\n");
		return;
	}
	struct rt_global_stats before, after;
	struct heap_stats hb, ha;
	rt_get_stats(&before);
	heap_get_stats(&hb);
	uint64_t frames_before = frames.free + rtplat_pool_frames();
	struct rt_task **tasks = rt_alloc(n * sizeof *tasks);
	churn_chan = chan_make(sizeof(uint64_t), 16);
	churn_sent = churn_received = 0;
	uint64_t made = 0;
	for (; tasks && made < n; made++) {
		struct churn_job *job = rt_alloc(sizeof *job);
		if (!job)
			break;
		job->seed = seed * 1000003 + made;
		tasks[made] = rt_spawn(churn_task, (uint64_t)job, "churn");
		if (!tasks[made]) {
			rt_free(job);
			break;
		}
	}
	if (made < n)
		kprintf("churn: out of memory after %lu tasks; running those\n", made);
	uint64_t t0 = plat_now_ns();
	run_tasks();
	uint64_t ok = 0, grows = 0, shrinks = 0, killed = 0, broken = 0;
	for (uint64_t i = 0; i < made; i++) {
		struct rt_task *t = tasks[i];
		struct churn_job *job = (struct churn_job *)t->arg;
		uint64_t v;
		if (rt_join(t, &v) != RT_EXIT_RETURNED)
			killed++;
		else if (v == churn_expect(job->seed))
			ok++;
		broken += job->grow.broken;
		grows += t->stats.grows;
		shrinks += t->stats.shrinks;
		rt_free(job);
		rt_reap(t);
	}
	uint64_t ms = (plat_now_ns() - t0) / 1000000;
	rt_free(tasks);
	chan_free(churn_chan);
	kprintf("churn: channel tokens: %lu sent, %lu received (sums %s)\n", churn_sent, churn_received,
		churn_sent == churn_received ? "equal" : "DIFFER");
	rt_get_stats(&after);
	heap_get_stats(&ha);
	kprintf("churn: %lu tasks, %lu checksums ok, %lu killed, %lu broken links; %lu grows, "
		"%lu shrinks in %lu ms\n", made, ok, killed, broken, grows, shrinks, ms);
	kprintf("churn: stack memory mapped %lu KiB before, %lu KiB after; heap objects %lu before, "
		"%lu after\n", before.stack_bytes_committed >> 10, after.stack_bytes_committed >> 10,
		hb.objects_live, ha.objects_live);
	/* What may stay: the page tables around the next stack addresses (a PT,
	 * a PD, a PDPT) and heap spans kept for reuse. */
	uint64_t kept = frames_before - (frames.free + rtplat_pool_frames());
	kprintf("churn: %lu frames still taken afterwards (page tables at the stack frontier, "
		"cached heap spans)\n", kept);
	kprintf("churn: %s\n", kept <= 16 && ok == n && broken == 0 && churn_sent == churn_received &&
				       after.stack_bytes_committed == before.stack_bytes_committed &&
				       ha.objects_live == hb.objects_live ? "ok" : "FAILED");
}

/* ---- bench: the runtime's figures on bare metal (bench/qemu_bench.py runs it) ---- */

/*
 * Under QEMU's -icount shift=0, one guest nanosecond is one instruction:
 * with the fw_cfg flag "icount" the figures are printed as instructions,
 * otherwise as guest nanoseconds. Integers only: the kernel has no FPU.
 * Lines follow bench/report.py: BENCH <benchmark> morestack-qemu <value> <unit>.
 */
static bool bench_icount;

static void bench_emit(const char *bench, uint64_t total, uint64_t count, const char *per)
{
	uint64_t tenths = count ? total * 10 / count : 0;
	kprintf("BENCH %s morestack-qemu %lu.%lu %s/%s\n", bench, tenths / 10, tenths % 10,
		bench_icount ? "insns" : "ns", per);
}

static uint64_t bench_yielder(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rt_yield();
	return n;
}

static uint64_t bench_nothing(uint64_t x) { return x; }

/* Uses about `bytes` of stack in 1 KiB frames. */
__attribute__((noinline)) static uint64_t bench_use(uint64_t bytes)
{
	volatile char pad[1008];
	pad[0] = 1;
	return bytes > 1024 ? bench_use(bytes - 1024) + (uint64_t)pad[0] : (uint64_t)pad[0];
}

struct bench_growth { uint64_t size, wall, move; };

static uint64_t bench_growth_task(uint64_t arg)
{
	struct bench_growth *g = (struct bench_growth *)arg;
	struct rt_task *t = rt_current();
	if (g->size > RT_STACK_MIN)
		bench_use(g->size * 3 / 4);
	uint64_t m0 = t->stats.move_ns, t0 = plat_now_ns();
	bench_use(g->size - 512 + 2048);
	g->wall = plat_now_ns() - t0;
	g->move = t->stats.move_ns - m0;
	return t->stats.grows;
}

static uint64_t bench_short(uint64_t x) { return bench_use(16 << 10) + x; }

static struct rt_chan *bench_never;

static uint64_t bench_park(uint64_t x)
{
	uint64_t v;
	chan_recv(bench_never, &v);
	return x + v;
}

void cmd_bench(int argc, char **argv)
{
	(void)argc, (void)argv;
	bench_icount = fwcfg_flag("icount");
	uint64_t flags = read_rflags();
	cli();

	const uint64_t n = 100000;
	struct rt_task *a = rt_spawn(bench_yielder, n, "a"), *b = rt_spawn(bench_yielder, n, "b");
	uint64_t t0 = plat_now_ns();
	rt_run();
	bench_emit("switch", plat_now_ns() - t0, 2 * n, "switch");
	rt_reap(a);
	rt_reap(b);

	t0 = plat_now_ns();
	for (uint64_t i = 0; i < 10000; i++) {
		struct rt_task *t = rt_spawn(bench_nothing, i, "nop");
		rt_join(t, NULL);
		rt_reap(t);
	}
	bench_emit("spawn", plat_now_ns() - t0, 10000, "spawn");

	for (uint64_t size = RT_STACK_MIN; size <= (1UL << 20); size *= 2) {
		struct bench_growth g = { size, 0, 0 };
		struct rt_task *t = rt_spawn(bench_growth_task, (uint64_t)&g, "ladder");
		rt_join(t, NULL);
		rt_reap(t);
		char name[40];
		ksnprintf(name, sizeof name, "growth_ladder/%luKiB", size >> 10);
		bench_emit(name, g.wall, 1, "growth");
	}

	t0 = plat_now_ns();
	struct rt_task *batch[100];
	for (uint64_t i = 0; i < 10000; i += 100) {
		for (int k = 0; k < 100; k++)
			batch[k] = rt_spawn(bench_short, i + (uint64_t)k, "short");
		rt_run();
		for (int k = 0; k < 100; k++) {
			rt_join(batch[k], NULL);
			rt_reap(batch[k]);
		}
	}
	bench_emit("short_lived", plat_now_ns() - t0, 10000, "task");

	/* Memory per parked task: every frame taken, from the allocator or the
	 * pool (stack pages, page tables, the heap's pages holding task
	 * records), over 100,000 parked tasks; and the task records alone. */
	const uint64_t parked = 100000;
	struct rt_task **tasks = rt_alloc(parked * sizeof *tasks);
	bench_never = chan_make(8, 0);
	struct heap_stats h0, h1;
	heap_get_stats(&h0);
	uint64_t free0 = frames.free + rtplat_pool_frames();
	uint64_t made = 0;
	for (; tasks && made < parked; made++)
		if (!(tasks[made] = rt_spawn(bench_park, made, "parked")))
			break;
	rt_run();
	heap_get_stats(&h1);
	uint64_t frames_used = free0 - (frames.free + rtplat_pool_frames());
	if (made == parked) {
		kprintf("BENCH parked_mem morestack-qemu %lu bytes/task\n",
			frames_used * PAGE_SIZE / parked);
		kprintf("BENCH parked_mem morestack-qemu-runtime %lu bytes/task\n",
			(h1.bytes_used - h0.bytes_used) / parked);
	} else {
		kprintf("bench: only %lu of %lu parked tasks fit in memory\n", made, parked);
	}
	chan_close(bench_never);
	rt_run();
	for (uint64_t i = 0; i < made; i++) {
		rt_join(tasks[i], NULL);
		rt_reap(tasks[i]);
	}
	chan_free(bench_never);
	rt_free(tasks);
	if (flags & 0x200)
		sti();
	kprintf("bench: done\n");
}
