/*
 * store: the only code that speaks SQL. A SQLite file in WAL mode holding scan
 * runs, scanned content, deduplicated findings (rule + SHA-256 of the secret) and
 * their occurrences with provenance. Writes come from one writer thread; reads
 * (reports) use the same API from any single thread.
 */
#ifndef FERRET_STORE_H
#define FERRET_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fr_store fr_store;

typedef struct {
    int busy_timeout_ms; /* how long to wait for another writer's lock */
    int readonly;        /* open an existing store for reports */
    /* The store's secret key file (finding ids, keyed fingerprints). NULL: the
     * environment's FERRET_KEY_FILE, else PATH.key beside the DB; created 0600
     * on first need by a writer. Stores that share a key give the same finding
     * the same id (shards of one organisation). */
    const char *key_path;
} fr_store_opts;

/* Opens (creating with mode 0600 when absent) the store at path. A ferret store
 * carries PRAGMA application_id "FRRT"; an empty (zero-length) file is taken as
 * new; any other file that is not a ferret store — another application's SQLite
 * DB, even one without tables — is reported (FR_ECORRUPT) and never written to.
 * Creating the schema is one transaction under the write lock, so concurrent
 * first runs are safe. A lock held past the busy timeout gives FR_EBUSY.
 * readonly: nothing is written (except that a store from an older ferret is
 * first upgraded once, which needs write access); a WAL store in a read-only
 * directory (no -shm can be made) is read as immutable. A writer applies the
 * schema's named migrations (src/store/migrations.c) under the write lock; a
 * store written by a newer ferret is never written to (FR_ECORRUPT). *out is the caller's to
 * fr_store_close. */
int fr_store_open(fr_store **out, const char *path, const fr_store_opts *opts);
void fr_store_close(fr_store *s);

/* ---- scan runs ---- */
int fr_store_run_begin(fr_store *s, const char *targets, const char *rules_hash, int64_t *run_id);
typedef struct {
    uint64_t scanned, skipped, failed, bytes, matches;
    uint64_t new_findings; /* computed by the store at run end */
} fr_run_counts;
int fr_store_run_end(fr_store *s, int64_t run_id, int complete, const fr_run_counts *c,
                     const char *note);

/* Records a rule's metadata so reports need no rule files. */
typedef struct {
    const char *id, *name, *description, *severity, *confidence, *attack, *refs;
} fr_rule_meta;
int fr_store_put_rule(fr_store *s, const fr_rule_meta *r);

/* ---- writing scan results (writer thread only) ---- */
typedef enum { FR_ST_SCANNED = 0, FR_ST_SKIPPED = 1, FR_ST_ERROR = 2 } fr_content_status;

typedef struct {
    const char *kind; /* "file", "git", "archive" */
    const char *repo, *path, *commit;
    const char *author_name, *author_email, *author_date, *committer_date, *ref;
    const char *mtime;                     /* files: modification time, ISO-8601 */
    const char *ci_run, *ci_job, *ci_step; /* CI logs: what the archive layout tells */
} fr_location;

typedef struct {
    const char *rule_id;
    char secret_sha256[65];
    const char *preview;
    const char *secret; /* NULL unless plaintext storage was asked for */
    uint64_t offset, line, column;
    uint64_t length; /* of the secret, in bytes */
    int validated;   /* 0 none, 1 structure, 2 checksum */
} fr_store_match;

typedef struct {
    const char *content_key;
    uint64_t size;
    fr_content_status status;
    const char *reason; /* for skipped / error */
    const char *rules_hash;
    const fr_location *locs; /* where the content was seen */
    size_t nlocs;
    const char *file_path; /* a file read from disk: remembered for incremental sweeps */
    int64_t file_mtime_ns;
    int known; /* add locations only (if the content has matches); FR_ENOTFOUND when
                  the content is not recorded */
    const fr_store_match *matches;
    size_t nmatches;
} fr_store_item;

