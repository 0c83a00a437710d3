#define _GNU_SOURCE /* asprintf */
/* transport-check: the AMQP wrapper against a real broker.
 *
 * Usage: transport-check AMQP-URL [AMQPS-URL CA-FILE OTHER-CA-FILE]
 * (tests/t0010-transport.t starts a private broker and runs this).  With
 * the optional arguments it also checks TLS: the broker's certificate is
 * signed by CA-FILE and not by OTHER-CA-FILE.
 * Every queue and exchange is named after the PID, so runs do not collide.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"
#include "clock.h"
#include "transport.h"

static char prefix[64]; /* "krun-check-<pid>" */

static const char *name (const char *what)
{
    static char buf[8][128];
    static int next;
    char *p = buf[next++ % 8];
    snprintf (p, sizeof (buf[0]), "%s-%s", prefix, what);
    return p;
}

/* url with another password, port (0 = keep) and vhost. */
static char *url_with (const char *url, const char *password, int port,
                       const char *vhost)
{
    const char *at = strrchr (url, '@');
    const char *host = at ? at + 1 : url + strlen ("amqp://");
    size_t hostlen = strcspn (host, "/");
    char *s;
    int rc;

    if (port)
        rc = asprintf (&s, "amqp://guest:%s@%.*s:%d/%s", password,
                       (int)strcspn (host, ":/"), host, port, vhost);
    else
        rc = asprintf (&s, "amqp://guest:%s@%.*s/%s", password, (int)hostlen, host,
                       vhost);
    if (rc < 0)
        bail_out ("out of memory");
    return s;
}

/* A loopback port where nothing listens (bound and closed again). */
static int unused_port (void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
    socklen_t len = sizeof (sin);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    int port;

    if (fd < 0 || bind (fd, (struct sockaddr *)&sin, sizeof (sin)) < 0 ||
        getsockname (fd, (struct sockaddr *)&sin, &len) < 0)
        bail_out ("cannot find an unused port");
    port = ntohs (sin.sin_port);
    close (fd);
    return port;
}

static struct transport *connect_or_bail (const char *url, int heartbeat)
{
    struct krun_error error;
    struct transport *t = transport_connect (url, NULL, heartbeat, &error);
    if (!t)
        bail_out ("%s", error.text);
    return t;
}

/* The next event within timeout_ms, or -2 after printing why. */
static int next_event (struct transport *t, int timeout_ms, struct transport_message *m)
{
    struct krun_error error;
    int rc = transport_next (t, timeout_ms, m, &error);
    if (rc < 0)
        diag ("transport_next: %s", error.text);
    return rc;
}

static bool body_is (const struct transport_message *m, const char *want)
{
    return m->len == strlen (want) && memcmp (m->body, want, m->len) == 0;
}

static int publish (struct transport *t, const char *exchange, const char *key,
                    const char *type, const char *reply_to, int flags, const char *body)
{
    struct krun_error error;
    if (transport_publish (t, exchange, key, type, reply_to, flags, body, strlen (body),
                           &error) < 0) {
        diag ("publish: %s", error.text);
        return -1;
    }
    return 0;
}

static int confirm (struct transport *t)
{
    struct krun_error error;
    if (transport_wait_confirms (t, 10000, &error) < 0) {
        diag ("wait_confirms: %s", error.text);
        return -1;
    }
    return 0;
}

static void test_url_redact (void)
{
    static const struct {
        const char *url, *want;
    } cases[] = {
        {"amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"},
        {"amqps://user:s3cr%40t@broker.example:5671/vh",
         "amqps://user:***@broker.example:5671/vh"},
        {"amqp://user:@host", "amqp://user:***@host"},
        {"amqp://u:pa/ss@h/", "amqp://u:***@h/"},
        {"amqp://u:p@ss@h/", "amqp://u:***@h/"},
        {"amqp://user@host/", "amqp://user@host/"},
        {"amqp://localhost:5672/", "amqp://localhost:5672/"},
        {"amqp://localhost", "amqp://localhost"},
        {"not a url", "not a url"},
        {"", ""},
        /* Cut inside the password: the rest may be part of it. */
        {"amqp://user:s3cretpa", "amqp://user:***"},
        {"amqp://user:12ab/x", "amqp://user:***"},
        {"amqp://localhost:5672", "amqp://localhost:5672"},
        {"amqp://localhost:/", "amqp://localhost:***"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        char *got = transport_url_redact (cases[i].url);
        is_str (got, cases[i].want, "url_redact '%s'", cases[i].url);
        free (got);
    }
}

/* Too long, cut or malformed URLs are refused before use, the password
 * hidden and the length named. */
static void test_url_check (void)
{
    size_t plen = TRANSPORT_URL_MAX;
    char *password = malloc (plen + 1), *url;
    struct krun_error error = {{0}};

    memset (password, 'p', plen);
    password[plen] = '\0';
    if (asprintf (&url, "amqp://guest:%s@127.0.0.1:5672/", password) < 0)
        bail_out ("out of memory");
    errno = 0;
    ok (transport_url_check (url, &error) < 0 && errno == EINVAL &&
            strstr (error.text, "bytes long: at most 4096") &&
            !strstr (error.text, "ppp"),
        "a %zu-byte URL is refused, the password hidden: %s", strlen (url), error.text);
    url[TRANSPORT_URL_MAX - 4] = '\0';
    errno = 0;
    ok (transport_url_check (url, &error) < 0 && errno == EINVAL &&
            strstr (error.text, "invalid broker URL amqp://guest:***") &&
            !strstr (error.text, "ppp"),
        "a URL cut inside the password is refused, the password hidden: %.60s",
        error.text);
    free (url);
    free (password);
    ok (transport_url_check ("amqp://guest:guest@127.0.0.1:5672/", &error) == 0,
        "a good URL passes");
    errno = 0;
    ok (transport_connect ("http://guest:s3cret@127.0.0.1/", NULL, 0, &error) == NULL &&
            errno == EINVAL && !strstr (error.text, "s3cret"),
        "connect refuses a malformed URL: %s", error.text);
}

static void test_connect_failures (const char *url)
{
    static const struct {
        const char *password, *vhost;
        bool bad_port;
        int errnum;
        const char *what;
    } cases[] = {
        {"s3cret-pw", "", true, ECONNREFUSED, "nothing listens"},
        {"wrong-pw", "", false, EACCES, "wrong password"},
        {"guest", "no-such-vhost", false, EACCES, "unknown vhost"},
    };
    struct krun_error error;
    struct transport *t;

    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        char *bad = url_with (url, cases[i].password,
                              cases[i].bad_port ? unused_port () : 0, cases[i].vhost);
        error.text[0] = '\0';
        errno = 0;
        t = transport_connect (bad, NULL, 0, &error);
        ok (t == NULL, "connect fails: %s", cases[i].what);
        is_int (errno, cases[i].errnum, "errno is %s: %s", strerror (cases[i].errnum),
                cases[i].what);
        char shown[64];
        snprintf (shown, sizeof (shown), ":%s@", cases[i].password);
        ok (strstr (error.text, shown) == NULL &&
                strstr (error.text, "guest:***@") != NULL,
            "message hides the password: %s", error.text);
        transport_destroy (t);
        free (bad);
    }
    t = transport_connect ("http://localhost/", NULL, 0, &error);
    ok (t == NULL && errno == EINVAL, "connect to a non-AMQP URL fails with EINVAL");
    transport_destroy (t);

    /* The exact message the launcher shows (and parses nothing from). */
    char *bad;
    int port = unused_port ();
    if (asprintf (&bad, "amqp://guest:guest@127.0.0.1:%d/", port) < 0)
        bail_out ("out of memory");
    char want[128];
    snprintf (want, sizeof (want),
              "cannot connect to broker amqp://guest:***@127.0.0.1:%d/: "
              "Connection refused",
              port);
    t = transport_connect (bad, NULL, 0, &error);
    is_str (t ? "connected" : error.text, want, "connection refused message");
    transport_destroy (t);
    free (bad);
}

