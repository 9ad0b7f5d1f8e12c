"""Settings are range-checked against what the runtime can do, and a
demo or benchmark whose task died says so, with the task's kill reason,
and gives no verdict about Go."""
import re

from harness import expect, expect_equal, expect_in, expect_not_in, expect_re

MACHINE = dict(machine="q35", memory="512M")

DEFAULT = 1000000000
RANGE = "allowed: 8192 to 1073741824 bytes"
# Words only a finished demo may print.
VERDICTS = ["matches Go", "DIFFERS FROM GO", "the same sum", "DIFFERENT SUMS", "match Go",
            "as expected"]


def expect_no_verdict(out, what):
    for v in VERDICTS:
        expect_not_in(v, out, what)


def expect_no_fault(out, what):
    expect_not_in("*** ", out, what)  # "*** kernel fault", "*** panic: runtime: ..."


def expect_80_columns(out):
    for line in out.splitlines():
        expect(len(line) <= 80, "line over 80 columns: %r" % line)


def expect_limit(m, value):
    expect_re(r"^stacklimit: %d bytes \(allowed: 8192 to 1073741824\)$" % value, m.cmd("stacklimit"))


def test_stacklimit_refuses_what_the_runtime_cannot_do(m):
    expect_limit(m, DEFAULT)
    for value, why in [
            ("0", "0 bytes is outside the allowed range"),
            ("1", "1 bytes is outside the allowed range"),
            ("4095", "4095 bytes is outside the allowed range"),
            ("8191", "8191 bytes is outside the allowed range"),
            ("1073741825", "1073741825 bytes is outside the allowed range"),
            ("100000000000000", "100000000000000 bytes is outside the allowed range"),
            ("9223372036854775808", "9223372036854775808 bytes is outside the allowed range"),
            ("18446744073709551615", "18446744073709551615 bytes is outside the allowed range"),
            ("18446744073709551616", "18446744073709551616 is too large: it does not fit in 64 bits"),
            ("99999999999999999999999", "99999999999999999999999 is too large: it does not fit in 64 bits"),
            ("lots", "'lots' is not a byte count"),
            ("-8192", "'-8192' is not a byte count"),
            ("8k", "'8k' is not a byte count"),
            ("0x2000", "'0x2000' is not a byte count")]:
        out = m.cmd("stacklimit " + value)
        expect_in("stacklimit: " + why, out, "output of 'stacklimit %s'" % value)
        expect_in(RANGE, out, "output of 'stacklimit %s'" % value)
        expect_in("the limit stays %d bytes" % DEFAULT, out, "output of 'stacklimit %s'" % value)
        expect_limit(m, DEFAULT)
    expect_in("stacklimit: usage: stacklimit [BYTES]", m.cmd("stacklimit 8192 8192"))
    for value in (8192, 1 << 30, DEFAULT):  # both ends of the range are accepted
        expect_equal("stacklimit: %d bytes" % value, m.cmd("stacklimit %d" % value).strip(),
                     "output of 'stacklimit %d'" % value)
        expect_limit(m, value)


def test_a_refused_huge_limit_leaves_the_escape_demo_intact(m):
    # Accepted before, this limit made stack moves adjust heap pointers:
    # escape ended in "panic: runtime: heap misused or corrupt".
    expect_in("outside the allowed range", m.cmd("stacklimit 100000000000000"))
    out = m.cmd("escape")
    expect_no_fault(out, "escape after a refused limit")
    expect_re(r"newInt +Go prints: 42 +here: 42 +matches Go", out)
    expect_in("escape: 6 of 6 as expected", out)
    expect_in("commands:", m.cmd("help"))


def killed(cmd, name, reason="stack overflow"):
    return r"^%s: task \d+ \(%s\) was killed: %s$" % (cmd, name, reason)


