# The sandbox escape helper (tests/sandbox/try.c): a plain native program run
# INSIDE the sandbox by tests/integration/sandbox_escape.sh. Built without
# sanitizers in both trees: LeakSanitizer stops the world with ptrace, which
# the sandbox's seccomp filter refuses by design.
SANDBOX_TRY := $(BUILD)/tests/sandbox-try
EXTRA_TARGETS += $(SANDBOX_TRY)

$(SANDBOX_TRY): tests/sandbox/try.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c17 -O1 -g -Wall -Wextra -Werror -o $@ $<

# nouserns (tests/sandbox/nouserns.c): runs a command as a non-root user
# inside a user namespace whose user.max_user_namespaces is 0, so the
# REQUIRED policy is tested where the sandbox really cannot apply.
SANDBOX_NOUSERNS := $(BUILD)/tests/sandbox-nouserns
EXTRA_TARGETS += $(SANDBOX_NOUSERNS)

$(SANDBOX_NOUSERNS): tests/sandbox/nouserns.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c17 -O1 -g -Wall -Wextra -Werror -o $@ $<
