/* protocol.c - encode and decode krun's messages.  See protocol.h and
 * docs/protocol.md.  Decoders read bytes from network queues: every field is
 * checked for presence, type and range before use. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#define MAX_ARRAY 65536
/* Integral doubles up to 2^53 are exact. */
#define MAX_EXACT 9007199254740992.0

static const char *const type_names[] = {
    [PROTOCOL_WHO] = "who",       [PROTOCOL_HERE] = "here",
    [PROTOCOL_JOINED] = "joined", [PROTOCOL_ANNOUNCE] = "announce",
    [PROTOCOL_TASK] = "task",     [PROTOCOL_RESULT] = "result",
    [PROTOCOL_OUTPUT] = "output", [PROTOCOL_END] = "end",
    [PROTOCOL_CANCEL] = "cancel",
};

static const char *const status_names[] = {
    [PROTOCOL_EXITED] = "exited",
    [PROTOCOL_SIGNALED] = "signaled",
    [PROTOCOL_FAILED] = "failed",
};

const char *protocol_type_name (enum protocol_type type)
{
    if (type >= PROTOCOL_WHO && type <= PROTOCOL_CANCEL)
        return type_names[type];
    return "?";
}

char *protocol_task_queue (const char *job, char *buf, size_t size)
{
    snprintf (buf, size, "krun.job.%s.tasks", job);
    return buf;
}

char *protocol_results_queue (const char *job, char *buf, size_t size)
{
    snprintf (buf, size, "krun.job.%s.results", job);
    return buf;
}

static bool has_job (enum protocol_type type)
{
    return type != PROTOCOL_WHO && type != PROTOCOL_HERE && type != PROTOCOL_JOINED;
}

/* ---- encoding ---- */

static int bad (struct krun_error *errp, const char *type, const char *what)
{
    errno = EINVAL;
    return errprintf (errp, "cannot encode %s message: %s", type, what);
}

static bool add_string_array (cJSON *obj, const char *name, char **items, int n)
{
    cJSON *a = cJSON_AddArrayToObject (obj, name);
    if (!a)
        return false;
    for (int i = 0; i < n; i++) {
        cJSON *s;
        if (!items[i] || !(s = cJSON_CreateString (items[i])))
            return false;
        cJSON_AddItemToArray (a, s);
    }
    return true;
}

static bool add_int_array (cJSON *obj, const char *name, const int *items, int n)
{
    cJSON *a = cJSON_AddArrayToObject (obj, name);
    if (!a)
        return false;
    for (int i = 0; i < n; i++) {
        cJSON *v = cJSON_CreateNumber (items[i]);
        if (!v)
            return false;
        cJSON_AddItemToArray (a, v);
    }
    return true;
}

static int encode_fields (const struct protocol_msg *msg, cJSON *o,
                          struct krun_error *errp)
{
    const char *tn = protocol_type_name (msg->type);

