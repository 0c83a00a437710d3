/* Unit tests of launcher/nodefilter.c. */
#include <errno.h>
#include <string.h>

#include "nodefilter.h"
#include "tests/tap.h"

int main (void)
{
    struct krun_error error;
    struct nodefilter *f;

    plan (NO_PLAN);
    f = nodefilter_create (NULL, NULL, &error);
    ok (f && nodefilter_keep ("any", f), "no list: every node is kept");
    nodefilter_add_provider_node (f, "a");
    nodefilter_add_provider_node (f, "b");
    ok (nodefilter_keep ("a", f) && nodefilter_keep ("b", f) &&
            !nodefilter_keep ("stale", f),
        "provider nodes: a daemon of another configuration is left out");
    nodefilter_destroy (f);

    f = nodefilter_create ("a,c", "c", &error);
    ok (f && nodefilter_keep ("a", f) && !nodefilter_keep ("b", f) &&
            !nodefilter_keep ("c", f),
        "--nodes a,c --exclude c keeps a only");
    nodefilter_add_provider_node (f, "b");
    ok (!nodefilter_keep ("a", f) && !nodefilter_keep ("b", f),
        "--nodes and the provider's nodes both apply");
    nodefilter_destroy (f);

    errno = 0;
    f = nodefilter_create ("a,,b", NULL, &error);
    ok (!f && errno == EINVAL && strstr (error.text, "--nodes"),
        "an empty name in --nodes is refused, naming the option");
    f = nodefilter_create (NULL, ",", &error);
    ok (!f && errno == EINVAL && strstr (error.text, "--exclude"),
        "an empty name in --exclude is refused");
    nodefilter_destroy (NULL);
    done_testing ();
}
