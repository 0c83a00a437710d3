/* kubeapi.h - a small client of the Kubernetes REST API, and the only
 * module that talks to libcurl.
 *
 * Requests go over HTTPS to the server of a kubeconfig, verified against the
 * cluster CA (a failure names the server), authenticated with the bearer
 * token or the client certificate the kubeconfig gives; certificates and
 * keys are handed to curl from memory, never through files or argv.  JSON in
 * and out is cJSON.  Any failure becomes one line: verb, path, HTTP status
 * and the message of the Status object the server answered with, e.g.
 *   "kubernetes API: POST /api/v1/namespaces/x/pods: HTTP 403 Forbidden:
 *    pods is forbidden: ..."
 * with errno EACCES (401), EPERM (403), ENOENT (404), EEXIST (409), EINVAL
 * (400, 422), EIO (other), ETIMEDOUT, ECONNREFUSED or EPROTO (TLS).  A 401
 * with an exec credential plugin makes it run again and the request is
 * retried once.  No token or key is ever written to a message.
 */
#ifndef KRUN_KUBEAPI_H
#define KRUN_KUBEAPI_H

#include <cjson/cJSON.h>

#include "kubeconfig.h"
#include "error.h"

struct kubeapi;

/* A client for k's server (k is borrowed and must outlive the client).
 * timeout_ms bounds each plain request.  NULL with errno on failure. */
struct kubeapi *kubeapi_create (struct kubeconfig *k, int timeout_ms,
                                struct krun_error *errp);
/* Accepts NULL; keeps errno. */
void kubeapi_destroy (struct kubeapi *api);

/* The server URL (borrowed). */
const char *kubeapi_server (const struct kubeapi *api);

/* Send verb ("GET", "POST", "PUT", "DELETE") to path (with its query
 * string) with an optional JSON body.  Returns the parsed answer of a 2xx
 * (caller must cJSON_Delete) or NULL with errno and errp as above.
 * *http_status (may be NULL) gets the status, 0 if none arrived. */
cJSON *kubeapi_request (struct kubeapi *api, const char *verb, const char *path,
                        const cJSON *body, long *http_status, struct krun_error *errp);

/* Called for each watch event: type "ADDED", "MODIFIED", "DELETED",
 * "BOOKMARK" or "ERROR" and its object (borrowed for the call).  Returns 0
 * to go on, 1 to stop watching, -1 to fail (with errp set). */
typedef int (*kubeapi_watch_fn) (void *arg, const char *type, const cJSON *object,
                                 struct krun_error *errp);

/* Watch path (a list URL; "watch=1" is added) for at most timeout_ms,
 * calling fn for each event line as it streams in.  Returns 1 if fn stopped
 * the watch, 0 if the time ran out or the server ended the stream, -1 on
 * error. */
int kubeapi_watch (struct kubeapi *api, const char *path, int timeout_ms,
                   kubeapi_watch_fn fn, void *arg, struct krun_error *errp);

/* The string member key of obj (borrowed), or NULL if obj is not an object
 * or the member is missing or not a string. */
const char *kubeapi_string (const cJSON *obj, const char *key);

/* "a=b,c=d" made safe for a query string (caller must free), or NULL. */
char *kubeapi_escape (const char *s);

#endif
