/* Surfaces upstream registers but defers (exit 2 with the tracking issue). */
#include "cli/cli_stub.h"

#define ISSUE(n) "deferred upstream: https://github.com/unicity-astrid/astrid/issues/" #n

CLI_STUB(v_create, "create", NULL, 0, -1, "Create a voucher", NULL, ISSUE(656));
CLI_STUB(v_list, "list", NULL, 0, -1, "List vouchers", NULL, ISSUE(656));
CLI_STUB(v_show, "show", NULL, 0, -1, "Show a voucher", NULL, ISSUE(656));
CLI_STUB(v_revoke, "revoke", NULL, 0, -1, "Revoke a voucher", NULL, ISSUE(656));
CLI_STUB(v_history, "history", NULL, 0, -1, "Voucher history", NULL, ISSUE(656));
const cli_cmd cli_cmd_voucher = {.name = "voucher",
                                 .help = "Budget vouchers (deferred)",
                                 .sub =
                                     CLI_SUB(&v_create, &v_list, &v_show, &v_revoke, &v_history)};

/* Hidden `wit gc` (migration alias of bare `gc`). */
static const cli_cmd w_gc = {
    .name = "gc",
    .max_args = 0,
    .help = "Garbage-collect unreferenced blobs (alias of gc)",
    .flags = CLI_FLAGS({"force", 0, NULL, "Delete (default is a dry run)", false, false}),
    .fn = cli_gc};
const cli_cmd cli_cmd_wit = {
    .name = "wit", .help = "WIT store (alias of gc)", .hidden = true, .sub = CLI_SUB(&w_gc)};
