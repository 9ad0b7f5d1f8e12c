"""GDB against the live kernel: the generated init file, the source-level
view of a growth fault and the runtime helpers of tools/gdb/morestack.py,
each checked against what the shell itself says (tools/gdb/gdb.mk, README
"Debugging with GDB").

GDB runs in batch mode (-batch -nx: no user's init file) with the init
file `make gdb` uses, made from the same template (tools/gdb/gdbinit.in)
but pointed at this machine's GDB socket (harness Machine gdb=True).
"""
import os
import re
import subprocess
import sys
import threading

from harness import (TOP, TestFailure, expect, expect_equal, expect_in, expect_re, indent,
                     kernel_symbol)

sys.path.insert(0, os.path.join(TOP, "ovmf"))
import qemu  # noqa: E402

MACHINE = dict(gdb=True)
GDB_TIMEOUT = 180  # seconds; GDB reads kernel.elf's DWARF, then the machine runs under TCG
PROMPT = "morestack> "


def gdbinit(path, target):
    """build/gdbinit as gdb.mk makes it, for target (a socket path or host:port)."""
    text = open(os.path.join(TOP, "tools", "gdb", "gdbinit.in")).read()
    with open(path, "w") as f:
        f.write(text.replace("@TOP@", TOP).replace("@TARGET@", target))
    expect(not re.search(r"@[A-Z]+@", open(path).read()), "gdbinit.in: a placeholder left")
    return path


