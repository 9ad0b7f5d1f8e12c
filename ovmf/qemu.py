#!/usr/bin/env python3
"""ovmf/: QEMU + OVMF, the launch configuration of morestack (the folder is
named for the firmware it boots). This file is the one place that knows
the firmware files and QEMU flags. `make run`, the test harness and the
benchmarks all build their command lines here.

    python3 ovmf/qemu.py run IMAGE [--machine q35|pc] [--memory 1G] [--icount]
                         [--firmware plain|secboot-ms|secboot-snakeoil]
                         [--drive ide|usb|ahci|nvme] [--no-serial]
                         [--gdb] [--gdb-port PORT] [--serial-log FILE]
    python3 ovmf/qemu.py cmdline IMAGE ...   # print the command, don't run it

The firmware comes from Debian's `ovmf` package; each run gets a fresh
copy of the variable store, so no run sees another's boot entries.
"""
import argparse
import os
import shutil
import sys
import tempfile

OVMF_DIR = "/usr/share/OVMF"
OVMF_CODE = os.path.join(OVMF_DIR, "OVMF_CODE_4M.fd")
OVMF_VARS = os.path.join(OVMF_DIR, "OVMF_VARS_4M.fd")
# Secure Boot: one code image (it needs SMM, so q35 only) and a variable
# store per key set: Microsoft's keys only, or Debian's snakeoil test key in
# PK, KEK and db (its private key is /usr/share/ovmf/PkKek-1-snakeoil.key).
OVMF_CODE_SECBOOT = os.path.join(OVMF_DIR, "OVMF_CODE_4M.secboot.fd")
FIRMWARE = {
    "plain": (OVMF_CODE, OVMF_VARS),
    "secboot-ms": (OVMF_CODE_SECBOOT, os.path.join(OVMF_DIR, "OVMF_VARS_4M.ms.fd")),
    "secboot-snakeoil": (OVMF_CODE_SECBOOT, os.path.join(OVMF_DIR, "OVMF_VARS_4M.snakeoil.fd")),
}
QEMU = "qemu-system-x86_64"

# isa-debug-exit: the kernel writes v to port 0xf4 and QEMU exits with (v << 1) | 1.
EXIT_KERNEL_FAULT = (0x31 << 1) | 1  # 99, see QEMU_EXIT_KERNEL_FAULT in kernel/kernel.h


def fresh_vars(workdir, template=OVMF_VARS):
    """Copies the pristine OVMF variable store into workdir; returns its path."""
    path = os.path.join(workdir, "OVMF_VARS.fd")
    shutil.copyfile(template, path)
    return path


