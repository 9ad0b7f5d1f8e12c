"""tools/gdb/morestack.py: GDB commands that understand morestack's runtime.

Loaded by the generated init file (tools/gdb/gdbinit.in -> build/gdbinit).
Everything here reads the kernel's memory and registers through GDB (QEMU's
GDB server): the runtime's own structures by their DWARF types
(runtime/rt.h struct rt_task, runtime/task.c sched, runtime/stackmove.c
rt_move_ring), the page tables through the direct map at PHYS_OFFSET
(kernel/memlayout.h). Nothing is written to the machine.

    info tasks       every task: id, name, state, stack range and size, moves
    task N bt [full] a task's backtrace from its saved context, through
                     defer trampolines (full: no folding of repeated frames)
    stack-moves [N]  the last N stack moves (the runtime's ring of them)
    pt ADDR          the page-table walk for a virtual address, from CR3
    frames [N]       the current frame-pointer chain, drawn word by word
    break-growth [all]  stop where a stack is about to move (rt_stack_move) and
                     show the faulting instruction, the stacks and the words
                     about to be adjusted; the move's result is shown when it returns

The kernel's frames are chained by %rbp (-fno-omit-frame-pointer
everywhere), so the walks here read [rbp] (the caller's rbp) and [rbp+8]
(the return address), exactly as the shell's `stack N` and the fault
report do; the output follows theirs so that the two can be compared.
"""
import re

import gdb

# kernel/memlayout.h and runtime/rt.h: constants the DWARF (built without
# -g3) does not carry.
PHYS_OFFSET = 0xffff800000000000
KERNEL_BASE = 0xffffffff80000000
RT_STACK_GUARD = 16 << 10
# kernel/pagetable.h
PTE_P, PTE_W, PTE_U, PTE_PWT, PTE_PCD, PTE_A, PTE_D, PTE_PS, PTE_G = (
    1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8)
PTE_NX = 1 << 63
PTE_ADDR = 0x000ffffffffff000
PTE_PAT_LARGE = 1 << 12
PAT_KERNEL = 0x0007040600070106
PAT_TYPES = ("uncached", "write-combining", "?", "?", "write-through", "write-protected",
             "write-back", "uncached-minus")
MASK64 = (1 << 64) - 1


class Error(gdb.GdbError):
    pass


class Command(gdb.Command):
    """A helper command: run() does the work; memory GDB cannot read (the
    kernel not loaded yet, an unmapped address) is an error that says so,
    not a Python traceback."""

    def invoke(self, arg, from_tty):
        try:
            self.run(arg)
        except gdb.MemoryError as e:
            raise Error("%s: cannot read the kernel's memory (%s); is the kernel running yet? "
                        "(rip %#x)" % (self._name, e, register("rip")))

    def __init__(self, name, kind):
        super().__init__(name, kind)
        self._name = name


# ---- reading the machine ----

def read_u64(addr):
    try:
        data = gdb.selected_inferior().read_memory(addr, 8)
    except gdb.MemoryError:
        raise Error("cannot read memory at %#x (not mapped in the current page tables?)" % addr)
    return int.from_bytes(bytes(data), "little")


def read_words(lo, hi):
    """The 8-byte words of [lo, hi) as a list of ints (one read)."""
    if hi <= lo:
        return []
    data = bytes(gdb.selected_inferior().read_memory(lo, hi - lo))
    return [int.from_bytes(data[i:i + 8], "little") for i in range(0, len(data) - 7, 8)]


def value(expr):
    try:
        return gdb.parse_and_eval(expr)
    except gdb.error as e:
        raise Error("%s: %s (is build/kernel.elf loaded with symbol-file?)" % (expr, e))


def u64(v):
    return int(v.cast(gdb.lookup_type("unsigned long"))) & MASK64


def register(name):
    return int(gdb.parse_and_eval("(unsigned long)$" + name)) & MASK64


def symbolize(pc, is_return=False):
    """pc as the kernel's symbolizer writes it: "function+0xoff", or "?".
    A return address is looked up one byte back, in the call: after a call
    to a function that never returns it is the first byte past its caller."""
    back = 1 if is_return else 0
    out = gdb.execute("info symbol %#x" % (pc - back), to_string=True).strip()
    m = re.match(r"(\S+)(?: \+ (\d+))? in section", out)
    if not m:
        return "?"
    return "%s+%#x" % (m.group(1), int(m.group(2) or 0) + back)