static void test_declare (struct transport *t)
{
    struct krun_error error;
    unsigned messages = 99, consumers = 99;
    char *qname = NULL;

    ok (transport_declare_exchange (t, name ("x"), "direct", 0, &error) == 0,
        "declare exchange");
    errno = 0;
    ok (transport_declare_exchange (t, name ("x"), "fanout", 0, &error) < 0 &&
            errno == EINVAL,
        "redeclaring an exchange with another type fails with EINVAL");
    ok (strstr (error.text, "PRECONDITION_FAILED") != NULL,
        "message carries the broker's reason");
    ok (transport_declare_queue (t, "", TRANSPORT_EXCLUSIVE | TRANSPORT_AUTO_DELETE, 0,
                                 &qname, &error) == 0,
        "declare a server-named queue (private channel reopened after the error)");
    ok (qname && strncmp (qname, "amq.gen-", 8) == 0, "server-named queue is '%s'",
        qname ? qname : "(null)");
    ok (transport_bind (t, qname, name ("x"), "key", &error) == 0,
        "bind it to the exchange");
    errno = 0;
    ok (transport_bind (t, qname, name ("no-such-exchange"), "key", &error) < 0 &&
            errno == ENOENT,
        "binding to a missing exchange fails with ENOENT");
    ok (transport_declare_queue (t, name ("q1"), TRANSPORT_EXCLUSIVE, 60000, NULL,
                                 &error) == 0,
        "declare an exclusive queue with x-expires");
    ok (transport_queue_info (t, name ("q1"), &messages, &consumers, &error) == 0 &&
            messages == 0 && consumers == 0,
        "queue_info of an empty queue: 0 messages, 0 consumers");
    errno = 0;
    ok (transport_declare_queue (t, "", 0x100, 0, NULL, &error) < 0 && errno == EINVAL,
        "unknown queue flags fail with EINVAL");
    errno = 0;
    ok (transport_publish (t, "", "x", NULL, NULL, 0x100, "", 0, &error) < 0 &&
            errno == EINVAL,
        "unknown publish flags fail with EINVAL");

    /* Routed through the exchange to the server-named queue. */
    ok (publish (t, name ("x"), "key", NULL, NULL, 0, "via exchange") == 0 &&
            confirm (t) == 0,
        "publish through the exchange, confirmed");
    ok (transport_queue_info (t, qname, &messages, NULL, &error) == 0 && messages == 1,
        "the bound queue holds the message");
    free (qname);
}

static void test_expires (struct transport *t)
{
    struct krun_error error;

    ok (transport_declare_queue (t, name ("expires"), 0, 300, NULL, &error) == 0,
        "declare a queue that expires after 300 ms");
    usleep (1500 * 1000);
    errno = 0;
    ok (transport_queue_info (t, name ("expires"), NULL, NULL, &error) < 0 &&
            errno == ENOENT,
        "it is gone 1.5 s later (x-expires applied)");
}