def test_a_small_limit_kills_demo_tasks_and_they_give_no_verdict(m):
    expect_in("color: off", m.cmd("color off"))
    expect_in("stacklimit: 8192 bytes", m.cmd("stacklimit 8192"))
    for demo in ("swap", "incr"):  # each moves its stack far past 8 KiB
        out = m.cmd(demo)
        expect_no_fault(out, demo)
        expect_in("runtime: goroutine stack exceeds 8192-byte limit", out)
        expect_re(killed(demo, demo), out)
        expect_re(r"^%s: no verdict about Go$" % demo, out)
        expect_no_verdict(out, "%s with an 8 KiB limit" % demo)
        expect_80_columns(out)
    out = m.cmd("escape")
    expect_no_fault(out, "escape")
    for case in ("newInt", "RetArg", "setNew", "New", "dep", "arg"):
        expect_re(killed("escape", case), out)
    expect_in("escape: no verdict about this case", out)
    expect_in("escape: 6 of 6 cases did not finish (above): no verdict about them", out)
    # setNew died of the limit while growing, not of its stale pointer.
    expect_not_in("reading *pt", out)
    expect_not_in("only the setNew task died", out)
    expect_no_verdict(out, "escape with an 8 KiB limit")
    expect_80_columns(out)
    # What fits in 8 KiB still runs and still has its verdict.
    expect_re(r"sum\(1, 2\) +Go prints: 5 +here: 5 +matches Go", m.cmd("frames"))
    expect_in("closure: 3 of 3 match Go", m.cmd("closure"))
    expect_in("hotsplit: both loops computed the same sum", m.cmd("hotsplit", timeout=120))
    expect_in("defer: 5 of 5 match Go; 0 deferred calls left pending; ok", m.cmd("defer"))
    expect_in("panic: ok", m.cmd("panic"))
    out = m.cmd("demo all", timeout=300)
    expect_no_fault(out, "demo all")
    for demo in ("swap", "incr"):
        expect_re(killed(demo, demo), out)
    expect_not_in("swap: 3 of 3", out)
    expect_not_in("incr: 5 of 5", out)
    expect_in("demo: all 11 demos ran", out)
    out = m.cmd("tasks")
    expect(not re.search(r"^ +\d+ ", out, re.M), "tasks left behind:\n" + out)
    expect_in("stacklimit: %d bytes" % DEFAULT, m.cmd("stacklimit %d" % DEFAULT))
    expect_in("swap: 3 of 3 match Go", m.cmd("swap"))
    expect_in("incr: 5 of 5 match Go", m.cmd("incr"))


def test_a_small_limit_leaves_bench_without_false_figures(m):
    expect_in("stacklimit: 8192 bytes", m.cmd("stacklimit 8192"))
    out = m.cmd("bench", timeout=300)
    expect_no_fault(out, "bench")
    expect_in("bench: done", out)
    figures = re.findall(r"^BENCH (\S+) morestack-qemu(?:-runtime)? (\d+(?:\.\d+)?) ", out, re.M)
    expect(figures, "no BENCH lines at all:\n" + out)
    for name, value in figures:
        expect(float(value) > 0, "BENCH %s printed %s" % (name, value))
    names = [n for n, _ in figures]
    expect("growth_ladder/4KiB" in names, "the 4 -> 8 KiB growth fits the limit: " + repr(names))
    expect("growth_ladder/8KiB" not in names, "8 -> 16 KiB is over the limit: " + repr(names))
    expect_in("bench: growth_ladder/8KiB and up: skipped: a 16384-byte stack is over the stack "
              "limit (8192 bytes)", out)
    expect_in("bench: short_lived: skipped", out)
    expect_in("stacklimit: %d bytes" % DEFAULT, m.cmd("stacklimit %d" % DEFAULT))
    expect_in("commands:", m.cmd("help"))


def test_stackreuse_switches_the_stack_cache_and_stale_pointers_still_fault(m):
    # Bare metal's default: fresh addresses for every stack.
    expect_in("stackreuse: off: every stack gets fresh addresses", m.cmd("stackreuse"))
    expect_in("stackreuse: usage: stackreuse [on|off]", m.cmd("stackreuse maybe"))
    expect_in("stackreuse: off", m.cmd("stackreuse"))  # a bad word changes nothing
    expect_80_columns(m.cmd("stackreuse on"))
    out = m.cmd("churn 200 11")
    expect_in("churn: ok", out)
    cached = int(expect_re(r"(-?\d+) in cached stacks", out).group(1))
    expect(cached > 0, "churn left %d pages in cached stacks with stackreuse on" % cached)
    out = m.cmd("stackreuse")
    kib, hits, fresh = map(int, expect_re(
        r"\((\d+) KiB cached; (\d+) taken from the cache, (\d+) mapped fresh\)", out).groups())
    expect(kib > 0 and hits > 0, "the cache was used: %d KiB, %d hits" % (kib, hits))
    expect_in("address space used (reused)", m.cmd("tasks"))
    # The stale-pointer demos unmap the stacks they leave, whatever the setting...
    out = m.cmd("stale")
    expect_in("went stale", out)
    expect_in("died; the shell goes on", out)
    expect_in("escape: 6 of 6 as expected", m.cmd("escape"))
    # ... and leave the setting as it was.
    expect_in("stackreuse: on", m.cmd("stackreuse"))
    # Turned off, the cache is emptied.
    expect_in("stackreuse: off", m.cmd("stackreuse off"))
    expect_re(r"stacks: \d+ KiB mapped, 0 KiB cached", m.cmd("tasks"))
    expect_in("(never reused)", m.cmd("tasks"))
    out = m.cmd("churn 50 3")
    expect_in("churn: ok", out)
    expect_in(" 0 in cached stacks,", out)
