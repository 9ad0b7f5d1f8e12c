# Host tests of the runtime core on its Linux port, included by the top
# Makefile. The runtime moves stacks under running code, which
# AddressSanitizer cannot follow (its shadow memory would still describe the
# old stack's redzones), so these build with UBSan only; the heap's own
# unit test (tests/unit) runs under ASan.
#
#   make rt-test   build and run; writes $(RESULTS)/rt.counts

RT_HOST_CFLAGS := -std=gnu11 -g -O2 -fno-pie -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls -fstack-clash-protection \
	-fcf-protection=none -ftrivial-auto-var-init=zero -fsanitize=undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Werror -Iruntime -Ikernel -Ihost -Itests/unit -Itests/rt -Itests/fuzz
RT_HOST_LDFLAGS := -no-pie -fsanitize=undefined
RT_SOURCES := $(RUNTIME_SRC) host/plat_linux.c kernel/format.c kernel/symbols.c tests/rt/rt_test.c tests/fuzz/stackfuzz.c twins/defer.c twins/panic.c twins/closure.c
RT_TESTS := stack moves chan closure defer panic fuzz
RT_BINS := $(RT_TESTS:%=$(B)/rt/test_%)
RT_HEADERS := $(wildcard runtime/*.h host/*.h kernel/*.h tests/unit/*.h tests/rt/*.h twins/*.h)

$(B)/rt/test_%: tests/rt/test_%.c $(RT_SOURCES) $(RT_HEADERS)
	@mkdir -p $(dir $@)
	@rm -f $@
	@echo "  CC      $@"; $(CC) $(RT_HOST_CFLAGS) $(filter %.c %.S,$^) -o $@ \
		$(RT_HOST_LDFLAGS) -lcmocka

rt-test:
	@mkdir -p $(RESULTS)
	-@$(MAKE) --no-print-directory -k $(RT_BINS)
	@sh tests/unit/run.sh $(RESULTS)/rt.counts $(RT_BINS)
