# Host tests of the runtime core on its Linux port, included by the top
# Makefile. The runtime moves stacks under running code, which
# AddressSanitizer cannot follow (its shadow memory would still describe the
# old stack's redzones), so these build with UBSan only; the heap's own
# unit test (tests/unit) runs under ASan. UBSan's object-size check is off:
# to check a local array it keeps 8 minus the array's address (a negated
# stack address, found under the move-stress switch), which no stack move
# can recognise and adjust.
#
#   make rt-test          build and run; writes $(RESULTS)/rt.counts
#   make rt-stress-test   the same under the move-stress switch

RT_HOST_CFLAGS := -std=gnu11 -g -O2 -fno-pie -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls -fstack-clash-protection \
	-fcf-protection=none -ftrivial-auto-var-init=zero -fsanitize=undefined -fno-sanitize=object-size -fno-sanitize-recover=all \
	-Wall -Wextra -Werror
RT_HOST_INC := $(RUNTIME_INC) -Iports -Itwins -Itests/unit -Itests/rt -Itests/fuzz
RT_HOST_LDFLAGS := -no-pie
$(eval $(call runtime_object,$(B)/rt,$(RT_HOST_CFLAGS) $(RUNTIME_INC),tests/rt/rt.mk))
RT_SOURCES := $(B)/rt/runtime.o $(LINUX_PORT_SRC) tests/rt/rt_test.c tests/fuzz/stackfuzz.c \
	tests/fuzz/wordclasses.c twins/twin_defer.c twins/twin_panic.c twins/twin_closure.c twins/twin_chain.c
RT_TESTS := stack moves chan closure defer panic fuzz falsepos preempt
RT_BINS := $(RT_TESTS:%=$(B)/rt/test_%)
RT_HEADERS := $(wildcard runtime/*.h ports/*.h lib/*.h tests/unit/*.h tests/rt/*.h tests/fuzz/*.h twins/*.h)

$(B)/rt/test_%: tests/rt/test_%.c $(RT_SOURCES) $(RT_HEADERS) tests/rt/rt.mk
	@mkdir -p $(dir $@)
	@rm -f $@
	@echo "  CC      $@"; $(CC) $(RT_HOST_CFLAGS) $(RT_HOST_INC) $(filter %.c %.S %.o,$^) -o $@ \
		$(RT_HOST_LDFLAGS) -lcmocka

rt-test:
	@mkdir -p $(RESULTS)
	-@$(MAKE) --no-print-directory -k $(RT_BINS)
	@sh tests/unit/run.sh $(RESULTS)/rt.counts $(RT_BINS)

# The same binaries under the move-stress switch: a timer moves the running
# task's stack at whatever instruction of its own code it interrupts,
# every 100 us (or four times as long as the last move took). Every test
# must pass unchanged. The fuzzer runs 50 seeds here (200 above).
RT_STRESS_US := 100
rt-stress-test:
	@mkdir -p $(RESULTS)
	-@$(MAKE) --no-print-directory -k $(RT_BINS)
	@MORESTACK_STRESS_US=$(RT_STRESS_US) MORESTACK_FUZZ_SEEDS=50 \
		sh tests/unit/run.sh $(RESULTS)/rt-stress.counts $(RT_BINS)
	@grep -h "move-stress:" $(RESULTS)/rt-stress-logs/test_*.err | \
		awk '{l+=$$2; s+=$$7; m+=$$12} END {print "move-stress: " l " moves to larger stacks, " s " to the same size, " m " to smaller, in all"}'
