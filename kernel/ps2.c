/*
 * ps2.c: a PS/2 keyboard on the i8042 controller, feeding the same line
 * editor as the serial line (input.c): each key becomes the bytes a
 * terminal would send for it (ASCII, control codes, ESC [ sequences for
 * the arrows, Home, End and Delete).
 *
 * The controller (OSDev wiki "8042 PS/2 Controller"; IBM PS/2 technical
 * reference) is set up completely, and every wait has a time limit:
 *   1. probe: a status register that reads 0xff means nothing is there
 *      (the FADT's 8042 flag is not trusted: firmware gets it wrong);
 *   2. both ports off, the output buffer drained;
 *   3. configuration byte: interrupts off, translation to scan code set 1 on;
 *   4. controller self-test (0xaa -> 0x55), configuration written again
 *      (some controllers reset it), first-port interface test (0xab -> 0);
 *   5. first port on, keyboard reset (0xff -> 0xfa, then 0xaa);
 *   6. IRQ 1 on: the handler drains the controller into input.c's queue.
 * A step that fails is reported and the kernel goes on without PS/2.
 *
 * Scan codes arrive translated to set 1: a make code below 0x80, its break
 * code with bit 7 set, 0xe0 before the extended keys. Each becomes its USB
 * HID usage, whose bytes keymap.c gives (the USB keyboard's table too, so
 * both keyboards type the same). Shift, Ctrl and Caps Lock are tracked
 * here; key repeat is the keyboard's own: it sends the make code again
 * while a key is held, at the typematic rate set here, and each make code
 * is a key press.
 */
#include "input.h"
#include "kernel.h"
#include "keymap.h"
#include "trap.h"
#include "x86.h"

#define PS2_DATA 0x60
#define PS2_STATUS 0x64 /* read */
#define PS2_CMD 0x64    /* write */
#define ST_OUT_FULL 0x01
#define ST_IN_FULL 0x02

/* 500 ms before a held key repeats (01 in bits 5-6), then 20 a second
 * (rate code 0x04: 1 / ((8 + 4) * 2^0 * 0.00417 s), IBM's formula). */
#define TYPEMATIC 0x24

static struct {
	bool ready, typematic;
	bool shift_l, shift_r, ctrl, caps, e0;
} kb;

/* Waits until cond(status) holds, at most ms milliseconds; false on timeout. */
static bool wait_status(uint8_t mask, bool set, unsigned ms)
{
	uint64_t hz = boot_info.tsc_hz ? boot_info.tsc_hz : 1000000000UL;
	uint64_t end = rdtsc() + hz / 1000 * ms;
	while (rdtsc() < end) {
		uint8_t st = inb(PS2_STATUS);
		if (!!(st & mask) == set)
			return true;
		pause();
	}
	return false;
}

static bool send_cmd(uint8_t cmd)
{
	if (!wait_status(ST_IN_FULL, false, 50))
		return false;
	outb(PS2_CMD, cmd);
	return true;
}

static bool send_data(uint8_t v)
{
	if (!wait_status(ST_IN_FULL, false, 50))
		return false;
	outb(PS2_DATA, v);
	return true;
}

static int read_data(unsigned ms)
{
	if (!wait_status(ST_OUT_FULL, true, ms))
		return -1;
	return inb(PS2_DATA);
}

/* Scan code set 1 to USB HID usages (keymap.h): the make codes below 0x3a,
 * and the extended keys (after 0xe0) that send something. keymap.c then
 * gives their bytes, the same as for a USB keyboard. */
static const uint8_t usage_of[0x3a] = {
	0, 0x29, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2d, 0x2e, 0x2a, 0x2b,
	0x14, 0x1a, 0x08, 0x15, 0x17, 0x1c, 0x18, 0x0c, 0x12, 0x13, 0x2f, 0x30, 0x28, 0, 0x04, 0x16,
	0x07, 0x09, 0x0a, 0x0b, 0x0d, 0x0e, 0x0f, 0x33, 0x34, 0x35, 0, 0x31, 0x1d, 0x1b, 0x06, 0x19,
	0x05, 0x11, 0x10, 0x36, 0x37, 0x38, 0, 0x55, 0, 0x2c,
};
static const struct { uint8_t code, usage; } extended[] = {
	{ 0x48, 0x52 }, { 0x50, 0x51 }, { 0x4d, 0x4f }, { 0x4b, 0x50 }, /* arrows */
	{ 0x47, 0x4a }, { 0x4f, 0x4d }, { 0x53, 0x4c }, { 0x1c, 0x58 }, /* Home End Delete, keypad Enter */
};

