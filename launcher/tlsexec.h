/* tlsexec.h - krun without OpenSSL, and krun-tls for amqps:// brokers.
 *
 * krun links librabbitmq without its TLS socket (configure links the
 * static archive where there is one): loading OpenSSL's libraries would
 * cost every run about a millisecond (benchmarks/PROFILE.md).  krun-tls is
 * the same program with TLS (launcher/krun-tls.c); krun hands a command
 * whose broker is amqps:// to it, before the command does anything, by
 * exec with the same arguments.  krun-tls is found beside krun (the build
 * tree), in ../libexec/krun/ from it, or in the installed libexec
 * directory.
 */
#ifndef KRUN_TLSEXEC_H
#define KRUN_TLSEXEC_H

#include "error.h"

/* If url is amqps:// and this program has no TLS, exec krun-tls with argv.
 * Returns 0 when there is nothing to hand over (a plain amqp:// URL, or this
 * program is krun-tls); -1 with errno and errp naming what was tried when
 * krun-tls cannot be started.  Does not return when it is. */
int tlsexec (const char *url, char *argv[], struct krun_error *errp);

#endif
