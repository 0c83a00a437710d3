/* stagename.c - see stagename.h. */
#include <string.h>

#include "stagename.h"

bool stage_hash_valid (const char *hex)
{
    size_t n = strspn (hex, "0123456789abcdef");
    return n == STAGE_HASH_LEN && hex[n] == '\0';
}

bool stage_name_valid (const char *name)
{
    size_t len = name ? strlen (name) : 0;

    if (len == 0 || len > STAGE_NAME_MAX || name[0] == '/')
        return false;
    for (const char *p = name; *p;) {
        size_t part = strcspn (p, "/");
        if (part == 0 || (part == 1 && p[0] == '.') ||
            (part == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += part;
        if (*p == '/' && !*++p)
            return false; /* a trailing '/' */
    }
    return true;
}
