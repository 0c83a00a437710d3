/* kubeapi.c - see kubeapi.h.  The only file that includes libcurl. */
#define _GNU_SOURCE
/* No type-checking macros: the curl functions are called through pointers
 * (see libcurl_load()). */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubeapi.h"

#define CONNECT_TIMEOUT_MS 10000
/* Error bodies longer than this are not worth reading. */
#define MAX_BODY (64 * 1024 * 1024)

struct kubeapi {
    struct kubeconfig *config;
    CURL *curl;
    int timeout_ms;
};

/* What a request accumulates: the body, or the watch's partial line. */
struct response {
    char *data;
    size_t len, cap;
    /* watch only */
    kubeapi_watch_fn fn;
    void *arg;
    int stop; /* 1 = fn asked to stop, -1 = fn failed */
    struct krun_error *errp;
    CURL *curl;
};

/* libcurl is loaded with dlopen() by the first client, not linked: it pulls
 * in some thirty libraries (TLS, HTTP/2, IDN, LDAP, SSH...) whose loading
 * cost every krun start about 7 ms, also on the local provider, which never
 * talks to Kubernetes.  Set once, then only read. */
static struct {
    void *handle;
    CURLcode (*global_init) (long flags);
    void (*global_cleanup) (void);
    CURL *(*easy_init) (void);
    void (*easy_cleanup) (CURL *curl);
    void (*easy_reset) (CURL *curl);
    CURLcode (*easy_perform) (CURL *curl);
    CURLcode (*easy_setopt) (CURL *curl, CURLoption option, ...);
    CURLcode (*easy_getinfo) (CURL *curl, CURLINFO info, ...);
    const char *(*easy_strerror) (CURLcode code);
    struct curl_slist *(*slist_append) (struct curl_slist *list, const char *s);
    void (*slist_free_all) (struct curl_slist *list);
} libcurl;

/* Look name up into *fnp; if it is missing, note it in *missing. */
static int libcurl_symbol (void *handle, const char *name, void *fnp,
                           const char **missing)
{
    void *sym = dlsym (handle, name);

    if (!sym) {
        *missing = name;
        return -1;
    }
    memcpy (fnp, &sym, sizeof (sym));
    return 0;
}

static int libcurl_load (struct krun_error *errp)
{
    const char *missing = NULL;
    void *h;

    if (libcurl.handle)
        return 0;
    if (!(h = dlopen ("libcurl.so.4", RTLD_NOW | RTLD_LOCAL))) {
        errno = ENOENT;
        return errprintf (errp,
                          "kubernetes API client: cannot load libcurl.so.4 "
                          "(Debian package libcurl4): %s",
                          dlerror ());
    }
    if (libcurl_symbol (h, "curl_global_init", &libcurl.global_init, &missing) < 0 ||
        libcurl_symbol (h, "curl_global_cleanup", &libcurl.global_cleanup, &missing) <
            0 ||
        libcurl_symbol (h, "curl_easy_init", &libcurl.easy_init, &missing) < 0 ||
        libcurl_symbol (h, "curl_easy_cleanup", &libcurl.easy_cleanup, &missing) < 0 ||
        libcurl_symbol (h, "curl_easy_reset", &libcurl.easy_reset, &missing) < 0 ||
        libcurl_symbol (h, "curl_easy_perform", &libcurl.easy_perform, &missing) < 0 ||
        libcurl_symbol (h, "curl_easy_setopt", &libcurl.easy_setopt, &missing) < 0 ||
        libcurl_symbol (h, "curl_easy_getinfo", &libcurl.easy_getinfo, &missing) < 0 ||
        libcurl_symbol (h, "curl_easy_strerror", &libcurl.easy_strerror, &missing) <
            0 ||
        libcurl_symbol (h, "curl_slist_append", &libcurl.slist_append, &missing) < 0 ||
        libcurl_symbol (h, "curl_slist_free_all", &libcurl.slist_free_all, &missing) <
            0) {
        dlclose (h);
        errno = ENOSYS;
        return errprintf (errp,
                          "kubernetes API client: the libcurl.so.4 found lacks %s "
                          "(not libcurl 7.x or 8.x?)",
                          missing);
    }
    libcurl.handle = h;
    return 0;
}

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init libcurl.global_init
#define curl_global_cleanup libcurl.global_cleanup
#define curl_easy_init libcurl.easy_init
#define curl_easy_cleanup libcurl.easy_cleanup
#define curl_easy_reset libcurl.easy_reset
#define curl_easy_perform libcurl.easy_perform
#define curl_easy_setopt libcurl.easy_setopt
#define curl_easy_getinfo libcurl.easy_getinfo
#define curl_easy_strerror libcurl.easy_strerror
#define curl_slist_append libcurl.slist_append
#define curl_slist_free_all libcurl.slist_free_all

