"""A PC whose only keyboard is on USB: q35 with no i8042 (i8042=off) and an
xHCI controller with QEMU's usb-kbd (kernel/xhci.c, hid.c, keymap.c). Keys
are pressed with QMP send-key, which QEMU delivers to the USB keyboard (there
is no PS/2 one), and the kernel must read them off its own xHCI event ring.

The main machine has no serial port either: everything is read off the
screen (harness.Machine with serial=False, as test_no_serial.py). The others
have a serial port to read the output quickly, but their commands are still
typed on the USB keyboard (typed()): the hub, two keyboards, the NEC
controller, a controller with no device, and an EHCI controller, for which
the kernel must say it has no driver and go on."""
import re
import time

import harness
from harness import PROMPT, expect, expect_equal, expect_in, expect_not_in, expect_re, own_machine
from test_no_serial import expect_every_key_typed

XHCI = ("-device", "qemu-xhci,id=xhci", "-device", "usb-kbd,bus=xhci.0,id=kbd")
MACHINE = dict(machine="q35,i8042=off", memory="512M", serial=False, extra=XHCI)

BOOT_LINE = (r"^usb: xHCI 00:0\d\.0 \((?P<ids>[0-9a-f]{4}:[0-9a-f]{4}), version 1\.\d\d\): "
             r"(?P<ports>\d+) ports, \d+ slots, (?:32|64)-byte contexts; (?P<devs>\d+) devices?, "
             r"(?P<kbds>\d+) keyboards? \(\d+ ms\)$")


def typed(m, line, timeout=30):
    """On a machine with a serial port: types line and Enter on the USB
    keyboard (not over the serial line) and returns the command's output
    as the serial line shows it, without the echo and the prompt."""
    start = m.pos
    m.type(line + "\r")
    m.wait_for(re.escape(PROMPT), timeout)
    text = m.out[start:m.pos - len(PROMPT)]
    first, _, rest = text.partition("\n")
    expect_equal(line, first.strip(), "the echo of the line typed on the USB keyboard")
    return rest


def with_serial(extra, machine="q35,i8042=off"):
    def wrap(fn):
        fn = own_machine(fn)
        fn.machine_config = dict(machine=machine, memory="512M", extra=extra)
        return fn
    return wrap


# ---- no serial port, no PS/2: the screen and the USB keyboard alone ----

def test_the_boot_log_names_the_usb_keyboard(m):
    log = m.boot_log
    expect_in("keyboard: no PS/2 controller (its status port reads 0xff): skipped", log,
              "boot log on the screen")
    r = expect_re(BOOT_LINE, log, "boot log on the screen")
    expect_equal(("1b36:000d", "1", "1"), (r.group("ids"), r.group("devs"), r.group("kbds")),
                 "qemu-xhci's IDs, devices and keyboards")
    expect_not_in("going on without", log, "boot log on the screen")
    expect_not_in("morestack", m.out, "QEMU's stdout (no serial port)")


def test_help_typed_on_the_usb_keyboard(m):
    out = m.cmd("help")
    # help is longer than the screen: its last lines are what is left on it.
    expect_re(r"^  poweroff \[METHOD\] +switch off", out, "help on the screen")


def test_every_printable_key_and_backspace(m):
    expect_every_key_typed(m)


def test_the_usb_command_shows_the_keyboard_and_its_reports(m):
    m.cmd("version")
    out = m.cmd("usb")
    expect_re(r"^xHCI 00:0\d\.0 \(1b36:000d\), version 1\.\d\d: 8 ports, 1 device, 1 keyboard$",
              out, "usb")
    expect_re(r"^  port \d \(USB 2\): connected, enabled, high speed \(480 Mb/s\), link U0$", out,
              "usb: the keyboard's port")
    expect_re(r"^  device port \d: slot \d+, address \d+, high speed \(480 Mb/s\): "
              r"keyboard \(HID boot protocol\)$", out, "usb")
    expect_re(r"^    device descriptor: USB 2\.00, class 00/00/00 \(per interface\), vendor 0627 "
              r"product 0001", out, "usb: QEMU's usb-kbd IDs")
    r = expect_re(r"^    keyboard: interface 0, endpoint DCI 3; (\d+) reports, (\d+) key presses",
                  out, "usb")
    # "version\r" and "usb\r": at least a press and a release report a key.
    expect(int(r.group(1)) >= 2 * len("versionusb") and int(r.group(2)) >= len("versionusb"),
           "reports and presses counted: %s" % r.group(0))
    # The newest report: Enter (usage 0x28) of the line "usb", or its release.
    expect_re(r"^    report -0: 00 00 (28|00) 00 00 00 00 00$", out, "usb: the last report")


