/* kubeconfig.h - where the Kubernetes API is and who krun is to it.
 *
 * Finds the credentials the way kubectl does: an explicit file (--kubeconfig
 * or the `kubernetes.kubeconfig` key), else $KUBECONFIG (a colon-separated
 * list merged as kubectl merges it: the first file that sets a cluster, user
 * or context name wins, and the first file that sets current-context gives
 * it), else ~/.kube/config, else the in-cluster service account
 * ($KUBERNETES_SERVICE_HOST/_PORT and the token, ca.crt and namespace files
 * under /var/run/secrets/kubernetes.io/serviceaccount, or the directory named
 * by $KRUN_SERVICEACCOUNT_DIR, for tests).  The context is --context or the
 * current-context.  Relative paths in a file are relative to that file.
 *
 * Certificates and keys are read into memory, never copied to files.  The
 * bearer token comes from `token`, `tokenFile` (re-read every time, so a
 * rotated token is picked up) or an `exec` credential plugin, whose
 * ExecCredential answer is cached in memory until its expirationTimestamp.
 * Error messages name files, contexts and servers, never a secret.
 * This module and config.c are the only users of libyaml.
 */
#ifndef KRUN_KUBECONFIG_H
#define KRUN_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct kubeconfig;

/* Secrets handed to the HTTP client; borrowed until the next
 * kubeconfig_credentials() call or kubeconfig_destroy().  Unset ones are
 * NULL / 0. */
struct kubeconfig_credentials {
    const char *token;    /* bearer token */
    const char *cert_pem; /* client certificate (PEM) */
    size_t cert_len;
    const char *key_pem; /* its private key (PEM) */
    size_t key_len;
};

/* Find and resolve the credentials as described above.  explicit_path and
 * context may be NULL.  Returns a kubeconfig (caller must destroy) or NULL
 * with errno (ENOENT when there is nothing to find, EINVAL for a bad file or
 * an unknown context) and errp naming the file, line or context. */
struct kubeconfig *kubeconfig_load (const char *explicit_path, const char *context,
                                    struct krun_error *errp);

/* Accepts NULL; keeps errno.  Wipes the secrets it held. */
void kubeconfig_destroy (struct kubeconfig *k);

/* The API server URL, e.g. "https://10.0.0.1:6443" (no trailing slash). */
const char *kubeconfig_server (const struct kubeconfig *k);
/* The context's namespace ("default" if none is set). */
const char *kubeconfig_namespace (const struct kubeconfig *k);
/* The context name ("in-cluster" for the service account). */
const char *kubeconfig_context (const struct kubeconfig *k);
/* Where the credentials came from: a file list or "in-cluster". */
const char *kubeconfig_source (const struct kubeconfig *k);
/* The cluster CA (PEM), or NULL for the system CAs; *len set. */
const char *kubeconfig_ca_pem (const struct kubeconfig *k, size_t *len);
bool kubeconfig_insecure (const struct kubeconfig *k);

/* The credentials to send now: reads tokenFile, or runs the exec plugin
 * unless its cached answer is still valid.  Returns 0 or -1 with errno and
 * errp (the plugin's command and exit status, never its output). */
int kubeconfig_credentials (struct kubeconfig *k, struct kubeconfig_credentials *out,
                            struct krun_error *errp);

/* Forget the exec plugin's cached answer (after the server refused it). */
void kubeconfig_forget_cached (struct kubeconfig *k);

/* How many times the exec plugin ran (for tests and diagnostics). */
int kubeconfig_exec_runs (const struct kubeconfig *k);

#endif
