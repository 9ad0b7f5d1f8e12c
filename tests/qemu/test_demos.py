"""The demos: what they print matches Go, and what they draw is the live
stack: real addresses inside the task's stack, pointers equal to the
addresses they point at, changes marked. 80 columns at most."""
import re

from harness import expect, expect_equal, expect_in, expect_re

MACHINE = dict(machine="q35", memory="512M")


def rows(drawing):
    """{label: (address, value, changed)} of one drawing."""
    out = {}
    for addr, value, what, star in re.findall(
            r"^  (0x[0-9a-f]{16}) \| (0x[0-9a-f]{16}) \| (.{32}) \|( \*)?$", drawing, re.M):
        label = what.split(" -> ")[0].strip()
        out[label] = (int(addr, 16), int(value, 16), bool(star))
    return out


def drawings(out):
    """The drawings of a demo's output, in order, keyed by their titles."""
    parts = re.split(r"\n  ((?:inside|after)[^\n]*)\n", out)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def test_swap_matches_go_and_draws_the_live_frames(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("swap")
    expect_in("swap(a, b);    println(a, b)   // 1 2", out)           # the Go source first
    expect_re(r"swap\(a, b\) +Go prints: 1 2 +here: 1 2 +matches Go", out)
    expect_re(r"swapp\(&a, &b\) +Go prints: 2 1 +here: 2 1 +matches Go", out)
    expect_re(r"swapp, moved +Go prints: 2 1 +here: 2 1 +matches Go", out)
    expect_in("swap: 3 of 3 match Go", out)
    for line in out.splitlines():
        expect(len(line) <= 80, "line over 80 columns: %r" % line)
    lo, hi = (int(x, 16) for x in expect_re(
        r"stack: \[(0x[0-9a-f]+), (0x[0-9a-f]+)\) 4 KiB \(at the start\)", out).groups())
    d = drawings(out)
    expect_equal(6, len(d), "number of drawings")
    # swap: its copies change, main's a and b do not; all cells in the stack.
    before, after = rows(d[0][1]), rows(d[1][1])
    for r in (before, after):
        for label, (addr, _, _) in r.items():
            expect(lo <= addr < hi, "%s at %#x outside the stack [%#x, %#x)" % (label, addr, lo, hi))
    expect_equal((1, 2), (before["main: a"][1], before["main: b"][1]), "main's a, b before swap")
    expect_equal((2, 1), (after["swap: a (a copy of main's a)"][1],
                          after["swap: b (a copy of main's b)"][1]), "swap's copies after")
    expect(after["swap: a (a copy of main's a)"][2] and not after["main: a"][2],
           "only swap's copies are marked changed")
    expect(before["swap: a (a copy of main's a)"][0] < before["main: a"][0],
           "the callee's frame is below the caller's")
    # swapp: its copies are the addresses of main's a and b; main's a, b change.
    before, after = rows(d[2][1]), rows(d[3][1])
    expect_equal(before["main: a"][0], before["swapp: a (copy of &a)"][1], "&a in swapp")
    expect_equal(before["main: b"][0], before["swapp: b (copy of &b)"][1], "&b in swapp")
    expect_equal((2, 1), (after["main: a"][1], after["main: b"][1]), "main's a, b after swapp")
    expect(after["main: a"][2] and after["main: b"][2], "main's a and b are marked changed")
    # the moved run: old and new ranges; the copies adjusted to the new addresses.
    old_a, new_a = (int(x, 16) for x in expect_re(
        r"swapp's copy of &a was (0x[0-9a-f]+), now (0x[0-9a-f]+)", out).groups())
    olo, ohi, nlo, nhi = (int(x, 16) for x in expect_re(
        r"moved the stack \(\d+ moves\):\n    from \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)\n"
        r"      to \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", out).groups())
    expect(olo <= old_a < ohi and nlo <= new_a < nhi, "&a moved from the old stack to the new")
    last = rows(d[5][1])
    expect_equal(new_a, last["main: a"][0], "main's a is where swapp's adjusted pointer says")
    expect_equal((2, 1), (last["main: a"][1], last["main: b"][1]), "main's a, b after the moved swapp")
    expect_in("commands:", m.cmd("help"))


def test_swap_fifty_times_leaks_nothing(m):
    m.cmd("swap")
    before = expect_re(r"heap: (\d+) objects, (\d+) bytes live", m.cmd("tasks")).groups()
    for _ in range(50):
        expect_in("swap: 3 of 3 match Go", m.cmd("swap"))
    out = m.cmd("tasks")
    expect_equal(before, expect_re(r"heap: (\d+) objects, (\d+) bytes live", out).groups(),
                 "heap objects and bytes after 50 runs")
    expect_re(r"0 live; stacks: 0 KiB mapped", out)
