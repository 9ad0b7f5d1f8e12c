"""Helpers of the tools suite: paths of the build, running tools/usb.py and
make, and a fake system (lsblk's JSON, a mount table, disk files) for
tools/usb.py to inspect instead of the real one."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(TOP, "build")
IMAGE = os.path.join(BUILD, "morestack.img")
USB_PY = os.path.join(TOP, "tools", "usb.py")
MiB = 1 << 20

# An ordinary system's mount table: the root on a virtio disk, nothing on the fake disks.
MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,mode=755
27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw
28 27 254:2 / /boot/efi rw,relatime - vfat /dev/vda2 rw
29 27 0:25 / /tmp rw,relatime - tmpfs tmpfs rw
"""


def need_image():
    if not os.path.exists(IMAGE):
        raise unittest.SkipTest("no %s: run make image first" % IMAGE)


def sha256(path, length=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read() if length is None else f.read(length))
    return h.hexdigest()


def clean_env(**extra):
    """The environment minus the outer make's (a test may run make itself)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
           and not k.startswith("MORESTACK_")}
    env.update(extra)
    return env


def make(*args, **env):
    return subprocess.run(["make", "-C", TOP, "--no-print-directory"] + list(args),
                          capture_output=True, text=True, env=clean_env(**env), timeout=300)


class FakeSystem(unittest.TestCase):
    """Each test gets a folder with a fake lsblk, a fake mount table and disk
    files filled with a pattern (so "nothing written" can be checked)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="morestack-tools-")
        self.lsblk = os.path.join(self.dir, "lsblk")
        self.lsblk_json = os.path.join(self.dir, "lsblk.json")
        self.lsblk_args = os.path.join(self.dir, "lsblk.args")
        with open(self.lsblk, "w") as f:
            f.write('#!/bin/sh\n# a fake lsblk: records its arguments, prints the test\'s disks\n'
                    'echo "$@" > "%s"\ncat "%s"\n' % (self.lsblk_args, self.lsblk_json))
        os.chmod(self.lsblk, 0o755)
        self.mountinfo = os.path.join(self.dir, "mountinfo")
        self.set_mountinfo(MOUNTINFO)
        self.hashes = {}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def set_mountinfo(self, text):
        with open(self.mountinfo, "w") as f:
            f.write(text)

    def disk_file(self, name, size=80 * MiB):
        """A file standing in for a disk, its first MiBs a pattern; returns its path."""
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(bytes([0xa5, 0x5a]) * (MiB // 2) * 2)
            f.truncate(size)
        self.hashes[path] = sha256(path)
        return path

    def disk(self, name, size=80 * MiB, rm=True, tran="usb", model="Fake Stick",
             majmin="240:16", mountpoints=(None,), parts=(), type="disk"):
        """lsblk's JSON node of a disk backed by a file; parts: (suffix, mountpoints)."""
        path = self.disk_file(name, size)
        major, minor = majmin.split(":")
        node = {"name": name, "path": path, "type": type, "size": size, "model": model,
                "tran": tran, "rm": rm, "mountpoints": list(mountpoints), "maj:min": majmin}
        children = []
        for i, (suffix, mps) in enumerate(parts, 1):
            ppath = self.disk_file(name + suffix, MiB)
            children.append({"name": name + suffix, "path": ppath, "type": "part",
                             "size": MiB, "model": None, "tran": None, "rm": rm,
                             "mountpoints": list(mps), "maj:min": "%s:%d" % (major, int(minor) + i)})
        if children:
            node["children"] = children
        return node

    def set_disks(self, *nodes):
        with open(self.lsblk_json, "w") as f:
            json.dump({"blockdevices": list(nodes)}, f, indent=3)

    def usb(self, *args, input=None, **env):
        """Runs tools/usb.py with the fake lsblk and mount table."""
        e = clean_env(MORESTACK_LSBLK=self.lsblk, MORESTACK_MOUNTINFO=self.mountinfo)
        e.update(env)
        return subprocess.run([sys.executable, USB_PY] + list(args), capture_output=True,
                              text=True, input=input if input is not None else "", env=e,
                              timeout=120)

    def assertRefused(self, r, *words):
        """Exit status 2, one clear line on stderr naming the reason, no disk file changed."""
        self.assertEqual(r.returncode, 2, "exit status; stdout:\n%s\nstderr:\n%s"
                         % (r.stdout, r.stderr))
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, "one line on stderr, got:\n" + r.stderr)
        self.assertTrue(lines[0].startswith("usb: refused: "), lines[0])
        for w in words:
            self.assertIn(w, lines[0])
        self.assertNotIn("wrote", r.stdout)
        for path, digest in self.hashes.items():
            self.assertEqual(sha256(path), digest, "%s was changed by a refused write" % path)
        return lines[0]
