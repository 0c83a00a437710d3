/* Unit tests of the wire protocol (runtime/protocol.c): the exact wire form
 * of each message, round trips of every type field by field, odd bytes in
 * strings and payloads, limits, a table of bodies the decoder must refuse and
 * of messages the encoder must refuse, truncated or corrupted bodies, and
 * task messages of several ranks with their "results".
 *
 * JSON in the tables is written with single quotes for readability; json()
 * turns them into double quotes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "tests/tap.h"

#define LEN(a) (sizeof (a) / sizeof ((a)[0]))
#define MAX_TIME_US 9007199254740992LL /* 2^53 */
/* The job id of the examples in docs/protocol.md. */
#define JOB "8661c1249bf31a99"

/* A malloc'd copy of s with every ' replaced by ". */
static char *json (const char *s)
{
    char *copy = strdup (s);

    if (!copy)
        bail_out ("out of memory");
    for (char *p = copy; *p; p++)
        if (*p == '\'')
            *p = '"';
    return copy;
}

static bool same (const char *a, const char *b)
{
    return a && b && strcmp (a, b) == 0;
}

/* Encode msg and decode the body into out (which the caller clears).  The
 * body is returned in *bodyp (caller must free): output data borrows it. */
static int encode_decode (const struct protocol_msg *msg, struct protocol_msg *out,
                          char **bodyp)
{
    struct krun_error error = {{0}};
    size_t len;
    int rc;

    memset (out, 0, sizeof (*out));
    if (!(*bodyp = protocol_encode (msg, &len, &error))) {
        diag ("encode: %s", error.text);
        return -1;
    }
    if ((rc = protocol_decode (*bodyp, len, out, &error)) < 0)
        diag ("decode: %s", error.text);
    return rc;
}

/* The same for messages that borrow nothing from the body. */
static int round_trip (const struct protocol_msg *msg, struct protocol_msg *out)
{
    char *body = NULL;
    int rc = encode_decode (msg, out, &body);

    free (body);
    return rc;
}

/* Decode a body written with single quotes. */
static int decode_text (const char *text, struct protocol_msg *out,
                        struct krun_error *errp)
{
    char *body = json (text);
    int rc = protocol_decode (body, strlen (body), out, errp);

    free (body);
    return rc;
}

/* ---- valid messages of each type, shared by the tests ---- */

static int here_cores[] = {0, 2, -1, 7};
static char *announce_argv[] = {"./task", "--x", "a b"};
static char *announce_env[] = {"PATH=/usr/bin:/bin", "X=1=2"};
static int used_a[] = {0, 1}, used_b[] = {2};
static struct protocol_node announce_nodes[] = {
    {.name = "a", .first_slot = 0, .nslots = 2, .nused = 2, .used = used_a},
    {.name = "b", .first_slot = 2, .nslots = 3, .nused = 1, .used = used_b},
};
/* Item i of the "results" messages: rank 40 + i on slot 130 (node b). */
static struct protocol_result batch_item (int i)
{
    return (struct protocol_result){.rank = 40 + i,
                                    .attempt = 1,
                                    .node = "b",
                                    .slot = 130,
                                    .local = 2,
                                    .core = 5,
                                    .cpus = "5",
                                    .status = PROTOCOL_EXITED,
                                    .code = i,
                                    .start_us = 1795371475334785LL + i * 1000,
                                    .end_us = 1795371475335785LL + i * 1000};
}
static struct protocol_result results_one[1];

static struct protocol_msg good (enum protocol_type type)
{
    struct protocol_msg m = {.type = type};

    switch (type) {
        case PROTOCOL_WHO:
            m.who.nonce = "5f3a9c0e7b21d468";
            break;
        case PROTOCOL_CONFIRM:
            m.job = JOB;
            m.join.node = "a";
            break;
        case PROTOCOL_REFUSE:
            m.job = JOB;
            m.join = (struct protocol_join){.node = "a",
                                            .reason =
                                                "cannot stage: cannot create stage "
                                                "directory /x/cache: Not a directory"};
            break;
        case PROTOCOL_HERE:
            m.here = (struct protocol_here){.nonce = "5f3a9c0e7b21d468",
                                            .node = "a",
                                            .pid = 4242,
                                            .nslots = 4,
                                            .cores = here_cores,
                                            .busy = 2,
                                            .started_us = 1795371475334785LL,
                                            .version = "0.1.0"};
            break;
        case PROTOCOL_JOINED:
            m.joined = (struct protocol_joined){.node = "node-7", .local = 12};
            break;
        case PROTOCOL_ANNOUNCE:
            m.job = JOB;
            m.announce = (struct protocol_announce){
                .path = "/bin/task",
                .argc = LEN (announce_argv),
                .argv = announce_argv,
                .envc = LEN (announce_env),
                .env = announce_env,
                .cwd = "/home/u",
                .size = 225,
                .results_queue = "krun.job.8661c1249bf31a99.results",
                .nnodes = LEN (announce_nodes),
                .nodes = announce_nodes,
                .delivery_limit = 5,
            };
            break;
        case PROTOCOL_TASK:
            m.job = JOB;
            m.task = (struct protocol_task){.rank = 224, .attempt = 3};
            break;
        case PROTOCOL_RESULT:
            m.job = JOB;
            m.result = (struct protocol_result){
                .rank = 17,
                .attempt = 2,
                .node = "b",
                .slot = 130,
                .local = 2,
                .core = -1,
                .status = PROTOCOL_FAILED,
                .code = 127,
                .start_us = 1795371475334785LL,
                .end_us = 1795371480336012LL,
                .error = "exec /bin/task: No such file or directory"};
            break;
        case PROTOCOL_OUTPUT:
            m.job = JOB;
            m.output = (struct protocol_output){
                .rank = 5, .attempt = 1, .stream = 2, .data = "hi\n", .len = 3};
            break;
        case PROTOCOL_END:
        case PROTOCOL_CANCEL:
            m.job = JOB;
            break;
        case PROTOCOL_PROGRESS:
            m.job = JOB;
            m.progress = (struct protocol_progress){
                .rank = 5, .attempt = 1, .node = "a", .fraction = 0.25};
            break;
        case PROTOCOL_RESULTS:
            m.job = JOB;
            results_one[0] = batch_item (0);
            results_one[0].data = "42\n";
            results_one[0].data_len = 3;
            m.results = (struct protocol_results){.n = 1, .items = results_one};
            break;
    }
    return m;
}

/* ---- the wire form, exactly as docs/protocol.md shows it ---- */

static void test_wire_form (void)
{
    struct protocol_msg exited = good (PROTOCOL_RESULT);
    exited.result.status = PROTOCOL_EXITED;
    exited.result.code = 0;
    exited.result.core = 1;
    exited.result.error = "ignored: only failures carry an error";
    struct protocol_msg bound = exited;
    bound.result.cpus = "2-3";
    struct {
        struct protocol_msg msg;
        const char *body;
    } cases[] = {
        {good (PROTOCOL_WHO), "{'v':1,'type':'who','nonce':'5f3a9c0e7b21d468'}"},
        {good (PROTOCOL_HERE),
         "{'v':1,'type':'here','node':'a','pid':4242,'cores':[0,2,-1,7],'busy':2,"
         "'started_us':1795371475334785,'version':'0.1.0','nonce':'5f3a9c0e7b21d468'}"},
        {good (PROTOCOL_CONFIRM),
         "{'v':1,'type':'confirm','job':'" JOB "','node':'a'}"},
        {good (PROTOCOL_REFUSE),
         "{'v':1,'type':'refuse','job':'" JOB
         "','node':'a','reason':'cannot stage: cannot create stage directory /x/cache: "
         "Not a directory'}"},
        {good (PROTOCOL_JOINED), "{'v':1,'type':'joined','node':'node-7','local':12}"},
        {good (PROTOCOL_ANNOUNCE),
         "{'v':1,'type':'announce','job':'" JOB "','path':'/bin/task',"
         "'argv':['./task','--x','a b'],'env':['PATH=/usr/bin:/bin','X=1=2'],"
         "'cwd':'/home/u','size':225,"
         "'results_queue':'krun.job.8661c1249bf31a99.results','delivery_limit':5,"
         "'nodes':[{'name':'a','first_slot':0,'nslots':2,'used':[0,1]},"
         "{'name':'b','first_slot':2,'nslots':3,'used':[2]}]}"},
        {good (PROTOCOL_TASK),
         "{'v':1,'type':'task','job':'" JOB "','rank':224,'attempt':3}"},
        {good (PROTOCOL_RESULT),
         "{'v':1,'type':'result','job':'" JOB "','rank':17,'attempt':2,'node':'b',"
         "'slot':130,'local':2,'core':-1,'status':'failed','code':127,"
         "'start_us':1795371475334785,'end_us':1795371480336012,'error':'exec "
         "/bin/task: No such file or directory'}"},
        {exited,
         "{'v':1,'type':'result','job':'" JOB "','rank':17,'attempt':2,'node':'b',"
         "'slot':130,'local':2,'core':1,'status':'exited','code':0,"
         "'start_us':1795371475334785,'end_us':1795371480336012}"},
        {bound,
         "{'v':1,'type':'result','job':'" JOB "','rank':17,'attempt':2,'node':'b',"
         "'slot':130,'local':2,'core':1,'status':'exited','code':0,"
         "'start_us':1795371475334785,'end_us':1795371480336012,'cpus':'2-3'}"},
        {good (PROTOCOL_OUTPUT), "{'v':1,'type':'output','job':'" JOB
                                 "','rank':5,'attempt':1,'stream':2}\nhi\n"},
        {good (PROTOCOL_END), "{'v':1,'type':'end','job':'" JOB "'}"},
        {good (PROTOCOL_CANCEL), "{'v':1,'type':'cancel','job':'" JOB "'}"},
    };

    for (size_t i = 0; i < LEN (cases); i++) {
        struct krun_error error = {{0}};
        char *want = json (cases[i].body);
        size_t len = 0;
        char *body = protocol_encode (&cases[i].msg, &len, &error);
        ok (body && len == strlen (want) && memcmp (body, want, len) == 0,
            "%s encodes as documented", protocol_type_name (cases[i].msg.type));
        if (body && (len != strlen (want) || memcmp (body, want, len) != 0))
            diag ("got  %.*s\nwant %s", (int)len, body, want);
        free (body);
        free (want);
    }
}

/* ---- round trips, field by field ---- */

static void test_round_trip_simple (void)
{
    enum protocol_type types[] = {PROTOCOL_WHO, PROTOCOL_END, PROTOCOL_CANCEL};
    struct protocol_msg out;

    for (size_t i = 0; i < LEN (types); i++) {
        struct protocol_msg msg = good (types[i]);
        msg.job = "abc123"; /* who has no job: the encoder leaves it out */
        ok (round_trip (&msg, &out) == 0 && out.type == types[i] &&
                (types[i] == PROTOCOL_WHO ? out.job == NULL : same (out.job, "abc123")),
            "%s round-trips", protocol_type_name (types[i]));
        protocol_msg_clear (&out);
    }

    struct protocol_msg task = good (PROTOCOL_TASK);
    ok (round_trip (&task, &out) == 0 && out.type == PROTOCOL_TASK &&
            same (out.job, JOB) && out.task.rank == 224 && out.task.attempt == 3,
        "task round-trips: job, rank, attempt");
    protocol_msg_clear (&out);

    task.task.rank = INT_MAX;
    task.task.attempt = INT_MAX;
    ok (round_trip (&task, &out) == 0 && out.task.rank == INT_MAX &&
            out.task.attempt == INT_MAX,
        "task with rank and attempt INT_MAX round-trips");
    protocol_msg_clear (&out);

    struct protocol_msg joined = good (PROTOCOL_JOINED);
    ok (round_trip (&joined, &out) == 0 && out.type == PROTOCOL_JOINED &&
            out.job == NULL && same (out.joined.node, "node-7") &&
            out.joined.local == 12,
        "joined round-trips: node, local");
    protocol_msg_clear (&out);
}

