/*
 * pipeline: moves items from sources through detect to the store. The caller
 * (a source, driven by the cli) submits items; N worker threads load and scan
 * them (each from its own queue, stealing when idle); one writer thread records
 * results. Every queue is bounded, so memory is at most threads x max item size
 * plus a constant, however large the input.
 *
 * Threads. fr_pipeline_start and fr_pipeline_finish belong to the thread that
 * started the pipeline. fr_pipeline_submit, fr_pipeline_stopped,
 * fr_pipeline_progress and fr_pipeline_keep(_str) are safe from any number of
 * threads at once between start and finish (git submits from its walk and
 * from a feeder thread; workers only read what start set up before they ran); an
 * item belongs to the pipeline from the moment it is submitted. Every
 * callback of an item runs on the worker thread that took the item, one item
 * at a time per worker, so callbacks of different items run concurrently and
 * must only share state under their own locks:
 *   load       once per item, unless it was submitted known or already
 *              skipped (status not FR_ST_SCANNED);
 *   expand     for the loaded content and for every archive member, nested;
 *   describe   for every archive member, from inside expand;
 *   normalize  for every text scanned (the item's content or a member);
 *   done       last, once per item that has a loader and is not known (loaded
 *              or not), before its result goes to the writer.
 * The writer thread only calls the store; it records results in the order
 * workers finish them, not in submission order.
 *
 * Withdraw / done. A loader may return FR_WITHDRAW: nothing is recorded for
 * the item and its source must submit the content again later; done is then
 * called with withdrawn = 1. Otherwise done gets withdrawn = 0 and the number
 * of matches, and the item's result is recorded. An item whose processing an
 * interrupt (fr_interrupted) cut short is never recorded - no content row, no
 * remembered file, no members - so the next run reads it again; done then
 * gets withdrawn = 1 too (the source must not count on it). Items still queued
 * at an interrupt or after a store failure are dropped without any callback.
 *
 * Masking bypass (pipeline/masking.h). With a store (not inline, no sink),
 * the pipeline loads the store's masking-bypass prints at start, every worker
 * adds the print of each secret it finds, and every text a normalizer took as
 * a CI log is searched for known secrets printed transformed (base64, hex,
 * reversed, URL-encoded, one character per line): hits are matches of the
 * existing findings with fr_store_match.transform set. Order: a log searched
 * before a secret it prints was found elsewhere in the sweep keeps its
 * candidate regions (capped); fr_pipeline_finish, once the workers are done
 * and before the writer stops, searches them again for the secrets learnt
 * after them and records the hits as known content with matches. Not after
 * an interrupt or a store failure. FERRET_NO_MASK_BYPASS=1 turns it off.
 */
#ifndef FERRET_PIPELINE_H
#define FERRET_PIPELINE_H

#include "detect/detect.h"
#include "store/store.h"
#include "util/util.h"

#include <stdint.h>

typedef struct fr_item fr_item;

/* Called per member of a container (an archive). data is NULL when the member
 * was not read, skip_reason says why; data and skip_reason both set: a limit
 * cut the member, data holds the len bytes read before it (scan them, record
 * the cut). Returns 0 to go on. */
typedef int (*fr_member_fn)(void *ctx, const char *name, const unsigned char *data, size_t len,
                            const char *skip_reason);
/* Rewrites content before detection (CI log decoration removed, lines kept).
 * Returns 1 when out holds the text to scan, 0 to scan the content as it is. */
typedef int (*fr_normalize_fn)(const char *path, const unsigned char *data, size_t len,
                               fr_buf *out);
/* Fills what a container's layout tells about a member (CI run, job, step) into
 * loc; strings may live in pool. */
typedef void (*fr_describe_fn)(const char *container, const char *member, fr_location *loc,
                               fr_buf *pool);
/* What one top-level item may still expand to, shared by every nesting level
 * under it (archives in archives multiply work otherwise): each reader takes
 * from it as it decompresses and counts members. */
