/*
 * platform_kernel.c: the runtime's platform on bare metal (runtime/platform.h).
 *
 * Task stacks are mapped page by page in the kernel's own tables, in the
 * TASK_STACK_BASE region. Frames of unmapped stacks go to a pool and are
 * the first reused by the next stack (their addresses never are). Faults
 * reach the runtime through the trap layer's fault hook, on an IST stack:
 * the hook translates the trap frame to and from struct rt_regs (so does
 * the move-stress tick, shell/stress.c, with the same two functions).
 * No interrupt frame is ever pushed on a task stack: every gate switches
 * to an IST stack (kernel/idt.c).
 */
#include "kernel.h"
#include "trap.h"
#include "x86.h"

#include "heap.h"
#include "platform.h"
#include "rt.h"

/* The stack mover adjusts the general registers of a faulting context
 * (struct rt_regs, nlanes = 0): there must be no other. */
#if defined(__SSE__) || defined(__MMX__) || defined(__x87__)
#error "the kernel is built with -mgeneral-regs-only: tasks keep no state in vector or x87 registers"
#endif

#define POOL_MAX 8192 /* pages kept for reuse (32 MiB); more go back to the allocator */

/* The pool's pages are zero but for their first word, which (via the
 * direct map) links the next: whoever pools a page clears what was
 * written in it, and pool_get hands out zeroed pages. */
static uint64_t pool_head;
static uint64_t pool_count;

static uint64_t pool_get(void)
{
	uint64_t f = pool_head;
	if (f) {
		uint64_t *link = phys_to_virt(f);
		pool_head = *link;
		*link = 0;
		pool_count--;
		return f;
	}
	f = pmem_alloc(&phys_pages);
	if (f)
		memset(phys_to_virt(f), 0, PAGE_SIZE);
	return f;
}

static void pool_put(uint64_t f)
{
	if (pool_count >= POOL_MAX) {
		pmem_free(&phys_pages, f);
		return;
	}
	*(uint64_t *)phys_to_virt(f) = pool_head;
	pool_head = f;
	pool_count++;
}

uint64_t kplat_pool_pages(void) { return pool_count; }

uintptr_t plat_stack_region(size_t bytes)
{
	return bytes <= KSTACK_BASE - TASK_STACK_BASE ? TASK_STACK_BASE : 0;
}

/* The runtime's own stack: kernel stack slot 1, mapped at boot with an
 * unmapped guard below it like every kernel stack. */
uintptr_t plat_runtime_stack(size_t bytes)
{
	return bytes <= vm_kernel_stack_size() ? vm_kernel_stack_top(KSTACK_SLOT_RUNTIME) : 0;
}

int plat_program_text(uintptr_t pc)
{
	extern char __text_start[], __text_end[];
	return pc >= (uintptr_t)__text_start && pc < (uintptr_t)__text_end;
}

/* The end of the highest stack mapped so far: the runtime hands out stack
 * addresses upwards, so no stack will ever be mapped below it again. */
static uint64_t commit_high;

/*
 * The page tables under stack addresses come and go with the stacks: they
 * are made through stack_pt_env and freed by pool_put_table, which count
 * them, so a leak check can tell them from a leak (kplat_stack_tables).
 */
static uint64_t stack_tables;

/* A zeroed frame for a stack page table: from the physical allocator, or,
 * when that is empty, from the pool (its pages are zero too): a machine
 * whose free pages all sit in the pool can still map a stack at a new
 * 2 MiB (this once made a demo unable to start after tasks had exited). */
static uint64_t stack_table_alloc(void *ctx)
{
	uint64_t f = kernel_pt_env.alloc_frame(ctx);
	if (!f)
		f = pool_get();
	stack_tables += f != 0;
	return f;
}

static void *stack_table_ptr(void *ctx, uint64_t phys)
{
	(void)ctx;
	return phys_to_virt(phys);
}

static const struct pt_env stack_pt_env = { stack_table_alloc, stack_table_ptr, NULL };

