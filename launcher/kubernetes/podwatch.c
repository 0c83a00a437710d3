/* podwatch.c - see podwatch.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "podwatch.h"

static const cJSON *json_get (const cJSON *obj, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (obj, a),
                                             b);
}

/* Watch state: pods by name, with what is known about why they wait. */
struct watch_state {
    int want; /* running pods wanted; -1 all; 0 = none left (down) */
    bool down;
    char **names;
    char **why; /* last known reason a pod is not running */
    bool *running;
    bool *ended; /* Failed or Succeeded: will never run (restartPolicy Never) */
    int count;
};

static int watch_slot (struct watch_state *w, const char *name)
{
    for (int i = 0; i < w->count; i++)
        if (strcmp (w->names[i], name) == 0)
            return i;
    char **n = realloc (w->names, (w->count + 1) * sizeof (*n));
    if (n)
        w->names = n;
    char **y = realloc (w->why, (w->count + 1) * sizeof (*y));
    if (y)
        w->why = y;
    bool *r = realloc (w->running, (w->count + 1) * sizeof (*r));
    if (r)
        w->running = r;
    bool *e = realloc (w->ended, (w->count + 1) * sizeof (*e));
    if (e)
        w->ended = e;
    if (!n || !y || !r || !e || !(w->names[w->count] = strdup (name)))
        return -1;
    w->why[w->count] = NULL;
    w->running[w->count] = false;
    w->ended[w->count] = false;
    return w->count++;
}

/* "terminated, exit code N: <krund's message>": the message (krund's
 * termination log, or the end of its log: terminationMessagePolicy) on one
 * line, its lines joined by "; ".  Returns NULL if out of memory. */
static char *terminated_reason (const cJSON *term)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive (term, "exitCode");
    const char *message = kubeapi_string (term, "message");
    char *out = NULL, *text = strdup (message ? message : "");
    size_t len;

    if (!text)
        return NULL;
    while ((len = strlen (text)) > 0 && strchr (" \t\r\n", text[len - 1]))
        text[len - 1] = '\0';
    for (char *nl; (nl = strchr (text, '\n'));) {
        *nl = '\0';
        char *joined;
        if (asprintf (&joined, "%s; %s", text, nl + 1) < 0) {
            free (text);
            return NULL;
        }
        free (text);
        text = joined;
    }
    if (asprintf (&out, "terminated, exit code %d%s%s", code ? code->valueint : -1,
                  *text ? ": " : "", text) < 0)
        out = NULL;
    free (text);
    return out;
}

/* Why a pod that is not Running waits, from its status. */
char *podwatch_reason (const cJSON *pod)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive (pod, "status");
    const cJSON *c;
    char *out = NULL;

    cJSON_ArrayForEach (c,
                        cJSON_GetObjectItemCaseSensitive (status, "containerStatuses"))
    {
        const cJSON *waiting = json_get (c, "state", "waiting");
        const cJSON *term = json_get (c, "state", "terminated");
        if (waiting &&
            asprintf (&out, "%s: %s", kubeapi_string (waiting, "reason") ?: "waiting",
                      kubeapi_string (waiting, "message") ?: "") >= 0)
            return out;
        if (term)
            return terminated_reason (term);
    }
    cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (status, "conditions"))
    {
        const char *cs = kubeapi_string (c, "status");
        if (cs && strcmp (cs, "False") == 0 && kubeapi_string (c, "reason") &&
            asprintf (&out, "%s: %s", kubeapi_string (c, "reason"),
                      kubeapi_string (c, "message") ?: "") >= 0)
            return out;
    }
    if (asprintf (&out, "%s", kubeapi_string (status, "phase") ?: "Pending") < 0)
        return NULL;
    return out;
}

static int count_running (const struct watch_state *w)
{
    int n = 0;
    for (int i = 0; i < w->count; i++)
        n += w->running[i];
    return n;
}

static int on_pod_event (void *arg, const char *type, const cJSON *pod,
                         struct krun_error *errp)
{
    struct watch_state *w = arg;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive (pod, "metadata");
    const char *name = kubeapi_string (meta, "name");
    int i;
    const char *phase =
        kubeapi_string (cJSON_GetObjectItemCaseSensitive (pod, "status"), "phase");
    if (strcmp (type, "ERROR") == 0) {
        errno = EIO;
        return errprintf (errp, "kubernetes API: watch of pods failed: %s",
                          kubeapi_string (pod, "message") ?: "ERROR event");
    }
    if (!name || (i = watch_slot (w, name)) < 0)
        return 0;
    if (strcmp (type, "DELETED") == 0) {
        free (w->names[i]);
        free (w->why[i]);
        w->count--;
        w->names[i] = w->names[w->count];
        w->why[i] = w->why[w->count];
        w->running[i] = w->running[w->count];
        w->ended[i] = w->ended[w->count];
    } else {
        bool deleting = kubeapi_string (meta, "deletionTimestamp") != NULL;
        w->running[i] = !deleting && phase && strcmp (phase, "Running") == 0;
        w->ended[i] =
            !deleting && phase &&
            (strcmp (phase, "Failed") == 0 || strcmp (phase, "Succeeded") == 0);
        free (w->why[i]);
        w->why[i] = w->running[i] ? NULL
                    : deleting    ? strdup ("being deleted")
                                  : podwatch_reason (pod);
    }
    if (w->down)
        return w->count == 0 ? 1 : 0;
    if (w->count == 0)
        return 0;
    /* Waiting for every pod: one that ended will never run, so say why now
     * (krund's own message, terminated.message) instead of at the timeout. */
    for (int j = 0; w->want < 0 && j < w->count; j++) {
        if (w->ended[j]) {
            errno = ECHILD;
            return errprintf (errp, "worker pod failed: %s (%s)", w->names[j],
                              w->why[j] ?: "ended");
        }
    }
    int want = w->want < 0 ? w->count : w->want;
    /* Pods being deleted do not count as wanted. */
    int live = 0;
    for (int j = 0; j < w->count; j++)
        live += !(w->why[j] && strcmp (w->why[j], "being deleted") == 0);
    if (w->want < 0)
        want = live;
    return want > 0 && count_running (w) >= want ? 1 : 0;
}

