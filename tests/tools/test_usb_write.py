"""tools/usb.py write: every unsafe target is refused with one line and
nothing written; a good stick (a file standing in for a USB disk that a fake
lsblk describes) and a dry-run image file are written, read back and
verified; a changed byte on the medium is caught."""
import os
import subprocess
import sys

from usbtest import IMAGE, MiB, USB_PY, FakeSystem, clean_env, make, need_image, sha256


class Refusals(FakeSystem):
    def setUp(self):
        super().setUp()
        need_image()

    def test_mounted_partition_refused(self):
        d = self.disk("sdz", parts=[("1", ["/media/user/STICK"])])
        self.set_disks(d)
        line = self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdz"),
                                  "mounted on /media/user/STICK", "unmount")
        self.assertIn("sdz1", line)

    def test_mounted_per_mountinfo_refused(self):
        # lsblk sees no mount point (another mount namespace); the kernel's table does.
        d = self.disk("sdz", majmin="240:16", parts=[("1", [None])])
        self.set_disks(d)
        self.set_mountinfo(self.read_mountinfo() +
                           "40 27 240:17 / /mnt/stick rw - vfat /dev/sdz1 rw\n")
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdz"),
                           "mounted on /mnt/stick", "unmount")

    def test_swap_on_disk_refused(self):
        d = self.disk("sdz", parts=[("1", ["[SWAP]"])])
        self.set_disks(d)
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdz"), "[SWAP]")

    def test_internal_disk_refused(self):
        d = self.disk("sdz", rm=False, tran="sata", model="Samsung SSD 870")
        self.set_disks(d)
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdz"),
                           "neither removable nor on USB", "sata")

    def test_nvme_disk_refused_old_lsblk_strings(self):
        # Older lsblk versions print RM as "0"/"1" strings.
        d = self.disk("nvme9n1", rm="0", tran="nvme")
        self.set_disks(d)
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "nvme9n1"),
                           "neither removable nor on USB")

    def test_root_disk_refused(self):
        # A system running from a USB disk: removable, on USB, and holding /.
        d = self.disk("sdz", parts=[("1", ["/boot/efi"]), ("2", ["/"])])
        self.set_disks(d)
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdz"),
                           "holds /", "running system")

    def test_root_disk_per_mountinfo_refused(self):
        # lsblk shows no mount points; /proc/self/mountinfo says / is on sdz2 (240:18).
        d = self.disk("sdz", parts=[("1", [None]), ("2", [None])])
        self.set_disks(d)
        self.set_mountinfo("27 1 240:18 / / rw,relatime - ext4 /dev/root rw\n")
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdz"),
                           "holds / ", "running system")

    def test_boot_efi_disk_refused(self):
        d = self.disk("sdz", parts=[("1", [None])])
        self.set_disks(d)
        self.set_mountinfo("27 1 254:1 / / rw - ext4 /dev/vda1 rw\n"
                           "28 27 240:17 / /boot/efi rw - vfat %s rw\n" % d["children"][0]["path"])
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdz"),
                           "holds /boot/efi")

    def test_partition_refused(self):
        d = self.disk("sdz", parts=[("1", [None])])
        self.set_disks(d)
        part = d["children"][0]["path"]
        self.assertRefused(self.usb("write", IMAGE, part, "--yes", "sdz1"),
                           "is a partition", "give the disk, " + d["path"])

    def test_loop_device_refused(self):
        d = self.disk("loop7", type="loop", rm=False, tran=None)
        self.set_disks(d)
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "loop7"),
                           "is a loop device, not a disk")

    def test_missing_device_refused(self):
        self.set_disks(self.disk("sdz"))
        missing = os.path.join(self.dir, "sdq")
        self.assertRefused(self.usb("write", IMAGE, missing, "--yes", "sdq"),
                           "no device " + missing, "lsblk")
        self.assertFalse(os.path.exists(missing))

    def test_missing_device_refused_real_lsblk(self):
        # The real lsblk and mount table: a device that is not there.
        r = subprocess.run([sys.executable, USB_PY, "write", IMAGE, "/dev/morestack-no-such-disk",
                            "--yes", "morestack-no-such-disk"], capture_output=True, text=True,
                           env=clean_env(), input="")
        self.assertRefused(r, "no device /dev/morestack-no-such-disk")

    def test_device_lsblk_does_not_list_refused(self):
        self.set_disks(self.disk("sdz"))
        other = self.disk_file("notadisk")
        self.assertRefused(self.usb("write", IMAGE, other, "--yes", "notadisk"),
                           "lsblk does not list")

    def test_lsblk_failure_refused(self):
        self.set_disks(self.disk("sdz"))
        with open(self.lsblk, "w") as f:
            f.write("#!/bin/sh\necho 'lsblk: cannot read /sys' >&2\nexit 32\n")
        self.assertRefused(self.usb("write", IMAGE, os.path.join(self.dir, "sdz"), "--yes", "sdz"),
                           "cannot read /sys", "nothing is written")

    def test_too_small_refused(self):
        d = self.disk("sdz", size=16 * MiB)
        self.set_disks(d)
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdz"),
                           "use a larger stick")

    def test_confirmation_typed_wrong_refused(self):
        d = self.disk("sdz")
        self.set_disks(d)
        r = self.usb("write", IMAGE, d["path"], input="sda\n")
        self.assertIn("Type sdz to write it", r.stdout)
        self.assertIn("Fake Stick", r.stdout)  # the model shown before asking
        self.assertIn("80.0 MiB", r.stdout)    # and the size
        self.assertRefused(r, "confirmation 'sda' does not name sdz", "nothing written")

    def test_confirmation_end_of_input_refused(self):
        d = self.disk("sdz")
        self.set_disks(d)
        self.assertRefused(self.usb("write", IMAGE, d["path"], input=""),
                           "no confirmation", "--yes sdz")

    def test_yes_naming_another_disk_refused(self):
        d = self.disk("sdz")
        self.set_disks(d, self.disk("sdy", majmin="240:32"))
        self.assertRefused(self.usb("write", IMAGE, d["path"], "--yes", "sdy"),
                           "does not name sdz")

    def test_not_an_image_refused(self):
        d = self.disk("sdz")
        self.set_disks(d)
        junk = self.disk_file("junk.img", MiB)
        self.assertRefused(self.usb("write", junk, d["path"], "--yes", "sdz"), "no GPT header")

    def read_mountinfo(self):
        with open(self.mountinfo) as f:
            return f.read()


