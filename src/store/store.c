/*
 * store.c: SQLite behind a small API. Owns the connection and its prepared
 * statements. Invariants: a store that is not ferret's is never written to; all
 * result writes of one batch are one transaction, so an interrupted scan leaves
 * whole items or nothing; the DB file is created 0600 before SQLite opens it.
 */
#include "store/store.h"

#include "store/store_int.h"

#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 1
/* PRAGMA application_id of every ferret store: 0x46525254, "FRRT" (decimal:
 * PRAGMA takes no hex). */
#define FERRET_APP_ID 1179800148
#define FR_STR_(x)    #x
#define FR_STR(x)     FR_STR_(x)

extern const char fr_schema_sql[];

enum {
    Q_CONTENT_UPSERT,
    Q_FINDING_UPSERT,
    Q_MATCH_INSERT,
    Q_LOCATION_UPSERT,
    Q_CONTENT_FIND,
    Q_CONTENT_ID,
    Q_FILE_UPSERT,
    Q_SEEN_FINDING,
    Q_SEEN_CONTENT,
    Q_PRINT_INSERT,
    Q_COUNT
};

static const char *const QUERIES[Q_COUNT] = {
    [Q_CONTENT_UPSERT] =
        "INSERT INTO content (key, size, status, reason, rules_hash, run_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT (key) DO UPDATE SET size = excluded.size, status = excluded.status,"
        " reason = excluded.reason, rules_hash = excluded.rules_hash, run_id = excluded.run_id",
    [Q_FINDING_UPSERT] =
        "INSERT INTO findings (rule_id, secret_sha256, preview, secret, first_seen, last_seen,"
        " first_run, last_run, validated, fid, kind)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?6, ?7, fr_fid(?1, ?2), ?8)"
        " ON CONFLICT (rule_id, secret_sha256) DO UPDATE SET last_seen = excluded.last_seen,"
        " last_run = excluded.last_run, secret = coalesce(excluded.secret, findings.secret),"
        " validated = max(findings.validated, excluded.validated)"
        " RETURNING id",
    [Q_MATCH_INSERT] = "INSERT OR IGNORE INTO matches (content_id, finding_id, offset, line, col,"
                       " transform) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_PRINT_INSERT] = "INSERT OR IGNORE INTO mask_prints (finding_id, length, rk, tag)"
                       " VALUES (?1, ?2, ?3, ?4)",
    [Q_LOCATION_UPSERT] =
        "INSERT INTO locations (content_id, source_kind, repo, path, commit_id, author_name,"
        " author_email, author_date, committer_date, ref, mtime, ci_run, ci_job, ci_step,"
        " first_run, last_run)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12, ?13, ?14, ?15, ?11, ?11)"
        " ON CONFLICT (content_id, source_kind, repo, path) DO UPDATE SET"
        " last_run = excluded.last_run, mtime = coalesce(excluded.mtime, locations.mtime)",
    [Q_FILE_UPSERT] = "INSERT INTO files (path, size, mtime_ns, content_key, rules_hash, last_run)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (path) DO UPDATE SET"
                      " size = excluded.size, mtime_ns = excluded.mtime_ns,"
                      " content_key = excluded.content_key, rules_hash = excluded.rules_hash,"
                      " last_run = excluded.last_run",
    /* What a run saw, whoever recorded it first: a concurrent run moves
     * locations.last_run, so exit codes are counted from here. */
    [Q_SEEN_FINDING] = "INSERT OR IGNORE INTO temp.seen (run_id, finding_id) VALUES (?1, ?2)",
    [Q_SEEN_CONTENT] = "INSERT OR IGNORE INTO temp.seen (run_id, finding_id)"
                       " SELECT ?1, finding_id FROM matches WHERE content_id = ?2",
    [Q_CONTENT_ID] = "SELECT id FROM content WHERE key = ?1",
    [Q_CONTENT_FIND] = "SELECT id, EXISTS (SELECT 1 FROM matches WHERE content_id = content.id)"
                       " OR status <> 'scanned' FROM content WHERE key = ?1",
};

struct fr_store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    sqlite3_stmt *last_run; /* kept so fr_run_row strings stay valid */
    sqlite3_stmt *put_rule; /* prepared on the first fr_store_put_rule */
    /* The writer thread's batches and the scan's main thread share the
     * connection (opened FULLMUTEX): txn_lock (recursive) keeps in_txn and a
     * whole fr_store_put together, so another thread's flush never commits
     * an item half written. */
    pthread_mutex_t txn_lock;
    int in_txn;
    int busy_ms;       /* the busy timeout */
    int needs_upgrade; /* read-only open of a store with migrations to apply */
    char *path;
    fr_store_key key;
};

static int sql_error(fr_store *s, const char *what)
{
    int code = sqlite3_extended_errcode(s->db);
    int prim = code & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) {
        fr_error_set("%s: %s: the database is locked by another process (another ferret?); "
                     "try again later or raise --busy-timeout",
                     s->path, what);
        return FR_EBUSY;
    }
    if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT) {
        fr_error_set("%s: %s: not a valid ferret database (%s); the file was left untouched",
                     s->path, what, sqlite3_errmsg(s->db));
        return FR_ECORRUPT;
    }
    fr_error_set("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return FR_ERR;
}

static int exec(fr_store *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return sql_error(s, what);
    return FR_OK;
}

