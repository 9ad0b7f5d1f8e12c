# morestack: build BOOTX64.EFI (UEFI loader + embedded kernel), boot it, test it.
#   make run    build, then boot the shell in QEMU+OVMF on this terminal
#   make test   build and run every test suite; last line "N passed, N failed"
#   make image  build/morestack.img, a GPT disk image with an EFI system partition
#   make usb    the same for a USB stick; DEV=/dev/sdX writes it safely (tools/usb.mk)
#   make qemu-gdb, make gdb   QEMU waiting for GDB; GDB attached at source level (tools/gdb/gdb.mk)
#   make clean
# Missing Debian packages are installed when run as root (tools/deps.sh).

B := build
CC := gcc
PYTHON := python3

# ---- the kernel: freestanding, higher half, general registers only ----
KERNEL_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -mcmodel=kernel \
	-mno-red-zone -mgeneral-regs-only -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls \
	-fstack-clash-protection -fno-stack-protector -fcf-protection=none \
	-ftrivial-auto-var-init=zero -Wall -Wextra -Werror -MMD -MP
KERNEL_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,kernel/kernel.ld \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--build-id=none

# What goes into kernel.elf, folder by folder (README's source map says
# what each folder is for). Every object is built from the same path under
# $(B), with the same flags and include path.
KERNEL_C := main console serial gdt idt trap symbolize pmem pagetable vm memmap \
	efi pic fwcfg fbcon input keymap ps2 acpi pci tick stop \
	xhci xhci_ring usbdesc hid
KERNEL_S := entry trapentry
LIB_C := format string symbols
SHELL_C := shell lineedit tasks taskfaults churn bench closures defers stress fuzz falsepos \
	sysinfo usb
DEMOS_C := demo demo_swap demo_incr demo_frames demo_escape demo_closure demo_hotsplit \
	demo_callret callret_twin demo_layout demo_stackpool demo_conventions \
	demo_heapstack
DEMOS_S := segstack
# The C twins of the Go programs of docs/go-semantics.md: the host tests link them too.
TWINS_C := twin_defer twin_panic twin_hotsplit twin_closure twin_chain
# The fuzzer's workload and the corpora of everyday data (tests/fuzz, as the
# Linux port runs them), for the shell's `fuzz` and `falsepos`.
FUZZ_C := stackfuzz wordclasses
KERNEL_SRC := $(KERNEL_C:%=kernel/%.c) $(KERNEL_S:%=kernel/%.S) $(LIB_C:%=lib/%.c) \
	ports/platform_kernel.c $(SHELL_C:%=shell/%.c) $(DEMOS_C:%=demos/%.c) \
	$(DEMOS_S:%=demos/%.S) $(TWINS_C:%=twins/%.c) $(FUZZ_C:%=tests/fuzz/%.c)
KERNEL_OBJ := $(addprefix $(B)/,$(addsuffix .o,$(basename $(KERNEL_SRC)))) $(B)/runtime.o \
	$(B)/demos/callret_listing.o $(B)/kernel/fonts.o
KERNEL_INC := -Ikernel -Ilib -Iruntime -Ishell -Idemos -Itwins -Iboot -Itests/fuzz

# The runtime core: portable C and assembly, built into the kernel with the
# kernel's flags and into the Linux port's builds (tests/rt, bench) with
# theirs. It sees only runtime/ and lib/.
RUNTIME_C := task stack stackmove stackfault preempt heap chan closure defer panic
RUNTIME_S := context closure_stubs defer_tramp panic_switch stackscan
RUNTIME_INC := -Iruntime -Ilib
# What the Linux port links beside the runtime: the port and lib/.
LINUX_PORT_SRC := ports/platform_linux.c $(LIB_C:%=lib/%.c)
LINUX_PORT_SRC := $(filter-out lib/string.c,$(LINUX_PORT_SRC)) # libc has memcpy and friends

# The runtime as one relocatable object per build (kernel, host tests,
# bench), its code between __rt_text_start and __rt_text_end
# (runtime/runtime.ld). $(call runtime_object,DIR,CFLAGS,MAKEFILE) makes
# DIR/runtime.o, again whenever MAKEFILE (where CFLAGS are set) changes.
define runtime_object
$(1)/runtime/%.o: runtime/%.c $(B)/.deps-ok $(3)
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$@"; $(CC) $(2) -MMD -MP -c $$< -o $$@
$(1)/runtime/%.o: runtime/%.S $(B)/.deps-ok $(3)
	@mkdir -p $$(dir $$@)
	@echo "  AS      $$@"; $(CC) $(2) -MMD -MP -c $$< -o $$@
