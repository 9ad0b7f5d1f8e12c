"""Grades lab chan: the direct hand-overs of runtime/chan.c (send_now to a
waiting receiver, recv_now from a waiting sender)."""
from harness import expect_in
from gradelib import points


@points(10)
def test_tokens_pass_through_a_buffered_channel(m):
    out = m.cmd("churn 40 7", timeout=180)
    expect_in("churn: 40 tasks, 40 checksums ok, 0 killed, 0 broken links", out)
    expect_in("(sums equal)", out)


@points(15)
def test_the_fuzzers_channel_traffic_is_exact(m):
    # Unbuffered requests, buffered pools and replies, checked against the model.
    out = m.cmd("fuzz 10 99", timeout=300)
    expect_in("fuzz: seeds 99..108: 0 of 10 failed", out)
