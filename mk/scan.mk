# `make scan` (scripts/scan.sh, docs/testing.md "Static analysis"):
# scan-build over every hand-written C file of the tree in build/scan, in
# two passes because ccc-analyzer runs one real compiler per scan-build run:
#   scan-host  (--use-cc=gcc)   what the build compiles with gcc: every
#              object of the floors (the generated host_glue.c and
#              sdk_imports.c included, written by the scanned witgen), the
#              programs, witgen, the unit tests, tools, spec runner and
#              benchmarks, plus the fault shim and the sandbox helpers
#              (compiled and linked as their own rules do: ccc-analyzer
#              analyses the .c of a compile-and-link line too);
#   scan-clang (--use-cc=clang) what is compiled with clang: the fuzz
#              harnesses (host, as `make fuzzers` compiles them) and the
#              guest code for wasm32-wasi as astrid-build compiles it (SDK,
#              capsules/ with capsules/common, tests/capsules, tests/guests).
# Nothing is linked but those three helpers and witgen (which must run to
# write build/gen) and no capsule is packed: the analyzer sees compiles
# only. Not analysed: the wasm2c output of capsules (the AOT cache,
# third-party generated code, hundreds of thousands of lines per capsule)
# and bench/*.cpp (C++, the toml++ baseline). This file is read after
# mk/fault.mk and mk/sandbox.mk (sorted), whose targets it names.
# SCAN=1 gives the cmocka tests the header that makes failed asserts
# noreturn for the analyzer (tests/lint/cmocka_noreturn.h).
.PHONY: scan scan-host scan-clang
scan:
	$(Q)bash scripts/scan.sh

SCAN_OBJS := $(sort $(LIB_OBJS) $(FLOOR_OBJS) $(WITGEN_OBJS) \
  $(call obj,$(TEST_SRCS) $(BENCH_SRCS) $(wildcard src/*/main.c)))
scan-host: $(SCAN_OBJS) $(FAULTINJ) $(SANDBOX_TRY) $(SANDBOX_NOUSERNS)
ifeq ($(SCAN),1)
$(call obj,$(TEST_SRCS)): CFLAGS += -include tests/lint/cmocka_noreturn.h
endif

# The fuzz harnesses with the flags of their build rule (Makefile), -c only.
SCAN_FUZZ_OBJS := $(patsubst %.c,$(BUILD)/scan-fuzz/%.o,$(FUZZ_SRCS))
$(BUILD)/scan-fuzz/%.o: %.c | $(GEN_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCANCC  $<")
	$(Q)$(CC) $(FUZZ_CFLAGS) $(filter-out -Wno-format-truncation,$(WARN)) \
	  -fsanitize=fuzzer-no-link -c $< -o $@

# Guest code, each file alone as scripts/lint.sh takes it (a capsule's
# includes of capsules/common are analysed inside it as well), with
# astrid-build's flags (src/build/build.c) but -O0: the optimiser's work is
# thrown away here. The generated imports header is build/gen/sdk's. The
# two guests of tests/guests get the flags of the test and the benchmark
# that compile them (test_wasm_wasi.c, bench_wasm.c).
SCAN_GUEST_SRCS := $(call find_c,capsules tests/capsules tests/guests) sdk/c/astrid.c \
  sdk/c/astrid_json.c
SCAN_GUEST_OBJS := $(patsubst %.c,$(BUILD)/scan-wasm/%.o,$(SCAN_GUEST_SRCS))
SCAN_GUEST_FLAGS := --target=wasm32-wasi -std=c17 -Wall -I$(GEN_DIR)/sdk -Isdk/c
$(BUILD)/scan-wasm/tests/guests/wasi_probe.o: SCAN_GUEST_FLAGS := --target=wasm32-wasi
$(BUILD)/scan-wasm/tests/guests/bench_work.o: SCAN_GUEST_FLAGS := --target=wasm32
$(BUILD)/scan-wasm/%.o: %.c | $(GEN_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCANCC  $< (wasm32)")
	$(Q)$(CC) $(SCAN_GUEST_FLAGS) -O0 -c $< -o $@

scan-clang: $(SCAN_FUZZ_OBJS) $(SCAN_GUEST_OBJS)
