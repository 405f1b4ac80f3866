/* Glue generator for AOT-compiled modules (see glue.c). The symbols it
 * defines in every compiled module, looked up by the engine:
 *   unsigned astrid_glue_abi(void)                 == ASTRID_AOT_ABI
 *   size_t   astrid_glue_instance_size(void)
 *   void     astrid_glue_init_module(void)
 *   void     astrid_glue_instantiate(void *inst, void **import_instances)
 *   void     astrid_glue_free(void *inst)
 *   astrid_glue_calls[k].tramp(astrid_glue_calls[k].fn, inst, args, results)
 *                                              k-th function export (tramp NULL if
 *                                              its signature is not callable)
 *   astrid_glue_globals[k](inst) -> pointer to the k-th exported global
 *   wasm_rt_memory_t *astrid_glue_memory(inst) the memory host calls see */
#ifndef ASTRID_CAPSULE_WASM_GLUE_H
#define ASTRID_CAPSULE_WASM_GLUE_H

#include "capsule/wasm/aot.h"

/* Write the glue to `path`; `header` is wasm2c's header file name;
 * `import_modules` are the distinct import module names, sorted bytewise
 * (wasm2c's order of instantiate parameters). */
int astrid_glue_write(const char *path, const char *header, const astrid_wasm_info *info,
                      const char *link_name, const char **import_modules, size_t nimport_modules,
                      astrid_err *err);

#endif
