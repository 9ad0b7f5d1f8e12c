"""The built disk image (tools/usb.mk): its GPT, read here byte by byte, puts
the EFI system partition on 2048-sector boundaries at both ends; sgdisk -v
finds nothing to say; the FAT boot sector's hidden sectors are the
partition's start and its size is the partition's; fsck.fat finds it clean
and BOOTX64.EFI on it is the one just built."""
import os
import struct
import subprocess
import tempfile
import unittest

from usbtest import BUILD, IMAGE, need_image

SECTOR = 512
ESP_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"


def guid(raw):
    a, b, c = struct.unpack_from("<IHH", raw)
    return "%08X-%04X-%04X-%s-%s" % (a, b, c, raw[8:10].hex().upper(), raw[10:16].hex().upper())


def partitions(path):
    """The GPT's used entries as (type GUID, first LBA, last LBA)."""
    with open(path, "rb") as f:
        f.seek(SECTOR)
        hdr = f.read(92)
        if hdr[:8] != b"EFI PART":
            raise AssertionError("%s: no GPT header at LBA 1" % path)
        entries_lba, count, size = struct.unpack_from("<QII", hdr, 72)
        f.seek(entries_lba * SECTOR)
        table = f.read(count * size)
    out = []
    for i in range(count):
        e = table[i * size:(i + 1) * size]
        if e[:16] != bytes(16):
            first, last = struct.unpack_from("<QQ", e, 32)
            out.append((guid(e[:16]), first, last))
    return out


class Image(unittest.TestCase):
    def setUp(self):
        need_image()
        self.parts = partitions(IMAGE)
        self.assertEqual(len(self.parts), 1, "one partition: %r" % self.parts)
        self.type, self.first, self.last = self.parts[0]
        with open(IMAGE, "rb") as f:
            f.seek(self.first * SECTOR)
            self.boot = f.read(SECTOR)

    def test_one_efi_system_partition(self):
        self.assertEqual(self.type, ESP_GUID)

    def test_partition_starts_and_ends_on_2048_sector_boundaries(self):
        self.assertEqual(self.first, 2048)
        self.assertEqual(self.first % 2048, 0, "start LBA %d" % self.first)
        self.assertEqual((self.last + 1) % 2048, 0, "end LBA %d" % self.last)
        # ...and inside the usable area: the backup GPT takes the disk's last 33 sectors.
        self.assertLessEqual(self.last, os.path.getsize(IMAGE) // SECTOR - 34)

    def test_sgdisk_verify_clean(self):
        r = subprocess.run(["sgdisk", "-v", IMAGE], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        text = r.stdout + r.stderr
        self.assertIn("No problems found", text)
        for word in ("Caution", "Warning", "doesn't end", "Problem:"):
            self.assertNotIn(word, text)

    def test_hidden_sectors_are_the_partition_start(self):
        self.assertEqual(self.boot[510:512], b"\x55\xaa", "FAT boot sector signature")
        self.assertEqual(self.boot[82:90], b"FAT32   ")
        hidden, = struct.unpack_from("<I", self.boot, 0x1c)
        self.assertEqual(hidden, self.first)
        # mtools reads the same field.
        r = subprocess.run(["minfo", "-i", "%s@@%d" % (IMAGE, self.first * SECTOR), "::"],
                           capture_output=True, text=True)
        self.assertIn("hidden sectors: %d" % self.first, r.stdout, r.stdout + r.stderr)

    def test_filesystem_size_is_the_partition_size(self):
        total, = struct.unpack_from("<I", self.boot, 0x20)
        self.assertEqual(total, self.last - self.first + 1)

    def test_fsck_clean_and_loader_present(self):
        with tempfile.TemporaryDirectory() as d:
            esp = os.path.join(d, "esp.img")
            with open(IMAGE, "rb") as src, open(esp, "wb") as dst:
                src.seek(self.first * SECTOR)
                dst.write(src.read((self.last - self.first + 1) * SECTOR))
            r = subprocess.run(["fsck.fat", "-n", esp], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            efi = os.path.join(d, "BOOTX64.EFI")
            subprocess.run(["mcopy", "-n", "-i", esp, "::/EFI/BOOT/BOOTX64.EFI", efi], check=True)
            with open(efi, "rb") as a, open(os.path.join(BUILD, "BOOTX64.EFI"), "rb") as b:
                self.assertEqual(a.read(), b.read(), "BOOTX64.EFI on the image is the built one")
