/* privatebroker.h - the private RabbitMQ krun starts for its user.
 *
 * With no broker configured (no amqp_url, no $KRUN_AMQP_URL), the local
 * provider uses a RabbitMQ instance of the user's own, kept under
 * STATE_DIR/broker (mode 0700), and starts it when it does not run.  Only
 * its user can use it:
 *   - its one broker user has a random name and password, generated into
 *     STATE_DIR/broker/credentials (mode 0600, checked for owner, mode and
 *     symbolic links whenever it is read); RabbitMQ's `guest` is never
 *     created.  The URL carrying them goes to krund through the
 *     environment, never a command line;
 *   - AMQP, Erlang distribution and the epmd krun starts for it listen on
 *     127.0.0.1 only (epmd on its own port, so that krun can stop it);
 *   - one broker per state directory: a supervisor process holds an
 *     exclusive lock on STATE_DIR/broker/lock for the broker's whole life.
 *     It runs epmd and rabbitmq-server as its children, stops the broker
 *     once no krun has used it for idle_timeout + 60 s, and stops epmd and
 *     leaves when the broker is gone.  One supervisor per broker, so
 *     restarts leave no watchdog behind.
 * A port that answers while this state directory's broker does not run
 * belongs to somebody else: krun refuses to send it the credentials.
 */
#ifndef KRUN_PRIVATEBROKER_H
#define KRUN_PRIVATEBROKER_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"

/* The URL of the private broker of state_dir, with its credentials (caller
 * must free; it holds the password: never print it).  If that broker does
 * not run, start it when start is true (waiting until it answers, at most
 * cfg->start_timeout seconds; *started is set true), else fail with errno
 * ESRCH.  Fails with EADDRINUSE when 127.0.0.1:cfg->local_broker_port is
 * taken by something else, or when the broker of state_dir runs on another
 * port.  Returns NULL with errno and errp on failure. */
char *private_broker_url (const struct config *cfg, const char *state_dir, bool start,
                          bool *started, struct krun_error *errp);

/* Whether the private broker of state_dir runs (its supervisor holds the
 * lock); if so, its supervisor's PID and AMQP port in *pid and *port. */
bool private_broker_running (const char *state_dir, pid_t *pid, int *port);

/* Note that the private broker was just used: its supervisor stops it once
 * idle_timeout + 60 s pass without use. */
void private_broker_touch (const char *state_dir);

/* Stop the private broker of state_dir and the epmd started for it, and
 * wait (at most 60 s) until they are gone.  Returns 1 if one was stopped, 0
 * if none ran, -1 with errno and errp on error. */
int private_broker_stop (const char *state_dir, struct krun_error *errp);

#endif
