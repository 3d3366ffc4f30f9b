/*
 * migrations.c: the schema's steps after schema.sql, in order. See store_int.h.
 */
#include "store/store_int.h"

/* The occurrences view as steps 0009 and 0010 make it again over the tables
 * they rebuild (it names them, so it is dropped first). */
#define OCCURRENCES_VIEW                                                                           \
    " CREATE VIEW occurrences AS"                                                                  \
    " SELECT m.finding_id, l.source_kind, l.repo, l.path, m.line, m.col, m.offset,"                \
    " c.key AS content_key, l.commit_id, l.author_name, l.author_email,"                           \
    " l.author_date, l.committer_date, l.ref, l.mtime, l.ci_run, l.ci_job, l.ci_step, l.first_run" \
    " FROM matches m JOIN locations l ON l.content_id = m.content_id"                              \
    " JOIN content c ON c.id = m.content_id;"

const fr_migration fr_migrations[] = {
    /* Short, stable, keyed finding ids: the same id for the same (rule, secret)
     * in every run and in every store sharing the key; not a bare hash of the
     * secret, so an id can leave the machine. */
    {"0001-finding-ids", "ALTER TABLE findings ADD COLUMN fid TEXT;"
                         " UPDATE findings SET fid = fr_fid(rule_id, secret_sha256);"
                         " CREATE UNIQUE INDEX IF NOT EXISTS findings_by_fid ON findings (fid);"},
    /* Incremental git scans: per repository, the ref tips whose history was
     * walked and the pack files whose objects were enumerated, under one rule
     * set. A re-scan walks only commits none of these tips reaches and lists
     * only packs not named here (and loose objects). */
    {"0002-git-walked", "CREATE TABLE IF NOT EXISTS git_walked ("
                        " repo TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,"
                        " oid TEXT NOT NULL, rules_hash TEXT NOT NULL,"
                        " PRIMARY KEY (repo, kind, name, oid)) WITHOUT ROWID;"},
    /* Triage (issue 15): a person's verdict on a finding, keyed by its fid so
     * it survives re-scans, merges (stores sharing a key) and rule-set changes;
     * triage_log keeps every change; baseline holds a config file's accepted
     * ids. run_id: the latest run when the status was set (a revoked secret
     * seen at a location first recorded after it, in a commit made after it,
     * reopens). */
    {"0002-triage",
     "CREATE TABLE IF NOT EXISTS triage (fid TEXT PRIMARY KEY, status TEXT NOT NULL CHECK"
     " (status IN ('open', 'accepted', 'false-positive', 'revoked')), comment TEXT,"
     " who TEXT NOT NULL, at TEXT NOT NULL, run_id INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
     " CREATE TABLE IF NOT EXISTS triage_log (id INTEGER PRIMARY KEY, fid TEXT NOT NULL,"
     " status TEXT NOT NULL, comment TEXT, who TEXT NOT NULL, at TEXT NOT NULL);"
     " CREATE INDEX IF NOT EXISTS triage_log_by_fid ON triage_log (fid);"
     " CREATE TABLE IF NOT EXISTS baseline (fid TEXT PRIMARY KEY, reason TEXT, expires TEXT,"
     " source TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"},
    /* Sharded scans and merges (issue 16): every run gets a unique id (uid), so
     * merging a shard twice records its runs once; a sharded run says which
     * shard of how many it was and of which set (one job array, one CI run);
     * origin: the database a merged run came from. */
    {"0003-run-shards",
     "ALTER TABLE runs ADD COLUMN uid TEXT; ALTER TABLE runs ADD COLUMN shard_index INTEGER;"
     " ALTER TABLE runs ADD COLUMN shard_count INTEGER; ALTER TABLE runs ADD COLUMN shard_set TEXT;"
     " ALTER TABLE runs ADD COLUMN origin TEXT;"
     " UPDATE runs SET uid = lower(hex(randomblob(16)));"
     " CREATE UNIQUE INDEX IF NOT EXISTS runs_by_uid ON runs (uid);"
     " CREATE TRIGGER IF NOT EXISTS runs_uid AFTER INSERT ON runs WHEN new.uid IS NULL BEGIN"
     " UPDATE runs SET uid = lower(hex(randomblob(16))) WHERE id = new.id; END;"},
    /* Reports (issue 15): a secret's introduction date (the earliest author
     * date of its places) is read per blob from this index, not from every
     * location row: sorting 100,000 findings by it stays cheap. */
    {"0004-report-intro-index",
     "CREATE INDEX IF NOT EXISTS locations_by_content_date ON locations (content_id, author_date)"},
    /* Threat indicators (issue 17): a finding is a leaked secret or a trace of
     * an attack (its rule's kind, recorded with the finding so reports and
     * merges need no rule files); a rule records the ATT&CK version its
     * technique was mapped under. */
    {"0005-finding-kind", "ALTER TABLE findings ADD COLUMN kind TEXT NOT NULL DEFAULT 'secret';"
                          " ALTER TABLE rules ADD COLUMN kind TEXT NOT NULL DEFAULT 'secret';"
                          " ALTER TABLE rules ADD COLUMN attack_version TEXT;"},
    /* Masking bypass (issue 17): a match may be the secret printed transformed
     * (its name in matches.transform; NULL: as it is), and each secret finding
     * has a print — length, keyed rolling hash, keyed HMAC tag, never the
     * secret or a bare hash — so later logs are searched for it. */
    {"0006-masking-bypass",
     "ALTER TABLE matches ADD COLUMN transform TEXT;"
     " CREATE TABLE IF NOT EXISTS mask_prints (finding_id INTEGER PRIMARY KEY"
     " REFERENCES findings (id), length INTEGER NOT NULL, rk INTEGER NOT NULL,"
     " tag TEXT NOT NULL);"},
    /* Merges (issue 16): locations_by_content (content_id) repeats the leading
     * column of both the UNIQUE (content_id, source_kind, repo, path) index
     * and locations_by_content_date, which serve every lookup by content; it
     * cost each location row written (scan or merge) a fourth B-tree. */
    {"0007-drop-locations-by-content", "DROP INDEX IF EXISTS locations_by_content"},
    /* Work-tree re-scans (issue 11): a tracked file's stat data and the blob
     * id its content hashed to, so a file whose stat matches neither the
     * index's nor this row is the only one read (libgit2 never writes the
     * index back; a checkout copied or touched would be re-hashed whole on
     * every sweep). Merged like the other optional tables (merge.c). */
    {"0008-worktree-stat",
     "CREATE TABLE IF NOT EXISTS worktree_stat (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
     " mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,"
     " mode INTEGER NOT NULL, checked_ns INTEGER NOT NULL, oid TEXT NOT NULL) WITHOUT ROWID;"},
    /* Merges (issue 16): matches and locations stored on their natural keys
     * (WITHOUT ROWID), so a row written is one B-tree insert plus its other
     * indexes, not a rowid table AND a UNIQUE index on the same columns:
     * matches (content, finding, offset) and matches_by_finding; locations
     * (content, kind, repo, path) alone - locations_by_content_date goes, its
     * lookups by content (a blob's places, its earliest author date) read
     * the table's own key, where a blob's rows are now adjacent. Nothing
     * referred to either table's id. The tables are rebuilt in place (in the
     * upgrade's transaction); the occurrences view is made again over them. */
    {"0009-occurrences-by-key",
     "DROP VIEW IF EXISTS occurrences;"
     " CREATE TABLE matches_0009 (content_id INTEGER NOT NULL REFERENCES content (id),"
     " finding_id INTEGER NOT NULL REFERENCES findings (id), offset INTEGER NOT NULL,"
     " line INTEGER NOT NULL, col INTEGER NOT NULL, transform TEXT,"
     " PRIMARY KEY (content_id, finding_id, offset)) WITHOUT ROWID;"
     " INSERT INTO matches_0009 SELECT content_id, finding_id, offset, line, col, transform"
     " FROM matches ORDER BY content_id, finding_id, offset;"
     " DROP TABLE matches; ALTER TABLE matches_0009 RENAME TO matches;"
     " CREATE INDEX matches_by_finding ON matches (finding_id);"
     " CREATE TABLE locations_0009 (content_id INTEGER NOT NULL REFERENCES content (id),"
     " source_kind TEXT NOT NULL, repo TEXT NOT NULL DEFAULT '', path TEXT NOT NULL,"
     " commit_id TEXT NOT NULL DEFAULT '', author_name TEXT, author_email TEXT,"
     " author_date TEXT, committer_date TEXT, ref TEXT, mtime TEXT, ci_run TEXT, ci_job TEXT,"
     " ci_step TEXT, first_run INTEGER NOT NULL REFERENCES runs (id),"
     " last_run INTEGER NOT NULL REFERENCES runs (id),"
     " PRIMARY KEY (content_id, source_kind, repo, path)) WITHOUT ROWID;"
     " INSERT INTO locations_0009 SELECT content_id, source_kind, repo, path, commit_id,"
     " author_name, author_email, author_date, committer_date, ref, mtime, ci_run, ci_job,"
     " ci_step, first_run, last_run FROM locations ORDER BY content_id, source_kind, repo, path;"
     " DROP TABLE locations; ALTER TABLE locations_0009 RENAME TO locations;" OCCURRENCES_VIEW},
    /* The scan's writer upserts one content row per blob or file, and SQLite
     * runs a CHECK of `x IN (three or more constants)` through an ephemeral
     * b-tree made (a pager opened and closed) for every row: a third of the
     * upsert's CPU (165,291 rows, git/git's blobs: 1.7 -> 1.05 s). The same
     * constraint as comparisons; the table is rebuilt in the upgrade's
     * transaction, ids kept, the occurrences view made again over it. */
    {"0010-content-status-compare",
     "DROP VIEW IF EXISTS occurrences;"
     " CREATE TABLE content_0010 (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
     " size INTEGER NOT NULL,"
     " status TEXT NOT NULL CHECK (status = 'scanned' OR status = 'skipped' OR status = 'error'),"
     " reason TEXT, rules_hash TEXT, run_id INTEGER NOT NULL REFERENCES runs (id));"
     " INSERT INTO content_0010 (id, key, size, status, reason, rules_hash, run_id)"
     " SELECT id, key, size, status, reason, rules_hash, run_id FROM content ORDER BY id;"
     " DROP TABLE content; ALTER TABLE content_0010 RENAME TO content;" OCCURRENCES_VIEW},
};

const size_t fr_nmigrations = sizeof fr_migrations / sizeof fr_migrations[0];