static void test_round_trip_here (void)
{
    struct protocol_msg msg = good (PROTOCOL_HERE), out;

    if (!ok (round_trip (&msg, &out) == 0 && out.type == PROTOCOL_HERE,
             "here round-trips"))
        return;
    ok (out.job == NULL && same (out.here.node, "a"), "here: node, no job");
    is_int (out.here.pid, 4242, "here: pid");
    ok (out.here.nslots == 4 && out.here.cores[0] == 0 && out.here.cores[1] == 2 &&
            out.here.cores[2] == -1 && out.here.cores[3] == 7,
        "here: nslots and cores, -1 included");
    is_int (out.here.busy, 2, "here: busy");
    ok (out.here.started_us == 1795371475334785LL, "here: started_us exact");
    is_str (out.here.version, "0.1.0", "here: version");
    is_str (out.here.nonce, "5f3a9c0e7b21d468", "here: the nonce of the who answered");
    protocol_msg_clear (&out);
}

static void test_round_trip_presence (void)
{
    struct protocol_msg msg = good (PROTOCOL_WHO), out;
    struct krun_error error = {{0}};

    ok (round_trip (&msg, &out) == 0 && out.type == PROTOCOL_WHO &&
            same (out.who.nonce, "5f3a9c0e7b21d468"),
        "who round-trips with its nonce");
    protocol_msg_clear (&out);
    msg = good (PROTOCOL_CONFIRM);
    ok (round_trip (&msg, &out) == 0 && out.type == PROTOCOL_CONFIRM &&
            same (out.job, JOB) && same (out.join.node, "a") && !out.join.reason,
        "confirm round-trips: job, node");
    protocol_msg_clear (&out);
    msg = good (PROTOCOL_REFUSE);
    ok (round_trip (&msg, &out) == 0 && out.type == PROTOCOL_REFUSE &&
            same (out.job, JOB) && same (out.join.node, "a") &&
            same (out.join.reason,
                  "cannot stage: cannot create stage directory /x/cache: Not a "
                  "directory"),
        "refuse round-trips: job, node, reason");
    protocol_msg_clear (&out);
    errno = 0;
    ok (decode_text ("{'v':1,'type':'who'}", &out, &error) < 0 && errno == EPROTO &&
            strstr (error.text, "'nonce'"),
        "a who without a nonce is refused: %s", error.text);
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'refuse','job':'j','node':'a'}", &out, &error) <
                0 &&
            strstr (error.text, "'reason'"),
        "a refusal without a reason is refused: %s", error.text);
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'confirm','node':'a'}", &out, &error) < 0 &&
            strstr (error.text, "'job'"),
        "a confirmation without a job is refused: %s", error.text);
    protocol_msg_clear (&out);
    msg = good (PROTOCOL_HERE);
    msg.here.nonce = NULL;
    ok (protocol_encode (&msg, NULL, &error) == NULL && errno == EINVAL,
        "a here without a nonce is not encoded");
}

static void test_round_trip_announce (void)
{
    struct protocol_msg msg = good (PROTOCOL_ANNOUNCE), out;
    const struct protocol_announce *a = &out.announce;
    bool argv_same = true;

    if (!ok (round_trip (&msg, &out) == 0 && out.type == PROTOCOL_ANNOUNCE,
             "announce round-trips"))
        return;
    is_str (out.job, JOB, "announce: job");
    is_str (a->path, "/bin/task", "announce: path");
    for (int i = 0; i < a->argc && i < (int)LEN (announce_argv); i++)
        argv_same = argv_same && same (a->argv[i], announce_argv[i]);
    ok (a->argc == 3 && argv_same && a->argv[3] == NULL,
        "announce: argv, NULL-terminated");
    ok (a->envc == 2 && same (a->env[0], "PATH=/usr/bin:/bin") &&
            same (a->env[1], "X=1=2") && a->env[2] == NULL,
        "announce: env");
    is_str (a->cwd, "/home/u", "announce: cwd");
    is_int (a->size, 225, "announce: size");
    is_str (a->results_queue, "krun.job.8661c1249bf31a99.results",
            "announce: results_queue");
    is_int (a->delivery_limit, 5, "announce: delivery_limit");
    ok (a->nnodes == 2 && same (a->nodes[0].name, "a") && a->nodes[0].first_slot == 0 &&
            a->nodes[0].nslots == 2 && a->nodes[0].nused == 2 &&
            a->nodes[0].used[0] == 0 && a->nodes[0].used[1] == 1,
        "announce: node 0");
    ok (a->nnodes == 2 && same (a->nodes[1].name, "b") && a->nodes[1].first_slot == 2 &&
            a->nodes[1].nslots == 3 && a->nodes[1].nused == 1 &&
            a->nodes[1].used[0] == 2,
        "announce: node 1");
    protocol_msg_clear (&out);

    /* Empty env, a node taking no part, no nodes at all. */
    struct protocol_node idle = {.name = "c", .first_slot = 5, .nslots = 1};
    msg.announce.envc = 0;
    msg.announce.env = NULL;
    msg.announce.nnodes = 1;
    msg.announce.nodes = &idle;
    ok (round_trip (&msg, &out) == 0 && a->envc == 0 && a->env && a->env[0] == NULL &&
            a->nnodes == 1 && a->nodes[0].nused == 0 && a->nodes[0].first_slot == 5,
        "announce with empty env and an unused node round-trips");
    protocol_msg_clear (&out);
    msg.announce.nnodes = 0;
    msg.announce.nodes = NULL;
    ok (round_trip (&msg, &out) == 0 && a->nnodes == 0 && a->program_sha256 == NULL,
        "announce with no nodes round-trips, no program_sha256");
    protocol_msg_clear (&out);
    /* A staged program: the optional hash comes through. */
    char hash[] = "e05581bf70ff193788a3493b26fd97035fd3870b61dbae96ba6219b51811b725";
    msg.announce.program_sha256 = hash;
    ok (round_trip (&msg, &out) == 0 && a->program_sha256 &&
            strcmp (a->program_sha256, hash) == 0,
        "announce with program_sha256 round-trips");
    protocol_msg_clear (&out);
    ok (round_trip (&msg, &out) == 0 && a->nstaged == 0 && !a->staged_files &&
            !a->staged_cwd,
        "announce without --stage files decodes with none");
    protocol_msg_clear (&out);
    /* --stage files: names, hashes and the working-directory flag. */
    char *files[] = {"in.dat", "data/x.dat"}, *hashes[] = {hash, hash};
    msg.announce.nstaged = 2;
    msg.announce.staged_files = files;
    msg.announce.staged_sha256 = hashes;
    msg.announce.staged_cwd = true;
    ok (round_trip (&msg, &out) == 0 && a->nstaged == 2 &&
            same (a->staged_files[0], "in.dat") &&
            same (a->staged_files[1], "data/x.dat") &&
            same (a->staged_sha256[1], hash) && a->staged_cwd,
        "announce with staged files round-trips");
    protocol_msg_clear (&out);
    files[1] = "../x.dat";
    ok (protocol_encode (&msg, &(size_t){0}, NULL) == NULL && errno == EINVAL,
        "encode refuses a staged name leaving the directory");
    msg.announce.nstaged = 0;
    msg.announce.staged_files = msg.announce.staged_sha256 = NULL;
    msg.announce.staged_cwd = false;
}

static void test_round_trip_result (void)
{
    enum protocol_status statuses[] = {PROTOCOL_EXITED, PROTOCOL_SIGNALED,
                                       PROTOCOL_FAILED};
    const char *names[] = {"exited", "signaled", "failed"};

    for (size_t i = 0; i < LEN (statuses); i++) {
        struct protocol_msg msg = good (PROTOCOL_RESULT), out;
        const struct protocol_result *r = &out.result;
        msg.result.status = statuses[i];
        msg.result.code = statuses[i] == PROTOCOL_SIGNALED ? 9 : -3;
        if (!ok (round_trip (&msg, &out) == 0 && out.type == PROTOCOL_RESULT,
                 "%s result round-trips", names[i]))
            continue;
        ok (same (out.job, JOB) && r->rank == 17 && r->attempt == 2 &&
                same (r->node, "b") && r->slot == 130 && r->local == 2 && r->core == -1,
            "%s result: job, rank, attempt, node, slot, local, core", names[i]);
        ok (r->status == statuses[i] && r->code == msg.result.code &&
                r->start_us == 1795371475334785LL && r->end_us == 1795371480336012LL,
            "%s result: status, code, start_us, end_us", names[i]);
        ok (statuses[i] == PROTOCOL_FAILED
                ? same (r->error, "exec /bin/task: No such file or directory")
                : r->error == NULL,
            "%s result: error %s", names[i],
            statuses[i] == PROTOCOL_FAILED ? "kept" : "absent");
        protocol_msg_clear (&out);
    }

    struct protocol_msg msg = good (PROTOCOL_RESULT), out;
    msg.result.cpus = "0,4-5";
    ok (round_trip (&msg, &out) == 0 && same (out.result.cpus, "0,4-5"),
        "result with the slot's cpus round-trips");
    protocol_msg_clear (&out);
    msg = good (PROTOCOL_RESULT);
    ok (round_trip (&msg, &out) == 0 && out.result.cpus == NULL,
        "result without cpus (an older daemon): NULL");
    protocol_msg_clear (&out);
    msg = good (PROTOCOL_RESULT);
    msg.result.code = INT_MIN;
    msg.result.error = "";
    ok (round_trip (&msg, &out) == 0 && out.result.code == INT_MIN &&
            same (out.result.error, ""),
        "result with code INT_MIN and an empty error round-trips");
    protocol_msg_clear (&out);
}

static void test_time_stamps (void)
{
    int64_t stamps[] = {0, 1, 1795371475334785LL, MAX_TIME_US - 1, MAX_TIME_US};

    for (size_t i = 0; i < LEN (stamps); i++) {
        struct protocol_msg msg = good (PROTOCOL_RESULT), out;
        msg.result.start_us = stamps[i];
        msg.result.end_us = stamps[LEN (stamps) - 1 - i];
        ok (round_trip (&msg, &out) == 0 && out.result.start_us == stamps[i] &&
                out.result.end_us == stamps[LEN (stamps) - 1 - i],
            "time stamp %lld is exact", (long long)stamps[i]);
        protocol_msg_clear (&out);
    }
}

/* ---- odd bytes ---- */

static char *odd_strings[] = {
    "",
    "q\"uote's",
    "back\\slash",
    "new\nline and\r\ncrlf",
    "tab\there",
    "\x01\x02\x1f\x7f control",
    "\xff\xfe\x80 not UTF-8",
    "\xc3\xa9t\xc3\xa9 UTF-8",
    "\xed\xa0\x80 a lone surrogate's bytes",
    "\\u0000 spelled out, not a NUL",
    "\\\\u0000 after an escaped backslash",
    "{\"v\":1,\"type\":\"who\"}",
};

static void test_odd_strings (void)
{
    for (size_t i = 0; i < LEN (odd_strings); i++) {
        char *s = odd_strings[i];
        char node[64];
        char *argv[] = {"./task", s};
        char *env[] = {s};
        struct protocol_node nodes[] = {{.name = node, .nslots = 1}};
        struct protocol_msg msg = good (PROTOCOL_ANNOUNCE), out;

        /* Names must not be empty: prefix them. */
        snprintf (node, sizeof (node), "n%s", s);
        msg.announce.argv = argv;
        msg.announce.argc = 2;
        msg.announce.env = env;
        msg.announce.envc = 1;
        msg.announce.nodes = nodes;
        msg.announce.nnodes = 1;
        ok (round_trip (&msg, &out) == 0 && same (out.announce.argv[1], s) &&
                same (out.announce.env[0], s) &&
                same (out.announce.nodes[0].name, node),
            "string %zu survives in argv, env and a node name", i);
        protocol_msg_clear (&out);

        msg = good (PROTOCOL_RESULT);
        msg.result.error = s;
        msg.result.node = node;
        msg.job = node;
        ok (round_trip (&msg, &out) == 0 && same (out.result.error, s) &&
                same (out.result.node, node) && same (out.job, node),
            "string %zu survives in a result's error, node and job", i);
        protocol_msg_clear (&out);
    }
}