/* Reads one integer; *out untouched when there is no row. */
static int query_int(fr_store *s, const char *sql, int64_t *out, const char *what)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return sql_error(s, what);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sql_error(s, what);
    return FR_OK;
}

/* What an opened file holds. A file is ferret's only when it says so (its
 * application_id, or for stores made before ferret set one, its meta table);
 * a zero-length file is new. */
enum { DB_NEW, DB_FERRET, DB_FERRET_UNMARKED };

static int classify(fr_store *s, int *kind)
{
    int64_t appid = 0, version = -1;
    /* Not PRAGMA page_count: a write transaction makes page 1 of an empty file.
     * A committed schema is in the file itself (it is made before WAL is on). */
    struct stat st;
    if (stat(s->path, &st) == 0 && st.st_size == 0) {
        *kind = DB_NEW;
        return FR_OK;
    }
    int rc = query_int(s, "PRAGMA application_id", &appid, "reading the database");
    if (rc) return rc;
    if (appid == FERRET_APP_ID || appid == 0)
        rc = query_int(s,
                       "SELECT value FROM meta WHERE key = 'schema_version' AND EXISTS"
                       " (SELECT 1 FROM meta WHERE key = 'created_by' AND value = 'ferret')",
                       &version, "reading the schema version");
    if (rc == FR_EBUSY || rc == FR_ECORRUPT) return rc;
    if (rc || version < 0) { /* another application's file (maybe empty): never ours to change */
        fr_error_set("%s: this SQLite file is not a ferret database; the file was left untouched",
                     s->path);
        return FR_ECORRUPT;
    }
    if (version != SCHEMA_VERSION) {
        fr_error_set("%s: ferret database schema version %lld, this ferret reads version %d",
                     s->path, (long long)version, SCHEMA_VERSION);
        return FR_ECORRUPT;
    }
    *kind = appid == FERRET_APP_ID ? DB_FERRET : DB_FERRET_UNMARKED;
    return FR_OK;
}

/* How many of fr_migrations the store still lacks, and how many steps it has
 * that this ferret does not know (a store written by a newer ferret). */
static int pending_migrations(fr_store *s, size_t *pending, size_t *unknown)
{
    *pending = fr_nmigrations;
    *unknown = 0;
    int64_t has = 0;
    int rc = query_int(s,
                       "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                       " AND name = 'migrations'",
                       &has, "reading the schema version");
    if (rc || !has) return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM migrations", -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading the schema version");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        size_t i = 0;
        while (i < fr_nmigrations && (!name || strcmp(name, fr_migrations[i].name) != 0))
            i++;
        if (i < fr_nmigrations)
            (*pending)--;
        else
            (*unknown)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? FR_OK : sql_error(s, "reading the schema version");
}

