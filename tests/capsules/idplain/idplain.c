/* idplain: tests/capsules/idprobe under another name and manifest (no
 * identity capability, no allow_prompt_injection). */
#define IDP_NAME "idplain"
#include "../idprobe/idprobe.c"
