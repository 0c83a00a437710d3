/* commands.h - krun's subcommands besides a run: `up` (start the broker and
 * the workers without running anything), `status` (the live workers and the
 * running jobs' queues), `down` (delete those queues, stop the workers and
 * the private broker) and `broker start|stop`.  What differs by provider is
 * the provider's (provider.h).  Each returns krun's exit status; they die
 * (die.h) where krun cannot go on.
 */
#ifndef KRUN_COMMANDS_H
#define KRUN_COMMANDS_H

#include <stdbool.h>

#include "config.h"

int commands_up (const struct config *cfg, bool quiet);
int commands_status (const struct config *cfg, bool json);
int commands_down (const struct config *cfg);
int commands_broker_start (const struct config *cfg, bool quiet);
int commands_broker_stop (const struct config *cfg);

#endif
