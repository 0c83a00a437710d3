/* cgroup.c - see cgroup.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "fileio.h"

#define PREFIX "krund."
/* How long removing a killed cgroup may wait for its processes to go. */
#define REMOVE_WAIT_MS 1000

struct cgroup {
    int nslots;
    char parent[PATH_MAX];    /* the daemon's own cgroup */
    char path[PATH_MAX + 32]; /* parent/krund.<pid> */
};

/* Write text to the control file dir/name.  Returns 0 or -1 with errno. */
static int write_file (const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 128];

    if (snprintf (path, sizeof (path), "%s/%s", dir, name) >= (int)sizeof (path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return fileio_write (path, text, strlen (text), 0644, NULL);
}

/* Where the cgroup v2 hierarchy is mounted, and its root's path inside it
 * (not "/" in a cgroup namespace's bind mount).  Returns 0 or -1 (ENOENT:
 * none). */
static int find_mount (char *mount, char *root, size_t size)
{
    char line[4096];
    FILE *f = fopen ("/proc/self/mountinfo", "re");
    int rc = -1;

    if (!f)
        return -1;
    /* id parent major:minor root mountpoint options [optional...] - type ... */
    while (fgets (line, sizeof (line), f)) {
        char r[PATH_MAX], m[PATH_MAX], *dash = strstr (line, " - ");
        if (!dash || strncmp (dash + 3, "cgroup2 ", 8) != 0)
            continue;
        if (sscanf (line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
            continue;
        snprintf (mount, size, "%s", m);
        snprintf (root, size, "%s", r);
        rc = 0;
        break;
    }
    fclose (f);
    if (rc < 0)
        errno = ENOENT;
    return rc;
}

/* The calling process's cgroup directory.  Returns 0 or -1 with errno. */
static int own_cgroup (char *dir, size_t size)
{
    char mount[PATH_MAX], root[PATH_MAX], line[PATH_MAX + 8], *path = NULL;
    FILE *f;

    if (find_mount (mount, root, sizeof (mount)) < 0)
        return -1;
    if (!(f = fopen ("/proc/self/cgroup", "re")))
        return -1;
    while (fgets (line, sizeof (line), f))
        if (strncmp (line, "0::", 3) == 0) {
            line[strcspn (line, "\n")] = '\0';
            path = line + 3;
            break;
        }
    fclose (f);
    if (!path) {
        errno = ENOENT;
        return -1;
    }
    size_t rootlen = strcmp (root, "/") == 0 ? 0 : strlen (root);
    if (rootlen && strncmp (path, root, rootlen) == 0)
        path += rootlen;
    if (snprintf (dir, size, "%s%s", mount, strcmp (path, "/") == 0 ? "" : path) >=
        (int)size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Whether pid runs, as anything: a set is swept only when its daemon's pid
 * is free, never while that pid might still be a daemon (run under another
 * name, by valgrind say).  A reused pid only delays the sweep. */
static bool pid_alive (long pid)
{
    return kill ((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Remove dir and its children (cgroups: directories only), waiting up to
 * REMOVE_WAIT_MS for killed processes to leave them. */
static void remove_tree (const char *dir)
{
    struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};

    for (int tries = 0; tries <= REMOVE_WAIT_MS / 10; tries++) {
        DIR *d = opendir (dir);
        struct dirent *e;
        if (d) {
            while ((e = readdir (d))) {
                char sub[PATH_MAX + 256];
                if (e->d_type != DT_DIR || e->d_name[0] == '.')
                    continue;
                snprintf (sub, sizeof (sub), "%s/%s", dir, e->d_name);
                rmdir (sub);
            }
            closedir (d);
        }
        if (rmdir (dir) == 0 || errno == ENOENT)
            return;
        nanosleep (&pause, NULL);
    }
}

/* Kill and remove what daemons that died left under parent.  A live
 * daemon's set is left alone (its pid names it). */
static void sweep_dead (const char *parent)
{
    DIR *d = opendir (parent);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir (d))) {
        char *end, dir[PATH_MAX + 256];
        if (strncmp (e->d_name, PREFIX, strlen (PREFIX)) != 0)
            continue;
        long pid = strtol (e->d_name + strlen (PREFIX), &end, 10);
        if (*end || pid <= 0 || pid == getpid () || pid_alive (pid))
            continue;
        snprintf (dir, sizeof (dir), "%s/%s", parent, e->d_name);
        /* cgroup.kill of a parent kills its whole subtree. */
        write_file (dir, "cgroup.kill", "1");
        remove_tree (dir);
    }
    closedir (d);
}

struct cgroup *cgroup_create (int nslots, struct krun_error *errp)
{
    struct cgroup *cg;
    char sub[PATH_MAX + 64];

    if (!(cg = calloc (1, sizeof (*cg)))) {
        errprintf_errno (errp, "cannot allocate the slots' cgroups");
        return NULL;
    }
    cg->nslots = nslots;
    if (own_cgroup (cg->parent, sizeof (cg->parent)) < 0) {
        errprintf_errno (errp, "no cgroup v2 hierarchy found");
        goto error;
    }
    sweep_dead (cg->parent);
    snprintf (cg->path, sizeof (cg->path), "%s/" PREFIX "%d", cg->parent,
              (int)getpid ());
    if (mkdir (cg->path, 0755) < 0) {
        errprintf_errno (errp, "cannot make cgroup %s", cg->path);
        goto error;
    }
    snprintf (sub, sizeof (sub), "%s/cgroup.kill", cg->path);
    if (access (sub, W_OK) < 0) {
        errprintf_errno (errp, "cgroup %s has no cgroup.kill (Linux < 5.14)", cg->path);
        rmdir (cg->path);
        goto error;
    }
    /* The others are made by their slots (cgroup_enter()), in parallel and
     * off the daemon's path to its first fork: 256 of them here took the
     * daemon 7 ms before it could fork its first slot.  The first one is
     * made here, so that a hierarchy where none can be made is found now. */
    if (nslots > 0) {
        snprintf (sub, sizeof (sub), "%s/slot.0", cg->path);
        if (mkdir (sub, 0755) < 0) {
            errprintf_errno (errp, "cannot make cgroup %s", sub);
            remove_tree (cg->path);
            goto error;
        }
    }
    return cg;
error:;
    int saved_errno = errno;
    free (cg);
    errno = saved_errno;
    return NULL;
}

void cgroup_destroy (struct cgroup *cg)
{
    int saved_errno = errno;

    if (cg) {
        write_file (cg->path, "cgroup.kill", "1");
        remove_tree (cg->path);
        free (cg);
    }
    errno = saved_errno;
}

static int slot_dir (const struct cgroup *cg, int slot, char *dir, size_t size)
{
    if (!cg || slot < 0 || slot >= cg->nslots) {
        errno = EINVAL;
        return -1;
    }
    snprintf (dir, size, "%s/slot.%d", cg->path, slot);
    return 0;
}

int cgroup_enter (const struct cgroup *cg, int slot)
{
    char dir[PATH_MAX + 64];

    if (slot_dir (cg, slot, dir, sizeof (dir)) < 0)
        return -1;
    if (mkdir (dir, 0755) < 0 && errno != EEXIST)
        return -1;
    /* "0": the writing process. */
    return write_file (dir, "cgroup.procs", "0");
}

int cgroup_kill (const struct cgroup *cg, int slot)
{
    char dir[PATH_MAX + 64];

    if (slot_dir (cg, slot, dir, sizeof (dir)) < 0)
        return -1;
    /* A slot that died before it made its cgroup left nothing in one. */
    if (write_file (dir, "cgroup.kill", "1") < 0 && errno != ENOENT)
        return -1;
    return 0;
}

const char *cgroup_path (const struct cgroup *cg)
{
    return cg->path;
}
