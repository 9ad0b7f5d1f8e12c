"""labs/gradelib.py: what a lab's grade.py uses beside the QEMU harness
(tests/qemu/harness.py: Machine, expect_in, expect_re, own_machine...).

    from gradelib import points

    @points(10)
    def test_the_trace_names_the_callers(m):   # m: a booted Machine
        ...

A test without @points is worth 1.
"""


def points(n):
    def mark(fn):
        fn.points = n
        return fn
    return mark
