/* transport_tls.c - see transport_tls.h. */
#include <stdlib.h>
#include <sys/time.h>

#include <amqp_ssl_socket.h>
#include <openssl/x509.h>

#include "transport.h"
#include "transport_tls.h"

/* The CA file when the caller names none: OpenSSL's default bundle (or
 * $SSL_CERT_FILE), since librabbitmq loads no default CAs. */
static const char *default_cacert (void)
{
    const char *file = getenv (X509_get_default_cert_file_env ());
    return file && *file ? file : X509_get_default_cert_file ();
}

static int tls_open (amqp_connection_state_t conn, const char *host, int port,
                     const char **cacert, int timeout_ms, int *cacert_failed)
{
    amqp_socket_t *socket;
    int status;

    *cacert_failed = 0;
    if (!(socket = amqp_ssl_socket_new (conn)))
        return AMQP_STATUS_NO_MEMORY;
    amqp_ssl_socket_set_verify_peer (socket, 1);
    amqp_ssl_socket_set_verify_hostname (socket, 1);
    if (!*cacert)
        *cacert = default_cacert ();
    if ((status = amqp_ssl_socket_set_cacert (socket, *cacert)) != AMQP_STATUS_OK) {
        *cacert_failed = 1;
        return status;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000,
                         .tv_usec = (timeout_ms % 1000) * 1000};
    return amqp_socket_open_noblock (socket, host, port, &tv);
}

void transport_tls_enable (void)
{
    transport_tls_open = tls_open;
}