/* Applies the missing steps; the caller holds the write transaction. */
static int apply_migrations(fr_store *s)
{
    int rc = exec(s,
                  "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY,"
                  " applied_at TEXT NOT NULL) WITHOUT ROWID",
                  "upgrading the schema");
    for (size_t i = 0; rc == FR_OK && i < fr_nmigrations; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db,
                               "INSERT OR IGNORE INTO migrations (name, applied_at)"
                               " VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                               -1, &st, NULL) != SQLITE_OK)
            return sql_error(s, "upgrading the schema");
        sqlite3_bind_text(st, 1, fr_migrations[i].name, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        sqlite3_finalize(st);
        if (step != SQLITE_DONE) return sql_error(s, "upgrading the schema");
        if (sqlite3_changes(s->db) == 0) continue; /* applied before */
        if (sqlite3_exec(s->db, fr_migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK) {
            const char *name = fr_migrations[i].name;
            rc = sql_error(s, "upgrading the schema");
            fr_error_set("%s (step %s)", fr_error(), name);
        }
    }
    return rc;
}

/* Creates the schema in a new file, upgrades an older one, or marks an unmarked
 * ferret store. Two first runs may race: the write lock is taken first (waiting
 * up to the busy timeout) and the file classified again under it, so only one
 * creates or upgrades anything. */
static int check_or_create_schema(fr_store *s, int readonly)
{
    int kind, rc = classify(s, &kind);
    size_t pending = fr_nmigrations, unknown = 0;
    if (rc) return rc;
    if (kind != DB_NEW && (rc = pending_migrations(s, &pending, &unknown))) return rc;
    if (readonly) {
        if (kind == DB_NEW) {
            fr_error_set("%s: no ferret database here (run 'ferret scan' first)", s->path);
            return FR_ENOTFOUND;
        }
        s->needs_upgrade = pending > 0;
        return FR_OK;
    }
    if (unknown) {
        fr_error_set("%s: this database was written by a newer ferret (%zu schema step%s this "
                     "ferret does not know); it was left untouched",
                     s->path, unknown, unknown == 1 ? "" : "s");
        return FR_ECORRUPT;
    }
    /* A new key only for a store that has no ids under an old one: a lost or
     * mistyped key file must not silently give the same findings other ids. */
    int64_t with_ids = 0;
    if (kind != DB_NEW &&
        query_int(s, "SELECT EXISTS (SELECT 1 FROM findings WHERE fid IS NOT NULL)", &with_ids,
                  "") != FR_OK)
        with_ids = 0; /* no fid column yet: a store from before the ids */
    s->key.create = with_ids == 0;
    if (with_ids > 0 && (rc = fr_store_key_load(&s->key))) return rc; /* say so before a scan */
    if (kind == DB_FERRET && pending == 0) return FR_OK;
    if ((rc = exec(s, "BEGIN IMMEDIATE", "creating the schema"))) return rc;
    rc = classify(s, &kind);
    if (rc == FR_OK && kind == DB_NEW &&
        sqlite3_exec(s->db, fr_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_error(s, "creating the schema");
    if (rc == FR_OK) rc = apply_migrations(s);
    if (rc == FR_OK && kind != DB_FERRET)
        rc = exec(s, "PRAGMA application_id = " FR_STR(FERRET_APP_ID), "marking the database");
    if (rc == FR_OK) return exec(s, "COMMIT", "creating the schema");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* A read-only open of a WAL database needs its -shm, which cannot be created in
 * a read-only directory once the last writer removed it; SQLite then fails with
 * SQLITE_CANTOPEN (or READONLY). With no writer able to exist there, the file
 * is read as immutable instead (a -wal left by a crash is then not seen). */
static int open_immutable(fr_store *s, const char *path)
{
    fr_buf uri = {0};
    fr_buf_puts(&uri, "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("/-._~", *c))
            fr_buf_append(&uri, (const char *)c, 1);
        else
            fr_buf_printf(&uri, "%%%02X", *c);
    }
    fr_buf_puts(&uri, "?immutable=1");
    sqlite3_close(s->db);
    s->db = NULL;
    int rc = sqlite3_open_v2(uri.p, &s->db,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    fr_buf_release(&uri);
    if (rc != SQLITE_OK) return sql_error(s, "opening");
    sqlite3_extended_result_codes(s->db, 1);
    return FR_OK;
}

static int cannot_open_readonly(fr_store *s)
{
    /* never around a hot journal: the file holds half a transaction */
    if (sqlite3_extended_errcode(s->db) == SQLITE_READONLY_ROLLBACK) return 0;
    int prim = sqlite3_extended_errcode(s->db) & 0xff;
    return prim == SQLITE_CANTOPEN || prim == SQLITE_READONLY;
}

int fr_store_open(fr_store **out, const char *path, const fr_store_opts *opts)
{
    int readonly = opts && opts->readonly;
    int busy = opts && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000;
    struct stat stb;
    if (stat(path, &stb) != 0) {
        if (errno != ENOENT || readonly) {
            fr_error_set("%s: %s", path, strerror(errno));
            return errno == ENOENT ? FR_ENOTFOUND : FR_ERR;
        }
        /* Create the file ourselves so its mode is 0600 whatever the umask. An
         * empty file (ours, or one another first run just made) counts as new. */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            fr_error_set("%s: cannot create the database: %s", path, strerror(errno));
            return FR_ERR;
        }
        if (fd >= 0) {
            fchmod(fd, 0600);
            close(fd);
        }
    } else if (!S_ISREG(stb.st_mode)) {
        fr_error_set("%s: not a regular file", path);
        return FR_ERR;
    }
    fr_store *s = fr_xcalloc(1, sizeof *s);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->txn_lock, &ma);
    pthread_mutexattr_destroy(&ma);
    s->path = fr_xstrdup(path);
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    int rc;
    /* A read-only store serves one thread (reports, exports): no mutex around
     * every column read (a tenth of a large report's CPU). */
    flags |= readonly ? SQLITE_OPEN_NOMUTEX : SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        rc = sql_error(s, "opening");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, busy);
    s->busy_ms = busy;
    sqlite3_extended_result_codes(s->db, 1);
    {
        const char *kp = opts && opts->key_path ? opts->key_path : getenv("FERRET_KEY_FILE");
        fr_buf b = {0};
        if (kp && *kp)
            fr_buf_puts(&b, kp);
        else
            fr_buf_printf(&b, "%s.key", path);
        s->key.path = fr_buf_steal(&b);
        s->key.create = 0; /* decided by check_or_create_schema */
    }
    if (fr_store_key_register(s->db, &s->key)) {
        rc = sql_error(s, "opening");
        goto fail;
    }
    /* Validate before changing anything: a foreign or corrupt file stays as it is. */
    rc = check_or_create_schema(s, readonly);
    if (rc && readonly && sqlite3_extended_errcode(s->db) == SQLITE_READONLY_ROLLBACK) {
        /* A hot journal: a merge (it writes through a rollback journal) was
         * killed after writing some of its pages. Reading the file as it is
         * would read half a transaction: a read-write open rolls it back,
         * then the store is read as asked. */
        fr_store_close(s);
        fr_store_opts w = opts ? *opts : (fr_store_opts){0};
        w.readonly = 0;
        fr_store *rw = NULL;
        if ((rc = fr_store_open(&rw, path, &w))) {
            fr_error_set("%s (an interrupted merge's journal must be rolled back, which needs"
                         " write access)",
                         fr_error());
            return rc;
        }
        fr_store_close(rw);
        return fr_store_open(out, path, opts);
    }
    if (rc && readonly && cannot_open_readonly(s)) {
        if ((rc = open_immutable(s, path))) goto fail;
        rc = check_or_create_schema(s, readonly);
    }
    if (rc) goto fail;
    if (s->needs_upgrade) {
        /* A report on a store from an older ferret: upgrade it once, with write
         * access, then read it as asked. */
        fr_store_close(s);
        fr_store_opts w = opts ? *opts : (fr_store_opts){0};
        w.readonly = 0;
        fr_store *up = NULL;
        if ((rc = fr_store_open(&up, path, &w))) {
            fr_error_set("%s (the database needs a schema upgrade, which needs write access)",
                         fr_error());
            return rc;
        }
        fr_store_close(up);
        return fr_store_open(out, path, opts);
    }
    if (!readonly) {
        int64_t dummy = 0;
        /* Switching a new file to WAL needs an exclusive lock and SQLite does not
         * call the busy handler for it: concurrent first runs retry here, within
         * the same busy timeout. */
        double until = fr_monotonic() + busy / 1000.0;
        while ((rc = query_int(s, "PRAGMA journal_mode = WAL", &dummy, "enabling WAL")) ==
                   FR_EBUSY &&
               fr_monotonic() < until)
            usleep(2000);
        if (rc) goto fail;
        /* What each run saw lives in this connection only (see fr_store_findings_in_run). */
        if ((rc = exec(s,
                       "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                       /* a writer's batches dirty index pages all over the
                        * content key index: kept in memory across commits */
                       " PRAGMA cache_size = -8192;"
                       /* and checkpointed every 32 MB of WAL, not 4 MB: each
                        * checkpoint writes those pages to the file again
                        * (git/git: writer CPU 4.8 -> 3.6 - 4.5 s) */
                       " PRAGMA wal_autocheckpoint = 8192;"
                       " PRAGMA temp_store = MEMORY; CREATE TEMP TABLE seen (run_id INTEGER,"
                       " finding_id INTEGER, PRIMARY KEY (run_id, finding_id)) WITHOUT ROWID",
                       "setting pragmas")))
            goto fail;
    }
    *out = s;
    return FR_OK;
fail:
    fr_store_close(s);
    return rc;
}

sqlite3 *fr_store_db(fr_store *s)
{
    return s->db;
}

int fr_store_sql_error(fr_store *s, const char *what)
{
    return sql_error(s, what);
}

int fr_store_hmac(fr_store *s, const void *data, size_t len, char out[65])
{
    return fr_store_key_hmac(&s->key, data, len, out);
}

void fr_store_close(fr_store *s)
{
    if (!s) return;
    if (s->in_txn) fr_store_flush(s);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_finalize(s->last_run);
    sqlite3_finalize(s->put_rule);
    sqlite3_close(s->db);
    free(s->path);
    fr_store_key_release(&s->key);
    free(s->key.path);
    pthread_mutex_destroy(&s->txn_lock);
    free(s);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

int fr_store_run_begin(fr_store *s, const char *targets, const char *rules_hash, int64_t *run_id)
{
    char now[32];
    fr_now_iso(now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO runs (started_at, targets, rules_hash, status)"
                           " VALUES (?1, ?2, ?3, 'running')",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "starting a run");
    bind_text(st, 1, now);
    bind_text(st, 2, targets);
    bind_text(st, 3, rules_hash);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return sql_error(s, "starting a run");
    *run_id = sqlite3_last_insert_rowid(s->db);
    return FR_OK;
}

int fr_store_run_end(fr_store *s, int64_t run_id, int complete, const fr_run_counts *c,
                     const char *note)
{
    int rc = fr_store_flush(s);
    if (rc) return rc;
    char now[32];
    fr_now_iso(now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE runs SET finished_at = ?2, status = ?3, items_scanned = ?4,"
                           " items_skipped = ?5, items_failed = ?6, bytes_scanned = ?7,"
                           " matches = ?8, note = ?10, new_findings ="
                           " (SELECT count(*) FROM findings WHERE first_run = ?1) WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "finishing the run");
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, now);
    bind_text(st, 3, complete ? "complete" : "incomplete");
    sqlite3_bind_int64(st, 4, (int64_t)c->scanned);
    sqlite3_bind_int64(st, 5, (int64_t)c->skipped);
    sqlite3_bind_int64(st, 6, (int64_t)c->failed);
    sqlite3_bind_int64(st, 7, (int64_t)c->bytes);
    sqlite3_bind_int64(st, 8, (int64_t)c->matches);
    bind_text(st, 10, note);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? FR_OK : sql_error(s, "finishing the run");
}

static int step_done(fr_store *s, sqlite3_stmt *st, const char *what);

/* Every scan records every rule: one statement prepared once, and a row
 * rewritten only when the rule's metadata changed (158 prepares and upserts
 * were a fifth of an incremental re-scan's CPU time). */
int fr_store_put_rule(fr_store *s, const fr_rule_meta *r)
{
    if (!s->put_rule &&
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO rules (id, name, description, severity, confidence,"
                           " attack, refs, kind, attack_version)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                           " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                           " description = excluded.description, severity = excluded.severity,"
                           " confidence = excluded.confidence, attack = excluded.attack,"
                           " refs = excluded.refs, kind = excluded.kind,"
                           " attack_version = excluded.attack_version"
                           " WHERE name IS NOT excluded.name"
                           " OR description IS NOT excluded.description"
                           " OR severity IS NOT excluded.severity"
                           " OR confidence IS NOT excluded.confidence"
                           " OR attack IS NOT excluded.attack OR refs IS NOT excluded.refs"
                           " OR kind IS NOT excluded.kind"
                           " OR attack_version IS NOT excluded.attack_version",
                           -1, &s->put_rule, NULL) != SQLITE_OK)
        return sql_error(s, "recording rules");
    sqlite3_stmt *st = s->put_rule;
    bind_text(st, 1, r->id);
    bind_text(st, 2, r->name);
    bind_text(st, 3, r->description);
    bind_text(st, 4, r->severity);
    bind_text(st, 5, r->confidence);
    bind_text(st, 6, r->attack);
    bind_text(st, 7, r->refs ? r->refs : "");
    bind_text(st, 8, r->kind ? r->kind : "secret");
    bind_text(st, 9, r->attack_version);
    return step_done(s, st, "recording rules");
}

int fr_store_flush(fr_store *s)
{
    pthread_mutex_lock(&s->txn_lock);
    int rc = FR_OK;
    if (s->in_txn) {
        s->in_txn = 0;
        if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            rc = sql_error(s, "committing results");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    pthread_mutex_unlock(&s->txn_lock);
    return rc;
}

static int step_done(fr_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? FR_OK : sql_error(s, what);
}

int fr_store_batch_begin(fr_store *s)
{
    pthread_mutex_lock(&s->txn_lock);
    int rc = FR_OK;
    if (!s->in_txn) {
        /* BEGIN IMMEDIATE waits (the busy handler) for another process's
         * write lock, except while this connection holds a read snapshot - a
         * lookup of the scan's main thread on the shared connection, between
         * its step and its finalize - that a commit elsewhere has made stale:
         * SQLite then answers SQLITE_BUSY_SNAPSHOT at once (waiting could
         * deadlock). That read ends with its statement: try again, up to the
         * busy timeout (test_concurrent's two scans of one tree under ASan). */
        double t0 = fr_monotonic();
        int erc;
        while ((erc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK &&
               (erc & 0xff) == SQLITE_BUSY && (fr_monotonic() - t0) * 1e3 < s->busy_ms) {
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (erc == SQLITE_OK)
            s->in_txn = 1;
        else
            rc = sql_error(s, "starting a batch");
    }
    pthread_mutex_unlock(&s->txn_lock);
    return rc;
}

/* The statement of QUERIES[i], prepared on its first use (kept until the store
 * closes): a re-scan that records little runs few of them, and eleven prepared
 * up front were a tenth of its store's CPU. NULL when it cannot be prepared. */
static sqlite3_stmt *query(fr_store *s, int i)
{
    if (!s->q[i] && sqlite3_prepare_v3(s->db, QUERIES[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i],
                                       NULL) != SQLITE_OK)
        return NULL;
    return s->q[i];
}

static int put_locked(fr_store *s, int64_t run_id, const fr_store_item *it);

int fr_store_put(fr_store *s, int64_t run_id, const fr_store_item *it)
{
    pthread_mutex_lock(&s->txn_lock);
    int rc = put_locked(s, run_id, it);
    pthread_mutex_unlock(&s->txn_lock);
    return rc;
}

static int put_locked(fr_store *s, int64_t run_id, const fr_store_item *it)
{
    static const char *const status_names[] = {"scanned", "skipped", "error"};
    int rc;
    if ((rc = fr_store_batch_begin(s))) return rc;
    int64_t content_id;
    sqlite3_stmt *st;
    if (it->known) { /* recorded before: find it, and whether locations matter (it has
                      * matches, or it was skipped or failed: where is worth knowing) */
        if (!(st = query(s, Q_CONTENT_FIND))) return sql_error(s, "preparing statements");
        bind_text(st, 1, it->content_key);
        int step = sqlite3_step(st);
        content_id = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        int has_matches = step == SQLITE_ROW && sqlite3_column_int(st, 1);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE) return sql_error(s, "finding content");
        if (step == SQLITE_DONE) return FR_ENOTFOUND; /* not recorded (yet) */
        /* Matches on known content: masking-bypass hits found at the end of
         * a sweep, in a log recorded earlier in it (pipeline/masking.h). */
        if (!has_matches && !it->nmatches) return FR_OK;
        if (!(st = query(s, Q_SEEN_CONTENT))) return sql_error(s, "preparing statements");
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, content_id);
        if ((rc = step_done(s, st, "recording what the run saw"))) return rc;
    } else {
        if (!(st = query(s, Q_CONTENT_UPSERT))) return sql_error(s, "preparing statements");
        bind_text(st, 1, it->content_key);
        sqlite3_bind_int64(st, 2, (int64_t)it->size);
        bind_text(st, 3, status_names[it->status]);
        bind_text(st, 4, it->reason);
        bind_text(st, 5, it->status == FR_ST_SCANNED ? it->rules_hash : NULL);
        sqlite3_bind_int64(st, 6, run_id);
        /* No RETURNING: SQLite runs a RETURNING statement through an
         * ephemeral table, a b-tree opened and closed for every row (a sixth
         * of the writer's CPU on git/git's 165,291 rows). A new row's id is
         * the connection's last insert rowid, which the upsert leaves alone
         * when it updates a row instead (content ids start at 1): the row is
         * then looked up by its key. */
        sqlite3_set_last_insert_rowid(s->db, 0);
        if ((rc = step_done(s, st, "recording content"))) return rc;
        content_id = sqlite3_last_insert_rowid(s->db);
        if (content_id <= 0) {
            if (!(st = query(s, Q_CONTENT_ID))) return sql_error(s, "preparing statements");
            bind_text(st, 1, it->content_key);
            int step = sqlite3_step(st);
            content_id = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
            rc = step == SQLITE_ROW ? FR_OK : sql_error(s, "recording content");
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            if (rc) return rc;
        }
    }

    char now[32];
    if (it->nmatches) fr_now_iso(now);
    for (size_t i = 0; i < it->nmatches; i++) {
        const fr_store_match *m = &it->matches[i];
        if (!(st = query(s, Q_FINDING_UPSERT))) return sql_error(s, "preparing statements");
        bind_text(st, 1, m->rule_id);
        bind_text(st, 2, m->secret_sha256);
        bind_text(st, 3, m->preview);
        bind_text(st, 4, m->secret);
        bind_text(st, 5, now);
        sqlite3_bind_int64(st, 6, run_id);
        sqlite3_bind_int(st, 7, m->validated);
        bind_text(st, 8, m->kind == 1 ? "indicator" : "secret");
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = sql_error(s, "recording a finding");
            sqlite3_reset(st);
            return rc;
        }
        int64_t finding_id = sqlite3_column_int64(st, 0);
        sqlite3_step(st); /* finish the RETURNING statement */
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (!(st = query(s, Q_MATCH_INSERT))) return sql_error(s, "preparing statements");
        sqlite3_bind_int64(st, 1, content_id);
        sqlite3_bind_int64(st, 2, finding_id);
        sqlite3_bind_int64(st, 3, (int64_t)m->offset);
        sqlite3_bind_int64(st, 4, (int64_t)m->line);
        sqlite3_bind_int64(st, 5, (int64_t)m->column);
        bind_text(st, 6, m->transform);
        if ((rc = step_done(s, st, "recording a match"))) return rc;
        if (m->print_len) {
            if (!(st = query(s, Q_PRINT_INSERT))) return sql_error(s, "preparing statements");
            sqlite3_bind_int64(st, 1, finding_id);
            sqlite3_bind_int64(st, 2, (int64_t)m->print_len);
            sqlite3_bind_int64(st, 3, (int64_t)m->print_rk);
            bind_text(st, 4, m->print_tag);
            if ((rc = step_done(s, st, "recording a print"))) return rc;
        }
        if (!(st = query(s, Q_SEEN_FINDING))) return sql_error(s, "preparing statements");
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, finding_id);
        if ((rc = step_done(s, st, "recording what the run saw"))) return rc;
    }
    if (it->file_path && it->status == FR_ST_SCANNED) {
        if (!(st = query(s, Q_FILE_UPSERT))) return sql_error(s, "preparing statements");
        bind_text(st, 1, it->file_path);
        sqlite3_bind_int64(st, 2, (int64_t)it->size);
        sqlite3_bind_int64(st, 3, it->file_mtime_ns);
        bind_text(st, 4, it->content_key);
        bind_text(st, 5, it->rules_hash);
        sqlite3_bind_int64(st, 6, run_id);
        if ((rc = step_done(s, st, "recording a file"))) return rc;
    }
    if (!(it->known || it->nmatches || it->status != FR_ST_SCANNED)) return FR_OK;
    for (size_t i = 0; i < it->nlocs; i++) {
        const fr_location *l = &it->locs[i];
        if (!(st = query(s, Q_LOCATION_UPSERT))) return sql_error(s, "preparing statements");
        sqlite3_bind_int64(st, 1, content_id);
        bind_text(st, 2, l->kind);
        bind_text(st, 3, l->repo ? l->repo : "");
        bind_text(st, 4, l->path);
        bind_text(st, 5, l->commit ? l->commit : "");
        bind_text(st, 6, l->author_name);
        bind_text(st, 7, l->author_email);
        bind_text(st, 8, l->author_date);
        bind_text(st, 9, l->committer_date);
        bind_text(st, 10, l->ref);
        sqlite3_bind_int64(st, 11, run_id);
        bind_text(st, 12, l->mtime);
        bind_text(st, 13, l->ci_run);
        bind_text(st, 14, l->ci_job);
        bind_text(st, 15, l->ci_step);
        if ((rc = step_done(s, st, "recording a location"))) return rc;
    }
    return FR_OK;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* fr_store_each_finding and fr_store_summary: query.c. */

int fr_store_each_rule(fr_store *s, fr_rule_cb cb, void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, name, description, severity, confidence, attack, refs,"
                           " kind, attack_version FROM rules ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading rules");
    int rc = FR_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        fr_rule_meta r = {col_text(st, 0), col_text(st, 1), col_text(st, 2),
                          col_text(st, 3), col_text(st, 4), col_text(st, 5),
                          col_text(st, 6), col_text(st, 7), col_text(st, 8)};
        if ((rc = cb(&r, ctx))) break;
    }
    sqlite3_finalize(st);
    return rc;
}

int fr_store_last_run(fr_store *s, fr_run_row *out)
{
    sqlite3_finalize(s->last_run);
    s->last_run = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, started_at, finished_at, targets, status, note,"
                           " items_scanned, items_skipped, items_failed, bytes_scanned, matches,"
                           " new_findings FROM runs ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading runs");
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return FR_ENOTFOUND;
    }
    out->id = sqlite3_column_int64(st, 0);
    out->started_at = col_text(st, 1);
    out->finished_at = col_text(st, 2);
    out->targets = col_text(st, 3);
    out->status = col_text(st, 4);
    out->note = col_text(st, 5);
    out->counts.scanned = (uint64_t)sqlite3_column_int64(st, 6);
    out->counts.skipped = (uint64_t)sqlite3_column_int64(st, 7);
    out->counts.failed = (uint64_t)sqlite3_column_int64(st, 8);
    out->counts.bytes = (uint64_t)sqlite3_column_int64(st, 9);
    out->counts.matches = (uint64_t)sqlite3_column_int64(st, 10);
    out->counts.new_findings = (uint64_t)sqlite3_column_int64(st, 11);
    s->last_run = st;
    return FR_OK;
}

