# First-party capsules (capsules/*/) and example capsules
# (capsules/examples/*/), built by astrid-build into
# build/capsules/NAME.capsule as part of `make`.
EXAMPLE_DIRS := $(sort $(dir $(wildcard capsules/*/Capsule.toml capsules/examples/*/Capsule.toml)))
EXAMPLE_CAPSULES := $(foreach d,$(EXAMPLE_DIRS),$(BUILD)/capsules/$(notdir $(patsubst %/,%,$(d))).capsule)
SDK_FILES := sdk/c/astrid.h sdk/c/astrid.c sdk/c/astrid_json.h sdk/c/astrid_json.c wit/astrid.wit

define capsule_rule
$(BUILD)/capsules/$(notdir $(patsubst %/,%,$(1))).capsule: $(wildcard $(1)*.c $(1)src/*.c) $(1)Capsule.toml $(SDK_FILES) $(BUILD)/bin/astrid-build
	@mkdir -p $$(dir $$@)
	@echo "  CAPSULE $$@"
	$(Q)ASTRID_SDK=$(abspath sdk/c) $(BUILD)/bin/astrid-build $(1) -o $(BUILD)/capsules >/dev/null
endef
$(foreach d,$(EXAMPLE_DIRS),$(eval $(call capsule_rule,$(d))))
EXTRA_TARGETS += $(EXAMPLE_CAPSULES)
