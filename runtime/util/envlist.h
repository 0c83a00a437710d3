/* envlist.h - entries of an environment array ("NAME=value"), the one way
 * krun (the environment it sends) and krund (the tasks' environment) put a
 * variable into one: an entry replaces the entry of the same name.
 */
#ifndef KRUN_ENVLIST_H
#define KRUN_ENVLIST_H

#include <stddef.h>

/* The length of entry's name: the bytes before its '=', or all of it. */
size_t envlist_name_length (const char *entry);

/* The index of the entry of env[0..n) named like entry (entry may be
 * "NAME=value" or "NAME="), or -1. */
int envlist_find (char *const env[], size_t n, const char *entry);

/* Put entry into env, which holds *n entries and has room for one more: it
 * replaces the entry of the same name, else it is appended and *n grows.
 * The array holds the pointer (no copy).  Returns the entry it replaced (for
 * a caller that owns the entries to free), or NULL. */
char *envlist_put (char **env, size_t *n, char *entry);

#endif
