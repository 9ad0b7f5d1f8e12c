"""Out of memory at every point: a 128 MiB machine filled with parked
tasks, then every command. Each must survive (no fault report, the shell
answers), say "out of memory" where memory stopped it, and give no
verdict or figure from a task that could not start or died."""
import re

from harness import expect, expect_in, expect_not_in, expect_re

MACHINE = dict(machine="q35", memory="128M")

VERDICTS = ["matches Go", "DIFFERS FROM GO", "the same sum", "DIFFERENT SUMS", "match Go",
            "as expected", "FAILED"]
STOPPED = re.compile(r"out of memory|was killed")
parked = []  # ids of the tasks filling memory, oldest first


def expect_survived(m, out, what):
    expect_not_in("*** ", out, what)  # "*** kernel fault", "*** panic: runtime: ..."
    expect_in("commands:", m.cmd("help"), "help after %s" % what)


def expect_honest(out, what):
    """If memory stopped the command, it gives no verdict."""
    if STOPPED.search(out):
        for v in VERDICTS:
            expect_not_in(v, out, what)


def expect_no_zero_figures(out):
    for name, value in re.findall(r"^BENCH (\S+) \S+ (\d+(?:\.\d+)?) ", out, re.M):
        expect(float(value) > 0, "BENCH %s printed %s" % (name, value))


def test_fill_memory_with_parked_tasks(m):
    # Each task parks on a 256 KiB stack; the last one cannot grow or start.
    for _ in range(3000):
        out = m.cmd("spawn 1 200000")
        got = re.search(r"^task (\d+) parked", out, re.M)
        if not got:
            break
        parked.append(got.group(1))
    expect(len(parked) >= 100, "only %d tasks fit in 128 MiB" % len(parked))
    expect_re(r"out of memory", out)
    expect_re(r"^physical pages: 0 free", m.cmd("mem"))


def test_a_demo_killed_growing_says_why(m):
    # One task back: a demo's task can start, then its stack cannot grow
    # (before, swap printed "matches Go" twice and then "0 of 3 match Go").
    out = m.cmd("resume %s" % parked.pop())
    expect_in("checksum ok", out)
    out = m.cmd("swap")
    expect_survived(m, out, "swap")
    expect_re(r"^swap: task \d+ \(swap\) was killed: out of memory growing its stack$", out)
    expect_in("runtime: task", out)
    expect_re(r"^swap: no verdict about Go$", out)
    expect_honest(out, "swap")
    expect_not_in("of 3 match Go", out)


def test_every_command_out_of_memory_survives_and_says_so(m):
    expect_in("color: off", m.cmd("color off"))
    must_stop = {"swap", "escape", "incr", "bench", "demo all", "grow 100000"}
    for cmd in ["bench", "swap", "escape", "incr", "hotsplit", "frames", "closure", "defer",
                "panic", "closures 1000", "churn 50", "grow 100000", "stale",
                "taskfault null", "demo all"]:
        out = m.cmd(cmd, timeout=300)
        expect_survived(m, out, cmd)
        if cmd in must_stop:
            expect_re(r"out of memory", out, "output of %s" % cmd)
        if cmd == "bench":
            expect_no_zero_figures(out)
            expect_in("bench: done", out)
            expect_re(r"^bench: parked_mem: .*(out of memory|only \d+ of 100000).*no figure", out)
        elif cmd == "demo all":
            for part in re.split(r"^==== demo ", out, flags=re.M)[1:]:
                expect_honest(part, "demo all, demo " + part.split("\n")[0])
        else:
            expect_honest(out, cmd)
        for demo in ("swap", "incr"):
            if cmd == demo:
                expect_re(r"^%s: no verdict about Go$" % demo, out)
    out = m.cmd("tasks")
    expect_re(r"tasks: \d+ spawned, %d live" % len(parked), out)  # nothing left behind


def test_after_memory_comes_back_the_demos_match_go_again(m):
    for tid in reversed(parked):
        expect_in("checksum ok", m.cmd("resume %s" % tid))
    expect_in("swap: 3 of 3 match Go", m.cmd("swap"))
    expect_in("escape: 6 of 6 as expected", m.cmd("escape"))
    expect_in("hotsplit: both loops computed the same sum", m.cmd("hotsplit", timeout=120))
    out = m.cmd("tasks")
    expect(not re.search(r"^ +\d+ ", out, re.M), "tasks left behind:\n" + out)