/* Records one item inside the current batch transaction (begun on demand).
 * Locations are kept for content with matches and for content not scanned; per
 * (content, kind, repo, path) the first location recorded is kept, so a source
 * that submits in topological order records the introducing commit. */
int fr_store_put(fr_store *s, int64_t run_id, const fr_store_item *it);
/* Commits the current batch, if any. */
int fr_store_flush(fr_store *s);

/* ---- reading ---- */
typedef struct {
    int64_t id;
    const char *fid; /* short keyed id, stable across runs and stores sharing a key */
    const char *rule_id, *rule_name, *severity, *confidence, *attack, *description, *refs;
    const char *secret_sha256, *preview, *secret;
    const char *first_seen, *last_seen;
    int64_t first_run, last_run;
    int validated; /* 0 none, 1 structure, 2 checksum */
} fr_finding_row;

typedef struct {
    const char *kind, *repo, *path, *commit, *content_key;
    const char *author_name, *author_email, *author_date, *committer_date, *ref, *mtime;
    const char *ci_run, *ci_job, *ci_step;
    int64_t line, column;
} fr_occurrence_row;

typedef struct {
    int64_t new_since_run; /* > 0: only findings first seen in this run or later */
    int with_secrets;      /* fill fr_finding_row.secret when stored */
} fr_report_filter;

typedef int (*fr_finding_cb)(const fr_finding_row *f, const fr_occurrence_row *occ, size_t nocc,
                             void *ctx);
int fr_store_each_finding(fr_store *s, const fr_report_filter *flt, fr_finding_cb cb, void *ctx);

typedef int (*fr_rule_cb)(const fr_rule_meta *r, void *ctx);
int fr_store_each_rule(fr_store *s, fr_rule_cb cb, void *ctx);

typedef struct {
    int64_t id;
    const char *started_at, *finished_at, *targets, *status, *note;
    fr_run_counts counts;
} fr_run_row;
/* The latest run (FR_ENOTFOUND when there is none). Strings valid until next call. */
int fr_store_last_run(fr_store *s, fr_run_row *out);

typedef int (*fr_skipped_cb)(const char *status, const char *reason, const char *kind,
                             const char *repo, const char *path, uint64_t size, void *ctx);
int fr_store_each_skipped(fr_store *s, fr_skipped_cb cb, void *ctx);

/* HMAC-SHA256 under the store's key, 64 hex digits: the fingerprint to put in
 * anything that leaves the machine instead of a bare hash of a secret. */
int fr_store_hmac(fr_store *s, const void *data, size_t len, char out[65]);

/* ---- incremental scans (any thread; the connection is serialized) ---- */
/* The state saved after the last complete scan of repo (FR_ENOTFOUND if none). */
int fr_store_repo_state(fr_store *s, const char *repo, char fingerprint[65], char rules_hash[65]);
/* Saves repo's state; commits pending results first. */
int fr_store_set_repo_state(fr_store *s, const char *repo, const char *fingerprint,
                            const char *rules_hash, int64_t run_id);
/* Calls cb for every content key starting with prefix that was scanned under
 * rules_hash, with the key minus the prefix and whether it has matches. */
typedef int (*fr_known_cb)(const char *key_suffix, int has_matches, void *ctx);
int fr_store_each_known(fr_store *s, const char *prefix, const char *rules_hash, fr_known_cb cb,
                        void *ctx);

/* Marks every location of repo as seen in run_id (an unchanged repository). */
int fr_store_touch_repo(fr_store *s, const char *repo, int64_t run_id);
/* Number of findings with a location seen in run_id through this connection:
 * what the run's targets hold, counted whether this run or a concurrent one
 * recorded the content first (known content, unchanged files and repositories
 * count too). */
int fr_store_findings_in_run(fr_store *s, int64_t run_id, uint64_t *n);

/* The content key of a file read before with this size and mtime under
 * rules_hash (FR_ENOTFOUND when it must be read). out gets 80 bytes at most. */
int fr_store_file_unchanged(fr_store *s, const char *path, uint64_t size, int64_t mtime_ns,
                            const char *rules_hash, char *out, size_t outsz);

#endif