/* Events of a pod, the newest message, for the stuck report. */
static char *pod_events (const struct podwatch_pods *pods, const char *name)
{
    char *path = NULL, *selector = NULL, *field = NULL, *out = NULL;
    cJSON *list;
    const cJSON *e;

    if (asprintf (&field, "involvedObject.name=%s", name) < 0 ||
        !(selector = kubeapi_escape (field)) ||
        asprintf (&path, "/api/v1/namespaces/%s/events?fieldSelector=%s",
                  pods->namespace, selector) < 0) {
        free (field);
        free (selector);
        return NULL;
    }
    if ((list = kubeapi_request (pods->api, "GET", path, NULL, NULL, NULL))) {
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive (list, "items"))
        {
            free (out);
            if (asprintf (&out, "%s: %s", kubeapi_string (e, "reason") ?: "event",
                          kubeapi_string (e, "message") ?: "") < 0)
                out = NULL;
        }
        cJSON_Delete (list);
    }
    free (path);
    free (field);
    free (selector);
    return out;
}

static void watch_state_free (struct watch_state *w)
{
    for (int i = 0; i < w->count; i++) {
        free (w->names[i]);
        free (w->why[i]);
    }
    free (w->names);
    free (w->why);
    free (w->running);
    free (w->ended);
}

static int watch_pods (const struct podwatch_pods *pods, struct watch_state *w,
                       int timeout_s, struct krun_error *errp)
{
    int64_t deadline = clock_mono_ms () + (int64_t)timeout_s * 1000;
    char *path;
    int rc = 0;

    if (asprintf (&path,
                  "/api/v1/namespaces/%s/pods?labelSelector=%s&timeoutSeconds=%d",
                  pods->namespace, pods->selector, timeout_s + 1) < 0)
        return errprintf_errno (errp, "kubernetes provider");
    /* Without a resourceVersion the watch starts with the pods that exist
     * (as ADDED events), so nothing that happened before is missed.  A
     * server may end a watch early: start again until the deadline. */
    while (rc == 0) {
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0)
            break;
        watch_state_free (w);
        w->names = w->why = NULL;
        w->running = w->ended = NULL;
        w->count = 0;
        rc = kubeapi_watch (pods->api, path, (int)left, on_pod_event, w, errp);
    }
    free (path);
    return rc;
}

int podwatch_running (const struct podwatch_pods *pods, int want, int timeout_s,
                      struct krun_error *errp)
{
    struct watch_state w = {.want = want};
    int rc = watch_pods (pods, &w, timeout_s, errp);
    char report[600] = "";
    size_t used = 0;

    if (rc < 0) {
        watch_state_free (&w);
        return -1;
    }
    int running = count_running (&w);
    if (rc == 1) {
        watch_state_free (&w);
        return running;
    }
    for (int i = 0; i < w.count && used < sizeof (report) - 1; i++) {
        if (w.running[i])
            continue;
        char *events = pod_events (pods, w.names[i]);
        used +=
            (size_t)snprintf (report + used, sizeof (report) - used, "%s%s (%s%s%s)",
                              used ? "; " : "", w.names[i], w.why[i] ?: "unknown",
                              events ? "; last event: " : "", events ? events : "");
        if (used >= sizeof (report))
            used = sizeof (report) - 1;
        free (events);
    }
    watch_state_free (&w);
    errno = ETIMEDOUT;
    return errprintf (errp, "%d worker pod%s running after %d s; stuck: %s", running,
                      running == 1 ? "" : "s", timeout_s,
                      *report ? report : "no pod exists");
}

int podwatch_gone (const struct podwatch_pods *pods, const char *version,
                   const char *const *names, int n, int64_t left_ms, int timeout_s,
                   struct krun_error *errp)
{
    struct watch_state w = {.down = true};
    char *path;
    int rc = 0;

    if (asprintf (&path,
                  "/api/v1/namespaces/%s/pods?labelSelector=%s&resourceVersion=%s"
                  "&timeoutSeconds=%d",
                  pods->namespace, pods->selector, version, timeout_s + 1) < 0)
        return errprintf_errno (errp, "kubernetes provider");
    for (int i = 0; i < n && rc >= 0; i++)
        rc = watch_slot (&w, names[i]);
    if (rc >= 0)
        rc = kubeapi_watch (pods->api, path, (int)left_ms, on_pod_event, &w, errp);
    free (path);
    watch_state_free (&w);
    return rc < 0 ? -1 : 0;
}
