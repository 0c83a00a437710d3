/* nextjob.c - see nextjob.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "nextjob.h"
#include "protocol.h"

#define NEXTJOB_SUFFIX ".next"

static bool is_job_id (const char *s, size_t len)
{
    if (len != NEXTJOB_ID_SIZE - 1)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

bool nextjob_claim (const char *state_dir, const char *url, char id[NEXTJOB_ID_SIZE])
{
    char path[PATH_MAX], mine[PATH_MAX + 32], text[NEXTJOB_ID_SIZE + 1];
    struct stat st;
    bool ok;
    int fd;

    if (agent_path (state_dir, url, NEXTJOB_SUFFIX, path, sizeof (path)) < 0)
        return false;
    /* Renamed away first: of runs that start at once, one gets it. */
    snprintf (mine, sizeof (mine), "%s.%ld", path, (long)getpid ());
    if (rename (path, mine) < 0)
        return false;
    fd = open (mine, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    unlink (mine);
    if (fd < 0)
        return false;
    time_t now = time (NULL);
    ok = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_uid == getuid () &&
         st.st_mtime <= now + 1 && now - st.st_mtime <= NEXTJOB_MAX_AGE_S &&
         read (fd, text, sizeof (text)) == NEXTJOB_ID_SIZE &&
         text[NEXTJOB_ID_SIZE - 1] == '\n' && is_job_id (text, NEXTJOB_ID_SIZE - 1);
    close (fd);
    if (!ok)
        return false;
    memcpy (id, text, NEXTJOB_ID_SIZE - 1);
    id[NEXTJOB_ID_SIZE - 1] = '\0';
    return true;
}

/* Leave id for the next run, unless a fresh one waits already (runs that
 * end at once make one pair of queues, not one each).  Returns 0 if id was
 * left, -1 if not. */
static int leave_id (const char *path, const char *id)
{
    char tmp[PATH_MAX + 32], line[NEXTJOB_ID_SIZE];
    struct stat st;
    int fd, rc = -1;

    snprintf (tmp, sizeof (tmp), "%s.new.%ld", path, (long)getpid ());
    if ((fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) <
        0)
        return -1;
    memcpy (line, id, NEXTJOB_ID_SIZE - 1);
    line[NEXTJOB_ID_SIZE - 1] = '\n';
    if (write (fd, line, sizeof (line)) != (ssize_t)sizeof (line) || close (fd) < 0)
        goto out;
    if (link (tmp, path) == 0)
        rc = 0;
    /* One waits: replaced only when too old to be claimed. */
    else if (errno == EEXIST && lstat (path, &st) == 0 &&
             time (NULL) - st.st_mtime > NEXTJOB_MAX_AGE_S && rename (tmp, path) == 0)
        return 0;
out:
    unlink (tmp);
    return rc;
}

void nextjob_prepare (struct transport *t, const struct job_options *opts,
                      const char *state_dir, const char *url)
{
    char id[NEXTJOB_ID_SIZE], path[PATH_MAX];
    int saved = errno;

    /* The id is left before its queues are declared: a run that claims it
     * first declares them itself, and these declarations then change
     * nothing. */
    if (!opts->durable &&
        agent_path (state_dir, url, NEXTJOB_SUFFIX, path, sizeof (path)) == 0 &&
        job_new_id (id, sizeof (id)) == 0 && leave_id (path, id) == 0 &&
        job_declare_ahead (t, opts, id, NULL) < 0)
        unlink (path);
    errno = saved;
}

void nextjob_discard (struct transport *t, const char *state_dir, const char *url)
{
    char id[NEXTJOB_ID_SIZE], queue[128];
    int saved = errno;

    if (nextjob_claim (state_dir, url, id)) {
        protocol_task_queue (id, queue, sizeof (queue));
        transport_delete_queue (t, queue, NULL);
        protocol_results_queue (id, queue, sizeof (queue));
        transport_delete_queue (t, queue, NULL);
    }
    errno = saved;
}
