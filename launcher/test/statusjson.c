/* Unit tests of `krun status --json`'s text (launcher/statusjson.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/statusjson.h"
#include "tests/tap.h"

int main (void)
{
    struct statusjson *s;
    char *text;

    plan (NO_PLAN);
    s = statusjson_create ();
    text = s ? statusjson_text (s) : NULL;
    is_str (text, "{\"running\":false,\"nodes\":[],\"jobs\":[]}\n",
            "nothing running: false, empty lists");
    free (text);

    char *jobs[] = {"8661c1249bf31a99", "1111222233334444"};
    struct presence_node n = {.name = "n1",
                              .pid = 123,
                              .nslots = 4,
                              .busy = 1,
                              .started_us = 1000000,
                              .version = "0.1",
                              .njobs = 2,
                              .jobs = jobs};
    struct jobqueue job = {.id = "8661c1249bf31a99", .queued = 3, .consumers = 4};
    ok (statusjson_add_node (s, &n, 61500000) == 0, "a node");
    n.name = "n\"2", n.njobs = 0, n.version = NULL;
    ok (statusjson_add_node (s, &n, 1000000) == 0, "another, its name quoted");
    ok (statusjson_add_job (s, &job) == 0, "a job");
    text = statusjson_text (s);
    is_str (text,
            "{\"running\":true,\"nodes\":[{\"name\":\"n1\",\"slots\":4,\"busy\":1,"
            "\"pid\":123,\"age_s\":60,\"jobs\":[\"8661c1249bf31a99\","
            "\"1111222233334444\"],\"version\":\"0.1\"},{\"name\":\"n\\\"2\","
            "\"slots\":4,\"busy\":1,\"pid\":123,\"age_s\":0,\"jobs\":[],"
            "\"version\":\"\"}],\"jobs\":[{\"id\":\"8661c1249bf31a99\",\"queued\":3,"
            "\"consumers\":4}]}\n",
            "nodes and jobs");
    free (text);
    statusjson_destroy (s);
    errno = ENOENT;
    statusjson_destroy (NULL);
    ok (errno == ENOENT, "destroy (NULL) keeps errno");
    done_testing ();
    return exit_status ();
}