def source_of(pc, is_return=False):
    """"file:line" of pc (of the call for a return address), or ""."""
    sal = gdb.find_pc_line(pc - 1 if is_return else pc)
    if sal.symtab is None or not sal.line:
        return ""
    return "%s:%d" % (sal.symtab.filename, sal.line)


def address_of(name):
    try:
        return u64(gdb.parse_and_eval("&" + name))
    except gdb.error:
        return None


# ---- the runtime's records ----

STATE_NAMES = {"RT_RUNNABLE": "runnable", "RT_RUNNING": "running", "RT_PARKED": "parked",
               "RT_DONE": "done"}


def sched():
    try:
        return gdb.parse_and_eval("'task.c'::sched")
    except gdb.error:
        return value("sched")


def all_tasks():
    """Every task the runtime has not reaped, newest first (sched.all)."""
    tasks, t, seen = [], sched()["all"], set()
    while int(t) != 0 and int(t) not in seen:
        seen.add(int(t))
        tasks.append(t.dereference())
        t = t["all_next"]
    return tasks


def task_by_id(n):
    for t in all_tasks():
        if int(t["id"]) == n:
            return t
    raise Error("no task %d (see 'info tasks')" % n)


def current_task():
    cur = gdb.parse_and_eval("rt_cpu0.current")
    return None if int(cur) == 0 else cur.dereference()


def state_name(t):
    if int(t["image"]):
        return "asleep"
    return STATE_NAMES.get(str(t["state"]), str(t["state"]))


def task_name(t):
    try:
        return t["name"].string() if int(t["name"]) else "?"
    except gdb.error:
        return "?"


class InfoTasks(Command):
    """info tasks: every task of the runtime (sched.all): id, name, state,
its stack's range and size, its grows and shrinks, bytes moved and words
adjusted. The task running now is marked with '*'. An asleep task
(hibernated) has no stack: its image's range is shown."""

    def __init__(self):
        super().__init__("info tasks", gdb.COMMAND_STATUS)

    def run(self, arg):
        tasks = all_tasks()
        cur = current_task()
        cur_id = int(cur["id"]) if cur is not None else None
        print("  ID NAME     STATE     STACK                                       KiB   "
              "USED GROWS SHRINKS  MOVED KiB ADJUSTED")
        for t in tasks:
            lo, hi = u64(t["stack_lo"]), u64(t["stack_hi"])
            size = hi - lo
            st = t["stats"]
            if int(t["image"]):
                img = u64(t["image"])
                rng = "image [%#x, %#x)" % (img, img + int(t["image_bytes"]))
                used = img + int(t["image_bytes"]) - u64(t["ctx"]["rsp"])
            else:
                rng = "[%#x, %#x)" % (lo, hi) if size else "(none)"
                used = 0 if str(t["state"]) == "RT_DONE" or not size else hi - u64(t["ctx"]["rsp"])
            if cur_id == int(t["id"]):
                used = None  # its %rsp is the CPU's, not ctx's
            mark = "*" if cur_id == int(t["id"]) else " "
            print("%s%3d %-8s %-9s %-42s %5d %6s %5d %7d %10d %8d" % (
                mark, int(t["id"]), task_name(t), state_name(t), rng, size >> 10,
                "-" if used is None else str(used), int(st["grows"]), int(st["shrinks"]),
                (int(st["bytes_copied"]) + int(st["bytes_remapped"])) >> 10,
                int(st["pointers_adjusted"])))
        s = sched()
        print("tasks: %d spawned, %d live; next id %d; running: %s" % (
            int(s["spawned"]), int(s["live"]), int(s["next_id"]),
            "task %d" % cur_id if cur_id is not None else "none (the shell, on its own stack)"))


# ---- backtraces by frame pointers ----

