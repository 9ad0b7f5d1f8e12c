"""Grades lab switch: tasks start, yield, park and finish through the
context switch (runtime/context.S). A broken switch faults the kernel,
which ends the machine: the tests after it then fail too."""
from harness import expect_in, expect_re
from gradelib import points


@points(10)
def test_a_task_runs_and_returns(m):
    expect_re(r"task \d+: 12 frames deep and back: checksum ok", m.cmd("grow 12"))


@points(10)
def test_many_tasks_switch_and_pass_tokens(m):
    out = m.cmd("churn 50 7", timeout=120)
    expect_in("churn: 50 tasks, 50 checksums ok, 0 killed, 0 broken links", out)
    expect_in("churn: channel tokens:", out)
    expect_re(r"sums equal", out)


@points(5)
def test_a_parked_task_resumes(m):
    out = m.cmd("spawn 20")
    task = expect_re(r"task (\d+)", out).group(1)
    expect_re(r"task %s: 20 frames deep and back: checksum ok" % task, m.cmd("resume " + task))


@points(5)
def test_defer_runs_like_go(m):
    out = m.cmd("defer")
    expect_re(r"matches Go", out)
    expect_in("defer: 5 of 5 match Go", out)
