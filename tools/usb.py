#!/usr/bin/env python3
"""tools/usb.py: writes morestack's disk image to a USB stick without
destroying the wrong disk, and signs BOOTX64.EFI for Secure Boot.
`make usb DEV=... [SIGN=...] [DRYRUN=1] [YES=...]` calls it (tools/usb.mk).

    tools/usb.py write IMAGE DEVICE [--yes NAME] [--dry-run]
    tools/usb.py sign --keys KEY.pem,CERT.pem IN.efi OUT.efi

Python standard library only; lsblk (util-linux), sbsign and sbverify
(sbsigntool) do what they are for.
"""
import argparse
import errno
import hashlib
import json
import os
import shlex
import stat
import subprocess
import sys
import time

WRITE_HELP = """\
Before a byte is written, DEVICE must pass every check; each refusal is one
line saying why and what to do, the exit status is 2, and nothing is written:

  1. DEVICE exists (a path such as /dev/sdb, or a name such as sdb).
  2. lsblk lists it as a whole disk: not a partition (give /dev/sdb, not
     /dev/sdb1), not a loop, RAID or optical device.
  3. It does not hold /, /boot or /boot/efi (lsblk's mount points of the
     disk and everything on it, and the device numbers and sources of
     /proc/self/mountinfo).
  4. Nothing on it is mounted or used as swap: unmount it first.
  5. It is removable or on USB (lsblk's RM and TRAN columns): internal disks
     are refused.
  6. It is at least as large as IMAGE.
  7. You type its name (sdb) to confirm after seeing its model and size;
     scripts pass --yes NAME, which must name the same disk.
  8. The kernel opens it for us exclusively (O_EXCL): no mounted filesystem,
     RAID or device mapper holds it.

Then IMAGE is written, flushed to the device (fsync), the cache dropped,
and everything written is read back and compared: the bytes written and
verified are reported, and a mismatch is an error (exit status 1).

--dry-run rehearses all of this on an image FILE instead of a disk: DEVICE
is a file to create or overwrite (a block device is refused), and the
checks that apply to a file, the confirmation, the write, the sync and the
read-back all run.

Testing: MORESTACK_LSBLK names a program run instead of lsblk (same
arguments, JSON out) and MORESTACK_MOUNTINFO a file read instead of
/proc/self/mountinfo, so tests can describe disks that are not there;
MORESTACK_USB_TEST_FLIP=OFFSET changes one byte of the target after the
sync, as a failing stick would, to prove the read-back catches it.
"""

LSBLK_ARGS = ["-J", "-b", "-o", "NAME,PATH,TYPE,SIZE,MODEL,TRAN,RM,MOUNTPOINTS,MAJ:MIN"]
# The mounts whose disk we must never touch.
SYSTEM_MOUNTS = ("/", "/boot/efi", "/boot")
CHUNK = 4 << 20
BLKFLSBUF = 0x1261  # ioctl: drop a block device's buffer cache


class Refusal(Exception):
    """A check failed: one line, why and what to do."""


def die(msg, status):
    print("usb: " + msg, file=sys.stderr)
    sys.exit(status)


# ---- what the system says about its disks ----

def lsblk_tree():
    """The block devices as lsblk's JSON tree (children nested under their disk)."""
    cmd = shlex.split(os.environ.get("MORESTACK_LSBLK", "lsblk")) + LSBLK_ARGS
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        raise Refusal("cannot run %s: install util-linux (it provides lsblk)" % cmd[0])
    except subprocess.CalledProcessError as e:
        raise Refusal("%s failed (%s): cannot tell which disks are safe, so nothing is written"
                      % (" ".join(cmd), (e.stderr or "").strip() or "status %d" % e.returncode))
    try:
        return json.loads(out)["blockdevices"]
    except (ValueError, KeyError, TypeError):
        raise Refusal("%s printed no JSON device list: cannot tell which disks are safe"
                      % cmd[0])


def walk(nodes, parent=None):
    """Every device of the tree as (node, its top-level disk)."""
    for n in nodes:
        yield n, parent
        yield from walk(n.get("children") or [], parent or n)


def mountpoints(node):
    # lsblk 2.37+ says "mountpoints": [null] for nothing mounted; older ones "mountpoint".
    mps = node.get("mountpoints")
    if mps is None:
        mps = [node.get("mountpoint")]
    return [m for m in mps if m]


