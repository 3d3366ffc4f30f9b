/*
 * report: renders what the store holds — text (one block per secret: where it
 * was introduced, how widely it spread, the first few locations; colored on a
 * TTY), JSON, JSONL (one finding per line: the interface other tools consume,
 * versioned and described by schemas/report.schema.json), a summary (counts by
 * severity, rule, repository, status), SARIF 2.1.0 and HTML.
 * Shows redacted previews and fingerprints; plaintext only when asked for and
 * stored.
 */
#ifndef FERRET_REPORT_H
#define FERRET_REPORT_H

#include "store/store.h"

#include <stdio.h>

typedef enum { FR_FMT_TEXT, FR_FMT_JSON, FR_FMT_JSONL, FR_FMT_SARIF, FR_FMT_HTML } fr_format;

typedef struct {
    fr_format format;
    int color;             /* ANSI colors in text output */
    int show_secrets;      /* include plaintext where the store has it */
    int64_t new_since_run; /* > 0: only findings first seen in that run or later */
    /* Which findings and in what order (every format uses it: take it with
     * fr_report_filter_of, which adds new_since_run and show_secrets). */
    fr_report_filter filter;
    int all_locations; /* text: every location of a secret, not only the first few */
    int summary;       /* counts by severity, rule, repository and status instead */
    /* JSON/JSONL with secret_sha256, the bare SHA-256 of each secret: for local
     * use only (a bare hash of a weak secret confirms a guess), so off unless
     * asked for; the keyed id identifies a finding anywhere. */
    int secret_hashes;
} fr_report_opts;

/* The store filter of a report: o->filter with o's new_since_run and
 * show_secrets folded in. */
fr_report_filter fr_report_filter_of(const fr_report_opts *o);

/* Version of the JSON / JSONL finding objects ("format_version"), described by
 * schemas/report.schema.json; raised when a field changes meaning or goes. */
#define FR_REPORT_FORMAT_VERSION 1
/* Locations the text report lists per secret without all_locations. */
#define FR_TEXT_LOCATIONS 5

/* Parses "text", "json", "jsonl", "sarif", "html". */
int fr_report_parse_format(const char *name, fr_format *out);

/* Writes the report; *nfindings is the number of findings written. */
int fr_report_write(fr_store *s, FILE *out, const fr_report_opts *o, size_t *nfindings);

/* SARIF 2.1.0 for code scanning (sarif.c): one run per repository with the
 * commit it describes (HEAD, read with libgit2 at report time); a result per
 * finding and place in HEAD's tree (files: on disk), region recomputed from that
 * content (end included, columns in UTF-16 code units); findings only in
 * history are results without a location, their history in relatedLocations and
 * properties (as are a work tree's uncommitted and staged locations). At most
 * 25,000 results per run (most severe kept) and 20 runs (GitHub's limits),
 * what is left out said in the run's invocation. Keyed
 * fingerprints only (fr_store_hmac); no plaintext secret, whatever show_secrets
 * says. Paths of the files run are relative to the current directory. */
int fr_report_sarif(fr_store *s, FILE *out, const fr_report_opts *o, size_t *nfindings);

/* A self-contained HTML report (html.c): one file, no network; the data is
 * embedded as JSON and drawn by inline JavaScript (charts in SVG, a sortable,
 * filterable table that renders only the rows in view). Redacted previews and
 * finding ids only: never plaintext or secret hashes. */
int fr_report_html(fr_store *s, FILE *out, const fr_report_opts *o, size_t *nfindings);

/* Lists content that was skipped or failed, with where it was and why. */
int fr_report_skipped(fr_store *s, FILE *out);

#endif
