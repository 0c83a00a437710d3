/* base64.h - base64 both ways (RFC 4648), for Kubernetes Secrets and
 * kubeconfig certificates.
 */
#ifndef KRUN_BASE64_H
#define KRUN_BASE64_H

#include <stddef.h>

/* The standard alphabet with padding.  Returns a NUL-terminated text
 * (caller must free) or NULL with ENOMEM. */
char *base64_encode (const void *data, size_t len);

/* Decode text of the standard or the URL-safe alphabet; padding, spaces and
 * line ends are ignored (as PEM and kubeconfig files hold them).  Returns the
 * bytes followed by a NUL byte that *lenp does not count (caller must free),
 * or NULL with EINVAL (a character outside the alphabet, or a lone last
 * character that cannot make a byte) or ENOMEM.  What a failure decoded is
 * wiped: the text may be a key. */
void *base64_decode (const char *text, size_t *lenp);

#endif