def is_true(value):
    # lsblk 2.38 prints RM as a JSON boolean; older versions print "0"/"1".
    return value is True or value in ("1", 1)


def mountinfo():
    """Mounts as (major:minor, mount point, source) from /proc/self/mountinfo."""
    path = os.environ.get("MORESTACK_MOUNTINFO", "/proc/self/mountinfo")
    mounts = []
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if " - " not in line or len(fields) < 5:
                    continue
                after = line.split(" - ", 1)[1].split()
                # The kernel escapes spaces in paths as \040.
                point = fields[4].replace("\\040", " ")
                mounts.append((fields[2], point, after[1] if len(after) > 1 else ""))
    except OSError as e:
        raise Refusal("cannot read %s (%s): cannot tell what is mounted" % (path, e.strerror))
    return mounts


def same_path(a, b):
    # Only absolute paths: a mount's source may be a word such as "overlay".
    return (bool(a) and bool(b) and a.startswith("/") and b.startswith("/")
            and os.path.realpath(a) == os.path.realpath(b))


# ---- the checks ----

def resolve(device):
    """The path DEVICE names: itself, or /dev/DEVICE for a bare name."""
    if os.path.exists(device):
        return device
    if "/" not in device and os.path.exists("/dev/" + device):
        return "/dev/" + device
    raise Refusal("no device %s: plug the stick in and find its name with lsblk "
                  "(e.g. /dev/sdb)" % device)


def find_disk(path, tree):
    """The lsblk node of path; refuses anything but a whole disk."""
    for node, disk in walk(tree):
        if not same_path(node.get("path") or "/dev/" + node["name"], path):
            continue
        if disk is not None or node.get("type") == "part":
            whole = disk["path"] if disk else "its disk"
            raise Refusal("%s is a partition (%s), not a whole disk: give the disk, %s"
                          % (path, node.get("type"), whole))
        if node.get("type") != "disk":
            raise Refusal("%s is a %s device, not a disk: give the USB stick's disk (lsblk shows it)"
                          % (path, node.get("type")))
        return node
    raise Refusal("lsblk does not list %s as a disk: give the USB stick's disk (lsblk shows it)"
                  % path)


def check_disk(disk, image_size):
    """Refuses the system's disk, a mounted disk, an internal disk, a small disk."""
    name, path = disk["name"], disk.get("path") or "/dev/" + disk["name"]
    family = [n for n, _ in walk([disk])]  # the disk and everything on it
    # The system's disk, seen by lsblk and by the kernel's mount table (which
    # still knows when lsblk's view is partial, e.g. in another mount namespace).
    mounts = mountinfo()
    numbers = {n.get("maj:min") for n in family if n.get("maj:min")}
    paths = [n.get("path") for n in family if n.get("path")]
    for majmin, point, source in mounts:
        if point in SYSTEM_MOUNTS and (majmin in numbers or any(same_path(source, p) for p in paths)):
            raise Refusal("%s holds %s (the running system): it is not a USB stick to "
                          "overwrite; give the stick's device" % (path, point))
    for n in family:
        for point in mountpoints(n):
            if point in SYSTEM_MOUNTS:
                raise Refusal("%s holds %s (the running system): it is not a USB stick to "
                              "overwrite; give the stick's device" % (path, point))
    for n in family:
        pts = mountpoints(n)
        if pts:
            raise Refusal("%s is mounted on %s: unmount it first (umount %s)"
                          % (n.get("path") or n["name"], ", ".join(pts), n.get("path") or n["name"]))
    for majmin, point, source in mounts:
        if majmin in numbers or any(same_path(source, p) for p in paths):
            raise Refusal("%s is mounted on %s (/proc/self/mountinfo): unmount it first"
                          % (source or path, point))
    if not (is_true(disk.get("rm")) or (disk.get("tran") or "").lower() == "usb"):
        raise Refusal("%s is neither removable nor on USB (transport %s): it looks like an "
                      "internal disk; plug in a USB stick and give its device"
                      % (path, disk.get("tran") or "unknown"))
    size = int(disk.get("size") or 0)
    if size < image_size:
        raise Refusal("%s holds %d bytes, the image needs %d: use a larger stick"
                      % (path, size, image_size))
    return name, path, size


