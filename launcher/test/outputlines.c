/* The ranks' output in whole lines (outputlines.h): held partial lines,
 * --tag-output prefixes (one write per line), long lines cut at the hold
 * limit and ended when another rank writes, the last line of a rank that
 * ended.  The sink records every write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outputlines.h"
#include "tests/tap.h"

struct record {
    char out[3][512]; /* everything per stream */
    char writes[32][64];
    int nwrites;
    int lost;
};

static void sink_write (void *arg, int rank, int stream, const char *data, size_t len)
{
    struct record *r = arg;

    (void)rank;
    strncat (r->out[stream], data, len);
    if (r->nwrites < 32)
        snprintf (r->writes[r->nwrites++], 64, "%d:%.*s", stream, (int)len, data);
}

static void sink_lost (void *arg, int rank, int stream, const char *why)
{
    (void)rank;
    (void)stream;
    (void)why;
    ((struct record *)arg)->lost++;
}

static struct outputlines *make (struct record *r, bool tag, size_t hold_max)
{
    struct outputlines_sink sink = {sink_write, sink_lost, r};

    memset (r, 0, sizeof (*r));
    return outputlines_create (4, tag, hold_max, &sink);
}

int main (void)
{
    struct record r;
    struct outputlines *o;

    plan (NO_PLAN);

    o = make (&r, false, 64);
    outputlines_add (o, 0, 1, "a\nb", 3);
    is_str (r.out[1], "a\n", "a complete line goes out, the rest is held");
    outputlines_add (o, 0, 1, "c\n", 2);
    is_str (r.out[1], "a\nbc\n", "the held part goes out with the end of its line");
    outputlines_add (o, 0, 2, "err", 3);
    outputlines_flush (o, 0);
    is_str (r.out[2], "err", "a rank's last line is written as it is when it ends");
    ok (outputlines_midline (o) && !outputlines_terminal_midline (o),
        "... and left open (not on a terminal)");
    outputlines_add (o, 1, 2, "next\n", 5);
    is_str (r.out[2], "err\nnext\n", "another rank's line ends it first");
    ok (r.lost == 0, "nothing lost");
    outputlines_destroy (o);

    o = make (&r, false, 64);
    outputlines_set_terminal (o, 1, true);
    outputlines_add (o, 0, 1, "tty", 3);
    outputlines_add (o, 0, 2, "pipe", 4);
    outputlines_flush (o, 0);
    is_str (r.out[1], "tty\n", "on a terminal the last line is ended at once");
    is_str (r.out[2], "pipe", "... on a pipe it stays as it is");
    ok (!outputlines_terminal_midline (o), "no line open on the terminal");
    outputlines_destroy (o);

    o = make (&r, false, 4);
    outputlines_set_terminal (o, 1, true);
    outputlines_add (o, 0, 1, "abcdefgh", 8);
    ok (outputlines_terminal_midline (o), "a long line open on a terminal");
    outputlines_end_terminal (o);
    is_str (r.out[1], "abcdefgh\n", "... ended before krun writes there");
    ok (!outputlines_midline (o), "... and closed");
    outputlines_destroy (o);

    o = make (&r, false, 64);
    outputlines_add (o, 0, 1, "hel", 3);
    outputlines_add (o, 1, 1, "world\n", 6);
    outputlines_add (o, 0, 1, "lo\n", 3);
    is_str (r.out[1], "world\nhello\n", "two ranks never share a line");
    outputlines_add (o, 4, 1, "x\n", 2);
    outputlines_add (o, 0, 3, "x\n", 2);
    is_str (r.out[1], "world\nhello\n", "a rank or stream out of range is ignored");
    outputlines_destroy (o);

    o = make (&r, true, 64);
    outputlines_add (o, 3, 1, "x\ny\n", 4);
    is_int (r.nwrites, 2, "--tag-output: one write per line");
    is_str (r.writes[0], "1:[3] x\n", "... each line prefixed with its rank");
    is_str (r.writes[1], "1:[3] y\n", "... the second too");
    outputlines_add (o, 2, 2, "part", 4);
    outputlines_add (o, 2, 2, "ial\n", 4);
    is_str (r.out[2], "[2] partial\n", "a line in two chunks is tagged once");
    outputlines_destroy (o);

    o = make (&r, false, 4);
    outputlines_add (o, 0, 1, "abcdefgh", 8);
    is_str (r.out[1], "abcdefgh", "a line longer than the hold limit goes out as is");
    ok (outputlines_midline (o), "... and is open");
    outputlines_add (o, 0, 1, "ij\nk", 4);
    is_str (r.out[1], "abcdefghij\n", "its rest continues it, up to its newline");
    ok (!outputlines_midline (o), "... which closes it");
    outputlines_flush (o, 0);
    is_str (r.out[1], "abcdefghij\nk", "what followed is held, then flushed as is");
    outputlines_destroy (o);

    o = make (&r, true, 4);
    outputlines_add (o, 0, 1, "abcdefgh", 8);
    outputlines_add (o, 1, 1, "x\n", 2);
    outputlines_add (o, 0, 1, "ij\n", 3);
    is_str (
        r.out[1], "[0] abcdefgh\n[1] x\n[0] ij\n",
        "another rank's line ends an open one first; its rest is a line of its own");
    outputlines_add (o, 2, 1, "abcdefgh", 8);
    outputlines_flush (o, 2);
    ok (outputlines_midline (o), "a rank that ends leaves its open line open");
    outputlines_add (o, 3, 1, "y\n", 2);
    is_str (r.out[1] + strlen ("[0] abcdefgh\n[1] x\n[0] ij\n"),
            "[2] abcdefgh\n[3] y\n", "... until another rank writes");
    outputlines_destroy (o);

    done_testing ();
    return exit_status ();
}
