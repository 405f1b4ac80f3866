# Astrid in C — top-level build.
#
# Plain GNU make, non-recursive. Sources are discovered by folder, so adding a
# file never means editing this file. One static archive per floor
# (docs/architecture.md, "Floors"), each linked only with the floors below it:
#   floor 0  src/lib/**.c        -> $(BUILD)/lib/libastrid.a         (public library)
#   floor 1  src/bus/**.c        -> $(BUILD)/lib/libastrid-bus.a
#            src/audit/**.c      -> $(BUILD)/lib/libastrid-audit.a
#            src/store/**.c      -> $(BUILD)/lib/libastrid-store.a
#            src/vfs/**.c        -> $(BUILD)/lib/libastrid-vfs.a
#            src/client/**.c     -> $(BUILD)/lib/libastrid-client.a
#   floor 2  src/capsule/**.c + $(BUILD)/gen/host_glue.c
#                                -> $(BUILD)/lib/libastrid-capsule.a
#   floor 3  src/kernel/**.c     -> $(BUILD)/lib/libastrid-kernel.a  (except main.c)
#   top      src/cli/**.c        -> $(BUILD)/lib/libastrid-cli.a     (except main.c)
#            src/build/**.c      -> $(BUILD)/lib/libastrid-build.a   (except main.c)
#   src/cli/main.c               -> $(BUILD)/bin/astrid          cli, client, lib
#   src/kernel/main.c            -> $(BUILD)/bin/astrid-daemon   kernel and below
#   src/build/main.c             -> $(BUILD)/bin/astrid-build    build, capsule (unpack), lib
#   tests/unit/*.c, tests/tools/*.c, tests/spec/*.c -> $(BUILD)/tests/<name>  (every archive)
#   bench/*.c                    -> $(BUILD)/bench/<name>                    (every archive)
#   tests/fuzz/*.c               -> $(BUILD)/fuzz/<name>   (clang libFuzzer; src/ compiled
#                                   again with coverage into $(BUILD)/fuzz/obj, every floor)
#   src/witgen/*.c + libastrid   -> $(BUILD)/tools/astrid-witgen, built and run
#                                   first: wit/astrid.wit -> $(BUILD)/gen/host_glue.{h,c}
#                                   (host_glue.c joins libastrid-capsule: every host
#                                   function's wrapper), the guest's
#                                   $(BUILD)/gen/sdk/astrid_imports.h and sdk_imports.c (that
#                                   header as a string, joins libastrid-build for astrid-build)
#                                   (docs/abi.md "Generated glue").
# A new folder under src/ is a new row of the floor table in
# docs/architecture.md and a line in FLOORS below (CONTRIBUTING.md, Build).
#
# `make` builds a release tree in build/. `make test` builds a second tree
# with ASan+UBSan in build/san/, runs `make check-layers` on it (includes
# against the floor table; each archive linked alone) and every test.

BUILD ?= build
SAN ?= 0
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
CXX ?= g++
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

PKGS := libsodium lmdb jansson yaml-0.1 libcurl libuv uuid libarchive libseccomp libnats
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
TEST_SRCS := $(call find_c,tests/unit tests/tools tests/spec)
BENCH_SRCS := $(call find_c,bench)
BENCH_CXX := $(shell find bench -name '*.cpp' 2>/dev/null | LC_ALL=C sort)
FUZZ_SRCS := $(call find_c,tests/fuzz)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS))

WITGEN := $(BUILD)/tools/astrid-witgen
WITGEN_OBJS := $(call obj,$(call find_c,src/witgen))
GEN_DIR := $(BUILD)/gen
GEN_STAMP := $(GEN_DIR)/.stamp
GEN_GLUE_OBJ := $(BUILD)/obj/gen/host_glue.o
GEN_SDK_OBJ := $(BUILD)/obj/gen/sdk_imports.o
GEN_OBJS := $(GEN_GLUE_OBJ) $(GEN_SDK_OBJ)

# ---------------------------------------------------------------- floors
# The archives above libastrid, one per folder src/<name>/ (main.c files
# excluded), listed in a valid link order: each before the floors it uses.
# Who may use whom is the table of docs/architecture.md ("Floors"), which
# `make check-layers` enforces; the link lines below follow it.
FLOORS := cli build kernel capsule audit bus store vfs client
$(foreach f,$(FLOORS),$(eval OBJS_$(f) := $(call obj,$(filter-out %/main.c,$(call find_c,src/$(f))))))
OBJS_capsule += $(GEN_GLUE_OBJ)
OBJS_build += $(GEN_SDK_OBJ)
$(foreach f,$(FLOORS),$(eval AR_$(f) := $(BUILD)/lib/libastrid-$(f).a))
FLOOR_OBJS := $(foreach f,$(FLOORS),$(OBJS_$(f)))
FLOOR_ARS := $(foreach f,$(FLOORS),$(AR_$(f)))
LIBASTRID := $(BUILD)/lib/libastrid.a
pkglibs = $(shell pkg-config --libs $(1) 2>/dev/null)