def check_file(path, image):
    """--dry-run: the target must be a plain file we may create, not a device nor the image."""
    if os.path.exists(path):
        st = os.stat(path)
        if stat.S_ISBLK(st.st_mode) or stat.S_ISCHR(st.st_mode):
            raise Refusal("%s is a device: --dry-run writes only image files; drop --dry-run "
                          "to write a disk" % path)
        if not stat.S_ISREG(st.st_mode):
            raise Refusal("%s is not a regular file: give a file name for the dry run" % path)
        if os.path.samefile(path, image):
            raise Refusal("%s is the image itself: give another file name" % path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise Refusal("no folder %s for the dry run's file: create it first" % folder)
    for majmin, point, source in mountinfo():
        if same_path(source, path):
            raise Refusal("%s is mounted on %s: unmount it first" % (path, point))


def human(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return ("%d %s" % (n, unit)) if unit == "bytes" else ("%.1f %s" % (n, unit))
        n /= 1024


def confirm(names, shown, yes):
    """The user names the disk (or --yes does); anything else refuses."""
    if yes is not None:
        typed = yes
    else:
        print("Type %s to write it, anything else to stop: " % shown, end="", flush=True)
        typed = sys.stdin.readline()
        if not typed:
            raise Refusal("no confirmation (end of input): type %s, or pass --yes %s"
                          % (shown, shown))
        typed = typed.strip()
    if typed not in names:
        raise Refusal("confirmation %r does not name %s: nothing written; run again and "
                      "type %s" % (typed, shown, shown))


# ---- writing and verifying ----

def write_and_verify(image, path, is_block, create):
    """Writes image to path, syncs, drops the cache, reads back and compares; returns bytes."""
    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    if is_block:
        flags |= os.O_EXCL  # the kernel refuses if anything (a mount, a tool) holds the disk
    if create:
        flags |= os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        if e.errno == errno.EBUSY:
            raise Refusal("%s is busy (a mounted filesystem, RAID or device mapper holds "
                          "it): unmount or release it first" % path)
        if e.errno in (errno.EACCES, errno.EPERM):
            raise Refusal("no permission to write %s: run as root (sudo make usb DEV=%s)"
                          % (path, path))
        raise Refusal("cannot open %s: %s" % (path, e.strerror))
    t0 = time.monotonic()
    written = 0
    digest = hashlib.sha256()
    try:
        with open(image, "rb") as src:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                    written += n
        os.fsync(fd)
    except OSError as e:
        die("writing %s failed after %d bytes: %s; the stick is incomplete, write it again"
            % (path, written, e.strerror), 1)
    finally:
        os.close(fd)
    seconds = time.monotonic() - t0
    print("usb: wrote %d bytes (%s) to %s in %.1f s, synced" % (written, human(written), path, seconds))

    flip = os.environ.get("MORESTACK_USB_TEST_FLIP")
    if flip is not None:
        # Test hook: a device that lost a write. One byte changes on the
        # medium behind our back; the read-back below must notice.
        with open(path, "r+b") as f:
            f.seek(int(flip))
            b = f.read(1)
            f.seek(int(flip))
            f.write(bytes([b[0] ^ 0xff]))
            f.flush()
            os.fsync(f.fileno())

    # Read what the device holds, not what the page cache remembers.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        if is_block:
            try:
                import fcntl
                fcntl.ioctl(fd, BLKFLSBUF, 0)
            except OSError:
                pass  # not permitted: fadvise below still drops clean pages
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        verified = 0
        check = hashlib.sha256()
        with open(image, "rb") as src:
            while True:
                want = src.read(CHUNK)
                if not want:
                    break
                got = b""
                while len(got) < len(want):
                    part = os.read(fd, len(want) - len(got))
                    if not part:
                        break
                    got += part
                check.update(got)
                if got != want:
                    at = verified + next((i for i in range(min(len(got), len(want)))
                                          if got[i] != want[i]), min(len(got), len(want)))
                    die("verify FAILED: %s differs from the image at byte %d (%d bytes read "
                        "back of %d): the stick is bad or was changed; write it again or use "
                        "another stick" % (path, at, verified + len(got), written), 1)
                verified += len(want)
    finally:
        os.close(fd)
    print("usb: read back and verified %d bytes (%s), sha256 %s"
          % (verified, human(verified), check.hexdigest()))
    return written, verified


def cmd_write(a):
    image = a.image
    try:
        if not os.path.isfile(image):
            raise Refusal("no image %s: run make usb (or make image) first" % image)
        image_size = os.path.getsize(image)
        with open(image, "rb") as f:
            f.seek(512)
            if f.read(8) != b"EFI PART":
                raise Refusal("%s has no GPT header: it is not a disk image made by make usb"
                              % image)
        if a.dry_run:
            path = a.device
            check_file(path, image)
            names, shown = {path, os.path.basename(path)}, path
            print("usb: dry run: %s (%s) will be written to the file %s"
                  % (image, human(image_size), path))
            is_block = False
        else:
            path = resolve(a.device)
            disk = find_disk(path, lsblk_tree())
            name, path, size = check_disk(disk, image_size)
            names, shown = {name, path, a.device}, name
            what = ", ".join(x for x in (
                (disk.get("model") or "").strip() or "unknown model",
                human(size),
                (disk.get("tran") or "").upper() or None,
                "removable" if is_true(disk.get("rm")) else None) if x)
            print("usb: %s: %s" % (path, what))
            print("usb: everything on %s will be replaced by %s (%s)"
                  % (path, image, human(image_size)))
            is_block = stat.S_ISBLK(os.stat(path).st_mode)
        confirm(names, shown, a.yes)
        write_and_verify(image, path, is_block, create=a.dry_run)
    except Refusal as e:
        die("refused: %s" % e, 2)
    if not a.dry_run:
        print("usb: done; the stick may be removed (boot it with the PC's boot menu, "
              "Secure Boot off unless it was signed with SIGN=)")
    return 0


# ---- signing ----

def cmd_sign(a):
    parts = a.keys.split(",")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        die("SIGN=%r: give the private key and the certificate, comma-separated: "
            "SIGN=key.pem,cert.pem" % a.keys, 2)
    key, cert = (p.strip() for p in parts)
    for what, path in (("private key", key), ("certificate", cert)):
        if not os.path.isfile(path):
            die("SIGN: no %s %s: give an existing PEM file (SIGN=key.pem,cert.pem)"
                % (what, path), 2)
        if not os.access(path, os.R_OK):
            die("SIGN: cannot read the %s %s: check its permissions" % (what, path), 2)
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    tmp = a.output + ".tmp"
    # sbsign warns about gnu-efi's section gaps on every run; show its
    # output only when it fails.
    r = subprocess.run(["sbsign", "--key", key, "--cert", cert, "--output", tmp, a.input],
                       capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(tmp):
        if os.path.exists(tmp):
            os.unlink(tmp)
        text = r.stderr + r.stdout
        if "Can't load key" in text:
            why = "cannot read %s as a PEM private key" % key
        elif "Can't load cert" in text:
            why = "cannot read %s as a PEM certificate" % cert
        elif "key values mismatch" in text or "does not match" in text:
            why = "the private key %s does not match the certificate %s" % (key, cert)
        else:
            err = [l for l in text.splitlines() if "gaps between" not in l]
            why = err[0] if err else "status %d" % r.returncode
        die("SIGN: sbsign could not sign %s: %s (SIGN=key.pem,cert.pem)" % (a.input, why), 2)
    r = subprocess.run(["sbverify", "--cert", cert, tmp], capture_output=True, text=True)
    if r.returncode != 0:
        os.unlink(tmp)
        die("SIGN: the signature does not verify with %s: is %s the certificate of %s?"
            % (cert, cert, key), 2)
    os.replace(tmp, a.output)
    print("usb: signed %s with %s (verified with sbverify)" % (a.output, cert))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="write: " + WRITE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="action", required=True)
    w = sub.add_parser("write", help="write IMAGE to a USB stick, checked and verified",
                       description="Writes IMAGE to the USB stick DEVICE and verifies it.",
                       epilog=WRITE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    w.add_argument("image", help="the disk image (build/morestack.img)")
    w.add_argument("device", help="the stick's whole disk, e.g. /dev/sdb (with --dry-run: a file)")
    w.add_argument("--yes", metavar="NAME",
                   help="confirm without asking; NAME must name the same disk (sdb or /dev/sdb)")
    w.add_argument("--dry-run", action="store_true",
                   help="write an image FILE instead of a disk, with every check that applies")
    s = sub.add_parser("sign", help="sign a UEFI program for Secure Boot (sbsign)")
    s.add_argument("--keys", required=True, metavar="KEY,CERT",
                   help="the private key and certificate, PEM files, comma-separated")
    s.add_argument("input")
    s.add_argument("output")
    a = ap.parse_args()
    return cmd_write(a) if a.action == "write" else cmd_sign(a)


if __name__ == "__main__":
    sys.exit(main())
