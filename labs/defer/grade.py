"""Grades lab defer: the return-address hijack (runtime/defer.c frame_for,
rt_defer_return) behind Go's defer, recover and the guard."""
from harness import expect_in, expect_re, kernel_symbol
from gradelib import points


@points(10)
def test_the_return_address_is_the_trampoline_until_return(m):
    m.cmd("color off")
    out = m.cmd("incr", timeout=60)
    expect_in("incr: 5 of 5 match Go", out)
    tramp = kernel_symbol("rt_defer_trampoline")
    expect_re(r"\| %#x \| incr: return address" % tramp, out)


@points(10)
def test_recover_unwinds_through_deferring_frames(m):
    out = m.cmd("panic", timeout=60)
    expect_in('panic: through 100 frames: 100 deferred calls ran, recovered "deep trouble", '
              "top returned 7", out)
    expect_in("panic: ok", out)


@points(5)
def test_defer_programs_match_go(m):
    expect_in("defer: 5 of 5 match Go", m.cmd("defer", timeout=60))
