"""A PC without a serial port (QEMU's -serial none): everything the shell
does must work on the screen (kernel/fbcon.c) and the PS/2 keyboard
(kernel/ps2.c) alone. The harness boots until the prompt is on the screen,
types with QMP send-key and reads each command's output off screendumps
(harness.Machine with serial=False); a test here never sees a serial line.

Where the screen cannot hold a whole output (help is longer than the
screen, which scrolls by half a screen at once), what is left on it is
compared with the same command's output over the serial line of a
reference boot with a serial port."""
import re
import threading

import harness
from harness import (SCREEN_GAP, expect, expect_equal, expect_in, expect_not_in, expect_re,
                     last_nonempty, own_machine)
import screen

MACHINE = dict(machine="q35", memory="512M", serial=False)

# The kernel's palette (kernel/fbcon.c): ESC[1;32m and ESC[1;33m, as the demos use them.
GREY, BRIGHT_GREEN, BRIGHT_YELLOW = b"\xaa\xaa\xaa", b"\x55\xff\x55", b"\xff\xff\x55"

_reference, _reference_lock = {}, threading.Lock()


def reference(m, line):
    """line's output over the serial line of a q35 machine with a serial port
    booting m's image (booted once, for the lines whose output does not fit
    on the screen)."""
    with _reference_lock:
        if line not in _reference:
            ref = harness.Machine(m.image, machine="q35", memory="512M")
            try:
                ref.boot()
                _reference[line] = ref.cmd(line)
            finally:
                ref.close()
        return _reference[line]


def expect_tail_of(full, shown, what):
    """shown (a command's output read off the screen) must be full's output,
    or, where lines scrolled away between two screendumps, its last lines."""
    lines = shown.rstrip("\n").split("\n")
    if SCREEN_GAP in lines:
        lines = lines[len(lines) - lines[::-1].index(SCREEN_GAP):]
        expect(len(lines) >= 20, "%s: only %d lines left on the screen" % (what, len(lines)))
    want = full.rstrip("\n").split("\n")
    expect_equal(want[-len(lines):], lines, what + " on the screen against the serial line")


def test_the_boot_log_reaches_the_screen(m):
    log = m.boot_log
    expect_re(r"^screen console: 1280x800 pixels, 1280 per line, 160x50 text in "
              r"Uni2-Terminus16\.psf\.gz \(8x16\)", log, "boot log on the screen")
    expect_in("keyboard: PS/2 (i8042), scan code set 1 (translated), US layout", log,
              "boot log on the screen")
    expect_re(r"^boot: [\d.]+ ms from efi_main to this prompt", log, "boot log on the screen")
    expect_in("Type 'help' for commands.", log, "boot log on the screen")
    # No serial port: QEMU's stdout (where the serial line would be) got nothing.
    expect_not_in("morestack", m.out, "QEMU's stdout")


def test_the_banner_reaches_the_screen(m):
    # The first line of the boot log names the kernel and the firmware.
    expect_re(r"^morestack \S+: kernel at 0x[0-9a-f]+ \(phys 0x[0-9a-f]+, \d+ KiB\), "
              r"firmware EDK II", m.boot_log, "boot log on the screen")


def test_help_typed_on_the_keyboard(m):
    out = m.cmd("help")
    expect_tail_of(reference(m, "help"), out, "help")
    expect_re(r"^  poweroff \[METHOD\] +switch off", out, "help on the screen")


def test_a_command_with_every_key(m):
    expect_every_key_typed(m)


def expect_every_key_typed(m):
    """Every printable character through the keyboard (the shell echoes the
    line back in its error message), and Backspace taking one back. Also
    test_usb_keyboard's, on the USB keyboard."""
    line = "".join(chr(c) for c in range(0x21, 0x7f))
    out = m.cmd(line)
    expect_equal(line + ": unknown command; type 'help' for the list", out.rstrip("\n"),
                 "the echo of the line typed")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", m.cmd("versionn\b"), "version")


def colours_of(row):
    return {fg for _, fg in row if fg is not None}


def test_a_demo_in_colour_step_by_step(m):
    """swap with colour on and step mode on, stepped with the keyboard: the
    words a picture changed are bright yellow (value and what), the rest
    grey; "matches Go" bright green; no escape sequence shows as text."""
    expect_in("color: on", m.cmd("color on"))
    expect_in("step: on", m.cmd("step on"))
    mark = len(m.transcript)
    step = r"^  -- step: press a key \(q: leave step mode\) --$"
    m.type("swap\r")
    m.wait_screen(step + r"(?![\s\S]*after a, b = b, a)", since=mark)
    m.type(" ")
    m.wait_screen(r"after a, b = b, a[\s\S]*" + step, since=mark)
    cells = screen.cells(m.screendump())
    rows = ["".join(ch for ch, _ in row).rstrip() for row in cells]
    changed = [y for y, r in enumerate(rows) if re.match(r"  0x[0-9a-f]{16} \| ", r)
               and BRIGHT_YELLOW in colours_of(cells[y])]
    expect_equal(["swap: b (a copy of main's b)", "swap: a (a copy of main's a)"],
                 [rows[y].split("|")[2].strip() for y in changed], "the words in yellow")
    for y in changed:
        # Yellow from the value's first digit to the what's last letter,
        # the address and the frame's bars grey.
        fields = rows[y].split("|")
        value_at = len(fields[0]) + 2
        what_end = len(fields[0]) + len(fields[1]) + 2 + len(fields[2].rstrip())
        for x, (ch, fg) in enumerate(cells[y]):
            if ch == " ":
                continue
            want = BRIGHT_YELLOW if value_at <= x < what_end and ch != "|" else GREY
            expect_equal(want, fg, "row %d column %d (%r): colour" % (y, x, ch))
    table = [y for y, r in enumerate(rows) if re.match(r"  0x[0-9a-f]{16} \| ", r)]
    for y in set(table) - set(changed):
        expect_equal({GREY}, colours_of(cells[y]), "row %d: %r: colours" % (y, rows[y]))
    m.type("q")
    # q leaves step mode: the demo runs to its end without another pause
    # (the "step: off" it prints can scroll away before a screendump sees it).
    m.wait_screen(r"^swap: \d of 3 match Go\nmorestack>$", since=mark)
    out = m.cmd("step off")
    expect_in("step: off", out)
    cells = screen.cells(m.screendump())
    rows = ["".join(ch for ch, _ in row).rstrip() for row in cells]
    shown = "\n".join(rows)
    expect_not_in("[1;3", shown, "the screen")
    expect_in("swap: 3 of 3 match Go", shown, "the screen")
    greens = 0
    for y, row in enumerate(cells):
        for mt in re.finditer("matches Go", rows[y]):
            word = {fg for _, fg in row[mt.start():mt.end()] if fg is not None}
            expect_equal({BRIGHT_GREEN}, word, "row %d: 'matches Go': colours" % y)
            greens += 1
    expect_equal(3, greens, "'matches Go' on the screen")
    expect_in("color: off", m.cmd("color off"))