static void test_output (void)
{
    char data[1024];
    struct protocol_msg msg = good (PROTOCOL_OUTPUT), out;
    struct krun_error error = {{0}};
    size_t len;
    char *body;

    for (size_t i = 0; i < sizeof (data); i++)
        data[i] = (char)(i * 37 + i / 256);
    memcpy (data, "\0\n\xff\n{\"v\":1}\n\0", 13);
    msg.output.data = data;
    msg.output.len = sizeof (data);
    body = protocol_encode (&msg, &len, &error);
    if (!ok (body && protocol_decode (body, len, &out, &error) == 0,
             "output with a binary payload round-trips"))
        diag ("%s", error.text);
    ok (out.output.len == sizeof (data) && out.output.data &&
            memcmp (out.output.data, data, sizeof (data)) == 0,
        "payload with NULs, newlines, 0xff and JSON is unchanged");
    ok (same (out.job, JOB) && out.output.rank == 5 && out.output.attempt == 1 &&
            out.output.stream == 2,
        "output: job, rank, attempt, stream");
    ok (out.output.data > body && out.output.data + out.output.len == body + len,
        "output data borrows the body");
    protocol_msg_clear (&out);
    free (body);

    msg.output.len = 0;
    msg.output.data = NULL;
    msg.output.stream = 1;
    ok (round_trip (&msg, &out) == 0 && out.output.len == 0 && out.output.stream == 1,
        "an empty chunk round-trips");
    protocol_msg_clear (&out);

    char *big = malloc (PROTOCOL_MAX_OUTPUT_CHUNK);
    if (!big)
        bail_out ("out of memory");
    memset (big, 'x', PROTOCOL_MAX_OUTPUT_CHUNK);
    msg.output.data = big;
    msg.output.len = PROTOCOL_MAX_OUTPUT_CHUNK;
    ok (encode_decode (&msg, &out, &body) == 0 &&
            out.output.len == PROTOCOL_MAX_OUTPUT_CHUNK &&
            memcmp (out.output.data, big, PROTOCOL_MAX_OUTPUT_CHUNK) == 0,
        "a chunk of exactly PROTOCOL_MAX_OUTPUT_CHUNK bytes round-trips");
    protocol_msg_clear (&out);
    free (body);
    free (big);

    /* A decoder takes larger chunks than an encoder makes (room to grow). */
    const char *head =
        "{\"v\":1,\"type\":\"output\",\"job\":\"j\",\"rank\":0,"
        "\"attempt\":1,\"stream\":1}\n";
    size_t payload = 3 * PROTOCOL_MAX_OUTPUT_CHUNK;
    len = strlen (head) + payload;
    if (!(body = malloc (len)))
        bail_out ("out of memory");
    memcpy (body, head, strlen (head));
    memset (body + strlen (head), '\n', payload);
    ok (protocol_decode (body, len, &out, NULL) == 0 && out.output.len == payload,
        "the decoder takes a payload over PROTOCOL_MAX_OUTPUT_CHUNK");
    protocol_msg_clear (&out);
    free (body);
}

/* The body is not NUL-terminated: valgrind sees any read past its end. */
static void test_unterminated (void)
{
    struct protocol_msg msg = good (PROTOCOL_ANNOUNCE), out;
    size_t len;
    char *body = protocol_encode (&msg, &len, NULL);
    char *exact = body ? malloc (len) : NULL;

    if (!exact)
        bail_out ("cannot encode");
    memcpy (exact, body, len);
    ok (protocol_decode (exact, len, &out, NULL) == 0 && out.announce.argc == 3,
        "a body without a terminating NUL decodes");
    protocol_msg_clear (&out);
    free (exact);
    free (body);
}

/* ---- bodies that are odd but valid ---- */

static void test_accepted (void)
{
    struct krun_error error = {{0}};
    struct protocol_msg out;

    ok (decode_text ("{'v':1,'type':'who','nonce':'n','future':{'x':[1,{'y':null}]},"
                     "'z':true}",
                     &out, &error) == 0 &&
            out.type == PROTOCOL_WHO,
        "unknown fields are ignored");
    protocol_msg_clear (&out);
    ok (decode_text (" { 'attempt' : 1.0 , 'rank' : 3E0, 'job':'j','type':'task',"
                     "'v':1.0 } \n",
                     &out, &error) == 0 &&
            out.task.rank == 3 && out.task.attempt == 1,
        "any field order, whitespace, 3E0 and 1.0 as integers, a final newline");
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'task','job':'j','rank':-0,'attempt':1}", &out,
                     &error) == 0 &&
            out.task.rank == 0,
        "-0 is rank 0");
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'end','job':'\\u00e9\\ud83d\\ude00\\n'}", &out,
                     &error) == 0 &&
            same (out.job, "\xc3\xa9\xf0\x9f\x98\x80\n"),
        "\\u escapes, a surrogate pair included, become UTF-8");
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'end','job':'a\\\\u0000b'}", &out, &error) == 0 &&
            same (out.job, "a\\u0000b"),
        "an escaped backslash before u0000 is not a NUL");
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a',"
                     "'slot':0,'local':0,'core':0,'status':'exited','code':0,"
                     "'start_us':1,'end_us':2,'error':'stray'}",
                     &out, &error) == 0 &&
            out.result.error == NULL,
        "an error field on an exited result is ignored");
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'task','job':'j','rank':1,'rank':-1,'attempt':1}",
                     &out, &error) == 0 &&
            out.task.rank == 1,
        "of a repeated field the first counts");
    protocol_msg_clear (&out);
}

/* ---- bodies the decoder must refuse ---- */

static const struct {
    const char *body; /* single quotes stand for double quotes */
    int err;
    const char *in_message; /* the error text must contain this */
} bad_bodies[] = {
    {"", EPROTO, "empty"},
    {"hello", EPROTO, "not valid JSON"},
    {"\n", EPROTO, "not valid JSON"},
    {"   ", EPROTO, "not valid JSON"},
    {"{'v':1,'type':'task','job':'j','rank':", EPROTO, "not valid JSON"},
    {"{'v':1,'type':'who'", EPROTO, "not valid JSON"},
    {"{'v':1,'type':'who'} x", EPROTO, "not valid JSON"},
    {"{'v':1,'type':'who'}{}", EPROTO, "not valid JSON"},
    {"{'v':1,'type':'task','job':'j','rank':NaN,'attempt':1}", EPROTO,
     "not valid JSON"},
    {"[1,2]", EPROTO, "not a JSON object"},
    {"'who'", EPROTO, "not a JSON object"},
    {"{'type':'who'}", EPROTO, "version"},
    {"{'v':2,'type':'who'}", EPROTO, "version 2, expected 1"},
    {"{'v':0,'type':'who'}", EPROTO, "version 0"},
    {"{'v':'1','type':'who'}", EPROTO, "version"},
    {"{'v':1.5,'type':'who'}", EPROTO, "version 1.5"},
    {"{'v':null,'type':'who'}", EPROTO, "version"},
    {"{'v':1}", EPROTO, "'type'"},
    {"{'v':1,'type':'nope'}", EPROTO, "'type'"},
    {"{'v':1,'type':'WHO'}", EPROTO, "'type'"},
    {"{'v':1,'type':3}", EPROTO, "'type'"},
    {"{'v':1,'type':'task','rank':1,'attempt':1}", EPROTO,
     "task message: field 'job' missing"},
    {"{'v':1,'type':'end','job':7}", EPROTO, "'job'"},
    {"{'v':1,'type':'cancel','job':''}", EPROTO, "'job'"},
    {"{'v':1,'type':'task','job':'j','rank':-1,'attempt':1}", EPROTO,
     "task message: field 'rank' missing or not a non-negative integer"},
    {"{'v':1,'type':'task','job':'j','rank':1.5,'attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','rank':'3','attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','rank':1e20,'attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','rank':1e400,'attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','rank':2147483648,'attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','rank':null,'attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','rank':true,'attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','rank':[1],'attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','attempt':1}", EPROTO, "'rank'"},
    {"{'v':1,'type':'task','job':'j','rank':1,'attempt':0}", EPROTO,
     "field 'attempt' missing or not a positive integer"},
    {"{'v':1,'type':'task','job':'j','rank':1}", EPROTO, "'attempt'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'status':'weird','code':0,'start_us':1,'end_us':2}",
     EPROTO, "'status'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'code':0,'start_us':1,'end_us':2}",
     EPROTO, "'status'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'status':'failed','code':127,'start_us':1,'end_us':2}",
     EPROTO, "'error'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'status':'failed','code':127,'start_us':1,'end_us':2,"
     "'error':5}",
     EPROTO, "'error'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':-2,'status':'exited','code':0,'start_us':1,'end_us':2}",
     EPROTO, "'core'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':-1,"
     "'local':0,'core':0,'status':'exited','code':0,'start_us':1,'end_us':2}",
     EPROTO, "'slot'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'','slot':0,"
     "'local':0,'core':0,'status':'exited','code':0,'start_us':1,'end_us':2}",
     EPROTO, "'node'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'status':'exited','code':0.5,'start_us':1,'end_us':2}",
     EPROTO, "'code'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'status':'exited','code':-2147483649,'start_us':1,"
     "'end_us':2}",
     EPROTO, "'code'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'status':'exited','code':0,'start_us':-1,'end_us':2}",
     EPROTO, "'start_us'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'status':'exited','code':0,'start_us':1,"
     "'end_us':9007199254740994}",
     EPROTO, "'end_us'"},
    {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
     "'local':0,'core':0,'status':'exited','code':0,'start_us':1,'end_us':'2'}",
     EPROTO, "'end_us'"},
    {"{'v':1,'type':'output','job':'j','rank':1,'attempt':1,'stream':1}", EPROTO,
     "no newline"},
    {"{'v':1,'type':'output','job':'j','rank':1,'attempt':1,'stream':3}\nx", EPROTO,
     "'stream' missing or not an integer from 1 to 2"},
    {"{'v':1,'type':'output','job':'j','rank':1,'attempt':1,'stream':0}\nx", EPROTO,
     "'stream'"},
    {"{'v':1,'type':'output','job':'j','rank':-1,'attempt':1,'stream':1}\nx", EPROTO,
     "'rank'"},
    {"{'v':1,'type':'here','node':'a','pid':1,'cores':[],'busy':0,'started_us':1,"
     "'version':'x'}",
     EPROTO, "'cores'"},
    {"{'v':1,'type':'here','node':'a','pid':1,'cores':[0,-2],'busy':0,"
     "'started_us':1,'version':'x'}",
     EPROTO, "'cores[1]'"},
    {"{'v':1,'type':'here','node':'a','pid':1,'cores':[0,1],'busy':3,'started_us':1,"
     "'version':'x'}",
     EPROTO, "'busy'"},
    {"{'v':1,'type':'here','node':'a','pid':0,'cores':[0],'busy':0,'started_us':1,"
     "'version':'x'}",
     EPROTO, "'pid'"},
    {"{'v':1,'type':'here','node':'a','pid':1,'cores':[0],'busy':0,'version':'x'}",
     EPROTO, "'started_us'"},
    {"{'v':1,'type':'here','node':'a','pid':1,'cores':[0],'busy':0,'started_us':1}",
     EPROTO, "'version'"},
    {"{'v':1,'type':'here','pid':1,'cores':[0],'busy':0,'started_us':1,'version':'x'}",
     EPROTO, "'node'"},
    {"{'v':1,'type':'joined','node':'a','local':-1}", EPROTO, "'local'"},
    {"{'v':1,'type':'joined','local':1}", EPROTO, "'node'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,'nodes':[],"
     "'program_sha256':'abc'}",
     EPROTO, "'program_sha256' missing or not 64 hex digits"},
#define ANNOUNCE_HEAD                                                                 \
    "{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/'," \
    "'size':1,'results_queue':'q','delivery_limit':1,'nodes':[],"
#define H64 "e05581bf70ff193788a3493b26fd97035fd3870b61dbae96ba6219b51811b725"
    {ANNOUNCE_HEAD "'staged_files':['a','b'],'staged_sha256':['" H64 "']}", EPROTO,
     "'staged_sha256' missing or not as many entries as staged_files"},
    {ANNOUNCE_HEAD "'staged_files':['a'],'staged_sha256':['" H64 "','" H64 "']}",
     EPROTO, "'staged_sha256' missing or not as many entries as staged_files"},
    {ANNOUNCE_HEAD "'staged_files':['a']}", EPROTO, "'staged_sha256'"},
    {ANNOUNCE_HEAD "'staged_sha256':['" H64 "']}", EPROTO,
     "'staged_files' missing or not present with staged_sha256"},
    {ANNOUNCE_HEAD "'staged_files':['/etc/passwd'],'staged_sha256':['" H64 "']}",
     EPROTO, "'staged_files[0]' missing or not distinct relative names"},
    {ANNOUNCE_HEAD "'staged_files':['a/../../b'],'staged_sha256':['" H64 "']}", EPROTO,
     "'staged_files[0]'"},
    {ANNOUNCE_HEAD "'staged_files':['a','a'],'staged_sha256':['" H64 "','" H64 "']}",
     EPROTO, "'staged_files[1]'"},
    {ANNOUNCE_HEAD "'staged_files':['a'],'staged_sha256':['ABC']}", EPROTO,
     "'staged_sha256[0]' missing or not 64 hex digits"},
    {ANNOUNCE_HEAD "'staged_files':[],'staged_sha256':[]}", EPROTO, "'staged_files'"},
    {ANNOUNCE_HEAD "'staged_cwd':1}", EPROTO,
     "'staged_cwd' missing or not true or false"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,"
     "'nodes':[{'name':'a','first_slot':0,'nslots':2,'used':[2]}]}",
     EPROTO, "'nodes[0].used[0]' missing or not an integer from 0 to 1"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,"
     "'nodes':[{'name':'a','first_slot':0,'nslots':2,'used':[1,1]}]}",
     EPROTO, "'nodes[0].used'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,"
     "'nodes':[{'name':'a','first_slot':0,'nslots':2,'used':[0,1,0]}]}",
     EPROTO, "'nodes[0].used'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,"
     "'nodes':[{'name':'a','first_slot':0,'nslots':1,'used':[]},"
     "{'name':'b','first_slot':1,'nslots':0,'used':[]}]}",
     EPROTO, "'nodes[1].nslots'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,"
     "'nodes':[{'name':'a','first_slot':2147483647,'nslots':1,'used':[]}]}",
     EPROTO, "'nodes[0].nslots'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,'nodes':[1]}",
     EPROTO, "'nodes[0]' missing or not an object"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,'nodes':{}}",
     EPROTO, "'nodes'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1}",
     EPROTO, "'nodes'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':[],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,'nodes':[]}",
     EPROTO, "'argv'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p',3],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,'nodes':[]}",
     EPROTO, "'argv[1]' missing or not a string"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[null],"
     "'cwd':'/','size':1,'results_queue':'q','delivery_limit':1,'nodes':[]}",
     EPROTO, "'env[0]'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':'A=1',"
     "'cwd':'/','size':1,'results_queue':'q','delivery_limit':1,'nodes':[]}",
     EPROTO, "'env'"},
    {"{'v':1,'type':'announce','job':'j','path':'p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':1,'nodes':[]}",
     EPROTO, "'path' missing or not an absolute path"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],"
     "'cwd':'tmp','size':1,'results_queue':'q','delivery_limit':1,'nodes':[]}",
     EPROTO, "'cwd'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':0,'results_queue':'q','delivery_limit':1,'nodes':[]}",
     EPROTO, "'size'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'q','delivery_limit':0,'nodes':[]}",
     EPROTO, "'delivery_limit'"},
    {"{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],'env':[],'cwd':'/',"
     "'size':1,'results_queue':'','delivery_limit':1,'nodes':[]}",
     EPROTO, "'results_queue'"},
    {"{'v':1,'type':'end','job':'j'}\ntrailing", EPROTO, "after the JSON line"},
    {"{'v':1,'type':'end','job':'j'}\n\n", EPROTO, "after the JSON line"},
    {"{'v':1,'type':'end','job':'a\\u0000b'}", EPROTO, "NUL"},
};