def defer_records(t):
    """{F's rbp: (record address, F's real return address)} of t's deferring frames."""
    cur = current_task()
    if cur is not None and int(cur["id"]) == int(t["id"]):
        f = gdb.parse_and_eval("rt_defer_frames")
    else:
        f = t["defer_frames"]
    recs, seen = {}, set()
    while int(f) != 0 and int(f) not in seen:
        seen.add(int(f))
        recs[u64(f["top"]["rbp"])] = (int(f), u64(f["ret"]))
        f = f["next"]
    return recs


def prologue_state(pc):
    """How far pc is into its function's `push %rbp; mov %rsp, %rbp`: 0 at
    the push (nothing pushed: the return address is at [rsp]), 1 after it
    ([rsp] is the caller's rbp, [rsp+8] the return address), None past the
    prologue (the frame is rbp's)."""
    sym = symbolize(pc)
    m = re.match(r".*\+0x([0-9a-f]+)$", sym)
    if not m or int(m.group(1), 16) > 1:
        return None
    start = pc - int(m.group(1), 16)
    if bytes(gdb.selected_inferior().read_memory(start, 1))[0] != 0x55:  # push %rbp
        return None
    return pc - start


def walk(rip, rbp, lo, hi, defers, rsp=None, limit=100000):
    """The frame-pointer chain from (rip, rbp) while rbp stays in [lo, hi):
    a list of (pc, frame address, note). A return address that is
    rt_defer_trampoline (defer.c hijacked it) is replaced by the real one
    from the deferring frame's record, and noted on the frame that returns
    through it. With rsp (live registers: a breakpoint or a fault may be at
    a function's first instruction, before its frame exists), frame 0's
    return address is found from rsp while its prologue has not run."""
    tramp = address_of("rt_defer_trampoline")
    frames = []
    state = prologue_state(rip) if rsp is not None else None
    if state is not None:
        # Frame 0 has no frame of its own yet: its return address is on top
        # of the stack (or under the rbp it just pushed); rbp is the caller's.
        ret = read_u64(rsp + 8 * state)
        frames.append([rip, rsp + 8 * state - 8, ""])
        rip = ret
    while len(frames) < limit:
        frames.append([rip, rbp, ""])
        if rbp < lo or rbp + 16 > hi or rbp & 7:
            break
        nxt, ret = read_u64(rbp), read_u64(rbp + 8)
        if ret == tramp and rbp in defers:
            rec, real = defers[rbp]
            frames[-1][2] = "its return address is rt_defer_trampoline (defer hijacked it); " \
                            "the real one, %#x, is in its defer record at %#x" % (real, rec)
            ret = real
        if ret == 0 or nxt <= rbp:
            break
        rip, rbp = ret, nxt
    return [tuple(f) for f in frames]


def task_context(t):
    """(rip, rbp, rsp, lo, hi, where) to walk t's frames from; rsp is None
    for a saved context (saved at a call's return address: a whole frame)."""
    lo, hi = u64(t["stack_lo"]), u64(t["stack_hi"])
    if int(t["image"]):
        lo = u64(t["image"])
        hi = lo + int(t["image_bytes"])
    cur = current_task()
    if cur is not None and int(cur["id"]) == int(t["id"]):
        rsp = register("rsp")
        if lo - RT_STACK_GUARD <= rsp <= hi:
            return register("rip"), register("rbp"), rsp, lo, hi, "the CPU's registers (it runs)"
        regs = faulting_regs()
        if regs is not None:
            return (u64(regs["rip"]), u64(regs["rbp"]), u64(regs["rsp"]), lo, hi,
                    "its faulting registers (struct rt_regs at %#x)" % int(regs.address))
        raise Error("task %d is running but the CPU is not on its stack and no frame has its "
                    "faulting registers: use 'bt'" % int(t["id"]))
    if str(t["state"]) == "RT_DONE" or hi == lo:
        raise Error("task %d has finished: its stack is gone" % int(t["id"]))
    return u64(t["ctx"]["rip"]), u64(t["ctx"]["rbp"]), None, lo, hi, "its saved context (t->ctx)"


def faulting_regs():
    """The struct rt_regs of the fault being handled, from a frame that has `regs`, or None."""
    f = gdb.newest_frame()
    while f is not None:
        try:
            regs = f.read_var("regs")
            if regs.type.strip_typedefs().code == gdb.TYPE_CODE_PTR and int(regs):
                return regs.dereference()
        except (ValueError, gdb.error):
            pass
        f = f.older()
    return None


