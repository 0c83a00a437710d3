/* exitstatus.h - how the ranks' outcomes fold into krun's exit status.
 *
 * The rule (docs/exit-status.md): 0 if every rank exited 0; otherwise the
 * highest of the ranks' statuses, where a rank killed by signal S counts as
 * 128 + S (the shell's convention) and a rank that could not run counts as
 * its reported code (126 not executable, 127 not found or failed for good).
 * The highest wins rather than the first so that the result does not depend
 * on which rank happened to finish first: a run is reproducible in its exit
 * status even though the order of completion is not.
 */
#ifndef KRUN_EXITSTATUS_H
#define KRUN_EXITSTATUS_H

#include "protocol.h"

/* krun's status when output or results could not be written (sysexits.h's
 * EX_IOERR), folded like a rank's: a job whose results are lost never
 * exits 0. */
#define EXITSTATUS_WRITE_FAILED 74

/* The status one rank contributes (0..255). */
int exitstatus_of_rank (enum protocol_status status, int code);

/* Fold a rank's status into the running total (start with 0). */
int exitstatus_fold (int total, int rank_status);

#endif
