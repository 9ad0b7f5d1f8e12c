"""poweroff and reboot, one method at a time, on q35 and pc: each method
really ends QEMU (the harness runs it with -no-reboot, so a reset ends it
too, with status 0) and the kernel says which method it used and nothing
after it; a method that cannot work here says why and the shell goes on;
a bad word is a usage error and the machine stays up."""
from harness import expect, expect_equal, expect_in, expect_not_in, expect_re, own_machine

MACHINE = dict(machine="q35", memory="256M")

REBOOT = ["efi", "acpi", "cf9", "kbd", "triple"]
POWEROFF = ["efi", "acpi"]


def ends_qemu(m, command, method, others):
    m.send(command + "\r")
    expect_equal(0, m.wait_exit(60), "QEMU exit status after %r" % command)
    out = m.rest()
    verb = command.split()[0]
    expect_in("%s: trying %s\n" % (verb, method), out)
    expect_not_in("did not work", out)
    for other in others:
        if other != method:
            expect_not_in("%s: trying %s\n" % (verb, other), out)
    return out


def power_test(kind, command, *facts):
    """A test on its own `kind` machine: `command` ends QEMU; facts are regexes of its output."""
    verb, method = command.split()
    others = REBOOT if verb == "reboot" else POWEROFF

    @own_machine
    def test(m):
        out = ends_qemu(m, command, method, others)
        for fact in facts:
            expect_re(fact, out, "output of %r" % command)
    test.machine_config = dict(machine=kind, memory="256M")
    return test


# q35 (ICH9): ACPI PM1a_CNT at 0x604 and a reset register, both from the FADT.
test_q35_poweroff_efi = power_test("q35", "poweroff efi")
test_q35_poweroff_acpi = power_test(
    "q35", "poweroff acpi", r"poweroff: acpi: PM1a_CNT port 0x604 <- 0x[0-9a-f]+ \(SLP_TYP 0, SLP_EN\)")
test_q35_reboot_efi = power_test("q35", "reboot efi")
test_q35_reboot_acpi = power_test("q35", "reboot acpi", r"reboot: acpi: RESET_REG port 0xcf9 <- 0x")
test_q35_reboot_cf9 = power_test("q35", "reboot cf9")
test_q35_reboot_kbd = power_test("q35", "reboot kbd", r"reboot: kbd: keyboard controller 0x64 <- 0xfe")
test_q35_reboot_triple = power_test("q35", "reboot triple", r"reboot: triple: an empty IDT")

# pc (PIIX4): its PM block wherever the FADT says (0xb000 or 0x600 + 4).
test_pc_poweroff_efi = power_test("pc", "poweroff efi")
test_pc_poweroff_acpi = power_test(
    "pc", "poweroff acpi", r"poweroff: acpi: PM1a_CNT port 0x(b004|604) <- 0x[0-9a-f]+ \(SLP_TYP 0, SLP_EN\)")
test_pc_reboot_efi = power_test("pc", "reboot efi")
test_pc_reboot_cf9 = power_test("pc", "reboot cf9")
test_pc_reboot_kbd = power_test("pc", "reboot kbd")
test_pc_reboot_triple = power_test("pc", "reboot triple")


@own_machine
def test_pc_reboot_acpi_is_refused_and_the_shell_goes_on(m):
    # pc's FADT is ACPI 1.0 (116 bytes): no reset register to use.
    out = m.cmd("reboot acpi")
    expect_in("reboot: acpi: the FADT does not flag a reset register as supported", out)
    expect_in("reboot: acpi did not work; the machine is still up", out)
    expect_in("commands:", m.cmd("help"))
    m.send("reboot\r")  # every method in order: efi first, and it works
    expect_equal(0, m.wait_exit(60), "QEMU exit status after reboot")
    out = m.rest()
    expect_in("rebooting...", out)
    expect_in("reboot: trying efi", out)
    expect_not_in("reboot: trying acpi", out)


test_pc_reboot_acpi_is_refused_and_the_shell_goes_on.machine_config = dict(machine="pc", memory="256M")


@own_machine
def test_kbd_without_a_controller_is_refused(m):
    out = m.cmd("reboot kbd")
    expect_in("reboot: kbd: no keyboard controller (port 0x64 reads 0xff)", out)
    expect_in("reboot: kbd did not work; the machine is still up", out)
    expect_in("commands:", m.cmd("help"))


test_kbd_without_a_controller_is_refused.machine_config = dict(machine="q35,i8042=off",
                                                               memory="256M")


def test_bad_words_are_usage_errors(m):
    for line, usage in (("reboot now", "reboot: no method 'now'; usage: reboot "
                         "[efi|acpi|cf9|kbd|triple]"),
                        ("poweroff cf9", "poweroff: no method 'cf9'; usage: poweroff [efi|acpi]"),
                        ("poweroff efi acpi", "poweroff: usage: poweroff [efi|acpi]"),
                        ("reboot EFI", "reboot: no method 'EFI'")):
        out = m.cmd(line)
        expect_in(usage, out)
        expect_not_in("trying", out)
    expect(m.proc.poll() is None, "QEMU exited after a bad word")
    expect_in("commands:", m.cmd("help"))