def print_frames(frames, full):
    """Prints a walk, innermost first; identical runs of function+offset
    folded as the shell's `stack N` folds them, unless full."""
    last, repeat = None, 0
    for i, (pc, fp, note) in enumerate(frames):
        name = symbolize(pc, is_return=i > 0)
        if name == last and not full and not note:
            repeat += 1
            continue
        if repeat:
            print("      ... %d more frames of %s" % (repeat, last))
        repeat = 0
        src = source_of(pc, is_return=i > 0)
        print("  #%-4d %#018x  %s  (frame at %#x)%s" % (i, pc, name, fp, "  " + src if src else ""))
        if note:
            print("        (%s)" % note)
        last = None if note else name
    if repeat:
        print("      ... %d more frames of %s" % (repeat, last))
    print("  %d frames" % len(frames))


class Task(Command):
    """task N bt [full]: task N's backtrace, from its saved context (t->ctx:
rip and rbp as the scheduler left them; for the running task, the CPU's
registers or its faulting ones), walking the frame pointers, with the real
return address wherever defer hijacked one (runtime/defer_tramp.S). Runs of
the same function+offset are folded as the shell's `stack N` folds them;
`full` shows every frame."""

    def __init__(self):
        super().__init__("task", gdb.COMMAND_STACK)

    def run(self, arg):
        argv = gdb.string_to_argv(arg)
        if len(argv) < 2 or argv[1] not in ("bt", "backtrace") or not argv[0].isdigit() \
                or len(argv) > 3 or (len(argv) == 3 and argv[2] != "full"):
            raise Error("usage: task N bt [full] (N: an id from 'info tasks')")
        t = task_by_id(int(argv[0]))
        rip, rbp, rsp, lo, hi, where = task_context(t)
        print("task %d (%s), %s, from %s: rip %#x, rbp %#x, stack [%#x, %#x)" % (
            int(t["id"]), task_name(t), state_name(t), where, rip, rbp, lo, hi))
        print_frames(walk(rip, rbp, lo, hi, defer_records(t), rsp), len(argv) == 3)


# ---- the ring of recent moves ----

MOVE_VERBS = {"RT_MOVE_GROW": "grew", "RT_MOVE_SHRINK": "shrank",
              "RT_MOVE_HIBERNATE": "hibernated", "RT_MOVE_WAKE": "woke"}


def recent_moves(n):
    ring = value("rt_move_ring")
    size = ring.type.range()[1] + 1
    total = int(value("rt_moves_recorded"))
    first = max(total - min(n, size), 0)
    return [ring[i % size] for i in range(first, total)], total


def move_line(r):
    lo, hi, nlo, nhi = (u64(r[k]) for k in ("old_lo", "old_hi", "new_lo", "new_hi"))
    verb = MOVE_VERBS.get(str(r["kind"]), str(r["kind"]))
    line = "stack: task %d %s [%#x, %#x) -> [%#x, %#x) (%d -> %d KiB), %s %d bytes, " \
           "adjusted %d words" % (int(r["task"]), verb, lo, hi, nlo, nhi, (hi - lo) >> 10,
                                  (nhi - nlo) >> 10, "remapped" if bool(r["remapped"]) else "copied",
                                  int(r["used"]), int(r["adjusted"]))
    return line


class StackMoves(Command):
    """stack-moves [N]: the last N stack moves (default 16, all the ring
holds), oldest first, each as the shell's `trace on` prints it: the task,
old and new range, bytes moved (remapped: the used pages changed address;
copied) and the words adjusted; then the instruction that faulted (for a
growth) or was interrupted (move-stress), at source level. From
runtime/stackmove.c's rt_move_ring."""

    def __init__(self):
        super().__init__("stack-moves", gdb.COMMAND_STATUS)

    def run(self, arg):
        arg = arg.strip()
        if arg and not arg.isdigit():
            raise Error("usage: stack-moves [N]")
        moves, total = recent_moves(int(arg) if arg else 1 << 30)
        print("stack moves: %d since boot, the last %d:" % (total, len(moves)))
        for r in moves:
            print("#%-5d %s" % (int(r["seq"]), move_line(r)))
            rip = u64(r["rip"])
            if rip:
                src = source_of(rip)
                print("       at %#x <%s>%s" % (rip, symbolize(rip), "  " + src if src else ""))


