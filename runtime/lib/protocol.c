/* protocol.c - encode and decode krun's messages.  See protocol.h and
 * docs/protocol.md.
 *
 * Each message type is described once, by a codec_<type>() function that
 * walks its fields with the field_*() helpers.  The same description runs in
 * both directions: encoding checks a struct field and adds it to a cJSON
 * object, decoding takes it from the parsed object and checks it against the
 * same limits.  So whatever the encoder accepts, the decoder accepts, and a
 * field's rule is written in one place.
 *
 * Decoders read bytes from network queues (and are fuzzed): nothing is used
 * before its presence, JSON type and range were checked, and a half-decoded
 * message stays consistent for protocol_msg_clear().
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "stagename.h"

/* Most entries of any array (argv, env, nodes, cores, used). */
#define MAX_ARRAY 65536
/* Job ids end up in queue names, which AMQP limits to 255 bytes and
 * protocol_task_queue() writes into 128. */
#define MAX_JOB_ID 64
/* AMQP short strings (queue names, routing keys) hold at most 255 bytes. */
#define MAX_QUEUE_NAME 255
/* Time stamps travel as JSON numbers, i.e. doubles: integers are exact up to
 * 2^53 (year 2255 in microseconds). */
#define MAX_TIME_US 9007199254740992LL

static const char *const type_names[] = {
    [PROTOCOL_WHO] = "who",         [PROTOCOL_HERE] = "here",
    [PROTOCOL_JOINED] = "joined",   [PROTOCOL_ANNOUNCE] = "announce",
    [PROTOCOL_TASK] = "task",       [PROTOCOL_RESULT] = "result",
    [PROTOCOL_OUTPUT] = "output",   [PROTOCOL_END] = "end",
    [PROTOCOL_CANCEL] = "cancel",   [PROTOCOL_PROGRESS] = "progress",
    [PROTOCOL_CONFIRM] = "confirm", [PROTOCOL_REFUSE] = "refuse",
    [PROTOCOL_RESULTS] = "results",
};

static const char *const status_names[] = {
    [PROTOCOL_EXITED] = "exited",
    [PROTOCOL_SIGNALED] = "signaled",
    [PROTOCOL_FAILED] = "failed",
};

static bool type_known (int type)
{
    return type >= PROTOCOL_WHO && type <= PROTOCOL_LAST_TYPE;
}

const char *protocol_type_name (enum protocol_type type)
{
    return type_known (type) ? type_names[type] : "?";
}

