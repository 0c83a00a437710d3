/* Unit tests of the wire protocol: round trips of every message, binary and
 * odd bytes, and a table of bad bodies the decoder must refuse. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "tests/tap.h"

/* Encode msg and decode it into out; 0 on success. */
static int round_trip (const struct protocol_msg *msg, struct protocol_msg *out)
{
    struct krun_error error = {{0}};
    size_t len;
    char *body = protocol_encode (msg, &len, &error);
    int rc;

    if (!body) {
        diag ("encode: %s", error.text);
        return -1;
    }
    rc = protocol_decode (body, len, out, &error);
    if (rc < 0)
        diag ("decode: %s", error.text);
    free (body);
    return rc;
}

static void test_simple_types (void)
{
    enum protocol_type types[] = {PROTOCOL_WHO, PROTOCOL_END, PROTOCOL_CANCEL};
    for (size_t i = 0; i < 3; i++) {
        struct protocol_msg msg = {.type = types[i], .job = "abc123"};
        struct protocol_msg out;
        ok (round_trip (&msg, &out) == 0 && out.type == types[i] &&
                (types[i] == PROTOCOL_WHO ? out.job == NULL
                                          : out.job && strcmp (out.job, "abc123") == 0),
            "%s round-trips", protocol_type_name (types[i]));
        protocol_msg_clear (&out);
    }
    struct protocol_msg task = {.type = PROTOCOL_TASK, .job = "j1"};
    struct protocol_msg out;
    task.task.rank = 224;
    task.task.attempt = 3;
    ok (round_trip (&task, &out) == 0 && out.type == PROTOCOL_TASK &&
            out.task.rank == 224 && out.task.attempt == 3 &&
            strcmp (out.job, "j1") == 0,
        "task round-trips with rank and attempt");
    protocol_msg_clear (&out);

    struct protocol_msg joined = {.type = PROTOCOL_JOINED};
    joined.joined.node = "node-7";
    joined.joined.local = 12;
    ok (round_trip (&joined, &out) == 0 && strcmp (out.joined.node, "node-7") == 0 &&
            out.joined.local == 12,
        "joined round-trips");
    protocol_msg_clear (&out);
}

static void test_here (void)
{
    int cores[] = {0, 2, -1, 7};
    struct protocol_msg msg = {.type = PROTOCOL_HERE}, out;
    msg.here.node = "a";
    msg.here.pid = 4242;
    msg.here.nslots = 4;
    msg.here.cores = cores;
    msg.here.busy = 2;
    msg.here.started_us = 1795371475334785LL;
    msg.here.version = "0.1.0";
    ok (round_trip (&msg, &out) == 0, "here round-trips");
    ok (out.here.nslots == 4 && out.here.cores[1] == 2 && out.here.cores[2] == -1 &&
            out.here.cores[3] == 7,
        "cores survive, -1 included");
    ok (out.here.pid == 4242 && out.here.busy == 2, "pid and busy survive");
    ok (out.here.started_us == 1795371475334785LL, "a microsecond time stamp is exact");
    is_str (out.here.version, "0.1.0", "version survives");
    protocol_msg_clear (&out);
}