# ---- page tables ----

def pt_describe(e, level):
    if not e & PTE_P:
        return "not present"
    leaf = level == 1 or (level in (2, 3) and e & PTE_PS)
    typ = ""
    pat = leaf and (e & PTE_PS if level == 1 else e & PTE_PAT_LARGE)
    index = (4 if pat else 0) | (2 if e & PTE_PCD else 0) | (1 if e & PTE_PWT else 0)
    if leaf and index:
        typ = ", %s memory" % PAT_TYPES[(PAT_KERNEL >> (8 * index)) & 7]
    return "present, %s, %s, %s%s%s%s%s%s%s%s" % (
        "writable" if e & PTE_W else "read-only", "user" if e & PTE_U else "supervisor only",
        "no-execute" if e & PTE_NX else "executable", typ,
        ", cache disabled" if not leaf and e & PTE_PCD else "",
        ", write-through" if not leaf and e & PTE_PWT else "",
        ", accessed" if e & PTE_A else "", ", dirty" if leaf and e & PTE_D else "",
        ", global" if leaf and e & PTE_G else "",
        ", points to a table" if not leaf else
        ", 1 GiB page" if level == 3 else ", 2 MiB page" if level == 2 else ", 4 KiB page")


def canonical(va):
    top = va >> 47
    return top == 0 or top == (1 << 17) - 1


class PageTable(Command):
    """pt ADDR: the 4-level page-table walk for virtual address ADDR (an
expression: 0x..., $rsp, &symbol), as the shell's `pt` prints it: CR3,
then each level's entry and its bits in words, then the physical address.
The tables are read through the direct map (physical p at PHYS_OFFSET + p,
kernel/memlayout.h), so this needs the kernel's page tables in CR3."""

    def __init__(self):
        super().__init__("pt", gdb.COMMAND_DATA)

    def run(self, arg):
        if not arg.strip():
            raise Error("usage: pt ADDR (a virtual address or expression)")
        try:
            va = int(gdb.parse_and_eval(arg).cast(gdb.lookup_type("unsigned long"))) & MASK64
        except gdb.error as e:
            raise Error("pt: %s" % e)
        if not canonical(va):
            raise Error("pt: %#x is not canonical: bits 63..47 must all equal bit 47, so no page "
                        "table can map it (valid: below 0x0000800000000000 or from "
                        "0xffff800000000000)" % va)
        names = {4: "PML4", 3: "PDPT", 2: "PD  ", 1: "PT  "}
        root = register("cr3") & PTE_ADDR
        print("pt %#018x: PML4 index %d, PDPT %d, PD %d, PT %d, offset %#x" % (
            va, (va >> 39) & 511, (va >> 30) & 511, (va >> 21) & 511, (va >> 12) & 511, va & 0xfff))
        print("  CR3 -> PML4 at phys %#x" % root)
        if register("cr0") >> 31 == 0:
            raise Error("paging is off (CR0.PG clear): the firmware is still in real or protected "
                        "mode")
        table, level, mapped, phys, size, writable, executable = root, 4, False, 0, 0, True, True
        while level >= 1:
            index = (va >> (12 + 9 * (level - 1))) & 511
            e = read_u64(PHYS_OFFSET + table + 8 * index)
            print("  %s[%3d] = %#018x  %s" % (names[level], index, e, pt_describe(e, level)))
            if not e & PTE_P:
                break
            writable = writable and bool(e & PTE_W)
            executable = executable and not e & PTE_NX
            if level == 1 or (level in (2, 3) and e & PTE_PS):
                size = 1 << (12 + 9 * (level - 1))
                phys = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1))
                mapped = True
                break
            table, level = e & PTE_ADDR, level - 1
        if not mapped:
            print("  => not mapped: an access faults (#PF)")
        else:
            print("  => phys %#x, %s page, %s, %s" % (
                phys, {4096: "4 KiB", 2 << 20: "2 MiB"}.get(size, "1 GiB"),
                "read/write" if writable else "read-only",
                "executable" if executable else "no-execute"))


