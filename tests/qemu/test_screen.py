"""The console on the screen (kernel/fbcon.c): what the serial line shows is
on the GOP framebuffer too, read back through QEMU's screendump and
matched cell by cell against the Debian font the kernel draws with."""
import time

from harness import expect, expect_equal, expect_in, own_machine
import screen

MACHINE = dict(machine="q35", memory="512M")


def test_boot_log_and_prompt_are_on_the_screen(m):
    rows, _ = screen.text(m.screendump())
    shown = "\n".join(rows)
    expect_in("screen console: 1280x800 pixels, 1280 per line, 160x50 text in "
              "Uni2-Terminus16.psf.gz (8x16), write-combining", shown, "the screen")
    # The mapping the console draws through, as the page tables say.
    walk = m.cmd("pt ffffe80000000000")
    expect_in("writable, supervisor only, no-execute, write-combining memory", walk)
    expect(rows[-1] == "" and any(r.startswith("morestack>") for r in rows), "a prompt on the screen")


def test_command_output_is_mirrored_and_scrolls(m):
    m.cmd("color off")
    # More than a screen, so it scrolls; every printable character typed.
    for cmd in ("help", "mem", "help", "tasks", "version",
                "".join(chr(c) for c in range(0x21, 0x7f))):
        m.cmd(cmd)
    rows, _ = screen.text(m.screendump())
    while rows and rows[-1] == "":
        rows.pop()
    # Every row on the screen is the serial line's, in order, to the prompt
    # (no line here is wider than the screen's 160 columns).
    serial = [l.rstrip() for l in m.out.split("\n")]
    expect(len(rows) >= 25, "half the screen or more in use after a scroll: %d rows" % len(rows))
    expect_equal(serial[-len(rows):], rows, "the screen against the serial line")
    expect_equal("morestack>", rows[-1], "the prompt last")


def test_ansi_colours_are_drawn_not_printed(m):
    m.cmd("color on")
    m.cmd("swap")
    rows, colours = screen.text(m.screendump())
    shown = "\n".join(rows)
    expect("[1;32m" not in shown and "[0m" not in shown, "no escape sequence printed as text")
    expect_in("matches Go", shown, "the screen")
    expect(len(colours) >= 2, "more than one colour on the screen: %s" % colours)
    m.cmd("color off")


def test_the_fonts_are_read_right(m):
    """tools/psf.py, checked on properties a misread font would break: 95
    different glyphs, a blank space, '_' only at the bottom, '-' one band,
    'H' a mirror image of itself (both fonts, PSF2; and a PSF1 font)."""
    del m
    for path in list(screen.FONTS.values()) + ["/usr/share/consolefonts/Lat15-Fixed16.psf.gz"]:
        f = screen.psf.read(path)
        bits = {c: [[f.pixel(f.glyph(c), x, y) for x in range(f.width)] for y in range(f.height)]
                for c in map(chr, range(0x20, 0x7f))}
        expect_equal(95, len({str(b) for b in bits.values()}), "%s: distinct glyphs" % path)
        expect(not any(map(any, bits[" "])), "%s: the space is blank" % path)
        rows = [y for y in range(f.height) if any(bits["_"][y])]
        expect(rows and min(rows) > f.height // 2, "%s: '_' at the bottom" % path)
        rows = [y for y in range(f.height) if any(bits["-"][y])]
        expect(rows and max(rows) - min(rows) < f.height // 4, "%s: '-' is one band" % path)
        for c in "H":
            expect(all(r == r[::-1] or r[:-1] == r[:-1][::-1] for r in bits[c]),
                   "%s: %r mirrors itself" % (path, c))


def halted_screen(m, command):
    """Runs command, which stops the machine; returns the screen's rows once
    it says it halted (the machine stays up: no exit-on-fault here)."""
    m.send(command + "\r")
    m.wait_for(r"Nothing more will happen: switch the machine off or reset it\.", 60)
    time.sleep(0.5)
    expect(m.proc.poll() is None, "QEMU is still running: the machine halted, it did not reset")
    rows, _ = screen.text(m.screendump())
    while rows and rows[-1] == "":
        rows.pop()
    return rows


@own_machine
def test_a_kernel_fault_is_on_the_screen_and_the_machine_halts(m):
    rows = halted_screen(m, "crash null")
    shown = "\n".join(rows)
    for line in ("*** kernel fault: #PF page fault (vector 14), error code 0x0",
                 "  cause: read from a non-present page in supervisor mode",
                 "  backtrace (frame pointers):",
                 "*** morestack has halted: a fault in the kernel itself (above): nothing "
                 "after it can be trusted.",
                 "*** Nothing more will happen: switch the machine off or reset it."):
        expect_in(line, shown, "the screen")
    expect(any(r.startswith("  RIP=") for r in rows), "the registers on the screen")
    expect_equal("*** Nothing more will happen: switch the machine off or reset it.", rows[-1],
                 "the last line on the screen")


test_a_kernel_fault_is_on_the_screen_and_the_machine_halts.machine_config = dict(
    machine="q35", memory="512M", exit_on_fault=False)
