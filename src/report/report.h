/*
 * report: renders what the store holds — text (colored on a TTY), JSON, JSONL
 * (one finding per line: the interface other tools consume) and SARIF 2.1.0.
 * Shows redacted previews and fingerprints; plaintext only when asked for and
 * stored.
 */
#ifndef FERRET_REPORT_H
#define FERRET_REPORT_H

#include "store/store.h"

#include <stdio.h>

typedef enum { FR_FMT_TEXT, FR_FMT_JSON, FR_FMT_JSONL, FR_FMT_SARIF } fr_format;

typedef struct {
    fr_format format;
    int color;             /* ANSI colors in text output */
    int show_secrets;      /* include plaintext where the store has it */
    int64_t new_since_run; /* > 0: only findings first seen in that run or later */
} fr_report_opts;

/* Parses "text", "json", "jsonl", "sarif". */
int fr_report_parse_format(const char *name, fr_format *out);

/* Writes the report; *nfindings is the number of findings written. */
int fr_report_write(fr_store *s, FILE *out, const fr_report_opts *o, size_t *nfindings);

/* Lists content that was skipped or failed, with where it was and why. */
int fr_report_skipped(fr_store *s, FILE *out);

#endif
