/* sign.h - sealed messages: authenticated encryption of what travels the broker.
 *
 * Anyone who can publish to the broker could otherwise make a worker run any
 * program, or forge the result of a rank; anyone who can read from it (bind a
 * queue to krun.control, consume a results queue) could read a job's
 * environment, its inputs and its results.  So the launcher seals every
 * announce, task, end and cancel body with a key it shares with the workers,
 * and a slot opens them before it decodes them; the slots seal their result,
 * output and progress messages with the same key, and the launcher opens
 * them.  A sealed body is one ASCII header line, the protocol body encrypted,
 * and a 16-byte tag:
 *
 *     krun-sig-v2 <expires_us> <48 hex digits: 24 random bytes N>\n
 *     <AES-256-GCM ciphertext of the protocol body><GCM tag>
 *
 * E = HKDF-SHA256 (key, no salt, info "krun-sig-v2 AES-256-GCM") is derived
 * once per key; each message has its own AES-256-GCM key HMAC-SHA256 (E,
 * N[0..12)) and nonce N[12..24), and the whole header line (newline included)
 * is the associated data, so the expiry cannot be changed either.  (As
 * XAES-256-GCM does: 192 random bits per message, so no count of messages
 * per key wears a key out.)  The first version, krun-sig-v1 (HMAC-SHA256,
 * body in clear), is refused with a message naming its version: an old krun
 * or krund fails loudly instead of leaking or being ignored.
 *
 * The key file holds the key as text (krun writes 64 hex digits, i.e. 32
 * random bytes; any 32 to 4096 bytes are accepted, a trailing newline is not
 * part of it) and must be readable by its owner only: a key others can read
 * is no secret, and is refused.  Read access for the process's own group is
 * accepted (a Kubernetes Secret volume of mode 0440 with the pod's fsGroup;
 * a user's private group); group write, another group or others are not.
 *
 * sign_seal() and sign_open() are the only ways in and out of a seal; a key
 * keeps nettle contexts and the last opened body, so it must not be used by
 * two threads at once (krun and krund have one thread; a forked slot has its
 * own copy).
 *
 * Errors follow error.h: -1 or NULL, errno, and a message naming the file.
 */
#ifndef KRUN_SIGN_H
#define KRUN_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The tag every seal starts with (then the version), and this version's. */
#define SIGN_TAG "krun-sig-v"
#define SIGN_HEADER "krun-sig-v2"
/* Smallest and largest key accepted, in bytes. */
#define SIGN_KEY_MIN 32
#define SIGN_KEY_MAX 4096
/* Most bytes sign_seal() adds to a body (header line and tag). */
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

/* Seal (encrypt and authenticate) body (len bytes) valid until expires_us
 * (CLOCK_REALTIME microseconds).  Returns the sealed body (caller must
 * free), its length in *lenp, or NULL with errno (EINVAL, ENOMEM, or
 * getrandom's). */
char *sign_seal (const struct sign_key *key, const void *body, size_t len,
                 int64_t expires_us, size_t *lenp, struct krun_error *errp);

/* Whether body starts with a seal's tag, of any version: sealed, well or
 * badly (only sign_open() tells).  For channels that carry both sealed and
 * unsigned messages. */
bool sign_is_sealed (const void *body, size_t len);

/* Check and decrypt a sealed body at time now_us.  On success returns 0,
 * and *inner / *inner_len give the protocol body, followed by a NUL byte:
 * borrowed from key, valid until the next sign_open() with this key or
 * sign_key_destroy().  Fails with errno EBADMSG for an unsigned or malformed
 * body, a seal of another version, or a wrong tag (wrong key, altered
 * message; the message says which), EKEYEXPIRED if the expiry has passed,
 * ENOMEM.  expires_us (may be NULL) receives the expiry of a body whose tag
 * is good, expired or not. */
int sign_open (const struct sign_key *key, const void *sealed, size_t len,
               int64_t now_us, const char **inner, size_t *inner_len,
               int64_t *expires_us, struct krun_error *errp);

/* A public name of the key that does not reveal it: the first
 * SIGN_KEY_ID_LEN hex digits of HMAC-SHA256 (E, "krun-pool"), E being the
 * key derived from the key file (see above).  The local
 * provider's pool is named by it, so that launchers and daemons holding
 * the same key meet on the broker and others do not.  Writes it with its
 * NUL into buf (size > SIGN_KEY_ID_LEN).  Returns 0, or -1 with errno
 * EINVAL (buf too small). */
#define SIGN_KEY_ID_LEN 16
int sign_key_id (const struct sign_key *key, char *buf, size_t size);

#endif
