"""The QEMU test harness: boots morestack under OVMF and drives its shell
over the serial line. Python standard library only.

A test file tests/qemu/test_*.py defines functions test_NAME(m), where m is
a booted Machine. All tests of a file share one boot, in file order, unless
a test is marked @own_machine (it gets a fresh boot of its own: use it for
tests that end the machine). A file may set MACHINE = dict(machine=...,
memory=...) for its boots. Tests fail by raising TestFailure (the helpers
below do), which carries a readable message; the runner adds the tail of
the serial log.
"""
import difflib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "ovmf"))
import qemu  # noqa: E402  (ovmf/qemu.py: the one place with QEMU/OVMF flags)

PROMPT = "morestack> "
EXIT_KERNEL_FAULT = qemu.EXIT_KERNEL_FAULT
BOOT_TIMEOUT = 90  # seconds; OVMF takes about 4 s alone, more on a loaded machine


class TestFailure(Exception):
    pass


def own_machine(fn):
    """Marks a test that needs a boot of its own (it powers off, reboots or crashes)."""
    fn.own_machine = True
    return fn


class Machine:
    """One QEMU process: serial on a pipe, output collected by a thread."""

    def __init__(self, image, machine="q35", memory="512M", log_path=None, icount=False,
                 extra=()):
        self.image, self.machine, self.memory = image, machine, memory
        self.extra = tuple(extra)  # more QEMU arguments, e.g. ("-device", "qemu-xhci")
        self.icount = icount
        self.log_path = log_path
        self.out = ""          # everything received, \r removed
        self.pos = 0           # how far tests have consumed self.out
        self.cond = threading.Condition()
        self.proc = None
        self.workdir = tempfile.mkdtemp(prefix="morestack-test-")
        self.boot_seconds = None
        self.eof = False       # the reader saw QEMU close the serial line

    def start(self):
        args = qemu.command(self.image, self.workdir, self.machine, self.memory, test=True,
                            icount=self.icount, extra=self.extra)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=0)
        self.t0 = time.monotonic()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        log = open(self.log_path, "w") if self.log_path else None
        while True:
            data = self.proc.stdout.read(4096)
            if not data:
                break
            text = data.decode("latin-1").replace("\r", "")
            if log:
                log.write(text)
                log.flush()
            with self.cond:
                self.out += text
                self.cond.notify_all()
        if log:
            log.close()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def tail(self, n=40):
        return "\n".join(self.out.splitlines()[-n:])

    def wait_for(self, pattern, timeout=30):
        """Waits until regex pattern appears after what tests consumed; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.out, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if self.eof:
                    raise TestFailure("waiting for /%s/: QEMU exited with status %s"
                                      % (pattern, self.proc.wait()))
                if left <= 0:
                    raise TestFailure("waiting for /%s/: timed out after %ss" % (pattern, timeout))
                self.cond.wait(min(left, 0.5))

    def boot(self):
        """Starts QEMU and waits for the first prompt; returns the boot text."""
        self.start()
        start = self.pos
        self.wait_for(re.escape(PROMPT), BOOT_TIMEOUT)
        self.boot_seconds = time.monotonic() - self.t0
        return self.out[start:self.pos]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def cmd(self, line, timeout=30):
        """Types line and Enter; returns the command's output (without echo and prompt)."""
        self.send(line + "\r")
        start = self.pos
        self.wait_for(re.escape(PROMPT), timeout)
        text = self.out[start:self.pos - len(PROMPT)]
        # The first line is the echo of what we typed.
        first_nl = text.find("\n")
        return text[first_nl + 1:] if first_nl >= 0 else ""

    def qmp(self, command, **arguments):
        """Runs one QMP command on this machine; returns its "return" value."""
        import json
        import socket
        path = os.path.join(self.workdir, "qmp.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(path)
            f = s.makefile("rw")
            json.loads(f.readline())  # the greeting
            for cmd in ({"execute": "qmp_capabilities"},
                        {"execute": command, "arguments": arguments}):
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
                if "error" in reply:
                    raise TestFailure("QMP %s: %s" % (cmd["execute"], reply["error"]))
            return reply["return"]

    def screendump(self):
        """The screen as (width, height, rgb bytes), through QMP's screendump."""
        path = os.path.join(self.workdir, "screen.ppm")
        self.qmp("screendump", filename=path)
        data = open(path, "rb").read()
        parts = data.split(maxsplit=4)  # P6 width height maxval pixels
        if parts[0] != b"P6":
            raise TestFailure("screendump: not a P6 PPM")
        width, height = int(parts[1]), int(parts[2])
        return width, height, data[-width * height * 3:]  # the pixels end the file

    def wait_exit(self, timeout=30):
        """Waits for QEMU to exit; returns its exit status."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("QEMU did not exit within %ss" % timeout)
        with self.cond:  # let the reader drain the pipe
            self.cond.wait_for(lambda: self.eof, 5)
        return code

    def rest(self):
        """Everything received after what tests consumed (marks it consumed)."""
        with self.cond:
            text, self.pos = self.out[self.pos:], len(self.out)
        return text

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        import shutil
        shutil.rmtree(self.workdir, ignore_errors=True)


# ---- assertions with readable failure messages ----

def expect(cond, message):
    if not cond:
        raise TestFailure(message)


def expect_in(needle, text, what="output"):
    if needle not in text:
        raise TestFailure("expected %r in the %s, which was:\n%s" % (needle, what, indent(text)))


def expect_re(pattern, text, what="output"):
    m = re.search(pattern, text, re.M)
    if not m:
        raise TestFailure("expected /%s/ in the %s, which was:\n%s" % (pattern, what, indent(text)))
    return m


def expect_not_in(needle, text, what="output"):
    if needle in text:
        raise TestFailure("did not expect %r in the %s, which was:\n%s" % (needle, what, indent(text)))


def expect_lines(expected, text, what="output"):
    """Expected and actual must match line for line; shows a unified diff if not."""
    exp, act = expected.strip("\n").splitlines(), text.strip("\n").splitlines()
    if exp != act:
        diff = "\n".join(difflib.unified_diff(exp, act, "expected", "actual", lineterm=""))
        raise TestFailure("the %s differs from what was expected:\n%s" % (what, indent(diff)))


def expect_equal(expected, actual, what):
    if expected != actual:
        raise TestFailure("%s: expected %r, got %r" % (what, expected, actual))


def indent(text, n=4):
    return "\n".join(" " * n + line for line in text.splitlines()) or " " * n + "(empty)"


# ---- facts about the built kernel, from its ELF file ----

_symbols = None


def kernel_symbol(name):
    """Address of a symbol of build/kernel.elf (read with nm)."""
    global _symbols
    if _symbols is None:
        out = subprocess.run(["nm", os.path.join(TOP, "build", "kernel.elf")],
                             capture_output=True, text=True, check=True).stdout
        _symbols = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3:
                _symbols[parts[2]] = int(parts[0], 16)
    if name not in _symbols:
        raise TestFailure("no symbol %r in build/kernel.elf" % name)
    return _symbols[name]
