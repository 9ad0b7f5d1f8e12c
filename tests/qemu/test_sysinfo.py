"""sysinfo: each section's facts checked against what QEMU itself says it
provides (QMP: the CPU's QOM properties, query-pci with every BAR's size,
the screen through screendump; the ACPI tables read back from guest memory
with pmemsave), on q35 (MCFG, ECAM) and pc (no MCFG, the legacy ports).

The shared q35 machine has an xHCI controller behind a PCIe root port, so
enumeration must follow the bridge to bus 1, and its 64-bit BAR must be
decoded and sized.
"""
import os
import re

from harness import (TestFailure, expect, expect_equal, expect_in, expect_not_in, expect_re,
                     own_machine)

XHCI = ("-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
        "-device", "qemu-xhci,bus=rp1")
MACHINE = dict(machine="q35", memory="512M", extra=XHCI)


def config(**kw):
    def mark(fn):
        fn = own_machine(fn)
        fn.machine_config = kw
        return fn
    return mark


# ---- what QEMU says ----

def qemu_cpu(m):
    path = m.qmp("query-cpus-fast")[0]["qom-path"]
    return {p: m.qmp("qom-get", path=path, property=p)
            for p in ("vendor", "model-id", "family", "model", "stepping")}


def qemu_pci(m):
    """{(bus, slot, fn): (vendor, device, class, subclass, {bar: (type, size, is64)})} from query-pci."""
    found = {}

    def walk(devices):
        for d in devices:
            bars = {r["bar"]: (r["type"], r["size"], r.get("mem_type_64", False))
                    for r in d.get("regions", []) if 0 <= r["bar"] <= 5}
            cls = d["class_info"]["class"]
            found[(d["bus"], d["slot"], d["function"])] = (
                d["id"]["vendor"], d["id"]["device"], cls >> 8, cls & 0xff, bars)
            if "pci_bridge" in d:
                walk(d["pci_bridge"].get("devices", []))

    for bus in m.qmp("query-pci"):
        walk(bus["devices"])
    return found


# ---- what sysinfo says ----

def sysinfo_pci(out):
    """{(bus, slot, fn): (vendor, device, class, subclass, prog_if, name, {bar: (kind, size)})}."""
    found, cur = {}, None
    units = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20}
    for line in out.splitlines():
        d = re.match(r"  ([0-9a-f]{2}):([0-9a-f]{2})\.(\d) ([0-9a-f]{4}):([0-9a-f]{4}) "
                     r"class ([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{2}) (.*)$", line)
        if d:
            cur = {}
            g = d.groups()
            found[(int(g[0], 16), int(g[1], 16), int(g[2]))] = (
                int(g[3], 16), int(g[4], 16), int(g[5], 16), int(g[6], 16), int(g[7], 16), g[8], cur)
            continue
        b = re.match(r"      BAR(\d) (io|mem32|mem64) at 0x[0-9a-f]+, (\d+) (bytes|KiB|MiB)", line)
        if b and cur is not None:
            cur[int(b.group(1))] = (b.group(2), int(b.group(3)) * units[b.group(4)])
    return found


def check_pci_against_qemu(m, out):
    ours, theirs = sysinfo_pci(out), qemu_pci(m)
    expect(len(theirs) > 0, "query-pci found nothing")
    expect_equal(sorted(theirs), sorted(ours), "PCI functions (bus, slot, fn): QEMU vs sysinfo")
    for where, (ven, dev, cls, sub, bars) in theirs.items():
        o = ours[where]
        expect_equal((ven, dev, cls, sub), o[:4], "IDs and class of %02x:%02x.%d" % where)
        want = {i: ("io" if t == "io" else "mem64" if is64 else "mem32", size)
                for i, (t, size, is64) in bars.items()}
        expect_equal(want, o[6], "BARs of %02x:%02x.%d" % where)
    return ours


def expect_sections(out):
    for head in ("cpu: vendor", "cpu features:", "memory: ", "firmware: ", "acpi: RSDP at",
                 "pci: ", "screen: ", "keyboards: ", "serial: "):
        expect_re("^" + re.escape(head), out, "sysinfo output")


def tables(out):
    """[(sig, length, rev, oem, phys, state)] from the acpi section's table list."""
    return [(g[0], int(g[1]), int(g[2]), g[3], int(g[4], 16), g[5]) for g in re.findall(
        r"^  (\S{4}) +(\d+) +(\d+) (\S*) +(0x[0-9a-f]+) +(.*)$", out, re.M)]


def check_tables_in_memory(m, out, want):
    """Each listed table, read back from guest memory, has its signature,
    length and a zero checksum: the addresses and lengths are real."""
    listed = tables(out)
    sigs = [t[0] for t in listed]
    for sig in want:
        expect(sig in sigs, "no %s table in:\n%s" % (sig, out))
    for sig, length, rev, oem, phys, state in listed:
        expect_equal("ok", state.split()[0], "checksum state of " + sig)
        path = os.path.join(m.workdir, sig + ".bin")
        m.qmp("pmemsave", val=phys, size=length, filename=path)
        data = open(path, "rb").read()
        expect_equal(sig.encode(), data[:4], "signature in memory at %#x" % phys)
        expect_equal(length, int.from_bytes(data[4:8], "little"), sig + " length in memory")
        expect_equal(0, sum(data) % 256, sig + " checksum recomputed from memory")
        expect_equal(oem, data[10:16].decode().rstrip(), sig + " OEM id")
    return listed