bool protocol_job_id_valid (const char *id)
{
    size_t len = id ? strlen (id) : 0;

    if (len < 1 || len > MAX_JOB_ID)
        return false;
    /* Not isalnum(): the rule must not depend on the locale. */
    for (size_t i = 0; i < len; i++) {
        char ch = id[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

char *protocol_task_queue (const char *job, char *buf, size_t size)
{
    snprintf (buf, size, "krun.job.%s.tasks", job ? job : "");
    return buf;
}

char *protocol_results_queue (const char *job, char *buf, size_t size)
{
    snprintf (buf, size, "krun.job.%s.results", job ? job : "");
    return buf;
}

/* Who, here and joined are not about one job. */
static bool has_job (enum protocol_type type)
{
    return type != PROTOCOL_WHO && type != PROTOCOL_HERE && type != PROTOCOL_JOINED;
}

/* ---- one description, two directions ---- */

struct codec {
    bool encoding;
    cJSON *obj;       /* the object being built or read */
    const char *type; /* message type name, for error messages */
    char scope[32];   /* "nodes[3]" while inside a node object, else "" */
    struct krun_error *errp;
    const char *payload; /* decoding: the bytes after the JSON line's '\n' */
    size_t payload_len;
    /* Decoding the items of "results": their data are consecutive parts of
     * the one payload, which codec_results() shares out once it knows all
     * their lengths. */
    bool payload_shared;
};

static int codec_error (struct codec *c, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* The message is wrong: EINVAL when encoding (the caller's message is
 * inconsistent), EPROTO when decoding. */
static int codec_error (struct codec *c, const char *fmt, ...)
{
    char text[sizeof (c->errp->text)];
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (text, sizeof (text), fmt, ap);
    va_end (ap);
    errno = c->encoding ? EINVAL : EPROTO;
    return errprintf (c->errp, "%s%s message: %s", c->encoding ? "cannot encode " : "",
                      c->type, text);
}

/* Reject field (element index, or -1 for the field itself). */
static int reject_at (struct codec *c, const char *field, int index,
                      const char *expected)
{
    char where[96];

    if (index >= 0)
        snprintf (where, sizeof (where), "%s%s%s[%d]", c->scope, *c->scope ? "." : "",
                  field, index);
    else
        snprintf (where, sizeof (where), "%s%s%s", c->scope, *c->scope ? "." : "",
                  field);
    return codec_error (c, "field '%s' missing or not %s", where, expected);
}

static int reject (struct codec *c, const char *field, const char *expected)
{
    return reject_at (c, field, -1, expected);
}

static int out_of_memory (struct codec *c)
{
    errno = ENOMEM;
    return errprintf (c->errp, "%s%s message: out of memory",
                      c->encoding ? "cannot encode " : "", c->type);
}

static const cJSON *lookup (const struct codec *c, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive (c->obj, name);
}

/* The phrase an error message uses for the integers in [min, max]. */
static const char *describe_range (char *buf, size_t size, int64_t min, int64_t max)
{
    if (max == INT_MAX && min == 0)
        return "a non-negative integer";
    if (max == INT_MAX && min == 1)
        return "a positive integer";
    if (max == INT_MAX && min == INT_MIN)
        return "an integer";
    if (max == INT_MAX)
        snprintf (buf, size, "an integer >= %lld", (long long)min);
    else if (min == max)
        snprintf (buf, size, "the integer %lld", (long long)min);
    else
        snprintf (buf, size, "an integer from %lld to %lld", (long long)min,
                  (long long)max);
    return buf;
}

/* A JSON number that is an integer in [min, max]: 1.5, 1e20 and infinities
 * are not. */
static bool integral_in (const cJSON *item, int64_t min, int64_t max)
{
    double v;

    if (!cJSON_IsNumber (item))
        return false;
    v = item->valuedouble;
    return isfinite (v) && floor (v) == v && v >= (double)min && v <= (double)max;
}

static int field_int64 (struct codec *c, const char *name, int64_t *value, int64_t min,
                        int64_t max)
{
    char expected[80];

    if (c->encoding) {
        if (*value < min || *value > max)
            return reject (c, name,
                           describe_range (expected, sizeof (expected), min, max));
        /* Written as text: cJSON prints doubles with 15 significant digits
         * when that reads back "close enough", which loses microseconds
         * beyond 2^52. */
        char text[24];
        snprintf (text, sizeof (text), "%lld", (long long)*value);
        if (!cJSON_AddRawToObject (c->obj, name, text))
            return out_of_memory (c);
        return 0;
    }
    const cJSON *item = lookup (c, name);
    if (!integral_in (item, min, max))
        return reject (c, name, describe_range (expected, sizeof (expected), min, max));
    *value = (int64_t)item->valuedouble;
    return 0;
}

static int field_int (struct codec *c, const char *name, int *value, int min, int max)
{
    int64_t v = *value;

    if (field_int64 (c, name, &v, min, max) < 0)
        return -1;
    *value = (int)v;
    return 0;
}

/* An integer field added after version 1 was first published: absent means
 * def, and the encoder leaves it out when it has that value, so that the
 * bodies of messages that do not use it stay as they were. */
static int field_int_optional (struct codec *c, const char *name, int *value, int min,
                               int max, int def)
{
    if (c->encoding ? *value == def : !lookup (c, name)) {
        *value = def;
        return 0;
    }
    return field_int (c, name, value, min, max);
}

static int field_time (struct codec *c, const char *name, int64_t *value)
{
    return field_int64 (c, name, value, 0, MAX_TIME_US);
}

/* A string of min_len to max_len bytes (any bytes but NUL). */
static int field_string_sized (struct codec *c, const char *name, char **value,
                               size_t min_len, size_t max_len, const char *expected)
{
    const char *s;
    size_t len;

    if (c->encoding)
        s = *value;
    else {
        const cJSON *item = lookup (c, name);
        s = cJSON_IsString (item) ? item->valuestring : NULL;
    }
    if (!s || (len = strlen (s)) < min_len || len > max_len)
        return reject (c, name, expected);
    if (c->encoding) {
        if (!cJSON_AddStringToObject (c->obj, name, s))
            return out_of_memory (c);
    } else if (!(*value = strdup (s)))
        return out_of_memory (c);
    return 0;
}

static int field_string (struct codec *c, const char *name, char **value)
{
    return field_string_sized (c, name, value, 0, SIZE_MAX, "a string");
}

static int field_name (struct codec *c, const char *name, char **value)
{
    return field_string_sized (c, name, value, 1, SIZE_MAX, "a non-empty string");
}

static int field_path (struct codec *c, const char *name, char **value)
{
    /* When decoding, the copy stays in the message for protocol_msg_clear(). */
    if (field_name (c, name, value) < 0)
        return -1;
    return (*value)[0] == '/' ? 0 : reject (c, name, "an absolute path");
}

struct string_array_rule {
    int min_count, max_count; /* entries */
    /* each entry, or NULL for any string; entry says what it must be */
    bool (*valid) (const char *s);
    const char *entry;
};

/* An array of strings.  Decoding makes it NULL-terminated (argv and env
 * arrays are handed to exec). */
static int field_string_array (struct codec *c, const char *name, char ***items,
                               int *count, const struct string_array_rule *rule)
{
    const char *entry = rule->entry ? rule->entry : "a string";
    char expected[96];
    cJSON *array;
    int n;

    snprintf (expected, sizeof (expected), "an array of %d to %d %s", rule->min_count,
              rule->max_count, rule->valid ? "entries" : "strings");
    if (c->encoding) {
        if (*count < rule->min_count || *count > rule->max_count ||
            (*count > 0 && !*items))
            return reject (c, name, expected);
        if (!(array = cJSON_AddArrayToObject (c->obj, name)))
            return out_of_memory (c);
        for (int i = 0; i < *count; i++) {
            cJSON *s;
            if (!(*items)[i] || (rule->valid && !rule->valid ((*items)[i])))
                return reject_at (c, name, i, entry);
            if (!(s = cJSON_CreateString ((*items)[i])))
                return out_of_memory (c);
            cJSON_AddItemToArray (array, s);
        }
        return 0;
    }
    array = cJSON_GetObjectItemCaseSensitive (c->obj, name);
    if (!cJSON_IsArray (array) || (n = cJSON_GetArraySize (array)) < rule->min_count ||
        n > rule->max_count)
        return reject (c, name, expected);
    /* Counted in full at once: unfilled entries are NULL, which clear frees. */
    if (!(*items = calloc (n + 1, sizeof (char *))))
        return out_of_memory (c);
    *count = n;
    /* Walk the list: cJSON_GetArrayItem() would make this quadratic. */
    const cJSON *item = array->child;
    for (int i = 0; i < n; i++, item = item->next) {
        if (!cJSON_IsString (item) || !item->valuestring ||
            (rule->valid && !rule->valid (item->valuestring)))
            return reject_at (c, name, i, entry);
        if (!((*items)[i] = strdup (item->valuestring)))
            return out_of_memory (c);
    }
    return 0;
}

/* An array of min_count to MAX_ARRAY strings of any bytes but NUL. */
static int field_strings (struct codec *c, const char *name, char ***items, int *count,
                          int min_count)
{
    const struct string_array_rule rule = {min_count, MAX_ARRAY, NULL, NULL};

    return field_string_array (c, name, items, count, &rule);
}

static int compare_ints (const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Whether the n entries of v are all different. */
static int ints_unique (const int *v, int n, bool *unique)
{
    int *sorted;

    *unique = true;
    if (n < 2)
        return 0;
    if (!(sorted = malloc (n * sizeof (int))))
        return -1;
    memcpy (sorted, v, n * sizeof (int));
    qsort (sorted, n, sizeof (int), compare_ints);
    for (int i = 1; i < n && *unique; i++)
        if (sorted[i] == sorted[i - 1])
            *unique = false;
    free (sorted);
    return 0;
}

struct int_array_rule {
    int min_count, max_count; /* entries */
    int min, max;             /* each entry */
    bool unique;
};

static int field_ints (struct codec *c, const char *name, int **items, int *count,
                       const struct int_array_rule *rule)
{
    char expected[96], entry[80];
    cJSON *array;
    bool unique;
    int n;

    snprintf (expected, sizeof (expected), "an array of %d to %d %sintegers",
              rule->min_count, rule->max_count, rule->unique ? "distinct " : "");
    describe_range (entry, sizeof (entry), rule->min, rule->max);
    if (c->encoding) {
        n = *count;
        if (n < rule->min_count || n > rule->max_count || (n > 0 && !*items))
            return reject (c, name, expected);
        if (!(array = cJSON_AddArrayToObject (c->obj, name)))
            return out_of_memory (c);
        for (int i = 0; i < n; i++) {
            cJSON *v;
            if ((*items)[i] < rule->min || (*items)[i] > rule->max)
                return reject_at (c, name, i, entry);
            if (!(v = cJSON_CreateNumber ((*items)[i])))
                return out_of_memory (c);
            cJSON_AddItemToArray (array, v);
        }
    } else {
        array = cJSON_GetObjectItemCaseSensitive (c->obj, name);
        if (!cJSON_IsArray (array) ||
            (n = cJSON_GetArraySize (array)) < rule->min_count || n > rule->max_count)
            return reject (c, name, expected);
        if (!(*items = calloc (n > 0 ? n : 1, sizeof (int))))
            return out_of_memory (c);
        *count = n;
        const cJSON *item = array->child;
        for (int i = 0; i < n; i++, item = item->next) {
            if (!integral_in (item, rule->min, rule->max))
                return reject_at (c, name, i, entry);
            (*items)[i] = (int)item->valuedouble;
        }
    }
    if (!rule->unique)
        return 0;
    if (ints_unique (*items, n, &unique) < 0)
        return out_of_memory (c);
    return unique ? 0 : reject (c, name, expected);
}

/* An optional boolean: absent means false, and false is not written. */
static int field_flag (struct codec *c, const char *name, bool *value)
{
    if (c->encoding) {
        if (*value && !cJSON_AddTrueToObject (c->obj, name))
            return out_of_memory (c);
        return 0;
    }
    const cJSON *item = lookup (c, name);
    if (item && !cJSON_IsBool (item))
        return reject (c, name, "true or false");
    *value = cJSON_IsTrue (item);
    return 0;
}

/* A number from 0 to 1. */
static int field_fraction (struct codec *c, const char *name, double *value)
{
    const char *expected = "a number from 0 to 1";

    if (c->encoding) {
        if (!(*value >= 0 && *value <= 1))
            return reject (c, name, expected);
        if (!cJSON_AddNumberToObject (c->obj, name, *value))
            return out_of_memory (c);
        return 0;
    }
    const cJSON *item = lookup (c, name);
    if (!cJSON_IsNumber (item) || !(item->valuedouble >= 0 && item->valuedouble <= 1))
        return reject (c, name, expected);
    *value = item->valuedouble;
    return 0;
}

/* The payload of a task or result: raw bytes after the JSON line, whose
 * length the optional integer field name announces (absent means none), so a
 * truncated body is detected.  Decoding borrows *data from the body; in an
 * item of "results" it takes only the length (see payload_shared). */
static int field_payload (struct codec *c, const char *name, const char **data,
                          size_t *len, size_t max)
{
    char expected[64];
    int64_t n;

    snprintf (expected, sizeof (expected), "an integer from 0 to %zu", max);
    if (c->encoding) {
        if (*len == 0)
            return 0;
        if (*len > max || !*data)
            return reject (c, name, expected);
        n = (int64_t)*len;
        return field_int64 (c, name, &n, 0, (int64_t)max);
    }
    if (!lookup (c, name)) {
        if (c->payload_len > 0 && !c->payload_shared)
            return codec_error (c, "%zu unexpected bytes after the JSON line",
                                c->payload_len);
        return 0;
    }
    if (field_int64 (c, name, &n, 0, (int64_t)max) < 0)
        return -1;
    if (c->payload_shared) {
        *len = (size_t)n;
        return 0;
    }
    if ((size_t)n != c->payload_len)
        return codec_error (c,
                            "field '%s' says %lld bytes but %zu follow the JSON line",
                            name, (long long)n, c->payload_len);
    *data = n > 0 ? c->payload : NULL;
    *len = (size_t)n;
    return 0;
}

static int field_status (struct codec *c, const char *name,
                         enum protocol_status *status)
{
    const char *expected = "one of \"exited\", \"signaled\", \"failed\"";

    if (c->encoding) {
        if (*status < PROTOCOL_EXITED || *status > PROTOCOL_FAILED)
            return reject (c, name, expected);
        if (!cJSON_AddStringToObject (c->obj, name, status_names[*status]))
            return out_of_memory (c);
        return 0;
    }
    const cJSON *item = lookup (c, name);
    if (cJSON_IsString (item) && item->valuestring) {
        for (int s = PROTOCOL_EXITED; s <= PROTOCOL_FAILED; s++) {
            if (strcmp (item->valuestring, status_names[s]) == 0) {
                *status = s;
                return 0;
            }
        }
    }
    return reject (c, name, expected);
}

/* ---- the messages ---- */

static int field_nonce (struct codec *c, char **nonce)
{
    return field_string_sized (c, "nonce", nonce, 1, PROTOCOL_MAX_NONCE,
                               "a nonce of 1 to 64 bytes");
}

static int codec_here (struct codec *c, struct protocol_here *h)
{
    const struct int_array_rule cores = {1, MAX_ARRAY, -1, INT_MAX, false};
    const struct string_array_rule jobs = {
        0, PROTOCOL_MAX_HERE_JOBS, protocol_job_id_valid,
        "a job id (1 to 64 letters, digits, '-', '_')"};

    if (field_name (c, "node", &h->node) < 0 ||
        field_int (c, "pid", &h->pid, 1, INT_MAX) < 0 ||
        field_ints (c, "cores", &h->cores, &h->nslots, &cores) < 0 ||
        field_int (c, "busy", &h->busy, 0, h->nslots) < 0 ||
        field_time (c, "started_us", &h->started_us) < 0 ||
        field_string (c, "version", &h->version) < 0)
        return -1;
    /* Optional, added without a new version: absent (an older daemon, or
     * no job) means none, and an empty list is not sent. */
    if ((c->encoding ? h->njobs != 0 : lookup (c, "jobs") != NULL) &&
        field_string_array (c, "jobs", &h->jobs, &h->njobs, &jobs) < 0)
        return -1;
    /* Optional too: an older daemon's slots take one rank per task message. */
    if (field_flag (c, "batches", &h->batches) < 0)
        return -1;
    return field_nonce (c, &h->nonce);
}

static int codec_joined (struct codec *c, struct protocol_joined *j)
{
    if (field_name (c, "node", &j->node) < 0 ||
        field_int (c, "local", &j->local, 0, INT_MAX) < 0)
        return -1;
    return 0;
}

static int codec_join (struct codec *c, struct protocol_join *j, bool refuse)
{
    if (field_name (c, "node", &j->node) < 0 ||
        (refuse && field_name (c, "reason", &j->reason) < 0))
        return -1;
    return 0;
}

/* An array of objects: min_count to max_count entries, each described by
 * codec_item with c->obj the entry and c->scope "name[i]", so that errors
 * name "nodes[3].used".  Decoding allocates *items: count zeroed entries of
 * size bytes, which protocol_msg_clear() frees however far decoding came. */
struct object_array_rule {
    int min_count, max_count;
    size_t size;       /* bytes of one entry */
    const char *entry; /* what the entries are: "node objects" */
    int (*codec_item) (struct codec *c, void *item, void *context);
};

/* What an array of objects must be, for error messages. */
static const char *describe_objects (char *buf, size_t size,
                                     const struct object_array_rule *rule)
{
    if (rule->min_count == 0)
        snprintf (buf, size, "an array of at most %d %s", rule->max_count, rule->entry);
    else
        snprintf (buf, size, "an array of %d to %d %s", rule->min_count,
                  rule->max_count, rule->entry);
    return buf;
}

static int field_objects (struct codec *c, const char *name, void **items, int *count,
                          const struct object_array_rule *rule, void *context)
{
    char expected[80];
    cJSON *array, *parent = c->obj;
    int n, rc = 0;

    describe_objects (expected, sizeof (expected), rule);
    if (c->encoding) {
        if ((n = *count) < rule->min_count || n > rule->max_count || (n > 0 && !*items))
            return reject (c, name, expected);
        if (!(array = cJSON_AddArrayToObject (c->obj, name)))
            return out_of_memory (c);
    } else {
        array = cJSON_GetObjectItemCaseSensitive (c->obj, name);
        if (!cJSON_IsArray (array) ||
            (n = cJSON_GetArraySize (array)) < rule->min_count || n > rule->max_count)
            return reject (c, name, expected);
        if (!(*items = calloc (n > 0 ? n : 1, rule->size)))
            return out_of_memory (c);
        *count = n;
    }
    cJSON *next = c->encoding ? NULL : array->child;
    for (int i = 0; i < n && rc == 0; i++) {
        cJSON *obj;
        if (c->encoding) {
            if (!(obj = cJSON_CreateObject ()))
                return out_of_memory (c);
            cJSON_AddItemToArray (array, obj);
        } else {
            obj = next;
            next = next->next;
            if (!cJSON_IsObject (obj))
                return reject_at (c, name, i, "an object");
        }
        snprintf (c->scope, sizeof (c->scope), "%s[%d]", name, i);
        c->obj = obj;
        rc = rule->codec_item (c, (char *)*items + (size_t)i * rule->size, context);
        c->obj = parent;
        c->scope[0] = '\0';
    }
    return rc;
}

/* One node of an announcement (an item of field_objects()). */
static int codec_node (struct codec *c, void *item, void *context)
{
    struct protocol_node *n = item;
    struct int_array_rule used = {0, 0, 0, 0, true};

    (void)context;
    if (field_name (c, "name", &n->name) < 0 ||
        field_int (c, "first_slot", &n->first_slot, 0, INT_MAX) < 0 ||
        field_int (c, "nslots", &n->nslots, 1, INT_MAX - n->first_slot) < 0)
        return -1;
    /* Each local slot takes part at most once. */
    used.max_count = n->nslots < MAX_ARRAY ? n->nslots : MAX_ARRAY;
    used.max = n->nslots - 1;
    return field_ints (c, "used", &n->used, &n->nused, &used);
}

static int field_nodes (struct codec *c, struct protocol_announce *a)
{
    const struct object_array_rule rule = {0, MAX_ARRAY, sizeof (struct protocol_node),
                                           "node objects", codec_node};
    /* Through a void *: field_objects() serves arrays of any type. */
    void *nodes = a->nodes;
    int rc = field_objects (c, "nodes", &nodes, &a->nnodes, &rule, NULL);

    a->nodes = nodes;
    return rc;
}

static void free_strings (char **v, int n);

/* The files staged with --stage (optional, added without a new version):
 * staged_files and staged_sha256, arrays of the same length, and the flag
 * staged_cwd. */
static int field_staged (struct codec *c, struct protocol_announce *a)
{
    const char *name_rule = "distinct relative names without '.' or '..' parts";
    const char *hash_rule = "64 hex digits (SHA-256)";

    if (c->encoding ? a->nstaged > 0 : lookup (c, "staged_files") != NULL) {
        if (field_strings (c, "staged_files", &a->staged_files, &a->nstaged, 1) < 0)
            return -1;
        int nhashes = a->nstaged;
        int rc = field_strings (c, "staged_sha256", &a->staged_sha256, &nhashes, 1);
        if (rc == 0 && nhashes != a->nstaged)
            rc = reject (c, "staged_sha256", "as many entries as staged_files");
        if (rc < 0) {
            /* Decoded with its own count: free it with that count. */
            if (!c->encoding) {
                free_strings (a->staged_sha256, nhashes);
                a->staged_sha256 = NULL;
            }
            return -1;
        }
        for (int i = 0; i < a->nstaged; i++) {
            if (!stage_name_valid (a->staged_files[i]))
                return reject_at (c, "staged_files", i, name_rule);
            for (int k = 0; k < i; k++)
                if (strcmp (a->staged_files[k], a->staged_files[i]) == 0)
                    return reject_at (c, "staged_files", i, name_rule);
            if (!stage_hash_valid (a->staged_sha256[i]))
                return reject_at (c, "staged_sha256", i, hash_rule);
        }
    } else if (!c->encoding && lookup (c, "staged_sha256"))
        return reject (c, "staged_files", "present with staged_sha256");
    return field_flag (c, "staged_cwd", &a->staged_cwd);
}

/* What the tasks inherit from the launcher besides variables (optional,
 * added without a new version: an older worker ignores them). */
static int field_inherit (struct codec *c, struct protocol_announce *a)
{
    if (field_flag (c, "env_exact", &a->env_exact) < 0)
        return -1;
    if (!c->encoding) {
        a->has_umask = lookup (c, "umask") != NULL;
        a->has_nice = lookup (c, "nice") != NULL;
    }
    if ((a->has_umask && field_int (c, "umask", &a->umask, 0, 0777) < 0) ||
        (a->has_nice && field_int (c, "nice", &a->nice, -20, 19) < 0))
        return -1;
    if (field_int_optional (c, "cpus_per_rank", &a->cpus_per_rank, 1, 1024, 0) < 0 ||
        field_flag (c, "bind_none", &a->bind_none) < 0)
        return -1;
    if (c->encoding ? a->nlimits > 0 : lookup (c, "limits") != NULL)
        return field_strings (c, "limits", &a->limits, &a->nlimits, 1);
    return 0;
}

static int codec_announce (struct codec *c, struct protocol_announce *a)
{
    if (field_path (c, "path", &a->path) < 0 ||
        field_strings (c, "argv", &a->argv, &a->argc, 1) < 0 ||
        field_strings (c, "env", &a->env, &a->envc, 0) < 0 ||
        field_path (c, "cwd", &a->cwd) < 0 ||
        field_int (c, "size", &a->size, 1, INT_MAX) < 0 ||
        field_string_sized (c, "results_queue", &a->results_queue, 1, MAX_QUEUE_NAME,
                            "a queue name of 1 to 255 bytes") < 0 ||
        field_int (c, "delivery_limit", &a->delivery_limit, 1, INT_MAX) < 0 ||
        field_nodes (c, a) < 0 ||
        field_int_optional (c, "timeout_ms", &a->timeout_ms, 0, INT_MAX, 0) < 0 ||
        field_int_optional (c, "output_limit", &a->output_limit, 0, INT_MAX, 0) < 0 ||
        field_flag (c, "inputs", &a->inputs) < 0 ||
        field_flag (c, "progress", &a->progress) < 0)
        return -1;
    /* Optional, added without a new version: an older worker ignores it and
     * runs path (which then fails if only the launcher has it). */
    if ((c->encoding ? a->program_sha256 != NULL
                     : lookup (c, "program_sha256") != NULL) &&
        field_string_sized (c, "program_sha256", &a->program_sha256, 64, 64,
                            "64 hex digits (SHA-256)") < 0)
        return -1;
    return field_staged (c, a) < 0 ? -1 : field_inherit (c, a);
}

static int codec_task (struct codec *c, struct protocol_task *t)
{
    int max_count;

    /* Optional, added without a new version: 0 (a message built without it)
     * is 1, and neither is sent, so a task of one rank stays as it was.  The
     * encoder works on a copy of the message. */
    if (c->encoding && t->count == 0)
        t->count = 1;
    if (field_int (c, "rank", &t->rank, 0, INT_MAX) < 0)
        return -1;
    /* The last rank, rank + count - 1, is an int too. */
    max_count = INT_MAX - t->rank < PROTOCOL_MAX_BATCH ? INT_MAX - t->rank + 1
                                                       : PROTOCOL_MAX_BATCH;
    if (field_int_optional (c, "count", &t->count, 1, max_count, 1) < 0 ||
        field_int (c, "attempt", &t->attempt, 1, INT_MAX) < 0 ||
        field_payload (c, "input", &t->input, &t->input_len, PROTOCOL_MAX_INPUT) < 0)
        return -1;
    /* Optional: only `krun -f` sends per-rank arguments. */
    if (((c->encoding && t->argc > 0) || (!c->encoding && lookup (c, "args"))) &&
        field_strings (c, "args", &t->args, &t->argc, 1) < 0)
        return -1;
    /* Ranks of one message run one after the other in one slot, and input
     * and arguments are per rank. */
    if (t->count > 1 && (t->input_len > 0 || t->argc > 0))
        return codec_error (c, "field 'count' (%d ranks) cannot go with input or args",
                            t->count);
    return 0;
}

static int codec_progress (struct codec *c, struct protocol_progress *p)
{
    if (field_int (c, "rank", &p->rank, 0, INT_MAX) < 0 ||
        field_int (c, "attempt", &p->attempt, 1, INT_MAX) < 0 ||
        field_name (c, "node", &p->node) < 0 ||
        field_fraction (c, "fraction", &p->fraction) < 0)
        return -1;
    return 0;
}

/* Where a rank ran: its slot's node, global and local index and core.  The
 * slot's CPU list is apart (field_cpus()): "result" has fields between. */
static int codec_where (struct codec *c, struct protocol_result *r)
{
    if (field_name (c, "node", &r->node) < 0 ||
        field_int (c, "slot", &r->slot, 0, INT_MAX) < 0 ||
        field_int (c, "local", &r->local, 0, INT_MAX) < 0 ||
        field_int (c, "core", &r->core, -1, INT_MAX) < 0)
        return -1;
    return 0;
}

static int field_cpus (struct codec *c, struct protocol_result *r)
{
    /* Optional (added later): the CPUs the slot really runs on. */
    if (((c->encoding && r->cpus) || (!c->encoding && lookup (c, "cpus"))) &&
        field_string_sized (c, "cpus", &r->cpus, 1, 256,
                            "a CPU list of 1 to 256 bytes") < 0)
        return -1;
    return 0;
}

/* One rank's result, with where it ran (a "result" message) or without (an
 * item of "results", which carries that once for all items). */
static int codec_rank_result (struct codec *c, struct protocol_result *r, bool where)
{
    if (field_int (c, "rank", &r->rank, 0, INT_MAX) < 0 ||
        field_int (c, "attempt", &r->attempt, 1, INT_MAX) < 0 ||
        (where && codec_where (c, r) < 0) ||
        field_status (c, "status", &r->status) < 0 ||
        field_int (c, "code", &r->code, INT_MIN, INT_MAX) < 0 ||
        field_time (c, "start_us", &r->start_us) < 0 ||
        field_time (c, "end_us", &r->end_us) < 0 ||
        field_payload (c, "data", &r->data, &r->data_len, PROTOCOL_MAX_RESULT) < 0 ||
        (where && field_cpus (c, r) < 0))
        return -1;
    /* Only a failure has a reason; an error field on other results is
     * ignored like any unknown field. */
    if (r->status == PROTOCOL_FAILED)
        return field_string (c, "error", &r->error);
    return 0;
}

static int codec_result (struct codec *c, struct protocol_result *r)
{
    return codec_rank_result (c, r, true);
}

/* Whether a and b are equal strings or both NULL. */
static bool same_string (const char *a, const char *b)
{
    return a && b ? strcmp (a, b) == 0 : a == b;
}

/* An item of "results" ran where the message says (context): encoding
 * checks that it did, decoding copies those fields into the item, which
 * owns its strings like a decoded "result". */
static int codec_results_item (struct codec *c, void *item, void *context)
{
    const struct protocol_result *where = context;
    const char *expected = "the same as in results[0]";
    struct protocol_result *r = item;

    if (codec_rank_result (c, r, false) < 0)
        return -1;
    if (!c->encoding) {
        r->slot = where->slot;
        r->local = where->local;
        r->core = where->core;
        if (!(r->node = strdup (where->node)) ||
            (where->cpus && !(r->cpus = strdup (where->cpus))))
            return out_of_memory (c);
        return 0;
    }
    if (!same_string (r->node, where->node))
        return reject (c, "node", expected);
    if (r->slot != where->slot)
        return reject (c, "slot", expected);
    if (r->local != where->local)
        return reject (c, "local", expected);
    if (r->core != where->core)
        return reject (c, "core", expected);
    if (!same_string (r->cpus, where->cpus))
        return reject (c, "cpus", expected);
    return 0;
}

/* Decoding: the items' data are consecutive parts of the payload, in item
 * order, and together all of it. */
static int share_payload (struct codec *c, struct protocol_results *rs)
{
    const char *next = c->payload;
    size_t total = 0;

    for (int i = 0; i < rs->n; i++)
        total += rs->items[i].data_len;
    if (total != c->payload_len)
        return codec_error (c,
                            "the items' data add up to %zu bytes but %zu follow the "
                            "JSON line",
                            total, c->payload_len);
    /* next is NULL when no byte follows the line: move it over bytes only. */
    for (int i = 0; i < rs->n; i++) {
        if (rs->items[i].data_len > 0) {
            rs->items[i].data = next;
            next += rs->items[i].data_len;
        }
    }
    return 0;
}

/* Where the ranks ran travels once, before the items: encoding takes it from
 * the first item. */
static int codec_results (struct codec *c, struct protocol_results *rs)
{
    const struct object_array_rule rule = {1, PROTOCOL_MAX_BATCH,
                                           sizeof (struct protocol_result),
                                           "result objects", codec_results_item};
    struct protocol_result where = {0};
    void *items = rs->items;
    char expected[80];
    int rc;

    if (c->encoding) {
        if (rs->n < rule.min_count || rs->n > rule.max_count || !rs->items)
            return reject (c, "results",
                           describe_objects (expected, sizeof (expected), &rule));
        where = rs->items[0];
    }
    rc = codec_where (c, &where);
    if (rc == 0)
        rc = field_cpus (c, &where);
    c->payload_shared = !c->encoding;
    if (rc == 0)
        rc = field_objects (c, "results", &items, &rs->n, &rule, &where);
    rs->items = items;
    c->payload_shared = false;
    if (!c->encoding) {
        if (rc == 0)
            rc = share_payload (c, rs);
        free (where.node);
        free (where.cpus);
    }
    return rc;
}

static int codec_output (struct codec *c, struct protocol_output *o)
{
    char expected[64];

    if (field_int (c, "rank", &o->rank, 0, INT_MAX) < 0 ||
        field_int (c, "attempt", &o->attempt, 1, INT_MAX) < 0 ||
        field_int (c, "stream", &o->stream, 1, 2) < 0)
        return -1;
    /* The payload is not a JSON field: it follows the JSON line (decoding
     * found it already).  A decoder takes any size up to PROTOCOL_MAX_BODY so
     * that a later revision may send larger chunks. */
    snprintf (expected, sizeof (expected), "at most %d bytes of data",
              PROTOCOL_MAX_OUTPUT_CHUNK);
    if (c->encoding && (o->len > PROTOCOL_MAX_OUTPUT_CHUNK || (o->len > 0 && !o->data)))
        return reject (c, "payload", expected);
    return 0;
}

static int codec_msg (struct codec *c, struct protocol_msg *msg)
{
    if (has_job (msg->type) && field_string_sized (c, "job", &msg->job, 1, MAX_JOB_ID,
                                                   "a job id of 1 to 64 bytes") < 0)
        return -1;
    switch (msg->type) {
        case PROTOCOL_WHO:
            return field_nonce (c, &msg->who.nonce);
        case PROTOCOL_END:
        case PROTOCOL_CANCEL:
            return 0;
        case PROTOCOL_CONFIRM:
        case PROTOCOL_REFUSE:
            return codec_join (c, &msg->join, msg->type == PROTOCOL_REFUSE);
        case PROTOCOL_HERE:
            return codec_here (c, &msg->here);
        case PROTOCOL_JOINED:
            return codec_joined (c, &msg->joined);
        case PROTOCOL_ANNOUNCE:
            return codec_announce (c, &msg->announce);
        case PROTOCOL_TASK:
            return codec_task (c, &msg->task);
        case PROTOCOL_RESULT:
            return codec_result (c, &msg->result);
        case PROTOCOL_RESULTS:
            return codec_results (c, &msg->results);
        case PROTOCOL_OUTPUT:
            return codec_output (c, &msg->output);
        case PROTOCOL_PROGRESS:
            return codec_progress (c, &msg->progress);
    }
    return reject (c, "type", "a known message type");
}

/* ---- encoding ---- */

/* How many pieces the bytes that follow the JSON line of msg come in: one
 * per item of "results", else one (possibly empty). */
static int payload_pieces (const struct protocol_msg *msg)
{
    return msg->type == PROTOCOL_RESULTS ? msg->results.n : 1;
}

/* Piece i of the bytes that follow the JSON line of msg. */
static void payload_piece (const struct protocol_msg *msg, int i, const char **data,
                           size_t *len)
{
    *data = NULL;
    *len = 0;
    switch (msg->type) {
        case PROTOCOL_OUTPUT:
            *data = msg->output.data;
            *len = msg->output.len;
            break;
        case PROTOCOL_TASK:
            *data = msg->task.input;
            *len = msg->task.input_len;
            break;
        case PROTOCOL_RESULT:
            *data = msg->result.data;
            *len = msg->result.data_len;
            break;
        case PROTOCOL_RESULTS:
            *data = msg->results.items[i].data;
            *len = msg->results.items[i].data_len;
            break;
        default:
            break;
    }
}

/* The body: the JSON line, and for a message with a payload a newline and
 * the payload.  The codec checked the pieces (sizes, data for a length). */
static char *assemble (const struct protocol_msg *msg, const char *json, size_t *lenp,
                       struct krun_error *errp)
{
    size_t jlen = strlen (json), len = jlen, payload_len = 0, data_len;
    const char *data;
    bool has_payload;
    char *body, *next;

    for (int i = 0; i < payload_pieces (msg); i++) {
        payload_piece (msg, i, &data, &data_len);
        payload_len += data_len;
    }
    /* An output message has the newline even when empty; the others only
     * with bytes after it. */
    has_payload = msg->type == PROTOCOL_OUTPUT || payload_len > 0;
    if (has_payload)
        len += 1 + payload_len;
    if (len > PROTOCOL_MAX_BODY) {
        errno = E2BIG;
        errprintf (errp, "cannot encode %s message: %zu bytes, over the %d byte limit",
                   protocol_type_name (msg->type), len, PROTOCOL_MAX_BODY);
        return NULL;
    }
    /* One spare byte: the body is NUL-terminated for the curious reader, not
     * for the decoder, which never relies on it. */
    if (!(body = malloc (len + 1))) {
        errprintf_errno (errp, "cannot encode %s message",
                         protocol_type_name (msg->type));
        return NULL;
    }
    memcpy (body, json, jlen);
    next = body + jlen;
    if (has_payload) {
        *next++ = '\n';
        for (int i = 0; i < payload_pieces (msg); i++) {
            payload_piece (msg, i, &data, &data_len);
            if (data_len > 0)
                memcpy (next, data, data_len);
            next += data_len;
        }
    }
    body[len] = '\0';
    *lenp = len;
    return body;
}

char *protocol_encode (const struct protocol_msg *msg, size_t *lenp,
                       struct krun_error *errp)
{
    struct codec c = {.encoding = true, .errp = errp};
    struct protocol_msg copy;
    char *json = NULL, *body = NULL;

    if (!msg || !lenp) {
        errno = EINVAL;
        errprintf (errp, "cannot encode a message: no message or length pointer");
        return NULL;
    }
    if (!type_known (msg->type)) {
        errno = EINVAL;
        errprintf (errp, "cannot encode a message of unknown type %d", (int)msg->type);
        return NULL;
    }
    /* The codec takes non-const pointers because it also decodes; encoding
     * only reads them. */
    copy = *msg;
    c.type = type_names[msg->type];
    if (!(c.obj = cJSON_CreateObject ()) ||
        !cJSON_AddNumberToObject (c.obj, "v", PROTOCOL_VERSION) ||
        !cJSON_AddStringToObject (c.obj, "type", c.type)) {
        out_of_memory (&c);
        goto done;
    }
    if (codec_msg (&c, &copy) < 0)
        goto done;
    if (!(json = cJSON_PrintUnformatted (c.obj))) {
        out_of_memory (&c);
        goto done;
    }
    body = assemble (msg, json, lenp, errp);
done:
    cJSON_free (json);
    cJSON_Delete (c.obj);
    return body;
}

/* ---- decoding ---- */

static int protocol_error (struct krun_error *errp, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* errprintf() with errno EPROTO: the body is not a valid message. */
static int protocol_error (struct krun_error *errp, const char *fmt, ...)
{
    char text[sizeof (errp->text)];
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (text, sizeof (text), fmt, ap);
    va_end (ap);
    errno = EPROTO;
    return errprintf (errp, "%s", text);
}

/* cJSON turns the escape \u0000 into a NUL that silently cuts a string short;
 * no field may hold a NUL, so such a string is refused.  In valid JSON a
 * backslash occurs only inside a string, and it owns the character after it,
 * so a single pass finds every escape. */
static bool has_escaped_nul (const char *json, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (json[i] != '\\')
            continue;
        if (json[i + 1] == 'u' && i + 6 <= len && memcmp (json + i + 2, "0000", 4) == 0)
            return true;
        i++;
    }
    return false;
}

/* Parse the JSON line (len bytes, not NUL-terminated) into an object. */
static cJSON *parse_line (const char *text, size_t len, struct krun_error *errp)
{
    const char *end = NULL;
    cJSON *obj;
    char *line;

    if (memchr (text, '\0', len)) {
        protocol_error (errp, "message has a NUL byte in its JSON line");
        return NULL;
    }
    if (has_escaped_nul (text, len)) {
        protocol_error (errp, "message has a string with an escaped NUL (\\u0000)");
        return NULL;
    }
    /* A NUL-terminated copy: the parser never reads past the line, whatever
     * it is fed, and can be told to refuse bytes after the object. */
    if (!(line = malloc (len + 1))) {
        errprintf_errno (errp, "cannot decode message");
        return NULL;
    }
    memcpy (line, text, len);
    line[len] = '\0';
    obj = cJSON_ParseWithOpts (line, &end, true);
    if (!obj) {
        size_t at = end >= line && end <= line + len ? (size_t)(end - line) : len;
        protocol_error (errp, "message is not valid JSON (error at byte %zu of %zu)",
                        at, len);
    } else if (!cJSON_IsObject (obj)) {
        protocol_error (errp, "message is not a JSON object");
        cJSON_Delete (obj);
        obj = NULL;
    }
    free (line);
    return obj;
}

/* Check "v" and read "type" into msg->type. */
static int decode_header (struct codec *c, struct protocol_msg *msg)
{
    const cJSON *v = lookup (c, "v");
    const cJSON *type = lookup (c, "type");

    if (!integral_in (v, PROTOCOL_VERSION, PROTOCOL_VERSION)) {
        char what[64];
        if (cJSON_IsNumber (v))
            snprintf (what, sizeof (what), "%g", v->valuedouble);
        else
            snprintf (what, sizeof (what), "missing or not a number");
        return protocol_error (c->errp, "message has protocol version %s, expected %d",
                               what, PROTOCOL_VERSION);
    }
    if (cJSON_IsString (type) && type->valuestring) {
        for (int t = PROTOCOL_WHO; t <= PROTOCOL_LAST_TYPE; t++) {
            if (strcmp (type->valuestring, type_names[t]) == 0) {
                msg->type = t;
                c->type = type_names[t];
                return 0;
            }
        }
    }
    return reject (c, "type", "a known message type");
}

/* Output has bytes after the JSON line; task, result and results may have
 * (their codec checks the count); everything else is the line and at most
 * its newline. */
static int split_payload (struct codec *c, struct protocol_msg *msg, const char *body,
                          size_t len, size_t jlen)
{
    if (msg->type == PROTOCOL_OUTPUT) {
        if (jlen == len)
            return protocol_error (c->errp,
                                   "output message: no newline between the JSON line "
                                   "and the payload");
        msg->output.data = body + jlen + 1;
        msg->output.len = len - jlen - 1;
    } else if (msg->type == PROTOCOL_TASK || msg->type == PROTOCOL_RESULT ||
               msg->type == PROTOCOL_RESULTS) {
        c->payload = jlen < len ? body + jlen + 1 : NULL;
        c->payload_len = jlen < len ? len - jlen - 1 : 0;
    } else if (jlen + 1 < len) {
        return protocol_error (c->errp,
                               "%s message: %zu unexpected bytes after the JSON line",
                               c->type, len - jlen - 1);
    }
    return 0;
}

int protocol_decode (const void *body, size_t len, struct protocol_msg *msg,
                     struct krun_error *errp)
{
    struct codec c = {.encoding = false, .type = "krun", .errp = errp};
    const char *text = body;
    const char *nl;
    size_t jlen;
    int rc = -1;

    if (!msg) {
        errno = EINVAL;
        return errprintf (errp, "cannot decode a message into nothing");
    }
    memset (msg, 0, sizeof (*msg));
    if (len > PROTOCOL_MAX_BODY) {
        errno = E2BIG;
        return errprintf (errp, "message of %zu bytes is over the %d byte limit", len,
                          PROTOCOL_MAX_BODY);
    }
    if (!body || len == 0)
        return protocol_error (errp, "message is empty");
    nl = memchr (text, '\n', len);
    jlen = nl ? (size_t)(nl - text) : len;
    if (!(c.obj = parse_line (text, jlen, errp)))
        return -1;
    if (decode_header (&c, msg) == 0 && split_payload (&c, msg, text, len, jlen) == 0)
        rc = codec_msg (&c, msg);
    cJSON_Delete (c.obj);
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

static void free_announce (struct protocol_announce *a)
{
    free (a->path);
    free_strings (a->argv, a->argc);
    free_strings (a->env, a->envc);
    free (a->cwd);
    free (a->results_queue);
    free (a->program_sha256);
    free_strings (a->staged_files, a->nstaged);
    free_strings (a->staged_sha256, a->nstaged);
    free_strings (a->limits, a->nlimits);
    if (a->nodes) {
        for (int i = 0; i < a->nnodes; i++) {
            free (a->nodes[i].name);
            free (a->nodes[i].used);
        }
        free (a->nodes);
    }
}

static void free_result (struct protocol_result *r)
{
    free (r->node);
    free (r->error);
    free (r->cpus);
}

void protocol_msg_clear (struct protocol_msg *msg)
{
    if (!msg)
        return;
    switch (msg->type) {
        case PROTOCOL_WHO:
            free (msg->who.nonce);
            break;
        case PROTOCOL_CONFIRM:
        case PROTOCOL_REFUSE:
            free (msg->join.node);
            free (msg->join.reason);
            break;
        case PROTOCOL_HERE:
            free (msg->here.nonce);
            free (msg->here.node);
            free (msg->here.cores);
            free (msg->here.version);
            free_strings (msg->here.jobs, msg->here.njobs);
            break;
        case PROTOCOL_JOINED:
            free (msg->joined.node);
            break;
        case PROTOCOL_ANNOUNCE:
            free_announce (&msg->announce);
            break;
        case PROTOCOL_RESULT:
            free_result (&msg->result);
            break;
        case PROTOCOL_RESULTS:
            for (int i = 0; msg->results.items && i < msg->results.n; i++)
                free_result (&msg->results.items[i]);
            free (msg->results.items);
            break;
        case PROTOCOL_TASK:
            free_strings (msg->task.args, msg->task.argc);
            break;
        case PROTOCOL_PROGRESS:
            free (msg->progress.node);
            break;
        default: /* no owned fields; output.data is borrowed */
            break;
    }
    free (msg->job);
    memset (msg, 0, sizeof (*msg));
}
