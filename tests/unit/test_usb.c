/*
 * test_usb.c: the pure parts of the USB keyboard: xHCI rings and their
 * cycle bit, context layout for 32- and 64-byte contexts
 * (kernel/xhci_ring.c), boot keyboard reports and key repeat
 * (kernel/hid.c), the US keymap shared with PS/2 (kernel/keymap.c), and
 * descriptor parsing (kernel/usbdesc.c).
 *
 * The real descriptors are QEMU's, as the kernel received them from its
 * usb-kbd (high speed on qemu-xhci's USB 2 port, and full speed behind a
 * usb-hub), usb-hub and usb-mouse: printed by the shell's `usb -x` and
 * copied here byte for byte. The malformed ones are those bytes with one
 * length changed.
 */
#include "unit.h"

#include "hid.h"
#include "keymap.h"
#include "usbdesc.h"
#include "xhci_ring.h"

/* ---- rings ---- */

#define RING 8
static struct xhci_trb *ring_mem(void)
{
	struct xhci_trb *m = aligned_alloc(64, RING * sizeof *m);
	assert_non_null(m);
	memset(m, 0xa5, RING * sizeof *m); /* init must clear it */
	return m;
}

static void test_ring_init_has_a_link_back_with_toggle_cycle(void **state)
{
	(void)state;
	struct xhci_ring r;
	struct xhci_trb *m = ring_mem();
	xhci_ring_init(&r, m, 0x10000, RING);
	assert_int_equal(1, r.cycle);
	assert_int_equal(0, r.enq);
	for (int i = 0; i < RING - 1; i++)
		assert_int_equal(0, m[i].control); /* cycle 0: not the controller's yet */
	assert_int_equal(0x10000, m[RING - 1].param);
	assert_int_equal(TRB_LINK, TRB_GET_TYPE(m[RING - 1].control));
	assert_true(m[RING - 1].control & TRB_TC);
	assert_false(m[RING - 1].control & TRB_CYCLE);
	free(m);
}

static void test_ring_push_wraps_through_the_link_and_flips_the_cycle(void **state)
{
	(void)state;
	struct xhci_ring r;
	struct xhci_trb *m = ring_mem();
	xhci_ring_init(&r, m, 0x10000, RING);
	/* One lap: RING-1 TRBs, each with cycle 1, at consecutive addresses. */
	for (int i = 0; i < RING - 1; i++) {
		uint64_t at = xhci_ring_push(&r, 0x1000 + i, 8, TRB_TYPE(TRB_NORMAL) | TRB_CYCLE | TRB_IOC);
		assert_int_equal(0x10000 + 16 * i, at);
		assert_int_equal(1, m[i].control & TRB_CYCLE);
		assert_int_equal(TRB_NORMAL, TRB_GET_TYPE(m[i].control));
		assert_true(m[i].control & TRB_IOC);
		assert_int_equal(0x1000 + i, m[i].param);
	}
	/* The link was handed over with cycle 1; the producer now writes 0. */
	assert_int_equal(1, m[RING - 1].control & TRB_CYCLE);
	assert_true(m[RING - 1].control & TRB_TC);
	assert_int_equal(0, r.enq);
	assert_int_equal(0, r.cycle);
	uint64_t at = xhci_ring_push(&r, 0x2000, 0, TRB_TYPE(TRB_NORMAL));
	assert_int_equal(0x10000, at);
	assert_int_equal(0, m[0].control & TRB_CYCLE); /* second lap: cycle 0 */
	assert_int_equal(1, m[1].control & TRB_CYCLE); /* the rest still the old lap's */
	/* Second lap done: the link goes over with cycle 0, the state back to 1. */
	for (int i = 1; i < RING - 1; i++)
		xhci_ring_push(&r, 0, 0, TRB_TYPE(TRB_NORMAL));
	assert_int_equal(0, m[RING - 1].control & TRB_CYCLE);
	assert_int_equal(1, r.cycle);
	free(m);
}

static void test_ring_at_finds_only_trbs_of_the_ring(void **state)
{
	(void)state;
	struct xhci_ring r;
	struct xhci_trb *m = ring_mem();
	xhci_ring_init(&r, m, 0x10000, RING);
	assert_ptr_equal(&m[3], xhci_ring_at(&r, 0x10030));
	assert_null(xhci_ring_at(&r, 0x10038));           /* not on a TRB */
	assert_null(xhci_ring_at(&r, 0x10000 + 16 * RING)); /* past the end */
	assert_null(xhci_ring_at(&r, 0xfff0));
	free(m);
}

