/* progress.c - see progress.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"

/* Redraw at most this often: fast enough to feel live, rare enough to cost
 * nothing next to the tasks' output. */
#define REDRAW_MS 250

enum rank_state { QUEUED = 0, RUNNING, DONE };

struct node {
    char *name;
    int slots;
    int busy;
};

struct rank {
    unsigned char state;
    short node; /* index into nodes while running, -1 if unknown */
    float fraction;
};

struct progress {
    int fd;
    bool tty;
    int size;
    struct rank *ranks;
    struct node *nodes;
    int nnodes;
    int running, done, failed;
    int64_t start_ms, drawn_ms;
    bool shown; /* a line is on the terminal and would need erasing */
};

struct progress *progress_create (int size, int fd)
{
    struct progress *p = calloc (1, sizeof (*p));

    if (!p || !(p->ranks = calloc (size > 0 ? size : 1, sizeof (*p->ranks)))) {
        free (p);
        errno = ENOMEM;
        return NULL;
    }
    for (int i = 0; i < size; i++)
        p->ranks[i].node = -1;
    p->fd = fd;
    p->tty = isatty (fd);
    p->size = size;
    p->start_ms = clock_mono_ms ();
    return p;
}

void progress_destroy (struct progress *p)
{
    if (p) {
        for (int i = 0; i < p->nnodes; i++)
            free (p->nodes[i].name);
        free (p->nodes);
        free (p->ranks);
        free (p);
    }
}

int progress_add_node (struct progress *p, const char *name, int slots)
{
    struct node *n = realloc (p->nodes, (p->nnodes + 1) * sizeof (*n));

    if (!n)
        return -1;
    p->nodes = n;
    if (!(n[p->nnodes].name = strdup (name)))
        return -1;
    n[p->nnodes].slots = slots;
    n[p->nnodes].busy = 0;
    p->nnodes++;
    return 0;
}

static int find_node (const struct progress *p, const char *name)
{
    for (int i = 0; i < p->nnodes && i < 32767; i++)
        if (strcmp (p->nodes[i].name, name) == 0)
            return i;
    return -1;
}

void progress_rank_running (struct progress *p, int rank, const char *node,
                            double fraction)
{
    struct rank *r;

    if (rank < 0 || rank >= p->size || p->ranks[rank].state == DONE)
        return;
    r = &p->ranks[rank];
    if (r->state == QUEUED) {
        r->state = RUNNING;
        p->running++;
    }
    int k = find_node (p, node);
    if (k != r->node) {
        if (r->node >= 0)
            p->nodes[r->node].busy--;
        if (k >= 0)
            p->nodes[k].busy++;
        r->node = (short)k;
    }
    r->fraction = (float)fraction;
}

void progress_rank_done (struct progress *p, int rank, bool failed)
{
    struct rank *r;

    if (!p || rank < 0 || rank >= p->size || p->ranks[rank].state == DONE)
        return;
    r = &p->ranks[rank];
    if (r->state == RUNNING) {
        p->running--;
        if (r->node >= 0)
            p->nodes[r->node].busy--;
    }
    r->state = DONE;
    r->node = -1;
    p->done++;
    if (failed)
        p->failed++;
}

static void format_duration (char *buf, size_t size, double seconds)
{
    long s = (long)(seconds + 0.5);

    if (s >= 3600)
        snprintf (buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf (buf, size, "%ld:%02ld", s / 60, s % 60);
}

const char *progress_text (struct progress *p, int64_t now_ms, char *buf, size_t size)
{
    double elapsed = (now_ms - p->start_ms) / 1000.0;
    double rate = elapsed > 0 ? p->done / elapsed : 0;
    double partial = 0;
    int queued = p->size - p->done - p->running;
    char eta[32] = "?";
    size_t n;

    /* The running ranks' own fractions count towards the estimate. */
    for (int i = 0; i < p->size; i++)
        if (p->ranks[i].state == RUNNING)
            partial += p->ranks[i].fraction;
    if (p->done == p->size)
        format_duration (eta, sizeof (eta), 0);
    else if (p->done + partial > 0 && elapsed > 0)
        format_duration (eta, sizeof (eta),
                         elapsed * (p->size - p->done - partial) / (p->done + partial));
    /* Whole percent, rounded down: 100% only when every rank is done. */
    int percent = (int)(100 * (p->done + partial) / p->size);
    if (percent == 100 && p->done < p->size)
        percent = 99;
    n = snprintf (buf, size,
                  "krun: %d/%d done, %d running, %d failed, %d queued | %d%% | "
                  "%.1f tasks/s | ETA %s",
                  p->done, p->size, p->running, p->failed, queued, percent, rate, eta);
    for (int i = 0; i < p->nnodes && n < size; i++)
        n += snprintf (buf + n, size - n, "%s %s %d/%d", i == 0 ? " |" : "",
                       p->nodes[i].name, p->nodes[i].busy, p->nodes[i].slots);
    return buf;
}

/* Columns of the terminal, asked at each redraw (it may be resized). */
static int terminal_width (int fd)
{
    struct winsize ws;

    return ioctl (fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

static void write_line (struct progress *p, const char *text, const char *end)
{
    char line[1024];
    /* On a terminal a line that wraps could not be redrawn in place: cut a
     * redrawn line one column short of the width (the node list goes
     * first).  The final line, which stays, is whole. */
    int width = p->tty && !*end ? terminal_width (p->fd) - 1 : (int)strlen (text);
    int n = snprintf (line, sizeof (line), "%s%.*s%s%s", p->tty ? "\r" : "",
                      width > 0 ? width : 0, text, p->tty ? "\033[K" : "", end);
    if (n > (int)sizeof (line) - 1)
        n = sizeof (line) - 1;
    if (write (p->fd, line, n) < 0) {
        /* A status line that cannot be shown is not worth failing for. */
    }
}

void progress_draw (struct progress *p, int64_t now_ms, bool force)
{
    char text[900];

    if (!force && now_ms - p->drawn_ms < REDRAW_MS)
        return;
    p->drawn_ms = now_ms;
    write_line (p, progress_text (p, now_ms, text, sizeof (text)), p->tty ? "" : "\n");
    p->shown = p->tty;
}

void progress_erase (struct progress *p)
{
    if (p && p->shown) {
        if (write (p->fd, "\r\033[K", 4) < 0) {
            /* nothing to do */
        }
        p->shown = false;
    }
}

void progress_finish (struct progress *p, int64_t now_ms)
{
    char text[900];

    write_line (p, progress_text (p, now_ms, text, sizeof (text)), "\n");
    p->shown = false;
}
