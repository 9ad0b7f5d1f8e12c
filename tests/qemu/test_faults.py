"""Kernel faults: each exception gives a full report and ends QEMU with the
fault exit status (99) under tests. Each test crashes its own machine."""
from harness import (EXIT_KERNEL_FAULT, expect, expect_equal, expect_in, expect_re, kernel_symbol,
                     own_machine)


def crash(m, kind):
    """Runs `crash kind`; returns the fault report after QEMU exited with status 99."""
    m.send("crash %s\r" % kind)
    code = m.wait_exit(60)
    report = m.rest()
    expect_equal(EXIT_KERNEL_FAULT, code, "QEMU exit status after crash %s" % kind)
    expect_in("*** kernel fault:", report, "fault report")
    for reg in ["RAX=", "RBX=", "RCX=", "RDX=", "RSI=", "RDI=", "RBP=", "RSP=", "R8 =", "R15=",
                "RIP=", "RFLAGS=", "CR0=", "CR2=", "CR3=", "CR4="]:
        expect_in(reg, report, "register dump")
    expect_in("*** morestack has halted: a fault in the kernel itself", report, "fault report")
    return report


def expect_backtrace(report, *functions):
    """The backtrace names these functions, in this order (innermost first)."""
    names = [l.split()[-1].split("+")[0] for l in report.splitlines() if l.startswith("  #")]
    pos = 0
    for f in functions:
        expect(f in names[pos:], "backtrace %s lacks %s (after #%d)" % (names, f, pos))
        pos = names.index(f, pos) + 1


@own_machine
def test_null_dereference(m):
    r = crash(m, "null")
    expect_in("*** kernel fault: #PF page fault (vector 14), error code 0x0", r)
    expect_in("cause: read from a non-present page in supervisor mode", r)
    expect_in("address (CR2): 0x0000000000000000, in page 0, never mapped: a null pointer", r)
    expect_re(r"at RIP 0xffffffff8[0-9a-f]{7} <cmd_crash\+0x[0-9a-f]+>", r)
    # run_line is inlined into shell_run: the trace shows the frames that exist.
    expect_backtrace(r, "cmd_crash", "shell_run", "kmain_on_kernel_stack")


@own_machine
def test_write_to_rodata(m):
    r = crash(m, "rodata")
    expect_in("#PF page fault (vector 14), error code 0x3", r)
    expect_in("cause: write to a present page (read-only) in supervisor mode", r)
    expect_in("address (CR2): %#018x, in the kernel image" % kernel_symbol("rodata_word"), r)


@own_machine
def test_execute_data(m):
    r = crash(m, "nx")
    expect_in("#PF page fault (vector 14), error code 0x11", r)
    expect_in("cause: instruction fetch from a present page (no-execute) in supervisor mode", r)
    addr = kernel_symbol("data_word")
    expect_in("at RIP %#018x <data_word+0x0>" % addr, r)
    expect_backtrace(r, "data_word", "shell_run", "kmain_on_kernel_stack")


@own_machine
def test_invalid_opcode(m):
    r = crash(m, "ud")
    expect_in("#UD invalid opcode (vector 6), error code 0x0", r)
    expect_re(r"at RIP 0x[0-9a-f]{16} <cmd_crash\+0x[0-9a-f]+>", r)


@own_machine
def test_divide_by_zero(m):
    r = crash(m, "div0")
    expect_in("#DE divide error (vector 0)", r)
    expect_re(r"<cmd_crash\+0x[0-9a-f]+>", r)


@own_machine
def test_non_canonical_access(m):
    r = crash(m, "gp")
    expect_in("#GP general protection (vector 13), error code 0x0", r)


@own_machine
def test_breakpoint(m):
    r = crash(m, "bp")
    expect_in("#BP breakpoint (vector 3)", r)


@own_machine
def test_kernel_stack_overflow_hits_the_guard(m):
    # The #PF handler runs on its own IST stack, so it can report running
    # out of the kernel stack instead of faulting again (a #DF).
    r = crash(m, "overflow")
    expect_in("#PF page fault (vector 14), error code 0x2", r)
    expect_re(r"address \(CR2\): 0xffffd000000e[0-9a-f]{4}, in the guard region below kernel "
              r"stack 0 \[0xffffd000000f0000, 0xffffd00000100000\): a kernel stack overflow", r)
    expect_backtrace(r, "overflow_stack", "overflow_stack", "cmd_crash")
    # The recursion is one line, not 32: the same return address, folded.
    n = int(expect_re(r"^  \.\.\. (\d+) more frames returning to the same place "
                      r"\(overflow_stack\+0x[0-9a-f]+\)$", r).group(1))
    expect(n > 100, "only %d frames folded" % n)
    lines = [l for l in r.splitlines() if l.startswith("  #")]
    expect(len(lines) < 20, "%d backtrace lines:\n%s" % (len(lines), "\n".join(lines)))


@own_machine
def test_stack_clash_probes_stop_a_huge_frame_at_the_guard(m):
    # big_frame's 1.5 MiB frame is larger than the stack slot. The probes of
    # -fstack-clash-protection touch each page going down, so the first
    # fault is just below the mapped stack, not 1.5 MiB under it.
    r = crash(m, "bigframe")
    expect_re(r"address \(CR2\): 0xffffd000000ef[0-9a-f]{3}, in the guard region below kernel "
              r"stack 0", r)
    expect_re(r"at RIP 0x[0-9a-f]{16} <big_frame\+0x[0-9a-f]+>", r)


@own_machine
def test_crash_usage(m):
    out = m.cmd("crash")
    expect_in("crash: usage: crash null|rodata|nx|ud|div0|gp|overflow|bigframe|bp", out)
    expect_in("crash: usage", m.cmd("crash nothing"))
    expect_in("commands:", m.cmd("help"))