int fr_store_each_skipped(fr_store *s, fr_skipped_cb cb, void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT c.status, c.reason, l.source_kind, l.repo, l.path, c.size"
                           " FROM content c JOIN locations l ON l.content_id = c.id"
                           " WHERE c.status != 'scanned' ORDER BY l.repo, l.path",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading skipped content");
    int rc = FR_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if ((rc = cb(col_text(st, 0), col_text(st, 1), col_text(st, 2), col_text(st, 3),
                     col_text(st, 4), (uint64_t)sqlite3_column_int64(st, 5), ctx)))
            break;
    }
    sqlite3_finalize(st);
    return rc;
}

int fr_store_repo_state(fr_store *s, const char *repo, char fingerprint[65], char rules_hash[65])
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT fingerprint, rules_hash FROM repos WHERE path = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading repository state");
    bind_text(st, 1, repo);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(fingerprint, 65, "%s", col_text(st, 0));
        snprintf(rules_hash, 65, "%s", col_text(st, 1));
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return FR_ENOTFOUND;
    return rc == SQLITE_ROW ? FR_OK : sql_error(s, "reading repository state");
}

int fr_store_set_repo_state(fr_store *s, const char *repo, const char *fingerprint,
                            const char *rules_hash, int64_t run_id)
{
    int rc = fr_store_flush(s);
    if (rc) return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO repos (path, fingerprint, rules_hash, last_run)"
                           " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (path) DO UPDATE SET"
                           " fingerprint = excluded.fingerprint, rules_hash = excluded.rules_hash,"
                           " last_run = excluded.last_run",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "saving repository state");
    bind_text(st, 1, repo);
    bind_text(st, 2, fingerprint);
    bind_text(st, 3, rules_hash);
    sqlite3_bind_int64(st, 4, run_id);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? FR_OK : sql_error(s, "saving repository state");
}

