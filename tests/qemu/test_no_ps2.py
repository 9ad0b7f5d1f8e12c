"""A machine without an i8042 (q35 with i8042=off): the kernel probes, says
there is no PS/2 controller, skips it, and the shell works on the serial line."""
from harness import expect_in

MACHINE = dict(machine="q35,i8042=off", memory="512M")


def test_a_missing_controller_is_reported_and_skipped(m):
    expect_in("keyboard: no PS/2 controller (its status port reads 0xff): skipped", m.out)
    expect_in("commands:", m.cmd("help"))