static void test_consume (struct transport *t)
{
    struct krun_error error;
    struct transport_message m;
    unsigned messages = 0, consumers = 0;
    const char *q = name ("q1");
    int rc;

    ok (publish (t, "", q, "task", "reply-here", TRANSPORT_PERSISTENT, "{\"n\":1}") ==
                0 &&
            publish (t, "", q, "task", NULL, TRANSPORT_PERSISTENT, "{\"n\":2}") == 0 &&
            publish (t, "", q, NULL, NULL, 0, "{\"n\":3}") == 0,
        "publish three messages");
    ok (transport_wait_confirms (t, 10000, &error) == 0, "all three confirmed");
    ok (transport_wait_confirms (t, 0, &error) == 0, "nothing left to confirm");
    rc = transport_queue_info (t, q, &messages, &consumers, &error);
    ok (rc == 0 && messages == 3, "queue_info counts 3 messages (got %u)", messages);
    ok (transport_qos (t, 1, 0, &error) == 0, "qos prefetch 1");
    ok (transport_consume (t, q, "c1", false, &error) == 0, "consume with tag c1");
    errno = 0;
    ok (transport_consume (t, q, "c1", false, &error) < 0 && errno == EEXIST,
        "a second consumer with the same tag fails with EEXIST");

    rc = next_event (t, 5000, &m);
    is_int (rc, TRANSPORT_DELIVERY, "first delivery");
    if (rc == TRANSPORT_DELIVERY) {
        is_str (m.consumer_tag, "c1", "consumer tag");
        ok (body_is (&m, "{\"n\":1}"), "body");
        is_str (m.type, "task", "type property");
        is_str (m.reply_to, "reply-here", "reply_to property");
        is_str (m.routing_key, q, "routing key");
        ok (!m.redelivered, "not redelivered");
        ok (transport_reject (t, m.delivery_tag, true, &error) == 0,
            "reject with requeue");
    }
    /* The broker may deliver the next message before it has put the
     * rejected one back (its limiter and queue are separate processes):
     * check the three deliveries in whatever order they come. */
    bool seen_again = false, seen_2 = false, seen_3 = false, acked = true;
    for (int i = 0; i < 3; i++) {
        if ((rc = next_event (t, 5000, &m)) != TRANSPORT_DELIVERY)
            break;
        if (body_is (&m, "{\"n\":1}"))
            seen_again = m.redelivered && strcmp (m.reply_to, "reply-here") == 0;
        else if (body_is (&m, "{\"n\":2}"))
            seen_2 = !m.redelivered && strcmp (m.reply_to, "") == 0 &&
                     strcmp (m.type, "task") == 0;
        else if (body_is (&m, "{\"n\":3}"))
            seen_3 = !m.redelivered && strcmp (m.type, "") == 0;
        if (transport_ack (t, m.delivery_tag, &error) < 0)
            acked = false;
    }
    is_int (rc, TRANSPORT_DELIVERY, "three more deliveries");
    ok (seen_again, "the rejected message comes again, redelivered flag set");
    ok (seen_2, "second message: type, no reply_to");
    ok (seen_3, "third message: no type");
    ok (acked, "ack them");
    ok (transport_queue_info (t, q, &messages, &consumers, &error) == 0 &&
            consumers == 1 && messages == 0,
        "queue_info: 1 consumer, 0 messages");

    /* A missing queue closes only the private channel. */
    errno = 0;
    ok (transport_queue_info (t, name ("missing"), NULL, NULL, &error) < 0 &&
            errno == ENOENT,
        "queue_info of a missing queue fails with ENOENT");
    ok (strstr (error.text, name ("missing")) != NULL, "message names the queue: %s",
        error.text);
    errno = 0;
    ok (transport_consume (t, name ("missing"), "c-missing", false, &error) < 0 &&
            errno == ENOENT,
        "consuming a missing queue fails with ENOENT");
    ok (publish (t, "", q, NULL, NULL, 0, "after ENOENT") == 0, "publish again");
    rc = next_event (t, 5000, &m);
    ok (rc == TRANSPORT_DELIVERY && body_is (&m, "after ENOENT") &&
            strcmp (m.consumer_tag, "c1") == 0,
        "consumer c1 on channel 1 still receives");
    if (rc == TRANSPORT_DELIVERY)
        transport_ack (t, m.delivery_tag, &error);
    ok (confirm (t) == 0, "and its publish was confirmed");

    ok (transport_cancel (t, "c1", &error) == 0, "cancel c1");
    ok (publish (t, "", q, NULL, NULL, 0, "nobody") == 0 && confirm (t) == 0,
        "publish to the queue without consumer");
    is_int (next_event (t, 300, &m), TRANSPORT_TIMEOUT, "no delivery after cancel");
    ok (transport_consume (t, q, "c1", true, &error) == 0,
        "the tag can be used again after cancel (no_ack)");
    rc = next_event (t, 5000, &m);
    ok (rc == TRANSPORT_DELIVERY && body_is (&m, "nobody"), "no_ack consumer receives");
    ok (transport_cancel (t, "c1", &error) == 0, "cancel c1 again");
}

static void test_returned (struct transport *t)
{
    struct transport_message m;
    int rc;

    ok (publish (t, "", name ("nowhere"), "result", NULL, TRANSPORT_MANDATORY,
                 "lost") == 0,
        "mandatory publish to a missing queue");
    ok (confirm (t) == 0, "the broker confirms it (returned, not nacked)");
    ok (transport_pending (t), "the return is pending after wait_confirms");
    rc = next_event (t, 5000, &m);
    is_int (rc, TRANSPORT_RETURNED, "TRANSPORT_RETURNED");
    if (rc == TRANSPORT_RETURNED) {
        is_str (m.routing_key, name ("nowhere"), "returned routing key");
        ok (body_is (&m, "lost"), "returned body");
        is_str (m.type, "result", "returned type");
        is_str (m.consumer_tag, "", "no consumer tag");
    }
    ok (publish (t, "", name ("nowhere"), NULL, NULL, 0, "dropped") == 0 &&
            confirm (t) == 0,
        "a non-mandatory publish to nowhere is dropped and confirmed");
    is_int (next_event (t, 300, &m), TRANSPORT_TIMEOUT, "and not returned");
}