class Gdb:
    """One GDB in batch mode: the init file, then commands (the file of
    -x), its output read as it comes so that a test can act (type on the
    serial line) when a marker appears."""

    def __init__(self, m, commands, preamble=()):
        self.m = m
        init = gdbinit(os.path.join(m.workdir, "gdbinit"), m.gdb_socket)
        script = os.path.join(m.workdir, "commands.gdb")
        with open(script, "w") as f:
            f.write("\n".join(list(preamble) + list(commands)) + "\n")
        self.proc = subprocess.Popen(["gdb", "-q", "-nx", "-batch", "-x", init, "-x", script],
                                     cwd=TOP, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.out = ""
        self.cond = threading.Condition()
        self.done = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.out += line
                self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def wait_for(self, marker, timeout=GDB_TIMEOUT):
        with self.cond:
            if not self.cond.wait_for(lambda: marker in self.out or self.done, timeout) \
                    or marker not in self.out:
                self.kill()
                raise TestFailure("GDB: no %r in its output:\n%s" % (marker, indent(self.out)))

    def finish(self, timeout=GDB_TIMEOUT):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("GDB did not finish in %ss; its output:\n%s"
                              % (timeout, indent(self.out)))
        with self.cond:
            self.cond.wait_for(lambda: self.done, 10)
        expect_equal(0, self.proc.returncode, "GDB's exit status (output:\n%s)" % indent(self.out))
        return self.out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def section(out, start, end):
    """The output between the echo markers start and end."""
    i, j = out.find(start), out.find(end)
    expect(i >= 0 and j > i, "markers %r..%r in GDB's output:\n%s" % (start, end, indent(out)))
    return out[i + len(start):j]


def func_lines(path, name):
    """The first and last line numbers of C function name in path (its
    definition starts at column 0, its body ends at the next '}' there)."""
    lines = open(os.path.join(TOP, path)).read().splitlines()
    first = next(i for i, l in enumerate(lines, 1) if re.match(r"\w.*\b%s\(" % name, l)
                 and not l.endswith(";"))  # not a declaration
    last = next(i for i, l in enumerate(lines, 1) if i > first and l == "}")
    return first, last, lines


def test_growth_at_source_level(m):
    """Stop in the growth path during `grow 200` and check, from GDB: the
    source-level backtrace, break-growth's report (the faulting instruction
    at its source line, the stacks, the count of words about to be adjusted
    against the move's own count), stack-moves against the shell's trace of
    the same moves, info tasks, task N bt and frames against the chain."""
    m.cmd("trace on")
    g = Gdb(m, ["break-growth", "echo @READY\\n", "continue",
                "echo @BT\\n", "bt 6", "echo @PHYSICAL\\n",
                "python", "f = gdb.newest_frame()", "while f:",
                "    if f.type() == gdb.NORMAL_FRAME: print('physical frame', f.name())",
                "    f = f.older()", "end",
                "echo @FRAMES\\n", "frames 3",
                "echo @TASKS\\n", "info tasks", "echo @TASKBT\\n", "python gdb.execute('task %d bt' "
                "% int(gdb.parse_and_eval('rt_cpu0.current->id')))",
                "echo @CONT\\n", "continue", "echo @MOVES\\n", "stack-moves 16",
                "echo @END\\n", "delete", "detach"])
    g.wait_for("@READY")
    start = len(m.out)
    m.send("grow 200\r")  # the machine reads it once GDB's continue lets it run
    out = g.finish()
    m.wait_for(re.escape(PROMPT), 120)
    shell = m.out[start:m.pos]

    # The stop: break-growth's report, then GDB's own backtrace, at source level.
    report = section(out, "@READY", "@BT")
    expect_in("growth: task", report, "break-growth's report")
    bt = section(out, "@BT", "@PHYSICAL")
    first, last, move_src = func_lines("runtime/stackmove.c", "rt_stack_move")
    m0 = expect_re(r"^#0\s+rt_stack_move \(.*\) at runtime/stackmove\.c:(\d+)$", bt, "GDB's bt")
    expect(first <= int(m0.group(1)) <= last, "bt: rt_stack_move's line %s is outside its body "
           "(lines %d-%d of runtime/stackmove.c)" % (m0.group(1), first, last))
    m1 = expect_re(r"^#1\s+.*\b(grow|rt_fault) \(.*\) at runtime/stackfault\.c:(\d+)$", bt, "GDB's bt")
    fault_src = open(os.path.join(TOP, "runtime/stackfault.c")).read().splitlines()
    expect_in("rt_stack_move(", fault_src[int(m1.group(2)) - 1],
              "runtime/stackfault.c line %s (where bt says the move was called)" % m1.group(2))
    expect_re(r"^#\d+\s+.*\brt_fault \(.*\) at runtime/stackfault\.c:\d+$", bt, "GDB's bt")

    # The faulting instruction: where the shell's trace says the task faulted.
    fault = expect_re(r"faulting instruction: (0x[0-9a-f]+) <(\w+)\+(\d+)>:\s+(\S.*)$", report,
                      "break-growth's report")
    src = expect_re(r"^\s+at (\S+):(\d+)$", report, "break-growth's report")
    traced = expect_re(r"stack: task (\d+) frame chain after the move: \d+ frames; faulted at "
                       r"(\w+)\+0x([0-9a-f]+)", shell, "the shell's trace")
    expect_equal((traced.group(2), int(traced.group(3), 16)), (fault.group(2), int(fault.group(3))),
                 "the faulting instruction (GDB's report against the shell's trace)")
    code = open(os.path.join(TOP, src.group(1))).read().splitlines()
    expect(int(src.group(2)) <= len(code), "the faulting line exists")
    expect_in(src.group(2), report, "break-growth's report (the source line shown)")
    old = expect_re(r"old stack \[(0x[0-9a-f]+), (0x[0-9a-f]+)\), (\d+) KiB", report, "report")
    expect_re(r"new stack: %d KiB" % (2 * int(old.group(3))), report, "report")
    predicted = int(expect_re(r"pointers about to be adjusted .*: (\d+)$", report, "report").group(1))
    expect(predicted > 0, "break-growth predicted no pointer to adjust")

    # The move's record when it returned, beside the prediction.
    done = section(out, "@CONT", "@MOVES")
    d = expect_re(r"growth: (\d+) words adjusted, (\d+) predicted", done, "the move's end")
    expect_equal(int(d.group(1)), int(d.group(2)), "words adjusted against break-growth's "
                 "prediction")
    expect_equal(predicted, int(d.group(2)), "the prediction printed twice")

    # stack-moves: the same lines as the shell's trace, move for move.
    moves = section(out, "@MOVES", "@END")
    ring = re.findall(r"^#\d+\s+(stack: task %s .*)$" % traced.group(1), moves, re.M)
    trace = re.findall(r"^(stack: task %s (?:grew|shrank) .*)$" % traced.group(1), shell, re.M)
    expect(len(trace) >= 2, "the shell traced at least two moves:\n%s" % indent(shell))
    # GDB detached before the grow ended: the ring holds the moves up to the second stop.
    expect(len(ring) >= 1, "stack-moves shows this task's moves:\n%s" % indent(moves))
    expect_equal(trace[:len(ring)], ring, "stack-moves against the shell's trace")
    first_move = expect_re(r"stack: task \d+ grew \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", ring[0], "ring")
    expect_equal((old.group(1), old.group(2)), first_move.groups(), "the old stack: report and ring")
    expect_in("at %s <%s+%#x>" % (fault.group(1), fault.group(2), int(fault.group(3))), moves,
              "stack-moves (the faulting instruction of the move)")

    # info tasks at the stop: the task, running, on the old stack.
    tasks = section(out, "@TASKS", "@TASKBT")
    row = expect_re(r"^\*\s*%s grow\s+running\s+\[%s, %s\)\s+%s\b" % (
        traced.group(1), old.group(1), old.group(2), old.group(3)), tasks, "info tasks")
    expect(row, "info tasks marks the running task")

    # task N bt of the running task: from its faulting registers, down its stack.
    taskbt = section(out, "@TASKBT", "@CONT")
    expect_in("from its faulting registers", taskbt, "task N bt")
    expect_re(r"^\s+#0\s+%s\s+%s\+0x%x\b" % (fault.group(1), fault.group(2), int(fault.group(3))),
              taskbt, "task N bt (frame 0 is the faulting instruction)")
    expect_re(r"more frames of descend\+0x", taskbt, "task N bt")
    expect_re(r"chain_task\+0x[0-9a-f]+ .*twins/twin_chain\.c:\d+", taskbt, "task N bt")
    expect_re(r"rt_task_trampoline\+0x[0-9a-f]+", taskbt, "task N bt")
    nframes = int(expect_re(r"^\s+(\d+) frames$", taskbt, "task N bt").group(1))
    after = int(expect_re(r"frame chain after the move: (\d+) frames", shell, "trace").group(1))
    # The same chain the mover counted once it had moved it (stackmove.c count_frames).
    expect_equal(after, nframes, "frames in task N bt against the trace's count after the move")

    # frames: the chain drawn; its functions are GDB's own frames (those
    # with a frame of their own: inlined calls have none), and each return
    # address is the next frame's.
    frames = section(out, "@FRAMES", "@TASKS")
    physical = re.findall(r"^physical frame (\w+)$", section(out, "@PHYSICAL", "@FRAMES"), re.M)
    drawn = [name for _, name in re.findall(r"-+ #(\d+) (\w+)\+0x[0-9a-f]+", frames)]
    expect(len(drawn) == 3, "frames 3 draws 3 frames:\n%s" % indent(frames))
    expect_equal(physical[:3], drawn, "frames against GDB's unwinder")
    rets = re.findall(r"return address -> (\w+)\+", frames)
    expect_equal(drawn[1:], rets[:2], "frames: return addresses and frames")

    # The shell: the grow went on and its chain is intact.
    expect_re(r"task \d+: 200 frames deep and back: checksum ok, chain checked \d+ times?, "
              r"every link intact", shell, "the shell's grow")
    m.cmd("trace off")


def shell_stack_frames(text):
    """The shell's `stack N` frames: [(rip, name, fp)] and the folded runs {name: n}."""
    frames = [(int(a, 16), n, int(f, 16)) for a, n, f in
              re.findall(r"^\s+(0x[0-9a-f]+)\s+(\S+)\s+\(frame at (0x[0-9a-f]+)\)$", text, re.M)]
    folded = {n: int(k) for k, n in re.findall(r"\.\.\. (\d+) more frames of (\S+)", text)}
    return frames, folded


# Bad inputs to the helpers, and the start of the error each must give.
BAD_INPUTS = [("task 99999 bt", "no task 99999 (see 'info tasks')"),
              ("task 1 frobnicate", "usage: task N bt [full]"),
              ("task", "usage: task N bt [full]"),
              ("pt", "usage: pt ADDR"),
              ("pt 0x0000800000000000", "pt: 0x800000000000 is not canonical"),
              ("pt nosuchsymbol", "pt: No symbol \"nosuchsymbol\" in current context."),
              ("stack-moves x", "usage: stack-moves [N]"),
              ("frames -1", "usage: frames [N]"),
              ("break-growth sometimes", "usage: break-growth [all]")]


def test_helpers_against_shell(m):
    """A parked task (spawn 200): info tasks against `tasks`, task N bt
    against `stack N`, pt against `pt` for its stack and the kernel image."""
    out = m.cmd("spawn 200")
    tid = expect_re(r"task (\d+) parked 200 frames deep on a (\d+) KiB stack", out, "spawn").group(1)
    tasks = m.cmd("tasks")
    stack = m.cmd("stack %s" % tid)
    lo = expect_re(r"stack \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", stack, "stack N")
    pt_stack = m.cmd("pt %s" % lo.group(1)[2:])
    pt_kernel = m.cmd("pt ffffffff80000000")
    g = Gdb(m, ["echo @TASKS\\n", "info tasks", "echo @BT\\n", "task %s bt" % tid,
                "echo @PT1\\n", "pt %s" % lo.group(1), "echo @PT2\\n", "pt 0xffffffff80000000",
                "echo @BAD\\n", "python",
                "for c in BAD_INPUTS:",
                "    try:",
                "        gdb.execute(c)",
                "        print('accepted:', c)",
                "    except gdb.error as e:",
                "        print('refused: %s: %s' % (c, e))",
                "end", "echo @END\\n", "detach"], preamble=["python BAD_INPUTS = %r" % [
                    c for c, _ in BAD_INPUTS]])
    gout = g.finish()

    # info tasks against tasks: every column both print.
    srow = expect_re(r"^\s*%s (\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)" % tid,
                     tasks, "tasks")
    grow = expect_re(r"^\s*%s (\S+)\s+(\S+)\s+\[(0x[0-9a-f]+), (0x[0-9a-f]+)\)\s+(\d+)\s+(\d+)\s+"
                     r"(\d+)\s+(\d+)\s+(\d+)" % tid, section(gout, "@TASKS", "@BT"), "info tasks")
    expect_equal((srow.group(1), srow.group(2), srow.group(3), srow.group(5), srow.group(6),
                  srow.group(7)),
                 (grow.group(1), grow.group(2), grow.group(5), grow.group(7), grow.group(8),
                  grow.group(9)), "name, state, stack KiB, grows, shrinks, moved KiB: tasks "
                 "against info tasks")
    expect_equal(int(srow.group(4)), int(grow.group(6)) >> 10, "used KiB: tasks against info tasks")
    expect_equal((lo.group(1), lo.group(2)), (grow.group(3), grow.group(4)),
                 "the stack's range: stack N against info tasks")

    # task N bt against stack N: the same frames, folded the same way.
    bt = section(gout, "@BT", "@PT1")
    sframes, sfolded = shell_stack_frames(stack)
    gframes = [(int(a, 16), n, int(f, 16)) for a, n, f in re.findall(
        r"^\s+#\d+\s+(0x[0-9a-f]+)\s+(\S+)\s+\(frame at (0x[0-9a-f]+)\)", bt, re.M)]
    gfolded = {n: int(k) for k, n in re.findall(r"\.\.\. (\d+) more frames of (\S+)", bt)}
    expect(len(sframes) >= 5, "stack N shows frames:\n%s" % indent(stack))
    expect_equal(sframes, gframes, "the frames: stack N against task N bt")
    expect_equal(sfolded, gfolded, "the folded runs: stack N against task N bt")
    expect_re(r"descend\+0x[0-9a-f]+\s+\(frame at 0x[0-9a-f]+\)\s+twins/twin_chain\.c:\d+", bt,
              "task N bt (source lines)")

    # pt against pt.
    for shell_pt, marker, end in ((pt_stack, "@PT1", "@PT2"), (pt_kernel, "@PT2", "@BAD")):
        expect_equal(shell_pt.strip().splitlines(), section(gout, marker, end).strip().splitlines(),
                     "pt: the shell against GDB")
    bad = section(gout, "@BAD", "@END")
    for c, why in BAD_INPUTS:
        expect_in("refused: %s: %s" % (c, why), bad, "GDB's answer to a bad input")

    out = m.cmd("resume %s" % tid)
    expect_re(r"200 frames deep and back: checksum ok", out, "resume")


def test_task_bt_through_defer(m):
    """In the incr demo, twin_incr's return address is rt_defer_trampoline
    until RT_RETURN: GDB's own unwinder sees the trampoline there, task N bt
    reads the real return address from the defer record and reaches
    incr_main."""
    g = Gdb(m, ["break demo_incr.c:observe if stage == TWIN_AT_RETURN", "echo @READY\\n",
                "continue", "echo @GDBBT\\n", "bt 4", "echo @TASKBT\\n",
                "python gdb.execute('task %d bt full' % int(gdb.parse_and_eval("
                "'rt_cpu0.current->id')))", "echo @END\\n", "delete", "detach"])
    g.wait_for("@READY")
    start = len(m.out)
    m.send("incr\r")
    out = g.finish()
    m.wait_for(re.escape(PROMPT), 120)
    expect_re(r"incr: 5 of 5 match Go", m.out[start:m.pos], "the incr demo")
    gdbbt = section(out, "@GDBBT", "@TASKBT")
    expect_re(r"^#1\s+.*twin_incr \(", gdbbt, "GDB's bt")
    # GDB's unwinder takes the hijacked return address for the caller's pc
    # (and names it by the byte before it, in the closure stubs' page).
    tramp = expect_re(r"^#2\s+(0x[0-9a-f]+) in ", gdbbt, "GDB's bt")
    expect_equal(kernel_symbol("rt_defer_trampoline"), int(tramp.group(1), 16),
                 "GDB's bt: twin_incr's return address is rt_defer_trampoline")
    taskbt = section(out, "@TASKBT", "@END")
    expect_re(r"^\s+#1\s+0x[0-9a-f]+\s+twin_incr\+0x.*\n\s+\(its return address is "
              r"rt_defer_trampoline \(defer hijacked it\); the real one, 0x[0-9a-f]+, is in its "
              r"defer record", taskbt, "task N bt")
    expect_re(r"^\s+#2\s+0x[0-9a-f]+\s+incr_main\+0x[0-9a-f]+ .*demos/demo_incr\.c:\d+", taskbt,
              "task N bt (twin_incr's real caller)")
    expect_re(r"rt_task_trampoline\+0x", taskbt, "task N bt (down to the task's first frame)")


def test_make_gdb_init_from_reset(m):
    """The init file make gdb uses, on a QEMU that waits at the reset
    vector (qemu.py --gdb-port, -S): GDB runs the firmware to _start with a
    hardware breakpoint, then a source-level breakpoint in kmain holds."""
    import socket
    import tempfile
    with socket.socket() as s:  # a free port, as make's per-user one would be
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = tempfile.mkdtemp(prefix="morestack-gdb-")
    args = qemu.command(m.image, work, test=True, gdb=port, serial="file:%s/serial.log" % work)
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        init = gdbinit(os.path.join(work, "gdbinit"), "127.0.0.1:%d" % port)
        r = subprocess.run(["gdb", "-q", "-nx", "-batch", "-x", init, "-ex", "bt",
                            "-ex", "break kmain", "-ex", "continue", "-ex", "info tasks",
                            "-ex", "kill"], cwd=TOP, capture_output=True, text=True,
                           timeout=GDB_TIMEOUT)
        out = r.stdout + r.stderr
        expect_in("0x000000000000fff0 in ?? ()", out, "GDB attached at the reset vector")
        expect_re(r"Temporary breakpoint 1, _start \(\) at kernel/entry\.S:\d+", out,
                  "GDB at the kernel's first instruction")
        expect_re(r"^#0\s+_start \(\) at kernel/entry\.S:\d+", out, "bt at _start")
        first, last, _ = func_lines("kernel/main.c", "kmain")
        k = expect_re(r"Breakpoint 2, kmain \(.*\) at kernel/main\.c:(\d+)", out, "break kmain")
        expect(first <= int(k.group(1)) <= last, "kmain's breakpoint line is in kmain")
        expect_re(r"tasks: 0 spawned, 0 live", out, "info tasks before the runtime starts")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    # The harness's own machine is untouched: it still answers.
    expect_in("stack moves are", m.cmd("trace"), "the shell")
