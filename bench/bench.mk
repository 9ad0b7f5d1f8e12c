# The baseline side of `make bench`, included by the top Makefile (which
# defines B, CC and PYTHON).  The baselines are what morestack's own
# benchmark figures are compared with, measured in the same run on the same
# core.  bench/README.md says what each one measures.
#
#   make bench-reset      empty $(B)/bench/results.txt
#   make bench-baselines  build the baselines into $(B)/bench/ and run them
#                         pinned to core 0, appending their BENCH lines to
#                         $(B)/bench/results.txt (never truncating it: the
#                         runtime's own benchmarks append there too)
#   $(PYTHON) bench/report.py $(B)/bench/results.txt   print the tables
#
# Each program prints "BENCH <benchmark> <implementation> <value> <unit>"
# on stdout and checksums and notes on stderr, which stays on the terminal.

BENCH_DIR := $(B)/bench
BENCH_RESULTS := $(BENCH_DIR)/results.txt
BENCH_PIN := taskset -c 0

# -O2 with frame pointers kept everywhere and no sibling calls, so every
# recursive call really is a frame on the stack.
BENCH_CFLAGS := -std=gnu11 -O2 -g -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls \
	-Wall -Wextra -Werror
# gold is the linker that knows split stacks: where split-stack code calls
# code built without -fsplit-stack (libc, measure.o), it raises the
# caller's stack request so that the callee gets 1 MiB to run in.
BENCH_SPLIT_FLAGS := -fsplit-stack -DSPLIT_STACK -fuse-ld=gold

# Go without network or $HOME: the module has no requirements, the build
# cache and GOPATH live under $(BENCH_DIR), no go env file is read.
BENCH_GOENV := GO111MODULE=on GOFLAGS=-mod=mod GOPROXY=off GOENV=off \
	GOCACHE=$(abspath $(BENCH_DIR)/gocache) GOPATH=$(abspath $(BENCH_DIR)/gopath)
BENCH_GO_SRC := $(wildcard bench/baselines/go/*.go) bench/baselines/go/go.mod \
	bench/baselines/go/nanotime.s
BENCH_GORUN := GOMAXPROCS=1 $(BENCH_PIN) $(BENCH_DIR)/gobench

BENCH_BINS := $(BENCH_DIR)/switch $(BENCH_DIR)/recursion-plain \
	$(BENCH_DIR)/recursion-splitstack $(BENCH_DIR)/closures $(BENCH_DIR)/gobench

.PHONY: bench-baselines bench-reset

$(BENCH_DIR)/measure.o: bench/baselines/measure.c bench/baselines/measure.h | $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_DIR)/switch: bench/baselines/switch.c bench/baselines/measure.h \
		$(BENCH_DIR)/measure.o
	@echo "  CCLD    $@"; $(CC) $(BENCH_CFLAGS) $< $(BENCH_DIR)/measure.o -o $@ \
		-lboost_context -lpcl

$(BENCH_DIR)/recursion-plain: bench/baselines/recursion.c bench/baselines/measure.h \
		$(BENCH_DIR)/measure.o
	@echo "  CCLD    $@"; $(CC) $(BENCH_CFLAGS) $< $(BENCH_DIR)/measure.o -o $@ -pthread

$(BENCH_DIR)/recursion-splitstack: bench/baselines/recursion.c bench/baselines/measure.h \
		$(BENCH_DIR)/measure.o
	@echo "  CCLD    $@"; $(CC) $(BENCH_CFLAGS) $(BENCH_SPLIT_FLAGS) $< \
		$(BENCH_DIR)/measure.o -o $@ -pthread

# GCC nested functions need an executable stack for their trampolines.
$(BENCH_DIR)/closures: bench/baselines/ffi_closures.c bench/baselines/measure.h \
		$(BENCH_DIR)/measure.o
	@echo "  CCLD    $@"; $(CC) $(BENCH_CFLAGS) $< $(BENCH_DIR)/measure.o -o $@ \
		-Wl,-z,execstack -lffi

$(BENCH_DIR)/gobench: $(BENCH_GO_SRC) | $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  GO      $@"; cd bench/baselines/go && \
		env $(BENCH_GOENV) go build -trimpath -o $(abspath $@) .

bench-reset:
	@mkdir -p $(BENCH_DIR)
	@: > $(BENCH_RESULTS)

# One process per Go benchmark: none inherits another's heap, goroutines
# or adaptive starting stack size.  short_lived runs under both GODEBUG
# settings.  Takes about a minute.
bench-baselines: $(BENCH_BINS)
	@echo "== baselines, pinned to core 0, appending to $(BENCH_RESULTS)"
	$(BENCH_PIN) $(BENCH_DIR)/switch >> $(BENCH_RESULTS)
	$(BENCH_PIN) $(BENCH_DIR)/recursion-plain >> $(BENCH_RESULTS)
	$(BENCH_PIN) $(BENCH_DIR)/recursion-splitstack >> $(BENCH_RESULTS)
	$(BENCH_PIN) $(BENCH_DIR)/closures >> $(BENCH_RESULTS)
	$(BENCH_GORUN) defer >> $(BENCH_RESULTS)
	$(BENCH_GORUN) closure >> $(BENCH_RESULTS)
	$(BENCH_GORUN) switch >> $(BENCH_RESULTS)
	$(BENCH_GORUN) spawn >> $(BENCH_RESULTS)
	$(BENCH_GORUN) parked_mem >> $(BENCH_RESULTS)
	$(BENCH_GORUN) deep_recursion >> $(BENCH_RESULTS)
	$(BENCH_GORUN) hot_split >> $(BENCH_RESULTS)
	$(BENCH_GORUN) growth_ladder >> $(BENCH_RESULTS)
	GODEBUG=adaptivestackstart=0 $(BENCH_GORUN) short_lived >> $(BENCH_RESULTS)
	$(BENCH_GORUN) short_lived >> $(BENCH_RESULTS)