# What each program links: astrid (cli + client + lib, no libcurl, no
# libarchive), astrid-daemon (kernel and every floor below), astrid-build
# (its objects, the capsule floor's unpack.o, lib, libarchive); tests and
# benchmarks take everything.
# The chat TUI (src/cli/cmd_chat.c) draws with ncursesw: only the CLI and
# the programs that link the cli floor take it.
TUI_LIBS := $(call pkglibs,ncursesw)
ASTRID_LINK = $(AR_cli) $(AR_client) $(LIBASTRID) \
  $(call pkglibs,$(LIB_PKGS) yaml-0.1) $(TUI_LIBS) -lm -lpthread
DAEMON_LINK = $(AR_kernel) $(AR_capsule) $(AR_audit) $(AR_bus) $(AR_store) $(AR_vfs) \
  $(LIBASTRID) $(SYS_LIBS)
BUILDTOOL_LINK = $(AR_build) $(AR_capsule) $(LIBASTRID) \
  $(call pkglibs,$(LIB_PKGS) libarchive) -lm -lpthread
LINK_LIBS = $(FLOOR_ARS) $(LIBASTRID) $(SYS_LIBS) $(TUI_LIBS)
PCFILE := $(BUILD)/lib/pkgconfig/astrid.pc
BINS := $(BUILD)/bin/astrid $(BUILD)/bin/astrid-daemon $(BUILD)/bin/astrid-build
TESTS := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRCS)))
BENCHES := $(patsubst %.c,$(BUILD)/bench/%,$(notdir $(BENCH_SRCS))) \
           $(patsubst %.cpp,$(BUILD)/bench/%,$(notdir $(BENCH_CXX)))
FUZZERS := $(patsubst %.c,$(BUILD)/fuzz/%,$(notdir $(FUZZ_SRCS)))

# Later issues add to these (guest SDK, example capsules) from their own .mk.
EXTRA_TARGETS :=
.DEFAULT_GOAL := all
-include $(sort $(wildcard mk/*.mk))

.PHONY: all deps run test check-layers bench fuzz fuzzers lint format spec clean
all: $(LIBASTRID) $(FLOOR_ARS) $(PCFILE) $(BINS) $(TESTS) $(EXTRA_TARGETS)

deps:
	$(Q)bash scripts/deps.sh

run: all
	$(Q)bash scripts/run.sh $(BUILD)

# The fuzz targets join the sanitizer tree when clang is there: the
# fuzz_smoke suite runs each for a few seconds.
test:
	$(Q)$(MAKE) --no-print-directory SAN=1 BUILD=$(BUILD)/san all check-layers \
	  $(if $(shell command -v clang 2>/dev/null),fuzzers)
	$(Q)bash tests/run.sh $(BUILD)/san

# The floor table of docs/architecture.md, executed: every #include of
# src/ against it, then each archive linked alone with the floors below.
check-layers: $(LIBASTRID) $(FLOOR_ARS) $(GEN_STAMP)
	$(Q)CC="$(CC)" LDFLAGS="$(SANFLAGS) $(LDFLAGS)" SYS_LIBS="$(SYS_LIBS) $(TUI_LIBS)" GEN_DIR="$(GEN_DIR)" \
	  bash scripts/check-layers.sh --build $(BUILD)

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
	$(Q)$(WITGEN) wit/astrid.wit $(GEN_DIR)
	@touch $@
$(GEN_DIR)/host_glue.c $(GEN_DIR)/host_glue.h $(GEN_DIR)/sdk/astrid_imports.h \
  $(GEN_DIR)/sdk_imports.c: $(GEN_STAMP) ;

$(BUILD)/obj/gen/%.o: $(GEN_DIR)/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(filter-out $(GEN_OBJS),$(FLOOR_OBJS)) $(filter-out $(WITGEN_OBJS),$(call obj,$(TEST_SRCS) \
  $(BENCH_SRCS) $(wildcard src/*/main.c))): | $(GEN_STAMP)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIBASTRID): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

define floor_rule
$(AR_$(1)): $(OBJS_$(1))
	@mkdir -p $$(dir $$@)
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach f,$(FLOORS),$(eval $(call floor_rule,$(f))))

