/*
 * hook.h: what the git hooks (pre-receive, pre-commit, pre-push) share. Each
 * hook finds the content a gate must check and hands it here; here it goes to
 * the pipeline's per-item code in inline mode (fr_pipeline_opts.inline_scan),
 * the same code `ferret scan` runs on its workers: archives opened, CI logs
 * normalised, text views, guards, path names checked and redacted. Nothing is
 * stored: a sink collects what would have been recorded, and the hook decides.
 *
 *   hook_scan_start -> (hook_submit_content | hook_submit_name)* -> hook_scan_finish
 *   -> read h->f (findings), h->u (content not scanned whole) -> hook_scan_free
 */
#ifndef FERRET_CLI_HOOK_H
#define FERRET_CLI_HOOK_H

#include "detect/detect.h"
#include "pipeline/pipeline.h"
#include "rules/rules.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *rule, *rule_name, *kind, *commit, *path, *preview, *sha, *author, *ref;
    size_t line;
    int allow_marker; /* its line holds 'ferret:allow' (not honoured where it is reported) */
    int top;          /* in the submitted content itself (not an archive member, a name) */
} hook_finding;

/* Content the pipeline could not scan whole: a damaged or encrypted archive, a
 * member over a limit (skipped), a scanner failure (error). */
typedef struct {
    char *path, *commit, *reason; /* path redacted */
    int error;                    /* FR_ST_ERROR: not a property of the content */
} hook_unscanned;

typedef struct {
    fr_ruleset *rs;
    fr_engine *eng;
    fr_pipeline *p;
    fr_scanner *sc; /* the hook's own, for names it prints */
    hook_finding *f;
    size_t nf;
    hook_unscanned *u;
    size_t nu;
    uint64_t bytes; /* content bytes submitted */
    int failed;     /* the pipeline stopped (never expected: the sink takes all) */
    size_t sink_calls;
    fr_item *names; /* names waiting to be scanned as one segmented item */
    fr_buf namebuf;
    size_t name_lines;
} hook_scan;

typedef struct {
    const char *rules_dir; /* added to the built-ins (NULL: none) */
    const char *cache_dir; /* NULL: fr_cli_cache_dir */
    uint64_t max_size;     /* content larger is not loaded (the caller scans a prefix) */
    int ignore_allow;      /* 'ferret:allow' does not suppress (server hooks) */
} hook_opts;

/* Loads the rules (cached engine) and starts an inline pipeline. On failure an
 * fr_error() message and FR_ERR; hook_scan_free is still to be called. */
int hook_scan_start(hook_scan *h, const hook_opts *o);
/* Scans content found at loc (kind "git" for a blob: archives and logs are
 * opened like a scan's blobs; other kinds as text). data is borrowed. */
void hook_submit_content(hook_scan *h, const fr_location *loc, const unsigned char *data,
                         size_t len);
/* As hook_submit_content, keeping of the content's own findings only those on
 * lines in the [first, last] ranges (archive members' are all kept). */
void hook_submit_lines(hook_scan *h, const fr_location *loc, const unsigned char *data, size_t len,
                       const size_t (*lines)[2], size_t nlines);
/* Scans a name git shows (a path, a ref's or a tag's name): loc->kind is
 * "git-path" or "git-ref", loc->path the name. Line breaks read as spaces.
 * Names are batched: their findings arrive by hook_scan_finish at the latest. */
void hook_submit_name(hook_scan *h, const fr_location *loc);
/* Ends the pipeline (every result reached the sink). */
int hook_scan_finish(hook_scan *h);
void hook_scan_free(hook_scan *h);

/* ferret hook pre-commit / pre-push (cmd_hook_client.c); argv[0] is the hook's name. */
int fr_hook_pre_commit(int argc, char **argv);
int fr_hook_pre_push(int argc, char **argv);

/* Prints one line per finding ("SECRET" or "warning:" as label). */
void hook_print_findings(const hook_scan *h, const char *label);

#endif
