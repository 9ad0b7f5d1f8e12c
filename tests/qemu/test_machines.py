"""Boot on both QEMU machine types and at the memory extremes; the runtime
services work (poweroff and reboot end QEMU with status 0)."""
from harness import expect, expect_equal, expect_in, expect_re, own_machine


def machine(kind, memory):
    def mark(fn):
        fn = own_machine(fn)
        fn.machine_config = dict(machine=kind, memory=memory)
        return fn
    return mark


def check_boot(m, low, high, above_4g):
    out = m.cmd("mem")
    ram = int(expect_re(r"^RAM: (\d+) MiB, of it above 4 GiB: (\d+) MiB", out).group(1))
    high_mib = int(expect_re(r"above 4 GiB: (\d+) MiB", out).group(1))
    expect(low <= ram <= high, "RAM %d MiB, expected %d..%d" % (ram, low, high))
    if above_4g:
        expect(high_mib > 0, "no RAM above 4 GiB reported:\n" + out)
    free = int(expect_re(r"^physical pages: (\d+) free", out).group(1))
    expect(free * 4096 >= (low // 2) << 20, "only %d physical pages free" % free)
    expect_in("wx: ok", m.cmd("wx"))
    expect_in("=> not mapped", m.cmd("pt 0"))
    m.send("poweroff\r")
    expect_equal(0, m.wait_exit(60), "QEMU exit status after poweroff")


@machine("q35", "128M")
def test_q35_128m(m):
    check_boot(m, 100, 128, False)


@machine("q35", "8G")
def test_q35_8g(m):
    check_boot(m, 7900, 8192, True)


@machine("pc", "128M")
def test_pc_128m(m):
    check_boot(m, 100, 128, False)


@machine("pc", "8G")
def test_pc_8g(m):
    check_boot(m, 7900, 8192, True)


@machine("q35", "1G")
def test_reboot_through_runtime_services(m):
    m.send("reboot\r")
    # Under tests QEMU runs with -no-reboot: a reset ends it with status 0.
    expect_equal(0, m.wait_exit(60), "QEMU exit status after reboot")
    expect_in("rebooting...", m.rest())
