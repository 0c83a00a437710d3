/* Unit tests of envlist: replacing an entry of the same name, else
 * appending. */
#include <string.h>

#include "envlist.h"
#include "tests/tap.h"

int main (void)
{
    char *env[8] = {NULL};
    char a1[] = "A=1", b[] = "B=2", a3[] = "A=3", ab[] = "AB=4", empty[] = "C=";
    size_t n = 0;

    plan (NO_PLAN);
    is_int (envlist_name_length ("NAME=value"), 4, "the name ends at '='");
    is_int (envlist_name_length ("NAME"), 4, "or at the end");
    is_int (envlist_name_length ("=x"), 0, "an empty name");

    ok (envlist_put (env, &n, a1) == NULL && n == 1, "A=1 is appended");
    ok (envlist_put (env, &n, b) == NULL && n == 2, "B=2 is appended");
    ok (envlist_put (env, &n, ab) == NULL && n == 3,
        "AB=4 is another name than A: appended");
    ok (envlist_put (env, &n, a3) == a1 && n == 3 && env[0] == a3,
        "A=3 replaces A=1 in its place and hands back the old entry");
    ok (envlist_put (env, &n, empty) == NULL && n == 4, "C= (empty value) is appended");
    is_int (envlist_find (env, n, "B="), 1, "find B= by name");
    is_int (envlist_find (env, n, "B"), 1, "find B by a bare name");
    is_int (envlist_find (env, n, "AB=x"), 2, "find AB, not A");
    is_int (envlist_find (env, n, "C"), 3, "find an empty value");
    is_int (envlist_find (env, n, "D"), -1, "a name not there: -1");
    is_int (envlist_find (env, 1, "B"), -1, "only the first n entries count");
    done_testing ();
    return exit_status ();
}