static void check_refused (const char *body, size_t len, int err,
                           const char *in_message, const char *what)
{
    struct protocol_msg out;
    struct krun_error error = {{0}};
    int rc;

    errno = 0;
    rc = protocol_decode (body, len, &out, &error);
    if (!ok (rc == -1 && errno == err && error.text[0] &&
                 strstr (error.text, in_message),
             "refused: %s", what))
        diag ("rc %d, errno %d, message: %s", rc, errno, error.text);
    protocol_msg_clear (&out);
}

static void test_bad_bodies (void)
{
    for (size_t i = 0; i < LEN (bad_bodies); i++) {
        char *body = json (bad_bodies[i].body);
        char what[80];
        snprintf (what, sizeof (what), "%.60s", bad_bodies[i].body);
        for (char *p = what; *p; p++)
            if (*p == '\n')
                *p = ' ';
        check_refused (body, strlen (body), bad_bodies[i].err, bad_bodies[i].in_message,
                       what);
        free (body);
    }
}

/* Bad bodies that a string literal cannot hold or that are large. */
static void test_bad_bodies_built (void)
{
    char with_nul[] = "{\"v\":1,\"type\":\"end\",\"job\":\"a\0b\"}";
    check_refused (with_nul, sizeof (with_nul) - 1, EPROTO, "NUL",
                   "a raw NUL byte in the JSON line");

    char *huge = malloc (PROTOCOL_MAX_BODY + 1);
    if (!huge)
        bail_out ("out of memory");
    memset (huge, ' ', PROTOCOL_MAX_BODY + 1);
    check_refused (huge, PROTOCOL_MAX_BODY + 1, E2BIG, "limit",
                   "a body of PROTOCOL_MAX_BODY + 1 bytes (E2BIG)");
    check_refused (huge, PROTOCOL_MAX_BODY, EPROTO, "JSON",
                   "a body of exactly PROTOCOL_MAX_BODY bytes is not too big");
    free (huge);

    char job[80];
    memset (job, 'j', 65);
    job[65] = '\0';
    char body[200];
    snprintf (body, sizeof (body), "{\"v\":1,\"type\":\"end\",\"job\":\"%s\"}", job);
    check_refused (body, strlen (body), EPROTO, "'job'", "a job id of 65 bytes");
    job[64] = '\0';
    snprintf (body, sizeof (body), "{\"v\":1,\"type\":\"end\",\"job\":\"%s\"}", job);
    struct protocol_msg out;
    ok (protocol_decode (body, strlen (body), &out, NULL) == 0 &&
            strlen (out.job) == 64,
        "a job id of 64 bytes is fine");
    protocol_msg_clear (&out);

    /* Deep nesting in an unknown field: cJSON's nesting limit, no crash. */
    size_t depth = 100000, len = 0;
    char *deep = malloc (2 * depth + 64);
    if (!deep)
        bail_out ("out of memory");
    len += sprintf (deep, "{\"v\":1,\"type\":\"who\",\"x\":");
    memset (deep + len, '[', depth);
    len += depth;
    memset (deep + len, ']', depth);
    len += depth;
    deep[len++] = '}';
    check_refused (deep, len, EPROTO, "JSON", "100000 nested arrays");
    free (deep);
}

/* An announcement with n argv entries (and a long results queue name). */
static char *announce_with_argv (int n, size_t queue_len, size_t *lenp)
{
    size_t size = 64 * 1024 + 4 * (size_t)n + queue_len, len;
    char *body = malloc (size);

    if (!body)
        bail_out ("out of memory");
    len = sprintf (body,
                   "{\"v\":1,\"type\":\"announce\",\"job\":\"j\",\"path\":\"/p\","
                   "\"env\":[],\"cwd\":\"/\",\"size\":1,\"delivery_limit\":1,"
                   "\"nodes\":[],\"results_queue\":\"");
    memset (body + len, 'q', queue_len);
    len += queue_len;
    /* memcpy, not sprintf: GCC 12 under -fsanitize=address cannot see that
     * body is not NULL here and fails the build with -Wformat-overflow. */
    memcpy (body + len, "\",\"argv\":[", 10);
    len += 10;
    for (int i = 0; i < n; i++) {
        if (i)
            body[len++] = ',';
        memcpy (body + len, "\"\"", 2);
        len += 2;
    }
    memcpy (body + len, "]}", 3);
    len += 2;
    *lenp = len;
    return body;
}

static void test_array_limits (void)
{
    struct protocol_msg out;
    size_t len;
    char *body;

    body = announce_with_argv (65536, 10, &len);
    ok (protocol_decode (body, len, &out, NULL) == 0 && out.announce.argc == 65536,
        "argv of 65536 entries is fine");
    protocol_msg_clear (&out);
    free (body);
    body = announce_with_argv (65537, 10, &len);
    check_refused (body, len, EPROTO, "'argv'", "argv of 65537 entries");
    free (body);
    body = announce_with_argv (1, 255, &len);
    ok (protocol_decode (body, len, &out, NULL) == 0 &&
            strlen (out.announce.results_queue) == 255,
        "a results queue name of 255 bytes is fine");
    protocol_msg_clear (&out);
    free (body);
    body = announce_with_argv (1, 256, &len);
    check_refused (body, len, EPROTO, "'results_queue'",
                   "a results queue name of 256 bytes");
    free (body);
}

/* Every proper prefix of a body (a message cut short) is refused, and what
 * the decoder allocated before it noticed is freed by protocol_msg_clear()
 * (valgrind checks). */
static void test_truncated (void)
{
    enum protocol_type types[] = {PROTOCOL_ANNOUNCE, PROTOCOL_RESULT, PROTOCOL_HERE,
                                  PROTOCOL_RESULTS};

    for (size_t t = 0; t < LEN (types); t++) {
        struct protocol_msg msg = good (types[t]);
        size_t len, refused = 0;
        char *body = protocol_encode (&msg, &len, NULL);
        if (!body)
            bail_out ("cannot encode %s", protocol_type_name (types[t]));
        for (size_t cut = 0; cut < len; cut++) {
            struct protocol_msg out;
            struct krun_error error = {{0}};
            char *prefix = malloc (cut ? cut : 1);
            memcpy (prefix, body, cut);
            errno = 0;
            if (protocol_decode (prefix, cut, &out, &error) == -1 && errno == EPROTO &&
                error.text[0])
                refused++;
            protocol_msg_clear (&out);
            free (prefix);
        }
        ok (refused == len, "all %zu prefixes of a %s body are refused (%zu were)", len,
            protocol_type_name (types[t]), refused);
        free (body);
    }
}

/* Corrupt each byte of an announcement in a few ways: the decoder either
 * refuses (EPROTO) or returns a message the encoder accepts again. */
static void test_corrupted (void)
{
    const char replacements[] = {'x', '"', '}', ']', ',', '9', '-', '\\', '\0', '\n'};
    struct protocol_msg msg = good (PROTOCOL_ANNOUNCE);
    size_t len, refused = 0, accepted = 0, bad = 0;
    char *body = protocol_encode (&msg, &len, NULL);

    if (!body)
        bail_out ("cannot encode an announcement");
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t k = 0; k < LEN (replacements); k++) {
            struct protocol_msg out;
            char *copy = malloc (len);
            memcpy (copy, body, len);
            copy[pos] = replacements[k];
            errno = 0;
            if (protocol_decode (copy, len, &out, NULL) == 0) {
                size_t again_len;
                char *again = protocol_encode (&out, &again_len, NULL);
                if (again)
                    accepted++;
                else
                    bad++;
                free (again);
            } else if (errno == EPROTO)
                refused++;
            else
                bad++;
            protocol_msg_clear (&out);
            free (copy);
        }
    }
    ok (bad == 0 && refused > 0 && accepted > 0,
        "corrupted announcements: %zu refused, %zu decoded and re-encoded, %zu bad",
        refused, accepted, bad);
    free (body);
}

/* ---- messages the encoder must refuse ---- */

static char long_job[66];
static char long_queue[257];
static char *argv_with_null[] = {"./task", NULL};
static int cores_bad[] = {0, -2};
static int used_out_of_range[] = {0, 2};
static int used_twice[] = {1, 1};
static struct protocol_node node_bad;

/* Point the announcement m at node_bad alone. */
static void one_node (struct protocol_msg *m)
{
    m->announce.nodes = &node_bad;
    m->announce.nnodes = 1;
}

/* Each entry: the valid message mutate() starts from, and what the error
 * message must name. */
