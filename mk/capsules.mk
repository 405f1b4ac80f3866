# First-party capsules (capsules/*/) and example capsules
# (capsules/examples/*/), built by astrid-build into
# build/capsules/NAME.capsule as part of `make`.
EXAMPLE_DIRS := $(sort $(dir $(wildcard capsules/*/Capsule.toml capsules/examples/*/Capsule.toml)))
# astrid-build names the archive after package.name (first-party capsules
# are astrid-capsule-<dir>), so the target is read from the manifest.
capsule_pkg = $(shell sed -n 's/^name *= *"\(.*\)"/\1/p' $(1)Capsule.toml | head -n 1)
EXAMPLE_CAPSULES := $(foreach d,$(EXAMPLE_DIRS),$(BUILD)/capsules/$(call capsule_pkg,$(d)).capsule)
SDK_FILES := sdk/c/astrid.h sdk/c/astrid.c sdk/c/astrid_json.h sdk/c/astrid_json.c wit/astrid.wit

define capsule_rule
$(BUILD)/capsules/$(call capsule_pkg,$(1)).capsule: $(wildcard $(1)*.c $(1)src/*.c) $(1)Capsule.toml $(SDK_FILES) $(BUILD)/bin/astrid-build
	@mkdir -p $$(dir $$@)
	@echo "  CAPSULE $$@"
	$(Q)ASTRID_SDK=$(abspath sdk/c) $(BUILD)/bin/astrid-build $(1) -o $(BUILD)/capsules >/dev/null
endef
$(foreach d,$(EXAMPLE_DIRS),$(eval $(call capsule_rule,$(d))))
EXTRA_TARGETS += $(EXAMPLE_CAPSULES)
