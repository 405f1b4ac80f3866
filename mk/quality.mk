# Quality targets of issue #18: coverage, soak (docs/testing.md); scan-build
# is mk/scan.mk.
.PHONY: coverage soak

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

# bench/loadgen (the load and soak driver) is built with every tree, so the
# 1-minute soak suite finds it in build/san/bench/ (bench/load.sh).
LOADGEN := $(BUILD)/bench/loadgen
EXTRA_TARGETS += $(LOADGEN)