int fr_store_each_known(fr_store *s, const char *prefix, const char *rules_hash, fr_known_cb cb,
                        void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT key, EXISTS (SELECT 1 FROM matches WHERE content_id = c.id)"
                           " FROM content c WHERE key >= ?1 AND key < ?1 || x'ff'"
                           " AND status = 'scanned' AND rules_hash = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading scanned content");
    bind_text(st, 1, prefix);
    bind_text(st, 2, rules_hash);
    int rc = FR_OK, step;
    size_t plen = strlen(prefix);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = cb(col_text(st, 0) + plen, sqlite3_column_int(st, 1), ctx))) break;
    }
    if (rc == FR_OK && step != SQLITE_DONE) rc = sql_error(s, "reading scanned content");
    sqlite3_finalize(st);
    return rc;
}

int fr_store_known_one(fr_store *s, const char *key, const char *rules_hash, int *has_matches)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT EXISTS (SELECT 1 FROM matches WHERE content_id = c.id)"
                           " FROM content c WHERE key = ?1 AND status = 'scanned'"
                           " AND rules_hash = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading scanned content");
    bind_text(st, 1, key);
    bind_text(st, 2, rules_hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *has_matches = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return FR_ENOTFOUND;
    return rc == SQLITE_ROW ? FR_OK : sql_error(s, "reading scanned content");
}

