/*
 * symbolize.c: the kernel's own symbol table, and frame-pointer backtraces.
 *
 * With -fno-omit-frame-pointer every function starts with
 *     push %rbp; mov %rsp, %rbp
 * so %rbp points at a saved %rbp, with the return address just above:
 *
 *     [rbp + 8]  return address into the caller
 *     [rbp + 0]  the caller's rbp  ---> the caller's frame, and so on
 *
 * The chain ends at a zero rbp (entry.S starts every stack with one).
 * Backtraces check every word is mapped before reading it, so a corrupt
 * chain ends the trace instead of faulting inside a fault report.
 */
#include "kernel.h"

#include "defer.h"


#define SYMBOLS_MAX 8192

struct symtab kernel_symbols;
static struct symbol symbol_storage[SYMBOLS_MAX];

/* Loads symbols from the ELF copy the loader left us. Only used when booting. */
void symbols_init(void)
{
	if (symtab_load(&kernel_symbols, phys_to_virt(boot_info.elf_phys), boot_info.elf_size,
			symbol_storage, SYMBOLS_MAX) != 0)
		kprintf("symbols: the kernel ELF copy has no readable symbol table; "
			"reports will show bare addresses\n");
	else if (kernel_symbols.dropped)
		kprintf("symbols: %lu symbols did not fit (SYMBOLS_MAX %d)\n",
			kernel_symbols.dropped, SYMBOLS_MAX);
}

/* Writes "name+0xoff" for addr, or "?" when no symbol holds it. Returns 1 if found. */
int symbolize(uint64_t addr, char *buf, size_t cap)
{
	uint64_t off;
	const struct symbol *s = symtab_lookup(&kernel_symbols, addr, &off);
	if (!s) {
		ksnprintf(buf, cap, "?");
		return 0;
	}
	ksnprintf(buf, cap, "%s+%#lx", s->name, off);
	return 1;
}

/* Writes "name+0xoff" for a return address, looked up at ret-1 (the call
 * may be the last instruction of its function), or "?". */
static void name_return(uint64_t ret, char *buf, size_t cap)
{
	uint64_t off;
	const struct symbol *s = symtab_lookup(&kernel_symbols, ret - 1, &off);
	if (s)
		ksnprintf(buf, cap, "%s+%#lx", s->name, off + 1);
	else
		ksnprintf(buf, cap, "?");
}

/* Ends a run of frames with the same return address: one line for all of them. */
static void print_repeats(uint64_t *repeats, uint64_t ret)
{
	if (!*repeats)
		return;
	char name[128];
	name_return(ret, name, sizeof name);
	kprintf("  ... %lu more frame%s returning to the same place (%s)\n", *repeats,
		plural(*repeats), name);
	*repeats = 0;
}

/*
 * Prints up to max lines of frames, starting with the function at rip
 * whose frame pointer is rbp. Return addresses are looked up at addr-1: the
 * call may be the last instruction of a function. A run of frames with the
 * same return address (a recursion) is folded into one line; the walk
 * goes on past it, up to MAX_WALK frames.
 */
#define MAX_WALK 100000
void backtrace_print(uint64_t rip, uint64_t rbp, int max)
{
	char name[128];
	symbolize(rip, name, sizeof name);
	kprintf("  #0  %#018lx  %s\n", rip, name);
	uint64_t last_ret = 0, repeats = 0;
	int printed = 1;
	for (int depth = 1; depth < MAX_WALK; depth++) {
		if (rbp == 0)
			break;
		if (rbp & 7 || !vm_is_mapped(rbp, 16)) {
			print_repeats(&repeats, last_ret);
			kprintf("  (frame pointer %#lx is not a readable stack address: trace ends)\n", rbp);
			return;
		}
		/* LAB backtrace BEGIN: read this frame's return address and the caller's frame pointer */
		uint64_t *frame = (uint64_t *)rbp;
		uint64_t ret = frame[1], next = frame[0];
		/* LAB backtrace ELSE
		uint64_t ret = 0, next = 0; // your code: what does rbp point at? (labs/backtrace)
		LAB backtrace END */
		if (ret == 0)
			break;
		if (ret == last_ret) {
			repeats++;
		} else {
			print_repeats(&repeats, last_ret);
			if (printed >= max) {
				kprintf("  ... (more frames)\n");
				return;
			}
			if (ret == (uint64_t)rt_defer_trampoline)
				ksnprintf(name, sizeof name, "(a deferring function returns here through defer)");
			else
				name_return(ret, name, sizeof name);
			kprintf("  #%-2d %#018lx  %s\n", depth, ret, name);
			printed++;
			last_ret = ret;
		}
		if (next != 0 && next <= rbp) {
			print_repeats(&repeats, last_ret);
			kprintf("  (next frame pointer %#lx is not above %#lx: trace ends)\n", next, rbp);
			return;
		}
		rbp = next;
	}
	print_repeats(&repeats, last_ret);
}