struct kubeapi *kubeapi_create (struct kubeconfig *k, int timeout_ms,
                                struct krun_error *errp)
{
    struct kubeapi *api;

    if (libcurl_load (errp) < 0)
        return NULL;
    if (!(api = calloc (1, sizeof (*api))))
        return errprintf_errno (errp, "kubernetes API client"), NULL;
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !(api->curl = curl_easy_init ())) {
        free (api);
        errno = ENOMEM;
        return errprintf (errp, "kubernetes API client: cannot initialize libcurl"),
               NULL;
    }
    api->config = k;
    api->timeout_ms = timeout_ms;
    return api;
}

void kubeapi_destroy (struct kubeapi *api)
{
    int saved_errno = errno;

    if (api) {
        curl_easy_cleanup (api->curl);
        curl_global_cleanup ();
        free (api);
    }
    errno = saved_errno;
}

const char *kubeapi_server (const struct kubeapi *api)
{
    return kubeconfig_server (api->config);
}

static int append (struct response *r, const char *data, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        char *bigger;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > MAX_BODY || !(bigger = realloc (r->data, cap)))
            return -1;
        r->data = bigger;
        r->cap = cap;
    }
    memcpy (r->data + r->len, data, n);
    r->len += n;
    r->data[r->len] = '\0';
    return 0;
}