int fr_store_each_walked(fr_store *s, const char *repo, const char *rules_hash, fr_walked_cb cb,
                         void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT kind, name, oid FROM git_walked WHERE repo = ?1"
                           " AND rules_hash = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading walked tips");
    bind_text(st, 1, repo);
    bind_text(st, 2, rules_hash);
    int rc = FR_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = cb(col_text(st, 0), col_text(st, 1), col_text(st, 2), ctx))) break;
    if (rc == FR_OK && step != SQLITE_DONE) rc = sql_error(s, "reading walked tips");
    sqlite3_finalize(st);
    return rc;
}

/* fr_store_set_walked and fr_store_edit_walked: one transaction that runs
 * `clear` (?1 repo, ?2 rules_hash) and then deletes row i where del && del[i]
 * and inserts it otherwise. */
static int save_walked(fr_store *s, const char *clear, const char *repo, const char *rules_hash,
                       const char *const *kinds, const char *const *names, const char *const *oids,
                       const unsigned char *del, size_t n)
{
    int rc = fr_store_flush(s);
    if (rc) return rc;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sql_error(s, "saving walked tips");
    sqlite3_stmt *cl = NULL, *dst = NULL, *ins = NULL;
    rc = FR_OK;
    if (sqlite3_prepare_v2(s->db, clear, -1, &cl, NULL) ||
        sqlite3_prepare_v2(s->db,
                           "DELETE FROM git_walked WHERE repo = ?1 AND kind = ?2 AND name = ?3"
                           " AND oid = ?4",
                           -1, &dst, NULL) ||
        sqlite3_prepare_v2(s->db,
                           "INSERT OR IGNORE INTO git_walked (repo, kind, name, oid, rules_hash)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &ins, NULL)) {
        rc = FR_ERR;
    } else {
        bind_text(cl, 1, repo);
        if (sqlite3_bind_parameter_count(cl) >= 2) bind_text(cl, 2, rules_hash);
        if (sqlite3_step(cl) != SQLITE_DONE) rc = FR_ERR;
        for (size_t i = 0; i < n && rc == FR_OK; i++) {
            int d = del && del[i];
            sqlite3_stmt *st = d ? dst : ins;
            sqlite3_reset(st);
            bind_text(st, 1, repo);
            bind_text(st, 2, kinds[i]);
            bind_text(st, 3, names[i]);
            bind_text(st, 4, oids[i]);
            if (!d) bind_text(st, 5, rules_hash);
            if (sqlite3_step(st) != SQLITE_DONE) rc = FR_ERR;
        }
    }
    if (rc) sql_error(s, "saving walked tips");
    sqlite3_finalize(cl);
    sqlite3_finalize(dst);
    sqlite3_finalize(ins);
    if (sqlite3_exec(s->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !rc)
        rc = sql_error(s, "saving walked tips");
    return rc;
}

int fr_store_set_walked(fr_store *s, const char *repo, const char *rules_hash,
                        const char *const *kinds, const char *const *names, const char *const *oids,
                        size_t n)
{
    return save_walked(s, "DELETE FROM git_walked WHERE repo = ?1", repo, rules_hash, kinds, names,
                       oids, NULL, n);
}

int fr_store_edit_walked(fr_store *s, const char *repo, const char *rules_hash,
                         const char *const *kinds, const char *const *names,
                         const char *const *oids, const unsigned char *del, size_t n)
{
    return save_walked(s,
                       "DELETE FROM git_walked WHERE repo = ?1 AND (rules_hash IS NOT ?2"
                       " OR kind NOT IN ('tip', 'pack', 'hide'))",
                       repo, rules_hash, kinds, names, oids, del, n);
}

int fr_store_touch_repo(fr_store *s, const char *repo, int64_t run_id)
{
    int rc = fr_store_flush(s);
    if (rc) return rc;
    static const char *const sql[] = {
        "UPDATE locations SET last_run = ?2 WHERE repo = ?1",
        "INSERT OR IGNORE INTO temp.seen (run_id, finding_id) SELECT DISTINCT ?2, m.finding_id"
        " FROM locations l JOIN matches m ON m.content_id = l.content_id WHERE l.repo = ?1",
    };
    for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) != SQLITE_OK)
            return sql_error(s, "updating locations");
        bind_text(st, 1, repo);
        sqlite3_bind_int64(st, 2, run_id);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return sql_error(s, "updating locations");
    }
    return FR_OK;
}