# ---- q35 (shared boot) ----

def test_every_section(m):
    out = m.cmd("sysinfo")
    expect_sections(out)
    expect_in("acpi: RSDP rev 2", m.out)   # the boot lines
    expect_in("pci: ", m.out)
    expect_re(r"^screen mode: GOP mode \d+ of \d+", m.out, "boot log")


def test_cpu_matches_qemu(m):
    q = qemu_cpu(m)
    out = m.cmd("sysinfo cpu")
    line = expect_re(r'^cpu: vendor (\S+), "(.*)", family (\d+) model (\d+) stepping (\d+)', out)
    expect_equal(q["vendor"], line.group(1), "CPU vendor")
    expect(q["vendor"] in ("GenuineIntel", "AuthenticAMD"), "QEMU's vendor %r" % q["vendor"])
    expect_equal(q["model-id"].strip(), line.group(2), "brand string")
    expect_equal((q["family"], q["model"], q["stepping"]),
                 tuple(int(line.group(i)) for i in (3, 4, 5)), "family, model, stepping")
    # The features morestack relies on are present and said to be used.
    expect_re(r"^  nx +yes +required", out)
    expect_re(r"^  pat +yes +the framebuffer", out)
    expect_re(r"^  xsave +(yes|no) +not used", out)


def test_memory_agrees_with_mem(m):
    out = m.cmd("sysinfo memory")
    ram = int(expect_re(r"^memory: (\d+) MiB of RAM", out).group(1))
    mem = m.cmd("mem")
    expect_equal(int(expect_re(r"^RAM: (\d+) MiB", mem).group(1)), ram, "RAM MiB vs mem")
    managed = int(expect_re(r"free of (\d+) managed", mem).group(1))
    expect_equal(managed >> 8, int(expect_re(r"manages (\d+) MiB", out).group(1)),
                 "managed MiB vs mem")
    expect(400 <= ram <= 512, "RAM %d MiB for -m 512M" % ram)


def test_firmware(m):
    out = m.cmd("sysinfo firmware")
    boot = expect_re(r"firmware (.+) rev (0x[0-9a-f]+)\n", m.out, "boot log")
    expect_re(r"^firmware: %s, revision %s " % (re.escape(boot.group(1)), boot.group(2)), out)


def test_acpi_q35(m):
    out = m.cmd("sysinfo acpi")
    expect_re(r"^acpi: RSDP at 0x[0-9a-f]+, revision 2, OEM BOCHS; XSDT at .*, 0 bad$", out)
    check_tables_in_memory(m, out, ["XSDT", "FACP", "APIC", "MCFG", "DSDT"])
    # ICH9's ACPI PM block: OVMF puts it at 0x600, so PM1a_CNT is 0x604.
    expect_re(r"^  FADT: .*PM1a_CNT port 0x604, PM1b_CNT none", out)
    expect_re(r"^  FADT: reset register port 0xcf9 <- 0x[0-9a-f]+ \(supported\)", out)
    expect_in("DSDT: \\_S5_ SLP_TYPa 0, SLP_TYPb 0", out)
    expect_in("MCFG: segment 0, buses 0-255, ECAM at 0xb0000000", out)


def test_pci_q35_through_ecam(m):
    out = m.cmd("sysinfo pci")
    expect_re(r"^pci: \d+ functions; configuration space through ECAM at 0xb0000000 "
              r"\(buses 0-255, from the MCFG\)", out)
    ours = check_pci_against_qemu(m, out)
    expect_equal((0x8086, 0x29c0), ours[(0, 0, 0)][:2], "00:00.0, ICH9 host bridge")
    expect_equal("Host bridge", ours[(0, 0, 0)][5], "00:00.0's class name")
    expect_equal((0x8086, 0x2918), ours[(0, 0x1f, 0)][:2], "00:1f.0, ICH9 LPC")
    xhci = [(w, d) for w, d in ours.items() if d[2:5] == (0x0c, 0x03, 0x30)]
    expect_equal(1, len(xhci), "xHCI controllers")
    where, d = xhci[0]
    expect(where[0] >= 1, "the xHCI controller is behind the root port, on bus %d" % where[0])
    expect_equal("USB controller (xHCI)", d[5], "class name")
    expect_equal(("mem64", 16384), d[6].get(0), "xHCI BAR0 (64-bit, 16 KiB)")
    # qemu-xhci offers MSI-X (what an xHCI driver wants), and a PCIe capability below a root port.
    caps = expect_re(r"01:00\.0 1b36:000d .*\n(?:      BAR.*\n)*      capabilities:(.*)", out).group(1)
    for cap in ("MSI-X@", "PCIe@"):
        expect_in(cap, caps, "xHCI capabilities")
    expect_re(r"^  USB: 1 controllers \(1 xHCI\)", m.cmd("sysinfo keyboard"))