$(1)/runtime.o: $(RUNTIME_C:%=$(1)/runtime/%.o) $(RUNTIME_S:%=$(1)/runtime/%.o) runtime/runtime.ld
	@echo "  LD -r   $$@"; ld -r -T runtime/runtime.ld -o $$@ $$(filter %.o,$$^)
-include $(RUNTIME_C:%=$(1)/runtime/%.d) $(RUNTIME_S:%=$(1)/runtime/%.d)
endef

# ---- the UEFI loader: gnu-efi, position independent, MS ABI for firmware calls ----
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
BOOT_CFLAGS := -std=gnu11 -O2 -fpic -fshort-wchar -mno-red-zone -ffreestanding \
	-fno-stack-protector -fno-strict-aliasing -DGNU_EFI_USE_MS_ABI \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -Ilib -Ikernel -Wall -Wextra -Werror -Wno-unused-parameter \
	-MMD -MP

IMAGE := $(B)/morestack.img
IMAGE_MB := 64

.PHONY: all run test image clean deps unit-test qemu-test
RESULTS := $(B)/results
all: $(IMAGE)
image: $(IMAGE)

$(B)/.deps-ok: tools/packages.txt tools/deps.sh
	@tools/deps.sh check build run test
	@mkdir -p $(B) && touch $@
$(B)/.bench-deps-ok: tools/packages.txt tools/deps.sh
	@tools/deps.sh check bench
	@mkdir -p $(B) && touch $@
deps: $(B)/.deps-ok

$(B)/%.o: %.c $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(KERNEL_CFLAGS) $(KERNEL_INC) -c $< -o $@
$(B)/%.o: %.S $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  AS      $<"; $(CC) $(KERNEL_CFLAGS) $(KERNEL_INC) -c $< -o $@
$(eval $(call runtime_object,$(B),$(KERNEL_CFLAGS) $(RUNTIME_INC),Makefile))

# The screen's fonts: Debian's console fonts (console-setup-linux), their
# ASCII glyphs written out as C by tools/psf.py.
FONT_DIR := /usr/share/consolefonts
FONTS := font_small $(FONT_DIR)/Uni2-Terminus16.psf.gz font_large $(FONT_DIR)/Uni2-Terminus32x16.psf.gz
$(B)/kernel/fonts.c: tools/psf.py $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  FONTS   $@"; $(PYTHON) tools/psf.py c $(FONTS) > $@.tmp && mv $@.tmp $@
$(B)/kernel/fonts.o: $(B)/kernel/fonts.c
	@echo "  CC      $<"; $(CC) $(KERNEL_CFLAGS) $(KERNEL_INC) -c $< -o $@

# The callret demo's twins are built like Go's listings (-N -l): every local
# in the frame. Their listing is objdump's disassembly of that object,
# made into a C table (tools/listing.py).
$(B)/demos/callret_twin.o: KERNEL_CFLAGS += -O0
$(B)/demos/callret_listing.c: $(B)/demos/callret_twin.o tools/listing.py
	@echo "  LISTING $@"; $(PYTHON) tools/listing.py callret $< > $@.tmp && mv $@.tmp $@
$(B)/demos/callret_listing.o: $(B)/demos/callret_listing.c
	@echo "  CC      $<"; $(CC) $(KERNEL_CFLAGS) $(KERNEL_INC) -c $< -o $@

# kernel.elf keeps DWARF for GDB; the copy embedded in the loader keeps only symbols.
$(B)/kernel.elf: $(KERNEL_OBJ) kernel/kernel.ld
	$(CC) $(KERNEL_LDFLAGS) $(KERNEL_OBJ) -o $@
$(B)/kernel.sym.elf: $(B)/kernel.elf
	objcopy --strip-debug $< $@

$(B)/boot/%.o: boot/%.c $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(BOOT_CFLAGS) -c $< -o $@
$(B)/boot/kernel_blob.o: boot/kernel_blob.S $(B)/kernel.sym.elf
	@mkdir -p $(dir $@)
	$(CC) -c -DKERNEL_ELF='"$(B)/kernel.sym.elf"' $< -o $@

$(B)/boot/loader.so: $(B)/boot/loader.o $(B)/boot/kernel_blob.o
	ld -shared -Bsymbolic -nostdlib -znocombreloc -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $^ -o $@ -L$(EFI_LIB) -lefi -lgnuefi
$(B)/BOOTX64.EFI: $(B)/boot/loader.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela \
		-j .rel.* -j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@