uint64_t kplat_stack_tables(void) { return stack_tables; }

/* The page table stack_pte used last: the 2 MiB it maps and its entries.
 * Stacks are handed out close together, so most lookups land there. A
 * table is only ever freed by pool_put_table, which forgets it. */
static uintptr_t leaf_base = 1; /* no 2 MiB block starts here */
static uint64_t *leaf_entries;

static void pool_put_table(void *ctx, uint64_t phys)
{
	(void)ctx;
	memset(phys_to_virt(phys), 0, PAGE_SIZE); /* empty already, as far as the pool is told */
	pool_put(phys);
	stack_tables--;
	leaf_base = 1;
}

/* pt_prune under stack addresses, below the frontier. Nothing can be freed
 * when the lowest 2 MiB of the range reaches the frontier (pt_prune keeps
 * every table that does), so that case costs no walk. */
static void stack_prune(uintptr_t va, size_t bytes)
{
	if ((va | (LARGE_PAGE_SIZE - 1)) >= commit_high)
		return;
	pt_prune(&stack_pt_env, vm_root(), va, bytes, commit_high, pool_put_table);
}

/* Stack addresses up to end are about to be mapped. */
static void advance_frontier(uint64_t end)
{
	if (end > commit_high) {
		/* The frontier moves on: the tables a decommit kept because they
		 * held the old frontier may be empty now (stress moves and churn
		 * left one behind in about 20 runs). */
		uint64_t old = commit_high;
		commit_high = end;
		if (old) {
			uint64_t from = (old - 1) & ~(LARGE_PAGE_SIZE - 1);
			stack_prune(from, old - from);
		}
	}
}

/*
 * The leaf entry of page addr, from the entry of the page before it when
 * both lie in the same 2 MiB (one walk per 2 MiB of a run of pages: the
 * entries of one page table follow each other). prev: the entry returned
 * for addr - PAGE_SIZE, or NULL. NULL if a table is missing (create: or
 * no frame was left for it).
 */
static uint64_t *stack_pte(uintptr_t addr, uint64_t *prev, int create)
{
	if (prev && (addr & (LARGE_PAGE_SIZE - 1)))
		return prev + 1;
	uintptr_t base = addr & ~(LARGE_PAGE_SIZE - 1);
	size_t index = (addr - base) / PAGE_SIZE;
	if (base == leaf_base)
		return leaf_entries + index;
	uint64_t *e = pt_leaf_entry(&stack_pt_env, vm_root(), addr, create);
	if (e) {
		leaf_base = base;
		leaf_entries = e - index;
	}
	return e;
}

#define STACK_PTE_FLAGS (PTE_P | PTE_W | PTE_NX)

/* Maps zeroed pages from the pool at [addr, addr+bytes). [fault-safe: no locks, IST stack] */
int plat_commit(uintptr_t addr, size_t bytes)
{
	advance_frontier(addr + bytes);
	uint64_t *e = NULL;
	for (size_t off = 0; off < bytes; off += PAGE_SIZE) {
		e = stack_pte(addr + off, e, 1);
		uint64_t f = e && !(*e & PTE_P) ? pool_get() : 0; /* zeroed */
		if (!f) { /* out of memory, or mapped already */
			plat_decommit(addr, off, addr + off);
			return -1;
		}
		*e = f | STACK_PTE_FLAGS;
	}
	return 0;
}

/*
 * Unmaps [addr, addr+bytes) and pools its pages. Stack addresses are never
 * mapped again, so page tables left empty below commit_high are pooled too:
 * otherwise they would pile up, 4 KiB per 2 MiB of stack address space
 * ever used.
 * invlpg of each page also drops the paging-structure caches for it.
 * [fault-safe]
 */
