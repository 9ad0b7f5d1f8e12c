"""The Secure Boot rehearsal: OVMF's Secure Boot build refuses the unsigned
image and boots the one signed with Debian's snakeoil key when (and only
when) that key is enrolled.

The file's own boot is the control: the unsigned image the runner was given
(build/morestack.img) on the plain firmware. Every other boot is a Machine
of its own, on ovmf/qemu.py's firmware "secboot-snakeoil" (the snakeoil key
in PK, KEK and db) or "secboot-ms" (Microsoft's keys only), with
build/morestack-snakeoil.img (tools/usb.mk) where a signed image is needed.

What OVMF prints for a refused image (measured, ovmf 2022.11 in Debian 12):
    BdsDxe: failed to load Boot0002 "UEFI QEMU HARDDISK QM00001 " from ...: Access Denied
then its built-in shell is refused too ("Security Violation") and it ends at
    BdsDxe: No bootable option or device was found.
"""
import os
import re
import subprocess
import tempfile
import time

import harness
from harness import TestFailure, expect, expect_in, expect_re

SIGNED_IMAGE = os.path.join(harness.TOP, "build", "morestack-snakeoil.img")
SNAKEOIL_CERT = "/usr/share/ovmf/PkKek-1-snakeoil.pem"
LOGS = os.path.join(harness.TOP, "build", "qemu-logs")
# The kernel's banner (kernel/main.c) and the loader's first line (boot/loader.c).
BANNER = r"morestack \S+: kernel at"
LOADER = "morestack: kernel"
REFUSED = r'BdsDxe: failed to load (Boot\d+) "UEFI QEMU HARDDISK[^"]*" from [^\n]*: Access Denied'
NOTHING_LEFT = r"BdsDxe: No bootable option or device was found"
# A refusal comes within seconds of the firmware starting; the bound is for a loaded machine.
REFUSAL_TIMEOUT = 90
# After OVMF gave up, how long we go on watching that nothing of ours runs.
QUIET_SECONDS = 3


def efi_signatures(image):
    """sbverify --list of the image's /EFI/BOOT/BOOTX64.EFI (read out with mtools)."""
    if not os.path.exists(image):
        raise TestFailure("no %s: run make %s (make qemu-test builds it)"
                          % (image, os.path.relpath(image, harness.TOP)))
    with tempfile.TemporaryDirectory() as d:
        efi = os.path.join(d, "BOOTX64.EFI")
        subprocess.run(["mcopy", "-n", "-i", image + "@@1M", "::/EFI/BOOT/BOOTX64.EFI", efi],
                       check=True, capture_output=True)
        return subprocess.run(["sbverify", "--list", efi], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True).stdout


def machine(image, firmware, name):
    return harness.Machine(image, firmware=firmware,
                           log_path=os.path.join(LOGS, "test_secureboot.%s.log" % name))


def expect_refused(image, firmware, name):
    """Boots image on firmware; OVMF must refuse it and our code must never run."""
    m = machine(image, firmware, name)
    try:
        m.start()
        try:
            # The banner ends the wait too: a boot that was not refused fails at once.
            refused = m.wait_for("%s|%s|%s" % (REFUSED, BANNER, re.escape(LOADER)),
                                 REFUSAL_TIMEOUT)
            expect(refused.group(1), "OVMF did not refuse it: it started")
            m.wait_for(NOTHING_LEFT, REFUSAL_TIMEOUT)
        except TestFailure as e:
            raise TestFailure("%s on %s: %s\n  its serial log:\n%s"
                              % (os.path.basename(image), firmware, e, harness.indent(m.tail())))
        seconds = time.monotonic() - m.t0
        time.sleep(QUIET_SECONDS)
        out = m.out
        expect(not re.search(BANNER, out) and LOADER not in out,
               "%s ran on %s although OVMF refused it:\n%s"
               % (os.path.basename(image), firmware, harness.indent(m.tail())))
        print("  %s: %s refused %s (%s: Access Denied) after %.1f s"
              % (name, firmware, os.path.basename(image), refused.group(1), seconds), flush=True)
    finally:
        m.close()


def test_control_unsigned_boots_on_plain_firmware(m):
    # The premise of the refusals below: the image carries no signature, and
    # without Secure Boot it boots (this file's own boot).
    expect_in("No signature table present", efi_signatures(m.image), "sbverify --list")
    expect_re(BANNER, m.out, "control boot's serial output")
    expect_in("EDK II", m.cmd("version"), "version")


def test_unsigned_refused_with_snakeoil_keys(m):
    expect_refused(m.image, "secboot-snakeoil", "unsigned-snakeoil")


def test_unsigned_refused_with_microsoft_keys(m):
    expect_refused(m.image, "secboot-ms", "unsigned-ms")


def test_snakeoil_signed_boots_with_snakeoil_keys(m):
    expect_in("signature certificates", efi_signatures(SIGNED_IMAGE), "sbverify --list")
    s = machine(SIGNED_IMAGE, "secboot-snakeoil", "signed-snakeoil")
    try:
        try:
            boot = s.boot()
        except TestFailure as e:
            raise TestFailure("the snakeoil-signed image did not boot under Secure Boot: %s\n"
                              "  its serial log:\n%s" % (e, harness.indent(s.tail())))
        expect_re(r'BdsDxe: starting Boot\d+ "UEFI QEMU HARDDISK', boot, "firmware output")
        expect_re(BANNER, boot, "boot output")
        expect(not re.search(REFUSED, boot), "OVMF refused the signed image:\n" + boot)
        out = s.cmd("version")
        expect_in("EDK II", out, "version")
        expect_in("wx: ok", s.cmd("wx"), "wx")
        print("  signed-snakeoil: prompt after %.1f s under Secure Boot" % s.boot_seconds,
              flush=True)
    finally:
        s.close()


def test_snakeoil_signed_refused_with_microsoft_keys(m):
    # Signed, but by a key the firmware does not trust: a signature alone is not enough.
    expect_refused(SIGNED_IMAGE, "secboot-ms", "signed-ms")
