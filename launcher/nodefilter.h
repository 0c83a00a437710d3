/* nodefilter.h - which nodes a job may use.  The provider says which nodes
 * are its own (the local provider: the configured nodes, or the default
 * node), and the user may narrow them down (--nodes a,b) or leave some out
 * (--exclude c).  A daemon of the pool that is none of these (a leftover of
 * another configuration with the same key) then takes no part.
 */
#ifndef KRUN_NODEFILTER_H
#define KRUN_NODEFILTER_H

#include <stdbool.h>

#include "error.h"

struct nodefilter;

/* A filter from comma-separated lists (each may be NULL: no restriction,
 * nothing excluded).  Returns it (caller must destroy) or NULL with errno
 * (EINVAL with errp for an empty name in a list, ENOMEM). */
struct nodefilter *nodefilter_create (const char *only, const char *exclude,
                                      struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void nodefilter_destroy (struct nodefilter *f);

/* Name one of the provider's nodes: once any is named, only those are
 * kept.  Returns 0, or -1 with errno ENOMEM. */
int nodefilter_add_provider_node (struct nodefilter *f, const char *name);

/* Whether the node may be used (arg: the filter; cpumap_filter()'s
 * signature). */
bool nodefilter_keep (const char *name, void *filter);

#endif
