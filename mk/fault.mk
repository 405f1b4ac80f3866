# The fault-injection shim (tests/fault/faultinj.c, docs/testing.md "Fault
# injection"): an LD_PRELOAD library built without sanitizers in both trees
# (under ASan it is preloaded after libasan, which must come first).
# `make faults` runs the whole sweep on the release tree; `make test` runs a
# bounded slice of it (tests/integration/fault_sweep.sh).
FAULTINJ := $(BUILD)/tests/libfaultinj.so
EXTRA_TARGETS += $(FAULTINJ)

$(FAULTINJ): tests/fault/faultinj.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c17 -O1 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

.PHONY: faults
faults: all
	$(Q)bash tests/fault/sweep.sh --build $(BUILD) $(FAULT_ARGS)
