/*
 * platform_linux.c: the runtime's platform on Linux, in user space.
 *
 * Stacks live in one PROT_NONE reservation at a high address (no plausible
 * integer looks like it). Committing maps fresh anonymous memory over part
 * of it (MAP_FIXED; pages arrive when touched: a doubled stack uses only
 * its upper half at first, and populating the rest would waste memory).
 * Decommitting maps PROT_NONE | MAP_NORESERVE
 * over it again: Linux frees the pages and the range merges back into the
 * reservation (mprotect would leave it a separate, still-accounted mapping,
 * and mappings would pile up to vm.max_map_count). Faults arrive as signals, handled
 * on an alternate signal stack (the faulting stack may be the exhausted
 * one): SIGSEGV and SIGBUS are page faults, SIGFPE, SIGILL and SIGTRAP
 * other faults. The handler hands the saved registers to rt_fault and
 * writes back what it returns; sigreturn resumes there.
 *
 * Each stack and its guard are separate mappings for Linux: count two per
 * task against vm.max_map_count (65530 by default).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "platform_linux.h"
#include "platform.h"
#include "internal.h"
#include "rt.h"
#include "format.h"
#include "symbols.h"

/* 16 TiB up (2^44): bits 40..47 are then 0x10 to 0x1f, control characters,
 * and bits 48..63 zero, so no text and no double looks like a stack
 * address; runtime/stack.c's windows do the rest. Far from the program,
 * its heap and the libraries (near 0x7f...). */
#define REGION_HINT 0x100000000000UL
#define SIGNAL_STACK (256UL << 10)

void (*host_console)(const char *s, size_t n);
static struct symtab host_symbols;
static void *exe_copy;

uintptr_t plat_runtime_stack(size_t bytes)
{
	size_t guard = 64UL << 10;
	char *p = mmap(NULL, bytes + guard, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + guard, bytes, PROT_READ | PROT_WRITE) != 0)
		return 0;
	return (uintptr_t)p + guard + bytes;
}

int plat_program_text(uintptr_t pc)
{
	extern char __executable_start[], etext[];
	return pc >= (uintptr_t)__executable_start && pc < (uintptr_t)etext;
}