static void test_cancelled (struct transport *t, struct transport *other)
{
    struct krun_error error;
    struct transport_message m;
    int rc;

    ok (transport_declare_queue (t, name ("q3"), 0, 0, NULL, &error) == 0 &&
            transport_consume (t, name ("q3"), "c3", false, &error) == 0,
        "consume q3 as c3");
    ok (transport_delete_queue (other, name ("q3"), &error) == 0,
        "another connection deletes q3");
    rc = next_event (t, 5000, &m);
    is_int (rc, TRANSPORT_CANCELLED, "TRANSPORT_CANCELLED");
    if (rc == TRANSPORT_CANCELLED)
        is_str (m.consumer_tag, "c3", "with the consumer tag");
    ok (transport_declare_queue (t, name ("q3"), 0, 0, NULL, &error) == 0 &&
            transport_consume (t, name ("q3"), "c3", false, &error) == 0,
        "c3 can consume again");
    ok (transport_delete_queue (t, name ("q3"), &error) == 0, "delete q3 ourselves");
    rc = next_event (t, 5000, &m);
    ok (rc == TRANSPORT_CANCELLED && strcmp (m.consumer_tag, "c3") == 0,
        "cancelled again (notification arrived during our own RPC)");
    ok (transport_delete_queue (t, name ("q3"), &error) == 0,
        "deleting a missing queue succeeds");
}

/* Deliveries that arrive while the transport waits for something else (an
 * RPC on the private channel, publisher confirms) are kept, in order. */
static void test_kept_deliveries (struct transport *t, struct transport *other)
{
    struct krun_error error;
    struct transport_message m;
    const char *q = name ("q4");
    char body[32];
    int i, rc, count;
    bool in_order;

    ok (transport_declare_queue (t, q, TRANSPORT_AUTO_DELETE, 0, NULL, &error) == 0 &&
            transport_consume (t, q, "c4", true, &error) == 0,
        "consume q4 (no_ack)");

    for (i = 0; i < 5; i++) {
        snprintf (body, sizeof (body), "rpc-%d", i);
        publish (other, "", q, NULL, NULL, 0, body);
    }
    ok (confirm (other) == 0, "another connection publishes 5 messages");
    usleep (200 * 1000); /* let them reach our socket */
    ok (transport_queue_info (t, name ("missing"), NULL, NULL, &error) < 0 &&
            errno == ENOENT,
        "an RPC on the private channel (failing with ENOENT) reads them");
    ok (transport_pending (t), "transport_pending() is true");
    for (i = 0, count = 0, in_order = true; i < 5; i++) {
        rc = next_event (t, 0, &m);
        snprintf (body, sizeof (body), "rpc-%d", i);
        if (rc == TRANSPORT_DELIVERY)
            count++;
        if (rc != TRANSPORT_DELIVERY || !body_is (&m, body))
            in_order = false;
    }
    ok (count == 5 && in_order, "all 5 delivered in order without waiting (%d)", count);
    is_int (next_event (t, 0, &m), TRANSPORT_TIMEOUT, "then nothing");

    for (i = 0; i < 5; i++) {
        snprintf (body, sizeof (body), "confirm-%d", i);
        publish (other, "", q, NULL, NULL, 0, body);
    }
    ok (confirm (other) == 0, "another connection publishes 5 more");
    usleep (200 * 1000);
    ok (publish (t, "", name ("nowhere"), NULL, NULL, 0, "x") == 0 && confirm (t) == 0,
        "we publish and wait for our confirm meanwhile");
    ok (transport_pending (t), "transport_pending() is true");
    for (i = 0, count = 0, in_order = true; i < 5; i++) {
        rc = next_event (t, 0, &m);
        snprintf (body, sizeof (body), "confirm-%d", i);
        if (rc == TRANSPORT_DELIVERY)
            count++;
        if (rc != TRANSPORT_DELIVERY || !body_is (&m, body))
            in_order = false;
    }
    ok (count == 5 && in_order, "all 5 kept and handed out in order (%d)", count);
    ok (!transport_pending (t), "nothing pending any more");
    ok (transport_cancel (t, "c4", &error) == 0, "cancel c4");
}

static void test_timeout (struct transport *t)
{
    struct transport_message m;
    long long start, elapsed;
    int rc;

    start = clock_mono_ms ();
    rc = next_event (t, 400, &m);
    elapsed = clock_mono_ms () - start;
    is_int (rc, TRANSPORT_TIMEOUT, "nothing to receive: TRANSPORT_TIMEOUT");
    ok (elapsed >= 380 && elapsed < 1000, "after about 400 ms (%lld ms)", elapsed);
    start = clock_mono_ms ();
    rc = next_event (t, 0, &m);
    elapsed = clock_mono_ms () - start;
    ok (rc == TRANSPORT_TIMEOUT && elapsed < 100, "timeout 0 does not block (%lld ms)",
        elapsed);
}

/* With a 1 s heartbeat the broker drops a silent client after about 2 s;
 * calling transport_next (t, 0, ...) from a poll loop must keep it alive. */
static void test_heartbeat (const char *url)
{
    struct transport *t = connect_or_bail (url, 1);
    struct krun_error error;
    struct transport_message m;
    long long end = clock_mono_ms () + 4000;
    int rc = 0;

    while (clock_mono_ms () < end && rc >= 0) {
        rc = next_event (t, 0, &m);
        usleep (100 * 1000);
    }
    ok (rc >= 0, "4 s of transport_next (t, 0) on a 1 s heartbeat: no error");
    /* A waiting call must not make the next immediate one see silence. */
    end = clock_mono_ms () + 2500;
    while (clock_mono_ms () < end && rc >= 0)
        rc = next_event (t, 500, &m);
    ok (rc >= 0 && (rc = next_event (t, 0, &m)) >= 0,
        "waiting calls then an immediate one: no false heartbeat failure");
    ok (transport_declare_queue (t, name ("hb"), TRANSPORT_AUTO_DELETE, 0, NULL,
                                 &error) == 0,
        "the broker still talks to us");
    transport_destroy (t);
}

