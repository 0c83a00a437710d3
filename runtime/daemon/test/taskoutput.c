/* Unit tests of taskoutput: output gathered into whole lines, a long line
 * in pieces, flushing, and the output limit with its marker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "taskoutput.h"
#include "tests/tap.h"

/* What was sent, message by message: "<stream>:<bytes>|" each. */
static char sent[1 << 20];
static int messages;

static void record (void *arg, int stream, const char *data, size_t len)
{
    size_t used = strlen (sent);

    (void)arg;
    snprintf (sent + used, sizeof (sent) - used, "%d:%.*s|", stream, (int)len, data);
    messages++;
}

static void reset_sent (void)
{
    sent[0] = '\0';
    messages = 0;
}

/* Put text into stream's buffer as if read from the task, then forward. */
static void feed (struct taskoutput *o, int stream, const char *text, bool flush)
{
    size_t room, len = strlen (text);
    char *space = taskoutput_space (o, stream, &room);

    if (len > room)
        bail_out ("feed: %zu bytes do not fit in %zu", len, room);
    memcpy (space, text, len);
    taskoutput_append (o, stream, len);
    taskoutput_forward (o, stream, flush);
}

static void test_lines (struct taskoutput *o)
{
    taskoutput_reset (o, 0, 0);
    reset_sent ();
    feed (o, 1, "partial", false);
    is_str (sent, "", "a line without its newline waits");
    feed (o, 1, " line\nnext", false);
    is_str (sent, "1:partial line\n|",
            "it goes once its newline comes, the rest waits");
    feed (o, 2, "err1\nerr2\n", false);
    is_str (sent, "1:partial line\n|2:err1\nerr2\n|",
            "stderr has its own buffer; complete lines go in one message");
    taskoutput_forward (o, 1, true);
    is_str (sent, "1:partial line\n|2:err1\nerr2\n|1:next|",
            "flushing sends the unfinished line");
    taskoutput_forward (o, 1, true);
    is_int (messages, 3, "an empty buffer sends nothing");
}

static void test_long_line (struct taskoutput *o)
{
    size_t room;
    char *space;

    taskoutput_reset (o, 0, 0);
    reset_sent ();
    space = taskoutput_space (o, 1, &room);
    is_int (room, PROTOCOL_MAX_OUTPUT_CHUNK, "an empty buffer has room for one chunk");
    memset (space, 'x', room);
    taskoutput_append (o, 1, room);
    taskoutput_space (o, 1, &room);
    is_int (room, 0, "a full buffer has no room");
    taskoutput_forward (o, 1, false);
    ok (messages == 1 && strlen (sent) == PROTOCOL_MAX_OUTPUT_CHUNK + 3,
        "a buffer full of one line goes without its newline, as one chunk");
    taskoutput_space (o, 1, &room);
    is_int (room, PROTOCOL_MAX_OUTPUT_CHUNK, "and the buffer is empty again");
}

static void test_limit (struct taskoutput *o)
{
    taskoutput_reset (o, 7, 10);
    reset_sent ();
    feed (o, 1, "12345\n", false);
    is_str (sent, "1:12345\n|", "under the limit output goes");
    ok (!taskoutput_capped (o), "not capped yet");
    feed (o, 2, "abcdefgh\n", false);
    ok (strncmp (
            sent, "1:12345\n|2:abcd|2:\n[krun: output of rank 7 cut at 10 bytes",
            strlen ("1:12345\n|2:abcd|2:\n[krun: output of rank 7 cut at 10 bytes")) ==
            0,
        "the bytes up to the limit, then the marker on the stream that crossed it");
    ok (taskoutput_capped (o), "capped");
    is_int (messages, 3, "three messages so far");
    feed (o, 1, "more\n", false);
    feed (o, 2, "more\n", true);
    is_int (messages, 3, "nothing after the marker");
    size_t room;
    taskoutput_space (o, 1, &room);
    is_int (room, PROTOCOL_MAX_OUTPUT_CHUNK, "but the buffers are still drained");

    taskoutput_reset (o, 8, 6);
    reset_sent ();
    ok (!taskoutput_capped (o), "a new task starts uncapped");
    feed (o, 1, "12345\n", false);
    is_str (sent, "1:12345\n|", "exactly the limit goes whole");
    feed (o, 1, "x\n", false);
    ok (strncmp (sent, "1:12345\n|1:\n[krun: output of rank 8 cut at 6 bytes",
                 strlen ("1:12345\n|1:\n[krun: output of rank 8 cut at 6 bytes")) == 0,
        "a byte over: only the marker");
}

int main (void)
{
    struct taskoutput *o = taskoutput_create (record, NULL);

    plan (NO_PLAN);
    if (!o)
        bail_out ("taskoutput_create");
    test_lines (o);
    test_long_line (o);
    test_limit (o);
    taskoutput_destroy (o);
    done_testing ();
    return exit_status ();
}
