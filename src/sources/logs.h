/*
 * logs: CI log normalisation, so that log decoration cannot hide a secret. ANSI
 * escape sequences, per-line timestamp prefixes (with a GitLab runner's stream
 * marker, "2026-01-02T03:04:05.123456Z 00O "), runner control markers
 * (GitHub Actions ##[group] / ::add-mask::, Azure Pipelines ##vso[...], GitLab
 * section markers) and carriage returns are removed; the text they wrap is kept.
 * Only bytes inside lines are removed, never a newline, so line numbers in the
 * normalised text are the original file's line numbers: the output is never
 * longer than the input, has exactly its newlines, and no line grows. Linear
 * time in the input, whatever it holds (unterminated sequences included).
 */
#ifndef FERRET_LOGS_H
#define FERRET_LOGS_H

#include "pipeline/pipeline.h"
#include "util/util.h"

#include <stddef.h>

/* Does this content (named path) look like a CI log that needs normalising? */
int fr_log_detect(const char *path, const unsigned char *data, size_t len);

/* Writes the normalised text of data into out (reset first). */
void fr_log_normalize(const unsigned char *data, size_t len, fr_buf *out);

/* fr_normalize_fn for pipeline items: detect, then normalise. Returns 1 when out
 * holds the normalised text, 0 when the content is used as it is. */
int fr_log_normalizer(const char *path, const unsigned char *data, size_t len, fr_buf *out);

/*
 * fr_describe_fn: the CI run, job and step that a log's place tells.
 * GitHub Actions / Azure Pipelines downloads: "logs_<run>.zip" holding
 * "<job>/<n>_<step>.txt"; Jenkins on disk: ".../jobs/<job>/builds/<run>/log",
 * a job in folders named "<folder>/<job>" (member NULL: container is a file's
 * own path). Leaves loc alone otherwise. Safe on any strings (container NULL
 * included); what it sets points into pool and is never longer than the input.
 */
void fr_log_describe(const char *container, const char *member, fr_location *loc, fr_buf *pool);

#endif
