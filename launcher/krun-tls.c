/* krun-tls - krun for amqps:// brokers (tlsexec.h): krun's own objects and
 * this file, whose constructor enables the transport's TLS before main()
 * runs (transport.h).  krun execs it with its own arguments. */
#include "transport.h"

__attribute__ ((constructor)) static void enable_tls (void)
{
    transport_tls_enable ();
}
