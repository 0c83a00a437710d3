/* kubeexec.h - a kubeconfig user's exec credential plugin
 * (client.authentication.k8s.io): the command named by the user's `exec`
 * section is run with its args and env and KUBERNETES_EXEC_INFO, and its
 * ExecCredential (status.token, or status.clientCertificateData and
 * clientKeyData) is kept until status.expirationTimestamp comes near, then
 * the plugin is run again.  Secrets are wiped when they are dropped.
 */
#ifndef KRUN_KUBEEXEC_H
#define KRUN_KUBEEXEC_H

#include <cjson/cJSON.h>

#include "error.h"

struct kubeexec;

/* The plugin of the exec section (copied; it must have a "command"); dir is
 * the kubeconfig's directory (may be NULL), against which a command with a
 * slash is resolved; what names the user for messages.  Nothing is run yet.
 * Returns it (caller must destroy) or NULL with errno and errp. */
struct kubeexec *kubeexec_create (const cJSON *exec, const char *dir, const char *what,
                                  struct krun_error *errp);
/* Accepts NULL; keeps errno. */
void kubeexec_destroy (struct kubeexec *x);

/* The credential, the plugin run first if none is kept or it expires
 * within a few seconds: *token, or *cert and *key (PEM), the others NULL;
 * borrowed until the next call, kubeexec_forget() or destroy.  Returns 0 or
 * -1 with errno and errp (the plugin failed, or its output is not an
 * ExecCredential). */
int kubeexec_credentials (struct kubeexec *x, const char **token, const char **cert,
                          const char **key, struct krun_error *errp);

/* Drop the kept credential (the server refused it): the next call runs the
 * plugin again. */
void kubeexec_forget (struct kubeexec *x);

/* How many times the plugin ran (for tests). */
int kubeexec_runs (const struct kubeexec *x);

#endif
