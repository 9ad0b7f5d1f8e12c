/*
 * hid.h: a USB HID boot-protocol keyboard's reports turned into key
 * presses (hid.c; pure, unit-tested on the host).
 *
 * A boot report (HID 1.11, appendix B.1) is 8 bytes: the modifier bits
 * (bit 0 left Ctrl, 1 left Shift, 2 left Alt, 3 left GUI, 4-7 the same
 * on the right), a reserved byte, then up to six usages of the keys held
 * now, in any order. A report says what is held, not what changed: a key
 * is pressed when it appears in a report and was not in the previous one;
 * a key in both is still held (not pressed again). Usages 1-3 (ErrorRollOver,
 * POSTFail, ErrorUndefined) in the key bytes mean the keyboard cannot tell
 * which keys are down (too many at once): such a report changes nothing.
 *
 * USB keyboards do not repeat keys: the host does. The key pressed last
 * repeats while it is held, after HID_REPEAT_DELAY_MS then every
 * HID_REPEAT_PERIOD_MS (the PS/2 keyboard's rate, ps2.c), with the
 * modifiers held at each repeat; hid_kbd_tick is called from the polling.
 */
#ifndef MORESTACK_HID_H
#define MORESTACK_HID_H
#include <stdbool.h>
#include <stdint.h>

#define HID_REPORT_LEN 8
#define HID_REPEAT_DELAY_MS 500
#define HID_REPEAT_PERIOD_MS 50

struct hid_kbd {
	uint8_t held[HID_REPORT_LEN]; /* the last report that was not an error */
	bool caps;                    /* Caps Lock, toggled by its key */
	uint8_t repeat;               /* the usage that repeats while held; 0 none */
	uint64_t repeat_at;           /* when it next repeats (ms) */
	uint32_t reports, errors, presses;
};

/* Where the bytes of each press go (keymap.c's, NUL-terminated). */
typedef void (*hid_emit)(void *ctx, const char *bytes);

/* One report of len bytes at time now_ms: returns the keys pressed, or -1
 * for a report that is ignored (shorter than 3 bytes, or a rollover error). */
int hid_kbd_report(struct hid_kbd *k, const uint8_t *report, unsigned len, uint64_t now_ms,
		   hid_emit emit, void *ctx);
/* Key repeat due by now_ms: returns how many repeats were emitted. */
int hid_kbd_tick(struct hid_kbd *k, uint64_t now_ms, hid_emit emit, void *ctx);
#endif