typedef struct {
    uint64_t bytes, members;
} fr_expand_budget;
/* Opens container content, delivering members of at most max_member bytes to
 * fn and drawing on budget. Returns 0 when data is not a container (it is then
 * scanned as it is), 1 when its members were delivered (with fn == NULL: 1 when
 * data is a container, nothing read), FR_ELIMIT when a limit stopped the
 * reading, FR_EINTR when an interrupt did (the content was not read in full),
 * FR_ECORRUPT when it is damaged (members before the damage were delivered);
 * why says how. Damage is content, not a failed scan: the pipeline records a
 * damaged container as skipped with why and scans its raw bytes, as it does
 * for a container one of whose members was delivered unread (encrypted). */
typedef int (*fr_expand_fn)(const unsigned char *data, size_t len, const char *name,
                            uint64_t max_member, fr_expand_budget *budget, fr_member_fn fn,
                            void *ctx, fr_buf *why);

/* Loads an item's bytes into out (reset by the caller). At most cap bytes may be
 * loaded: more gives FR_ELIMIT. Content that should not be scanned (a Git LFS
 * pointer, an object a partial clone does not have) gives FR_SKIP and a reason
 * in why. Other failures: a negative code and a reason in why. */
#define FR_SKIP 1
/* A loader may also withdraw an item (FR_WITHDRAW): nothing is recorded for it,
 * its source submits the content again later (git scans blobs ahead of the walk
 * and leaves those whose processing needs a path to the walk). */
#define FR_WITHDRAW 2
typedef int (*fr_load_fn)(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why);

/* One independent text inside a segmented item (a commit message, a path name):
 * a match is attributed to the segment it starts in. */
typedef struct {
    size_t start_line; /* 1-based line of the item where the segment starts */
    char *key;         /* content key of the segment */
    fr_location loc;   /* where the segment came from (strings owned) */
} fr_segment;

struct fr_item {
    char *key;                /* content key if known up front, else NULL (sha256 of bytes) */
    uint64_t size;            /* size if known up front */
    fr_content_status status; /* a source may decide "skipped"/"error" before loading */
    char *reason;             /* ... and why */
    fr_location *locs;        /* every place this content is (strings owned); none for
                               * content scanned before its source knows a place */
    size_t nlocs;
    int known;        /* already scanned with these rules: only record locations */
    fr_segment *segs; /* segmented item: matches go to segments, not to the item */
    size_t nsegs;
    fr_load_fn load;
    char *load_arg; /* what load needs (a file path, an object id, ...) */
    void *load_ctx; /* borrowed source context for load */
    /* Items with the same non-zero affinity go to the same worker while its
     * queue has room (git: versions of one path are delta chains of each other
     * and share its caches); a full queue spills to any other. */
    uint64_t affinity;
    fr_expand_fn expand;       /* opens archives found in this item (NULL: never) */
    fr_normalize_fn normalize; /* applied before detection (NULL: never) */
    fr_describe_fn describe;   /* provenance from archive layouts (NULL: none) */
    int64_t mtime_ns;          /* a file on disk: its mtime when listed ... */
    int remember_file;         /* ... remembered so an unchanged file is not read again */
    char *file_path;           /* ... under this path (NULL: locs[0].path) */
    /* Only its name is checked (a symbolic link, a repository's directory):
     * nothing is recorded unless the name holds a secret, then only that
     * finding. Submit it not scanned (status FR_ST_SKIPPED), without a loader. */
    int path_only;
    /* Called on the worker once the item is loaded and scanned (or withdrawn):
     * tells the source whether its locations will matter. */
    void (*done)(const fr_item *it, int withdrawn, size_t nmatches);
};

/* A new item with one location of the given kind and path (copied). */
fr_item *fr_item_new(const char *kind, const char *path);
/* Appends a copy of loc to the item's locations. */
void fr_item_add_location(fr_item *it, const fr_location *loc);
/* Appends a segment starting at start_line with a copy of key and loc. */
void fr_item_add_segment(fr_item *it, size_t start_line, const char *key, const fr_location *loc);
void fr_item_free(fr_item *it);

