/* usage.h - the text of `krun --help`: every option of krun.c's option
 * table, by topic, and the subcommands and exit statuses in short.
 */
#ifndef KRUN_USAGE_H
#define KRUN_USAGE_H

extern const char usage_text[];

#endif
