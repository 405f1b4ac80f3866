# Quality targets of issue #18: coverage, soak, scan-build (docs/testing.md).
.PHONY: coverage soak scan

# `make coverage`: gcc --coverage tree in build/cov, the whole suite, lcov
# table per folder of src/ (scripts/coverage.sh). COV_JOBS=N builds with -jN.
coverage:
	$(Q)bash scripts/coverage.sh

# COV=1 (set by scripts/coverage.sh): compile and link with --coverage. It
# rides on SANFLAGS (and LDFLAGS_BASE, expanded from it before this file is
# read), which every compile and link line already carries, as
# CFLAGS/LDFLAGS given on the command line would override the target-specific
# additions (-Isdk/c, cmocka's flags, bench_wasm's object).
ifeq ($(COV),1)
SANFLAGS += --coverage
LDFLAGS_BASE += --coverage
endif

# `make soak SOAK_MINUTES=60`: bench/load.sh --soak on the release tree
# (LOAD_CLIENTS, default 8 there, and the other LOAD_* knobs pass through).
SOAK_MINUTES ?= 60
soak: all
	$(Q)ASTRID_BUILD=$(abspath $(BUILD)) bash bench/load.sh --soak $$(( $(SOAK_MINUTES) * 60 ))

# `make scan`: scan-build over every host C file of the build in build/scan
# (scripts/scan.sh); SCAN=1 gives the cmocka tests the header that makes
# failed asserts noreturn for the analyzer (tests/lint/cmocka_noreturn.h).
# scan-objs is what it builds: every object compiled from the tree, nothing
# linked (the analyzer sees compiles only) and no capsule built (astrid-build
# compiles guests for wasm32 with its own compiler, which scan-build does not
# intercept). The generated glue (build/gen, written by src/witgen) is left
# out: a finding there is fixed in the generator, which is scanned.
scan:
	$(Q)bash scripts/scan.sh
SCAN_OBJS := $(filter-out $(GEN_OBJS),$(sort $(LIB_OBJS) $(FLOOR_OBJS) $(WITGEN_OBJS) \
  $(call obj,$(TEST_SRCS) $(BENCH_SRCS) $(wildcard src/*/main.c))))
.PHONY: scan-objs
scan-objs: $(SCAN_OBJS)
ifeq ($(SCAN),1)
$(call obj,$(TEST_SRCS)): CFLAGS += -include tests/lint/cmocka_noreturn.h
endif

# bench/loadgen (the load and soak driver) is built with every tree, so the
# 1-minute soak suite finds it in build/san/bench/ (bench/load.sh).
LOADGEN := $(BUILD)/bench/loadgen
EXTRA_TARGETS += $(LOADGEN)
