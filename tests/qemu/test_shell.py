"""The serial shell: every command, the line editor, and bad input."""
import random
import re

from harness import (PROMPT, TestFailure, expect, expect_equal, expect_in, expect_not_in,
                     expect_re, kernel_symbol)

MACHINE = dict(machine="q35", memory="512M")


def test_boot_banner_and_time(m):
    text = m.out
    expect_re(r"morestack \S+: kernel at 0xffffffff80000000 \(phys 0x[0-9a-f]+, \d+ KiB\)", text,
              "boot log")
    ms = float(expect_re(r"boot: (\d+\.\d{3}) ms from efi_main to this prompt", text,
                         "boot log").group(1))
    expect(0 < ms < 5000, "boot time %s ms is not plausible" % ms)


def test_help_lists_every_command(m):
    out = m.cmd("help")
    for name in ["help", "mem", "pt", "wx", "version", "reboot", "poweroff", "crash", "callret"]:
        expect_re(r"^  %s\b" % name, out, "help output")
    for line in out.splitlines():
        expect(len(line) <= 80, "help line over 80 columns: %r" % line)


def test_unknown_command_names_help(m):
    out = m.cmd("frobnicate now")
    expect_in("frobnicate: unknown command; type 'help' for the list", out)


def test_empty_and_blank_lines_do_nothing(m):
    expect_equal("", m.cmd(""), "output of an empty line")
    expect_equal("", m.cmd("   \t  "), "output of a blank line")


def test_version(m):
    out = m.cmd("version")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", out)
    expect_re(r"^firmware: EDK II", out)
    expect_re(r"UEFI memory attributes table: yes", out)
    expect_re(r"ExitBootServices took [1-8] tries", out)


def test_mem_summary(m):
    out = m.cmd("mem")
    n = int(expect_re(r"^memory map: (\d+) entries \(descriptor size (\d+)\)", out).group(1))
    expect(n > 10, "only %d memory map entries" % n)
    ram = int(expect_re(r"^RAM: (\d+) MiB", out).group(1))
    expect(480 <= ram <= 512, "RAM %d MiB with -m 512M" % ram)
    free, managed = map(int, expect_re(r"^physical pages: (\d+) free of (\d+) managed", out).groups())
    expect(0 < free <= managed, "physical pages: %d free of %d" % (free, managed))
    expect(free * 4096 > 400 << 20, "only %d physical pages free after boot" % free)
    expect_in("conventional", out)
    for count, word in re.findall(r"^  \S+ +(\d+) (ranges?) ", out, re.M):
        expect(word == ("range" if count == "1" else "ranges"), "'%s %s' in mem" % (count, word))


def test_mem_verbose_lists_every_range(m):
    out = m.cmd("mem -v")
    n = int(expect_re(r"^memory map: (\d+) entries", out).group(1))
    rows = re.findall(r"^0x[0-9a-f]{16} 0x[0-9a-f]{16} +\d+  \S", out, re.M)
    expect_equal(n, len(rows), "rows printed by mem -v")
    expect_in("mem: usage: mem [-v]", m.cmd("mem -x"))


def test_wx_audit_is_clean(m):
    out = m.cmd("wx")
    pages = int(expect_re(r"wx: \d+ mappings covering (\d+) pages checked; 0 pages writable "
                          r"and executable", out).group(1))
    expect(pages > 100000, "wx checked only %d pages" % pages)
    expect_in("wx: ok", out)


def walk(m, addr):
    out = m.cmd("pt %#x" % addr)
    return out


def test_pt_kernel_text_is_read_only_executable(m):
    out = walk(m, kernel_symbol("kmain"))
    expect_re(r"^  PML4\[511\] = 0x[0-9a-f]{16}  present", out)
    expect_re(r"^  PT  \[ *\d+\] = 0x[0-9a-f]{16}  present, read-only, supervisor only, "
              r"executable.*4 KiB page", out)
    expect_re(r"=> phys 0x[0-9a-f]+, 4 KiB page, read-only, executable", out)


def test_pt_kernel_rodata_is_read_only_no_execute(m):
    out = walk(m, kernel_symbol("exception_names"))
    expect_re(r"=> phys 0x[0-9a-f]+, 4 KiB page, read-only, no-execute", out)


def test_pt_kernel_data_is_writable_no_execute(m):
    out = walk(m, kernel_symbol("boot_info"))
    expect_re(r"=> phys 0x[0-9a-f]+, 4 KiB page, read/write, no-execute", out)