void plat_decommit(uintptr_t addr, size_t bytes, uintptr_t written_from)
{
	uint64_t *e = NULL;
	for (size_t off = 0; off < bytes; off += PAGE_SIZE) {
		uintptr_t page = addr + off;
		e = stack_pte(page, e, 0);
		if (!e) { /* no table here: on to the next 2 MiB */
			off = ((page + LARGE_PAGE_SIZE) & ~(LARGE_PAGE_SIZE - 1)) - addr - PAGE_SIZE;
			continue;
		}
		if (!(*e & PTE_P))
			continue;
		uint64_t phys = *e & PTE_ADDR;
		uintptr_t from = written_from > page ? written_from : page;
		if (from < page + PAGE_SIZE) /* the pool's pages are zero: clear what was written */
			memset((char *)phys_to_virt(phys) + (from - page), 0, page + PAGE_SIZE - from);
		*e = 0;
		invlpg(page);
		pool_put(phys);
	}
	stack_prune(addr, bytes);
}

/* Moving even one page costs less than copying it (platform.h). */
const size_t plat_remap_min = PAGE_SIZE;

/*
 * A stack's used pages change address, not contents: each physical page
 * mapped at from+off is mapped at to+off instead (a page-table write and
 * an invlpg per page, where a copy would clear a fresh page and copy 4 KiB
 * into it). [fault-safe: no locks, IST stack]
 */
int plat_move_pages(uintptr_t stack_lo, size_t stack_size, uintptr_t from, uintptr_t to)
{
	size_t bytes = stack_lo + stack_size - from;
	advance_frontier(to + bytes);
	uint64_t *src = NULL, *dst = NULL;
	for (size_t off = 0; off < bytes; off += PAGE_SIZE) {
		src = stack_pte(from + off, src, 0);
		dst = stack_pte(to + off, dst, 1);
		if (!src || !(*src & PTE_P) || !dst || (*dst & PTE_P)) {
			/* Undo: the pages stay where they were. */
			uint64_t *e = NULL;
			for (size_t o = 0; o < off; o += PAGE_SIZE) {
				e = stack_pte(to + o, e, 0);
				*e = 0;
				invlpg(to + o);
			}
			stack_prune(to, bytes);
			return -1;
		}
		*dst = (*src & PTE_ADDR) | STACK_PTE_FLAGS;
	}
	src = NULL;
	for (size_t off = 0; off < bytes; off += PAGE_SIZE) {
		src = stack_pte(from + off, src, 0);
		*src = 0;
		invlpg(from + off);
	}
	stack_prune(from, bytes);
	return 0;
}

/*
 * Nonzero while kernel code that a task may call on its own stack changes
 * the physical page allocator or the page tables: a move-stress tick then must not
 * move the stack, since the move itself maps pages (plat_commit) and would
 * run into the half-done change. The runtime's own callers of the platform
 * run on the runtime stack, where no tick moves anything.
 */
volatile int kplat_stress_hold;

static uintptr_t map_code_pair(const void *code_page);

/*
 * A closure page pair at the next free place of CLOSURE_BASE: the kernel's
 * own stub page (its physical page in the kernel image) mapped again
 * read-only and executable, then a fresh data page, writable, no-execute.
 */
uintptr_t plat_map_code_pair(const void *code_page)
{
	kplat_stress_hold++;
	uintptr_t at = map_code_pair(code_page);
	kplat_stress_hold--;
	return at;
}

static uintptr_t map_code_pair(const void *code_page)
{
	static uint64_t next = CLOSURE_BASE;
	if (next + 2 * PAGE_SIZE > CLOSURE_BASE + CLOSURE_REGION)
		return 0;
	uint64_t code = boot_info.kernel_phys + ((uint64_t)code_page - KERNEL_BASE);
	uint64_t data = pmem_alloc(&phys_pages);
	if (!data)
		return 0;
	memset(phys_to_virt(data), 0, PAGE_SIZE);
	if (pt_map(&kernel_pt_env, vm_root(), next, code, PAGE_SIZE, 0, 0) ||
	    pt_map(&kernel_pt_env, vm_root(), next + PAGE_SIZE, data, PAGE_SIZE, PTE_W | PTE_NX, 0)) {
		pmem_free(&phys_pages, data);
		return 0;
	}
	uintptr_t at = next;
	next += 2 * PAGE_SIZE;
	return at;
}