/* An error on channel 1 (acking an unknown delivery tag) makes the
 * transport unusable, with the broker's reason. */
static void test_channel_error (const char *url)
{
    struct transport *t = connect_or_bail (url, 0);
    struct krun_error error;
    struct transport_message m;
    int rc;

    ok (transport_ack (t, 424242, &error) == 0, "ack an unknown delivery tag (async)");
    error.text[0] = '\0';
    errno = 0;
    rc = transport_next (t, 5000, &m, &error);
    ok (rc < 0 && errno == EPROTO, "transport_next fails with EPROTO");
    ok (strstr (error.text, "PRECONDITION_FAILED") != NULL, "with the reason: %s",
        error.text);
    ok (transport_pending (t), "transport_pending() reports the failure");
    errno = 0;
    ok (transport_publish (t, "", "x", NULL, NULL, 0, "x", 1, &error) < 0 &&
            errno == EPROTO,
        "later calls fail too");
    errno = 1234;
    transport_destroy (t);
    is_int (errno, 1234, "transport_destroy keeps errno");
    transport_destroy (NULL);
}

/* Before transport_tls_enable(): amqps:// is refused, naming the program
 * (krun, which hands such a broker to krun-tls). */
static void test_tls_disabled (const char *url, const char *ca)
{
    struct krun_error error = {.text = ""};

    ok (!transport_tls_enabled (), "TLS not enabled before transport_tls_enable()");
    errno = 0;
    ok (transport_connect (url, ca, 0, &error) == NULL && errno == EPROTONOSUPPORT,
        "amqps: without TLS, connect fails with EPROTONOSUPPORT");
    ok (strstr (error.text, "transport-check was linked without TLS") != NULL,
        "naming the program: %s", error.text);
}

static void test_tls (const char *url, const char *ca, const char *other_ca)
{
    struct krun_error error;
    struct transport_message m;
    struct transport *t;
    char *ip_url;
    const char *host;

    t = transport_connect (url, ca, 0, &error);
    ok (t != NULL, "amqps: connect, verifying the broker against the CA");
    if (t) {
        ok (publish (t, "", name ("tls-nowhere"), NULL, NULL, TRANSPORT_MANDATORY,
                     "over tls") == 0 &&
                confirm (t) == 0 && next_event (t, 5000, &m) == TRANSPORT_RETURNED &&
                body_is (&m, "over tls"),
            "amqps: publish, confirm and return work");
        transport_destroy (t);
    }
    errno = 0;
    t = transport_connect (url, other_ca, 0, &error);
    ok (t == NULL && errno == EPROTO, "amqps: a broker the CA did not sign: EPROTO");
    ok (t == NULL && strstr (error.text, "verif") && !strstr (error.text, ":guest@"),
        "amqps: message: %s", t ? "" : error.text);
    transport_destroy (t);
    errno = 0;
    t = transport_connect (url, "/nonexistent/ca.pem", 0, &error);
    ok (t == NULL && errno == EINVAL, "amqps: a missing CA file: EINVAL");
    transport_destroy (t);
    /* The certificate names "localhost": verification checks the host name. */
    host = strstr (url, "localhost");
    if (!host || asprintf (&ip_url, "%.*s127.0.0.1%s", (int)(host - url), url,
                           host + strlen ("localhost")) < 0)
        bail_out ("TLS URL must name localhost");
    errno = 0;
    t = transport_connect (ip_url, ca, 0, &error);
    ok (t == NULL && errno == EPROTO,
        "amqps: host name not in the certificate: EPROTO");
    transport_destroy (t);
    free (ip_url);
}

/* An exclusive consumer: the broker refuses every other consumer of the
 * queue (the thief's connection then needs a new channel), passive declares
 * still work and count it, and once it is gone another may consume. */
static void test_exclusive_consumer (const char *url)
{
    struct krun_error error;
    struct transport_message m;
    struct transport *owner = connect_or_bail (url, 0);
    struct transport *thief = connect_or_bail (url, 0);
    const char *q = name ("exclusive-consumer");
    unsigned consumers = 0;
    void *body = NULL;
    size_t len = 0;

    ok (transport_declare_queue (owner, q, 0, 60000, NULL, &error) == 0,
        "declare a queue that is neither exclusive nor auto-delete");
    ok (transport_qos (owner, 1, 0, &error) == 0 &&
            transport_consume_exclusive (owner, q, "owner", false, &error) == 0,
        "consume it exclusively, prefetch 1");
    errno = 0;
    ok (transport_consume (thief, q, "thief", true, &error) < 0 && errno == EACCES,
        "another connection's consumer is refused with EACCES: %s", error.text);
    transport_destroy (thief);
    thief = connect_or_bail (url, 0);
    ok (transport_queue_info (thief, q, NULL, &consumers, &error) == 0 &&
            consumers == 1,
        "another connection's passive declare works and counts 1 consumer");
    ok (publish (thief, "", q, "result", NULL, 0, "{\"n\":1}") == 0 &&
            publish (thief, "", q, "result", NULL, 0, "{\"n\":2}") == 0 &&
            transport_wait_confirms (thief, 10000, &error) == 0,
        "another connection publishes two messages to it");
    ok (next_event (owner, 5000, &m) == TRANSPORT_DELIVERY && body_is (&m, "{\"n\":1}"),
        "the exclusive consumer gets the first");
    /* What docs/protocol.md says: an exclusive consumer keeps other
     * consumers out, not basic.get. */
    ok (transport_peek (thief, q, &body, &len, &error) == 0 && len == 7 &&
            memcmp (body, "{\"n\":2}", 7) == 0,
        "basic.get by another connection is not refused");
    free (body);
    ok (transport_ack (owner, m.delivery_tag, &error) == 0 &&
            next_event (owner, 5000, &m) == TRANSPORT_DELIVERY &&
            body_is (&m, "{\"n\":2}") &&
            transport_ack (owner, m.delivery_tag, &error) == 0,
        "the exclusive consumer gets the second, put back");
    ok (transport_cancel (owner, "owner", &error) == 0 &&
            transport_consume_exclusive (thief, q, "thief", true, &error) == 0,
        "once it is cancelled, another consumer may take the queue");
    errno = 0;
    ok (transport_consume (owner, q, "owner2", true, &error) < 0 && errno == EACCES,
        "and the first is refused in turn");
    transport_delete_queue (thief, q, NULL);
    transport_destroy (owner);
    transport_destroy (thief);
}

