/* envlist.c - see envlist.h. */
#include <string.h>

#include "envlist.h"

size_t envlist_name_length (const char *entry)
{
    const char *eq = strchr (entry, '=');
    return eq ? (size_t)(eq - entry) : strlen (entry);
}

int envlist_find (char *const env[], size_t n, const char *entry)
{
    size_t len = envlist_name_length (entry);

    for (size_t i = 0; i < n; i++)
        if (strncmp (env[i], entry, len) == 0 && env[i][len] == '=')
            return (int)i;
    return -1;
}

char *envlist_put (char **env, size_t *n, char *entry)
{
    int i = envlist_find (env, *n, entry);
    char *old;

    if (i < 0) {
        env[(*n)++] = entry;
        return NULL;
    }
    old = env[i];
    env[i] = entry;
    return old;
}
