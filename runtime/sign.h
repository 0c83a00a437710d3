/* sign.h - HMAC-SHA256 signatures on the messages a worker acts on.
 *
 * Anyone who can publish to the broker could otherwise make a worker run any
 * program, or forge the result of a rank.  So the launcher seals every
 * announce, task, end and cancel body with a key it shares with the
 * workers, and a slot opens (verifies) them before it decodes them; the
 * slots seal their result, output and progress messages with the same key,
 * and the launcher opens them.  A sealed body is one header line and the
 * protocol body unchanged:
 *
 *     krun-sig-v1 <expires_us> <64 hex digits of the MAC>\n<protocol body>
 *
 * The MAC is HMAC-SHA256 (key, "krun-sig-v1 <expires_us>\n" <protocol body>):
 * it covers the exact bytes sent (the job id is inside the protocol body)
 * and the expiry, so neither can be changed without the key.  The key file
 * holds the key as text (krun writes 64 hex digits, i.e. 32 random bytes;
 * any 32 to 4096 bytes are accepted, a trailing newline is not part of it)
 * and must be readable by its owner only: a key others can read is no
 * secret, and is refused.  Read access for the process's own group is
 * accepted (a Kubernetes Secret volume of mode 0440 with the pod's fsGroup;
 * a user's private group); group write, another group or others are not.
 *
 * Errors follow error.h: -1 or NULL, errno, and a message naming the file.
 */
#ifndef KRUN_SIGN_H
#define KRUN_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SIGN_HEADER "krun-sig-v1"
/* Smallest and largest key accepted, in bytes. */
#define SIGN_KEY_MIN 32
#define SIGN_KEY_MAX 4096
/* Longest header line sign_seal() puts before a body. */
#define SIGN_HEADER_MAX 128

/* How long a sealed message stays valid.  Announcements, end and cancel are
 * acted on at once: five minutes cover clock skew between nodes and keep
 * the window for replaying them short.  A task may wait in its queue as
 * long as its job runs, so it is valid for 30 days; replaying one needs its
 * job to be announced too, and a job id is announced once. */
#define SIGN_CONTROL_TTL_US (300 * 1000000LL)
#define SIGN_TASK_TTL_US (30 * 24 * 3600 * 1000000LL)
/* What slots send their launcher (result, output, progress) may wait in a
 * durable results queue as long as a task waits in its queue. */
#define SIGN_REPORT_TTL_US SIGN_TASK_TTL_US

struct sign_key;

/* Load the key of file path.  Fails with EACCES (and a message naming the
 * file and its mode) if group or others may access it (but see above), EINVAL if it
 * holds fewer than SIGN_KEY_MIN or more than SIGN_KEY_MAX bytes, else the errno of
 * open/read.  Returns the key (caller must sign_key_destroy()) or NULL. */
struct sign_key *sign_key_load (const char *path, struct krun_error *errp);

/* Load path, or if it does not exist create it first (mode 0600, 32 random
 * bytes as hex; made under a temporary name and linked into place, so that
 * two launchers starting at once end up with the same key).  Returns the key
 * or NULL as sign_key_load(). */
struct sign_key *sign_key_load_or_create (const char *path, struct krun_error *errp);

/* Make a key from bytes (tests, tools).  Returns NULL with EINVAL if len is
 * out of range, ENOMEM. */
struct sign_key *sign_key_create (const void *bytes, size_t len);

/* Accepts NULL; keeps errno. */
void sign_key_destroy (struct sign_key *key);

/* Seal body (len bytes) valid until expires_us (CLOCK_REALTIME
 * microseconds).  Returns the sealed body (caller must free), its length in
 * *lenp, or NULL with errno (EINVAL, ENOMEM). */
char *sign_seal (const struct sign_key *key, const void *body, size_t len,
                 int64_t expires_us, size_t *lenp, struct krun_error *errp);

/* Whether body starts with a seal's header: sealed, well or badly (only
 * sign_open() tells).  For channels that carry both sealed and unsigned
 * messages. */
bool sign_is_sealed (const void *body, size_t len);

/* Check a sealed body at time now_us.  On success returns 0, and *inner /
 * *inner_len give the protocol body (borrowed from sealed).  Fails with
 * errno EBADMSG for an unsigned or malformed body or a wrong MAC (the message
 * says which), EKEYEXPIRED if the expiry has passed.  expires_us (may be
 * NULL) receives the expiry of a body whose MAC is good, expired or not. */
int sign_open (const struct sign_key *key, const void *sealed, size_t len,
               int64_t now_us, const char **inner, size_t *inner_len,
               int64_t *expires_us, struct krun_error *errp);

#endif
