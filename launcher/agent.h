/* agent.h - the connection agent: broker connections logged in ahead of
 * time for the runs of a user on this machine, so that a warm `krun` logs
 * in to nothing.
 *
 * A login costs the broker about 1 ms of CPU and a run three round trips,
 * and a launcher's polite close waits for the broker to delete its job's
 * queues: together about 2 ms of a warm `krun -n 1 true` that takes 11
 * (benchmarks/PROFILE.md).  So, as ssh's ControlMaster does for its
 * sessions, the first run that finds no agent starts one when it is over
 * (`krun agent`, detached: spawn.h), and the next runs speak AMQP to the
 * agent over a Unix socket.  The agent plays the broker's part of the
 * handshake itself and gives each run a logged-in connection of its own,
 * whose channels 1 and 2 it forwards frame by frame (amqpmux.h, in its
 * one-client-per-connection mode): nothing of the protocol between
 * launcher and workers changes, a run that reads its results slowly holds
 * back its own connection only (as TCP would), a run that sends nothing for
 * twice its heartbeat and a second is cut (as the broker would cut it), and
 * a connection-level error of one run ends that run only.  A run's end, or its death,
 * closes its channels on the broker at once (its auto-delete results queue goes as
 * before); the connection, clean again, waits for the next run (at most
 * AGENT_SPARES idle ones are kept).
 *
 * The agent serves one broker URL: its socket is
 * STATE_DIR/agent-<16 hex digits>.sock, the digits those of the SHA-256 of
 * the host's name and the URL (user and password included), so a krun with
 * another broker, user or password never finds it, and a state directory
 * shared by several machines holds one agent per machine.  It takes only
 * amqp:// URLs (the multiplexer does not speak TLS; amqps:// runs connect
 * as before).  Both ends check the other's user (SO_PEERCRED): the agent
 * serves only its own user's processes, krun trusts only its own user's
 * agent.
 *
 * The agent leaves after idle_timeout seconds without a launcher (the
 * daemons' setting), when it has no broker connection and cannot log in
 * again, and on SIGTERM (`krun down`).  A run whose agent does not answer
 * the handshake within AGENT_LOGIN_TIMEOUT_MS, or is gone, connects
 * directly (a warning says so in the first case).  $KRUN_AGENT=0 turns it
 * off.
 */
#ifndef KRUN_AGENT_H
#define KRUN_AGENT_H

#include <stdbool.h>

#include "error.h"
#include "transport.h"

/* How long a run waits for the agent's side of the login before it
 * connects to the broker itself. */
#define AGENT_LOGIN_TIMEOUT_MS 2000

/* Whether the agent may serve url: amqp://, and not turned off
 * ($KRUN_AGENT=0). */
bool agent_usable (const char *url);

/* Connect to the agent of url in state_dir.  Returns the transport, or NULL
 * when there is none to use (no agent, one that left, an agent of another
 * user, a path too long for a Unix socket); a warning on stderr says why
 * when one was there but did not answer in time. */
struct transport *agent_connect (const char *state_dir, const char *url,
                                 int heartbeat_sec);

/* Start the agent of url in state_dir, leaving after idle_timeout_s without
 * launchers, unless one runs (or its socket's path would be too long: then
 * none, quietly); it logs to STATE_DIR/agent-<digits>.log.
 * Does not wait for its login.  Returns 0, or -1 with errno and errp. */
int agent_start (const char *state_dir, const char *url, int idle_timeout_s,
                 struct krun_error *errp);

/* Stop every agent recorded in state_dir (SIGTERM, then wait at most 5 s
 * each).  Returns how many were stopped, or -1 with errno and errp. */
int agent_stop_all (const char *state_dir, struct krun_error *errp);

/* `krun agent SOCKET IDLE_SECONDS`, the broker URL on standard input: serve
 * until idle, the broker connection is lost, or SIGTERM.  Returns the exit
 * status. */
int agent_main (int argc, char *argv[]);

#endif
