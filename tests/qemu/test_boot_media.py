"""Boot media of real PCs: the image as a USB stick (XHCI + usb-storage), a
SATA disk on an AHCI controller, an NVMe disk (ovmf/qemu.py's drive=), on
q35 and, for the USB stick, on pc too. OVMF finds the ESP on each and
boots it; the kernel's banner and a command show the whole system came up.
The firmware names the device it booted from, so each test also checks
the boot was really from that medium and not from another disk."""
from harness import expect_in, expect_not_in, expect_re, own_machine

FIRMWARE_PATH = {  # the device path OVMF prints in "BdsDxe: starting Boot000N ..."
    "ide": r"/(Sata|Ata)\(",
    "usb": r"/USB\(",
    "ahci": r"Pci\((?!0x1F,0x2\))[^)]*\)/Sata\(",  # not q35's own AHCI at 00:1f.2
    "nvme": r"/NVMe\(",
}


def medium(drive, machine="q35"):
    def mark(fn):
        fn = own_machine(fn)
        fn.machine_config = dict(machine=machine, memory="512M", drive=drive)
        return fn
    return mark


def check(m, drive):
    boot = m.out  # the firmware's lines and the kernel's, over serial
    started = expect_re(r"^BdsDxe: starting Boot\w+ .*$", boot, "boot log").group(0)
    expect_re(FIRMWARE_PATH[drive], started, "firmware's boot line")
    expect_re(r"morestack \S+: kernel at 0x[0-9a-f]+ \(phys 0x[0-9a-f]+, \d+ KiB\), "
              r"firmware EDK II", boot, "boot log")
    expect_in("commands:", m.cmd("help"))
    expect_in("wx: ok, no page is both writable and executable", m.cmd("wx"))


@medium("usb")
def test_usb_stick_on_xhci(m):
    check(m, "usb")


@medium("usb", "pc")
def test_usb_stick_on_xhci_pc(m):
    check(m, "usb")


@medium("ahci")
def test_sata_disk_on_ahci(m):
    check(m, "ahci")


@medium("nvme")
def test_nvme_disk(m):
    check(m, "nvme")


@medium("ide", "pc")
def test_ide_disk_pc(m):
    check(m, "ide")


@own_machine
def test_usb_stick_without_serial_port(m):
    """The shape of most PCs the image goes to: a USB stick, a screen and a
    keyboard, no serial port. The kernel comes up on the screen and takes
    commands typed on the PS/2 keyboard."""
    expect_re(r"^boot: [\d.]+ ms from efi_main to this prompt", m.boot_log, "boot log on the screen")
    expect_not_in("morestack", m.out, "QEMU's stdout (no serial port)")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", m.cmd("version"), "version on the screen")
    expect_in("wx: ok, no page is both writable and executable", m.cmd("wx"), "wx on the screen")


test_usb_stick_without_serial_port.machine_config = dict(machine="q35", memory="512M",
                                                         drive="usb", serial=False)