uintptr_t plat_stack_region(size_t bytes)
{
	void *p = mmap((void *)REGION_HINT, bytes, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? 0 : (uintptr_t)p;
}

/* ---- the page pool: all of it preallocated, usable from the signal handler ---- */

#define POOL_MAX_BYTES (32UL << 10)    /* stacks up to this size are pooled (larger: anonymous, moved by mremap) */
#define POOL_ORDERS 4                  /* 4 KiB << 0 .. 3 */
#define POOL_FREE_MAX 4096             /* freed runs kept per size; more are released */
#define BACKING_SLOTS (1UL << 21)      /* live pooled stacks we can track */

static int pool_fd = -1;
static uint64_t pool_size;             /* bytes in the memfd */
static uint64_t pool_free[POOL_ORDERS][POOL_FREE_MAX]; /* file offsets of free runs */
static unsigned pool_free_n[POOL_ORDERS];
static struct backing { uint64_t addr, off; } *backing; /* open addressing, linear probing */

static int order_of(size_t bytes)
{
	if (bytes > POOL_MAX_BYTES || bytes < PLAT_PAGE || (bytes & (bytes - 1)))
		return -1;
	return __builtin_ctzl(bytes) - 12;
}

static size_t slot_of(uint64_t addr)
{
	return (size_t)(((addr >> 12) * 0x9e3779b97f4a7c15ULL) >> 43) & (BACKING_SLOTS - 1);
}

static int backing_put(uint64_t addr, uint64_t off)
{
	for (size_t i = slot_of(addr), n = 0; n < BACKING_SLOTS; i = (i + 1) & (BACKING_SLOTS - 1), n++)
		if (!backing[i].addr) {
			backing[i] = (struct backing){ addr, off };
			return 0;
		}
	return -1;
}

/* Removes addr's entry; returns its file offset, or -1 if it has none. */
static int64_t backing_take(uint64_t addr)
{
	size_t i = slot_of(addr);
	while (backing[i].addr && backing[i].addr != addr)
		i = (i + 1) & (BACKING_SLOTS - 1);
	if (!backing[i].addr)
		return -1;
	int64_t off = (int64_t)backing[i].off;
	/* Backward-shift deletion keeps every later entry reachable. */
	for (size_t j = (i + 1) & (BACKING_SLOTS - 1); backing[j].addr; j = (j + 1) & (BACKING_SLOTS - 1)) {
		size_t home = slot_of(backing[j].addr);
		if (((j - home) & (BACKING_SLOTS - 1)) >= ((j - i) & (BACKING_SLOTS - 1))) {
			backing[i] = backing[j];
			i = j;
		}
	}
	backing[i] = (struct backing){ 0, 0 };
	return off;
}

/* MORESTACK_STACK_POOL=0 in the environment turns the pool off (to compare). */
static void pool_init(void)
{
	const char *env = getenv("MORESTACK_STACK_POOL");
	if (env && strcmp(env, "0") == 0)
		return;
	pool_fd = memfd_create("morestack-stacks", MFD_CLOEXEC);
	backing = mmap(NULL, BACKING_SLOTS * sizeof *backing, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (backing == MAP_FAILED)
		backing = NULL;
	if (!backing && pool_fd >= 0) {
		close(pool_fd);
		pool_fd = -1;
	}
}

/*
 * fork() copies mappings as they are: a MAP_SHARED stack from the pool
 * would be the same memory in parent and child, and each would write into
 * the other's task stacks (the child's first returns from fork() already
 * do). So before a fork (pthread_atfork's prepare, in the parent) every
 * pooled stack becomes a private anonymous copy, which fork() then copies
 * on write like any private memory; its pool pages go back to the pool
 * (and the runtime's stack cache is emptied).
 * In the child the pool is off: its memfd is the parent's. Runs on the
 * runtime stack, since the forking task's own stack is among those
 * replaced.
 */
static uint64_t privatize_stacks(void *unused)
{
	(void)unused;
	rt_stack_cache_flush(); /* cached stacks are pool pages too: unmapped, not copied */
	for (struct rt_task *t = rt_tasks(); t; t = t->all_next) {
		size_t bytes = t->stack_hi - t->stack_lo;
		int order = order_of(bytes);
		int64_t off = t->stack_lo && order >= 0 ? backing_take(t->stack_lo) : -1;
		if (off < 0)
			continue;
		void *copy = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (copy == MAP_FAILED)
			rt_fatal("fork: no memory for a private copy of a task stack");
		memcpy(copy, (void *)t->stack_lo, bytes);
		if (mremap(copy, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)t->stack_lo) == MAP_FAILED)
			rt_fatal("fork: could not put a private copy of a task stack in place");
		if (pool_free_n[order] < POOL_FREE_MAX)
			pool_free[order][pool_free_n[order]++] = (uint64_t)off;
		else
			fallocate(pool_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, (off_t)bytes);
	}
	return 0;
}

static void before_fork(void)
{
	if (pool_fd >= 0)
		rt_systemstack(privatize_stacks, NULL);
}

static void after_fork_in_child(void)
{
	if (pool_fd < 0)
		return;
	close(pool_fd);
	pool_fd = -1;
	memset(pool_free_n, 0, sizeof pool_free_n);
}

/* Maps pooled pages (reused, zeroed; or new at the end of the file) at addr. */
static int pool_commit(uintptr_t addr, size_t bytes, int order)
{
	bool reused = pool_free_n[order] > 0;
	uint64_t off = reused ? pool_free[order][--pool_free_n[order]] : pool_size;
	if (!reused) {
		if (ftruncate(pool_fd, (off_t)(off + bytes)) != 0)
			return -1;
		pool_size = off + bytes;
	}
	void *p = mmap((void *)addr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE,
		       pool_fd, (off_t)off);
	if (p != (void *)addr || backing_put(addr, off) != 0) {
		pool_free[order][pool_free_n[order]++] = off;
		return -1;
	}
	return 0; /* a pooled range was cleared when it came back (plat_decommit) */
}

int plat_commit(uintptr_t addr, size_t bytes)
{
	int order = order_of(bytes);
	if (order >= 0 && pool_fd >= 0)
		return pool_commit(addr, bytes, order);
	/* Up to 256 KiB, the pages are made present at once: one system call
	 * instead of a page fault per page on first touch (a move copies into
	 * them right away). Larger ones are mostly never touched. */
	int populate = bytes <= (256UL << 10) ? MAP_POPULATE : 0;
	void *p = mmap((void *)addr, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | populate, -1, 0);
	return p == (void *)addr ? 0 : -1;
}

void plat_decommit(uintptr_t addr, size_t bytes, uintptr_t written_from)
{
	int order = order_of(bytes);
	int64_t off = order >= 0 && pool_fd >= 0 ? backing_take(addr) : -1;
	if (off >= 0 && written_from < addr + bytes) { /* pooled ranges are kept zeroed */
		uintptr_t from = written_from > addr ? written_from : addr;
		memset((void *)from, 0, addr + bytes - from);
	}
	mmap((void *)addr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (off < 0)
		return;
	if (pool_free_n[order] < POOL_FREE_MAX)
		pool_free[order][pool_free_n[order]++] = (uint64_t)off;
	else /* the pool is full: give these pages back to Linux */
		fallocate(pool_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, (off_t)bytes);
}

/* Pooled stacks are views of the memfd (their offsets are in `backing`):
 * copied, not moved. Larger ones are anonymous memory, moved by mremap;
 * the range they leave is reserved again, inaccessible. [fault-safe] */
/* Below 64 KiB in use, mremap and mmap cost more than the copy (platform.h). */
const size_t plat_remap_min = 64UL << 10;

int plat_move_pages(uintptr_t stack_lo, size_t stack_size, uintptr_t from, uintptr_t to)
{
	size_t bytes = stack_lo + stack_size - from;
	if (order_of(stack_size) >= 0 && pool_fd >= 0)
		return -1;
	if (mremap((void *)from, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)to) != (void *)to)
		return -1;
	mmap((void *)from, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	return 0;
}

/*
 * Closure page pairs in a reservation of their own: the stub page is
 * written once into a memfd (through the file, never through a mapping)
 * and mapped from it read-only and executable, each copy followed by an
 * anonymous read-write page. No mapping is ever writable and executable.
 */
#define CLOSURE_REGION (1UL << 30)

uintptr_t plat_map_code_pair(const void *code_page)
{
	static uintptr_t next, end;
	static int stub_fd = -1;
	if (!next) {
		void *r = mmap(NULL, CLOSURE_REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		stub_fd = memfd_create("morestack-closure-stubs", MFD_CLOEXEC);
		if (r == MAP_FAILED || stub_fd < 0 || write(stub_fd, code_page, PLAT_PAGE) != (ssize_t)PLAT_PAGE)
			return 0;
		next = (uintptr_t)r;
		end = next + CLOSURE_REGION;
	}
	if (next + 2 * PLAT_PAGE > end)
		return 0;
	void *code = mmap((void *)next, PLAT_PAGE, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, stub_fd, 0);
	void *data = mmap((void *)(next + PLAT_PAGE), PLAT_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (code != (void *)next || data != (void *)(next + PLAT_PAGE))
		return 0;
	uintptr_t at = next;
	next += 2 * PLAT_PAGE;
	return at;
}

void *plat_heap_pages(size_t pages)
{
	void *p = mmap(NULL, pages * PLAT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void plat_heap_free_pages(void *p, size_t pages)
{
	munmap(p, pages * PLAT_PAGE);
}

uint64_t plat_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void plat_write(const char *s, size_t n)
{
	if (host_console) {
		host_console(s, n);
		return;
	}
	while (n) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

int plat_symbolize(uintptr_t pc, char *buf, size_t cap)
{
	uint64_t off;
	const struct symbol *s = symtab_lookup(&host_symbols, pc, &off);
	if (!s)
		return 0;
	ksnprintf(buf, cap, "%s+%#lx", s->name, off); /* not snprintf: in a signal handler */
	return 1;
}

_Noreturn void rt_fatal(const char *msg)
{
	plat_write("fatal error: ", 13);
	plat_write(msg, strlen(msg));
	plat_write("\n", 1);
	abort();
}

/* gregs order in <sys/ucontext.h> differs from struct rt_regs: map by name. */
#define GREGS(X) X(rax, REG_RAX) X(rbx, REG_RBX) X(rcx, REG_RCX) X(rdx, REG_RDX) \
	X(rsi, REG_RSI) X(rdi, REG_RDI) X(rbp, REG_RBP) X(rsp, REG_RSP) X(r8, REG_R8) \
	X(r9, REG_R9) X(r10, REG_R10) X(r11, REG_R11) X(r12, REG_R12) X(r13, REG_R13) \
	X(r14, REG_R14) X(r15, REG_R15) X(rip, REG_RIP)

/*
 * The vector registers' 8-byte lanes in the signal frame, where glibc and
 * gcc's struct copies may keep stack addresses: xmm0-15 in the legacy
 * FXSAVE area, then, when the frame carries XSAVE state (the magic in the
 * FXSAVE area's software bytes) and the component is in use (its bit in
 * XSTATE_BV), the upper halves of ymm0-15 (component 2), the upper halves
 * of zmm0-15 (component 6) and zmm16-31 (component 7). The components'
 * offsets in the standard (non-compacted) format the kernel writes come
 * from CPUID leaf 0xD (Intel SDM vol. 1, 13.4.3).
 */
#define FP_XSTATE_MAGIC1 0x46505853U
static uint32_t xstate_offset[8], xstate_size[8];

static void xstate_layout(void)
{
	for (unsigned c = 2; c < 8; c++) {
		unsigned a, b, cx, d;
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(cx), "=d"(d) : "a"(0xd), "c"(c));
		xstate_size[c] = a;
		xstate_offset[c] = b;
	}
}

static void gather_lanes(ucontext_t *uc, struct rt_regs *r)
{
	uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;
	r->nlanes = 0;
	if (!fx)
		return;
	for (unsigned i = 0; i < 32; i++) /* xmm0-15 at offset 160 */
		r->lanes[r->nlanes++] = (uint64_t *)(fx + 160 + 8 * i);
	uint32_t magic1, xsize;
	memcpy(&magic1, fx + 464, 4);
	memcpy(&xsize, fx + 464 + 8, 4);
	if (magic1 != FP_XSTATE_MAGIC1)
		return;
	uint64_t bv;
	memcpy(&bv, fx + 512, 8); /* the XSAVE header's XSTATE_BV */
	static const unsigned comps[] = { 2, 6, 7 };
	for (unsigned k = 0; k < 3; k++) {
		unsigned c = comps[k];
		if (!(bv & (1UL << c)) || !xstate_size[c] || xstate_offset[c] + xstate_size[c] > xsize)
			continue;
		for (unsigned off = 0; off < xstate_size[c] && r->nlanes < 256; off += 8)
			r->lanes[r->nlanes++] = (uint64_t *)(fx + xstate_offset[c] + off);
	}
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	struct rt_regs r;
#define LOAD(f, R) r.f = (uint64_t)g[R];
	GREGS(LOAD)
#undef LOAD
	gather_lanes(uc, &r);
	/* A general-protection fault (non-canonical address) is SIGSEGV with si_code SI_KERNEL. */
	int page = (sig == SIGSEGV || sig == SIGBUS) && si->si_code != SI_KERNEL;
	const char *what = sig == SIGFPE ? "SIGFPE (arithmetic fault, e.g. division by zero)"
			   : sig == SIGILL ? "SIGILL (invalid instruction)"
			   : sig == SIGTRAP ? "SIGTRAP (breakpoint)"
			   : sig == SIGBUS ? "SIGBUS (bus error)"
			   : page ? "SIGSEGV (invalid memory access)"
				  : "SIGSEGV (general protection: non-canonical address)";
	enum rt_fault_kind kind = page ? RT_FAULT_PAGE
				  : sig == SIGFPE && (si->si_code == FPE_INTDIV || si->si_code == FPE_INTOVF)
				      ? RT_FAULT_DIVIDE
				      : RT_FAULT_OTHER;
	enum rt_fault_action a = rt_fault(&r, (uintptr_t)si->si_addr, kind, what);
	if (a == RT_FAULT_NOT_OURS) {
		/* Not a task's: let the default action (a core dump) happen on return. */
		signal(sig, SIG_DFL);
		return;
	}
#define STORE(f, R) g[R] = (greg_t)r.f;
	GREGS(STORE)
#undef STORE
}

static timer_t stress_timer;
static long stress_ns;

/* Makes *t, once (*made), a CLOCK_MONOTONIC timer raising signo: a
 * high-resolution timer, not setitimer's profiling clock, which ticks at
 * the kernel's HZ, a few hundred times a second. False if none can be made. */
static bool timer_make(timer_t *t, bool *made, int signo)
{
	if (!*made) {
		struct sigevent ev;
		memset(&ev, 0, sizeof ev);
		ev.sigev_notify = SIGEV_SIGNAL;
		ev.sigev_signo = signo;
		*made = timer_create(CLOCK_MONOTONIC, &ev, t) == 0;
	}
	return *made;
}

/* Arms t to fire once, ns from now; 0 disarms it. */
static void timer_arm(timer_t t, long ns)
{
	struct itimerspec it = { { 0, 0 }, { ns / 1000000000, ns % 1000000000 } };
	timer_settime(t, 0, &it, NULL);
}

/* Arms the stress timer once: re-armed after each tick, so the program
 * always runs between two moves, for the interval or four times as long as
 * the last move took, whichever is longer (a 100 MiB stack takes
 * milliseconds to copy; a timer shorter than that would leave no time to
 * run at all). */
static void stress_arm(long last_ns)
{
	timer_arm(stress_timer, 4 * last_ns > stress_ns ? 4 * last_ns : stress_ns);
}

/* SIGPROF: the move-stress switch's tick. */
static void on_tick(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	struct rt_regs r;
	(void)sig;
	(void)si;
#define LOAD(f, R) r.f = (uint64_t)g[R];
	GREGS(LOAD)
#undef LOAD
	gather_lanes(uc, &r);
	uint64_t t0 = plat_now_ns();
	if (rt_stress_tick(&r)) {
#define STORE(f, R) g[R] = (greg_t)r.f;
		GREGS(STORE)
#undef STORE
	}
	if (rt_stress_moves)
		stress_arm((long)(plat_now_ns() - t0));
}

void host_stress(unsigned interval_us)
{
	static bool made;
	if (!timer_make(&stress_timer, &made, SIGPROF))
		return;
	stress_ns = (long)interval_us * 1000;
	rt_stress_moves = interval_us != 0;
	stress_arm(0); /* an interval of 0 disarms it */
}

/*
 * Stopping tasks (runtime/preempt.c) on the Linux port, as a Ctrl-C does
 * on bare metal: a one-shot timer's SIGALRM makes the stop request, then
 * keeps firing every STOP_RETRY_NS while it stands, each time offering the
 * interrupted context to rt_preempt.
 */
#define STOP_RETRY_NS 200000L
static timer_t stop_timer;
static const char *volatile stop_reason;
static uint64_t stop_first;

static void on_stop(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	struct rt_regs r;
	(void)sig;
	(void)si;
	if (stop_reason) {
		rt_stop_request(stop_reason, stop_first);
		stop_reason = NULL;
	}
	if (!rt_stop_requested())
		return; /* cleared: no more retries */
	r.nlanes = 0; /* a stop only sends the task elsewhere: no lanes to adjust */
#define LOAD(f, R) r.f = (uint64_t)g[R];
	GREGS(LOAD)
#undef LOAD
	if (rt_preempt(&r)) {
#define STORE(f, R) g[R] = (greg_t)r.f;
		GREGS(STORE)
#undef STORE
	}
	timer_arm(stop_timer, STOP_RETRY_NS);
}

void host_stop_after(unsigned us, const char *reason, uint64_t first_parked_id)
{
	static bool made;
	if (!timer_make(&stop_timer, &made, SIGALRM))
		return;
	stop_first = first_parked_id;
	stop_reason = reason;
	timer_arm(stop_timer, us ? (long)us * 1000 : 1);
}

void host_stop_cancel(void)
{
	stop_reason = NULL;
	rt_stop_clear();
	timer_arm(stop_timer, 0);
}

/* Loads the symbol table of our own executable, for fault reports. */
static void load_symbols(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return;
	exe_copy = malloc((size_t)st.st_size);
	size_t got = 0;
	while (exe_copy && got < (size_t)st.st_size) {
		ssize_t n = read(fd, (char *)exe_copy + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	static struct symbol storage[65536];
	if (exe_copy && got == (size_t)st.st_size)
		symtab_load(&host_symbols, exe_copy, got, storage, 65536);
}

/*
 * Installs the fault handlers on an alternate signal stack. Call before
 * running tasks; again after anything (a test framework) replaced them.
 */
void host_init(void)
{
	static void *altstack;
	if (!altstack) {
		pool_init();
		pthread_atfork(before_fork, NULL, after_fork_in_child);
		xstate_layout();
		altstack = mmap(NULL, SIGNAL_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		stack_t ss = { .ss_sp = altstack, .ss_size = SIGNAL_STACK, .ss_flags = 0 };
		sigaltstack(&ss, NULL);
		load_symbols();
		rt_stack_adaptive = true; /* first stacks as large as recent tasks of the same function needed */
		rt_stack_hibernation = true; /* parked tasks give their stacks back when nothing can run */
	}
	/* Faults, ticks and stops never interrupt each other: each may move a
	 * stack or send a task elsewhere. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGPROF);
	sigaddset(&sa.sa_mask, SIGALRM);
	int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_sigaction = on_tick;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigaction(SIGPROF, &sa, NULL);
	sa.sa_sigaction = on_stop;
	sigaction(SIGALRM, &sa, NULL);
	rt_init();
	/* The Linux port reuses stacks (the runtime's cache): spawning and
	 * growing then make no system call. MORESTACK_STACK_FAULT_ON_FREE=1
	 * unmaps them instead, never reusing their addresses;
	 * MORESTACK_STACK_ADAPTIVE=0 starts every task at one page; and
	 * MORESTACK_HIBERNATION=0 keeps parked tasks' stacks. */
	const char *fof = getenv("MORESTACK_STACK_FAULT_ON_FREE");
	if (fof && *fof)
		rt_set_stack_fault_on_free(strcmp(fof, "0") != 0);
	const char *hib = getenv("MORESTACK_HIBERNATION");
	if (hib && *hib)
		rt_stack_hibernation = strcmp(hib, "0") != 0;
	const char *adaptive = getenv("MORESTACK_STACK_ADAPTIVE");
	if (adaptive && *adaptive)
		rt_stack_adaptive = strcmp(adaptive, "0") != 0;
	const char *stress = getenv("MORESTACK_STRESS_US");
	if (stress && *stress && !rt_stress_moves)
		host_stress((unsigned)strtoul(stress, NULL, 0));
}
