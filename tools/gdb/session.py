#!/usr/bin/env python3
"""tools/gdb/session.py: `make gdb`: GDB attached to morestack in QEMU.

    tools/gdb/session.py --port PORT --image IMG --gdbinit build/gdbinit
                         [--gdb gdb] [--serial-log FILE]

If a QEMU of this user already listens on PORT (`make qemu-gdb` in another
terminal), GDB attaches to it. Otherwise this starts one in the background,
waiting at the reset vector (ovmf/qemu.py --gdb-port), with QEMU's window
for screen and keyboard if there is a display and the serial output in
FILE, and stops it when GDB exits. A port held by another user's program
is an error that says how to pick another.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def listener_uid(port):
    """The uid of the process listening on TCP port (IPv4 or IPv6), or None.
    Read from /proc/net/tcp*: connecting to QEMU's GDB server to find out
    would stop the machine it serves."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            local, state, uid = f[1], f[3], f[7]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                return int(uid)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--gdbinit", required=True)
    ap.add_argument("--gdb", default="gdb")
    ap.add_argument("--serial-log", default=os.path.join("build", "gdb-serial.log"))
    a = ap.parse_args()
    for path, what in ((a.image, "the disk image"), (a.gdbinit, "the GDB init file")):
        if not os.path.exists(path):
            sys.exit(f"gdb: no {what} {path}: run it as 'make gdb'")

    qemu = None
    owner = listener_uid(a.port)
    if owner is not None and owner != os.getuid():
        sys.exit(f"gdb: port {a.port} is taken by another user's program (uid {owner}); "
                 f"pick another: make qemu-gdb GDB_PORT=N and make gdb GDB_PORT=N")
    if owner is None:
        log = os.path.join(os.path.dirname(a.gdbinit), "qemu-gdb.log")
        print(f"gdb: no 'make qemu-gdb' on port {a.port}: starting QEMU in the background "
              f"(serial output: {a.serial_log}; QEMU's messages: {log})", flush=True)
        # A session of its own: Ctrl-C in GDB interrupts the kernel, not QEMU.
        qemu = subprocess.Popen([sys.executable, os.path.join(TOP, "ovmf", "qemu.py"), "run",
                                 a.image, "--gdb-port", str(a.port), "--serial-log", a.serial_log],
                                stdin=subprocess.DEVNULL, stdout=open(log, "w"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while listener_uid(a.port) is None:
            if qemu.poll() is not None or time.monotonic() > deadline:
                stop(qemu)
                sys.exit(f"gdb: QEMU did not start its GDB server on port {a.port}; "
                         f"its messages:\n{open(log).read()}")
            time.sleep(0.1)
    else:
        print(f"gdb: attaching to the QEMU waiting on port {a.port}", flush=True)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to GDB
    try:
        status = subprocess.call([a.gdb, "-q", "-x", a.gdbinit])
    finally:
        if qemu:
            stop(qemu)
    return status


def stop(proc):
    """Ends the QEMU this script started: its whole process group (qemu.py and QEMU)."""
    # SIGINT: QEMU quits, and qemu.py's cleanup (its temporary files) runs.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


if __name__ == "__main__":
    sys.exit(main())
