"""The PS/2 keyboard (kernel/ps2.c): keys typed through QEMU's i8042 (QMP
send-key) reach the same line editor as the serial line; what they do
shows in the serial output, which mirrors the screen."""
import re
import time

from harness import PROMPT, expect_in, expect_re

MACHINE = dict(machine="q35", memory="512M")

QCODE = {" ": "spc", "\r": "ret", "-": "minus", "/": "slash", ".": "dot"}


def press(m, *qcodes):
    """Presses these keys together (a modifier first), then lets them go."""
    m.qmp("send-key", keys=[{"type": "qcode", "data": q} for q in qcodes], **{"hold-time": 20})
    time.sleep(0.03)


def type_text(m, text):
    for ch in text:
        if ch.isupper():
            press(m, "shift", ch.lower())
        else:
            press(m, QCODE.get(ch, ch))


def keyboard_cmd(m, text, timeout=30):
    """Types text and Enter on the PS/2 keyboard; returns the output up to the next prompt."""
    start = m.pos
    type_text(m, text + "\r")
    m.wait_for(re.escape(PROMPT), timeout)
    return m.out[start:m.pos]


def test_the_boot_log_names_the_keyboard(m):
    expect_in("keyboard: PS/2 (i8042), scan code set 1 (translated), US layout, "
              "keys repeat 20 a second after 500 ms", m.out)


def key_events(m, *events):
    """Sends (qcode, down) key events through QMP input-send-event, as a held key sends them."""
    m.qmp("input-send-event", events=[
        {"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": q}}}
        for q, down in events])
    time.sleep(0.05)


def test_a_held_key_repeats(m):
    # A held key's repeats are its make code again, without a break code
    # between: each is a key press; Shift held across them stays on.
    start = m.pos
    key_events(m, ("e", True), ("e", True), ("e", True), ("e", False))
    key_events(m, ("shift", True), ("x", True), ("x", True), ("x", False), ("shift", False))
    key_events(m, ("ret", True), ("ret", False))
    m.wait_for(re.escape(PROMPT), 30)
    expect_in("eeeXX: unknown command", m.out[start:m.pos])


def test_a_command_typed_on_the_keyboard_runs(m):
    out = keyboard_cmd(m, "help")
    expect_in("help\ncommands:", out)
    out = keyboard_cmd(m, "grow 12")
    expect_re(r"task \d+: 12 frames deep and back: checksum ok", out)


def test_shift_caps_and_ctrl(m):
    out = keyboard_cmd(m, "Frob")  # Shift-f
    expect_in("Frob: unknown command", out)
    press(m, "caps_lock")
    out = keyboard_cmd(m, "abc")
    press(m, "caps_lock")
    expect_in("ABC: unknown command", out)
    start = m.pos
    type_text(m, "xyz")
    press(m, "ctrl", "c")
    m.wait_for(r"\^C\n" + re.escape(PROMPT), 10)
    expect_in("xyz^C", m.out[start:m.pos])


def expect_version_after(m, *keys):
    """Presses keys (qcodes, or text to type), then Enter: the line must have been 'version'."""
    start = m.pos
    for k in keys:
        if isinstance(k, tuple):
            type_text(m, k[0])
        else:
            press(m, k)
    press(m, "ret")
    m.wait_for(re.escape(PROMPT), 30)
    expect_re(r"morestack \S+ \(x86-64 UEFI\)", m.out[start:m.pos])


def test_arrows_and_editing_keys(m):
    expect_version_after(m, ("vrsion",), *["left"] * 5, ("e",), "end")
    # Up recalls it; Home, Delete: "version" again from "xversion".
    expect_version_after(m, "up", "home", ("x",), "left", "delete")


def test_step_mode_takes_a_key_from_the_keyboard(m):
    # The demos run with interrupts off: step mode must still see the keyboard.
    expect_in("step: on", m.cmd("step on"))
    m.send("callret ab\r")
    m.wait_for(r"-- step: press a key \(q: leave step mode\) --\n", 30)
    press(m, "spc")
    m.wait_for(r"-- step: press a key \(q: leave step mode\) --\n", 30)
    press(m, "q")
    m.wait_for(r"step: off \(the demo runs on to its end\)\n", 30)
    m.wait_for(r"callret: 1 of 1 match Go", 30)
    m.wait_for(re.escape(PROMPT), 30)