def test_ctrl_c_on_the_usb_keyboard_stops_a_task(m):
    mark = len(m.transcript)
    m.type("hang spin\r")
    m.wait_screen(r"^hang: 1 task \(spin\) running; Ctrl-C stops it$", since=mark)
    m.qmp("send-key", keys=[{"type": "qcode", "data": q} for q in ("ctrl", "c")],
          **{"hold-time": 20})
    m.wait_screen(r"^\^C hang: interrupted$", since=mark)
    m.wait_screen(r"^morestack>$", since=mark)
    shown = "\n".join(m.transcript[mark:])
    expect_re(r"\(spin\) stopped at pc 0x[0-9a-f]+ <hang_spin\+0x[0-9a-f]+>", shown,
              "the stop on the screen")
    expect_re(r"task \d+: 12 frames deep and back: checksum ok", m.cmd("grow 12"))


def test_a_held_key_repeats_20_a_second_after_half_a_second(m):
    # x held 1500 ms: the press, then a repeat at 500 ms and every 50 ms
    # after: 1 + 20 = 21 (QEMU's hold time and the kernel's clock both count
    # the guest's time; a few either way for where the ticks fall).
    # No screendumps meanwhile: each one holds QEMU's main loop, and a
    # guest starved of its timer ticks for longer than four repeat periods
    # drops the repeats it missed (hid.c), as a terminal would.
    mark = len(m.transcript)
    m.qmp("send-key", keys=[{"type": "qcode", "data": "x"}], **{"hold-time": 1500})
    time.sleep(2.5)
    m.type("\r")
    r = m.wait_screen(r"^(x+): unknown command", since=mark)
    n = len(r.group(1))
    # The rate itself is hid.c's, checked against a model clock in
    # tests/unit/test_usb.c; here only that a held key repeats, and not
    # without bound (a loaded host starves the guest's ticks: 16 was seen).
    expect(3 <= n <= 25, "x held 1.5 s: %d characters, want 3 to 25 (about 21)" % n)
    # A key tapped does not repeat.
    expect_equal("y: unknown command; type 'help' for the list", m.cmd("y").rstrip("\n"), "y")


@own_machine
def test_poweroff_typed_on_the_usb_keyboard(m):
    m.type("poweroff\r")
    expect_equal(0, m.wait_exit(60), "QEMU exit status after poweroff")


# ---- with a serial port to read; still typed on the USB keyboard ----

@with_serial(XHCI)
def test_serial_variant_help_and_poweroff(m):
    expect_re(BOOT_LINE, m.out, "boot log")
    out = typed(m, "help")
    expect_re(r"^  poweroff \[METHOD\] +switch off", out, "help")
    expect_re(r"^  usb \[-v\|-x\] +USB controllers, ports, devices", out, "help")
    m.type("poweroff\r")
    expect_equal(0, m.wait_exit(60), "QEMU exit status after poweroff")


@with_serial(("-device", "qemu-xhci,id=xhci", "-device", "usb-hub,bus=xhci.0,port=2",
              "-device", "usb-kbd,bus=xhci.0,port=2.3"))
def test_a_keyboard_behind_a_hub(m):
    r = expect_re(BOOT_LINE, m.out, "boot log")
    expect_equal(("2", "1"), (r.group("devs"), r.group("kbds")), "devices and keyboards")
    out = typed(m, "usb")
    expect_re(r"^  device port (\d): slot \d+, address \d+, full speed \(12 Mb/s\): hub$", out,
              "usb: the hub")
    expect_re(r"^    hub: 8 downstream ports$", out, "usb: the hub")
    expect_re(r"^  device port \d\.3: slot \d+, address \d+, full speed \(12 Mb/s\): "
              r"keyboard \(HID boot protocol\)$", out, "usb: the keyboard on the hub's port 3")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", typed(m, "version"), "version")


@with_serial(("-device", "qemu-xhci,id=xhci", "-device", "usb-kbd,bus=xhci.0,id=k1",
              "-device", "usb-kbd,bus=xhci.0,id=k2"))
def test_two_keyboards(m):
    r = expect_re(BOOT_LINE, m.out, "boot log")
    expect_equal(("2", "2"), (r.group("devs"), r.group("kbds")), "devices and keyboards")
    out = typed(m, "usb")
    expect_equal(2, len(re.findall(r"keyboard \(HID boot protocol\)$", out, re.M)),
                 "keyboards in usb's list")
    counts = [int(c) for c in re.findall(r"^    keyboard: .*; (\d+) reports", out, re.M)]
    expect(sum(counts) >= 2 * len("usb"), "reports of the two keyboards: %s" % counts)
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", typed(m, "version"), "version")


@with_serial(("-device", "qemu-xhci,id=xhci"), machine="q35")
def test_a_controller_with_no_devices(m):
    r = expect_re(BOOT_LINE, m.out, "boot log")
    expect_equal(("0", "0"), (r.group("devs"), r.group("kbds")), "devices and keyboards")
    out = m.cmd("usb -v")
    expect_re(r"^xHCI 00:0\d\.0 \(1b36:000d\), version 1\.\d\d: 8 ports, 0 devices, 0 keyboards$",
              out, "usb -v")
    expect_equal(8, len(re.findall(r"^  port \d \(USB [23]\): empty, disabled", out, re.M)),
                 "empty ports in usb -v")
    expect_not_in("device port", out, "usb -v")


@with_serial(("-device", "nec-usb-xhci,id=nec", "-device", "usb-kbd,bus=nec.0",
              "-device", "qemu-xhci,id=xhci", "-device", "usb-kbd,bus=xhci.0"))