# ---- the current frame chain, drawn ----

def word_what(w):
    """A word of a frame, in words: a code address by its symbol, another
    kernel-half address by its region (kernel/memlayout.h), or a value."""
    if w >= KERNEL_BASE:
        sym = symbolize(w)
        return "local: %s" % (sym if sym != "?" else "an address in the kernel image")
    if w >> 47 == 0x1ffff:
        for base, what in ((0xffffe00000000000, "a closure trampoline"),
                           (0xffffd00000000000, "an address in a kernel stack"),
                           (0xffffc00000000000, "an address in a task stack"),
                           (PHYS_OFFSET, "an address in the direct map (the heap)")):
            if w >= base:
                return "local: " + what
    return "local"


class Frames(Command):
    """frames [N]: the current frame-pointer chain (N frames, default 8),
drawn as the demos draw a frame (demos/demo_frames.c): every word of each
frame from its lowest address up, with its offset from the frame's %rsp,
its value, and what it is: the saved %rbp (the link to the caller's
frame), the return address (and where it returns to), or a local. Long
runs of locals are folded."""

    def __init__(self):
        super().__init__("frames", gdb.COMMAND_STACK)

    def run(self, arg):
        arg = arg.strip()
        if arg and not arg.isdigit():
            raise Error("usage: frames [N]")
        n = int(arg) if arg else 8
        rip, rsp, rbp = register("rip"), register("rsp"), register("rbp")
        tramp = address_of("rt_defer_trampoline")
        print("frames from rip %#x, rsp %#x, rbp %#x (innermost first)" % (rip, rsp, rbp))
        state = prologue_state(rip)
        for i in range(n):
            src = source_of(rip, is_return=i > 0)
            print("  ------------------------------------------------------------ #%d %s%s" % (
                i, symbolize(rip, is_return=i > 0), "  " + src if src else ""))
            if i == 0 and state is not None:
                # At its first instruction (a breakpoint on a function stops
                # there): no frame yet, rbp is still the caller's.
                print("  offset    address             value               what")
                if state == 1:
                    print("  SP+0x0    %#018x  %#018x  saved rbp: the caller's frame, just "
                          "pushed" % (rsp, read_u64(rsp)))
                ret = read_u64(rsp + 8 * state)
                print("  SP+%#-6x %#018x  %#018x  return address -> %s  (the prologue has "
                      "not run: no frame of its own yet)" % (8 * state, rsp + 8 * state, ret,
                                                          symbolize(ret, is_return=True)))
                rip, rsp = ret, rsp + 8 * state + 8
                continue
            if rbp < rsp or rbp - rsp > (1 << 20) or rbp & 7:
                print("  (rbp %#x is not a frame above rsp %#x: the chain ends)" % (rbp, rsp))
                return
            print("  offset    address             value               what")
            words = read_words(rsp, rbp + 16)
            locals_ = len(words) - 2
            for k, w in enumerate(words[:-2]):
                if locals_ > 6 and 3 <= k < locals_ - 2:
                    if k == 3:
                        print("  ...       (%d more words of locals, saved registers and "
                              "outgoing arguments)" % (locals_ - 5))
                    continue
                print("  SP+%#-6x %#018x  %#018x  %s" % (8 * k, rsp + 8 * k, w, word_what(w)))
            nxt, ret = words[-2], words[-1]
            print("  SP+%#-6x %#018x  %#018x  saved rbp: the caller's frame" % (
                rbp - rsp, rbp, nxt))
            if ret == tramp:
                what = "return address -> rt_defer_trampoline (defer hijacked it)"
            else:
                what = "return address -> %s" % symbolize(ret, is_return=True)
            print("  SP+%#-6x %#018x  %#018x  %s" % (rbp + 8 - rsp, rbp + 8, ret, what))
            if ret == 0 or nxt <= rbp:
                print("  (the chain ends: %s)" % ("a zero return address" if ret == 0
                                                  else "the next rbp is not above this one"))
                return
            rip, rsp, rbp = ret, rbp + 16, nxt


# ---- the growth path ----

REG_NAMES = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")


