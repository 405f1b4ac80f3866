# First-party capsules (capsules/*/) and example capsules
# (capsules/examples/*/), built by astrid-build into
# build/capsules/DIR.capsule (named after the directory, not the package)
# as part of `make`.
EXAMPLE_DIRS := $(sort $(dir $(wildcard capsules/*/Capsule.toml capsules/examples/*/Capsule.toml)))
EXAMPLE_CAPSULES := $(foreach d,$(EXAMPLE_DIRS),$(BUILD)/capsules/$(notdir $(patsubst %/,%,$(d))).capsule)
# capsules/common/: code the first-party capsules include (no Capsule.toml).
CAPSULE_COMMON := $(wildcard capsules/common/*.c capsules/common/*.h)
SDK_FILES := sdk/c/astrid.h sdk/c/astrid.c sdk/c/astrid_json.h sdk/c/astrid_json.c wit/astrid.wit

define capsule_rule
$(BUILD)/capsules/$(notdir $(patsubst %/,%,$(1))).capsule: $(wildcard $(1)*.c $(1)src/*.c) $(1)Capsule.toml $(SDK_FILES) $(CAPSULE_COMMON) $(BUILD)/bin/astrid-build
	@mkdir -p $$(dir $$@)
	@echo "  CAPSULE $$@"
	$(Q)rm -rf $$@.d && mkdir -p $$@.d && ASTRID_SDK=$(abspath sdk/c) $(BUILD)/bin/astrid-build $(1) -o $$@.d >/dev/null && mv $$@.d/*.capsule $$@ && rm -rf $$@.d
endef
$(foreach d,$(EXAMPLE_DIRS),$(eval $(call capsule_rule,$(d))))
EXTRA_TARGETS += $(EXAMPLE_CAPSULES)
# The native test of capsules/common/ (SSE parser, llm_map) includes the
# guest JSON library's header by its SDK name.
$(BUILD)/obj/tests/unit/test_provider_sse.o: CFLAGS += -Isdk/c
