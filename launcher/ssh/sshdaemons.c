/* sshdaemons.c - see sshdaemons.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sshdaemons.h"
#include "sshexec.h"

/* Most records `krun down` stops at once. */
#define SSHDAEMONS_MAX 4096
#define RECORD_PREFIX "ssh-"
#define RECORD_SUFFIX ".krund"

static void record_path (const struct sshdaemons *d, const char *host, char *buf,
                         size_t size)
{
    snprintf (buf, size, "%s/" RECORD_PREFIX "%s" RECORD_SUFFIX, d->state_dir, host);
}

/* Write "PID:TICKS" for host, replacing a record made before. */
static int record (const struct sshdaemons *d, const char *host, const char *id,
                   struct krun_error *errp)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    int fd;

    record_path (d, host, path, sizeof (path));
    snprintf (tmp, sizeof (tmp), "%s.XXXXXX", path);
    if ((fd = mkostemp (tmp, O_CLOEXEC)) < 0)
        return errprintf_errno (errp, "cannot record the daemon of host %s", host);
    if (dprintf (fd, "%s\n", id) < 0 || close (fd) < 0 || rename (tmp, path) < 0) {
        unlink (tmp);
        return errprintf_errno (errp, "cannot record the daemon of host %s in %s", host,
                                path);
    }
    return 0;
}

bool sshdaemons_recorded (const struct sshdaemons *d, const char *host)
{
    char path[PATH_MAX];

    record_path (d, host, path, sizeof (path));
    return access (path, F_OK) == 0;
}

/* The "PID:TICKS" of krund --detach's line "krund pid PID start TICKS log
 * PATH" into id.  Returns 0, or -1 if out holds no such line. */
static int parse_started (const char *out, char *id, size_t size)
{
    const char *line = strstr (out, "krund pid ");
    int pid;
    unsigned long long ticks;

    if (!line || (line != out && line[-1] != '\n') ||
        sscanf (line, "krund pid %d start %llu", &pid, &ticks) != 2 || pid <= 0)
        return -1;
    snprintf (id, size, "%d:%llu", pid, ticks);
    return 0;
}

/* Why run r failed, in one line: the last line of its error output, or its
 * status. */
static void report (const char *host, const struct sshexec *r, const char *what)
{
    char why[512];

    sshexec_last_line (r->err, why, sizeof (why));
    if (!*why)
        snprintf (why, sizeof (why), "%s exited with status %d", what, r->status);
    fprintf (stderr, "krun: host %s: %s\n", host, why);
}

int sshdaemons_start (const struct sshdaemons *d, const struct hostfile *hosts,
                      bool *start, const void *secrets, size_t len,
                      struct krun_error *errp)
{
    int n = hostfile_count (hosts), nruns = 0, started = 0;
    struct sshexec *runs = calloc (n > 0 ? n : 1, sizeof (*runs));
    const char **words = calloc (n > 0 ? n : 1, 16 * sizeof (char *));
    char (*numbers)[2][16] = calloc (n > 0 ? n : 1, sizeof (*numbers));
    int *index = calloc (n > 0 ? n : 1, sizeof (*index));

    if (!runs || !words || !numbers || !index) {
        errprintf_errno (errp, "cannot start daemons through ssh");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const char **w = words + 16 * i;
        int k = 0;
        if (!start[i])
            continue;
        w[k++] = d->krund;
        w[k++] = "--secrets-stdin";
        w[k++] = "--detach";
        w[k++] = "--node";
        w[k++] = hostfile_node (hosts, i);
        w[k++] = "--idle-timeout";
        snprintf (numbers[i][0], sizeof (numbers[i][0]), "%d", d->idle_timeout);
        w[k++] = numbers[i][0];
        if (hostfile_slots (hosts, i) > 0) {
            snprintf (numbers[i][1], sizeof (numbers[i][1]), "%d",
                      hostfile_slots (hosts, i));
            w[k++] = "--slots";
            w[k++] = numbers[i][1];
        }
        if (d->pool) {
            w[k++] = "--pool";
            w[k++] = d->pool;
        }
        w[k] = NULL;
        runs[nruns] = (struct sshexec){.host = hostfile_host (hosts, i), .command = w};
        index[nruns++] = i;
    }
    if (nruns > 0 &&
        sshexec_run (d->ssh_command, runs, nruns, secrets, len, d->connect_timeout,
                     d->connect_timeout * 1000 + SSHDAEMONS_START_MS, errp) < 0) {
        started = -1;
        goto done;
    }
    for (int j = 0; j < nruns; j++) {
        char id[64];
        if (runs[j].status == 0 && parse_started (runs[j].out, id, sizeof (id)) == 0 &&
            record (d, runs[j].host, id, errp) == 0) {
            started++;
            continue;
        }
        if (runs[j].status == 0)
            fprintf (stderr, "krun: host %s: krund started but said '%.100s'\n",
                     runs[j].host, runs[j].out);
        else
            report (runs[j].host, &runs[j], "ssh");
        start[index[j]] = false;
    }
    sshexec_clear (runs, nruns);
done:
    free (runs);
    free (words);
    free (numbers);
    free (index);
    return started;
}