static const struct {
    enum protocol_type base;
    const char *names;
} bad_encodes[] = {
    {PROTOCOL_HERE, "'node'"},
    {PROTOCOL_HERE, "'node'"},
    {PROTOCOL_HERE, "'cores'"},
    {PROTOCOL_HERE, "'cores'"},
    {PROTOCOL_HERE, "'cores[1]'"},
    {PROTOCOL_HERE, "'pid'"},
    {PROTOCOL_HERE, "'busy'"},
    {PROTOCOL_HERE, "'busy'"},
    {PROTOCOL_HERE, "'started_us'"},
    {PROTOCOL_HERE, "'started_us'"},
    {PROTOCOL_HERE, "'version'"},
    {PROTOCOL_JOINED, "'node'"},
    {PROTOCOL_JOINED, "'local'"},
    {PROTOCOL_ANNOUNCE, "'path'"},
    {PROTOCOL_ANNOUNCE, "'path'"},
    {PROTOCOL_ANNOUNCE, "'argv'"},
    {PROTOCOL_ANNOUNCE, "'argv'"},
    {PROTOCOL_ANNOUNCE, "'argv[1]'"},
    {PROTOCOL_ANNOUNCE, "'argv'"},
    {PROTOCOL_ANNOUNCE, "'env'"},
    {PROTOCOL_ANNOUNCE, "'env'"},
    {PROTOCOL_ANNOUNCE, "'cwd'"},
    {PROTOCOL_ANNOUNCE, "'size'"},
    {PROTOCOL_ANNOUNCE, "'results_queue'"},
    {PROTOCOL_ANNOUNCE, "'results_queue'"},
    {PROTOCOL_ANNOUNCE, "'delivery_limit'"},
    {PROTOCOL_ANNOUNCE, "'nodes'"},
    {PROTOCOL_ANNOUNCE, "'nodes'"},
    {PROTOCOL_ANNOUNCE, "'nodes'"},
    {PROTOCOL_ANNOUNCE, "'nodes[0].name'"},
    {PROTOCOL_ANNOUNCE, "'nodes[0].nslots'"},
    {PROTOCOL_ANNOUNCE, "'nodes[0].first_slot'"},
    {PROTOCOL_ANNOUNCE, "'nodes[0].nslots'"},
    {PROTOCOL_ANNOUNCE, "'nodes[0].used'"},
    {PROTOCOL_ANNOUNCE, "'nodes[0].used'"},
    {PROTOCOL_ANNOUNCE, "'nodes[0].used[1]'"},
    {PROTOCOL_ANNOUNCE, "'nodes[0].used'"},
    {PROTOCOL_TASK, "'rank'"},
    {PROTOCOL_TASK, "'attempt'"},
    {PROTOCOL_TASK, "'job'"},
    {PROTOCOL_TASK, "'job'"},
    {PROTOCOL_TASK, "'job'"},
    {PROTOCOL_RESULT, "'node'"},
    {PROTOCOL_RESULT, "'status'"},
    {PROTOCOL_RESULT, "'status'"},
    {PROTOCOL_RESULT, "'error'"},
    {PROTOCOL_RESULT, "'core'"},
    {PROTOCOL_RESULT, "'slot'"},
    {PROTOCOL_RESULT, "'local'"},
    {PROTOCOL_RESULT, "'start_us'"},
    {PROTOCOL_RESULT, "'end_us'"},
    {PROTOCOL_RESULT, "'attempt'"},
    {PROTOCOL_OUTPUT, "'stream'"},
    {PROTOCOL_OUTPUT, "'stream'"},
    {PROTOCOL_OUTPUT, "'payload'"},
    {PROTOCOL_OUTPUT, "'payload'"},
    {PROTOCOL_OUTPUT, "'rank'"},
    {PROTOCOL_END, "'job'"},
    {PROTOCOL_CANCEL, "'job'"},
    {PROTOCOL_WHO, "unknown type"},
    {PROTOCOL_WHO, "unknown type"},
};

/* Cases 0 to 12 of mutate(): here and joined. */
static bool mutate_here (int i, struct protocol_msg *m)
{
    struct protocol_here *h = &m->here;

    switch (i) {
        case 0:
            h->node = NULL;
            break;
        case 1:
            h->node = "";
            break;
        case 2:
            h->nslots = 0;
            break;
        case 3:
            h->cores = NULL;
            break;
        case 4:
            h->cores = cores_bad;
            h->nslots = 2;
            break;
        case 5:
            h->pid = 0;
            break;
        case 6:
            h->busy = -1;
            break;
        case 7:
            h->busy = 5;
            break;
        case 8:
            h->started_us = -1;
            break;
        case 9:
            h->started_us = MAX_TIME_US + 1;
            break;
        case 10:
            h->version = NULL;
            break;
        case 11:
            m->joined.node = NULL;
            break;
        case 12:
            m->joined.local = -1;
            break;
        default:
            return false;
    }
    return true;
}

/* Cases 13 to 36 of mutate(): announce. */
static bool mutate_announce (int i, struct protocol_msg *m)
{
    struct protocol_announce *a = &m->announce;

    switch (i) {
        case 13:
            a->path = NULL;
            break;
        case 14:
            a->path = "bin/task";
            break;
        case 15:
            a->argc = 0;
            break;
        case 16:
            a->argv = NULL;
            break;
        case 17:
            a->argv = argv_with_null;
            a->argc = 2;
            break;
        case 18:
            a->argc = 65537;
            break;
        case 19:
            a->envc = -1;
            break;
        case 20:
            a->env = NULL;
            break;
        case 21:
            a->cwd = NULL;
            break;
        case 22:
            a->size = 0;
            break;
        case 23:
            a->results_queue = NULL;
            break;
        case 24:
            a->results_queue = long_queue;
            break;
        case 25:
            a->delivery_limit = 0;
            break;
        case 26:
            a->nnodes = -1;
            break;
        case 27:
            a->nodes = NULL;
            break;
        case 28:
            a->nnodes = 65537;
            break;
        case 29:
            node_bad = (struct protocol_node){.name = NULL, .nslots = 1};
            one_node (m);
            break;
        case 30:
            node_bad = (struct protocol_node){.name = "a", .nslots = 0};
            one_node (m);
            break;
        case 31:
            node_bad =
                (struct protocol_node){.name = "a", .first_slot = -1, .nslots = 1};
            one_node (m);
            break;
        case 32:
            node_bad =
                (struct protocol_node){.name = "a", .first_slot = INT_MAX, .nslots = 1};
            one_node (m);
            break;
        case 33:
            node_bad = (struct protocol_node){
                .name = "a", .nslots = 1, .nused = 2, .used = used_twice};
            one_node (m);
            break;
        case 34:
            node_bad = (struct protocol_node){
                .name = "a", .nslots = 2, .nused = 1, .used = NULL};
            one_node (m);
            break;
        case 35:
            node_bad = (struct protocol_node){
                .name = "a", .nslots = 2, .nused = 2, .used = used_out_of_range};
            one_node (m);
            break;
        case 36:
            node_bad = (struct protocol_node){
                .name = "a", .nslots = 2, .nused = 2, .used = used_twice};
            one_node (m);
            break;
        default:
            return false;
    }
    return true;
}

/* Cases 37 to 60 of mutate(): task, job ids, result, output, type. */
static bool mutate_rest (int i, struct protocol_msg *m)
{
    struct protocol_result *r = &m->result;
    struct protocol_output *o = &m->output;

    switch (i) {
        case 37:
            m->task.rank = -1;
            break;
        case 38:
            m->task.attempt = 0;
            break;
        case 39:
            m->job = NULL;
            break;
        case 40:
            m->job = "";
            break;
        case 41:
            m->job = long_job;
            break;
        case 42:
            r->node = NULL;
            break;
        case 43:
            r->status = 0;
            break;
        case 44:
            r->status = PROTOCOL_FAILED + 1;
            break;
        case 45:
            r->error = NULL;
            break;
        case 46:
            r->core = -2;
            break;
        case 47:
            r->slot = -1;
            break;
        case 48:
            r->local = -1;
            break;
        case 49:
            r->start_us = -1;
            break;
        case 50:
            r->end_us = MAX_TIME_US + 1;
            break;
        case 51:
            r->attempt = 0;
            break;
        case 52:
            o->stream = 0;
            break;
        case 53:
            o->stream = 3;
            break;
        case 54:
            o->len = PROTOCOL_MAX_OUTPUT_CHUNK + 1;
            break;
        case 55:
            o->data = NULL;
            break;
        case 56:
            o->rank = -1;
            break;
        case 57:
            m->job = NULL;
            break;
        case 58:
            m->job = "";
            break;
        case 59:
            m->type = 0;
            break;
        case 60:
            m->type = PROTOCOL_LAST_TYPE + 1;
            break;
        default:
            return false;
    }
    return true;
}

/* Break message i of bad_encodes[] (good (its base) on entry).  Returns
 * false past the last case. */
static bool mutate (int i, struct protocol_msg *m)
{
    if (i <= 12)
        return mutate_here (i, m);
    if (i <= 36)
        return mutate_announce (i, m);
    return mutate_rest (i, m);
}

static void test_bad_encodes (void)
{
    memset (long_job, 'j', 65);
    memset (long_queue, 'q', 256);
    for (size_t i = 0; i < LEN (bad_encodes); i++) {
        struct protocol_msg msg = good (bad_encodes[i].base);
        struct krun_error error = {{0}};
        size_t len = 0;
        char *body;
        if (!mutate ((int)i, &msg))
            bail_out ("bad_encodes[%zu] has no mutation", i);
        errno = 0;
        body = protocol_encode (&msg, &len, &error);
        if (!ok (body == NULL && errno == EINVAL &&
                     strncmp (error.text, "cannot encode", 13) == 0 &&
                     strstr (error.text, bad_encodes[i].names),
                 "encode refuses case %zu: %s", i, error.text))
            diag ("errno %d", errno);
        free (body);
    }
    struct protocol_msg spare = good (PROTOCOL_WHO);
    ok (!mutate ((int)LEN (bad_encodes), &spare), "every mutation has a table entry");
    errno = 0;
    ok (protocol_encode (NULL, NULL, NULL) == NULL && errno == EINVAL,
        "encode refuses a NULL message");
}

/* ---- names and clearing ---- */

static void test_names (void)
{
    const char *names[] = {"who",     "here",   "joined", "announce", "task",
                           "result",  "output", "end",    "cancel",   "progress",
                           "confirm", "refuse", "results"};
    char buf[128];
    bool all = true;

    for (int t = PROTOCOL_WHO; t <= PROTOCOL_LAST_TYPE; t++)
        all = all && same (protocol_type_name (t), names[t - PROTOCOL_WHO]);
    ok (all && LEN (names) == PROTOCOL_LAST_TYPE, "type names");
    is_str (protocol_type_name (PROTOCOL_RESULTS), "results", "results is \"results\"");
    is_str (protocol_type_name (0), "?", "type 0 has no name");
    is_str (protocol_type_name ((enum protocol_type)99), "?", "type 99 has no name");
    is_str (protocol_task_queue ("abc", buf, sizeof (buf)), "krun.job.abc.tasks",
            "task queue name");
    is_str (protocol_results_queue ("abc", buf, sizeof (buf)), "krun.job.abc.results",
            "results queue name");
    ok (protocol_task_queue ("abcdef", buf, 12) == buf && same (buf, "krun.job.ab"),
        "a short buffer gets a truncated, terminated name");
}

static void test_clear (void)
{
    struct protocol_msg zero = {0};

    protocol_msg_clear (&zero);
    protocol_msg_clear (NULL);
    ok (zero.type == 0 && zero.job == NULL,
        "clearing an all-zero message or NULL is fine");

    struct protocol_msg out;
    struct protocol_msg msg = good (PROTOCOL_ANNOUNCE);
    ok (round_trip (&msg, &out) == 0, "decode an announcement to clear");
    protocol_msg_clear (&out);
    protocol_msg_clear (&out);
    ok (out.type == 0 && out.job == NULL && out.announce.argv == NULL,
        "clear zeroes the message; clearing twice is fine");
}

/* What the tasks inherit (env_exact, umask, nice, limits): optional, sent
 * only when set, checked when present. */
