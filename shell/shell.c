/*
 * shell.c: the serial shell: read a line, split it into words, run the
 * command named by the first word. Commands are in the table at the end;
 * each prints its own errors and returns.
 */
#include "input.h"
#include "kernel.h"
#include "demo.h"
#include "lineedit.h"
#include "serial.h"
#include "shell.h"
#include "stop.h"
#include "x86.h"

#define PROMPT "morestack> "
#define MAX_ARGS 8

struct command {
	const char *name, *args, *help;
	void (*run)(int argc, char **argv);
};
static const struct command commands[];

static void echo_to_console(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	console_write(s, n);
}

/* Waits for the next byte from the serial line or a keyboard, sleeping until an interrupt. */
static int read_byte(void)
{
	for (;;) {
		cli();
		int c = input_getc();
		if (c >= 0) {
			sti();
			return c;
		}
		sti_hlt();
	}
}

/*
 * Parses a hexadecimal address, with or without 0x, into *out. Returns 0,
 * or -1 with a message naming what is wrong.
 */
static int parse_address(const char *cmd, const char *s, uint64_t *out)
{
	const char *p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	uint64_t v = 0;
	int digits = 0;
	for (; *p; p++, digits++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
			: *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
		if (d < 0) {
			kprintf("%s: '%s' is not a hexadecimal address ('%c' is not a hex digit); "
				"example: %s 0xffffffff80000000\n", cmd, s, *p, cmd);
			return -1;
		}
		if (digits == 16) {
			kprintf("%s: '%s' has more than 16 hex digits: addresses are 64 bits\n", cmd, s);
			return -1;
		}
		v = v << 4 | (uint64_t)d;
	}
	if (digits == 0) {
		kprintf("%s: '%s' has no digits; example: %s 0xffffffff80000000\n", cmd, s, cmd);
		return -1;
	}
	*out = v;
	return 0;
}

static void cmd_help(int argc, char **argv)
{
	(void)argc, (void)argv;
	kprintf("commands:\n");
	for (const struct command *c = commands; c->name; c++) {
		char usage[40];
		ksnprintf(usage, sizeof usage, "%s %s", c->name, c->args);
		kprintf("  %-22s %s\n", usage, c->help);
	}
	kprintf("keys: Left/Right, Home/End (Ctrl-A/E), Backspace, Delete, Ctrl-W word,\n"
		"  Ctrl-K to end, Ctrl-U line, Ctrl-C drop line, Up/Down history\n");
}

static void cmd_version(int argc, char **argv)
{
	(void)argc, (void)argv;
	kprintf("morestack %s (x86-64 UEFI), built %s %s with gcc %s\n", VERSION, __DATE__, __TIME__,
		__VERSION__);
	kprintf("firmware: %s, revision %#x; UEFI memory attributes table: %s\n",
		boot_info.firmware_vendor, boot_info.firmware_revision,
		boot_info.mat_phys ? "yes" : "no");
	kprintf("TSC: %lu.%02lu GHz; ACPI RSDP at %#lx; ExitBootServices took %u tries\n",
		boot_info.tsc_hz / 1000000000, boot_info.tsc_hz / 10000000 % 100, boot_info.acpi_rsdp,
		boot_info.exit_boot_tries);
	if (boot_info.fb_base)
		kprintf("framebuffer: %ux%u, %u pixels per line, at phys %#lx\n", boot_info.fb_width,
			boot_info.fb_height, boot_info.fb_pixels_per_line, boot_info.fb_base);
	else
		kprintf("framebuffer: none\n");
}

static void cmd_mem(int argc, char **argv)
{
	bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	if (argc > 2 || (argc == 2 && !verbose)) {
		kprintf("mem: usage: mem [-v]\n");
		return;
	}
	memmap_print(verbose);
}

static void cmd_pt(int argc, char **argv)
{
	uint64_t va;
	if (argc != 2) {
		kprintf("pt: usage: pt ADDR (a hexadecimal virtual address)\n");
		return;
	}
	if (parse_address("pt", argv[1], &va) != 0)
		return;
	if (!va_is_canonical(va)) {
		kprintf("pt: %#lx is not canonical: bits 63..47 must all equal bit 47, so no page "
			"table can map it (valid: below 0x0000800000000000 or from "
			"0xffff800000000000)\n", va);
		return;
	}
	vm_show_walk(va);
}

static void cmd_wx(int argc, char **argv)
{
	(void)argc, (void)argv;
	uint64_t n = vm_audit_wx(true);
	kprintf(n ? "wx: FAIL, W^X is broken\n" : "wx: ok, no page is both writable and executable\n");
}

/* `reboot [METHOD]`, `poweroff [METHOD]`: every method in order, or one
 * (for testing, and for firmware whose ResetSystem misbehaves). */