typedef struct {
    int threads;            /* scanning workers, >= 1 */
    uint64_t max_size;      /* items larger than this are skipped with a reason */
    int store_secrets;      /* pass plaintext secrets to the store */
    int quiet;              /* no warnings on stderr (errors still print) */
    const char *rules_hash; /* recorded with each scanned item */
    /* Inline: no threads. fr_pipeline_submit loads, scans and records the item
     * on the calling thread before it returns (one thread submits): a hook's
     * few items, whose verdict is needed now, go through the same per-item
     * code as a scan's, without a thread hand-off. */
    int inline_scan;
    /* Where results go instead of the store (store may then be NULL): called
     * with exactly what fr_store_put would get (each archive member and each
     * segment its own call, paths redacted), on the writer thread (inline: the
     * submitting one). Non-zero stops the pipeline like a store failure.
     * Errors are not printed: the sink's owner reports what it gets. */
    int (*sink)(void *ctx, const fr_store_item *it);
    void *sink_ctx;
    /* A configuration's allowlists, exclusions and disabled rules (NULL: none):
     * returns 1 when a match of rule with secret s[0..n) found at path (NULL:
     * no place known yet) must not be recorded. A match is dropped when it is
     * dropped at every place of its item. Called on workers, concurrently. */
    int (*drop_match)(void *ctx, const char *rule_id, const char *s, size_t n, const char *path);
    void *drop_ctx;
} fr_pipeline_opts;

typedef struct {
    uint64_t scanned, skipped, failed, bytes, matches;
    int store_failed; /* the writer stopped on a store error; fr_error-style text in msg */
    char store_error[512];
} fr_pipeline_stats;

typedef struct fr_pipeline fr_pipeline;

/* Live counters for a progress display, updated by sources and the pipeline. */
typedef struct {
    _Atomic uint64_t repos_total, repos_done, commits; /* sources */
    _Atomic uint64_t submitted, done, bytes;           /* pipeline */
} fr_progress;

/* The pipeline's progress counters (valid until fr_pipeline_finish). */
fr_progress *fr_pipeline_progress(fr_pipeline *p);

int fr_pipeline_start(fr_pipeline **out, const fr_pipeline_opts *opts, const fr_engine *engine,
                      fr_store *store, int64_t run_id);
/* Hands an item to the pipeline (ownership passes; blocks while every queue is full).
 * Safe from several threads at once. Returns FR_ERR when the pipeline stopped
 * (store failure). */
int fr_pipeline_submit(fr_pipeline *p, fr_item *it);
/* Whether the pipeline stopped (a store failure): items are drained unprocessed. */
int fr_pipeline_stopped(fr_pipeline *p);
/* Memory that lives until fr_pipeline_finish (zeroed): contexts that items'
 * loaders borrow after their source has returned. */
void *fr_pipeline_keep(fr_pipeline *p, size_t size);
char *fr_pipeline_keep_str(fr_pipeline *p, const char *s);
/* Drains the queues, joins the threads, flushes the store and frees p. */
int fr_pipeline_finish(fr_pipeline *p, fr_pipeline_stats *stats);

/* ---- secrets in path names (paths.c; a worker's scanner, any thread) ---- */
/* Writes path into out (reset first) with each secret span replaced by its
 * redacted preview; returns how many spans were replaced. */
size_t fr_redact_path(fr_scanner *sc, const char *path, fr_buf *out);
/* The same for given matches: spans that overlap (matches of different rules,
 * or of one rule at overlapping places) are merged into one before replacing,
 * so no tail of a match stays plain. */
size_t fr_redact_spans(const char *path, const fr_match *m, size_t nm, fr_buf *out);
/* Findings in path names: a segmented item (one segment per path) and matches. */
typedef struct {
    fr_item *it;
    fr_store_match *m;
    size_t nm;
} fr_path_findings;
/* Redacts the paths of it's locations in place (and *content_key when it names
 * an unread place). top: the top-level item (paths still plain) when it is an
 * archive member, NULL for the item itself. Matches in file paths and member
 * names (not git paths: git.c scans those) are added to pf. */
void fr_paths_check(fr_scanner *sc, const fr_engine *e, int store_secrets, fr_item *it,
                    char **content_key, const fr_item *top, fr_path_findings *pf);

#endif