/* Declarations sent without waiting (TRANSPORT_DEFER): their answers are
 * read later, and a refusal is reported, in the declaration's name, by the
 * next call on the private channel, also when the refusal arrived during a
 * call on the main channel. */
static void test_deferred (const char *url)
{
    struct transport *t = connect_or_bail (url, 0);
    struct krun_error error;
    char *qname = NULL, declared[200];

    snprintf (declared, sizeof (declared), "cannot declare queue '%s'", name ("d1"));
    errno = 0;
    ok (transport_declare_queue (t, name ("d0"), TRANSPORT_DEFER, 0, &qname, &error) <
                0 &&
            errno == EINVAL,
        "TRANSPORT_DEFER with namep fails with EINVAL");
    ok (transport_declare_queue (t, name ("d1"), TRANSPORT_DEFER, 60000, NULL,
                                 &error) == 0 &&
            transport_declare_queue (t, name ("d2"), TRANSPORT_DEFER, 60000, NULL,
                                     &error) == 0,
        "two deferred declarations");
    ok (transport_queue_info (t, name ("d1"), NULL, NULL, &error) == 0 &&
            transport_queue_info (t, name ("d2"), NULL, NULL, &error) == 0,
        "both queues exist at the next call on the private channel");

    /* Another x-expires than d1's: PRECONDITION_FAILED. */
    ok (transport_declare_queue (t, name ("d1"), TRANSPORT_DEFER, 1000, NULL, &error) ==
            0,
        "a deferred declaration the broker will refuse is sent");
    errno = 0;
    error.text[0] = '\0';
    ok (transport_queue_info (t, name ("d2"), NULL, NULL, &error) < 0 &&
            errno == EINVAL,
        "the next call on the private channel fails with EINVAL");
    ok (strstr (error.text, declared) && strstr (error.text, "PRECONDITION_FAILED"),
        "naming the deferred declaration and the broker's reason: %s", error.text);
    ok (transport_queue_info (t, name ("d2"), NULL, NULL, &error) == 0,
        "the call after it works (the channel is opened again)");

    /* The refusal arrives while a call on the main channel waits. */
    ok (transport_declare_queue (t, name ("d1"), TRANSPORT_DEFER, 1000, NULL, &error) ==
                0 &&
            transport_qos (t, 5, 0, &error) == 0,
        "a refused deferred declaration, then a call on the main channel");
    errno = 0;
    error.text[0] = '\0';
    ok (transport_bind (t, name ("d2"), "amq.direct", "k", &error) < 0 &&
            errno == EINVAL && strstr (error.text, declared),
        "reported by the next call on the private channel: %s", error.text);
    ok (transport_bind (t, name ("d2"), "amq.direct", "k", &error) == 0,
        "which works when called again");

    /* A deferred bind, settled by transport_settle(). */
    ok (transport_bind_defer (t, name ("d2"), "amq.direct", "k2", &error) == 0 &&
            transport_settle (t, &error) == 0,
        "a deferred bind, settled");
    ok (transport_bind_defer (t, name ("d2"), name ("no-such-exchange"), "k", &error) ==
            0,
        "a deferred bind to a missing exchange is sent");
    errno = 0;
    error.text[0] = '\0';
    ok (transport_settle (t, &error) < 0 && errno == ENOENT &&
            strstr (error.text, "cannot bind queue") &&
            strstr (error.text, name ("no-such-exchange")),
        "transport_settle() reports its refusal: %s", error.text);
    ok (transport_settle (t, &error) == 0, "once");

    /* Deferred exchange declarations, then a bind behind them on the same
     * channel (a daemon's start). */
    errno = 0;
    ok (transport_declare_exchange (t, name ("dx"), "direct", 0x100, &error) < 0 &&
            errno == EINVAL,
        "an exchange declaration with unknown flags fails with EINVAL");
    ok (transport_declare_exchange (t, name ("dx"), "direct", TRANSPORT_DEFER,
                                    &error) == 0 &&
            transport_bind_defer (t, name ("d2"), name ("dx"), "k", &error) == 0 &&
            transport_settle (t, &error) == 0,
        "a deferred exchange declaration and a deferred bind to it, settled");
    ok (transport_declare_exchange (t, name ("dx"), "direct", 0, &error) == 0,
        "the exchange is durable and direct");
    ok (transport_declare_exchange (t, name ("dx"), "fanout", TRANSPORT_DEFER,
                                    &error) == 0,
        "a deferred declaration the broker will refuse is sent");
    errno = 0;
    error.text[0] = '\0';
    ok (transport_settle (t, &error) < 0 && errno == EINVAL &&
            strstr (error.text, "cannot declare exchange") &&
            strstr (error.text, name ("dx")) &&
            strstr (error.text, "PRECONDITION_FAILED"),
        "transport_settle() reports it, naming the exchange: %s", error.text);
    ok (!transport_pending (t), "nothing pending");
    transport_delete_queue (t, name ("d1"), NULL);
    transport_delete_queue (t, name ("d2"), NULL);
    transport_destroy (t);
}