static void power_command(const char *name, bool reboot, int argc, char **argv)
{
	if (argc > 2) {
		kprintf("%s: usage: %s [%s]\n", name, name, power_methods(reboot));
		return;
	}
	const char *method = argc == 2 ? argv[1] : NULL;
	int r = reboot ? machine_reboot(method) : machine_poweroff(method);
	if (r < 0)
		kprintf("%s: no method '%s'; usage: %s [%s]\n", name, method, name,
			power_methods(reboot));
	else if (r > 0)
		kprintf("%s: %s did not work; the machine is still up\n", name, method);
}

static void cmd_reboot(int argc, char **argv)
{
	power_command("reboot", true, argc, argv);
}

static void cmd_poweroff(int argc, char **argv)
{
	power_command("poweroff", false, argc, argv);
}

/* Deliberate faults, to see the fault reports (and test them). */
static const char rodata_word[8] = "rodata";
static uint64_t data_word = 0xc3; /* "ret", in a no-execute page */

static volatile uint64_t overflow_limit = ~0UL; /* never reached: the stack runs out first */

__attribute__((noinline)) static uint64_t overflow_stack(uint64_t depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	if (depth == overflow_limit)
		return 0;
	return overflow_stack(depth + 1) + pad[0];
}

/*
 * A frame larger than the whole stack slot. Without -fstack-clash-protection
 * its first store would land far below the guard, maybe in other memory;
 * with it, the prologue touches every page on the way down and faults on
 * the first guard page.
 */
__attribute__((noinline)) static uint64_t big_frame(void)
{
	volatile char big[3 << 19]; /* 1.5 MiB */
	big[0] = 1;
	return big[0];
}

static void cmd_crash(int argc, char **argv)
{
	const char *k = argc == 2 ? argv[1] : "";
	volatile uint64_t zero = 0;
	if (strcmp(k, "null") == 0)
		kprintf("%lu\n", *(volatile uint64_t *)zero);
	else if (strcmp(k, "rodata") == 0)
		*(volatile char *)rodata_word = 'x';
	else if (strcmp(k, "nx") == 0)
		((void (*)(void))&data_word)();
	else if (strcmp(k, "ud") == 0)
		__asm__ volatile("ud2");
	else if (strcmp(k, "div0") == 0) {
		uint64_t hi = 0, lo = 1, d = zero; /* in asm: gcc would fold 1/x into a compare */
		__asm__ volatile("divq %2" : "+a"(lo), "+d"(hi) : "r"(d));
		kprintf("%lu\n", lo);
	}
	else if (strcmp(k, "gp") == 0)
		kprintf("%lu\n", *(volatile uint64_t *)0x8000000000000000ULL);
	else if (strcmp(k, "overflow") == 0)
		kprintf("%lu\n", overflow_stack(0));
	else if (strcmp(k, "bigframe") == 0)
		kprintf("%lu\n", big_frame());
	else if (strcmp(k, "bp") == 0)
		__asm__ volatile("int3");
	else {
		kprintf("crash: usage: crash null|rodata|nx|ud|div0|gp|overflow|bigframe|bp\n"
			"  each one faults in the kernel on purpose and stops the machine\n");
		return;
	}
	kprintf("crash: %s did not fault\n", k);
}