static void controller_writes(struct xhci_trb *m, int i, uint32_t cycle, uint32_t type)
{
	m[i].param = 0x100 + i;
	m[i].status = (uint32_t)CC_SUCCESS << 24;
	m[i].control = TRB_TYPE(type) | cycle;
}

static void test_event_ring_takes_events_by_cycle_and_wraps(void **state)
{
	(void)state;
	struct xhci_event_ring e;
	struct xhci_trb *m = ring_mem();
	xhci_event_ring_init(&e, m, 0x20000, RING);
	assert_null(xhci_event_peek(&e)); /* zeroed: cycle 0 is not new */
	for (int i = 0; i < RING; i++)
		controller_writes(m, i, 1, TRB_TRANSFER_EVENT);
	for (int i = 0; i < RING; i++) {
		const struct xhci_trb *t = xhci_event_peek(&e);
		assert_non_null(t);
		assert_int_equal(0x100 + i, t->param);
		xhci_event_pop(&e);
	}
	/* Wrapped: the old lap's events (cycle 1) are no longer new. */
	assert_int_equal(0x20000, xhci_event_deq_phys(&e));
	assert_int_equal(0, e.cycle);
	assert_null(xhci_event_peek(&e));
	controller_writes(m, 0, 0, TRB_COMMAND_COMPLETION);
	const struct xhci_trb *t = xhci_event_peek(&e);
	assert_non_null(t);
	assert_int_equal(TRB_COMMAND_COMPLETION, TRB_GET_TYPE(t->control));
	xhci_event_pop(&e);
	assert_int_equal(0x20010, xhci_event_deq_phys(&e));
	assert_null(xhci_event_peek(&e));
	free(m);
}

/* ---- contexts ---- */

static void test_context_offsets_for_both_sizes(void **state)
{
	(void)state;
	static uint8_t buf[33 * 64];
	for (unsigned cs = 32; cs <= 64; cs += 32) {
		assert_ptr_equal(buf, xhci_input_control(buf, cs));
		assert_ptr_equal(buf + cs, xhci_input_slot(buf, cs));
		assert_ptr_equal(buf + 2 * cs, xhci_input_ep(buf, cs, 1));   /* EP0 */
		assert_ptr_equal(buf + 4 * cs, xhci_input_ep(buf, cs, 3));   /* EP1 IN */
		assert_ptr_equal(buf + 32 * cs, xhci_input_ep(buf, cs, 31));
		assert_ptr_equal(buf, xhci_device_slot(buf, cs));
		assert_ptr_equal(buf + cs, xhci_device_ep(buf, cs, 1));
		assert_ptr_equal(buf + 3 * cs, xhci_device_ep(buf, cs, 3));
		assert_int_equal(33 * cs, xhci_context_bytes(cs, true));
		assert_int_equal(32 * cs, xhci_context_bytes(cs, false));
	}
	assert_int_equal(1, XHCI_DCI(0x00));
	assert_int_equal(3, XHCI_DCI(0x81));
	assert_int_equal(4, XHCI_DCI(0x02));
	assert_int_equal(31, XHCI_DCI(0x8f));
}

static void test_slot_and_endpoint_context_fields(void **state)
{
	(void)state;
	uint32_t s[8] = { 0 }, ep[8] = { 0 };
	struct xhci_slot_fields f = { .route = 0x3, .speed = 1, .entries = 3, .root_port = 6,
				      .hub = true, .ports = 8, .tt_slot = 2, .tt_port = 3 };
	xhci_slot_fill(s, &f);
	assert_int_equal(0x3 | 1u << 20 | 1u << 26 | 3u << 27, s[0]);
	assert_int_equal(6u << 16 | 8u << 24, s[1]);
	assert_int_equal(2 | 3u << 8, s[2]);
	s[3] = 2u << 27 | 5; /* as the controller writes it after Address Device */
	assert_int_equal(2, xhci_slot_state(s));
	assert_int_equal(5, xhci_slot_address(s));

	xhci_ep_fill(ep, EP_INTERRUPT_IN, 8, 6, 0x123456780ULL, 1, 8);
	assert_int_equal(6u << 16, ep[0]);
	assert_int_equal(3u << 1 | 7u << 3 | 8u << 16, ep[1]);
	assert_int_equal(0x23456781u, ep[2]);
	assert_int_equal(0x1, ep[3]);
	assert_int_equal(8 | 8u << 16, ep[4]); /* average TRB length, max ESIT payload */
	xhci_ep_fill(ep, EP_CONTROL, 64, 0, 0x1000, 1, 8);
	assert_int_equal(3u << 1 | 4u << 3 | 64u << 16, ep[1]);
	assert_int_equal(8, ep[4]);
	assert_int_equal(0, xhci_ep_state(ep));
}

