# Host unit tests for the kernel's pure modules and the runtime, included by
# the top Makefile (which defines B, RESULTS and CC). Each tests/unit/test_M.c
# is linked with the kernel and runtime modules it tests, unchanged, and
# provides whatever of runtime/platform.h they call, into $(B)/unit/test_M: native gcc,
# cmocka, AddressSanitizer and UndefinedBehaviorSanitizer. libc provides
# memcpy and friends, so lib/string.c is never linked here.
#
#   make unit-test   build and run them all; writes $(RESULTS)/unit.counts
#                    ("PASSED FAILED", counted in cmocka test cases)

UNIT_CFLAGS := -std=gnu11 -g -O1 -fno-pie -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Wall -Wextra -Werror \
	-Ikernel -Ilib -Ishell -Iruntime -Iboot -DKERNEL_SYM_ELF='"$(abspath $(B)/kernel.sym.elf)"'
# -no-pie: function addresses at run time equal the symbol values in the
# file, so test_symbols can look itself up in /proc/self/exe.
UNIT_LDFLAGS := -no-pie -fsanitize=address,undefined
UNIT_LIBS := -lcmocka

# Each test, and the modules it links (kernel/, lib/, shell/, runtime/).
UNIT_TESTS := format pmem pagetable lineedit symbols heap acpi usb
UNIT_MODULES_format := lib/format
UNIT_MODULES_pmem := kernel/pmem
UNIT_MODULES_pagetable := kernel/pagetable lib/format
UNIT_MODULES_lineedit := shell/lineedit
UNIT_MODULES_symbols := lib/symbols
UNIT_MODULES_heap := lib/format runtime/heap
UNIT_MODULES_acpi := kernel/acpi lib/format
UNIT_MODULES_usb := kernel/xhci_ring kernel/hid kernel/keymap kernel/usbdesc

UNIT_BINS := $(UNIT_TESTS:%=$(B)/unit/test_%)
UNIT_HEADERS := $(wildcard kernel/*.h lib/*.h shell/*.h runtime/*.h boot/*.h tests/unit/*.h)

# One compile-and-link per binary. The old binary goes first, so a test that
# no longer builds cannot pass by running a stale copy: run.sh finds it
# missing and counts a failure.
define UNIT_RULE
$(B)/unit/test_$(1): tests/unit/test_$(1).c $(UNIT_MODULES_$(1):%=%.c) $(UNIT_HEADERS)
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	@echo "  CC      $$@"; $(CC) $(UNIT_CFLAGS) $$(filter %.c,$$^) -o $$@ \
		$(UNIT_LDFLAGS) $(UNIT_LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call UNIT_RULE,$(t))))

# Builds what it can (-k) and runs every binary even if some failed to build
# or an earlier one failed; test_symbols also reads the real kernel's ELF,
# built here first (if the kernel does not build, that test fails and says so).
unit-test:
	@mkdir -p $(RESULTS) $(B)/unit
	-@$(MAKE) --no-print-directory -k $(B)/kernel.sym.elf $(UNIT_BINS)
	@sh tests/unit/run.sh $(RESULTS)/unit.counts $(UNIT_BINS)