static const struct command commands[] = {
	{ "help", "", "this list", cmd_help },
	{ "mem", "[-v]", "memory map summary, free pages (-v: every range)", cmd_mem },
	{ "pt", "ADDR", "walk the page tables for a virtual address", cmd_pt },
	{ "wx", "", "audit live page tables: no page writable and executable", cmd_wx },
	{ "version", "", "build, firmware and machine facts", cmd_version },
	{ "sysinfo", "", "CPU, memory, firmware, ACPI, PCI, screen, keyboards", cmd_sysinfo },
	{ "usb", "[-v|-x]", "USB controllers, ports, devices, the keyboard's reports", cmd_usb },
	{ "crash", "KIND", "fault on purpose (null, rodata, nx, ud, div0, gp,\n"
					"                         overflow, bigframe, bp)", cmd_crash },
	{ "grow", "DEPTH [B]", "a task recurses DEPTH frames (B bytes more each)", cmd_grow },
	{ "spawn", "DEPTH", "like grow, but the task parks at the bottom", cmd_spawn },
	{ "resume", "ID", "let a parked task unwind and finish", cmd_resume },
	{ "tasks", "", "list tasks: state, stack size and moves", cmd_tasks },
	{ "stack", "ID", "a task's stack: range, size, frames", cmd_stack },
	{ "trace", "[on|off]", "log every stack move as it happens", cmd_trace },
	{ "stacklimit", "[BYTES]", "show or set the stack limit (Go's: 1 GB)", cmd_stacklimit },
	{ "stackreuse", "[on|off]", "reuse freed stacks (off: stale pointers fault)", cmd_stackreuse },
	{ "stale", "", "a pointer to a local, kept in a global, goes stale", cmd_stale },
	{ "taskfault", "KIND", "a task faults (null, div0, ud, gp); only it dies", cmd_taskfault },
	{ "hang", "KIND [N]", "tasks that never end (spin, deep, print, yield): Ctrl-C", cmd_hang },
	{ "churn", "N [SEED]", "N tasks grow and shrink to random depths", cmd_churn },
	{ "fuzz", "N [SEED]", "N seeds of the fuzzer's task workload, checked", cmd_fuzz },
	{ "stress", "[on [HZ]|off]", "a timer moves task stacks at random instructions", cmd_stress },
	{ "falsepos", "[N]", "does ordinary data look like a stack address?", cmd_falsepos },
	{ "closures", "N", "N counter closures through trampolines; W^X audit", cmd_closures },
	{ "defer", "", "Go's defer programs (incr, incrn, ...) beside Go's", cmd_defer },
	{ "panic", "", "panic/recover: 100 frames, nil dereference, a chain", cmd_panic },
	{ "callret", "[push|ab|results]", "demo: call and ret, one instruction at a time", cmd_callret },
	{ "layout", "", "demo: arguments laid out like struct fields", cmd_layout },
	{ "conventions", "", "demo: C's calling convention and Go's; va_list", cmd_conventions },
	{ "swap", "", "demo: parameters are copies; pointers survive moves", cmd_swap },
	{ "incr", "", "demo: return sets the result, then defers run", cmd_incr },
	{ "frames", "", "demo: Go's sum(a, b) frame, offsets from SP", cmd_frames },
	{ "escape", "", "demo: heap values, pointers passed down, stale globals", cmd_escape },
	{ "closure", "", "demo: the counter generator; a closure's record", cmd_closure },
	{ "hotsplit", "", "demo: segmented stacks vs contiguous at a boundary", cmd_hotsplit },
	{ "stackpool", "", "demo: the stack cache per size class, Go's stackpool", cmd_stackpool },
	{ "heapstack", "", "demo: heap against stack, six differences measured", cmd_heapstack },
	{ "demo", "all", "every demo in order, for a lecture", cmd_demo },
	{ "step", "[on|off]", "demos pause at each picture until a key", cmd_step },
	{ "color", "[on|off]", "ANSI colour in the demos' drawings", cmd_color },
	{ "bench", "", "the runtime's figures on this machine (BENCH lines)", cmd_bench },
	{ "reboot", "[METHOD]", "restart: efi, acpi, cf9, kbd, triple in turn, or one",
	  cmd_reboot },
	{ "poweroff", "[METHOD]", "switch off: efi, then acpi (S5), or the one named", cmd_poweroff },
	{ NULL, NULL, NULL, NULL },
};

/* Splits line in place into at most MAX_ARGS words; returns how many, or -1 if too many. */
static int split(char *line, char **argv)
{
	int argc = 0;
	for (char *p = line; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == MAX_ARGS)
			return -1;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return argc;
}

static void run_line(char *line)
{
	char *argv[MAX_ARGS];
	int argc = split(line, argv);
	if (argc == 0)
		return;
	if (argc < 0) {
		kprintf("error: more than %d words on the line\n", MAX_ARGS);
		return;
	}
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(argv[0], c->name) == 0) {
			stop_arm(); /* Ctrl-C now stops this command (kernel/stop.c) */
			c->run(argc, argv);
			if (stop_disarm())
				kprintf("^C %s: interrupted\n", argv[0]);
			return;
		}
	kprintf("%s: unknown command; type 'help' for the list\n", argv[0]);
}

_Noreturn void shell_run(void)
{
	static struct lineedit le;
	char line[LINE_MAX];
	le_init(&le, echo_to_console, NULL);
	uint64_t us = tsc_to_us(rdtsc() - boot_info.tsc_at_efi_main);
	kprintf("boot: %lu.%03lu ms from efi_main to this prompt (TSC %lu MHz)\n", us / 1000,
		us % 1000, boot_info.tsc_hz / 1000000);
	kprintf("Type 'help' for commands.\n");
	kprintf(PROMPT);
	for (;;) {
		enum le_event ev = le_feed(&le, read_byte());
		if (ev == LE_NONE)
			continue;
		if (ev == LE_LINE) {
			memcpy(line, le_line(&le), LINE_MAX);
			run_line(line);
		} else if (ev == LE_TOO_LONG) {
			kprintf("error: line too long (%lu characters, the limit is %d); nothing was run\n",
				le_overflow_length(&le), LINE_MAX - 1);
		}
		kprintf(PROMPT);
	}
}
