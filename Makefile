# Astrid in C — top-level build.
#
# Plain GNU make, non-recursive. Sources are discovered by folder, so adding a
# file never means editing this file:
#   src/lib/**.c                 -> $(BUILD)/lib/libastrid.a        (public library)
#   src/{kernel,capsule,store,vfs,cli,build}/**.c except main.c
#                                -> $(BUILD)/lib/libastrid-internal.a
#   src/cli/main.c               -> $(BUILD)/bin/astrid
#   src/kernel/main.c            -> $(BUILD)/bin/astrid-daemon
#   src/build/main.c             -> $(BUILD)/bin/astrid-build
#   tests/unit/*.c, tests/tools/*.c, tests/spec/*.c -> $(BUILD)/tests/<name>
#   bench/*.c                    -> $(BUILD)/bench/<name>
#   tests/fuzz/*.c               -> $(BUILD)/fuzz/<name>   (clang libFuzzer)
#   src/witgen/*.c + libastrid   -> $(BUILD)/tools/astrid-witgen, built and run
#                                   first: wit/astrid.wit -> $(BUILD)/gen/host_glue.{h,c}
#                                   (host_glue.c joins libastrid-internal) and
#                                   $(BUILD)/gen/sdk/astrid_imports.h. WIT_GLUE lists the
#                                   interfaces whose host functions the generated
#                                   wrappers carry (docs/abi.md "Generated glue").
#
# `make` builds a release tree in build/. `make test` builds a second tree
# with ASan+UBSan in build/san/ and runs every test against it.

BUILD ?= build
SAN ?= 0
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
CXX ?= g++
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

PKGS := libsodium lmdb jansson yaml-0.1 libcurl libuv uuid libarchive libseccomp
LIB_PKGS := libsodium jansson uuid
TEST_PKGS := cmocka

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter -Wno-format-truncation
OPT ?= -O2
CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -g $(WARN) -Iinclude -Isrc -fPIC $(PKG_CFLAGS)
ifeq ($(SAN),1)
OPT := -O1
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
# Host functions called by AOT-compiled guests are resolved through dlopen,
# so the binaries that load guests export their symbols.
LDFLAGS_BASE := -rdynamic $(SANFLAGS)
ALL_CFLAGS = $(CFLAGS_BASE) -I$(BUILD)/gen $(OPT) $(SANFLAGS) $(CFLAGS)
SYS_LIBS := $(PKG_LIBS) -lm -lpthread -ldl

# ---------------------------------------------------------------- sources
find_c = $(shell find $(1) -name '*.c' 2>/dev/null | LC_ALL=C sort)
LIB_SRCS := $(call find_c,src/lib)
INT_SRCS := $(filter-out %/main.c,$(call find_c,src/kernel src/bus src/audit src/capsule src/store src/vfs src/client src/cli src/build))
TEST_SRCS := $(call find_c,tests/unit tests/tools tests/spec)
BENCH_SRCS := $(call find_c,bench)
BENCH_CXX := $(shell find bench -name '*.cpp' 2>/dev/null | LC_ALL=C sort)
FUZZ_SRCS := $(call find_c,tests/fuzz)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS))

WIT_GLUE := identity,uplink,process,elicit,approval
WITGEN := $(BUILD)/tools/astrid-witgen
WITGEN_OBJS := $(call obj,$(call find_c,src/witgen))
GEN_DIR := $(BUILD)/gen
GEN_STAMP := $(GEN_DIR)/.stamp
GEN_GLUE_OBJ := $(BUILD)/obj/gen/host_glue.o
INT_OBJS := $(call obj,$(INT_SRCS)) $(GEN_GLUE_OBJ)

LIBASTRID := $(BUILD)/lib/libastrid.a
LIBINT := $(BUILD)/lib/libastrid-internal.a
PCFILE := $(BUILD)/lib/pkgconfig/astrid.pc
BINS := $(BUILD)/bin/astrid $(BUILD)/bin/astrid-daemon $(BUILD)/bin/astrid-build
TESTS := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRCS)))
BENCHES := $(patsubst %.c,$(BUILD)/bench/%,$(notdir $(BENCH_SRCS))) \
           $(patsubst %.cpp,$(BUILD)/bench/%,$(notdir $(BENCH_CXX)))
FUZZERS := $(patsubst %.c,$(BUILD)/fuzz/%,$(notdir $(FUZZ_SRCS)))
LINK_LIBS = $(LIBINT) $(LIBASTRID) $(SYS_LIBS)

