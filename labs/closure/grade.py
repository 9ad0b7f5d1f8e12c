"""Grades lab closure: the trampoline stub (runtime/closure_stubs.S) loads
the environment into %r10 and jumps to the code; no page is W+X."""
from harness import expect_in, expect_re
from gradelib import points


@points(10)
def test_the_counter_generator_matches_go(m):
    out = m.cmd("closure", timeout=60)
    expect_in("closure: 3 of 3 match Go", out)


@points(10)
def test_ten_thousand_counters_count_on_their_own(m):
    out = m.cmd("closures 10000", timeout=180)
    expect_re(r"closures: 10000 counters made, 0 counted wrong", out)
    expect_in("closures: two closures over one variable: inc(); inc(); get() = 2", out)


@points(5)
def test_no_page_is_writable_and_executable(m):
    expect_in("wx: ok, no page is both writable and executable", m.cmd("wx"))