def growth_report(frame):
    """What rt_stack_move(t, new_size, used_from, regs, grow) is about to do,
    read at its first line: the lines to print and the predicted count of
    adjusted words (stack words and registers)."""
    t = frame.read_var("t").dereference()
    new_size = int(frame.read_var("new_size"))
    used_from = u64(frame.read_var("used_from"))
    regs_p = frame.read_var("regs")
    grow = bool(frame.read_var("grow"))
    lo, hi = u64(t["stack_lo"]), u64(t["stack_hi"])
    own_lo = lo - RT_STACK_GUARD
    frm = (lo if used_from < lo else used_from) & ~7
    out = []
    out.append("growth: task %d (%s) %s: its stack is about to move" % (
        int(t["id"]), task_name(t), "grows" if grow else "shrinks (or moves)"))
    if int(regs_p):
        regs = regs_p.dereference()
        rip = u64(regs["rip"])
        src = source_of(rip)
        out.append("  faulting instruction: %s" % gdb.execute("x/i %#x" % rip, to_string=True)
                   .strip().lstrip("=> "))
        out.append("    at %s" % (src or "(no line information)"))
        sal = gdb.find_pc_line(rip)
        if sal.symtab is not None and sal.line:
            try:
                text = gdb.execute("list %s:%d,%d" % (sal.symtab.filename, sal.line, sal.line),
                                   to_string=True).rstrip()
                out.append("    " + text)
            except gdb.error:
                pass
        out.append("    rsp %#x, rbp %#x" % (u64(regs["rsp"]), u64(regs["rbp"])))
    else:
        regs = None
        out.append("  (not from a fault: the task is not running; its context is t->ctx)")
    out.append("  old stack [%#x, %#x), %d KiB; guard [%#x, %#x); in use [%#x, %#x), %d bytes" % (
        lo, hi, (hi - lo) >> 10, own_lo, lo, frm, hi, hi - frm))
    out.append("  new stack: %d KiB (%d -> %d), at fresh addresses chosen by the move" % (
        new_size >> 10, hi - lo, new_size))
    # What stackmove.c adjusts: every value in [lo - GUARD, hi].
    def inside(w):
        return (w - own_lo) & MASK64 <= hi - own_lo
    pointers = []
    if regs is not None:
        for name in REG_NAMES:
            v = u64(regs[name])
            if inside(v):
                pointers.append(("register %s" % name, None, v))
    else:
        for name in ("rsp", "rbx", "rbp", "r12", "r13", "r14", "r15", "rip"):
            v = u64(t["ctx"][name])
            if inside(v):
                pointers.append(("saved %s" % name, None, v))
    words = read_words(frm, hi)
    for k, w in enumerate(words):
        if inside(w):
            pointers.append(("stack word", frm + 8 * k, w))
    out.append("  pointers about to be adjusted (values in [%#x, %#x]): %d" % (
        own_lo, hi, len(pointers)))
    shown = 0
    for what, at, v in pointers:
        if what != "stack word" or shown < 8:
            where = "at %#x (top-%#x)" % (at, hi - at) if at else ""
            out.append("    %-13s %-32s = %#x (top-%#x)" % (what, where, v, hi - v))
            shown += what == "stack word"
    if len(pointers) > shown + sum(1 for p in pointers if p[0] != "stack word"):
        out.append("    ... and %d more stack words" % (
            len(pointers) - shown - sum(1 for p in pointers if p[0] != "stack word")))
    out.append("  (and the task's records: its channel element, defer records, panics, "
               "closure environments in the stack)")
    return out, len(pointers), int(t["id"])


class GrowthBreakpoint(gdb.Breakpoint):
    """A breakpoint on rt_stack_move that stops only for growths (or every
    move, with all) and prints growth_report; when the move returns, its
    record in the ring is printed beside the prediction."""

    def __init__(self, every):
        super().__init__("rt_stack_move", gdb.BP_BREAKPOINT)
        self.every = every
        self.armed = None

    def stop(self):
        frame = gdb.newest_frame()
        try:
            if not self.every and not bool(frame.read_var("grow")):
                return False
            lines, predicted, task = growth_report(frame)
        except (gdb.error, ValueError) as e:
            print("growth: cannot read rt_stack_move's arguments here: %s" % e)
            return True
        print("\n".join(lines))
        self.armed = (int(value("rt_moves_recorded")), predicted, task)
        print("  ('finish' runs the move; 'stack-moves 1' shows what it did)")
        return True


