/*
 * cli: the only place where the stages are wired together. One file per command.
 */
#ifndef FERRET_CLI_H
#define FERRET_CLI_H

/* Exit codes, the contract with schedulers, CI and hooks. */
enum { FR_EXIT_CLEAN = 0, FR_EXIT_FINDINGS = 1, FR_EXIT_ERROR = 2 };

int fr_cmd_scan(int argc, char **argv);
int fr_cmd_report(int argc, char **argv);
int fr_cmd_rules(int argc, char **argv);
int fr_cmd_hook(int argc, char **argv);
int fr_cmd_triage(int argc, char **argv);
int fr_cmd_merge(int argc, char **argv);

#include "util/util.h"
/* The compiled-rules cache directory: $FERRET_CACHE_DIR, else
 * $XDG_CACHE_HOME/ferret, else ~/.cache/ferret (out stays empty without HOME). */
void fr_cli_cache_dir(fr_buf *out);

/* Prints "ferret: error: <msg>" on stderr. */
void fr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