static void test_inherit_fields (void)
{
    struct protocol_msg m = good (PROTOCOL_ANNOUNCE), out;
    struct krun_error error;
    char *limits[] = {"core=0", "nofile=unlimited"};
    size_t len;
    char *body = protocol_encode (&m, &len, &error);

    ok (body && !strstr (body, "env_exact") && !strstr (body, "umask") &&
            !strstr (body, "nice") && !strstr (body, "limits"),
        "none of them sent when unset");
    free (body);
    m.announce.env_exact = true;
    m.announce.has_umask = m.announce.has_nice = true;
    m.announce.umask = 022;
    m.announce.nice = 5;
    m.announce.nlimits = 2;
    m.announce.limits = limits;
    body = protocol_encode (&m, &len, &error);
    ok (body && strstr (body, "\"env_exact\":true") && strstr (body, "\"umask\":18") &&
            strstr (body, "\"nice\":5") &&
            strstr (body, "\"limits\":[\"core=0\",\"nofile=unlimited\"]"),
        "sent when set: %s", body ? body : error.text);
    ok (body && protocol_decode (body, len, &out, &error) == 0 &&
            out.announce.env_exact && out.announce.has_umask &&
            out.announce.umask == 022 && out.announce.has_nice &&
            out.announce.nice == 5 && out.announce.nlimits == 2 &&
            strcmp (out.announce.limits[1], "nofile=unlimited") == 0,
        "and decoded back");
    protocol_msg_clear (&out);
    free (body);
    static const char *const bad[] = {"'umask':512",       "'nice':20",
                                      "'nice':-21",        "'limits':'core=0'",
                                      "'limits':[]",       "'env_exact':1",
                                      "'cpus_per_rank':0", "'cpus_per_rank':1025",
                                      "'bind_none':'yes'"};
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        char text[512];
        snprintf (text, sizeof (text),
                  "{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],"
                  "'env':[],'cwd':'/','size':1,'results_queue':'q',"
                  "'delivery_limit':1,'nodes':[],%s}",
                  bad[i]);
        char *j = json (text);
        errno = 0;
        ok (protocol_decode (j, strlen (j), &out, &error) < 0 && errno == EPROTO,
            "%s refused: %s", bad[i], error.text);
        protocol_msg_clear (&out);
        free (j);
    }
}

/* timeout_ms is optional: absent is 0, the encoder leaves 0 out, and a
 * present value is checked like any integer field. */
static void test_optional_timeout (void)
{
    struct protocol_msg m = good (PROTOCOL_ANNOUNCE), out;
    struct krun_error error;
    size_t len;
    char *body = protocol_encode (&m, &len, &error);

    ok (body && !strstr (body, "timeout_ms"), "timeout_ms 0 is not sent");
    ok (body && protocol_decode (body, len, &out, &error) == 0 &&
            out.announce.timeout_ms == 0,
        "absent timeout_ms decodes as 0");
    protocol_msg_clear (&out);
    free (body);
    m.announce.timeout_ms = 5000;
    body = protocol_encode (&m, &len, &error);
    ok (body && strstr (body, "\"timeout_ms\":5000}"), "timeout_ms 5000 is sent");
    ok (body && protocol_decode (body, len, &out, &error) == 0 &&
            out.announce.timeout_ms == 5000,
        "and decodes back");
    protocol_msg_clear (&out);
    free (body);
    m.announce.timeout_ms = -1;
    errno = 0;
    ok (!protocol_encode (&m, &len, &error) && errno == EINVAL,
        "a negative timeout_ms is not encoded");
    char *bad = json (
        "{'v':1,'type':'announce','job':'j','path':'/p','argv':['p'],"
        "'env':[],'cwd':'/','size':1,'results_queue':'q',"
        "'delivery_limit':1,'nodes':[],'timeout_ms':1.5}");
    errno = 0;
    ok (protocol_decode (bad, strlen (bad), &out, &error) < 0 && errno == EPROTO &&
            strstr (error.text, "timeout_ms"),
        "timeout_ms 1.5 is refused: %s", error.text);
    protocol_msg_clear (&out);
    free (bad);
}

/* ---- payloads: task input and arguments, result data, progress ---- */

/* Encode msg and compare with the single-quoted JSON line want followed by
 * the raw payload (tail, tail_len bytes; none when tail is NULL). */
static void check_wire (const struct protocol_msg *msg, const char *want_line,
                        const char *tail, size_t tail_len, const char *name)
{
    char *line = json (want_line);
    size_t want_len = strlen (line) + (tail ? 1 + tail_len : 0);
    char *want = malloc (want_len + 1);
    size_t len = 0;
    struct krun_error error = {{0}};
    char *body = protocol_encode (msg, &len, &error);

    if (!want)
        bail_out ("out of memory");
    memcpy (want, line, strlen (line));
    if (tail) {
        want[strlen (line)] = '\n';
        memcpy (want + strlen (line) + 1, tail, tail_len);
    }
    ok (body && len == want_len && memcmp (body, want, len) == 0, "%s", name);
    if (!body)
        diag ("encode: %s", error.text);
    free (body);
    free (want);
    free (line);
}

static void test_payloads (void)
{
    static const char input[] = {'x', '\0', '\n', (char)0xff, 'y'};
    static char *args[] = {"echo {rank}; exit 3"};
    struct protocol_msg out;
    char *body = NULL;

    struct protocol_msg task = good (PROTOCOL_TASK);
    task.task.input = input;
    task.task.input_len = sizeof (input);
    task.task.argc = 1;
    task.task.args = args;
    check_wire (&task,
                "{'v':1,'type':'task','job':'" JOB
                "','rank':224,'attempt':3,'input':5,'args':['echo {rank}; exit 3']}",
                input, sizeof (input),
                "task with input and args encodes as documented");
    ok (encode_decode (&task, &out, &body) == 0 &&
            out.task.input_len == sizeof (input) &&
            memcmp (out.task.input, input, sizeof (input)) == 0 && out.task.argc == 1 &&
            same (out.task.args[0], args[0]) && out.task.args[1] == NULL,
        "task input (binary) and args round-trip");
    protocol_msg_clear (&out);
    free (body);

    struct protocol_msg plain = good (PROTOCOL_TASK);
    ok (round_trip (&plain, &out) == 0 && out.task.input == NULL &&
            out.task.input_len == 0 && out.task.args == NULL,
        "a task without input or args decodes with none");
    protocol_msg_clear (&out);

    struct protocol_msg result = good (PROTOCOL_RESULT);
    result.result.status = PROTOCOL_EXITED;
    result.result.code = 0;
    result.result.error = NULL;
    result.result.data = "42\n";
    result.result.data_len = 3;
    check_wire (&result,
                "{'v':1,'type':'result','job':'" JOB
                "','rank':17,'attempt':2,'node':'b','slot':130,'local':2,'core':-1,"
                "'status':'exited','code':0,'start_us':1795371475334785,"
                "'end_us':1795371480336012,'data':3}",
                "42\n", 3, "result with data encodes as documented");
    ok (encode_decode (&result, &out, &body) == 0 && out.result.data_len == 3 &&
            memcmp (out.result.data, "42\n", 3) == 0,
        "result data round-trips");
    protocol_msg_clear (&out);
    free (body);

    struct protocol_msg progress = good (PROTOCOL_PROGRESS);
    check_wire (&progress,
                "{'v':1,'type':'progress','job':'" JOB
                "','rank':5,'attempt':1,'node':'a','fraction':0.25}",
                NULL, 0, "progress encodes as documented");
    ok (round_trip (&progress, &out) == 0 && out.type == PROTOCOL_PROGRESS &&
            out.progress.rank == 5 && same (out.progress.node, "a") &&
            out.progress.fraction == 0.25,
        "progress round-trips");
    protocol_msg_clear (&out);

    struct protocol_msg announce = good (PROTOCOL_ANNOUNCE);
    ok (round_trip (&announce, &out) == 0 && !out.announce.inputs &&
            !out.announce.progress,
        "announce flags default to false");
    protocol_msg_clear (&out);
    announce.announce.inputs = announce.announce.progress = true;
    ok (round_trip (&announce, &out) == 0 && out.announce.inputs &&
            out.announce.progress,
        "announce flags inputs and progress round-trip");
    protocol_msg_clear (&out);
}

/* Sizes: the limits hold in both directions. */
static void test_payload_limits (void)
{
    struct protocol_msg task = good (PROTOCOL_TASK), out;
    struct protocol_msg result = good (PROTOCOL_RESULT);
    struct protocol_msg progress = good (PROTOCOL_PROGRESS);
    char *big = calloc (1, PROTOCOL_MAX_INPUT + 1), *body;
    struct krun_error error = {{0}};
    size_t len;

    if (!big)
        bail_out ("out of memory");
    result.result.status = PROTOCOL_EXITED;
    result.result.error = NULL;
    task.task.input = big;
    task.task.input_len = PROTOCOL_MAX_INPUT;
    body = protocol_encode (&task, &len, &error);
    ok (body && protocol_decode (body, len, &out, &error) == 0 &&
            out.task.input_len == PROTOCOL_MAX_INPUT,
        "an input of exactly PROTOCOL_MAX_INPUT bytes passes");
    protocol_msg_clear (&out);
    free (body);
    task.task.input_len = PROTOCOL_MAX_INPUT + 1;
    errno = 0;
    ok (protocol_encode (&task, &len, &error) == NULL && errno == EINVAL &&
            strstr (error.text, "'input'"),
        "encode refuses an input over the limit: %s", error.text);
    result.result.data = big;
    result.result.data_len = PROTOCOL_MAX_RESULT + 1;
    errno = 0;
    ok (protocol_encode (&result, &len, &error) == NULL && errno == EINVAL &&
            strstr (error.text, "'data'"),
        "encode refuses a result over the limit: %s", error.text);
    free (big);
    progress.progress.fraction = 1.5;
    errno = 0;
    ok (protocol_encode (&progress, &len, &error) == NULL && errno == EINVAL &&
            strstr (error.text, "'fraction'"),
        "encode refuses a fraction over 1");
}

/* Decoding refuses inconsistent payloads. */
static void test_bad_payloads (void)
{
    struct krun_error error = {{0}};
    struct protocol_msg out;
    static const struct {
        const char *body;
        const char *needle;
    } bad[] = {
        {"{'v':1,'type':'task','job':'j','rank':1,'attempt':1,'input':4}\nabc",
         "says 4 bytes but 3 follow"},
        {"{'v':1,'type':'task','job':'j','rank':1,'attempt':1,'input':2}\nabc",
         "says 2 bytes but 3 follow"},
        {"{'v':1,'type':'task','job':'j','rank':1,'attempt':1,'input':1}",
         "says 1 bytes but 0 follow"},
        {"{'v':1,'type':'task','job':'j','rank':1,'attempt':1}\nabc",
         "unexpected bytes"},
        {"{'v':1,'type':'task','job':'j','rank':1,'attempt':1,'input':-1}\n",
         "'input'"},
        {"{'v':1,'type':'task','job':'j','rank':1,'attempt':1,'input':2097152}\n",
         "'input'"},
        {"{'v':1,'type':'task','job':'j','rank':1,'attempt':1,'args':[]}", "'args'"},
        {"{'v':1,'type':'task','job':'j','rank':1,'attempt':1,'args':[1]}",
         "'args[0]'"},
        {"{'v':1,'type':'result','job':'j','rank':1,'attempt':1,'node':'a','slot':0,"
         "'local':0,'core':0,'status':'exited','code':0,'start_us':1,'end_us':2,"
         "'data':'3'}\nabc",
         "'data'"},
        {"{'v':1,'type':'progress','job':'j','rank':1,'attempt':1,'node':'a',"
         "'fraction':-0.1}",
         "'fraction'"},
        {"{'v':1,'type':'progress','job':'j','rank':1,'attempt':1,'node':'a',"
         "'fraction':'1'}",
         "'fraction'"},
        {"{'v':1,'type':'progress','job':'j','rank':1,'attempt':1,'fraction':1}",
         "'node'"},
        {"{'v':1,'type':'announce','job':'j','path':'/x','argv':['x'],'env':[],"
         "'cwd':'/','size':1,'results_queue':'q','delivery_limit':1,'nodes':[],"
         "'inputs':1}",
         "'inputs'"},
    };
    for (size_t i = 0; i < LEN (bad); i++) {
        errno = 0;
        ok (decode_text (bad[i].body, &out, &error) < 0 && errno == EPROTO &&
                strstr (error.text, bad[i].needle),
            "decode refuses bad payload case %zu: %s", i, error.text);
        protocol_msg_clear (&out);
    }
}

/* ---- the optional job list of "here" ---- */

static void test_job_ids (void)
{
    static const struct {
        const char *id;
        bool valid;
    } ids[] = {
        {JOB, true},
        {"a", true},
        {"Job_1-x", true},
        {"0123456789012345678901234567890123456789012345678901234567890123", true},
        {"01234567890123456789012345678901234567890123456789012345678901234", false},
        {"", false},
        {NULL, false},
        {"a.b", false},
        {"a b", false},
        {"a/b", false},
        {"a\nb", false},
        {"caf\xc3\xa9", false},
        {"*", false},
    };

    for (size_t i = 0; i < LEN (ids); i++)
        ok (protocol_job_id_valid (ids[i].id) == ids[i].valid, "job id %zu is %s", i,
            ids[i].valid ? "valid" : "refused");
}