def test_screen_is_the_real_mode(m):
    out = m.cmd("sysinfo screen")
    g = expect_re(r"^screen: GOP mode (\d+) of (\d+) modes, (\d+)x(\d+), ", out)
    w, h, _ = m.screendump()
    expect_equal((w, h), (int(g.group(3)), int(g.group(4))), "screendump size vs sysinfo")
    expect(int(g.group(2)) > 1, "GOP offered %s modes" % g.group(2))
    expect_in("chosen: the firmware's mode, kept", out)
    expect_re(r"^  console: %sx%s pixels" % (w, h), out)


def test_keyboard_and_serial(m):
    out = m.cmd("sysinfo keyboard")
    expect_re(r"^keyboards: PS/2: keyboard working \(i8042\); the FADT flags an 8042", out)
    expect_re(r"^serial: COM1 \(0x3f8\): 16550 present", m.cmd("sysinfo serial"))


def test_bad_section_is_a_usage_error(m):
    out = m.cmd("sysinfo disks")
    expect_in("sysinfo: usage: sysinfo [cpu|memory|firmware|acpi|pci|screen|keyboard|serial]", out)
    expect_in("usage", m.cmd("sysinfo cpu pci"))
    expect_in("commands:", m.cmd("help"))


# ---- pc: no MCFG, the legacy ports ----

@config(machine="pc", memory="512M", extra=("-device", "qemu-xhci"))
def test_pc_legacy_ports(m):
    out = m.cmd("sysinfo")
    expect_sections(out)
    expect_in("  MCFG: none", out)
    listed = check_tables_in_memory(m, out, ["XSDT", "FACP", "APIC", "DSDT"])
    expect("MCFG" not in [t[0] for t in listed], "pc has no MCFG")
    expect_re(r"^pci: \d+ functions; configuration space through legacy ports 0xcf8/0xcfc "
              r"\(no MCFG table\)", out)
    # PIIX4's PM block, wherever this QEMU and OVMF put it: from the FADT.
    pm = int(expect_re(r"PM1a_CNT port (0x[0-9a-f]+)", out).group(1), 16)
    expect(pm in (0xb004, 0x604), "PIIX4 PM1a_CNT %#x" % pm)
    ours = check_pci_against_qemu(m, out)
    expect_equal((0x8086, 0x1237), ours[(0, 0, 0)][:2], "00:00.0, i440FX host bridge")
    expect(any(d[2:5] == (0x0c, 0x03, 0x30) for d in ours.values()), "no xHCI in:\n" + out)


# ---- the screen mode choice ----

@config(machine="q35", memory="512M", extra=("-vga", "none", "-device", "VGA,xres=600,yres=400"))
def test_too_small_mode_is_switched(m):
    # The firmware starts in 600x400 (the VGA device's preferred mode): too
    # narrow for 80 columns, so the loader picks the largest mode up to 1920x1200.
    loader = expect_re(r"morestack: screen: GOP mode (\d+) of (\d+), (\d+)x(\d+); the firmware's "
                       r"mode \d+, 600x400, switched: it has no 80x25 cells", m.out, "loader's line")
    w, h = int(loader.group(3)), int(loader.group(4))
    expect(w >= 640 and h >= 400 and w <= 1920 and h <= 1200, "chosen %dx%d" % (w, h))
    out = m.cmd("sysinfo screen")
    expect_re(r"^screen: GOP mode %s of %s modes, %dx%d" % (loader.group(1), loader.group(2), w, h), out)
    expect_in("chosen: switched", out)
    expect_equal((w, h), m.screendump()[:2], "screendump size")
    expect_re(r"console: %dx%d pixels, \d+ per line, (\d+)x(\d+) text" % (w, h), out)


@config(machine="q35", memory="512M", extra=("-vga", "none"))
def test_no_gop_no_screen(m):
    expect_in("morestack: screen: no graphics output (GOP): serial only", m.out)
    expect_in("screen mode: none: the firmware has no graphics output (GOP); serial only", m.out)
    out = m.cmd("sysinfo")
    expect_sections(out)
    expect_in("screen: none (the firmware has no graphics output protocol)", out)
    expect_not_in("VGA compatible controller", out)


@config(machine="q35", memory="512M",
        extra=("-vga", "none", "-device", "VGA,xres=600,yres=400,vgamem_mb=1"))
def test_no_mode_fits_keeps_the_firmwares(m):
    # 1 MiB of video memory holds 600x400 but no mode of 640x480 or more:
    # the firmware's mode stays, and the console makes do with 75x25.
    expect_re(r"morestack: screen: GOP mode 0 of 1, 600x400; the firmware's mode 0, 600x400, "
              r"kept: no mode has 80x25 cells and a framebuffer", m.out, "loader's line")
    out = m.cmd("sysinfo screen")
    expect_re(r"^screen: GOP mode 0 of 1 modes, 600x400, ", out)
    expect_in("chosen: the firmware's mode: no mode has 80x25 cells", out)
    expect_in("console: 600x400 pixels, 600 per line, 75x25 text", out)
    expect_equal((600, 400), m.screendump()[:2], "screendump size")