static void test_interval_by_speed(void **state)
{
	(void)state;
	/* Full speed: bInterval in 1 ms frames, to 2^n x 125 us, rounded down. */
	assert_int_equal(6, xhci_interval(1, 10)); /* QEMU's keyboard behind a hub: 8 ms */
	assert_int_equal(3, xhci_interval(1, 1));
	assert_int_equal(3, xhci_interval(2, 0));
	assert_int_equal(10, xhci_interval(1, 255));
	/* High speed: 2^(bInterval-1) microframes. */
	assert_int_equal(6, xhci_interval(3, 7)); /* QEMU's keyboard on a root port: 8 ms */
	assert_int_equal(0, xhci_interval(3, 1));
	assert_int_equal(15, xhci_interval(4, 16));
	assert_int_equal(15, xhci_interval(4, 200));
}

/* ---- keymap: what PS/2 (ps2.c) and USB share ---- */

static const char *key(uint8_t usage, bool shift, bool ctrl, bool caps)
{
	static char out[KEYMAP_MAX];
	keymap_bytes(usage, shift, ctrl, caps, out);
	return out;
}

static void test_keymap(void **state)
{
	(void)state;
	assert_string_equal("a", key(0x04, false, false, false));
	assert_string_equal("A", key(0x04, true, false, false));
	assert_string_equal("A", key(0x04, false, false, true));
	assert_string_equal("a", key(0x04, true, false, true)); /* Caps Lock inverts Shift */
	assert_string_equal("\x03", key(0x06, false, true, false)); /* Ctrl-C */
	assert_string_equal("!", key(0x1e, true, false, true)); /* Caps Lock: letters only */
	assert_string_equal("1", key(0x1e, false, true, false)); /* Ctrl: letters only */
	assert_string_equal("\r", key(0x28, false, false, false));
	assert_string_equal("\x7f", key(0x2a, false, false, false));
	assert_string_equal("~", key(0x35, true, false, false));
	assert_string_equal("?", key(0x38, true, false, false));
	assert_string_equal("\x1b[A", key(0x52, true, true, true));
	assert_string_equal("\x1b[3~", key(0x4c, false, false, false));
	assert_string_equal("\x1b[H", key(0x4a, false, false, false));
	char out[KEYMAP_MAX];
	assert_int_equal(0, keymap_bytes(KEY_LEFT_SHIFT, false, false, false, out));
	assert_int_equal(0, keymap_bytes(KEY_CAPS_LOCK, false, false, false, out));
	assert_int_equal(0, keymap_bytes(0x32, false, false, false, out)); /* non-US # */
	assert_int_equal(0, keymap_bytes(0x00, false, false, false, out));
	assert_int_equal(4, keymap_bytes(0x4c, false, false, false, out));
	/* Every printable ASCII character has a key, with or without Shift. */
	for (int c = 0x20; c < 0x7f; c++) {
		bool found = false;
		for (int u = 0; u < 0x100 && !found; u++)
			for (int sh = 0; sh < 2 && !found; sh++)
				if (keymap_bytes((uint8_t)u, sh, false, false, out) == 1 && out[0] == c)
					found = true;
		assert_true(found);
	}
}

/* ---- HID boot reports ---- */

static char typed[256];
static void collect(void *ctx, const char *bytes)
{
	(void)ctx;
	strncat(typed, bytes, sizeof typed - strlen(typed) - 1);
}

