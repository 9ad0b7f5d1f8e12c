"""Grades lab adjust: stacks grow by moving, and every pointer into them
follows (runtime/stackmove.c adjust_word, adjust_registers)."""
from harness import expect, expect_in, expect_re
from gradelib import points


@points(10)
def test_a_deep_recursion_keeps_every_link(m):
    out = m.cmd("grow 300 64", timeout=120)
    expect_re(r"task \d+: 300 frames deep and back: checksum ok, chain checked \d+ times, "
              r"every link intact", out)
    n = int(expect_re(r"(\d+) pointers adjusted", out).group(1))
    expect(n > 300, "each frame's link to its caller is adjusted at each move: %d adjusted" % n)


@points(10)
def test_many_tasks_grow_and_shrink(m):
    out = m.cmd("churn 60 11", timeout=180)
    expect_in("churn: 60 tasks, 60 checksums ok, 0 killed, 0 broken links", out)


@points(10)
def test_moves_at_random_instructions(m):
    expect_in("stress: on", m.cmd("stress on"))
    out = m.cmd("fuzz 8 4242", timeout=300)
    m.cmd("stress off")
    expect_in("fuzz: seeds 4242..4249: 0 of 8 failed", out)
