"""Ctrl-C stops the running command (kernel/stop.c, runtime/preempt.c): a
task in an endless loop that never yields is stopped at an interrupt, tasks
that yield or wait die at safe points or unrun, the shell's own loops end
early, nothing is leaked, and the shell and the runtime go on as before.
Ctrl-C comes on the serial line (byte 0x03) and on the PS/2 keyboard."""
import re
import time

from harness import PROMPT, expect, expect_in, expect_re
from test_keyboard import press

MACHINE = dict(machine="q35", memory="512M")


def start(m, line, banner, timeout=30):
    """Types line; waits for banner (the command is running); returns where its output starts."""
    at = m.pos
    m.send(line + "\r")
    m.wait_for(banner, timeout)
    return at


def finish(m, at, timeout=60):
    """Waits for the prompt; returns everything the command printed."""
    m.wait_for(re.escape(PROMPT), timeout)
    return m.out[at:m.pos]


def stopped(m, line, banner, key=lambda m: m.send("\x03"), wait=0.5):
    at = start(m, line, banner)
    time.sleep(wait)
    key(m)
    return finish(m, at)


def test_a_task_that_never_yields_is_stopped_at_an_interrupt(m):
    out = stopped(m, "hang spin", "running; Ctrl-C stops it")
    # The pc is in the task's own loop, named from the symbol table.
    expect_re(r"runtime: task \d+ \(spin\) stopped at pc 0x[0-9a-f]+ <hang_spin\+0x[0-9a-f]+>, "
              r"its stack \d+ KiB: interrupted \(Ctrl-C\)", out)
    expect_re(r"hang: task \d+ \(spin\) was killed: interrupted \(Ctrl-C\)", out)
    expect_re(r"hang: 1 of 1 tasks stopped; stops so far: [1-9]\d* at an interrupt", out)
    expect_in("^C hang: interrupted", out)
    expect_in("hang: stack memory mapped 0 KiB before, 0 KiB after", out)
    expect_in("commands:", m.cmd("help"))  # the shell goes on


def test_a_deep_stack_is_given_back(m):
    out = stopped(m, "hang deep", "running; Ctrl-C stops it", wait=2)
    size = int(re.search(r"\(deep\) stopped at pc \S+ <[^>]+>, its stack (\d+) KiB", out).group(1))
    expect(size >= 512, "2,000 frames of 200+ bytes need a stack of 512 KiB or more, it had %d" % size)
    expect_in("hang: stack memory mapped 0 KiB before, 0 KiB after", out)


def test_a_printing_task_is_stopped_outside_the_console(m):
    out = stopped(m, "hang print", "running; Ctrl-C stops it")
    expect_re(r"\(print\) stopped at pc 0x[0-9a-f]+ <(?!console_write|serial_|fbcon_)", out)
    # Every line is whole: the task never died in the middle of printing one.
    lines = [l for l in out.splitlines() if l.startswith("hang: line")]
    expect(len(lines) > 10, "the task printed %d lines" % len(lines))
    for l in lines:
        expect(re.fullmatch(r"hang: line \d+", l), "a torn line: %r" % l)


def test_yielding_tasks_die_at_safe_points_or_unrun(m):
    out = stopped(m, "hang yield 200", "200 tasks \\(yield\\) running")
    expect_in("hang: 200 of 200 tasks stopped", out)
    expect_in("hang: stack memory mapped 0 KiB before, 0 KiB after", out)
    expect_re(r"tasks: \d+ spawned, 0 live", m.cmd("tasks"))


def test_churn_stops_and_accounts_for_every_page(m):
    # The example: churn 100000 ran for two minutes with no way out.
    at = start(m, "churn 100000", "churn")
    t0 = time.monotonic()
    time.sleep(2)
    m.send("\x03")
    out = finish(m, at, timeout=60)
    took = time.monotonic() - t0 - 2
    expect(took < 30, "churn took %.1f s to stop after Ctrl-C" % took)
    expect_in("^C churn: interrupted", out)
    expect_re(r"churn: task \d+ \(churn\) was killed: interrupted \(Ctrl-C\)", out)
    expect_re(r"churn: stack memory mapped 0 KiB before, 0 KiB after; heap objects (\d+) before, \1 after", out)
    expect_re(r"churn: pages taken afterwards: .* 0 else", out)
    # The runtime is whole: a full run now passes its checks.
    again = m.cmd("churn 50 7", timeout=120)
    expect_in("churn: 50 tasks, 50 checksums ok, 0 killed, 0 broken links", again)


def test_fuzz_stops_and_the_next_run_passes_its_model(m):
    out = stopped(m, "fuzz 5000 1000", "fuzz", wait=2)
    expect_re(r"fuzz: Ctrl-C: seed \d+ was stopped halfway: not counted", out)
    expect("FAIL" not in out, "a stopped seed was counted as a failure:\n" + out)
    again = m.cmd("fuzz 3 77", timeout=120)
    expect_in("fuzz: seeds 77..79: 0 of 3 failed", again)


def test_stress_and_ctrl_c_share_the_timer(m):
    m.cmd("stress on")
    out = stopped(m, "hang deep", "running; Ctrl-C stops it", wait=2)
    expect_re(r"\(deep\) stopped at pc", out)
    state = m.cmd("stress off")
    expect_re(r"stress: \d+ ticks, [1-9]\d* moved a stack", state)


def test_ctrl_c_at_the_prompt_abandons_the_line(m):
    at = m.pos
    m.send("helpxx\x03")
    m.wait_for(re.escape(PROMPT))
    expect("unknown command" not in m.out[at:m.pos], "the abandoned line ran")
    expect_in("commands:", m.cmd("help"))


def test_ctrl_c_on_the_ps2_keyboard(m):
    out = stopped(m, "hang spin", "running; Ctrl-C stops it", key=lambda m: press(m, "ctrl", "c"))
    expect_re(r"\(spin\) stopped at pc 0x[0-9a-f]+ <hang_spin", out)
    expect_in("^C hang: interrupted", out)


def test_ctrl_c_in_step_mode_and_q_leaves_it(m):
    m.cmd("step on")
    at = start(m, "swap", "-- step: press a key")
    m.send("q")
    out = finish(m, at)
    expect_in("step: off (the demo runs on to its end)", out)
    expect_re(r"matches Go", out)
    m.cmd("step on")
    at = start(m, "swap", "-- step: press a key")
    m.send("\x03")
    out = finish(m, at)
    expect_re(r"swap: task \d+ \(\w+\) was killed: interrupted \(Ctrl-C\)", out)
    expect_in("no verdict about Go", out)
    m.cmd("step off")


def test_commands_after_a_stop_run_normally(m):
    # A command that is not stopped sees no stale request.
    out = m.cmd("grow 200")
    expect_re(r"task \d+: 200 frames deep and back: checksum ok", out)
    expect("interrupted" not in out, out)