class MoveDone(gdb.Breakpoint):
    """Prints the move's record when rt_stack_move returns (a breakpoint on
    its return address: GDB's FinishBreakpoint loses the frame when the
    caller, grow, is inlined), then lets the machine go on. Used once;
    on_stop deletes it at the next stop."""

    def __init__(self, frame, armed):
        super().__init__("*%#x" % frame.older().pc(), gdb.BP_BREAKPOINT, internal=True)
        self.silent = True
        self.armed_ = armed
        self.sp = register("rsp")  # at rt_stack_move's first line: below its return address
        self.used = False

    def stop(self):
        before, predicted, task = self.armed_
        if self.used or register("rsp") <= self.sp:
            return False  # a deeper call of the same code, or already reported
        self.used = True
        moves, total = recent_moves(1)
        if total == before + 1 and int(moves[0]["task"]) == task:
            r = moves[0]
            print("growth: done: %s" % move_line(r))
            print("growth: %d words adjusted, %d predicted at the breakpoint (stack words and "
                  "registers)" % (int(r["adjusted"]), predicted))
        else:
            print("growth: rt_stack_move returned without a move (out of memory?)")
        return False


move_reports = []


def on_stop(event):
    """After a stop at a growth breakpoint: arm the report of the move's end
    (breakpoints may not be added from a breakpoint's stop method); drop
    the reports already made."""
    for bp in [b for b in move_reports if b.used]:
        move_reports.remove(bp)
        bp.delete()
    if not isinstance(event, gdb.BreakpointEvent):
        return
    for bp in event.breakpoints:
        if isinstance(bp, GrowthBreakpoint) and bp.armed is not None:
            try:
                move_reports.append(MoveDone(gdb.newest_frame(), bp.armed))
            except (gdb.error, ValueError) as e:
                print("growth: the move's result will not be shown: %s" % e)
            bp.armed = None


class BreakGrowth(Command):
    """break-growth [all]: stop when a task's stack is about to grow
(rt_stack_move with grow set; `all`: every move, shrinks and move-stress
too). At the stop it shows the faulting instruction at source level, the
old stack and the new stack's size, and every register and stack word
about to be adjusted; when the move is done (after 'continue' or
'finish'), the move's record from the runtime's ring beside that count."""

    def __init__(self):
        super().__init__("break-growth", gdb.COMMAND_BREAKPOINTS)

    def run(self, arg):
        arg = arg.strip()
        if arg not in ("", "all"):
            raise Error("usage: break-growth [all]")
        bp = GrowthBreakpoint(arg == "all")
        print("break-growth: breakpoint %d at rt_stack_move (%s)" % (
            bp.number, "every move" if arg else "growths only"))


class KernelEntry(Command):
    """kernel-entry [go]: run to the kernel's first instruction (_start,
kernel/entry.S) if the CPU is still at the reset vector (QEMU started
with -S), or anywhere in the firmware with `go`. It uses a hardware
breakpoint: the kernel is not mapped yet. Source-level breakpoints work
from then on (QEMU keeps software breakpoints itself, by address)."""

    def __init__(self):
        super().__init__("kernel-entry", gdb.COMMAND_RUNNING)

    def run(self, arg):
        pc = register("rip")
        if pc >= KERNEL_BASE:
            print("morestack: the kernel runs (rip %#x <%s>); 'continue' lets it go on"
                  % (pc, symbolize(pc)))
            return
        at_reset = pc == 0xfff0 and register("cs") == 0xf000
        if not at_reset and arg.strip() != "go":
            print("morestack: the CPU is in the firmware (rip %#x); 'kernel-entry go' runs "
                  "to the kernel's first instruction" % pc)
            return
        print("morestack: running the firmware and the loader to the kernel's first "
              "instruction (hbreak _start)")
        gdb.execute("thbreak _start")
        gdb.execute("continue")


InfoTasks()
Task()
StackMoves()
PageTable()
Frames()
BreakGrowth()
KernelEntry()
gdb.events.stop.connect(on_stop)