static int report(struct hid_kbd *k, uint64_t ms, uint8_t mods, uint8_t k1, uint8_t k2, uint8_t k3)
{
	uint8_t r[8] = { mods, 0, k1, k2, k3, 0, 0, 0 };
	return hid_kbd_report(k, r, 8, ms, collect, NULL);
}

static void test_reports_press_keys_once_while_held(void **state)
{
	(void)state;
	struct hid_kbd k = { 0 };
	typed[0] = 0;
	assert_int_equal(1, report(&k, 0, 0, 0x0b, 0, 0));    /* h */
	assert_int_equal(0, report(&k, 10, 0, 0x0b, 0, 0));   /* still held: nothing */
	assert_int_equal(1, report(&k, 20, 0, 0x0b, 0x08, 0)); /* e joins h */
	assert_int_equal(0, report(&k, 30, 0, 0x08, 0, 0));   /* h up, e still down */
	assert_int_equal(1, report(&k, 40, 0, 0x0f, 0x08, 0)); /* l in another slot */
	assert_int_equal(0, report(&k, 50, 0, 0, 0, 0));
	assert_int_equal(1, report(&k, 60, 0, 0x0f, 0, 0));
	assert_int_equal(0, report(&k, 70, 0, 0, 0, 0));
	assert_string_equal("hell", typed);
	assert_int_equal(8, k.reports);
	assert_int_equal(4, k.presses);
}

static void test_modifiers_both_sides_and_caps_lock(void **state)
{
	(void)state;
	struct hid_kbd k = { 0 };
	typed[0] = 0;
	report(&k, 0, 0x02, 0x04, 0, 0);  /* left Shift + a */
	report(&k, 10, 0x20, 0x05, 0, 0); /* right Shift + b (a released) */
	report(&k, 20, 0x01, 0x06, 0, 0); /* left Ctrl + c */
	report(&k, 30, 0x10, 0x07, 0, 0); /* right Ctrl + d */
	report(&k, 40, 0x04, 0x1e, 0, 0); /* Alt + 1: Alt is ignored */
	report(&k, 50, 0, KEY_CAPS_LOCK, 0, 0);
	report(&k, 60, 0, 0x08, 0, 0);    /* Caps Lock: E */
	report(&k, 70, 0x02, 0x09, 0, 0); /* Caps Lock and Shift: f */
	report(&k, 80, 0, KEY_CAPS_LOCK, 0, 0);
	report(&k, 90, 0, 0x0a, 0, 0);    /* Caps Lock off again: g */
	assert_string_equal("AB\x03\x04" "1Efg", typed);
	assert_false(k.caps);
}

static void test_rollover_error_reports_change_nothing(void **state)
{
	(void)state;
	struct hid_kbd k = { 0 };
	typed[0] = 0;
	report(&k, 0, 0, 0x04, 0x05, 0);
	uint8_t phantom[8] = { 0, 0, 1, 1, 1, 1, 1, 1 }; /* ErrorRollOver */
	assert_int_equal(-1, hid_kbd_report(&k, phantom, 8, 10, collect, NULL));
	/* a and b were down before and are still: not pressed again. */
	assert_int_equal(1, report(&k, 20, 0, 0x04, 0x05, 0x06));
	uint8_t postfail[8] = { 0, 0, 2, 0, 0, 0, 0, 0 };
	assert_int_equal(-1, hid_kbd_report(&k, postfail, 8, 30, collect, NULL));
	uint8_t short_one[2] = { 0, 0 };
	assert_int_equal(-1, hid_kbd_report(&k, short_one, 2, 40, collect, NULL));
	assert_string_equal("abc", typed);
	assert_int_equal(3, k.errors);
	/* A short report of 3 bytes is one key: c stays, a and b are released. */
	uint8_t three[3] = { 0, 0, 0x06 };
	assert_int_equal(0, hid_kbd_report(&k, three, 3, 50, collect, NULL));
	assert_int_equal(1, report(&k, 60, 0, 0x04, 0x06, 0));
	assert_string_equal("abca", typed);
}

