/* Unit tests of the slot's control channel reader (runtime/taskchannel.c):
 * records split at every byte, several in one piece, and broken records. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libkrun/record.h"
#include "protocol.h"
#include "taskchannel.h"
#include "tests/tap.h"

/* Append one record to buf at *len. */
static void put (char *buf, size_t *len, char type, const char *payload, size_t n)
{
    record_header_pack ((unsigned char *)buf + *len, type, (uint32_t)n);
    memcpy (buf + *len + RECORD_HEADER_SIZE, payload, n);
    *len += RECORD_HEADER_SIZE + n;
}

static void test_pieces (void)
{
    char stream[256];
    size_t len = 0, rlen;
    double f;

    put (stream, &len, RECORD_PROGRESS, "500000", 6);
    put (stream, &len, RECORD_RESULT, "ab\0c", 4);
    put (stream, &len, RECORD_RESULT, "", 0);
    put (stream, &len, RECORD_PROGRESS, "1000000", 7);
    /* Every split point, byte by byte and in two halves. */
    bool all = true;
    for (size_t cut = 0; cut <= len; cut++) {
        struct taskchannel *c = taskchannel_create ();
        if (!c)
            bail_out ("out of memory");
        if (taskchannel_feed (c, stream, cut, NULL) < 0 ||
            taskchannel_feed (c, stream + cut, len - cut, NULL) < 0)
            all = false;
        const char *r = taskchannel_result (c, &rlen);
        if (!r || rlen != 0 || !taskchannel_take_progress (c, &f) || f != 1.0)
            all = false;
        taskchannel_destroy (c);
    }
    ok (all, "records split at any byte: last result (empty) and progress 1.0");

    struct taskchannel *c = taskchannel_create ();
    for (size_t i = 0; i < 30; i++)
        taskchannel_feed (c, stream + i, 1, NULL);
    ok (taskchannel_take_progress (c, &f) && f == 0.5, "byte by byte: progress 0.5");
    const char *r = taskchannel_result (c, &rlen);
    ok (r && rlen == 4 && memcmp (r, "ab\0c", 4) == 0, "byte by byte: binary result");
    taskchannel_reset (c);
    ok (taskchannel_result (c, &rlen) == NULL && rlen == 0 &&
            !taskchannel_take_progress (c, &f),
        "reset forgets result and progress");
    taskchannel_destroy (c);
    taskchannel_destroy (NULL);
}

static void test_broken (void)
{
    unsigned char header[RECORD_HEADER_SIZE];
    struct krun_error error;
    struct {
        char type;
        uint32_t len;
        const char *payload;
        const char *needle;
    } cases[] = {
        {'X', 1, "a", "unknown record type"},
        {RECORD_RESULT, PROTOCOL_MAX_RESULT + 1, "", "over the limit"},
        {RECORD_PROGRESS, 0, "", "bad progress length"},
        {RECORD_PROGRESS, 40, "", "bad progress length"},
        {RECORD_PROGRESS, 3, "abc", "bad progress value"},
        {RECORD_PROGRESS, 7, "1000001", "bad progress value"},
        {RECORD_PROGRESS, 2, "-1", "bad progress value"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        struct taskchannel *c = taskchannel_create ();
        size_t rlen;
        record_header_pack (header, cases[i].type, cases[i].len);
        errno = 0;
        int rc = taskchannel_feed (c, header, sizeof (header), &error);
        if (rc == 0)
            rc = taskchannel_feed (c, cases[i].payload, strlen (cases[i].payload),
                                   &error);
        ok (rc < 0 && errno == EPROTO && strstr (error.text, cases[i].needle),
            "broken record %zu refused: %s", i, rc < 0 ? error.text : "accepted");
        /* Broken: a valid record after it is ignored. */
        char more[32];
        size_t len = 0;
        put (more, &len, RECORD_RESULT, "ok", 2);
        ok (taskchannel_feed (c, more, len, NULL) == 0 &&
                taskchannel_result (c, &rlen) == NULL,
            "after a broken record the channel ignores the rest");
        taskchannel_destroy (c);
    }
}

int main (void)
{
    plan (NO_PLAN);
    test_pieces ();
    test_broken ();
    done_testing ();
    return exit_status ();
}