/* Whether name is one of the n only (or only is NULL). */
static bool wanted (const char *name, const char *const only[], int n)
{
    for (int i = 0; only && i < n; i++)
        if (strcmp (only[i], name) == 0)
            return true;
    return !only;
}

/* The hosts and ids of the records in state_dir (of the nonly hosts only,
 * unless only is NULL), at most max.  Returns the count; hosts[i] and
 * ids[i] are malloc'd. */
static int read_records (const char *state_dir, const char *const only[], int nonly,
                         char **hosts, char **ids, int max)
{
    size_t plen = strlen (RECORD_PREFIX), slen = strlen (RECORD_SUFFIX);
    DIR *dir = opendir (state_dir);
    struct dirent *e;
    int n = 0;

    if (!dir)
        return 0;
    while ((e = readdir (dir)) && n < max) {
        size_t len = strlen (e->d_name);
        char path[PATH_MAX], id[64] = "";
        FILE *f;
        if (len <= plen + slen || strncmp (e->d_name, RECORD_PREFIX, plen) != 0 ||
            strcmp (e->d_name + len - slen, RECORD_SUFFIX) != 0)
            continue;
        snprintf (path, sizeof (path), "%s/%s", state_dir, e->d_name);
        if (!(f = fopen (path, "re")))
            continue;
        if (fgets (id, sizeof (id), f))
            id[strcspn (id, "\n")] = '\0';
        fclose (f);
        hosts[n] = strndup (e->d_name + plen, len - plen - slen);
        ids[n] = strdup (id);
        if (!hosts[n] || !ids[n] || !wanted (hosts[n], only, nonly)) {
            free (hosts[n]);
            free (ids[n]);
            if (!hosts[n] || !ids[n])
                break;
            continue;
        }
        n++;
    }
    closedir (dir);
    return n;
}

static int stop (const struct sshdaemons *d, const char *const only[], int nonly,
                 struct krun_error *errp)
{
    char **hosts = calloc (SSHDAEMONS_MAX, sizeof (char *));
    char **ids = calloc (SSHDAEMONS_MAX, sizeof (char *));
    const char **words = calloc (SSHDAEMONS_MAX, 4 * sizeof (char *));
    struct sshexec *runs = calloc (SSHDAEMONS_MAX, sizeof (*runs));
    int n = 0, stopped = -1;

    if (!hosts || !ids || !words || !runs) {
        errprintf_errno (errp, "cannot stop the ssh daemons");
        goto done;
    }
    n = read_records (d->state_dir, only, nonly, hosts, ids, SSHDAEMONS_MAX);
    for (int i = 0; i < n; i++) {
        const char **w = words + 4 * i;
        w[0] = d->krund;
        w[1] = "--stop";
        w[2] = ids[i];
        w[3] = NULL;
        runs[i] = (struct sshexec){.host = hosts[i], .command = w};
    }
    if (n > 0 && sshexec_run (d->ssh_command, runs, n, NULL, 0, d->connect_timeout,
                              d->connect_timeout * 1000 + SSHDAEMONS_STOP_MS, errp) < 0)
        goto done;
    stopped = 0;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (runs[i].status != 0) {
            report (hosts[i], &runs[i], "krund --stop");
            continue;
        }
        record_path (d, hosts[i], path, sizeof (path));
        unlink (path);
        stopped++;
    }
    sshexec_clear (runs, n);
done:
    for (int i = 0; i < n; i++) {
        free (hosts[i]);
        free (ids[i]);
    }
    free (hosts);
    free (ids);
    free (words);
    free (runs);
    return stopped;
}

int sshdaemons_stop (const struct sshdaemons *d, struct krun_error *errp)
{
    return stop (d, NULL, 0, errp);
}

int sshdaemons_stop_hosts (const struct sshdaemons *d, const char *const hosts[], int n,
                           struct krun_error *errp)
{
    return n > 0 ? stop (d, hosts, n, errp) : 0;
}