static size_t on_body (char *data, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    return append (r, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* Hand every complete line of the stream to the watch callback. */
static size_t on_watch_data (char *data, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    long status = 0;
    char *nl;

    if (append (r, data, size * nmemb) < 0)
        return 0;
    /* An error answer is a Status, kept whole for the message. */
    curl_easy_getinfo (r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return size * nmemb;
    while ((nl = memchr (r->data, '\n', r->len))) {
        size_t line_len = (size_t)(nl - r->data) + 1;
        cJSON *event;
        *nl = '\0';
        event = cJSON_Parse (r->data);
        memmove (r->data, nl + 1, r->len - line_len);
        r->len -= line_len;
        r->data[r->len] = '\0';
        if (!event)
            continue; /* not an event line (a partial body of an error) */
        const cJSON *type = cJSON_GetObjectItemCaseSensitive (event, "type");
        const cJSON *object = cJSON_GetObjectItemCaseSensitive (event, "object");
        if (cJSON_IsString (type) && object)
            r->stop = r->fn (r->arg, type->valuestring, object, r->errp);
        cJSON_Delete (event);
        if (r->stop != 0)
            return 0; /* ends the transfer */
    }
    return size * nmemb;
}

static int errno_of_status (long status)
{
    switch (status) {
        case 401:
            return EACCES;
        case 403:
            return EPERM;
        case 404:
            return ENOENT;
        case 409:
            return EEXIST;
        case 400:
        case 422:
            return EINVAL;
        default:
            return EIO;
    }
}

static const char *reason_of_status (long status)
{
    switch (status) {
        case 400:
            return " Bad Request";
        case 401:
            return " Unauthorized";
        case 403:
            return " Forbidden";
        case 404:
            return " Not Found";
        case 409:
            return " Conflict";
        case 410:
            return " Gone";
        case 422:
            return " Unprocessable Entity";
        case 429:
            return " Too Many Requests";
        case 500:
            return " Internal Server Error";
        case 503:
            return " Service Unavailable";
        default:
            return "";
    }
}

/* The path without its query string, for messages (a query may be long,
 * never secret, but the path names the resource well enough). */
static void resource_of (const char *path, char *out, size_t size)
{
    size_t n = strcspn (path, "?");
    snprintf (out, size, "%.*s", (int)(n < size ? n : size - 1), path);
}

static int http_error (const char *verb, const char *path, long status,
                       const struct response *r, struct krun_error *errp)
{
    char resource[160], message[200] = "";
    cJSON *json = r->data ? cJSON_Parse (r->data) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive (json, "message");

    resource_of (path, resource, sizeof (resource));
    if (cJSON_IsString (m))
        snprintf (message, sizeof (message), ": %s", m->valuestring);
    else if (r->data && r->len)
        snprintf (message, sizeof (message), ": %.100s", r->data);
    cJSON_Delete (json);
    errno = errno_of_status (status);
    return errprintf (errp, "kubernetes API: %s %s: HTTP %ld%s%s", verb, resource,
                      status, reason_of_status (status), message);
}

static int transport_error (struct kubeapi *api, const char *verb, const char *path,
                            CURLcode rc, const char *detail, struct krun_error *errp)
{
    const char *server = kubeconfig_server (api->config);
    char resource[160];

    resource_of (path, resource, sizeof (resource));
    switch (rc) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
            errno = EPROTO;
            return errprintf (
                errp,
                "kubernetes API %s: TLS failed (is the cluster CA right?): "
                "%s",
                server, *detail ? detail : curl_easy_strerror (rc));
        case CURLE_COULDNT_CONNECT:
            errno = ECONNREFUSED;
            return errprintf (errp, "kubernetes API %s unreachable: %s", server,
                              *detail ? detail : curl_easy_strerror (rc));
        case CURLE_OPERATION_TIMEDOUT:
            errno = ETIMEDOUT;
            return errprintf (errp, "kubernetes API: %s %s: timed out (%s)", verb,
                              resource, server);
        default:
            errno = EIO;
            return errprintf (errp, "kubernetes API %s: %s %s: %s", server, verb,
                              resource, *detail ? detail : curl_easy_strerror (rc));
    }
}

/* A blob libcurl copies (CURL_BLOB_COPY): its data pointer is not const in
 * libcurl's struct but is only read; the pointer is copied, not cast. */
static struct curl_blob blob_of (const char *data, size_t len)
{
    struct curl_blob blob = {.len = len, .flags = CURL_BLOB_COPY};

    memcpy (&blob.data, &data, sizeof (blob.data));
    return blob;
}

/* Set up the handle for one request.  *headers must be freed by the caller
 * with curl_slist_free_all (also on failure). */
static int prepare (struct kubeapi *api, const char *verb, const char *url,
                    const char *body, struct curl_slist **headers,
                    struct krun_error *errp)
{
    struct kubeconfig_credentials cred;
    CURL *c = api->curl;
    size_t ca_len;
    const char *ca = kubeconfig_ca_pem (api->config, &ca_len);

    *headers = NULL;
    if (kubeconfig_credentials (api->config, &cred, errp) < 0)
        return -1;
    curl_easy_reset (c);
    curl_easy_setopt (c, CURLOPT_URL, url);
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, verb);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "https,http");
    if (ca) {
        struct curl_blob blob = blob_of (ca, ca_len);
        curl_easy_setopt (c, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (kubeconfig_insecure (api->config)) {
        curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cred.cert_pem) {
        struct curl_blob cert = blob_of (cred.cert_pem, cred.cert_len);
        struct curl_blob key = blob_of (cred.key_pem, cred.key_len);
        curl_easy_setopt (c, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt (c, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt (c, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt (c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    *headers = curl_slist_append (*headers, "Accept: application/json");
    if (body)
        *headers = curl_slist_append (*headers, "Content-Type: application/json");
    if (cred.token) {
        char *auth;
        if (asprintf (&auth, "Authorization: Bearer %s", cred.token) < 0)
            return errprintf_errno (errp, "kubernetes API request");
        *headers = curl_slist_append (*headers, auth);
        memset (auth, 0, strlen (auth));
        free (auth);
    }
    if (!*headers)
        return errprintf_errno (errp, "kubernetes API request");
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, *headers);
    if (body) {
        curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long)strlen (body));
    }
    return 0;
}

/* One exchange.  Returns the HTTP status (r filled) or -1 with errp. */
static long perform (struct kubeapi *api, const char *verb, const char *path,
                     const char *body, struct response *r, bool watch, int timeout_ms,
                     struct krun_error *errp)
{
    char detail[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    char *url = NULL;
    long status = -1;
    CURLcode rc;

    if (asprintf (&url, "%s%s", kubeconfig_server (api->config), path) < 0) {
        errprintf_errno (errp, "kubernetes API request");
        return -1;
    }
    if (prepare (api, verb, url, body, &headers, errp) < 0)
        goto done;
    curl_easy_setopt (api->curl, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt (api->curl, CURLOPT_WRITEFUNCTION,
                      watch ? on_watch_data : on_body);
    curl_easy_setopt (api->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt (api->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    rc = curl_easy_perform (api->curl);
    curl_easy_getinfo (api->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_WRITE_ERROR && watch && r->stop != 0)
        rc = CURLE_OK; /* the callback ended the watch */
    else if (rc == CURLE_OPERATION_TIMEDOUT && watch && status == 200)
        rc = CURLE_OK; /* a watch simply ran out of time */
    if (rc != CURLE_OK) {
        transport_error (api, verb, path, rc, detail, errp);
        status = -1;
    }
done:
    curl_slist_free_all (headers);
    free (url);
    return status;
}

cJSON *kubeapi_request (struct kubeapi *api, const char *verb, const char *path,
                        const cJSON *body, long *http_status, struct krun_error *errp)
{
    char *text = body ? cJSON_PrintUnformatted (body) : NULL;
    struct response r = {0};
    cJSON *out = NULL;
    long status;

    if (http_status)
        *http_status = 0;
    if (body && !text)
        return errprintf_errno (errp, "kubernetes API: %s %s", verb, path), NULL;
    status = perform (api, verb, path, text, &r, false, api->timeout_ms, errp);
    if (status == 401) {
        /* An exec credential may have been revoked early: ask once more. */
        kubeconfig_forget_cached (api->config);
        free (r.data);
        memset (&r, 0, sizeof (r));
        status = perform (api, verb, path, text, &r, false, api->timeout_ms, errp);
    }
    if (http_status)
        *http_status = status < 0 ? 0 : status;
    if (status < 0)
        goto done;
    if (status < 200 || status > 299) {
        http_error (verb, path, status, &r, errp);
        goto done;
    }
    out = r.len ? cJSON_Parse (r.data) : cJSON_CreateObject ();
    if (!out) {
        errno = EPROTO;
        errprintf (errp, "kubernetes API: %s %s: HTTP %ld with a body that is not JSON",
                   verb, path, status);
    }
done:
    free (r.data);
    free (text);
    return out;
}

int kubeapi_watch (struct kubeapi *api, const char *path, int timeout_ms,
                   kubeapi_watch_fn fn, void *arg, struct krun_error *errp)
{
    struct response r = {.fn = fn, .arg = arg, .errp = errp, .curl = api->curl};
    char *url;
    long status;
    int rc = -1;

    if (asprintf (&url, "%s%swatch=1", path, strchr (path, '?') ? "&" : "?") < 0)
        return errprintf_errno (errp, "kubernetes API: watch %s", path);
    status = perform (api, "GET", url, NULL, &r, true, timeout_ms, errp);
    if (status < 0)
        goto done;
    if (status != 200) {
        http_error ("WATCH", path, status, &r, errp);
        goto done;
    }
    rc = r.stop < 0 ? -1 : r.stop;
done:
    free (r.data);
    free (url);
    return rc;
}

char *kubeapi_escape (const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc (strlen (s) * 3 + 1), *p = out;

    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
            *p++ = (char)c;
        else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return out;
}

const char *kubeapi_string (const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
    return cJSON_IsString (v) ? v->valuestring : NULL;
}