/* One scan code byte: updates the modifiers or queues the key's bytes. */
static void scancode(uint8_t sc)
{
	if (sc == 0xe0) {
		kb.e0 = true;
		return;
	}
	bool up = sc & 0x80, e0 = kb.e0;
	uint8_t code = sc & 0x7f;
	kb.e0 = false;
	if (code == 0x2a && !e0) { kb.shift_l = !up; return; }
	if (code == 0x36 && !e0) { kb.shift_r = !up; return; }
	if (code == 0x1d) { kb.ctrl = !up; return; }
	if (up)
		return;
	if (code == 0x3a && !e0) {
		kb.caps = !kb.caps;
		return;
	}
	uint8_t usage = 0;
	if (e0) {
		for (unsigned i = 0; i < sizeof extended / sizeof extended[0]; i++)
			if (extended[i].code == code)
				usage = extended[i].usage;
	} else if (code < sizeof usage_of) {
		usage = usage_of[code];
	}
	char bytes[KEYMAP_MAX];
	if (usage && keymap_bytes(usage, kb.shift_l || kb.shift_r, kb.ctrl, kb.caps, bytes))
		input_push_string(bytes);
}

/* IRQ 1: everything the controller holds from the keyboard. */
static void ps2_irq(int irq)
{
	(void)irq;
	for (int n = 0; n < 16; n++) {
		uint8_t st = inb(PS2_STATUS);
		if (!(st & ST_OUT_FULL))
			break;
		uint8_t v = inb(PS2_DATA);
		if (!(st & 0x20)) /* not from the second (mouse) port */
			scancode(v);
	}
}

static bool fail(const char *step, int got)
{
	if (got < 0)
		kprintf("keyboard: PS/2 controller: %s: no answer in time; going on without it\n", step);
	else
		kprintf("keyboard: PS/2 controller: %s: got %#x; going on without it\n", step, got);
	return false;
}

static bool setup(void)
{
	if (inb(PS2_STATUS) == 0xff) {
		kprintf("keyboard: no PS/2 controller (its status port reads 0xff): skipped\n");
		return false;
	}
	if (!send_cmd(0xad) || !send_cmd(0xa7))
		return fail("disabling its ports", -1);
	for (int n = 0; n < 64 && (inb(PS2_STATUS) & ST_OUT_FULL); n++)
		inb(PS2_DATA);
	if (!send_cmd(0x20))
		return fail("reading its configuration", -1);
	int config = read_data(50);
	if (config < 0)
		return fail("reading its configuration", -1);
	/* Bits 0-1: no interrupts yet; bit 4: the first port's clock on (0xad
	 * set it, and this byte is written back after 0xae); bit 6: translation
	 * to scan code set 1. The second port stays off (bit 5). */
	config = (config & ~0x13) | 0x40;
	if (!send_cmd(0x60) || !send_data((uint8_t)config))
		return fail("writing its configuration", -1);
	int r = -1;
	if (!send_cmd(0xaa) || (r = read_data(200)) != 0x55)
		return fail("self-test", r);
	if (!send_cmd(0x60) || !send_data((uint8_t)config)) /* the self-test may reset it */
		return fail("writing its configuration again", -1);
	if (!send_cmd(0xab) || (r = read_data(50)) != 0x00)
		return fail("first-port interface test", r);
	if (!send_cmd(0xae))
		return fail("enabling the first port", -1);
	if (!send_data(0xff) || (r = read_data(500)) != 0xfa)
		return fail("keyboard reset (acknowledge)", r);
	if ((r = read_data(1000)) != 0xaa)
		return fail("keyboard reset (self-test passed)", r);
	/* Typematic rate (0xf3): bits 5-6 the delay before a held key
	 * repeats, bits 0-4 the rate. A keyboard that refuses keeps its own
	 * (after reset: 500 ms, 10.9 a second); that is not worth failing for. */
	kb.typematic = send_data(0xf3) && read_data(50) == 0xfa && send_data(TYPEMATIC) &&
		       read_data(50) == 0xfa;
	for (int n = 0; n < 16 && (inb(PS2_STATUS) & ST_OUT_FULL); n++)
		inb(PS2_DATA);
	trap_set_irq_handler(1, ps2_irq);
	if (!send_cmd(0x60) || !send_data((uint8_t)(config | 0x01)))
		return fail("enabling its interrupt", -1);
	pic_unmask(1);
	return true;
}

void ps2_init(void)
{
	kb.ready = setup();
	if (kb.ready)
		kprintf("keyboard: PS/2 (i8042), scan code set 1 (translated), US layout, %s\n",
			kb.typematic ? "keys repeat 20 a second after 500 ms"
				     : "the keyboard's own key repeat (it refused a new rate)");
}

bool ps2_ready(void) { return kb.ready; }

/* Takes what the controller holds without waiting for IRQ 1: for readers
 * that run with interrupts off (the demos' step mode). Interrupts must be
 * off, so that the IRQ handler cannot run at the same time. */
void ps2_poll(void)
{
	if (kb.ready)
		ps2_irq(1);
}