static void test_key_repeat_after_500_ms_then_20_a_second(void **state)
{
	(void)state;
	struct hid_kbd k = { 0 };
	typed[0] = 0;
	report(&k, 1000, 0, 0x1b, 0, 0); /* x down at 1000 ms */
	assert_int_equal(0, hid_kbd_tick(&k, 1499, collect, NULL));
	assert_int_equal(1, hid_kbd_tick(&k, 1500, collect, NULL));
	assert_int_equal(0, hid_kbd_tick(&k, 1549, collect, NULL));
	for (uint64_t t = 1550; t <= 2000; t += 10)
		hid_kbd_tick(&k, t, collect, NULL);
	assert_int_equal(1 + 1 + 10, (int)strlen(typed)); /* press, 500 ms, then 1550..2000 */
	/* Shift pressed while x is held: the repeats are X (held modifiers). */
	report(&k, 2010, 0x02, 0x1b, 0, 0);
	hid_kbd_tick(&k, 2050, collect, NULL);
	assert_int_equal('X', typed[strlen(typed) - 1]);
	/* Released: no more. */
	report(&k, 2060, 0, 0, 0, 0);
	size_t n = strlen(typed);
	assert_int_equal(0, hid_kbd_tick(&k, 5000, collect, NULL));
	assert_int_equal(n, strlen(typed));
	/* A second key pressed takes over the repeat; the first does not resume. */
	typed[0] = 0;
	report(&k, 6000, 0, 0x04, 0, 0);
	report(&k, 6100, 0, 0x04, 0x05, 0);
	hid_kbd_tick(&k, 6599, collect, NULL);
	assert_string_equal("ab", typed);
	hid_kbd_tick(&k, 6600, collect, NULL);
	assert_string_equal("abb", typed);
	report(&k, 6610, 0, 0x04, 0, 0); /* b up, a still down: nothing repeats */
	hid_kbd_tick(&k, 8000, collect, NULL);
	assert_string_equal("abb", typed);
	/* A poll that comes very late emits at most 4 and does not catch up. */
	typed[0] = 0;
	report(&k, 9000, 0, 0x06, 0, 0);
	assert_int_equal(4, hid_kbd_tick(&k, 19000, collect, NULL));
	assert_int_equal(0, hid_kbd_tick(&k, 19049, collect, NULL));
	assert_int_equal(1, hid_kbd_tick(&k, 19050, collect, NULL));
	/* Caps Lock and modifiers never repeat. */
	struct hid_kbd k2 = { 0 };
	report(&k2, 0, 0x02, KEY_CAPS_LOCK, 0, 0);
	assert_int_equal(0, hid_kbd_tick(&k2, 5000, collect, NULL));
}

/* ---- descriptors: QEMU's, from `usb -x` ---- */

static const uint8_t kbd_device[18] = {
	0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x27, 0x06, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x04, 0x0b, 0x01,
};
static const uint8_t kbd_config_hs[34] = { /* usb-kbd at high speed: bInterval 7 */
	0x09, 0x02, 0x22, 0x00, 0x01, 0x01, 0x08, 0xa0, 0x32, 0x09, 0x04, 0x00, 0x00, 0x01, 0x03,
	0x01, 0x01, 0x00, 0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0x3f, 0x00, 0x07, 0x05, 0x81,
	0x03, 0x08, 0x00, 0x07,
};
static const uint8_t kbd_config_fs[34] = { /* usb-kbd at full speed behind usb-hub: bInterval 10 */
	0x09, 0x02, 0x22, 0x00, 0x01, 0x01, 0x08, 0xa0, 0x32, 0x09, 0x04, 0x00, 0x00, 0x01, 0x03,
	0x01, 0x01, 0x00, 0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0x3f, 0x00, 0x07, 0x05, 0x81,
	0x03, 0x08, 0x00, 0x0a,
};
static const uint8_t mouse_config[34] = {
	0x09, 0x02, 0x22, 0x00, 0x01, 0x01, 0x06, 0xa0, 0x32, 0x09, 0x04, 0x00, 0x00, 0x01, 0x03,
	0x01, 0x02, 0x00, 0x09, 0x21, 0x01, 0x00, 0x00, 0x01, 0x22, 0x34, 0x00, 0x07, 0x05, 0x81,
	0x03, 0x04, 0x00, 0x0a,
};
static const uint8_t hub_device[18] = {
	0x12, 0x01, 0x10, 0x01, 0x09, 0x00, 0x00, 0x08, 0x09, 0x04, 0xaa, 0x55, 0x01, 0x01, 0x01,
	0x02, 0x03, 0x01,
};
static const uint8_t hub_config[25] = {
	0x09, 0x02, 0x19, 0x00, 0x01, 0x01, 0x00, 0xe0, 0x00, 0x09, 0x04, 0x00, 0x00, 0x01, 0x09,
	0x00, 0x00, 0x00, 0x07, 0x05, 0x81, 0x03, 0x02, 0x00, 0xff,
};
static const uint8_t hub_desc[10] = { 0x0a, 0x29, 0x08, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff };

static void test_real_device_descriptors(void **state)
{
	(void)state;
	struct usb_device_desc d;
	const char *why = NULL;
	assert_int_equal(0, usb_parse_device(kbd_device, sizeof kbd_device, &d, &why));
	assert_int_equal(0x0200, d.bcd_usb);
	assert_int_equal(0x0627, d.vendor);
	assert_int_equal(0x0001, d.product);
	assert_int_equal(64, d.max_packet0);
	assert_int_equal(1, d.configs);
	assert_int_equal(0, d.class);
	assert_int_equal(0, usb_parse_device(hub_device, sizeof hub_device, &d, &why));
	assert_int_equal(USB_CLASS_HUB, d.class);
	assert_int_equal(8, d.max_packet0);
	assert_int_equal(0x0110, d.bcd_usb);
	unsigned ports = 0;
	assert_int_equal(0, usb_parse_hub(hub_desc, sizeof hub_desc, &ports, &why));
	assert_int_equal(8, ports);
}

static void test_real_configurations(void **state)
{
	(void)state;
	struct usb_config_desc c;
	const char *why = NULL;
	assert_int_equal(0, usb_parse_config(kbd_config_hs, sizeof kbd_config_hs, &c, &why));
	assert_int_equal(34, c.total);
	assert_int_equal(1, c.value);
	assert_int_equal(1, c.nifaces);
	assert_int_equal(50, c.max_power);
	const struct usb_iface_desc *k = usb_find_boot_keyboard(&c);
	assert_non_null(k);
	assert_int_equal(0, k->number);
	assert_int_equal(0x81, k->ep_addr);
	assert_int_equal(8, k->ep_max_packet);
	assert_int_equal(7, k->ep_interval);
	assert_int_equal(0, usb_parse_config(kbd_config_fs, sizeof kbd_config_fs, &c, &why));
	assert_int_equal(10, usb_find_boot_keyboard(&c)->ep_interval);
	/* Only the first 9 bytes (the kernel's first request): no interface yet. */
	assert_int_equal(0, usb_parse_config(kbd_config_hs, 9, &c, &why));
	assert_int_equal(34, c.total);
	assert_null(usb_find_boot_keyboard(&c));
	/* A boot mouse and a hub are not keyboards. */
	assert_int_equal(0, usb_parse_config(mouse_config, sizeof mouse_config, &c, &why));
	assert_null(usb_find_boot_keyboard(&c));
	assert_string_equal("HID boot mouse",
			    usb_class_name(c.iface[0].class, c.iface[0].subclass, c.iface[0].protocol));
	assert_int_equal(0, usb_parse_config(hub_config, sizeof hub_config, &c, &why));
	assert_null(usb_find_boot_keyboard(&c));
	assert_int_equal(USB_CLASS_HUB, c.iface[0].class);
	assert_int_equal(2, c.iface[0].ep_max_packet);
}

/* A copy of a real descriptor with one byte changed, exactly its length
 * (so AddressSanitizer sees any read past it). */
static uint8_t *changed(const uint8_t *src, size_t len, size_t at, uint8_t v)
{
	uint8_t *p = malloc(len);
	assert_non_null(p);
	memcpy(p, src, len);
	if (at < len)
		p[at] = v;
	return p;
}

static void expect_config_error(const uint8_t *buf, size_t len, const char *want)
{
	struct usb_config_desc c;
	const char *why = NULL;
	assert_int_equal(-1, usb_parse_config(buf, (unsigned)len, &c, &why));
	assert_non_null(why);
	assert_string_equal(want, why);
}

