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
    int readonly;        /* open an existing store for reports (one thread only) */
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
 * first upgraded once, and a hot journal a killed merge left is first rolled
 * back, both of which need write access); a WAL store in a read-only
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
    const char *kind;           /* "secret" (NULL) or "indicator" */
    const char *attack_version; /* ATT&CK version of the mapping (NULL: not given) */
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
    int kind;        /* FR_KIND_SECRET (0) or FR_KIND_INDICATOR (1): the rule's */
    /* Masking bypass: how this occurrence printed the secret ("base64", "hex",
     * "reversed", "url", "split-lines"; NULL: as it is). offset/line/column
     * are then those of the encoded text, length its length. */
    const char *transform;
    /* The secret's masking-bypass print (print_len 0: none): recorded with
     * the finding in mask_prints, keyed (never the secret or a bare hash). */
    uint32_t print_len;
    uint64_t print_rk;
    char print_tag[65];
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
                  the content is not recorded. With matches: they are added too (a
                  log's masking-bypass hits found at the end of a sweep) */
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
/* Begins a batch transaction now (if none is open), so that what follows, up
 * to fr_store_flush, is committed at once: a scan records its run, its rules
 * and its shard together, and a scan killed early leaves either none of them
 * or all (a shard store the merge can call incomplete, never unsharded). */
int fr_store_batch_begin(fr_store *s);

/* ---- reading ---- */
typedef struct {
    int64_t id;
    const char *fid; /* short keyed id, stable across runs and stores sharing a key */
    const char *rule_id, *rule_name, *severity, *confidence, *attack, *description, *refs;
    const char *secret_sha256, *preview, *secret;
    const char *first_seen, *last_seen;
    int64_t first_run, last_run;
    int validated; /* 0 none, 1 structure, 2 checksum */
    /* Triage (effective): "open", "accepted", "false-positive", "revoked", or
     * "baselined" (an unexpired baseline entry and no triage of its own); the
     * comment, who and when of the triage or the baseline's reason. */
    const char *status, *status_comment, *status_who, *status_at;
    /* Introduction date: the earliest author date of its occurrences, else
     * first_seen. Counts over every occurrence that passed the filter, even
     * when max_occurrences passed fewer. */
    const char *introduced;
    size_t nocc_total, ncommits, npaths, nrepos;
    const char *kind;           /* "secret" or "indicator" (a threat indicator) */
    const char *attack_version; /* ATT&CK version of the rule's mapping (NULL: none) */
} fr_finding_row;

typedef struct {
    const char *kind, *repo, *path, *commit, *content_key;
    const char *author_name, *author_email, *author_date, *committer_date, *ref, *mtime;
    const char *ci_run, *ci_job, *ci_step;
    const char *transform; /* masking bypass: how the secret was printed (NULL: as it is) */
    int64_t line, column;
} fr_occurrence_row;

/* Sort orders of fr_store_each_finding. */
enum {
    FR_SORT_RULE = 0,     /* rule id, then secret hash (stable; the default of old callers) */
    FR_SORT_SEVERITY = 1, /* severity (critical first), then introduction date (newest first) */
};

/* The one query behind every report (text, JSON, JSONL, SARIF, HTML): every
 * field is optional (zero / NULL: no restriction). */
typedef struct {
    int64_t new_since_run;    /* > 0: only findings first seen in this run or later */
    int with_secrets;         /* fill fr_finding_row.secret when stored */
    const char *rule;         /* glob on the rule id ("aws.*"); a list: comma-separated */
    const char *min_severity; /* "low", "medium", "high" or "critical": at least this */
    const char *status;       /* comma-separated effective statuses (see fr_finding_row) */
    const char *repo;         /* glob on an occurrence's repository */
    const char *path;         /* glob on an occurrence's path ('*' crosses '/') */
    /* Introduction date within [since, until] (ISO dates or prefixes: "2025",
     * "2025-06", "2025-06-30"; until includes the whole of its day). */
    const char *since, *until;
    int validated;          /* 1: only findings whose structure or checksum was validated */
    const char *kind;       /* "secret" or "indicator": only findings of that kind */
    int sort;               /* FR_SORT_* */
    size_t max_occurrences; /* > 0: pass at most this many occurrences (the earliest) */
    int no_content_key;     /* fr_occurrence_row.content_key not needed (left NULL): faster */
    int no_spread;          /* fr_finding_row's ncommits, npaths, nrepos not needed (left 0) */
    int no_secret_hash;     /* fr_finding_row.secret_sha256 not needed (NULL unless sorted by) */
} fr_report_filter;

/* A filter's occurrence-level parts (repo, path) also choose which occurrences
 * a finding comes with; a finding with none left is not passed. Severity is the
 * rule's as recorded by the last scan (config overrides included). The
 * selected findings' occurrences are read table by table and held in memory
 * until the last callback (about 200 bytes each: 1,000,000 occurrences take
 * some 250 MB); a large scan of the locations uses a second connection and
 * thread. Strings passed to cb live until cb returns. */
typedef int (*fr_finding_cb)(const fr_finding_row *f, const fr_occurrence_row *occ, size_t nocc,
                             void *ctx);
int fr_store_each_finding(fr_store *s, const fr_report_filter *flt, fr_finding_cb cb, void *ctx);
/* The same on two threads: batches of findings in report order, every other
 * batch passed to cb(..., ctx[1]) on a second thread while the first thread
 * passes the one before it to cb(..., ctx[0]); after each pair of batches,
 * done(ctx[0]) then done(ctx[1]) on the caller's thread (cb keeps what it
 * makes until done writes it). cb must be safe to run on both threads with
 * their own ctx. */
typedef int (*fr_batch_cb)(void *ctx);
int fr_store_each_finding2(fr_store *s, const fr_report_filter *flt, fr_finding_cb cb,
                           void *const ctx[2], fr_batch_cb done);

/* Counts of the findings a filter selects, grouped: cb gets (group, key, n) for
 * group "severity", "rule", "repo" (findings with an occurrence there),
 * "status" and "kind" (secret, indicator), each group's keys in descending
 * count. total: the findings. */
typedef int (*fr_summary_cb)(const char *group, const char *key, int64_t n, void *ctx);
int fr_store_summary(fr_store *s, const fr_report_filter *flt, int64_t *total, fr_summary_cb cb,
                     void *ctx);

/* ---- triage (triage.c): kept by finding id, so it survives re-scans, merges
 * and rule-set changes. Tables: triage (current), triage_log (history),
 * baseline (ids accepted by a configuration file). ---- */
/* Whether status is one a person may set: open, accepted, false-positive, revoked. */
int fr_triage_status_valid(const char *status);
/* Sets the status of a finding. fid: a full id, or a prefix of at least 4
 * characters naming one recorded finding (FR_ENOTFOUND / FR_ERR with a
 * message otherwise; unknown full ids are accepted only with allow_unknown,
 * as an import does for another shard's findings). at: ISO time (NULL: now).
 * only_newer: keep an existing status set at or after at (imports). *changed:
 * whether anything was written. full_fid (13 bytes) gets the id used. */
int fr_store_triage_set(fr_store *s, const char *fid, const char *status, const char *comment,
                        const char *who, const char *at, int allow_unknown, int only_newer,
                        int *changed, char full_fid[13]);
typedef struct {
    const char *fid, *status, *comment, *who, *at;
} fr_triage_row;
typedef int (*fr_triage_cb)(const fr_triage_row *t, void *ctx);
/* Every triaged finding, by id. */
int fr_store_each_triage(fr_store *s, fr_triage_cb cb, void *ctx);
/* After a run: a revoked finding seen at a location first recorded in a run
 * after its revocation, in a commit made after it (or outside git), reopens.
 * *n: how many reopened. */
int fr_store_triage_reopen(fr_store *s, int64_t run_id, uint64_t *n);
/* Replaces the baseline entries that came from source (a config file's path). */
typedef struct {
    const char *fid, *reason, *expires; /* expires: YYYY-MM-DD or NULL */
} fr_baseline_entry;
int fr_store_set_baseline(fr_store *s, const char *source, const fr_baseline_entry *e, size_t n);
/* Like fr_store_findings_in_run, counting only findings whose effective status
 * is open (accepted, false-positive, revoked and baselined ones do not fail a
 * scan). */
int fr_store_open_findings_in_run(fr_store *s, int64_t run_id, uint64_t *n);
/* Of those findings, the indicators (kind 'indicator'): all, and open ones. */
int fr_store_indicators_in_run(fr_store *s, int64_t run_id, uint64_t *all, uint64_t *open);

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

/* ---- masking bypass (prints.c) ---- */
/* A 32-byte key derived from the store's key for masking-bypass prints. */
int fr_store_mask_key(fr_store *s, unsigned char out[32]);
/* Every finding's print (table mask_prints), with its rule, secret hash and
 * preview. Findings recorded before the table existed, or never matched since
 * as plaintext by a writer that made prints, have none. */
typedef int (*fr_print_cb)(void *ctx, const char *rule_id, const char *secret_sha256,
                           const char *preview, int64_t len, int64_t rk, const char *tag);
int fr_store_each_print(fr_store *s, fr_print_cb cb, void *ctx);

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

/* What the last complete scan of a git repository walked (table git_walked):
 * kind "tip" (name: a ref, oid: the commit it pointed to), "pack" (name: a
 * pack file name, oid "") or "hide" (name "", oid: a commit the next scan
 * hides: the tips no other tip reaches). Rows saved under another rules_hash are not
 * returned: a rule change walks everything again. */
typedef int (*fr_walked_cb)(const char *kind, const char *name, const char *oid, void *ctx);
int fr_store_each_walked(fr_store *s, const char *repo, const char *rules_hash, fr_walked_cb cb,
                         void *ctx);
/* Replaces repo's rows with n new ones (kinds[i], names[i], oids[i]); commits
 * pending results first. */
int fr_store_set_walked(fr_store *s, const char *repo, const char *rules_hash,
                        const char *const *kinds, const char *const *names, const char *const *oids,
                        size_t n);
/* Edits repo's rows instead, for a scan whose previous state was read from
 * them (fr_store_each_walked under the same rules_hash): row i is deleted when
 * del[i], else inserted; rows under another rules_hash or of a kind this
 * version does not know go, as fr_store_set_walked would drop them. The rows
 * a re-scan did not change stay (an incremental re-scan of a repository with
 * ~500 refs rewrote every one: 5% of its CPU). */
int fr_store_edit_walked(fr_store *s, const char *repo, const char *rules_hash,
                         const char *const *kinds, const char *const *names,
                         const char *const *oids, const unsigned char *del, size_t n);

/* Whether content key was scanned under rules_hash: FR_OK with *has_matches
 * set, FR_ENOTFOUND when it was not (one question; fr_store_each_known for
 * all of them). */
int fr_store_known_one(fr_store *s, const char *key, const char *rules_hash, int *has_matches);

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

/* Work trees' stat cache (worktree_stat; sources.h, fr_worktree_opts): per
 * file on disk its size, mtime_ns, ctime_ns, inode, mode, when it was looked
 * at (v[0..5]) and the git blob id its content hashed to. each: the rows
 * whose path starts with prefix; put: one row added or replaced. */
typedef void (*fr_wt_stat_cb)(void *ctx, const char *path, const int64_t v[6], const char *oid);
int fr_store_each_wt_stat(fr_store *s, const char *prefix, fr_wt_stat_cb cb, void *ctx);
int fr_store_put_wt_stat(fr_store *s, const char *path, const int64_t v[6], const char *oid);

/* ---- sharded scans and merging (merge.c) ---- */

/* Records that run_id scanned shard index of count, one of the set named set
 * (one job array, one CI run: every shard of it gives the same name). NULL
 * names the set after the run's targets and count. */
int fr_store_run_shard(fr_store *s, int64_t run_id, uint32_t index, uint32_t count,
                       const char *set);

typedef struct {
    int allow_incomplete; /* merge although a shard of a set is missing or incomplete */
    int allow_mixed;      /* merge inputs of other rules, or an older schema (upgraded) */
} fr_merge_opts;

typedef struct {
    uint64_t runs;               /* runs added */
    uint64_t findings;           /* finding rows read from the inputs */
    uint64_t findings_new;       /* findings the organisation store did not have */
    uint64_t matches, locations; /* rows read from the inputs */
} fr_merge_stats;

/* Folds the stores at paths (shards, yesterday's organisation store) into s:
 * runs once each (by their uid; a merged run keeps its shard and gets its
 * origin), rules, content, findings deduplicated by rule and secret (ids
 * recomputed under s's key; first/last seen the minimum/maximum), matches
 * and locations unioned, incremental state (files, repos, git_walked: the
 * latest run's) and triage (by finding id; the later verdict wins, the log is
 * unioned). Checked first, nothing written unless told otherwise: every input
 * is a ferret store with this ferret's schema steps (a newer one is always
 * refused), all inputs' latest runs used the same rules, and for each set of
 * shards an input belongs to every shard has a complete run (in an input or,
 * for a named set, in s). All inputs are merged in ONE transaction: an error
 * or an interrupt leaves s as it was. The transaction writes through a
 * rollback journal (s is in WAL mode again afterwards; a killed merge's hot
 * journal is rolled back by the next connection), or keeps the WAL when s is
 * open in another connection at the start; a reader opening s during the
 * merge blocks its commit (the busy timeout, then the merge fails and writes
 * nothing) and waits for it. Merging an input again changes nothing:
 * only rows of runs s does not hold yet (or holds as still running) are read,
 * so a shard store kept from night to night costs what the night added.
 * FR_ERR with the problems (which shard is missing or incomplete) in fr_error. */
int fr_store_merge(fr_store *s, const char *const *paths, size_t n, const fr_merge_opts *o,
                   fr_merge_stats *stats);

#endif
