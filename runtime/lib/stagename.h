/* stagename.h - what a staged file may be called, and how its content is
 * named (a SHA-256 in hex).  A leaf: the protocol checks announcements with
 * it without depending on staging itself (stage.h, the broker).
 */
#ifndef KRUN_STAGENAME_H
#define KRUN_STAGENAME_H

#include <stdbool.h>

#define STAGE_HASH_LEN 64 /* hex digits of a SHA-256 */

/* The longest name a staged file may have. */
#define STAGE_NAME_MAX 1024

/* Whether hex is a SHA-256 as stage_hash_file() writes it: 64 lower-case
 * hex digits. */
bool stage_hash_valid (const char *hex);

/* Whether name may name a staged file: relative, at most STAGE_NAME_MAX
 * bytes, parts separated by one '/', none of them empty, "." or "..". */
bool stage_name_valid (const char *name);

#endif
