/*
 * keymap.h: the US layout, shared by every keyboard driver (keymap.c).
 *
 * Keys are named by their USB HID usage (HID Usage Tables 1.3, section 10,
 * "Keyboard/Keypad Page 0x07"): a USB boot keyboard reports them as they
 * are, and ps2.c translates its scan codes into them. keymap_bytes gives
 * the bytes a terminal sends for a key: ASCII, control codes, and ESC [
 * sequences for the arrows, Home, End and Delete.
 */
#ifndef MORESTACK_KEYMAP_H
#define MORESTACK_KEYMAP_H
#include <stdbool.h>
#include <stdint.h>

#define KEY_CAPS_LOCK 0x39
#define KEY_LEFT_CTRL 0xe0 /* the modifiers' usages: 0xe0 + their bit in a boot report */
#define KEY_LEFT_SHIFT 0xe1
#define KEY_RIGHT_CTRL 0xe4
#define KEY_RIGHT_SHIFT 0xe5

#define KEYMAP_MAX 5 /* the longest sequence (Delete: ESC [ 3 ~) and a terminating 0 */

/* Writes the bytes of key `usage` pressed with these modifiers to out
 * (NUL-terminated) and returns how many; 0 for a key that sends nothing
 * (a modifier, Caps Lock, an unknown key). */
int keymap_bytes(uint8_t usage, bool shift, bool ctrl, bool caps, char out[KEYMAP_MAX]);
#endif