    switch (msg->type) {
        case PROTOCOL_WHO:
        case PROTOCOL_END:
        case PROTOCOL_CANCEL:
            return 0;
        case PROTOCOL_HERE: {
            const struct protocol_here *h = &msg->here;
            if (!h->node || !h->version || h->nslots < 1 || !h->cores)
                return bad (errp, tn,
                            "node, version and at least one slot are required");
            if (!cJSON_AddStringToObject (o, "node", h->node) ||
                !cJSON_AddNumberToObject (o, "pid", h->pid) ||
                !add_int_array (o, "cores", h->cores, h->nslots) ||
                !cJSON_AddNumberToObject (o, "busy", h->busy) ||
                !cJSON_AddNumberToObject (o, "started_us", (double)h->started_us) ||
                !cJSON_AddStringToObject (o, "version", h->version))
                goto nomem;
            return 0;
        }
        case PROTOCOL_JOINED:
            if (!msg->joined.node || msg->joined.local < 0)
                return bad (errp, tn, "node and local slot are required");
            if (!cJSON_AddStringToObject (o, "node", msg->joined.node) ||
                !cJSON_AddNumberToObject (o, "local", msg->joined.local))
                goto nomem;
            return 0;
        case PROTOCOL_ANNOUNCE: {
            const struct protocol_announce *a = &msg->announce;
            cJSON *nodes;
            if (!a->path || !a->cwd || !a->results_queue || a->argc < 1 || !a->argv ||
                a->envc < 0 || (a->envc > 0 && !a->env) || a->size < 1 ||
                a->delivery_limit < 1 || a->nnodes < 0 || (a->nnodes > 0 && !a->nodes))
                return bad (errp, tn, "path, argv, cwd, size, results_queue required");
            if (!cJSON_AddStringToObject (o, "path", a->path) ||
                !add_string_array (o, "argv", a->argv, a->argc) ||
                !add_string_array (o, "env", a->env, a->envc) ||
                !cJSON_AddStringToObject (o, "cwd", a->cwd) ||
                !cJSON_AddNumberToObject (o, "size", a->size) ||
                !cJSON_AddStringToObject (o, "results_queue", a->results_queue) ||
                !cJSON_AddNumberToObject (o, "delivery_limit", a->delivery_limit) ||
                !(nodes = cJSON_AddArrayToObject (o, "nodes")))
                goto nomem;
            for (int i = 0; i < a->nnodes; i++) {
                const struct protocol_node *n = &a->nodes[i];
                cJSON *no;
                if (!n->name || n->nslots < 1 || n->nused < 0 || n->nused > n->nslots ||
                    (n->nused > 0 && !n->used))
                    return bad (errp, tn, "inconsistent node table");
                if (!(no = cJSON_CreateObject ()))
                    goto nomem;
                cJSON_AddItemToArray (nodes, no);
                if (!cJSON_AddStringToObject (no, "name", n->name) ||
                    !cJSON_AddNumberToObject (no, "first_slot", n->first_slot) ||
                    !cJSON_AddNumberToObject (no, "nslots", n->nslots) ||
                    !add_int_array (no, "used", n->used, n->nused))
                    goto nomem;
            }
            return 0;
        }
        case PROTOCOL_TASK:
            if (msg->task.rank < 0 || msg->task.attempt < 1)
                return bad (errp, tn, "rank >= 0 and attempt >= 1 required");
            if (!cJSON_AddNumberToObject (o, "rank", msg->task.rank) ||
                !cJSON_AddNumberToObject (o, "attempt", msg->task.attempt))
                goto nomem;
            return 0;
        case PROTOCOL_RESULT: {
            const struct protocol_result *r = &msg->result;
            if (r->rank < 0 || r->attempt < 1 || !r->node ||
                r->status < PROTOCOL_EXITED || r->status > PROTOCOL_FAILED ||
                (r->status == PROTOCOL_FAILED && !r->error))
                return bad (errp, tn,
                            "rank, attempt, node and a valid status required");
            if (!cJSON_AddNumberToObject (o, "rank", r->rank) ||
                !cJSON_AddNumberToObject (o, "attempt", r->attempt) ||
                !cJSON_AddStringToObject (o, "node", r->node) ||
                !cJSON_AddNumberToObject (o, "slot", r->slot) ||
                !cJSON_AddNumberToObject (o, "local", r->local) ||
                !cJSON_AddNumberToObject (o, "core", r->core) ||
                !cJSON_AddStringToObject (o, "status", status_names[r->status]) ||
                !cJSON_AddNumberToObject (o, "code", r->code) ||
                !cJSON_AddNumberToObject (o, "start_us", (double)r->start_us) ||
                !cJSON_AddNumberToObject (o, "end_us", (double)r->end_us) ||
                (r->status == PROTOCOL_FAILED &&
                 !cJSON_AddStringToObject (o, "error", r->error)))
                goto nomem;
            return 0;
        }
        case PROTOCOL_OUTPUT:
            if (msg->output.rank < 0 || msg->output.attempt < 1 ||
                (msg->output.stream != 1 && msg->output.stream != 2) ||
                msg->output.len > PROTOCOL_MAX_OUTPUT_CHUNK ||
                (msg->output.len > 0 && !msg->output.data))
                return bad (errp, tn,
                            "rank, attempt, stream 1|2 and a chunk <= 64 KiB");
            if (!cJSON_AddNumberToObject (o, "rank", msg->output.rank) ||
                !cJSON_AddNumberToObject (o, "attempt", msg->output.attempt) ||
                !cJSON_AddNumberToObject (o, "stream", msg->output.stream))
                goto nomem;
            return 0;
    }
    return bad (errp, "unknown", "unknown message type");
nomem:
    errno = ENOMEM;
    return errprintf (errp, "cannot encode %s message: out of memory", tn);
}

char *protocol_encode (const struct protocol_msg *msg, size_t *lenp,
                       struct krun_error *errp)
{
    cJSON *o = NULL;
    char *json = NULL, *body = NULL;
    size_t jlen, len;

