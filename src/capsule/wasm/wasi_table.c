/* The wasi_snapshot_preview1 host module table, and the calls the engine
 * does not implement: they return ENOSYS without touching the host. */
#include "capsule/wasm/engine.h"
#include "capsule/wasm/wasi_internal.h"

#define NOSYS(name, params, ...)                                                                   \
    P(uint32_t, name, __VA_ARGS__);                                                                \
    P(uint32_t, name, __VA_ARGS__)                                                                 \
    {                                                                                              \
        astrid_wasm_host_enter(inst);                                                              \
        astrid_wasm_host_leave(inst);                                                              \
        return W_NOSYS;                                                                            \
    }
#define U uint32_t
#define L uint64_t
NOSYS(fd_advise, "iIIi", U a, L b, L c, U d)
NOSYS(fd_allocate, "iII", U a, L b, L c)
NOSYS(fd_datasync, "i", U a)
NOSYS(fd_fdstat_set_rights, "iII", U a, L b, L c)
NOSYS(fd_filestat_set_size, "iI", U a, L b)
NOSYS(fd_filestat_set_times, "iIIi", U a, L b, L c, U d)
NOSYS(fd_pread, "iiiIi", U a, U b, U c, L d, U e)
NOSYS(fd_pwrite, "iiiIi", U a, U b, U c, L d, U e)
NOSYS(fd_renumber, "ii", U a, U b)
NOSYS(path_filestat_set_times, "iiiiIIi", U a, U b, U c, U d, L e, L f, U g)
NOSYS(path_link, "iiiiiii", U a, U b, U c, U d, U e, U f, U g)
NOSYS(path_readlink, "iiiiii", U a, U b, U c, U d, U e, U f)
NOSYS(path_symlink, "iiiii", U a, U b, U c, U d, U e)
NOSYS(proc_raise, "i", U a)
NOSYS(sock_accept, "iii", U a, U b, U c)
NOSYS(sock_recv, "iiiiii", U a, U b, U c, U d, U e, U f)
NOSYS(sock_send, "iiiii", U a, U b, U c, U d, U e)
NOSYS(sock_shutdown, "ii", U a, U b)

static const astrid_wasm_host_func wasi_funcs[] = {
    {"args_get", "ii", "i", 0},
    {"args_sizes_get", "ii", "i", 0},
    {"environ_get", "ii", "i", 0},
    {"environ_sizes_get", "ii", "i", 0},
    {"clock_res_get", "ii", "i", 0},
    {"clock_time_get", "iIi", "i", 0},
    {"random_get", "ii", "i", 0},
    {"proc_exit", "i", "", 0},
    {"sched_yield", "", "i", 0},
    {"poll_oneoff", "iiii", "i", 0},
    {"fd_write", "iiii", "i", 0},
    {"fd_read", "iiii", "i", 0},
    {"fd_close", "i", "i", 0},
    {"fd_seek", "iIii", "i", 0},
    {"fd_tell", "ii", "i", 0},
    {"fd_sync", "i", "i", 0},
    {"fd_fdstat_get", "ii", "i", 0},
    {"fd_fdstat_set_flags", "ii", "i", 0},
    {"fd_filestat_get", "ii", "i", 0},
    {"fd_prestat_get", "ii", "i", 0},
    {"fd_prestat_dir_name", "iii", "i", 0},
    {"fd_readdir", "iiiIi", "i", 0},
    {"path_open", "iiiiiIIii", "i", 0},
    {"path_filestat_get", "iiiii", "i", 0},
    {"path_create_directory", "iii", "i", 0},
    {"path_remove_directory", "iii", "i", 0},
    {"path_unlink_file", "iii", "i", 0},
    {"path_rename", "iiiiii", "i", 0},
    {"fd_advise", "iIIi", "i", 0},
    {"fd_allocate", "iII", "i", 0},
    {"fd_datasync", "i", "i", 0},
    {"fd_fdstat_set_rights", "iII", "i", 0},
    {"fd_filestat_set_size", "iI", "i", 0},
    {"fd_filestat_set_times", "iIIi", "i", 0},
    {"fd_pread", "iiiIi", "i", 0},
    {"fd_pwrite", "iiiIi", "i", 0},
    {"fd_renumber", "ii", "i", 0},
    {"path_filestat_set_times", "iiiiIIi", "i", 0},
    {"path_link", "iiiiiii", "i", 0},
    {"path_readlink", "iiiiii", "i", 0},
    {"path_symlink", "iiiii", "i", 0},
    {"proc_raise", "i", "i", 0},
    {"sock_accept", "iii", "i", 0},
    {"sock_recv", "iiiiii", "i", 0},
    {"sock_send", "iiiii", "i", 0},
    {"sock_shutdown", "ii", "i", 0},
};

const astrid_wasm_host_module astrid_wasi_host_module = {
    "wasi_snapshot_preview1", wasi_funcs, sizeof wasi_funcs / sizeof wasi_funcs[0], 0};

/* The implementations (wasi.c) are reached only through the symbols the
 * compiled guest asks for at dlopen: keep them linked into every program
 * that links this table (the daemon, and the CLI installer's compile). */
P(uint32_t, fd_write, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out);
__attribute__((used)) static void *const wasi_keep_linked[] = {(void *)WASI(fd_write)};
