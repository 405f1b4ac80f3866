/* ASTRID_SANDBOX_POLICY. Upstream falls back to `required` with a warning on
 * an unknown value; we refuse, so a typo ("of", "disabled") cannot silently
 * mean either of the two. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "astrid/sandbox_probe.h"

int astrid_sandbox_policy_parse(const char *value, astrid_sandbox_policy *out, astrid_err *err)
{
    if (!value)
        value = "";
    const char *s = value;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || (n == 8 && strncasecmp(s, "required", 8) == 0)) {
        *out = ASTRID_SANDBOX_REQUIRED;
        return 0;
    }
    if (n == 3 && strncasecmp(s, "off", 3) == 0) {
        *out = ASTRID_SANDBOX_OFF;
        return 0;
    }
    return astrid_err_set(err, ASTRID_E_INVALID,
                          "ASTRID_SANDBOX_POLICY=\"%.64s\": unknown policy (accepted: "
                          "\"required\" (the default) or \"off\")",
                          value);
}

const char *astrid_sandbox_policy_name(astrid_sandbox_policy p)
{
    return p == ASTRID_SANDBOX_OFF ? "off" : "required";
}