    if (!msg || protocol_type_name (msg->type)[0] == '?') {
        bad (errp, "unknown", "unknown message type");
        return NULL;
    }
    if (has_job (msg->type) && (!msg->job || !*msg->job)) {
        bad (errp, protocol_type_name (msg->type), "job id required");
        return NULL;
    }
    if (!(o = cJSON_CreateObject ()) ||
        !cJSON_AddNumberToObject (o, "v", PROTOCOL_VERSION) ||
        !cJSON_AddStringToObject (o, "type", protocol_type_name (msg->type)) ||
        (has_job (msg->type) && !cJSON_AddStringToObject (o, "job", msg->job))) {
        errno = ENOMEM;
        errprintf (errp, "cannot encode message: out of memory");
        goto done;
    }
    if (encode_fields (msg, o, errp) < 0)
        goto done;
    if (!(json = cJSON_PrintUnformatted (o))) {
        errno = ENOMEM;
        errprintf (errp, "cannot encode message: out of memory");
        goto done;
    }
    jlen = strlen (json);
    len = jlen;
    if (msg->type == PROTOCOL_OUTPUT)
        len += 1 + msg->output.len;
    if (len > PROTOCOL_MAX_BODY) {
        errno = E2BIG;
        errprintf (errp, "%s message of %zu bytes is over the %d byte limit",
                   protocol_type_name (msg->type), len, PROTOCOL_MAX_BODY);
        goto done;
    }
    if (!(body = malloc (len + 1))) {
        errprintf_errno (errp, "cannot encode message");
        goto done;
    }
    memcpy (body, json, jlen);
    if (msg->type == PROTOCOL_OUTPUT) {
        body[jlen] = '\n';
        if (msg->output.len)
            memcpy (body + jlen + 1, msg->output.data, msg->output.len);
    }
    body[len] = '\0';
    *lenp = len;
done:
    free (json);
    cJSON_Delete (o);
    return body;
}

/* ---- decoding ---- */

struct decoder {
    const cJSON *obj;
    const char *type; /* for messages */
    struct krun_error *errp;
};

static int fail (struct decoder *d, const char *field, const char *what)
{
    errno = EPROTO;
    return errprintf (d->errp, "%s message: field '%s' missing or not %s", d->type,
                      field, what);
}

static bool integral (const cJSON *v, double min, double max)
{
    return cJSON_IsNumber (v) && isfinite (v->valuedouble) &&
           floor (v->valuedouble) == v->valuedouble && v->valuedouble >= min &&
           v->valuedouble <= max;
}

static int get_int (struct decoder *d, const cJSON *obj, const char *name, int min,
                    int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, name);
    if (!integral (v, min, INT32_MAX)) {
        char what[64];
        snprintf (what, sizeof (what), "an integer >= %d", min);
        return fail (d, name, what);
    }
    *out = (int)v->valuedouble;
    return 0;
}

static int get_int64 (struct decoder *d, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (d->obj, name);
    if (!integral (v, -MAX_EXACT, MAX_EXACT))
        return fail (d, name, "an integer");
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_string (struct decoder *d, const cJSON *obj, const char *name,
                       char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, name);
    if (!cJSON_IsString (v) || !v->valuestring)
        return fail (d, name, "a string");
    if (!(*out = strdup (v->valuestring)))
        return errprintf_errno (d->errp, "%s message", d->type);
    return 0;
}

static int get_string_array (struct decoder *d, const char *name, int min, char ***out,
                             int *count)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive (d->obj, name);
    const cJSON *item;
    int n, i = 0;

    if (!cJSON_IsArray (a) || (n = cJSON_GetArraySize (a)) < min || n > MAX_ARRAY)
        return fail (d, name,
                     min ? "a non-empty array of strings" : "an array of strings");
    if (!(*out = calloc (n + 1, sizeof (char *))))
        return errprintf_errno (d->errp, "%s message", d->type);
    *count = 0;
    cJSON_ArrayForEach (item, a)
    {
        if (!cJSON_IsString (item) || !item->valuestring)
            return fail (d, name, "an array of strings");
        if (!((*out)[i++] = strdup (item->valuestring)))
            return errprintf_errno (d->errp, "%s message", d->type);
        *count = i;
    }
    return 0;
}

static int get_int_array (struct decoder *d, const cJSON *obj, const char *name,
                          int min_n, int max_n, int min_v, int max_v, int **out,
                          int *count)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive (obj, name);
    const cJSON *item;
    int n, i = 0;

    if (!cJSON_IsArray (a) || (n = cJSON_GetArraySize (a)) < min_n || n > max_n)
        return fail (d, name, "an array of integers of the right length");
    if (!(*out = calloc (n > 0 ? n : 1, sizeof (int))))
        return errprintf_errno (d->errp, "%s message", d->type);
    *count = n;
    cJSON_ArrayForEach (item, a)
    {
        if (!integral (item, min_v, max_v))
            return fail (d, name, "an array of integers in range");
        (*out)[i++] = (int)item->valuedouble;
    }
    return 0;
}