def test_a_task_fault_report(m):
    out = m.cmd("taskfault null")
    expect_in("panic: runtime error: invalid memory address or nil pointer dereference", out)
    expect_re(r"^goroutine \d+ \[running\]:", out, "fault report on the screen")
    expect_re(r"^  fault_task\+0x[0-9a-f]+$", out, "fault report on the screen")
    expect_re(r"^taskfault: task \d+ was killed; the shell goes on$", out,
              "fault report on the screen")
    # The shell survived: a task still runs to the end.
    expect_re(r"task \d+: 12 frames deep and back: checksum ok", m.cmd("grow 12"))


def test_scrolling_more_than_a_screen(m):
    summary = m.cmd("mem")  # 14 lines: fits on the screen whole
    expect_re(r"^memory map: (\d+) entries", summary, "mem on the screen")
    out = m.cmd("mem -v")   # a line a range: over 100 lines, more than the screen
    lines = out.rstrip("\n").split("\n")
    expect_in(SCREEN_GAP, lines, "mem -v's output (longer than the screen)")
    shown = lines[len(lines) - lines[::-1].index(SCREEN_GAP):]
    # The last lines on the screen are the real end of the output: the
    # summary, the same as mem printed it, and before it the last ranges,
    # in address order.
    n = len(summary.rstrip("\n").split("\n"))
    expect_equal(summary.rstrip("\n").split("\n"), shown[-n:], "the end of mem -v")
    ranges = shown[:-n]
    expect(len(ranges) >= 10, "ranges left on the screen: %d" % len(ranges))
    end = 0
    for line in ranges:
        r = expect_re(r"^0x([0-9a-f]{16}) 0x([0-9a-f]{16}) +\d+  \w", line, "a range line")
        start = int(r.group(1), 16)
        expect(start >= end, "ranges out of order at %r" % line)
        end = int(r.group(2), 16)
    # The prompt is the last text on the screen, under the output.
    rows = m.screen()
    i = last_nonempty(rows)
    expect_equal(harness.PROMPT.rstrip(), rows[i], "the last row with text")
    expect(i >= len(rows) // 2, "the prompt in the lower half after a scroll: row %d" % i)
    expect_equal(summary.rstrip("\n").split("\n")[-1], rows[i - 1], "the row above the prompt")


def test_every_demo_runs_from_the_keyboard(m):
    # The whole lecture: more than a screen, so what scrolled by in one poll
    # is marked as a gap; the end is on the screen and nothing differs from Go.
    out = m.cmd("demo all", timeout=240)
    expect_re(r"^demo: all \d+ demos ran$", out, "the end of demo all on the screen")
    expect_not_in("DIFFERS FROM GO", out, "demo all on the screen")
    expect_not_in("was killed", out, "demo all on the screen")


def test_ctrl_c_on_the_keyboard_stops_a_task(m):
    mark = len(m.transcript)
    m.type("hang spin\r")
    m.wait_screen(r"^hang: 1 task \(spin\) running; Ctrl-C stops it$", since=mark)
    m.qmp("send-key", keys=[{"type": "qcode", "data": q} for q in ("ctrl", "c")],
          **{"hold-time": 20})
    m.wait_screen(r"^\^C hang: interrupted$", since=mark)
    m.wait_screen(r"^morestack> $|^morestack>$", since=mark)
    shown = "\n".join(m.transcript[mark:])
    expect_re(r"\(spin\) stopped at pc 0x[0-9a-f]+ <hang_spin\+0x[0-9a-f]+>", shown,
              "the stop on the screen")
    expect_re(r"task \d+: 12 frames deep and back: checksum ok", m.cmd("grow 12"))


@own_machine
def test_poweroff_typed_on_the_keyboard(m):
    m.type("poweroff\r")
    expect_equal(0, m.wait_exit(60), "QEMU exit status after poweroff")


def pc(fn):
    fn = own_machine(fn)
    fn.machine_config = dict(machine="pc", memory="512M", serial=False)
    return fn


@pc
def test_pc_help_and_poweroff(m):
    expect_in("keyboard: PS/2 (i8042), scan code set 1 (translated), US layout", m.boot_log)
    expect_tail_of(reference(m, "help"), m.cmd("help"), "help")
    expect_re(r"^RAM: 511 MiB", m.cmd("mem"), "mem on the screen")
    m.type("poweroff\r")
    expect_equal(0, m.wait_exit(60), "QEMU exit status after poweroff")