def test_the_nec_controller_beside_qemus(m):
    found = [r.groupdict() for r in re.finditer(BOOT_LINE, m.out, re.M)]
    expect_equal([("1033:0194", "1", "1"), ("1b36:000d", "1", "1")],
                 sorted((f["ids"], f["devs"], f["kbds"]) for f in found),
                 "the two controllers' IDs, devices and keyboards in the boot log")
    expect_re(r"^  poweroff \[METHOD\] +switch off", typed(m, "help"), "help")
    out = m.cmd("usb")
    expect_equal(2, len(re.findall(r"^controller \d: ", out, re.M)), "controllers in usb")
    expect_in("usb: usage: usb [-v|-x]", m.cmd("usb -q"), "usb -q")


@with_serial(("-device", "ich9-usb-ehci1,id=ehci", "-device", "usb-kbd,bus=ehci.0"))
def test_an_ehci_controller_is_named_and_left_alone(m):
    expect_re(r"^usb: USB controller \(EHCI\) at 00:0\d\.\d: no driver for this controller here "
              r"\(only xHCI\); its devices are not used$", m.out, "boot log")
    expect_not_in("usb: xHCI", m.out, "boot log")
    out = m.cmd("usb")
    expect_re(r"^USB controller \(EHCI\) 00:0\d\.\d \(8086:[0-9a-f]{4}\): no driver for this "
              r"controller$", out, "usb")
    expect_in("no driver for this controller", m.cmd("sysinfo keyboard"), "sysinfo keyboard")


@with_serial(("-device", "qemu-xhci,id=xhci", "-device", "usb-hub,bus=xhci.0,port=2",
              "-device", "usb-hub,bus=xhci.0,port=2.1", "-device", "usb-hub,bus=xhci.0,port=2.1.8",
              "-device", "usb-kbd,bus=xhci.0,port=2.1.8.3",
              "-device", "usb-mouse,bus=xhci.0,port=2.2",
              "-device", "usb-tablet,bus=xhci.0,port=2.4"))
def test_three_hubs_deep_a_mouse_and_a_tablet(m):
    r = expect_re(BOOT_LINE, m.out, "boot log")
    expect_equal(("6", "1"), (r.group("devs"), r.group("kbds")), "devices and keyboards")
    out = typed(m, "usb")
    for path in ("6", "6.1", "6.1.8"):
        expect_re(r"^  device port %s: slot \d+, address \d+, full speed \(12 Mb/s\): hub$"
                  % re.escape(path), out, "usb: the hub at %s" % path)
    expect_re(r"^  device port 6\.1\.8\.3: slot \d+, address \d+, full speed \(12 Mb/s\): "
              r"keyboard \(HID boot protocol\)$", out, "usb: the keyboard three hubs down")
    expect_re(r"^  device port 6\.2: .*: boot mouse: ignored$", out, "usb: the mouse")
    expect_re(r"^  device port 6\.4: .*: no driver: left alone$", out, "usb: the tablet")
    expect_not_in("failed", out, "usb")


def wait_usb(m, what, timeout=20):
    """Asks `usb` over the serial line until its first line says what."""
    deadline = time.monotonic() + timeout
    while True:
        out = m.cmd("usb")
        if what in out.split("\n")[0]:
            return out
        if time.monotonic() > deadline:
            raise harness.TestFailure("usb did not come to say %r in %ss:\n%s"
                                      % (what, timeout, out))
        time.sleep(0.2)


def free_pages(m):
    return int(expect_re(r"^physical pages: (\d+) free", m.cmd("mem"), "mem").group(1))


@with_serial(("-device", "qemu-xhci,id=xhci"))
def test_a_keyboard_plugged_in_and_out_after_boot(m):
    r = expect_re(BOOT_LINE, m.out, "boot log")
    expect_equal(("0", "0"), (r.group("devs"), r.group("kbds")), "devices and keyboards at boot")
    before = free_pages(m)
    m.qmp("device_add", driver="usb-kbd", id="hot", bus="xhci.0")
    # Seen at the prompt (the shell's idle loop polls the controller); the
    # keys pressed before it is configured are lost, as on a PC: wait.
    wait_usb(m, "1 device, 1 keyboard")
    # Typed on the new keyboard, the only one.
    out = typed(m, "usb")
    expect_re(r"^xHCI .*: 8 ports, 1 device, 1 keyboard$", out, "usb after the plug")
    expect_re(r"^    keyboard: .*; [1-9]\d* reports", out, "usb: the new keyboard's reports")
    m.qmp("device_del", id="hot")
    wait_usb(m, "0 devices, 0 keyboards")
    # Its slot was disabled and its pages given back.
    expect_equal(before, free_pages(m), "free pages after the keyboard came and went")
    m.qmp("device_add", driver="usb-kbd", id="again", bus="xhci.0", port="3")
    wait_usb(m, "1 device, 1 keyboard")
    expect_re(r"^morestack \S+ \(x86-64 UEFI\)", typed(m, "version"), "version on the new keyboard")