# Later issues add to these (guest SDK, example capsules) from their own .mk.
EXTRA_TARGETS :=
.DEFAULT_GOAL := all
-include $(sort $(wildcard mk/*.mk))

.PHONY: all deps run test bench fuzz lint format spec clean
all: $(LIBASTRID) $(LIBINT) $(PCFILE) $(BINS) $(TESTS) $(EXTRA_TARGETS)

deps:
	$(Q)bash scripts/deps.sh

run: all
	$(Q)bash scripts/run.sh $(BUILD)

test:
	$(Q)$(MAKE) --no-print-directory SAN=1 BUILD=$(BUILD)/san all
	$(Q)bash tests/run.sh $(BUILD)/san

spec:
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tests/spec/run.sh $(BUILD) --all

bench: all $(BENCHES)
	$(Q)bash bench/run.sh $(BUILD)

FUZZ_SECONDS ?= 60
fuzz: $(FUZZERS)
	$(Q)bash tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

lint: $(GEN_STAMP)
	$(Q)bash scripts/lint.sh

format:
	$(Q)git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------- rules
# The generator is rebuilt and rerun when the WIT, its sources or this file
# change; it rewrites only outputs whose text changed. Everything compiled
# against the project headers waits for it (order-only: the .d files carry
# the real dependencies on the generated headers).
$(WITGEN): $(WITGEN_OBJS) $(LIBASTRID)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $@ $(WITGEN_OBJS) $(LIBASTRID) $(SYS_LIBS)

$(GEN_STAMP): wit/astrid.wit $(WITGEN) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  WITGEN  $<")
	$(Q)$(WITGEN) --glue $(WIT_GLUE) wit/astrid.wit $(GEN_DIR)
	@touch $@
$(GEN_DIR)/host_glue.c $(GEN_DIR)/host_glue.h $(GEN_DIR)/sdk/astrid_imports.h: $(GEN_STAMP) ;

$(GEN_GLUE_OBJ): $(GEN_DIR)/host_glue.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(filter-out $(GEN_GLUE_OBJ),$(INT_OBJS)) $(filter-out $(WITGEN_OBJS),$(call obj,$(TEST_SRCS) \
  $(BENCH_SRCS) $(wildcard src/*/main.c))): | $(GEN_STAMP)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIBASTRID): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBINT): $(INT_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(PCFILE): Makefile
	@mkdir -p $(dir $@)
	$(Q)printf '%s\n' \
	  'prefix=$(abspath $(BUILD))' 'libdir=$${prefix}/lib' 'includedir=$(abspath include)' '' \
	  'Name: astrid' 'Description: Astrid policy, TOML, BLAKE3 and crypto library' \
	  'Version: $(shell cat VERSION)' \
	  'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lastrid' \
	  'Libs.private: $(shell pkg-config --libs $(LIB_PKGS)) -lm -lpthread' > $@

$(BUILD)/bin/astrid: $(BUILD)/obj/src/cli/main.o $(LIBINT) $(LIBASTRID)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $@ $< $(LINK_LIBS)

$(BUILD)/bin/astrid-daemon: $(BUILD)/obj/src/kernel/main.o $(LIBINT) $(LIBASTRID)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $@ $< $(LINK_LIBS)

$(BUILD)/bin/astrid-build: $(BUILD)/obj/src/build/main.o $(LIBINT) $(LIBASTRID)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $@ $< $(LINK_LIBS)

define test_rule
$(BUILD)/tests/$(notdir $(basename $(1))): $(call obj,$(1)) $(LIBINT) $(LIBASTRID)
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $$@ $$< $(LINK_LIBS) $(TEST_LIBS)
endef
$(foreach s,$(TEST_SRCS),$(eval $(call test_rule,$(s))))
$(call obj,$(TEST_SRCS)): CFLAGS += $(TEST_CFLAGS)

define bench_rule
$(BUILD)/bench/$(notdir $(basename $(1))): $(call obj,$(1)) $(LIBINT) $(LIBASTRID)
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(LDFLAGS_BASE) $$(LDFLAGS) -o $$@ $$< $(LINK_LIBS)
endef
$(foreach s,$(BENCH_SRCS),$(eval $(call bench_rule,$(s))))

$(BUILD)/bench/%: bench/%.cpp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) -std=c++17 -O2 -g $(shell pkg-config --cflags tomlplusplus 2>/dev/null) -o $@ $< \
	  $(shell pkg-config --libs tomlplusplus 2>/dev/null)

FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc $(PKG_CFLAGS) \
               -fsanitize=fuzzer,address,undefined
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(SYS_LIBS)

-include $(patsubst %.o,%.d,$(LIB_OBJS) $(INT_OBJS) $(WITGEN_OBJS) $(call obj,$(TEST_SRCS) $(BENCH_SRCS) $(wildcard src/*/main.c)))
