/* statusjson.c - see statusjson.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "statusjson.h"

struct statusjson {
    cJSON *root;
    cJSON *nodes;
    cJSON *jobs;
};

struct statusjson *statusjson_create (void)
{
    struct statusjson *s = calloc (1, sizeof (*s));

    if (!s || !(s->root = cJSON_CreateObject ()) ||
        !(s->nodes = cJSON_AddArrayToObject (s->root, "nodes")) ||
        !(s->jobs = cJSON_AddArrayToObject (s->root, "jobs"))) {
        statusjson_destroy (s);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

void statusjson_destroy (struct statusjson *s)
{
    int saved_errno = errno;

    if (s) {
        cJSON_Delete (s->root);
        free (s);
    }
    errno = saved_errno;
}

int statusjson_add_node (struct statusjson *s, const struct presence_node *n,
                         int64_t now_us)
{
    cJSON *o = cJSON_CreateObject (), *jobs;
    bool ok = o && cJSON_AddStringToObject (o, "name", n->name) &&
              cJSON_AddNumberToObject (o, "slots", n->nslots) &&
              cJSON_AddNumberToObject (o, "busy", n->busy) &&
              cJSON_AddNumberToObject (o, "pid", n->pid) &&
              cJSON_AddNumberToObject (o, "age_s",
                                       (double)((now_us - n->started_us) / 1000000)) &&
              (jobs = cJSON_AddArrayToObject (o, "jobs")) &&
              cJSON_AddStringToObject (o, "version", n->version ? n->version : "");

    for (int i = 0; ok && i < n->njobs; i++) {
        cJSON *id = cJSON_CreateString (n->jobs[i]);
        if (!id || !cJSON_AddItemToArray (jobs, id)) {
            cJSON_Delete (id);
            ok = false;
        }
    }
    if (!ok || !cJSON_AddItemToArray (s->nodes, o)) {
        cJSON_Delete (o);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int statusjson_add_job (struct statusjson *s, const struct jobqueue *job)
{
    cJSON *o = cJSON_CreateObject ();

    if (!o || !cJSON_AddStringToObject (o, "id", job->id) ||
        !cJSON_AddNumberToObject (o, "queued", job->queued) ||
        !cJSON_AddNumberToObject (o, "consumers", job->consumers) ||
        !cJSON_AddItemToArray (s->jobs, o)) {
        cJSON_Delete (o);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

char *statusjson_text (const struct statusjson *s)
{
    bool running = cJSON_GetArraySize (s->nodes) > 0;
    cJSON *flag = cJSON_CreateBool (running);
    char *text = NULL, *line;

    /* "running" first, for the reader: on a copy of the members. */
    cJSON *root = cJSON_CreateObject ();
    if (!flag || !root)
        goto done;
    cJSON_AddItemToObject (root, "running", flag);
    flag = NULL;
    cJSON_AddItemReferenceToObject (root, "nodes", s->nodes);
    cJSON_AddItemReferenceToObject (root, "jobs", s->jobs);
    text = cJSON_PrintUnformatted (root);
done:
    cJSON_Delete (flag);
    cJSON_Delete (root);
    if (!text || !(line = malloc (strlen (text) + 2))) {
        cJSON_free (text);
        errno = ENOMEM;
        return NULL;
    }
    strcpy (line, text);
    strcat (line, "\n");
    cJSON_free (text);
    return line;
}
