/* transport_tls.h - amqps:// for transport.c: librabbitmq's TLS socket and
 * OpenSSL's default CA file, in a file of its own so that a program that
 * never calls transport_tls_enable() links neither (krun: OpenSSL's
 * libraries cost every run about a millisecond to load, and krun hands an
 * amqps:// broker to krun-tls, launcher/tlsexec.h).  Internal to the
 * transport: the other modules see only transport_tls_enable() and
 * transport_tls_enabled() (transport.h). */
#ifndef KRUN_TRANSPORT_TLS_H
#define KRUN_TRANSPORT_TLS_H

#include <amqp.h>

/* Open a TLS socket on conn to host:port, verifying the broker's
 * certificate and name against *cacert (NULL: OpenSSL's default file, or
 * $SSL_CERT_FILE; *cacert is then set to the file used).  Waits at most
 * timeout_ms.  Returns AMQP_STATUS_OK, or librabbitmq's status; *cacert_failed
 * says whether it was the CA file that could not be loaded. */
typedef int transport_tls_open_fn (amqp_connection_state_t conn, const char *host,
                                   int port, const char **cacert, int timeout_ms,
                                   int *cacert_failed);

/* Set by transport_tls_enable(); NULL in a program without TLS. */
extern transport_tls_open_fn *transport_tls_open;

#endif