def command(image, workdir, machine="q35", memory="512M", test=False, exit_on_fault=True, icount=False,
            gdb=False, serial="stdio", extra=(), firmware="plain", drive="ide", gdb_wait=True):
    """The QEMU argument list that boots image (a raw disk with an ESP) under OVMF.

    test=True adds the exit device, the fw_cfg flag that makes kernel faults
    end QEMU with EXIT_KERNEL_FAULT, and -no-reboot (a reboot ends QEMU).
    firmware is a key of FIRMWARE: "plain", "secboot-ms" or "secboot-snakeoil".
    serial="none": a machine without serial port (only screen and keyboard).
    drive: how the image is attached, one of DRIVES (see drive_args).
    gdb: a GDB server: True on QEMU's default port 1234, a port number (on
    127.0.0.1 only), or a -gdb endpoint such as "unix:PATH,server=on,wait=off";
    gdb_wait: the CPU waits for GDB's `continue` before the firmware's first
    instruction (-S).
    """
    if firmware not in FIRMWARE:
        sys.exit(f"qemu.py: unknown firmware {firmware!r}: one of {', '.join(FIRMWARE)}")
    if firmware != "plain" and machine != "q35":
        sys.exit(f"qemu.py: firmware {firmware} needs SMM, which only the q35 machine has")
    code, vars_template = FIRMWARE[firmware]
    for f in (code, vars_template):
        if not os.path.exists(f):
            sys.exit(f"qemu.py: {f} is missing: install Debian's ovmf package "
                     "(tools/deps.sh check)")
    args = [QEMU, "-machine", f"{machine},accel=tcg", "-m", memory, "-smp", "1",
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}",
            "-drive", f"if=pflash,format=raw,unit=1,file={fresh_vars(workdir, vars_template)}",
            *drive_args(image, drive),
            "-nic", "none", "-serial", serial]
    if firmware != "plain":
        # The secboot build keeps its variables in SMM: only SMM code may write
        # the flash, so a booted program cannot rewrite the keys.
        args += ["-machine", "smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"]
    if test:
        # QMP on a socket in workdir: the tests read the screen (screendump)
        # and type on the keyboard through it.
        args += ["-qmp", "unix:%s,server=on,wait=off" % os.path.join(workdir, "qmp.sock")]
        args += ["-display", "none", "-monitor", "none", "-no-reboot",
                 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if exit_on_fault:  # off: a fault halts the machine, as on a PC, and its screen stays
            args += ["-fw_cfg", "name=opt/morestack/exit-on-fault,string=1"]
    if icount:
        # One instruction per virtual nanosecond: guest time counts instructions.
        args += ["-icount", "shift=0", "-fw_cfg", "name=opt/morestack/icount,string=1"]
    if gdb:
        if gdb is True:
            args += ["-s"]
        elif isinstance(gdb, int):
            args += ["-gdb", f"tcp:127.0.0.1:{gdb}"]
        else:
            args += ["-gdb", gdb]
        if gdb_wait:
            args += ["-S"]
    return args + list(extra)


# How the image is attached (command's drive=), as a PC's boot disk would be.
# "ide" is QEMU's default interface for the machine: PIIX IDE on pc, the
# ICH9 southbridge's AHCI on q35. The others are added devices.
DRIVES = ("ide", "usb", "ahci", "nvme")


def drive_args(image, drive):
    """The flags that attach image (a snapshot: runs never write it) as drive."""
    if drive == "ide":
        return ["-drive", f"format=raw,file={image},snapshot=on"]
    disk = ["-drive", f"if=none,id=disk,format=raw,file={image},snapshot=on"]
    if drive == "usb":   # a USB stick on an XHCI (USB 3) controller
        return disk + ["-device", "qemu-xhci,id=xhci",
                       "-device", "usb-storage,bus=xhci.0,drive=disk"]
    if drive == "ahci":  # a SATA disk on an AHCI controller of its own
        return disk + ["-device", "ahci,id=ahci", "-device", "ide-hd,drive=disk,bus=ahci.0"]
    if drive == "nvme":
        return disk + ["-device", "nvme,serial=morestack,drive=disk"]
    raise ValueError(f"qemu.py: unknown drive {drive!r}: one of {', '.join(DRIVES)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=["run", "cmdline"])
    ap.add_argument("image")
    ap.add_argument("--machine", default="q35", choices=["q35", "pc"])
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--icount", action="store_true")
    ap.add_argument("--gdb", action="store_true",
                    help="wait for GDB on port 1234 before the first instruction")
    ap.add_argument("--gdb-port", type=int, metavar="PORT",
                    help="the same on PORT of 127.0.0.1 (make qemu-gdb: tools/gdb/gdb.mk)")
    ap.add_argument("--serial-log", metavar="FILE",
                    help="the serial line's output into FILE; QEMU's window (if there is a "
                    "display) is the screen and keyboard")
    ap.add_argument("--firmware", default="plain", choices=sorted(FIRMWARE))
    ap.add_argument("--drive", default="ide", choices=DRIVES,
                    help="attach the image as a disk (ide), a USB stick, AHCI or NVMe")
    ap.add_argument("--no-serial", action="store_true",
                    help="a PC with no serial port: QEMU's window is the screen and keyboard")
    a = ap.parse_args()
    if a.gdb_port is not None and not 0 < a.gdb_port < 65536:
        ap.error(f"--gdb-port {a.gdb_port}: a TCP port is 1 to 65535")
    if a.serial_log and a.no_serial:
        ap.error("--serial-log and --no-serial: choose one")
    if not os.path.exists(a.image):
        sys.exit(f"qemu.py: no image {a.image}: run make first")
    workdir = tempfile.mkdtemp(prefix="morestack-qemu-")
    try:
        # -nographic puts the serial line and QEMU's monitor on this terminal;
        # with --no-serial, QEMU's window is all there is, as on most PCs.
        if a.serial_log:  # the window, or nothing to see where there is no display
            serial = f"file:{a.serial_log}"
            windowed = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            extra = [] if windowed else ["-display", "none"]
        else:
            serial = "none" if a.no_serial else "mon:stdio"
            extra = [] if a.no_serial else ["-nographic"]
        gdb = a.gdb_port if a.gdb_port is not None else a.gdb
        args = command(a.image, workdir, a.machine, a.memory, icount=a.icount, gdb=gdb,
                       serial=serial, extra=extra, firmware=a.firmware, drive=a.drive)
        if a.action == "cmdline":
            print(" ".join(args))
            return 0
        if a.no_serial:
            print("morestack: booting in QEMU's window (no serial port); type 'poweroff' "
                  "there, or close the window", flush=True)
        else:
            print("morestack: booting in QEMU; quit with Ctrl-A then X "
                  "(or type 'poweroff' at the prompt)", flush=True)
        return os.spawnvp(os.P_WAIT, args[0], args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
