# The sandbox escape helper (tests/sandbox/try.c): a plain native program run
# INSIDE the sandbox by tests/integration/sandbox_escape.sh. Built without
# sanitizers in both trees: LeakSanitizer stops the world with ptrace, which
# the sandbox's seccomp filter refuses by design.
SANDBOX_TRY := $(BUILD)/tests/sandbox-try
EXTRA_TARGETS += $(SANDBOX_TRY)

$(SANDBOX_TRY): tests/sandbox/try.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c17 -O1 -g -Wall -Wextra -Werror -o $@ $<