static int decode_here (struct decoder *d, struct protocol_here *h)
{
    if (get_string (d, d->obj, "node", &h->node) < 0 ||
        get_int (d, d->obj, "pid", 0, &h->pid) < 0 ||
        get_int_array (d, d->obj, "cores", 1, MAX_ARRAY, -1, INT32_MAX, &h->cores,
                       &h->nslots) < 0 ||
        get_int (d, d->obj, "busy", 0, &h->busy) < 0 ||
        get_int64 (d, "started_us", &h->started_us) < 0 ||
        get_string (d, d->obj, "version", &h->version) < 0)
        return -1;
    return 0;
}

static int decode_announce (struct decoder *d, struct protocol_announce *a)
{
    const cJSON *nodes, *item;
    int n, i = 0;

    if (get_string (d, d->obj, "path", &a->path) < 0 ||
        get_string_array (d, "argv", 1, &a->argv, &a->argc) < 0 ||
        get_string_array (d, "env", 0, &a->env, &a->envc) < 0 ||
        get_string (d, d->obj, "cwd", &a->cwd) < 0 ||
        get_int (d, d->obj, "size", 1, &a->size) < 0 ||
        get_string (d, d->obj, "results_queue", &a->results_queue) < 0 ||
        get_int (d, d->obj, "delivery_limit", 1, &a->delivery_limit) < 0)
        return -1;
    nodes = cJSON_GetObjectItemCaseSensitive (d->obj, "nodes");
    if (!cJSON_IsArray (nodes) || (n = cJSON_GetArraySize (nodes)) > MAX_ARRAY)
        return fail (d, "nodes", "an array of nodes");
    if (!(a->nodes = calloc (n > 0 ? n : 1, sizeof (*a->nodes))))
        return errprintf_errno (d->errp, "announce message");
    cJSON_ArrayForEach (item, nodes)
    {
        struct protocol_node *node = &a->nodes[i++];
        a->nnodes = i;
        if (!cJSON_IsObject (item))
            return fail (d, "nodes", "an array of objects");
        if (get_string (d, item, "name", &node->name) < 0 ||
            get_int (d, item, "first_slot", 0, &node->first_slot) < 0 ||
            get_int (d, item, "nslots", 1, &node->nslots) < 0 ||
            get_int_array (d, item, "used", 0, node->nslots, 0, node->nslots - 1,
                           &node->used, &node->nused) < 0)
            return -1;
    }
    return 0;
}

static int decode_result (struct decoder *d, struct protocol_result *r)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive (d->obj, "status");
    const cJSON *core = cJSON_GetObjectItemCaseSensitive (d->obj, "core");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive (d->obj, "code");

    if (get_int (d, d->obj, "rank", 0, &r->rank) < 0 ||
        get_int (d, d->obj, "attempt", 1, &r->attempt) < 0 ||
        get_string (d, d->obj, "node", &r->node) < 0 ||
        get_int (d, d->obj, "slot", 0, &r->slot) < 0 ||
        get_int (d, d->obj, "local", 0, &r->local) < 0)
        return -1;
    if (!integral (core, -1, INT32_MAX))
        return fail (d, "core", "an integer >= -1");
    r->core = (int)core->valuedouble;
    if (!integral (code, INT32_MIN, INT32_MAX))
        return fail (d, "code", "an integer");
    r->code = (int)code->valuedouble;
    r->status = 0;
    for (int s = PROTOCOL_EXITED; s <= PROTOCOL_FAILED; s++)
        if (cJSON_IsString (status) &&
            strcmp (status->valuestring, status_names[s]) == 0)
            r->status = s;
    if (r->status == 0)
        return fail (d, "status", "one of exited, signaled, failed");
    if (get_int64 (d, "start_us", &r->start_us) < 0 ||
        get_int64 (d, "end_us", &r->end_us) < 0)
        return -1;
    if (r->status == PROTOCOL_FAILED && get_string (d, d->obj, "error", &r->error) < 0)
        return -1;
    return 0;
}