static void test_malformed_descriptors(void **state)
{
	(void)state;
	const char *why = NULL;
	struct usb_device_desc d;
	uint8_t *p;
	/* Device: short, wrong type, small bLength. */
	assert_int_equal(-1, usb_parse_device(kbd_device, 17, &d, &why));
	assert_string_equal("device descriptor: fewer than 18 bytes received", why);
	p = changed(kbd_device, 18, 1, USB_DESC_CONFIG);
	assert_int_equal(-1, usb_parse_device(p, 18, &d, &why));
	assert_string_equal("device descriptor: wrong descriptor type", why);
	free(p);
	p = changed(kbd_device, 18, 0, 0);
	assert_int_equal(-1, usb_parse_device(p, 18, &d, &why));
	assert_string_equal("device descriptor: bLength below 18", why);
	free(p);

	/* Configuration header. */
	expect_config_error(kbd_config_hs, 8, "configuration descriptor: fewer than 9 bytes received");
	p = changed(kbd_config_hs, 34, 0, 4);
	expect_config_error(p, 34, "configuration descriptor: bLength below 9");
	free(p);
	p = changed(kbd_config_hs, 34, 2, 5);
	expect_config_error(p, 34, "configuration descriptor: wTotalLength below 9");
	free(p);
	/* A zero-length descriptor inside (the HID descriptor's bLength). */
	p = changed(kbd_config_hs, 34, 18, 0);
	expect_config_error(p, 34, "configuration: a descriptor with bLength below 2 (zero-length)");
	free(p);
	/* The endpoint's bLength past the end of what was received. */
	p = changed(kbd_config_hs, 34, 27, 9);
	expect_config_error(p, 34, "configuration: a descriptor's bLength runs past the end");
	free(p);
	/* The interface descriptor too short for its type. */
	p = changed(kbd_config_hs, 34, 9, 5);
	expect_config_error(p, 34, "interface descriptor: bLength below 9");
	free(p);
	/* An endpoint descriptor too short for its type (the rest realigned). */
	static const uint8_t short_ep[] = { 0x09, 0x02, 0x17, 0x00, 0x01, 0x01, 0x00, 0xa0, 0x32,
					    0x09, 0x04, 0x00, 0x00, 0x01, 0x03, 0x01, 0x01, 0x00,
					    0x05, 0x05, 0x81, 0x03, 0x08 };
	expect_config_error(short_ep, sizeof short_ep, "endpoint descriptor: bLength below 7");
	/* wTotalLength larger than what came: parsed as far as it goes. */
	struct usb_config_desc c;
	assert_int_equal(0, usb_parse_config(kbd_config_hs, 27, &c, &why));
	assert_int_equal(1, c.nifaces);
	assert_int_equal(0, c.iface[0].ep_addr); /* the endpoint was not received */
	/* A length byte alone at the very end. */
	p = changed(kbd_config_hs, 34, 0, 9);
	expect_config_error(p, 28, "configuration: a descriptor cut off after its length byte");
	free(p);
	/* Hub descriptor: short, no ports. */
	unsigned ports;
	assert_int_equal(-1, usb_parse_hub(hub_desc, 6, &ports, &why));
	assert_string_equal("hub descriptor: fewer than 7 bytes received", why);
	p = changed(hub_desc, 10, 2, 0);
	assert_int_equal(-1, usb_parse_hub(p, 10, &ports, &why));
	assert_string_equal("hub descriptor: no downstream ports", why);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_init_has_a_link_back_with_toggle_cycle),
		cmocka_unit_test(test_ring_push_wraps_through_the_link_and_flips_the_cycle),
		cmocka_unit_test(test_ring_at_finds_only_trbs_of_the_ring),
		cmocka_unit_test(test_event_ring_takes_events_by_cycle_and_wraps),
		cmocka_unit_test(test_context_offsets_for_both_sizes),
		cmocka_unit_test(test_slot_and_endpoint_context_fields),
		cmocka_unit_test(test_interval_by_speed),
		cmocka_unit_test(test_keymap),
		cmocka_unit_test(test_reports_press_keys_once_while_held),
		cmocka_unit_test(test_modifiers_both_sides_and_caps_lock),
		cmocka_unit_test(test_rollover_error_reports_change_nothing),
		cmocka_unit_test(test_key_repeat_after_500_ms_then_20_a_second),
		cmocka_unit_test(test_real_device_descriptors),
		cmocka_unit_test(test_real_configurations),
		cmocka_unit_test(test_malformed_descriptors),
	};
	return unit_run("usb", tests);
}
