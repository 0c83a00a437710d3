/* progress.c - see progress.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
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

/* Into a file or pipe (--progress), a line only when something changed,
 * and at most this often: a log of a long job stays readable. */
#define LOG_INTERVAL_MS 2000

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
    bool shown;    /* a line is on the terminal and would need erasing */
    int logged[4]; /* done, running, failed, percent of the last line in a log */
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
    p->drawn_ms = p->start_ms - LOG_INTERVAL_MS;
    p->logged[0] = -1;
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

/* The fields of the line, in the order they are shown.  When the line is
 * too wide for the terminal, the least useful go first: the nodes (the
 * last first), then the rate, the queued count, the percentage and the
 * running count.  done, failed and the ETA always stay. */
enum field { F_DONE, F_RUNNING, F_FAILED, F_QUEUED, F_PERCENT, F_RATE, F_ETA, NFIELDS };
static const enum field drop_order[] = {F_RATE, F_QUEUED, F_PERCENT, F_RUNNING};

/* Ranks done, plus the fractions the running ranks reported: they count
 * towards the percentage and the estimate. */
static double fraction_done (const struct progress *p)
{
    double partial = 0;

    for (int i = 0; i < p->size; i++)
        if (p->ranks[i].state == RUNNING)
            partial += p->ranks[i].fraction;
    return p->done + partial;
}

/* Whole percent, rounded down: 100% only when every rank is done. */
static int percent_done (const struct progress *p)
{
    int percent = (int)(100 * fraction_done (p) / p->size);

    return percent == 100 && p->done < p->size ? 99 : percent;
}

/* Append to buf at *n, never beyond size (NUL-terminated, cut). */
static void append (char *buf, size_t size, size_t *n, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static void append (char *buf, size_t size, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (*n + 1 >= size)
        return;
    va_start (ap, fmt);
    k = vsnprintf (buf + *n, size - *n, fmt, ap);
    va_end (ap);
    *n = k < 0 ? *n : *n + k < size ? *n + k : size - 1;
}

/* The line with the fields in show[] and the first nodes nodes. */
static size_t compose (const struct progress *p, int64_t now_ms,
                       const bool show[NFIELDS], int nodes, char *buf, size_t size)
{
    double elapsed = (now_ms - p->start_ms) / 1000.0;
    double rate = elapsed > 0 ? p->done / elapsed : 0;
    int queued = p->size - p->done - p->running;
    double done = fraction_done (p);
    char eta[32] = "?";
    size_t n = 0;

    if (p->done == p->size)
        format_duration (eta, sizeof (eta), 0);
    else if (done > 0 && elapsed > 0)
        format_duration (eta, sizeof (eta), elapsed * (p->size - done) / done);
    buf[0] = '\0';
    append (buf, size, &n, "krun: %d/%d done", p->done, p->size);
    if (show[F_RUNNING])
        append (buf, size, &n, ", %d running", p->running);
    append (buf, size, &n, ", %d failed", p->failed);
    if (show[F_QUEUED])
        append (buf, size, &n, ", %d queued", queued);
    if (show[F_PERCENT])
        append (buf, size, &n, " | %d%%", percent_done (p));
    if (show[F_RATE])
        append (buf, size, &n, " | %.1f tasks/s", rate);
    append (buf, size, &n, " | ETA %s", eta);
    for (int i = 0; i < nodes && i < p->nnodes; i++)
        append (buf, size, &n, "%s %s %d/%d", i == 0 ? " |" : "", p->nodes[i].name,
                p->nodes[i].busy, p->nodes[i].slots);
    return n;
}

const char *progress_text_fit (struct progress *p, int64_t now_ms, int width, char *buf,
                               size_t size)
{
    bool show[NFIELDS];
    int nodes = p->nnodes;
    size_t drop = 0;

    for (int f = 0; f < NFIELDS; f++)
        show[f] = true;
    while (compose (p, now_ms, show, nodes, buf, size) > (size_t)width && width > 0) {
        if (nodes > 0)
            nodes--;
        else if (drop < sizeof (drop_order) / sizeof (drop_order[0]))
            show[drop_order[drop++]] = false;
        else {
            /* Narrower than the essentials: cut, but never wrap. */
            if ((size_t)width < size)
                buf[width] = '\0';
            break;
        }
    }
    return buf;
}

const char *progress_text (struct progress *p, int64_t now_ms, char *buf, size_t size)
{
    return progress_text_fit (p, now_ms, 0, buf, size);
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
    int n = snprintf (line, sizeof (line), "%s%s%s%s", p->tty ? "\r" : "", text,
                      p->tty ? "\033[K" : "", end);

    if (n > (int)sizeof (line) - 1)
        n = sizeof (line) - 1;
    if (write (p->fd, line, n) < 0) {
        /* A status line that cannot be shown is not worth failing for. */
    }
}

/* What a line in a log says that matters: a line that would say the same
 * (only the rate and ETA moved) is not written again. */
static bool log_line_changed (const struct progress *p)
{
    const int *l = p->logged;

    return l[0] != p->done || l[1] != p->running || l[2] != p->failed ||
           l[3] != percent_done (p);
}

static void log_line_written (struct progress *p)
{
    p->logged[0] = p->done;
    p->logged[1] = p->running;
    p->logged[2] = p->failed;
    p->logged[3] = percent_done (p);
}

void progress_draw (struct progress *p, int64_t now_ms, bool force)
{
    char text[900];

    if (p->tty) {
        /* A line erased for output comes back at once: never blank longer
         * than the output takes to write. */
        if (!force && p->shown && now_ms - p->drawn_ms < REDRAW_MS)
            return;
        /* One column short of the width: a line that wraps could not be
         * redrawn in place. */
        progress_text_fit (p, now_ms, terminal_width (p->fd) - 1, text, sizeof (text));
        write_line (p, text, "");
        p->shown = true;
    } else {
        if (!force && (now_ms - p->drawn_ms < LOG_INTERVAL_MS || !log_line_changed (p)))
            return;
        log_line_written (p);
        write_line (p, progress_text (p, now_ms, text, sizeof (text)), "\n");
    }
    p->drawn_ms = now_ms;
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

    /* The final line stays: whole, even if it wraps. */
    write_line (p, progress_text (p, now_ms, text, sizeof (text)), "\n");
    p->shown = false;
}