static void test_announce (void)
{
    char *argv[] = {"./task", "a b", "q\"uote", "new\nline", "\xff\xfe non-utf8", ""};
    char *env[] = {"PATH=/usr/bin", "X=1=2"};
    int used_a[] = {0, 1}, used_b[] = {2};
    struct protocol_node nodes[] = {
        {.name = "a", .first_slot = 0, .nslots = 2, .nused = 2, .used = used_a},
        {.name = "b", .first_slot = 2, .nslots = 3, .nused = 1, .used = used_b},
    };
    struct protocol_msg msg = {.type = PROTOCOL_ANNOUNCE, .job = "j2"}, out;
    struct protocol_announce *a = &msg.announce;
    bool same = true;

    a->path = "/bin/task";
    a->argc = 6;
    a->argv = argv;
    a->envc = 2;
    a->env = env;
    a->cwd = "/home/u";
    a->size = 225;
    a->results_queue = "krun.job.j2.results";
    a->nnodes = 2;
    a->nodes = nodes;
    a->delivery_limit = 5;
    if (!ok (round_trip (&msg, &out) == 0, "announce round-trips"))
        return;
    for (int i = 0; i < 6; i++)
        same = same && strcmp (out.announce.argv[i], argv[i]) == 0;
    ok (out.announce.argc == 6 && same,
        "argv with spaces, quotes, newlines, non-UTF-8 bytes survives");
    ok (out.announce.envc == 2 && strcmp (out.announce.env[1], "X=1=2") == 0,
        "env survives");
    ok (out.announce.size == 225 && out.announce.delivery_limit == 5, "size and limit");
    is_str (out.announce.path, "/bin/task", "path");
    is_str (out.announce.cwd, "/home/u", "cwd");
    is_str (out.announce.results_queue, "krun.job.j2.results", "results queue");
    ok (out.announce.nnodes == 2 && out.announce.nodes[1].first_slot == 2 &&
            out.announce.nodes[1].nslots == 3 && out.announce.nodes[1].nused == 1 &&
            out.announce.nodes[1].used[0] == 2 && out.announce.nodes[0].nused == 2,
        "node table survives");
    protocol_msg_clear (&out);
}

static void test_result (void)
{
    enum protocol_status statuses[] = {PROTOCOL_EXITED, PROTOCOL_SIGNALED,
                                       PROTOCOL_FAILED};
    for (int i = 0; i < 3; i++) {
        struct protocol_msg msg = {.type = PROTOCOL_RESULT, .job = "j3"}, out;
        struct protocol_result *r = &msg.result;
        r->rank = 17;
        r->attempt = 2;
        r->node = "b";
        r->slot = 130;
        r->local = 2;
        r->core = -1;
        r->status = statuses[i];
        r->code = 9;
        r->start_us = 1000000;
        r->end_us = 6000123;
        r->error = statuses[i] == PROTOCOL_FAILED ? "cannot execute" : NULL;
        ok (round_trip (&msg, &out) == 0 && out.result.status == statuses[i] &&
                out.result.rank == 17 && out.result.attempt == 2 &&
                out.result.slot == 130 && out.result.local == 2 &&
                out.result.core == -1 && out.result.code == 9 &&
                out.result.end_us == 6000123 && strcmp (out.result.node, "b") == 0 &&
                (statuses[i] == PROTOCOL_FAILED
                     ? out.result.error && !strcmp (out.result.error, "cannot execute")
                     : out.result.error == NULL),
            "result with status %d round-trips", statuses[i]);
        protocol_msg_clear (&out);
    }
}

static void test_output (void)
{
    char data[1000];
    struct protocol_msg msg = {.type = PROTOCOL_OUTPUT, .job = "j4"}, out;
    struct krun_error error;
    size_t len;
    char *body;

    for (size_t i = 0; i < sizeof (data); i++)
        data[i] = (char)(i * 37);
    data[0] = '\0';
    data[1] = '\n';
    data[2] = (char)0xff;
    msg.output.rank = 5;
    msg.output.attempt = 1;
    msg.output.stream = 2;
    msg.output.data = data;
    msg.output.len = sizeof (data);
    body = protocol_encode (&msg, &len, &error);
    ok (body && protocol_decode (body, len, &out, &error) == 0, "output round-trips");
    ok (out.output.len == sizeof (data) &&
            memcmp (out.output.data, data, sizeof (data)) == 0,
        "binary payload with NUL, newline and 0xff is unchanged");
    ok (out.output.rank == 5 && out.output.stream == 2, "rank and stream");
    ok (out.output.data > body && out.output.data < body + len,
        "data borrows the body");
    protocol_msg_clear (&out);
    free (body);

    msg.output.len = 0;
    ok (round_trip (&msg, &out) == 0 && out.output.len == 0, "empty output chunk");
    protocol_msg_clear (&out);
}