$(PCFILE): Makefile
	@mkdir -p $(dir $@)
	$(Q)printf '%s\n' \
	  'prefix=$(abspath $(BUILD))' 'libdir=$${prefix}/lib' 'includedir=$(abspath include)' '' \
	  'Name: astrid' 'Description: Astrid policy, TOML, BLAKE3 and crypto library' \
	  'Version: $(shell cat VERSION)' \
	  'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lastrid' \
	  'Libs.private: $(shell pkg-config --libs $(LIB_PKGS)) -lm -lpthread' > $@

$(BUILD)/bin/astrid: $(BUILD)/obj/src/cli/main.o $(AR_cli) $(AR_client) $(LIBASTRID)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $< $(ASTRID_LINK)

$(BUILD)/bin/astrid-daemon: $(BUILD)/obj/src/kernel/main.o $(AR_kernel) $(AR_capsule) $(AR_audit) \
  $(AR_bus) $(AR_store) $(AR_vfs) $(LIBASTRID)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $@ $< $(DAEMON_LINK)

$(BUILD)/bin/astrid-build: $(BUILD)/obj/src/build/main.o $(AR_build) $(AR_capsule) $(LIBASTRID)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $< $(BUILDTOOL_LINK)

define test_rule
$(BUILD)/tests/$(notdir $(basename $(1))): $(call obj,$(1)) $(FLOOR_ARS) $(LIBASTRID)
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $$@ $$< $(LINK_LIBS) $(TEST_LIBS)
endef
$(foreach s,$(TEST_SRCS),$(eval $(call test_rule,$(s))))
$(call obj,$(TEST_SRCS)): CFLAGS += $(TEST_CFLAGS)

define bench_rule
$(BUILD)/bench/$(notdir $(basename $(1))): $(call obj,$(1)) $(FLOOR_ARS) $(LIBASTRID)
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(LDFLAGS_BASE) $$(LDFLAGS) -o $$@ $$< $(LINK_LIBS)
endef
$(foreach s,$(BENCH_SRCS),$(eval $(call bench_rule,$(s))))

$(BUILD)/bench/%: bench/%.cpp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) -std=c++17 -O2 -g $(shell pkg-config --cflags tomlplusplus 2>/dev/null) -o $@ $< \
	  $(shell pkg-config --libs tomlplusplus 2>/dev/null)

# Fuzz targets: every source of src/ is compiled once with clang's coverage
# instrumentation into $(BUILD)/fuzz/obj and archived per floor as above;
# each target links them all (an archive gives only what the target uses).
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -I$(GEN_DIR) -Isdk/c $(PKG_CFLAGS) \
               -fsanitize=address,undefined
fobj = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(1))
FUZZ_AR_lib := $(BUILD)/fuzz/lib/libastrid.a
FUZZ_SRCS_capsule := $(GEN_DIR)/host_glue.c
FUZZ_SRCS_build := $(GEN_DIR)/sdk_imports.c
$(foreach f,$(FLOORS),$(eval FUZZ_AR_$(f) := $(BUILD)/fuzz/lib/libastrid-$(f).a))
$(foreach f,$(FLOORS),$(eval FUZZ_OBJS_$(f) := \
  $(call fobj,$(filter-out %/main.c,$(call find_c,src/$(f))) $(FUZZ_SRCS_$(f)))))
FUZZ_ARS := $(foreach f,$(FLOORS),$(FUZZ_AR_$(f))) $(FUZZ_AR_lib)
fuzzers: $(FUZZERS)
$(call fobj,$(LIB_SRCS) $(call find_c,$(addprefix src/,$(FLOORS)))): | $(GEN_STAMP)
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_AR_lib): $(call fobj,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^
define fuzz_floor_rule
$(FUZZ_AR_$(1)): $(FUZZ_OBJS_$(1))
	@mkdir -p $$(dir $$@)
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach f,$(FLOORS),$(eval $(call fuzz_floor_rule,$(f))))
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_ARS) | $(GEN_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)clang $(FUZZ_CFLAGS) $(filter-out -Wno-format-truncation,$(WARN)) -fsanitize=fuzzer -MMD -MP -MF $@.d -o $@ $< $(FUZZ_ARS) \
	  $(SYS_LIBS) $(TUI_LIBS)
-include $(wildcard $(BUILD)/fuzz/*.d) $(shell find $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)

-include $(patsubst %.o,%.d,$(LIB_OBJS) $(FLOOR_OBJS) $(WITGEN_OBJS) $(call obj,$(TEST_SRCS) $(BENCH_SRCS) $(wildcard src/*/main.c)))
