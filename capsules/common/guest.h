/* Host calls the first-party capsules need beyond what sdk/c/astrid.h
 * wraps: http-stream-*, trigger-hook, files, request-approval and process
 * spawn, lifted from their canonical-ABI results (docs/abi.md). Guest-only
 * (wasm32): included by the capsules as "../common/guest.c".
 * Ownership and errors follow the SDK: 0 or -1 with *err malloc'd (caller
 * frees); every returned buffer/string is the caller's to free().
 */
#ifndef CAPSULES_COMMON_GUEST_H
#define CAPSULES_COMMON_GUEST_H

#include <astrid.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int g_stream_start(const char *url, const char *method, const astrid_header *h, size_t nh,
                   const char *body, uint64_t *handle, uint16_t *status, char **err);
/* *len 0 (and *data NULL) at the end of the body. */
int g_stream_read(uint64_t handle, uint8_t **data, size_t *len, char **err);
void g_stream_close(uint64_t handle);

/* *data NUL-terminated; *len excludes the NUL. */
int g_read_file(const char *path, uint8_t **data, size_t *len, char **err);
int g_write_file(const char *path, const void *data, size_t len, char **err);
int g_readdir(const char *path, char ***names, size_t *count, char **err);
int g_stat(const char *path, uint64_t *size, bool *is_dir, char **err);

int g_request_approval(const char *action, const char *resource, bool *approved, char **err);

int g_spawn(const char *cmd, const char *const *args, size_t nargs, char **out, char **errout,
            int32_t *exit_code, char **err);

#endif