static const struct {
    const char *body;
    int err;
    const char *what;
} bad_bodies[] = {
    {"", EPROTO, "empty body"},
    {"hello", EPROTO, "not JSON"},
    {"{\"v\":1,\"type\":\"task\",\"job\":\"j\",\"rank\":", EPROTO, "truncated JSON"},
    {"[1,2]", EPROTO, "a JSON array"},
    {"{\"type\":\"who\"}", EPROTO, "no version"},
    {"{\"v\":2,\"type\":\"who\"}", EPROTO, "version 2"},
    {"{\"v\":\"1\",\"type\":\"who\"}", EPROTO, "version as a string"},
    {"{\"v\":1,\"type\":\"nope\"}", EPROTO, "unknown type"},
    {"{\"v\":1}", EPROTO, "no type"},
    {"{\"v\":1,\"type\":\"task\",\"rank\":1,\"attempt\":1}", EPROTO,
     "task without job"},
    {"{\"v\":1,\"type\":\"task\",\"job\":\"j\",\"rank\":-1,\"attempt\":1}", EPROTO,
     "rank -1"},
    {"{\"v\":1,\"type\":\"task\",\"job\":\"j\",\"rank\":1.5,\"attempt\":1}", EPROTO,
     "rank 1.5"},
    {"{\"v\":1,\"type\":\"task\",\"job\":\"j\",\"rank\":\"3\",\"attempt\":1}", EPROTO,
     "rank as a string"},
    {"{\"v\":1,\"type\":\"task\",\"job\":\"j\",\"rank\":1e20,\"attempt\":1}", EPROTO,
     "rank 1e20"},
    {"{\"v\":1,\"type\":\"task\",\"job\":\"j\",\"rank\":1,\"attempt\":0}", EPROTO,
     "attempt 0"},
    {"{\"v\":1,\"type\":\"task\",\"job\":7,\"rank\":1,\"attempt\":1}", EPROTO,
     "job as a number"},
    {"{\"v\":1,\"type\":\"result\",\"job\":\"j\",\"rank\":1,\"attempt\":1,\"node\":"
     "\"a\","
     "\"slot\":0,\"local\":0,\"core\":0,\"status\":\"weird\",\"code\":0,\"start_us\":1,"
     "\"end_us\":2}",
     EPROTO, "unknown status"},
    {"{\"v\":1,\"type\":\"result\",\"job\":\"j\",\"rank\":1,\"attempt\":1,\"node\":"
     "\"a\","
     "\"slot\":0,\"local\":0,\"core\":0,\"status\":\"failed\",\"code\":127,\"start_"
     "us\":1,"
     "\"end_us\":2}",
     EPROTO, "failed result without error"},
    {"{\"v\":1,\"type\":\"output\",\"job\":\"j\",\"rank\":1,\"attempt\":1,\"stream\":"
     "1}",
     EPROTO, "output without the newline separator"},
    {"{\"v\":1,\"type\":\"output\",\"job\":\"j\",\"rank\":1,\"attempt\":1,\"stream\":3}"
     "\nx",
     EPROTO, "output stream 3"},
    {"{\"v\":1,\"type\":\"here\",\"node\":\"a\",\"pid\":1,\"cores\":[],\"busy\":0,"
     "\"started_us\":1,\"version\":\"x\"}",
     EPROTO, "here without slots"},
    {"{\"v\":1,\"type\":\"announce\",\"job\":\"j\",\"path\":\"/p\",\"argv\":[\"p\"],"
     "\"env\":[],\"cwd\":\"/\",\"size\":1,\"results_queue\":\"q\",\"delivery_limit\":1,"
     "\"nodes\":[{\"name\":\"a\",\"first_slot\":0,\"nslots\":2,\"used\":[2]}]}",
     EPROTO, "announce with a used slot beyond nslots"},
    {"{\"v\":1,\"type\":\"announce\",\"job\":\"j\",\"path\":\"/p\",\"argv\":[],"
     "\"env\":[],\"cwd\":\"/\",\"size\":1,\"results_queue\":\"q\",\"delivery_limit\":1,"
     "\"nodes\":[]}",
     EPROTO, "announce with empty argv"},
    {"{\"v\":1,\"type\":\"announce\",\"job\":\"j\",\"path\":\"/p\",\"argv\":[\"p\", 3],"
     "\"env\":[],\"cwd\":\"/\",\"size\":1,\"results_queue\":\"q\",\"delivery_limit\":1,"
     "\"nodes\":[]}",
     EPROTO, "announce with a number in argv"},
    {"{\"v\":1,\"type\":\"end\",\"job\":\"j\"}\ntrailing", EPROTO,
     "trailing bytes after a non-output message"},
};