/* A deferred prefetch and consume (a slot's start): no round trip until
 * transport_settle(); the consumer works (here, of the direct reply-to
 * pseudo-queue), and a refusal names the queue and ends the transport. */
static void test_consume_defer (const char *url, struct transport *t)
{
    struct transport *u = connect_or_bail (url, 0);
    struct transport_message m;
    struct krun_error error;
    char reply_to[256] = "";
    int rc;

    errno = 0;
    ok (transport_qos (u, 1, 0x100, &error) < 0 && errno == EINVAL,
        "qos: unknown flags fail with EINVAL");
    ok (transport_declare_queue (t, name ("cd"), TRANSPORT_AUTO_DELETE, 60000, NULL,
                                 &error) == 0 &&
            transport_consume (t, name ("cd"), "cd", true, &error) == 0,
        "a queue to ask through");
    ok (!transport_consuming (u, "rt"), "no consumer rt yet");
    ok (transport_qos (u, 1, TRANSPORT_DEFER, &error) == 0 &&
            transport_consume_defer (u, "amq.rabbitmq.reply-to", "rt", true, &error) ==
                0,
        "deferred prefetch and consume of the direct reply-to pseudo-queue");
    ok (transport_consuming (u, "rt") && !transport_consuming (u, "other"),
        "transport_consuming() knows it, before its answer came");
    ok (publish (u, "", name ("cd"), NULL, "amq.rabbitmq.reply-to", 0, "question") ==
                0 &&
            transport_settle (u, &error) == 0,
        "a question with it as reply_to, then settled");
    rc = next_event (t, 5000, &m);
    if (rc == TRANSPORT_DELIVERY)
        snprintf (reply_to, sizeof (reply_to), "%s", m.reply_to);
    ok (rc == TRANSPORT_DELIVERY && body_is (&m, "question") &&
            strncmp (reply_to, "amq.rabbitmq.reply-to.", 22) == 0,
        "the question arrives with the broker's reply address: %s", reply_to);
    ok (publish (t, "", reply_to, NULL, NULL, 0, "answer") == 0 && confirm (t) == 0,
        "the answer is sent to it");
    rc = next_event (u, 5000, &m);
    ok (rc == TRANSPORT_DELIVERY && strcmp (m.consumer_tag, "rt") == 0 &&
            body_is (&m, "answer"),
        "the deferred consumer gets the answer");
    errno = 0;
    ok (transport_consume_defer (u, "amq.rabbitmq.reply-to", "rt", true, &error) < 0 &&
            errno == EEXIST,
        "a tag in use fails with EEXIST");
    errno = 0;
    ok (transport_consume_defer (u, name ("cd"), NULL, true, &error) < 0 &&
            errno == EINVAL,
        "no tag fails with EINVAL");
    ok (transport_consume_defer (u, name ("no-such-queue"), "x", false, &error) == 0,
        "a deferred consume of a missing queue is sent");
    errno = 0;
    error.text[0] = '\0';
    ok (transport_settle (u, &error) < 0 && errno == ENOENT &&
            strstr (error.text, name ("no-such-queue")),
        "transport_settle() reports the refusal, naming the queue: %s", error.text);
    ok (transport_publish (u, "", name ("cd"), NULL, NULL, 0, "x", 1, &error) < 0,
        "and the transport is unusable after it");
    /* A call that waits on the main channel reads the deferred answers
     * first: the refusal comes in the deferred consume's name. */
    struct transport *v = connect_or_bail (url, 0);
    ok (transport_consume_defer (v, name ("no-such-queue-2"), "y", false, &error) == 0,
        "another deferred consume of a missing queue");
    errno = 0;
    error.text[0] = '\0';
    ok (transport_qos (v, 1, 0, &error) < 0 && errno == ENOENT &&
            strncmp (error.text, "cannot consume queue", 20) == 0 &&
            strstr (error.text, name ("no-such-queue-2")),
        "the next waiting call on the main channel reports it: %s", error.text);
    transport_destroy (v);
    ok (transport_consuming (t, "cd") && transport_cancel (t, "cd", &error) == 0 &&
            !transport_consuming (t, "cd"),
        "a cancelled consumer is no longer known");
    transport_destroy (u);
}

/* transport_declare_consume(): one round trip; a refusal names the queue
 * and ends the transport. */