static int decode_fields (struct decoder *d, struct protocol_msg *msg)
{
    switch (msg->type) {
        case PROTOCOL_WHO:
        case PROTOCOL_END:
        case PROTOCOL_CANCEL:
            return 0;
        case PROTOCOL_HERE:
            return decode_here (d, &msg->here);
        case PROTOCOL_JOINED:
            if (get_string (d, d->obj, "node", &msg->joined.node) < 0 ||
                get_int (d, d->obj, "local", 0, &msg->joined.local) < 0)
                return -1;
            return 0;
        case PROTOCOL_ANNOUNCE:
            return decode_announce (d, &msg->announce);
        case PROTOCOL_TASK:
            if (get_int (d, d->obj, "rank", 0, &msg->task.rank) < 0 ||
                get_int (d, d->obj, "attempt", 1, &msg->task.attempt) < 0)
                return -1;
            return 0;
        case PROTOCOL_RESULT:
            return decode_result (d, &msg->result);
        case PROTOCOL_OUTPUT:
            if (get_int (d, d->obj, "rank", 0, &msg->output.rank) < 0 ||
                get_int (d, d->obj, "attempt", 1, &msg->output.attempt) < 0 ||
                get_int (d, d->obj, "stream", 1, &msg->output.stream) < 0)
                return -1;
            if (msg->output.stream > 2)
                return fail (d, "stream", "1 or 2");
            return 0;
    }
    return -1;
}

int protocol_decode (const void *body, size_t len, struct protocol_msg *msg,
                     struct krun_error *errp)
{
    struct decoder d = {.type = "krun", .errp = errp};
    const char *text = body;
    const char *nl;
    size_t jlen;
    cJSON *obj = NULL;
    const cJSON *v, *type;
    int rc = -1;

    memset (msg, 0, sizeof (*msg));
    if (len > PROTOCOL_MAX_BODY) {
        errno = E2BIG;
        return errprintf (errp, "message of %zu bytes is over the %d byte limit", len,
                          PROTOCOL_MAX_BODY);
    }
    if (!body || len == 0) {
        errno = EPROTO;
        return errprintf (errp, "empty message");
    }
    nl = memchr (text, '\n', len);
    jlen = nl ? (size_t)(nl - text) : len;
    if (!(obj = cJSON_ParseWithLength (text, jlen)) || !cJSON_IsObject (obj)) {
        errno = EPROTO;
        errprintf (errp, "message is not a JSON object");
        goto done;
    }
    d.obj = obj;
    v = cJSON_GetObjectItemCaseSensitive (obj, "v");
    if (!integral (v, 0, INT32_MAX) || (int)v->valuedouble != PROTOCOL_VERSION) {
        errno = EPROTO;
        errprintf (errp, "message has protocol version %s, expected %d",
                   cJSON_IsNumber (v) ? "other" : "missing", PROTOCOL_VERSION);
        goto done;
    }
    type = cJSON_GetObjectItemCaseSensitive (obj, "type");
    for (int t = PROTOCOL_WHO; t <= PROTOCOL_CANCEL; t++)
        if (cJSON_IsString (type) && strcmp (type->valuestring, type_names[t]) == 0)
            msg->type = t;
    if (msg->type == 0) {
        errno = EPROTO;
        errprintf (errp, "message has an unknown type");
        goto done;
    }
    d.type = type_names[msg->type];
    if (has_job (msg->type) && get_string (&d, obj, "job", &msg->job) < 0)
        goto done;
    if (msg->type == PROTOCOL_OUTPUT) {
        if (!nl) {
            fail (&d, "payload", "present after a newline");
            goto done;
        }
        msg->output.data = nl + 1;
        msg->output.len = len - jlen - 1;
    } else if (nl && jlen + 1 != len) {
        fail (&d, "body", "a single JSON line");
        goto done;
    }
    rc = decode_fields (&d, msg);
done:
    cJSON_Delete (obj);
    return rc;
}

static void free_strings (char **v, int n)
{
    if (v) {
        for (int i = 0; i < n; i++)
            free (v[i]);
        free (v);
    }
}

void protocol_msg_clear (struct protocol_msg *msg)
{
    if (!msg)
        return;
    switch (msg->type) {
        case PROTOCOL_HERE:
            free (msg->here.node);
            free (msg->here.cores);
            free (msg->here.version);
            break;
        case PROTOCOL_JOINED:
            free (msg->joined.node);
            break;
        case PROTOCOL_ANNOUNCE:
            free (msg->announce.path);
            free_strings (msg->announce.argv, msg->announce.argc);
            free_strings (msg->announce.env, msg->announce.envc);
            free (msg->announce.cwd);
            free (msg->announce.results_queue);
            for (int i = 0; i < msg->announce.nnodes; i++) {
                free (msg->announce.nodes[i].name);
                free (msg->announce.nodes[i].used);
            }
            free (msg->announce.nodes);
            break;
        case PROTOCOL_RESULT:
            free (msg->result.node);
            free (msg->result.error);
            break;
        default:
            break;
    }
    free (msg->job);
    memset (msg, 0, sizeof (*msg));
}
