/* secrets.h - the broker URL and the signing key, handed to a krund that
 * krun starts on another machine (ssh, srun).
 *
 * There, no file of krun's exists, and a command line is no place for a
 * password or a key (ps shows it to every user of the node), nor is a file
 * that others might read.  So krun writes both into the standard input of
 * the remote command (the ssh session's, the srun step's), and krund
 * --secrets-stdin reads them from there, in this form:
 *
 *     <broker URL>\n
 *     <the key, as a key file holds it, to the end of the input>
 *
 * (one trailing newline of the key is not part of it, as in a key file).
 * The reader is bounded: at most SECRETS_MAX bytes, and a time limit for
 * all of them, since a launcher that died half-way must not leave a daemon
 * waiting forever.  Buffers that held the secrets are wiped.
 *
 * Errors follow error.h: -1 with errno and a message saying what was
 * missing; the message never shows the URL's password or the key.
 */
#ifndef KRUN_SECRETS_H
#define KRUN_SECRETS_H

#include <stddef.h>

#include "error.h"
#include "sign.h"
#include "transport.h"

/* The most bytes the secrets may take: the URL, its newline, the key and a
 * newline. */
#define SECRETS_MAX (TRANSPORT_URL_MAX + SIGN_KEY_MAX + 2)

/* Read the secrets from fd until end of input, within timeout_ms.  On
 * success returns 0, *urlp (caller must free) and *keyp (caller must
 * sign_key_destroy()).  Fails with ETIMEDOUT (the input did not end in
 * time), E2BIG (more than SECRETS_MAX bytes), EINVAL (no URL line, a URL
 * that transport_url_check() refuses, or a key of the wrong size), or
 * read's errno. */
int secrets_read (int fd, int timeout_ms, char **urlp, struct sign_key **keyp,
                  struct krun_error *errp);

/* The broker URL alone, one line until end of input, within timeout_ms
 * (what krun hands its connection agent, launcher/agent.h).  Returns 0 and
 * *urlp (caller must free), or -1 with errno ETIMEDOUT, E2BIG, EINVAL (no
 * line, or a URL transport_url_check() refuses) or read's, and errp. */
int secrets_read_url (int fd, int timeout_ms, char **urlp, struct krun_error *errp);

/* The secrets as secrets_read() reads them: url and the contents of the key
 * file at key_path, which must be a valid key (sign_key_load()).  Returns
 * the bytes (caller must free, wiped first: secrets_free()), their length
 * in *lenp, or NULL with errno and errp. */
char *secrets_encode (const char *url, const char *key_path, size_t *lenp,
                      struct krun_error *errp);

/* Wipe and free what secrets_encode() returned (len bytes).  Accepts NULL. */
void secrets_free (char *secrets, size_t len);

#endif
