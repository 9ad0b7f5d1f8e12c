"""The QEMU test harness: boots morestack under OVMF and drives its shell
over the serial line, or, on a machine without one (serial=False), through
the screen and the PS/2 keyboard. Python standard library only.

A test file tests/qemu/test_*.py defines functions test_NAME(m), where m is
a booted Machine. All tests of a file share one boot, in file order, unless
a test is marked @own_machine (it gets a fresh boot of its own: use it for
tests that end the machine). A file may set MACHINE = dict(machine=...,
memory=..., serial=False, drive="usb", gdb=True) for its boots. Tests fail by
raising TestFailure (the helpers below do), which carries a readable
message; the runner adds the tail of the serial log (or, without one, of
the screen's transcript).

Without a serial line QEMU's stdout carries nothing of the kernel's: the
boot waits for the prompt on the screen (QMP screendumps decoded by
screen.py), type() presses keys with QMP send-key, and cmd() types a line,
waits for the next prompt on the screen and reads the output off it.
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
import screen  # noqa: E402  (tests/qemu/screen.py: text back off a screendump)

PROMPT = "morestack> "
EXIT_KERNEL_FAULT = qemu.EXIT_KERNEL_FAULT
# Every time limit is multiplied by MORESTACK_TIMEOUT_SCALE (default 1), for
# slow machines (labs/grade.py --timeout-scale).
TIMEOUT_SCALE = float(os.environ.get("MORESTACK_TIMEOUT_SCALE") or 1)
BOOT_TIMEOUT = 90 * TIMEOUT_SCALE  # seconds; OVMF takes about 4 s alone, more on a loaded machine
POLL = 0.1         # seconds between two screendumps of a machine without serial line
STEADY = 0.02     # seconds between the two screendumps that must agree (steady_screen)
SCREEN_GAP = "[screen: lines scrolled away between two screendumps]"

# QMP qcodes of the US layout the kernel decodes (kernel/ps2.c): a character
# -> (qcode, shifted). Letters and digits are their own qcodes.
KEYS = {" ": ("spc", False), "\r": ("ret", False), "\n": ("ret", False),
        "\b": ("backspace", False), "\t": ("tab", False)}
for _plain, _shifted, _q in zip("-=[]\\;'`,./", "_+{}|:\"~<>?",
                                ["minus", "equal", "bracket_left", "bracket_right", "backslash",
                                 "semicolon", "apostrophe", "grave_accent", "comma", "dot",
                                 "slash"]):
    KEYS[_plain], KEYS[_shifted] = (_q, False), (_q, True)
for _d, _s in zip("1234567890", "!@#$%^&*()"):
    KEYS[_d], KEYS[_s] = (_d, False), (_d, True)
for _c in "abcdefghijklmnopqrstuvwxyz":
    KEYS[_c], KEYS[_c.upper()] = (_c, False), (_c, True)


class TestFailure(Exception):
    pass


def own_machine(fn):
    """Marks a test that needs a boot of its own (it powers off, reboots or crashes)."""
    fn.own_machine = True
    return fn


class Machine:
    """One QEMU process: serial on a pipe, output collected by a thread; or,
    with serial=False, no serial port at all and the screen read instead.
    drive: how the image is attached (qemu.command's drive=)."""

    def __init__(self, image, machine="q35", memory="512M", log_path=None, icount=False,
                 firmware="plain", serial=True, drive="ide", extra=(), exit_on_fault=True,
                 gdb=False):
        self.image, self.machine, self.memory = image, machine, memory
        self.firmware = firmware  # ovmf/qemu.py FIRMWARE: plain, secboot-ms, secboot-snakeoil
        self.extra = tuple(extra)  # more QEMU arguments, e.g. ("-device", "qemu-xhci")
        self.exit_on_fault = exit_on_fault  # False: a kernel fault halts, as on a PC
        self.icount = icount
        self.serial, self.drive = serial, drive
        # The screen's transcript (serial=False): every row seen, in order;
        # the screen's row 0 is transcript[screen_base]. Rows above the
        # cursor never change, only scroll, which is what lets
        # successive dumps be joined into one transcript.
        self.transcript, self.screen_base, self.screen_rows = [], 0, None
        self.boot_log = None   # serial=False: the boot's text as the screen showed it
        self.log_path = log_path
        self.out = ""          # everything received, \r removed
        self.pos = 0           # how far tests have consumed self.out
        self.cond = threading.Condition()
        self.proc = None
        self.workdir = tempfile.mkdtemp(prefix="morestack-test-")
        self.boot_seconds = None
        self.eof = False       # the reader saw QEMU close the serial line
        # gdb=True: a GDB server on a socket of this machine's own (no port
        # to collide with another test or user); the CPU does not wait for it.
        self.gdb_socket = os.path.join(self.workdir, "gdb.sock") if gdb else None

    def start(self):
        args = qemu.command(self.image, self.workdir, self.machine, self.memory, test=True,
                            icount=self.icount, firmware=self.firmware,
                            serial="stdio" if self.serial else "none", drive=self.drive,
                            extra=self.extra, exit_on_fault=self.exit_on_fault,
                            gdb="unix:%s,server=on,wait=off" % self.gdb_socket
                            if self.gdb_socket else False, gdb_wait=False)
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
        if not self.serial:
            qemu_said = ("QEMU's output:\n" + self.out) if self.out.strip() else ""
            return "\n".join(self.transcript[-n:]) + "\n" + qemu_said
        return "\n".join(self.out.splitlines()[-n:])

    def wait_for(self, pattern, timeout=30):
        """Waits until regex pattern appears after what tests consumed; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
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
        if not self.serial:
            return self._boot_on_screen()
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
        if not self.serial:
            return self._cmd_on_screen(line, timeout)
        self.send(line + "\r")
        start = self.pos
        self.wait_for(re.escape(PROMPT), timeout)
        text = self.out[start:self.pos - len(PROMPT)]
        # The first line is the echo of what we typed.
        first_nl = text.find("\n")
        return text[first_nl + 1:] if first_nl >= 0 else ""

    def qmp(self, command, **arguments):
        """Runs one QMP command on this machine; returns its "return" value."""
        return self.qmp_batch([(command, arguments)])[0]

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

    # ---- a machine without serial line: the screen and the keyboard ----

    def type(self, text, hold_ms=10):
        """Presses the keys of text on the PS/2 keyboard (QMP send-key, shift
        for upper case and symbols); \\r or \\n is Enter, \\b Backspace."""
        keys = []
        for ch in text:
            if ch not in KEYS:
                raise TestFailure("type: no key for %r on the US layout" % ch)
            q, shift = KEYS[ch]
            keys.append((["shift"] if shift else []) + [q])
        # One QMP connection for the whole text; QEMU queues the keys (each
        # held hold_ms) and the guest reads them from the i8042 in order.
        self.qmp_batch([("send-key", {"keys": [{"type": "qcode", "data": q} for q in k],
                                      "hold-time": hold_ms}) for k in keys])

    def screen(self):
        """The screen's rows of text now (a screendump, decoded)."""
        rows, _ = screen.text(self.screendump())
        return rows

    def steady_screen(self):
        """The screen's rows if two screendumps STEADY seconds apart agree,
        else None. A single dump can catch the kernel halfway through the
        redraw of a scroll: the top rows already moved up, the rest not
        yet, one row half old and half new; joined to the transcript, such
        a torn frame would read as output that never was."""
        first = self.screen()
        time.sleep(STEADY)
        rows = self.screen()
        return rows if rows == first else None

    def look(self):
        """Joins the screen to the transcript if it is steady; returns its rows or None."""
        rows = self.steady_screen()
        if rows is not None:
            self._join(rows)
        return rows

    def wait_screen(self, pattern, timeout=30, since=0):
        """Polls the screen until regex pattern matches the transcript from
        row since on (rows joined with newlines); returns the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            self.look()
            m = rx.search("\n".join(self.transcript[since:]))
            if m:
                return m
            if self.proc.poll() is not None:
                raise TestFailure("waiting for /%s/ on the screen: QEMU exited with status %s"
                                  % (pattern, self.proc.poll()))
            if time.monotonic() > deadline:
                raise TestFailure("waiting for /%s/ on the screen: timed out after %ss"
                                  % (pattern, timeout))
            time.sleep(POLL)

    def _join(self, rows):
        """Adds a screendump's rows to the transcript. The console scrolls by
        half a screen at once (kernel/fbcon.c), so the new dump is the old
        one moved up by a multiple of half the rows: the first such shift
        under which every old row above the last non-empty one is where it
        should be, and the last non-empty one (the row being written, the
        prompt being typed at) has only grown. None fits when more than a
        screen went by between two dumps: the lost lines are marked with
        SCREEN_GAP."""
        old, n = self.screen_rows, len(rows)
        self.screen_rows = rows
        if old is None or len(old) != n:
            self.screen_base = len(self.transcript)
        else:
            last = last_nonempty(old)
            found = 0 if last < 0 else None  # a blank screen: nothing to lose
            for shift in range(0, n, max(n // 2, 1)) if last >= 0 else []:
                if shift > last:
                    break  # nothing of the old screen left to compare with
                if (all(rows[i] == old[i + shift] for i in range(last - shift))
                        and rows[last - shift].startswith(old[last])):
                    found = shift
                    break
            if found is None:
                del self.transcript[self.screen_base + last + 1:]
                self.transcript.append(SCREEN_GAP)
                self.screen_base = len(self.transcript)
            else:
                self.screen_base += found
        del self.transcript[self.screen_base:]
        self.transcript += rows[:last_nonempty(rows) + 1]

    def _prompt_row(self):
        """The transcript index of the prompt the screen ends with, or None."""
        i = last_nonempty(self.screen_rows or [])
        if i >= 0 and self.screen_rows[i] == PROMPT.rstrip():
            return self.screen_base + i
        return None

    def _boot_on_screen(self):
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise TestFailure("waiting for the prompt on the screen: QEMU exited with "
                                  "status %s" % self.proc.poll())
            try:
                rows = self.steady_screen()
            except (OSError, ValueError, TestFailure):
                rows = None  # QMP not up yet, or the display not yet set
            if rows:
                i = last_nonempty(rows)
                if i >= 0 and rows[i] == PROMPT.rstrip():
                    break
                self.transcript = rows[:i + 1]  # the screen so far, for failure reports
            if time.monotonic() > deadline:
                raise TestFailure("waiting for the prompt on the screen: timed out after %ss"
                                  % BOOT_TIMEOUT)
            time.sleep(POLL)
        self.boot_seconds = time.monotonic() - self.t0
        # Firmware text may have been on the screen before: the transcript
        # starts with the screen that shows the prompt.
        self.transcript, self.screen_rows, self.screen_base = [], None, 0
        self._join(rows)
        self.boot_log = "\n".join(self.transcript[:-1]) + "\n"
        return self.boot_log

    def _cmd_on_screen(self, line, timeout):
        deadline = time.monotonic() + timeout
        while self.look() is None and time.monotonic() < deadline:
            time.sleep(POLL)
        at = self._prompt_row()
        if at is None:
            raise TestFailure("cmd %r: no prompt at the end of the screen to type at:\n%s"
                              % (line, indent(self.tail(10))))
        self.type(line + "\r")
        deadline = time.monotonic() + timeout
        while True:
            time.sleep(POLL)
            end = self._prompt_row() if self.look() is not None else None
            if end is not None and end > at:
                break
            if self.proc.poll() is not None:
                raise TestFailure("cmd %r: QEMU exited with status %s"
                                  % (line, self.proc.poll()))
            if time.monotonic() > deadline:
                raise TestFailure("cmd %r: no new prompt on the screen after %ss"
                                  % (line, timeout))
        lines = self.transcript[at + 1:end]
        return "".join(l + "\n" for l in lines)

    def qmp_batch(self, commands):
        """Runs QMP commands [(name, arguments)] on one connection; returns their results."""
        import json
        import socket
        path = os.path.join(self.workdir, "qmp.sock")
        results = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(path)
            f = s.makefile("rw")
            json.loads(f.readline())  # the greeting
            for name, arguments in [("qmp_capabilities", {})] + list(commands):
                f.write(json.dumps({"execute": name, "arguments": arguments}) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
                if "error" in reply:
                    raise TestFailure("QMP %s: %s" % (name, reply["error"]))
                results.append(reply["return"])
        return results[1:]

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
        if not self.serial and self.log_path:
            # Beside the log of QEMU's own output: what the screen showed.
            with open(self.log_path[:-len(".log")] + ".screen.log", "w") as f:
                f.write("\n".join(self.transcript) + "\n")
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


def last_nonempty(rows):
    """Index of the last row with text on it, -1 for a blank screen."""
    for i in range(len(rows) - 1, -1, -1):
        if rows[i]:
            return i
    return -1


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