class Writes(FakeSystem):
    def setUp(self):
        super().setUp()
        need_image()
        self.size = os.path.getsize(IMAGE)

    def assertWritten(self, r, path):
        self.assertEqual(r.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        self.assertIn("wrote %d bytes" % self.size, r.stdout)
        self.assertIn("verified %d bytes" % self.size, r.stdout)
        self.assertIn("sha256 " + sha256(IMAGE), r.stdout)
        self.assertEqual(sha256(path, self.size), sha256(IMAGE), "the disk's first bytes")

    def test_good_usb_disk_written_and_verified(self):
        d = self.disk("sdz", size=80 * MiB, parts=[("1", [None])])
        self.set_disks(d, self.disk("vda", rm=False, tran=None, majmin="254:0",
                                    parts=[("1", ["/"])]))
        r = self.usb("write", IMAGE, d["path"], "--yes", "sdz")
        self.assertWritten(r, d["path"])
        self.assertIn("Fake Stick, 80.0 MiB, USB, removable", r.stdout)
        self.assertEqual(os.path.getsize(d["path"]), 80 * MiB, "a disk is not truncated")
        with open(self.lsblk_args) as f:
            args = f.read()
        for opt in ("-J", "-b", "MOUNTPOINTS", "RM", "TRAN"):
            self.assertIn(opt, args)

    def test_confirmation_typed_right_writes(self):
        d = self.disk("sdz")
        self.set_disks(d)
        self.assertWritten(self.usb("write", IMAGE, d["path"], input="sdz\n"), d["path"])

    def test_removable_card_reader_written(self):
        # An SD card in a built-in reader: removable though not on USB.
        d = self.disk("mmcblk9", tran=None, rm=True, model=None)
        self.set_disks(d)
        self.assertWritten(self.usb("write", IMAGE, d["path"], "--yes", d["path"]), d["path"])

    def test_dry_run_writes_and_verifies_a_file(self):
        out = os.path.join(self.dir, "stick.img")
        r = self.usb("write", "--dry-run", IMAGE, out, "--yes", out)
        self.assertWritten(r, out)
        self.assertEqual(os.path.getsize(out), self.size)
        # Written again over a bigger old file: the file becomes the image exactly.
        with open(out, "ab") as f:
            f.write(b"x" * MiB)
        self.assertWritten(self.usb("write", "--dry-run", IMAGE, out, "--yes", out), out)
        self.assertEqual(os.path.getsize(out), self.size)

    def test_dry_run_detects_corrupted_read_back(self):
        # The test hook changes one byte on the medium after the sync, as a
        # failing stick would; the read-back must report where.
        out = os.path.join(self.dir, "stick.img")
        at = 3 * MiB + 12345
        r = self.usb("write", "--dry-run", IMAGE, out, "--yes", out,
                     MORESTACK_USB_TEST_FLIP=str(at))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("wrote %d bytes" % self.size, r.stdout)
        self.assertNotIn("verified", r.stdout)
        self.assertIn("verify FAILED", r.stderr)
        self.assertIn("at byte %d" % at, r.stderr)

    def test_dry_run_refuses_a_device(self):
        r = self.usb("write", "--dry-run", IMAGE, "/dev/null", "--yes", "/dev/null")
        self.assertRefused(r, "is a device", "drop --dry-run")

    def test_dry_run_refuses_the_image_itself(self):
        copy = os.path.join(self.dir, "copy.img")
        with open(IMAGE, "rb") as src, open(copy, "wb") as dst:
            dst.write(src.read())
        self.hashes[copy] = sha256(copy)
        self.assertRefused(self.usb("write", "--dry-run", copy, copy, "--yes", copy),
                           "is the image itself")

    def test_dry_run_refuses_missing_folder(self):
        out = os.path.join(self.dir, "nofolder", "stick.img")
        self.assertRefused(self.usb("write", "--dry-run", IMAGE, out, "--yes", out),
                           "no folder")

    def test_make_usb_dryrun(self):
        out = os.path.join(self.dir, "make-stick.img")
        r = make("usb", "DEV=" + out, "DRYRUN=1", "YES=" + out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("dry run", r.stdout)
        self.assertWritten(r, out)

    def test_make_usb_refusal_fails_make(self):
        # The real lsblk: /dev/null is a device but no disk.
        r = make("usb", "DEV=/dev/null", "YES=null")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("usb: refused: lsblk does not list /dev/null", r.stderr)

    def test_help_explains_the_checks(self):
        for args in (["--help"], ["write", "--help"]):
            r = subprocess.run([sys.executable, USB_PY] + args, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0)
            for words in ("whole disk", "removable or on USB", "/boot/efi", "mounted",
                          "--yes NAME", "read back", "--dry-run"):
                self.assertIn(words, " ".join(r.stdout.split()), "help: " + " ".join(args))
