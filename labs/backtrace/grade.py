"""Grades lab backtrace: the kernel's fault report walks the frame-pointer
chain (kernel/symbolize.c backtrace_print). Each crash ends its machine."""
from harness import EXIT_KERNEL_FAULT, expect, expect_equal, own_machine
from gradelib import points


def trace_of(m, kind):
    """The names in the backtrace of `crash kind`, innermost first."""
    m.send("crash %s\r" % kind)
    expect_equal(EXIT_KERNEL_FAULT, m.wait_exit(60), "QEMU exit status after crash %s" % kind)
    report = m.rest()
    lines = report.split("backtrace (frame pointers):\n", 1)
    expect(len(lines) == 2, "no backtrace in the report:\n" + report)
    names = [l.split()[-1].split("+")[0] for l in lines[1].splitlines() if l.startswith("  #")]
    return names, lines[1]


@own_machine
@points(10)
def test_the_trace_reaches_the_kernels_first_frame(m):
    names, text = trace_of(m, "null")
    expect(names[:1] == ["cmd_crash"], "frame #0 is the faulting function: %s" % names)
    for caller in ("shell_run", "kmain_on_kernel_stack"):
        expect(caller in names[1:], "the trace %s lacks %s" % (names, caller))
    expect("trace ends" not in text, "the walk stopped on a bad frame pointer:\n" + text)


@own_machine
@points(5)
def test_the_order_is_callee_first(m):
    names, _ = trace_of(m, "div0")
    expect(names.index("shell_run") < names.index("kmain_on_kernel_stack"),
           "shell_run is called by kmain_on_kernel_stack, so it comes first: %s" % names)


@own_machine
@points(5)
def test_every_return_address_is_named(m):
    _, text = trace_of(m, "ud")
    frames = [l for l in text.splitlines() if l.startswith("  #")]
    expect(len(frames) >= 3, "at least three frames: %s" % frames)
    for l in frames:
        expect("+0x" in l, "a frame without a symbol: %r" % l)
