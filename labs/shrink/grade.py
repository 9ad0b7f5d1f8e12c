"""Grades lab shrink: stacks a task no longer uses are halved when it
stops running, and nothing breaks (runtime/stack.c rt_stack_maybe_shrink)."""
from harness import expect, expect_in, expect_re
from gradelib import points


@points(10)
def test_churn_shrinks_stacks_and_keeps_every_value(m):
    out = m.cmd("churn 60 7", timeout=180)
    expect_in("churn: 60 tasks, 60 checksums ok, 0 killed, 0 broken links", out)
    shrinks = int(expect_re(r"(\d+) shrinks in", out).group(1))
    expect(shrinks > 0, "tasks that came back up and yielded were shrunk: %d shrinks" % shrinks)


@points(10)
def test_the_fuzzer_still_passes(m):
    out = m.cmd("fuzz 10 777", timeout=300)
    expect_in("fuzz: seeds 777..786: 0 of 10 failed", out)


@points(5)
def test_no_thrashing_at_a_boundary(m):
    out = m.cmd("hotsplit", timeout=120)
    grows = int(expect_re(r"contiguous stacks: (\d+) stack growths?", out).group(1))
    expect_in("hotsplit: both loops computed the same sum", out)
    expect(grows <= 2, "a loop at a stack boundary grows once, not at every call: %d" % grows)