static void test_declare_consume (const char *url, struct transport *t)
{
    struct transport *u = connect_or_bail (url, 0);
    struct transport_message m;
    struct krun_error error;
    unsigned consumers = 0;
    int rc;

    ok (transport_declare_consume (u, name ("dc1"), TRANSPORT_AUTO_DELETE, 60000, "dc",
                                   true, true, &error) == 0,
        "declare and consume a new queue");
    ok (transport_queue_info (t, name ("dc1"), NULL, &consumers, &error) == 0 &&
            consumers == 1,
        "it exists, with its consumer");
    ok (publish (t, "", name ("dc1"), NULL, NULL, 0, "hello") == 0 && confirm (t) == 0,
        "publish to it");
    rc = next_event (u, 5000, &m);
    ok (rc == TRANSPORT_DELIVERY && strcmp (m.consumer_tag, "dc") == 0 &&
            body_is (&m, "hello"),
        "the consumer gets it");
    errno = 0;
    ok (transport_declare_consume (u, name ("dc2"), 0x100, 0, "x", true, false,
                                   &error) < 0 &&
            errno == EINVAL,
        "unknown flags fail with EINVAL");

    /* The queue exists with another x-expires: the broker refuses. */
    errno = 0;
    error.text[0] = '\0';
    ok (transport_declare_consume (u, name ("dc1"), TRANSPORT_AUTO_DELETE, 1000, "dc3",
                                   true, false, &error) < 0 &&
            errno == EINVAL,
        "a refused declaration fails with EINVAL");
    ok (strstr (error.text, name ("dc1")) && strstr (error.text, "PRECONDITION_FAILED"),
        "naming the queue and the broker's reason: %s", error.text);
    errno = 0;
    ok (transport_publish (u, "", "x", NULL, NULL, 0, "x", 1, &error) < 0 &&
            errno == EPROTO,
        "the main channel is lost: later calls fail");
    transport_destroy (u);
}

/* transport_declare_exchange_nowait(): what is published after it finds the
 * exchange, with no round trip; a refusal ends the transport, named. */
static void test_declare_exchange_nowait (const char *url, struct transport *t)
{
    struct transport *u = connect_or_bail (url, 0);
    struct transport_message m;
    struct krun_error error;

    ok (transport_declare_exchange_nowait (u, name ("xn"), "direct", &error) == 0,
        "declare an exchange without waiting");
    ok (publish (u, name ("xn"), "k", NULL, NULL, TRANSPORT_MANDATORY, "first") == 0 &&
            confirm (u) == 0,
        "a message published right after it is confirmed: the exchange was there");
    ok (next_event (u, 5000, &m) == TRANSPORT_RETURNED && body_is (&m, "first"),
        "and returned, unroutable (the exchange has no binding)");
    ok (transport_declare_exchange (t, name ("xn"), "direct", 0, &error) == 0,
        "it is durable and direct, as transport_declare_exchange() makes them");
    ok (transport_declare_exchange_nowait (u, name ("xn"), "direct", &error) == 0 &&
            publish (u, name ("xn"), "k", NULL, NULL, 0, "again") == 0 &&
            confirm (u) == 0,
        "declaring it again is harmless");

    /* Another type: the broker refuses and closes the main channel. */
    error.text[0] = '\0';
    ok (transport_declare_exchange_nowait (u, name ("xn"), "fanout", &error) == 0,
        "a conflicting declaration is sent without an error");
    errno = 0;
    ok (transport_publish (u, name ("xn"), "k", NULL, NULL, 0, "x", 1, &error) < 0 ||
            transport_wait_confirms (u, 10000, &error) < 0,
        "the next call that reads from the broker fails");
    ok (strstr (error.text, name ("xn")) && strstr (error.text, "PRECONDITION_FAILED"),
        "naming the exchange and the broker's reason: %s", error.text);
    errno = 0;
    ok (transport_publish (u, "", "x", NULL, NULL, 0, "x", 1, &error) < 0 &&
            errno == EPROTO,
        "the main channel is lost: later calls fail");
    transport_destroy (u);
}

/* transport_server_property(): the broker's connection.start properties
 * (RabbitMQ names itself under "product"; "capabilities" is a table). */
static void test_server_property (struct transport *t)
{
    char buf[64], small[4];

    ok (transport_server_property (t, "product", buf, sizeof (buf)) == 8 &&
            strcmp (buf, "RabbitMQ") == 0,
        "the broker's product: %s", buf);
    errno = 0;
    ok (transport_server_property (t, "no-such-property", buf, sizeof (buf)) < 0 &&
            errno == ENOENT,
        "a property the broker did not send: ENOENT");
    errno = 0;
    ok (transport_server_property (t, "capabilities", buf, sizeof (buf)) < 0 &&
            errno == ENOENT,
        "one that is not a string: ENOENT");
    errno = 0;
    ok (transport_server_property (t, "product", small, sizeof (small)) < 0 &&
            errno == ENAMETOOLONG,
        "a buffer too small: ENAMETOOLONG");
}

int main (int argc, char **argv)
{
    struct transport *t, *other;

    if (argc != 2 && argc != 5) {
        fprintf (stderr,
                 "Usage: transport-check AMQP-URL [AMQPS-URL CA-FILE OTHER-CA-FILE]\n");
        return 2;
    }
    snprintf (prefix, sizeof (prefix), "krun-check-%d", (int)getpid ());
    plan (NO_PLAN);
    test_url_redact ();
    test_url_check ();
    test_connect_failures (argv[1]);

    t = connect_or_bail (argv[1], 0);
    other = connect_or_bail (argv[1], 0);
    ok (transport_fd (t) >= 0, "transport_fd");
    ok (!transport_pending (t), "nothing pending after connect");
    test_server_property (t);
    test_declare (t);
    test_expires (t);
    test_consume (t);
    test_returned (t);
    test_cancelled (t, other);
    test_kept_deliveries (t, other);
    test_timeout (t);
    test_heartbeat (argv[1]);
    test_channel_error (argv[1]);
    test_exclusive_consumer (argv[1]);
    test_deferred (argv[1]);
    test_declare_consume (argv[1], t);
    test_declare_exchange_nowait (argv[1], t);
    test_consume_defer (argv[1], t);
    if (argc == 5) {
        test_tls_disabled (argv[2], argv[3]);
        transport_tls_enable ();
        test_tls (argv[2], argv[3], argv[4]);
    } else
        diag ("no TLS broker given: amqps not checked");
    transport_destroy (other);
    transport_destroy (t);
    done_testing ();
    return exit_status ();
}