static void test_bad_bodies (void)
{
    for (size_t i = 0; i < sizeof (bad_bodies) / sizeof (bad_bodies[0]); i++) {
        struct protocol_msg out;
        struct krun_error error = {{0}};
        errno = 0;
        int rc = protocol_decode (bad_bodies[i].body, strlen (bad_bodies[i].body), &out,
                                  &error);
        ok (rc < 0 && errno == bad_bodies[i].err && error.text[0], "refused: %s (%s)",
            bad_bodies[i].what, error.text);
        protocol_msg_clear (&out);
    }
    size_t big = PROTOCOL_MAX_BODY + 1;
    char *huge = malloc (big);
    struct protocol_msg out;
    memset (huge, ' ', big);
    errno = 0;
    ok (protocol_decode (huge, big, &out, NULL) < 0 && errno == E2BIG,
        "oversized: E2BIG");
    protocol_msg_clear (&out);
    free (huge);
}

static void test_bad_encodes (void)
{
    struct protocol_msg task = {.type = PROTOCOL_TASK, .job = "j"};
    struct protocol_msg nojob = {.type = PROTOCOL_END};
    struct protocol_msg result = {.type = PROTOCOL_RESULT, .job = "j"};
    struct protocol_msg output = {.type = PROTOCOL_OUTPUT, .job = "j"};
    struct protocol_msg announce = {.type = PROTOCOL_ANNOUNCE, .job = "j"};
    struct protocol_msg *bad[] = {&task, &nojob, &result, &output, &announce};
    const char *what[] = {"task with rank -1", "end without job",
                          "failed result without error", "output chunk over 64 KiB",
                          "announce without argv"};
    size_t len;

    task.task.rank = -1;
    task.task.attempt = 1;
    result.result.node = "a";
    result.result.attempt = 1;
    result.result.status = PROTOCOL_FAILED;
    output.output.attempt = 1;
    output.output.stream = 1;
    output.output.data = "x";
    output.output.len = PROTOCOL_MAX_OUTPUT_CHUNK + 1;
    announce.announce.path = "/p";
    announce.announce.cwd = "/";
    announce.announce.size = 1;
    announce.announce.results_queue = "q";
    announce.announce.delivery_limit = 1;
    for (size_t i = 0; i < 5; i++) {
        errno = 0;
        char *body = protocol_encode (bad[i], &len, NULL);
        ok (body == NULL && errno == EINVAL, "encode refuses %s", what[i]);
        free (body);
    }
}

static void test_names (void)
{
    char buf[128];
    is_str (protocol_task_queue ("abc", buf, sizeof (buf)), "krun.job.abc.tasks",
            "task queue name");
    is_str (protocol_results_queue ("abc", buf, sizeof (buf)), "krun.job.abc.results",
            "results queue name");
    is_str (protocol_type_name (PROTOCOL_ANNOUNCE), "announce", "type name");
    is_str (protocol_type_name ((enum protocol_type)99), "?", "unknown type name");
}

int main (void)
{
    plan (NO_PLAN);
    test_simple_types ();
    test_here ();
    test_announce ();
    test_result ();
    test_output ();
    test_bad_bodies ();
    test_bad_encodes ();
    test_names ();
    done_testing ();
    return exit_status ();
}