void *plat_heap_pages(size_t pages)
{
	uint64_t f = pmem_alloc_run(&phys_pages, pages);
	if (!f)
		return NULL;
	memset(phys_to_virt(f), 0, pages * PAGE_SIZE);
	return phys_to_virt(f);
}

void plat_heap_free_pages(void *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++)
		pmem_free(&phys_pages, virt_to_phys_direct(p) + i * PAGE_SIZE);
}

/* Nanoseconds from the TSC: ticks times a 32.32 fixed-point ns-per-tick (no 128-bit divide). */
static uint64_t ns_per_tick_32;

uint64_t plat_now_ns(void)
{
	return (uint64_t)(((unsigned __int128)rdtsc() * ns_per_tick_32) >> 32);
}

void plat_write(const char *s, size_t n)
{
	console_write(s, n);
}

int plat_symbolize(uintptr_t pc, char *buf, size_t cap)
{
	return symbolize(pc, buf, cap);
}

_Noreturn void rt_fatal(const char *msg)
{
	panic("runtime: %s", msg);
}

/* trapframe <-> rt_regs: same registers, different order. */
#define REGS(X) X(rax) X(rbx) X(rcx) X(rdx) X(rsi) X(rdi) X(rbp) X(rsp) X(r8) X(r9) X(r10) \
	X(r11) X(r12) X(r13) X(r14) X(r15) X(rip)

/* The interrupted context of tf as the runtime sees it: the fault hook's
 * and the move-stress tick's. No vector lanes: the kernel and its tasks
 * use general registers only (-mgeneral-regs-only). [fault-safe] */
void kplat_regs_from_trap(const struct trapframe *tf, struct rt_regs *r)
{
	r->nlanes = 0;
#define LOAD(f) r->f = tf->f;
	REGS(LOAD)
#undef LOAD
}

/* Writes r (as the runtime left it) back into tf, for iretq. [fault-safe] */
void kplat_regs_to_trap(const struct rt_regs *r, struct trapframe *tf)
{
#define STORE(f) tf->f = r->f;
	REGS(STORE)
#undef STORE
}

/* The trap layer's fault hook: every task fault goes to the runtime. */
static bool task_fault(struct trapframe *tf)
{
	/* Not zeroed first (-ftrivial-auto-var-init): kplat_regs_from_trap sets
	 * every field the runtime reads, and the 2 KiB of vector lanes it
	 * never reads on this platform were 274 stores on every fault. */
	struct rt_regs r __attribute__((uninitialized));
	kplat_regs_from_trap(tf, &r);
	bool page = tf->vector == T_PAGE_FAULT;
	enum rt_fault_kind kind = page ? RT_FAULT_PAGE
				  : tf->vector == T_DIVIDE ? RT_FAULT_DIVIDE : RT_FAULT_OTHER;
	enum rt_fault_action a = rt_fault(&r, page ? read_cr2() : 0, kind, exception_names[tf->vector]);
	if (a == RT_FAULT_NOT_OURS)
		return false;
	kplat_regs_to_trap(&r, tf);
	return true;
}

/* Starts the runtime on this machine. Only used when booting. */
void kplat_init(void)
{
	ns_per_tick_32 = (1000000000UL << 32) / (boot_info.tsc_hz ? boot_info.tsc_hz : 1000000000UL);
	rt_init();
	/* Bare metal gives every stack fresh addresses (Go's stackFaultOnFree):
	 * the physical pages come from this port's pool, so a fresh stack costs
	 * page-table writes, not a system call, and a stale pointer always
	 * faults with a report (README, "Stack policies", has the figures). */
	rt_set_stack_fault_on_free(true);
	/* Parked tasks give their stacks back when nothing can run (a
	 * hibernated task's image takes 256 bytes or a few times that). */
	rt_stack_hibernation = true;
	trap_set_fault_hook(task_fault);
}