int fr_store_findings_in_run(fr_store *s, int64_t run_id, uint64_t *n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM temp.seen WHERE run_id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_error(s, "counting findings");
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? FR_OK : sql_error(s, "counting findings");
}

int fr_store_file_unchanged(fr_store *s, const char *path, uint64_t size, int64_t mtime_ns,
                            const char *rules_hash, char *out, size_t outsz)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT content_key FROM files WHERE path = ?1 AND size = ?2"
                           " AND mtime_ns = ?3 AND rules_hash = ?4",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading files");
    bind_text(st, 1, path);
    sqlite3_bind_int64(st, 2, (int64_t)size);
    sqlite3_bind_int64(st, 3, mtime_ns);
    bind_text(st, 4, rules_hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) snprintf(out, outsz, "%s", col_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return FR_OK;
    return rc == SQLITE_DONE ? FR_ENOTFOUND : sql_error(s, "reading files");
}

int fr_store_each_wt_stat(fr_store *s, const char *prefix, fr_wt_stat_cb cb, void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT path, size, mtime_ns, ctime_ns, ino, mode, checked_ns, oid"
                           " FROM worktree_stat WHERE path >= ?1 AND path < ?1 || x'ff'",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "reading the work-tree stat cache");
    bind_text(st, 1, prefix);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t v[6];
        for (int i = 0; i < 6; i++)
            v[i] = sqlite3_column_int64(st, i + 1);
        cb(ctx, col_text(st, 0), v, col_text(st, 7));
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? FR_OK : sql_error(s, "reading the work-tree stat cache");
}

int fr_store_put_wt_stat(fr_store *s, const char *path, const int64_t v[6], const char *oid)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO worktree_stat (path, size, mtime_ns, ctime_ns,"
                           " ino, mode, checked_ns, oid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "saving the work-tree stat cache");
    bind_text(st, 1, path);
    for (int i = 0; i < 6; i++)
        sqlite3_bind_int64(st, i + 2, v[i]);
    bind_text(st, 8, oid);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? FR_OK : sql_error(s, "saving the work-tree stat cache");
}