static void test_here_jobs (void)
{
    static char *jobs[] = {JOB, "0a1b2c3d4e5f6071"};
    struct protocol_msg msg = good (PROTOCOL_HERE), out;
    struct krun_error error = {{0}};

    msg.here.njobs = LEN (jobs);
    msg.here.jobs = jobs;
    check_wire (&msg,
                "{'v':1,'type':'here','node':'a','pid':4242,'cores':[0,2,-1,7],"
                "'busy':2,'started_us':1795371475334785,'version':'0.1.0',"
                "'jobs':['" JOB "','0a1b2c3d4e5f6071'],'nonce':'5f3a9c0e7b21d468'}",
                NULL, 0, "here with jobs encodes as documented");
    ok (round_trip (&msg, &out) == 0 && out.here.njobs == 2 &&
            same (out.here.jobs[0], JOB) && same (out.here.jobs[1], "0a1b2c3d4e5f6071"),
        "here: jobs round-trip in order");
    protocol_msg_clear (&out);

    /* An older daemon sends no jobs field; an empty list is not sent. */
    ok (decode_text ("{'v':1,'type':'here','node':'a','pid':1,'cores':[0],'busy':0,"
                     "'started_us':1,'version':'x','nonce':'n'}",
                     &out, &error) == 0 &&
            out.here.njobs == 0 && out.here.jobs == NULL,
        "here without jobs decodes as no jobs");
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'here','node':'a','pid':1,'cores':[0],'busy':0,"
                     "'started_us':1,'version':'x','jobs':[],'nonce':'n'}",
                     &out, &error) == 0 &&
            out.here.njobs == 0,
        "here with an empty jobs array decodes as no jobs");
    protocol_msg_clear (&out);

    /* Every job id of the largest list the decoder takes. */
    msg.here.njobs = PROTOCOL_MAX_HERE_JOBS;
    msg.here.jobs = calloc (PROTOCOL_MAX_HERE_JOBS, sizeof (char *));
    if (!msg.here.jobs)
        bail_out ("out of memory");
    for (int i = 0; i < PROTOCOL_MAX_HERE_JOBS; i++)
        msg.here.jobs[i] = JOB;
    ok (round_trip (&msg, &out) == 0 && out.here.njobs == PROTOCOL_MAX_HERE_JOBS,
        "here with %d jobs round-trips", PROTOCOL_MAX_HERE_JOBS);
    protocol_msg_clear (&out);
    free (msg.here.jobs);
}

/* Job lists of "here" that are refused, decoding and encoding. */
static void test_here_jobs_refused (void)
{
    static char *jobs[] = {JOB, "0a1b2c3d4e5f6071"};
    struct protocol_msg msg = good (PROTOCOL_HERE), out;
    struct krun_error error = {{0}};

    static const char *const bad_here_bodies[][2] = {
        {"'jobs':'" JOB "'", "'jobs' missing or not an array of 0 to"},
        {"'jobs':[1]", "'jobs[0]' missing or not a job id"},
        {"'jobs':['" JOB "','a.b']", "'jobs[1]' missing or not a job id"},
        {"'jobs':['']", "'jobs[0]'"},
        {"'jobs':['a b']", "'jobs[0]'"},
        {"'jobs':['x\\n']", "'jobs[0]'"},
        {"'jobs':['"
         "01234567890123456789012345678901234567890123456789012345678901234']",
         "'jobs[0]'"},
        {"'jobs':null", "'jobs'"},
    };
    for (size_t i = 0; i < LEN (bad_here_bodies); i++) {
        char text[512];
        snprintf (text, sizeof (text),
                  "{'v':1,'type':'here','node':'a','pid':1,'cores':[0],'busy':0,"
                  "'started_us':1,'version':'x',%s}",
                  bad_here_bodies[i][0]);
        errno = 0;
        ok (decode_text (text, &out, &error) < 0 && errno == EPROTO &&
                strstr (error.text, bad_here_bodies[i][1]),
            "here refused: %s: %s", bad_here_bodies[i][0], error.text);
        protocol_msg_clear (&out);
    }

    /* One entry over the limit. */
    size_t size = 256 + (PROTOCOL_MAX_HERE_JOBS + 1) * 5;
    char *text = malloc (size), *p = text;
    if (!text)
        bail_out ("out of memory");
    p += sprintf (p,
                  "{'v':1,'type':'here','node':'a','pid':1,'cores':[0],'busy':0,"
                  "'started_us':1,'version':'x','jobs':[");
    for (int i = 0; i <= PROTOCOL_MAX_HERE_JOBS; i++)
        p += sprintf (p, "%s'j'", i ? "," : "");
    strcpy (p, "]}");
    errno = 0;
    ok (decode_text (text, &out, &error) < 0 && errno == EPROTO &&
            strstr (error.text, "'jobs'"),
        "here with %d jobs is refused: %s", PROTOCOL_MAX_HERE_JOBS + 1, error.text);
    protocol_msg_clear (&out);
    free (text);

    static char *bad_id[] = {"a.b"}, *null_id[] = {NULL};
    const struct {
        int njobs;
        char **jobs;
        const char *names;
    } bad_here_encodes[] = {
        {1, bad_id, "'jobs[0]'"},
        {1, null_id, "'jobs[0]'"},
        {1, NULL, "'jobs'"},
        {-1, jobs, "'jobs'"},
        {PROTOCOL_MAX_HERE_JOBS + 1, jobs, "'jobs'"},
    };
    for (size_t i = 0; i < LEN (bad_here_encodes); i++) {
        size_t len;
        char *body;
        msg.here.njobs = bad_here_encodes[i].njobs;
        msg.here.jobs = bad_here_encodes[i].jobs;
        errno = 0;
        body = protocol_encode (&msg, &len, &error);
        ok (!body && errno == EINVAL && strstr (error.text, bad_here_encodes[i].names),
            "here with bad jobs not encoded (case %zu): %s", i, error.text);
        free (body);
    }
}

/* ---- task messages of several ranks, and their "results" ---- */

/* Encode msg: it must be refused with EINVAL and a message containing
 * names. */
static void check_encode_refused (const struct protocol_msg *msg, const char *names,
                                  const char *what)
{
    struct krun_error error = {{0}};
    size_t len = 0;
    char *body;

    errno = 0;
    body = protocol_encode (msg, &len, &error);
    ok (!body && errno == EINVAL && strncmp (error.text, "cannot encode", 13) == 0 &&
            strstr (error.text, names),
        "encode refuses %s: %s", what, error.text);
    free (body);
}

static void test_task_count (void)
{
    static const char input[] = "in";
    static char *args[] = {"x"};
    struct protocol_msg msg = good (PROTOCOL_TASK), out;
    struct krun_error error = {{0}};

    check_wire (&msg, "{'v':1,'type':'task','job':'" JOB "','rank':224,'attempt':3}",
                NULL, 0, "count 0 (unset) is not sent");
    ok (round_trip (&msg, &out) == 0 && out.task.count == 1,
        "a task without count decodes as count 1");
    protocol_msg_clear (&out);
    msg.task.count = 1;
    check_wire (&msg, "{'v':1,'type':'task','job':'" JOB "','rank':224,'attempt':3}",
                NULL, 0, "count 1 is not sent either");
    msg.task.count = 2;
    check_wire (
        &msg, "{'v':1,'type':'task','job':'" JOB "','rank':224,'count':2,'attempt':3}",
        NULL, 0, "task with count 2 encodes as documented");
    ok (round_trip (&msg, &out) == 0 && out.task.count == 2 && out.task.rank == 224 &&
            out.task.attempt == 3,
        "count 2 round-trips");
    protocol_msg_clear (&out);
    msg.task.count = PROTOCOL_MAX_BATCH;
    ok (round_trip (&msg, &out) == 0 && out.task.count == PROTOCOL_MAX_BATCH,
        "count %d round-trips", PROTOCOL_MAX_BATCH);
    protocol_msg_clear (&out);
    msg.task.rank = INT_MAX - PROTOCOL_MAX_BATCH + 1;
    ok (round_trip (&msg, &out) == 0 && out.task.count == PROTOCOL_MAX_BATCH &&
            out.task.rank + (out.task.count - 1) == INT_MAX,
        "ranks up to INT_MAX round-trip");
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'task','job':'j','rank':3,'count':1,'attempt':1}",
                     &out, &error) == 0 &&
            out.task.count == 1,
        "a count of 1 sent anyway is accepted");
    protocol_msg_clear (&out);

    /* The encoder's refusals. */
    msg = good (PROTOCOL_TASK);
    msg.task.count = -1;
    check_encode_refused (&msg, "'count'", "count -1");
    msg.task.count = PROTOCOL_MAX_BATCH + 1;
    check_encode_refused (&msg, "'count' missing or not an integer from 1 to 1024",
                          "count 1025");
    msg.task.count = 2;
    msg.task.rank = INT_MAX;
    check_encode_refused (&msg, "'count'", "a last rank over INT_MAX");
    msg.task.rank = INT_MAX - PROTOCOL_MAX_BATCH + 2;
    msg.task.count = PROTOCOL_MAX_BATCH;
    check_encode_refused (&msg, "'count'", "count 1024 one rank too high");
    msg = good (PROTOCOL_TASK);
    msg.task.count = 2;
    msg.task.input = input;
    msg.task.input_len = 2;
    check_encode_refused (&msg, "'count' (2 ranks) cannot go with input or args",
                          "count 2 with input");
    msg.task.input = NULL;
    msg.task.input_len = 0;
    msg.task.argc = 1;
    msg.task.args = args;
    check_encode_refused (&msg, "'count' (2 ranks) cannot go with input or args",
                          "count 2 with args");

    /* The decoder's. */
    static const char *const bad[][2] = {
        {"'rank':1,'count':0,'attempt':1}",
         "'count' missing or not an integer from 1 to 1024"},
        {"'rank':1,'count':1025,'attempt':1}", "'count'"},
        {"'rank':1,'count':-1,'attempt':1}", "'count'"},
        {"'rank':1,'count':1.5,'attempt':1}", "'count'"},
        {"'rank':1,'count':'2','attempt':1}", "'count'"},
        {"'rank':1,'count':null,'attempt':1}", "'count'"},
        {"'rank':2147483647,'count':2,'attempt':1}",
         "'count' missing or not the integer 1"},
        {"'rank':2147482625,'count':1024,'attempt':1}", "'count'"},
        {"'rank':1,'count':2,'attempt':1,'input':2}\nin",
         "'count' (2 ranks) cannot go with input or args"},
        {"'rank':1,'count':2,'attempt':1,'args':['x']}",
         "'count' (2 ranks) cannot go with input or args"},
    };
    for (size_t i = 0; i < LEN (bad); i++) {
        char text[256];
        snprintf (text, sizeof (text), "{'v':1,'type':'task','job':'j',%s", bad[i][0]);
        errno = 0;
        ok (decode_text (text, &out, &error) < 0 && errno == EPROTO &&
                strstr (error.text, bad[i][1]),
            "task refused (case %zu): %s", i, error.text);
        protocol_msg_clear (&out);
    }
}

static void test_here_batches (void)
{
    struct protocol_msg msg = good (PROTOCOL_HERE), out;
    struct krun_error error = {{0}};

    ok (round_trip (&msg, &out) == 0 && !out.here.batches,
        "here without batches decodes as false");
    protocol_msg_clear (&out);
    msg.here.batches = true;
    check_wire (&msg,
                "{'v':1,'type':'here','node':'a','pid':4242,'cores':[0,2,-1,7],"
                "'busy':2,'started_us':1795371475334785,'version':'0.1.0',"
                "'batches':true,'nonce':'5f3a9c0e7b21d468'}",
                NULL, 0, "here with batches encodes as documented");
    ok (round_trip (&msg, &out) == 0 && out.here.batches &&
            same (out.here.nonce, "5f3a9c0e7b21d468"),
        "here: batches true round-trips");
    protocol_msg_clear (&out);
    ok (decode_text ("{'v':1,'type':'here','node':'a','pid':1,'cores':[0],'busy':0,"
                     "'started_us':1,'version':'x','batches':false,'nonce':'n'}",
                     &out, &error) == 0 &&
            !out.here.batches,
        "here with batches false decodes as false");
    protocol_msg_clear (&out);
    errno = 0;
    ok (decode_text ("{'v':1,'type':'here','node':'a','pid':1,'cores':[0],'busy':0,"
                     "'started_us':1,'version':'x','batches':'yes','nonce':'n'}",
                     &out, &error) < 0 &&
            errno == EPROTO &&
            strstr (error.text, "'batches' missing or not true or false"),
        "here with batches 'yes' is refused: %s", error.text);
    protocol_msg_clear (&out);
}

