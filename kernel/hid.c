/*
 * hid.c: boot keyboard reports into key presses and software key repeat
 * (see hid.h for the report format and the rules).
 *
 * Invariants: k->held is always a report that was accepted (never an
 * error report), so "pressed" is always relative to keys really known to
 * be up before; k->repeat is 0 or a usage present in k->held.
 */
#include "hid.h"
#include "keymap.h"

static bool in_report(const uint8_t *r, unsigned len, uint8_t usage)
{
	for (unsigned i = 2; i < len; i++)
		if (r[i] == usage)
			return true;
	return false;
}

static void press(struct hid_kbd *k, uint8_t usage, uint8_t mods, hid_emit emit, void *ctx)
{
	char bytes[KEYMAP_MAX];
	bool shift = mods & 0x22, ctrl = mods & 0x11;
	if (keymap_bytes(usage, shift, ctrl, k->caps, bytes))
		emit(ctx, bytes);
}

int hid_kbd_report(struct hid_kbd *k, const uint8_t *report, unsigned len, uint64_t now_ms,
		   hid_emit emit, void *ctx)
{
	k->reports++;
	if (len < 3) {
		k->errors++;
		return -1;
	}
	if (len > HID_REPORT_LEN)
		len = HID_REPORT_LEN;
	for (unsigned i = 2; i < len; i++)
		if (report[i] >= 1 && report[i] <= 3) {
			k->errors++;
			return -1;
		}
	uint8_t now[HID_REPORT_LEN] = { 0 };
	for (unsigned i = 0; i < len; i++)
		now[i] = report[i];
	int n = 0;
	for (unsigned i = 2; i < HID_REPORT_LEN; i++) {
		uint8_t u = now[i];
		if (!u || in_report(k->held, HID_REPORT_LEN, u))
			continue; /* no key, or one still held from before */
		n++;
		k->presses++;
		if (u == 0x39) { /* Caps Lock: toggles, does not repeat */
			k->caps = !k->caps;
			continue;
		}
		press(k, u, now[0], emit, ctx);
		k->repeat = u;
		k->repeat_at = now_ms + HID_REPEAT_DELAY_MS;
	}
	if (k->repeat && !in_report(now, HID_REPORT_LEN, k->repeat))
		k->repeat = 0; /* released */
	for (unsigned i = 0; i < HID_REPORT_LEN; i++)
		k->held[i] = now[i];
	return n;
}

int hid_kbd_tick(struct hid_kbd *k, uint64_t now_ms, hid_emit emit, void *ctx)
{
	int n = 0;
	/* At most a few at once: a poll that came late does not flood the line. */
	while (k->repeat && now_ms >= k->repeat_at && n < 4) {
		press(k, k->repeat, k->held[0], emit, ctx);
		k->repeat_at += HID_REPEAT_PERIOD_MS;
		n++;
	}
	if (k->repeat && now_ms >= k->repeat_at)
		k->repeat_at = now_ms + HID_REPEAT_PERIOD_MS;
	return n;
}