def test_pt_direct_map_uses_large_pages(m):
    out = walk(m, 0xffff800000000000 + (64 << 20))
    expect_re(r"^  PD  \[ *32\] = .*2 MiB page", out)
    expect_re(r"=> phys 0x4000000, 2 MiB page, read/write, no-execute", out)


def test_pt_page_zero_is_unmapped(m):
    out = m.cmd("pt 0")
    expect_in("not present", out)
    expect_in("=> not mapped", out)


def test_pt_bad_addresses(m):
    expect_in("pt: 'xyz' is not a hexadecimal address ('x' is not a hex digit)", m.cmd("pt xyz"))
    expect_in("pt: '0x' has no digits", m.cmd("pt 0x"))
    expect_in("has more than 16 hex digits", m.cmd("pt 0x12345678901234567"))
    expect_in("pt: 0x800000000000 is not canonical", m.cmd("pt 0x0000800000000000"))
    expect_in("is not canonical", m.cmd("pt ffff7fffffffffff"))
    expect_in("pt: usage: pt ADDR", m.cmd("pt"))
    expect_in("pt: usage: pt ADDR", m.cmd("pt 1 2"))
    expect_in("'-1' is not a hexadecimal address", m.cmd("pt -1"))


def test_backspace_edits_the_line(m):
    out = m.cmd("hx\x7f\x7fverz\x08sion")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", out)


def test_ctrl_u_erases_the_line(m):
    out = m.cmd("garbage words\x15version")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", out)


def test_ctrl_c_drops_the_line(m):
    m.send("poweroff\x03")
    m.wait_for(r"\^C\n" + re.escape(PROMPT))
    expect_in("commands:", m.cmd("help"))


def test_history_up_and_down(m):
    m.cmd("version")
    m.cmd("pt 0")
    out = m.cmd("\x1b[A\x1b[A")          # two up: version
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", out)
    out = m.cmd("\x1b[A\x1b[A\x1b[B")    # up, up, down: back to the newest, version
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", out)
    out = m.cmd("\x1bOA\x1bOA")        # SS3 form; newest first: version, pt 0
    expect_in("=> not mapped", out)


def test_overlong_line_is_refused(m):
    out = m.cmd("x" * 300)
    expect_in("error: line too long (300 characters, the limit is 255); nothing was run", out)
    out = m.cmd("help" + "a" * 400)
    expect_in("line too long (404 characters", out)
    expect_not_in("commands:", out)
    expect_in("commands:", m.cmd("help"))


def test_longest_line_that_fits_runs(m):
    out = m.cmd("pt" + " " * 250 + "0")   # 253 characters
    expect_in("=> not mapped", out)


def test_control_and_non_ascii_bytes_are_ignored(m):
    out = m.cmd("ve\x04\x80r\xffs\x0ei\x7f\x7fsi\x1b[15~on")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", out)


def test_cursor_keys_edit_the_middle_of_the_line(m):
    # Left five times, then insert: "vrsion" becomes "version".
    out = m.cmd("vrsion" + "\x1b[D" * 5 + "e")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", out)
    # Home, Ctrl-K, then a new word; Ctrl-W erases a word; Delete at the cursor.
    expect_in("commands:", m.cmd("xyz\x01\x0bhelp"))
    expect_in("commands:", m.cmd("grow 12 help\x17\x17\x17help"))
    out = m.cmd("tassks\x1b[D\x1b[D\x1b[D\x1b[3~")
    expect_re(r"tasks: \d+ spawned", out)
    # Alt-x (ESC then a letter) types the letter; a long unknown sequence vanishes whole.
    expect_in("commands:", m.cmd("\x1bhelp"))
    expect_in("commands:", m.cmd("he\x1b[" + "1" * 40 + "~lp"))


def test_ten_kib_of_random_bytes_then_help(m):
    rng = random.Random(20261124)
    noise = bytes(rng.randrange(256) for _ in range(10 * 1024))
    m.send(noise)
    # Whatever state the noise left (half an escape sequence, a partial
    # line), a few Ctrl-Cs and a fresh line must bring the shell back.
    # The noise may itself hold ^C and prompts, so wait for a marker it cannot hold.
    m.send("\x1b\x03\x03pt 4d4f5245\r")
    m.wait_for(r"pt 0x000000004d4f5245: PML4 index 0", 120)
    m.wait_for(re.escape(PROMPT))
    expect_in("commands:", m.cmd("help"))
    expect_in("wx: ok", m.cmd("wx"))


def test_too_many_words(m):
    expect_in("error: more than 8 words on the line", m.cmd("a b c d e f g h i"))