/* The three items of the "results" tests: data on the first and the last,
 * the middle one failed. */
static void three_items (struct protocol_result items[3])
{
    for (int i = 0; i < 3; i++)
        items[i] = batch_item (i);
    items[0].data = "abc";
    items[0].data_len = 3;
    items[1].status = PROTOCOL_FAILED;
    items[1].code = 127;
    items[1].error = "exec /bin/task: No such file or directory";
    items[2].data = "\0\nZ";
    items[2].data_len = 3;
}

static void test_results (void)
{
    struct protocol_msg msg = good (PROTOCOL_RESULTS), out;
    struct protocol_result items[3];
    char *body = NULL;
    bool own = true;

    check_wire (&msg,
                "{'v':1,'type':'results','job':'" JOB
                "','node':'b','slot':130,'local':2,'core':5,'cpus':'5','results':"
                "[{'rank':40,'attempt':1,'status':'exited','code':0,"
                "'start_us':1795371475334785,'end_us':1795371475335785,'data':3}]}",
                "42\n", 3, "results of one item encodes as documented");
    ok (encode_decode (&msg, &out, &body) == 0 && out.type == PROTOCOL_RESULTS &&
            same (out.job, JOB) && out.results.n == 1,
        "results of one item round-trips");
    if (out.results.n == 1) {
        const struct protocol_result *r = &out.results.items[0];
        ok (r->rank == 40 && r->attempt == 1 && same (r->node, "b") && r->slot == 130 &&
                r->local == 2 && r->core == 5 && same (r->cpus, "5") &&
                r->status == PROTOCOL_EXITED && r->code == 0 &&
                r->start_us == 1795371475334785LL && r->end_us == 1795371475335785LL &&
                r->error == NULL,
            "the item has every field of a result");
        ok (r->data_len == 3 && r->data && memcmp (r->data, "42\n", 3) == 0 &&
                r->data > body,
            "the item's data borrows the body");
    }
    protocol_msg_clear (&out);
    free (body);

    three_items (items);
    msg.results = (struct protocol_results){.n = 3, .items = items};
    check_wire (&msg,
                "{'v':1,'type':'results','job':'" JOB
                "','node':'b','slot':130,'local':2,'core':5,'cpus':'5','results':["
                "{'rank':40,'attempt':1,'status':'exited','code':0,"
                "'start_us':1795371475334785,'end_us':1795371475335785,'data':3},"
                "{'rank':41,'attempt':1,'status':'failed','code':127,"
                "'start_us':1795371475335785,'end_us':1795371475336785,"
                "'error':'exec /bin/task: No such file or directory'},"
                "{'rank':42,'attempt':1,'status':'exited','code':2,"
                "'start_us':1795371475336785,'end_us':1795371475337785,'data':3}]}",
                "abc\0\nZ", 6, "results of three items: the data in item order");
    if (!ok (encode_decode (&msg, &out, &body) == 0 && out.results.n == 3,
             "results of three items round-trips")) {
        protocol_msg_clear (&out);
        free (body);
        return;
    }
    const struct protocol_result *r = out.results.items;
    for (int i = 0; i < 3; i++) {
        ok (r[i].rank == 40 + i && r[i].attempt == 1 && r[i].code == items[i].code &&
                r[i].status == items[i].status && r[i].start_us == items[i].start_us &&
                r[i].end_us == items[i].end_us,
            "item %d: rank, attempt, status, code, times", i);
        ok (r[i].data_len == items[i].data_len &&
                (items[i].data_len == 0
                     ? r[i].data == NULL
                     : memcmp (r[i].data, items[i].data, items[i].data_len) == 0),
            "item %d: its own %zu bytes of data", i, items[i].data_len);
        own = own && same (r[i].node, "b") && same (r[i].cpus, "5") &&
              r[i].slot == 130 && r[i].local == 2 && r[i].core == 5 &&
              (i == 0 || (r[i].node != r[0].node && r[i].cpus != r[0].cpus));
    }
    ok (own, "each item has the slot's fields, in strings of its own");
    ok (same (r[1].error, items[1].error) && !r[0].error && !r[2].error,
        "only the failed item has an error");

    /* The launcher takes an item over and zeroes it in the message. */
    struct protocol_result taken = out.results.items[1];
    memset (&out.results.items[1], 0, sizeof (taken));
    protocol_msg_clear (&out);
    ok (out.results.items == NULL && out.results.n == 0 && same (taken.node, "b") &&
            same (taken.error, items[1].error),
        "an item taken over outlives the cleared message");
    free (taken.node);
    free (taken.cpus);
    free (taken.error);
    free (body);

    /* Without cpus (an older daemon), and without any data: no payload. */
    for (int i = 0; i < 3; i++) {
        items[i].cpus = NULL;
        items[i].data = NULL;
        items[i].data_len = 0;
    }
    size_t len;
    body = protocol_encode (&msg, &len, NULL);
    ok (body && !memchr (body, '\n', len) && !strstr (body, "cpus") &&
            protocol_decode (body, len, &out, NULL) == 0 && out.results.n == 3 &&
            !out.results.items[2].cpus && !out.results.items[2].data,
        "results without cpus or data: no payload, and none decoded");
    protocol_msg_clear (&out);
    free (body);

    /* The largest batch. */
    struct protocol_result *many = calloc (PROTOCOL_MAX_BATCH, sizeof (*many));
    if (!many)
        bail_out ("out of memory");
    for (int i = 0; i < PROTOCOL_MAX_BATCH; i++) {
        many[i] = batch_item (i);
        many[i].data = "x";
        many[i].data_len = 1;
    }
    msg.results = (struct protocol_results){.n = PROTOCOL_MAX_BATCH, .items = many};
    ok (encode_decode (&msg, &out, &body) == 0 && out.results.n == PROTOCOL_MAX_BATCH &&
            out.results.items[PROTOCOL_MAX_BATCH - 1].rank ==
                40 + PROTOCOL_MAX_BATCH - 1 &&
            out.results.items[PROTOCOL_MAX_BATCH - 1].data ==
                out.results.items[0].data + PROTOCOL_MAX_BATCH - 1,
        "results of %d items round-trip", PROTOCOL_MAX_BATCH);
    protocol_msg_clear (&out);
    free (body);
    msg.results.n = PROTOCOL_MAX_BATCH + 1;
    check_encode_refused (&msg, "'results' missing or not an array of 1 to 1024",
                          "results of 1025 items");
    free (many);
}

/* A "results" body: its head, and an item of rank r with more fields. */
#define RESULTS_HEAD \
    "{'v':1,'type':'results','job':'j','node':'b','slot':0,'local':0,'core':0,"
#define ITEM(r, more)                                       \
    "{'rank':" #r                                           \
    ",'attempt':1,'status':'exited','code':0,'start_us':1," \
    "'end_us':2" more "}"

static void test_results_refused (void)
{
    static const char *const bad[][2] = {
        {RESULTS_HEAD "'results':[" ITEM (1, ",'data':3") "]}\nabcde",
         "results message: the items' data add up to 3 bytes but 5 follow"},
        {RESULTS_HEAD
         "'results':[" ITEM (1, ",'data':3") "," ITEM (2, ",'data':2") "]}"
                                                                       "\nabc",
         "the items' data add up to 5 bytes but 3 follow"},
        {RESULTS_HEAD "'results':[" ITEM (1, ",'data':3") "]}",
         "the items' data add up to 3 bytes but 0 follow"},
        {RESULTS_HEAD "'results':[" ITEM (1, "") "]}\nab",
         "the items' data add up to 0 bytes but 2 follow"},
        {RESULTS_HEAD "'results':[]}",
         "'results' missing or not an array of 1 to 1024 result objects"},
        {RESULTS_HEAD "'results':{}}", "'results'"},
        {RESULTS_HEAD "'results':[" ITEM (1, "") ",3]}",
         "'results[1]' missing or not an object"},
        {RESULTS_HEAD "'results':[" ITEM (1, "") ",{'rank':2,'status':'exited',"
                                                 "'code':0,'start_us':1,'end_us':2}]}",
         "field 'results[1].attempt' missing or not a positive integer"},
        {RESULTS_HEAD "'results':[" ITEM (-1, "") "]}", "'results[0].rank'"},
        {RESULTS_HEAD "'results':[{'rank':1,'attempt':1,'status':'failed','code':1,"
                      "'start_us':1,'end_us':2}]}",
         "'results[0].error'"},
        {RESULTS_HEAD "'results':[" ITEM (1, ",'data':1048577") "]}",
         "'results[0].data'"},
        {RESULTS_HEAD "'results':[" ITEM (1, ",'data':-1") "]}", "'results[0].data'"},
        {"{'v':1,'type':'results','job':'j','slot':0,'local':0,'core':0,'results':"
         "[" ITEM (1, "") "]}",
         "field 'node'"},
        {RESULTS_HEAD "'cpus':'','results':[" ITEM (1, "") "]}", "field 'cpus'"},
        {"{'v':1,'type':'results','node':'b','slot':0,'local':0,'core':0,'results':"
         "[" ITEM (1, "") "]}",
         "'job'"},
    };
    struct krun_error error = {{0}};
    struct protocol_msg out;

    for (size_t i = 0; i < LEN (bad); i++) {
        errno = 0;
        ok (decode_text (bad[i][0], &out, &error) < 0 && errno == EPROTO &&
                strstr (error.text, bad[i][1]),
            "results refused (case %zu): %s", i, error.text);
        /* Freed however far decoding came (valgrind, ASan). */
        protocol_msg_clear (&out);
    }

    /* Items that did not run where the first one did. */
    struct protocol_msg msg = good (PROTOCOL_RESULTS);
    struct protocol_result items[3];
    static const struct {
        int item;
        const char *field;
    } differ[] = {{1, "node"}, {1, "node"}, {1, "slot"}, {2, "local"},
                  {2, "core"}, {1, "cpus"}, {2, "cpus"}};
    for (size_t i = 0; i < LEN (differ); i++) {
        char names[64];
        three_items (items);
        msg.results = (struct protocol_results){.n = 3, .items = items};
        switch (i) {
            case 0:
                items[1].node = "a";
                break;
            case 1:
                items[1].node = NULL;
                break;
            case 2:
                items[1].slot = 131;
                break;
            case 3:
                items[2].local = 3;
                break;
            case 4:
                items[2].core = -1;
                break;
            case 5:
                items[1].cpus = NULL;
                break;
            case 6:
                items[2].cpus = "5-6";
                break;
        }
        snprintf (names, sizeof (names), "'results[%d].%s' missing or not the same",
                  differ[i].item, differ[i].field);
        check_encode_refused (&msg, names, names);
    }
    three_items (items);
    msg.results.n = 0;
    check_encode_refused (&msg, "'results'", "results of no items");
    msg.results = (struct protocol_results){.n = 3, .items = NULL};
    check_encode_refused (&msg, "'results'", "results without items");
    msg.results.items = items;
    items[0].node = "";
    check_encode_refused (&msg, "field 'node'", "an empty node in the first item");
    three_items (items);
    items[2].data = NULL;
    check_encode_refused (&msg, "'results[2].data'", "a data length without data");
    three_items (items);
    items[1].error = NULL;
    check_encode_refused (&msg, "'results[1].error'", "a failed item without error");
}

int main (void)
{
    plan (NO_PLAN);
    test_wire_form ();
    test_round_trip_simple ();
    test_round_trip_here ();
    test_round_trip_presence ();
    test_round_trip_announce ();
    test_round_trip_result ();
    test_time_stamps ();
    test_odd_strings ();
    test_output ();
    test_unterminated ();
    test_accepted ();
    test_bad_bodies ();
    test_bad_bodies_built ();
    test_array_limits ();
    test_truncated ();
    test_corrupted ();
    test_bad_encodes ();
    test_names ();
    test_clear ();
    test_optional_timeout ();
    test_inherit_fields ();
    test_payloads ();
    test_payload_limits ();
    test_bad_payloads ();
    test_job_ids ();
    test_here_jobs ();
    test_here_jobs_refused ();
    test_task_count ();
    test_here_batches ();
    test_results ();
    test_results_refused ();
    done_testing ();
    return exit_status ();
}