# The disk image and the USB stick: tools/usb.mk.
include tools/usb.mk
# make qemu-gdb, make gdb: tools/gdb/gdb.mk.
include tools/gdb/gdb.mk

run: $(IMAGE)
	$(PYTHON) ovmf/qemu.py run $(IMAGE)

# Every suite runs even if an earlier one failed; the summary decides.
SUITES := unit rt rt-stress tools qemu
test: $(B)/.deps-ok
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	-@$(MAKE) --no-print-directory unit-test
	-@$(MAKE) --no-print-directory rt-test
	-@$(MAKE) --no-print-directory rt-stress-test
	-@$(MAKE) --no-print-directory tools-test
	-@$(MAKE) --no-print-directory qemu-test
	@echo "== summary"
	@$(PYTHON) tools/summary.py $(RESULTS) $(SUITES)

# Many more fuzzer seeds than make test runs, on the Linux port, with and
# without the move-stress switch: FUZZ_SEEDS of each (new seeds every run,
# printed; a failing seed is printed with how to replay it).
FUZZ_SEEDS := 5000
.PHONY: fuzz
fuzz: $(B)/rt/test_fuzz
	MORESTACK_FUZZ_SEEDS=$(FUZZ_SEEDS) $(B)/rt/test_fuzz 2>&1 | grep -E '^fuzz|FUZZ FAIL|PASSED|FAILED'
	MORESTACK_FUZZ_SEEDS=$$(( $(FUZZ_SEEDS) / 5 )) MORESTACK_STRESS_US=50 $(B)/rt/test_fuzz 2>&1 | \
		grep -E '^fuzz|FUZZ FAIL|PASSED|FAILED|move-stress'

# QEMU suites: boot the image once per test file, files in parallel.
qemu-test: $(IMAGE) $(QEMU_TEST_IMAGES)
	@mkdir -p $(RESULTS)
	$(PYTHON) tests/qemu/run.py --image $(IMAGE) --counts $(RESULTS)/qemu.counts

# ---- benchmarks: morestack on its Linux port and in QEMU, beside the baselines ----
RT_BENCH_CFLAGS := -std=gnu11 -O2 -g -fno-pie -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls -fstack-clash-protection \
	-fcf-protection=none -ftrivial-auto-var-init=zero -Wall -Wextra -Werror
$(eval $(call runtime_object,$(B)/bench,$(RT_BENCH_CFLAGS) $(RUNTIME_INC),Makefile))
RT_BENCH_SRC := bench/rt_bench.c $(B)/bench/runtime.o $(LINUX_PORT_SRC) twins/twin_hotsplit.c \
	twins/twin_chain.c
$(B)/bench/rt_bench: $(RT_BENCH_SRC) $(wildcard runtime/*.h ports/*.h lib/*.h twins/*.h) $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"; $(CC) $(RT_BENCH_CFLAGS) $(RUNTIME_INC) -Iports -Itwins -no-pie \
		$(filter %.c %.S %.o,$^) -o $@

.PHONY: bench
bench: $(B)/.bench-deps-ok $(IMAGE) $(B)/bench/rt_bench
	@$(MAKE) --no-print-directory bench-reset bench-baselines
	@echo "== morestack on its Linux port, pinned to core 0"
	@# 100,000 parked tasks are 200,000 mappings (stack + guard) for Linux:
	@# as root, raise vm.max_map_count for the run and put it back after.
	@old=$$(cat /proc/sys/vm/max_map_count); \
	if [ "$$(id -u)" = 0 ] && [ "$$old" -lt 262144 ]; then \
		echo "bench: vm.max_map_count $$old -> 262144 for this run"; \
		echo 262144 > /proc/sys/vm/max_map_count; \
	fi; \
	taskset -c 0 $(B)/bench/rt_bench >> $(BENCH_RESULTS); rc=$$?; \
	echo "$$old" > /proc/sys/vm/max_map_count 2>/dev/null; exit $$rc
	@echo "== morestack on bare metal: QEMU with -icount shift=0 (about a minute)"
	$(PYTHON) bench/qemu_bench.py --image $(IMAGE) >> $(BENCH_RESULTS)
	@echo "== results"
	@$(PYTHON) bench/report.py $(BENCH_RESULTS)
	@sh bench/disasm.sh $(B)/bench/rt_bench $(B)/bench/gobench

include bench/bench.mk
include labs/labs.mk
include tests/unit/unit.mk
include tests/rt/rt.mk

clean:
	rm -rf $(B)

-include $(filter-out $(B)/runtime.d,$(KERNEL_OBJ:.o=.d)) $(B)/boot/loader.d
