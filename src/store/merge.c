/*
 * merge.c: sharded runs and folding stores into one (ferret merge). Each input
 * is checked on a read-only connection of its own (a ferret store, the same
 * schema steps, the same rules, a complete set of shards), then ATTACHed to the
 * organisation store and copied with SQL in ONE transaction: an interrupted
 * merge leaves the organisation store as it was. Rows are matched on their
 * natural keys (runs by uid, content by key, findings by rule and secret,
 * locations by content, kind, repo and path), so merging an input twice
 * changes nothing; finding ids are recomputed under the organisation's key.
 */
#include "store/store.h"

#include "store/store_int.h"
#include "util/util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FERRET_APP_ID 1179800148
/* SQLite attaches at most 10 databases: inputs beyond this many are first
 * merged into a staging store, which is then merged in one transaction. */
#define MAX_ATTACH 8

int fr_store_run_shard(fr_store *s, int64_t run_id, uint32_t index, uint32_t count, const char *set)
{
    sqlite3 *db = fr_store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "UPDATE runs SET shard_index = ?2, shard_count = ?3, shard_set ="
                           " coalesce(?4, 'targets:' || substr(fr_hmac(targets || ' ' || ?3),"
                           " 1, 16)) WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return fr_store_sql_error(s, "recording the shard");
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, index);
    sqlite3_bind_int64(st, 3, count);
    if (set)
        sqlite3_bind_text(st, 4, set, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 4);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? FR_OK : fr_store_sql_error(s, "recording the shard");
}

/* ------------------------------------------------------------ checks ---- */

typedef struct {
    const char *path;
    char *migrations; /* names of its schema steps, sorted, ',' separated */
    char *rules_hash; /* of its latest run (NULL: no run) */
    char *set;        /* its latest sharded run's set (NULL: none) */
    int64_t set_count;
} input_info;

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return v ? fr_xstrdup((const char *)v) : NULL;
}

/* One text value (NULL when no row or the query fails: an older schema). */
static char *query_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    if (sqlite3_step(st) == SQLITE_ROW) out = col_dup(st, 0);
    sqlite3_finalize(st);
    return out;
}

static char *our_migrations(void)
{
    /* sorted like group_concat over ORDER BY name (names are ASCII) */
    const char **v = fr_xcalloc(fr_nmigrations + 1, sizeof *v);
    for (size_t i = 0; i < fr_nmigrations; i++)
        v[i] = fr_migrations[i].name;
    for (size_t i = 1; i < fr_nmigrations; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    fr_buf b = {0};
    fr_buf_puts(&b, "");
    for (size_t i = 0; i < fr_nmigrations; i++)
        fr_buf_printf(&b, "%s%s", i ? "," : "", v[i]);
    free(v);
    return fr_buf_steal(&b);
}

/* Reads what the checks need from path, on a read-only connection. */
static int inspect(const char *path, input_info *in)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fr_error_set("%s: no such database file", path);
        return FR_ENOTFOUND;
    }
    sqlite3 *db = NULL;
    int rc = FR_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fr_error_set("%s: cannot open: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return FR_ERR;
    }
    sqlite3_busy_timeout(db, 5000);
    char *appid = query_text(db, "PRAGMA application_id");
    char *version = query_text(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (!appid && sqlite3_extended_errcode(db) == SQLITE_READONLY_ROLLBACK) {
        /* an organisation store whose merge was killed, given as an input */
        fr_error_set("%s: holds an interrupted merge's journal: open it once with ferret"
                     " (ferret report rolls it back)",
                     path);
        rc = FR_ERR;
    } else if (!appid || atoll(appid) != FERRET_APP_ID || !version || strcmp(version, "1") != 0) {
        fr_error_set("%s: not a ferret database (or one of another schema version)", path);
        rc = FR_ECORRUPT;
    } else {
        in->migrations = query_text(
            db, "SELECT group_concat(name, ',') FROM (SELECT name FROM migrations ORDER BY name)");
        if (!in->migrations) in->migrations = fr_xstrdup("");
        in->rules_hash = query_text(db, "SELECT rules_hash FROM runs ORDER BY id DESC LIMIT 1");
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db,
                               "SELECT shard_set, shard_count FROM runs WHERE shard_count IS NOT"
                               " NULL ORDER BY id DESC LIMIT 1",
                               -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) {
                in->set = col_dup(st, 0);
                in->set_count = sqlite3_column_int64(st, 1);
            }
            sqlite3_finalize(st);
        }
    }
    free(appid);
    free(version);
    sqlite3_close(db);
    return rc;
}

/* Every shard of every set an input belongs to must have a complete run in an
 * input or (for a named set) in the organisation store already. */
static int check_sets(sqlite3 *org, input_info *in, size_t n, int allow, fr_buf *problems)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in[i].set) continue;
        int seen_before = 0;
        for (size_t j = 0; j < i; j++)
            if (in[j].set && !strcmp(in[j].set, in[i].set) && in[j].set_count == in[i].set_count)
                seen_before = 1;
        if (seen_before) continue;
        int64_t count = in[i].set_count;
        /* per shard index: 0 no run, 1 a run not complete, 2 complete */
        unsigned char *state = fr_xcalloc((size_t)count, 1);
        char **where = fr_xcalloc((size_t)count, sizeof *where);
        int named = strncmp(in[i].set, "targets:", 8) != 0;
        for (size_t j = 0; j <= n; j++) {
            sqlite3 *db = org;
            if (j < n) {
                if (sqlite3_open_v2(in[j].path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
                    sqlite3_close(db);
                    continue;
                }
                sqlite3_busy_timeout(db, 5000);
            } else if (!named) {
                break; /* a set named after its targets: other nights' runs share the name */
            }
            sqlite3_stmt *st;
            if (sqlite3_prepare_v2(db,
                                   "SELECT shard_index, status, id FROM runs WHERE shard_set = ?1"
                                   " AND shard_count = ?2",
                                   -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, in[i].set, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, count);
                while (sqlite3_step(st) == SQLITE_ROW) {
                    int64_t k = sqlite3_column_int64(st, 0);
                    if (k < 0 || k >= count) continue;
                    const char *status = (const char *)sqlite3_column_text(st, 1);
                    int s = status && !strcmp(status, "complete") ? 2 : 1;
                    if (s > state[k]) state[k] = (unsigned char)s;
                    if (s == 1 && state[k] == 1 && j < n) {
                        free(where[k]);
                        fr_buf w = {0};
                        fr_buf_printf(&w, "%s, run %lld %s", in[j].path,
                                      (long long)sqlite3_column_int64(st, 2), status);
                        where[k] = fr_buf_steal(&w);
                    }
                }
                sqlite3_finalize(st);
            }
            if (j < n) sqlite3_close(db);
        }
        for (int64_t k = 0; k < count; k++) {
            if (state[k] == 2) continue;
            bad = 1;
            if (state[k] == 1)
                fr_buf_printf(problems, "%sshard %lld/%lld of set %s is incomplete (%s)",
                              problems->len ? "; " : "", (long long)k, (long long)count, in[i].set,
                              where[k] ? where[k] : "not complete");
            else
                fr_buf_printf(problems, "%sshard %lld/%lld of set %s is missing",
                              problems->len ? "; " : "", (long long)k, (long long)count, in[i].set);
        }
        for (int64_t k = 0; k < count; k++)
            free(where[k]);
        free(where);
        free(state);
    }
    return bad && !allow;
}

/* ------------------------------------------------------------- copy ---- */

/* The copy of one attached input ("src") into main, inside the caller's
 * transaction. Only rows of runs new to main are read: a row's run column
 * (content.run_id, findings/locations/files/repos.last_run; matches go with
 * their content) moves whenever a scan records it again, so the rows of a run
 * main already holds, finished, were merged before — a shard store kept from
 * night to night costs a merge what the night added. Later runs win a row's mutable state (status,
 * mtime, size); first/last seen are the minimum and maximum over all inputs. Rows go in in the
 * order of the index they land in, so its pages are filled in sequence. */
static const char *const COPY_SQL[] = {
    "CREATE TEMP TABLE IF NOT EXISTS mrun (src INTEGER PRIMARY KEY, dst INTEGER NOT NULL,"
    " new INTEGER NOT NULL);"
    " CREATE TEMP TABLE IF NOT EXISTS mold (src INTEGER PRIMARY KEY);"
    " CREATE TEMP TABLE IF NOT EXISTS mfinding (src INTEGER PRIMARY KEY, dst INTEGER NOT NULL);"
    " DELETE FROM temp.mrun; DELETE FROM temp.mfinding;"
    /* runs the organisation already holds, finished: their rows were merged */
    " DELETE FROM temp.mold; INSERT INTO temp.mold SELECT r.id FROM src.runs r"
    " JOIN main.runs m ON m.uid = r.uid WHERE m.status <> 'running';",
    /* runs: once each (by uid); a run merged while it was still running gets
     * its end */
    "INSERT INTO main.runs (started_at, finished_at, targets, rules_hash, status, items_scanned,"
    " items_skipped, items_failed, bytes_scanned, matches, new_findings, note, uid, shard_index,"
    " shard_count, shard_set, origin)"
    " SELECT r.started_at, r.finished_at, r.targets, r.rules_hash, r.status, r.items_scanned,"
    " r.items_skipped, r.items_failed, r.bytes_scanned, r.matches, r.new_findings, r.note, r.uid,"
    " r.shard_index, r.shard_count, r.shard_set, coalesce(r.origin, :origin)"
    " FROM src.runs r WHERE NOT EXISTS (SELECT 1 FROM main.runs m WHERE m.uid = r.uid)"
    " ORDER BY r.id",
    "UPDATE main.runs SET finished_at = r.finished_at, status = r.status,"
    " items_scanned = r.items_scanned, items_skipped = r.items_skipped,"
    " items_failed = r.items_failed, bytes_scanned = r.bytes_scanned, matches = r.matches,"
    " new_findings = r.new_findings, note = r.note"
    " FROM src.runs r WHERE r.uid = main.runs.uid AND main.runs.status = 'running'"
    " AND r.status <> 'running'",
    "INSERT INTO temp.mrun SELECT r.id, m.id, r.id NOT IN (SELECT src FROM temp.mold)"
    " FROM src.runs r JOIN main.runs m ON m.uid = r.uid",
    "INSERT INTO main.rules (id, name, description, severity, confidence, attack, refs, kind,"
    " attack_version)"
    " SELECT id, name, description, severity, confidence, attack, refs, kind, attack_version"
    " FROM src.rules WHERE 1"
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,"
    " severity = excluded.severity, confidence = excluded.confidence, attack = excluded.attack,"
    " refs = excluded.refs, kind = excluded.kind, attack_version = excluded.attack_version",
    /* content (FEED_SELECT / FEED_INSERT) is merged here, between the
     * runs and the findings */
    "INSERT INTO main.findings (rule_id, secret_sha256, preview, secret, validated, first_seen,"
    " last_seen, first_run, last_run, fid, kind)"
    " SELECT f.rule_id, f.secret_sha256, f.preview, f.secret, f.validated, f.first_seen,"
    " f.last_seen, r1.dst, r2.dst, fr_fid(f.rule_id, f.secret_sha256), f.kind FROM src.findings f"
    " JOIN temp.mrun r1 ON r1.src = f.first_run JOIN temp.mrun r2 ON r2.src = f.last_run"
    " AND r2.new WHERE 1 ORDER BY f.rule_id, f.secret_sha256 ON CONFLICT (rule_id, secret_sha256) "
    "DO UPDATE SET"
    " first_run = CASE WHEN excluded.first_seen < findings.first_seen THEN excluded.first_run"
    " ELSE findings.first_run END, first_seen = min(findings.first_seen, excluded.first_seen),"
    " last_run = CASE WHEN excluded.last_seen > findings.last_seen THEN excluded.last_run"
    " ELSE findings.last_run END, last_seen = max(findings.last_seen, excluded.last_seen),"
    " secret = coalesce(findings.secret, excluded.secret),"
    " validated = max(findings.validated, excluded.validated)",
    "INSERT INTO temp.mfinding SELECT f.id, m.id FROM src.findings f"
    " JOIN main.findings m ON m.rule_id = f.rule_id AND m.secret_sha256 = f.secret_sha256"
    " WHERE f.last_run IN (SELECT src FROM temp.mrun WHERE new)",
    /* incremental state: what was read, as of the latest run that read it */
    "INSERT INTO main.files (path, size, mtime_ns, content_key, rules_hash, last_run)"
    " SELECT f.path, f.size, f.mtime_ns, f.content_key, f.rules_hash, r.dst FROM src.files f"
    " JOIN temp.mrun r ON r.src = f.last_run AND r.new WHERE 1"
    " ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,"
    " content_key = excluded.content_key, rules_hash = excluded.rules_hash,"
    " last_run = excluded.last_run WHERE excluded.last_run > files.last_run",
    "INSERT INTO main.repos (path, fingerprint, rules_hash, last_run)"
    " SELECT g.path, g.fingerprint, g.rules_hash, r.dst FROM src.repos g"
    " JOIN temp.mrun r ON r.src = g.last_run AND r.new WHERE 1"
    " ON CONFLICT (path) DO UPDATE SET fingerprint = excluded.fingerprint,"
    " rules_hash = excluded.rules_hash, last_run = excluded.last_run"
    " WHERE excluded.last_run > repos.last_run",
};

/* COPY_SQL's steps copy_one treats apart */
/* COPY_SQL's steps copy_one treats apart; the content goes in before
 * STEP_FINDINGS */
enum { STEP_RUNS = 1, STEP_FINDINGS = 5 };

/* Tables other features add (by their migrations): copied when both stores
 * have them. Triage is keyed by finding id: an input's ids are mapped to the
 * organisation's through its findings (ids of stores with another key
 * differ); a verdict set later wins; the log is a union. */
static const struct {
    const char *table, *sql;
} OPTIONAL_SQL[] = {
    {"git_walked", "DELETE FROM main.git_walked WHERE repo IN (SELECT g.repo FROM src.git_walked g"
                   " JOIN src.repos r ON r.path = g.repo JOIN temp.mrun m ON m.src = r.last_run"
                   " JOIN main.repos o ON o.path = r.path AND o.last_run = m.dst);"
                   " INSERT OR IGNORE INTO main.git_walked (repo, kind, name, oid, rules_hash)"
                   " SELECT g.repo, g.kind, g.name, g.oid, g.rules_hash FROM src.git_walked g"
                   " WHERE NOT EXISTS (SELECT 1 FROM main.git_walked x WHERE x.repo = g.repo)"},
    {"triage",
     "CREATE TEMP TABLE IF NOT EXISTS mfid (src TEXT PRIMARY KEY, dst TEXT NOT NULL);"
     " DELETE FROM temp.mfid;"
     /* the ids triage, its log and the baseline name, no other (an id is an HMAC) */
     " INSERT OR IGNORE INTO temp.mfid SELECT f.fid, fr_fid(f.rule_id, f.secret_sha256)"
     " FROM src.findings f WHERE f.fid IN (SELECT fid FROM src.triage UNION"
     " SELECT fid FROM src.triage_log UNION SELECT fid FROM src.baseline);"
     " INSERT INTO main.triage (fid, status, comment, who, at, run_id)"
     " SELECT coalesce(m.dst, t.fid), t.status, t.comment, t.who, t.at,"
     " coalesce((SELECT dst FROM temp.mrun WHERE src = t.run_id), 0)"
     " FROM src.triage t LEFT JOIN temp.mfid m ON m.src = t.fid WHERE 1"
     " ON CONFLICT (fid) DO UPDATE SET status = excluded.status, comment = excluded.comment,"
     " who = excluded.who, at = excluded.at, run_id = excluded.run_id"
     " WHERE excluded.at > triage.at"},
    {"triage_log",
     "INSERT INTO main.triage_log (fid, status, comment, who, at)"
     " SELECT coalesce(m.dst, t.fid), t.status, t.comment, t.who, t.at FROM src.triage_log t"
     " LEFT JOIN temp.mfid m ON m.src = t.fid WHERE NOT EXISTS (SELECT 1 FROM main.triage_log x"
     " WHERE x.fid = coalesce(m.dst, t.fid) AND x.at = t.at AND x.status = t.status"
     " AND x.who = t.who AND x.comment IS t.comment) ORDER BY t.id"},
    /* Masking-bypass prints are keyed by the input's key: under another key
     * they never match (dead rows, no false hits); under the same key they let
     * the organisation store's sweeps find the shards' secrets. */
    {"mask_prints", "INSERT OR IGNORE INTO main.mask_prints (finding_id, length, rk, tag)"
                    " SELECT f.dst, p.length, p.rk, p.tag FROM src.mask_prints p"
                    " JOIN temp.mfinding f ON f.src = p.finding_id"},
    {"baseline", "INSERT OR IGNORE INTO main.baseline (fid, reason, expires, source)"
                 " SELECT coalesce(m.dst, b.fid), b.reason, b.expires, b.source FROM src.baseline b"
                 " LEFT JOIN temp.mfid m ON m.src = b.fid"},
    /* Work trees' stat cache (0008): rows name files of the machine that
     * scanned (a row matches only a file of the same inode, ctime and mtime);
     * the later look at a path wins. */
    {"worktree_stat",
     "INSERT INTO main.worktree_stat (path, size, mtime_ns, ctime_ns, ino, mode, checked_ns, oid)"
     " SELECT path, size, mtime_ns, ctime_ns, ino, mode, checked_ns, oid FROM src.worktree_stat"
     " WHERE 1 ON CONFLICT (path) DO UPDATE SET size = excluded.size,"
     " mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, ino = excluded.ino,"
     " mode = excluded.mode, checked_ns = excluded.checked_ns, oid = excluded.oid"
     " WHERE excluded.checked_ns > worktree_stat.checked_ns"},
};

static int has_table(sqlite3 *db, const char *schema, const char *table)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s.sqlite_master WHERE type = 'table' AND name = '%s'",
             schema, table);
    char *v = query_text(db, sql);
    free(v);
    return v != NULL;
}

static int count_rows(sqlite3 *db, const char *sql, uint64_t *out)
{
    char *v = query_text(db, sql);
    if (v) *out += (uint64_t)atoll(v);
    free(v);
    return FR_OK;
}

/* sql with every "src." replaced by "<name>.": the schema of one attached input. */
static char *for_input(const char *sql, const char *name)
{
    fr_buf b = {0};
    for (const char *p = sql; *p;) {
        const char *q = strstr(p, "src.");
        if (!q) {
            fr_buf_puts(&b, p);
            break;
        }
        fr_buf_append(&b, p, (size_t)(q - p));
        fr_buf_printf(&b, "%s.", name);
        p = q + 4;
    }
    return fr_buf_steal(&b);
}

static int exec_for(fr_store *s, const char *sql, const char *name)
{
    char *q = for_input(sql, name);
    int rc = sqlite3_exec(fr_store_db(s), q, NULL, NULL, NULL);
    free(q);
    return rc == SQLITE_OK ? FR_OK : fr_store_sql_error(s, "merging");
}

static void count_for(sqlite3 *db, const char *sql, const char *name, uint64_t *out)
{
    char *q = for_input(sql, name);
    count_rows(db, q, out);
    free(q);
}

/* The merge writes with CHECKs off (merge_batch): an input's rows are checked
 * against them here instead, a query per table (the lists are schema.sql's
 * and 0002-triage's), so that a damaged or hand-edited input is refused as
 * before rather than copied. */
static const char CHECK_SQL[] =
    "SELECT EXISTS (SELECT 1 FROM src.content WHERE status IS NULL OR status NOT IN"
    " ('scanned', 'skipped', 'error')) OR EXISTS (SELECT 1 FROM src.runs WHERE status IS NULL"
    " OR status NOT IN ('running', 'complete', 'incomplete'))";
static const char CHECK_TRIAGE_SQL[] =
    "SELECT EXISTS (SELECT 1 FROM src.triage WHERE status IS NULL OR status NOT IN"
    " ('open', 'accepted', 'false-positive', 'revoked'))";

static int check_input(fr_store *s, const char *name, const char *origin)
{
    sqlite3 *db = fr_store_db(s);
    uint64_t bad = 0;
    for (int i = 0; i < 2; i++) {
        if (i && !has_table(db, name, "triage")) break;
        char *q = for_input(i ? CHECK_TRIAGE_SQL : CHECK_SQL, name);
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
        free(q);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            bad += (uint64_t)sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK) {
            rc = fr_store_sql_error(s, "checking an input");
            fr_error_set("%s (%s)", fr_error(), origin);
            return rc;
        }
    }
    if (bad) {
        fr_error_set("%s: a row breaks the store's CHECK constraints (a status outside its"
                     " list): not merged",
                     origin);
        return FR_ERR;
    }
    return FR_OK;
}

/* ------------------------------------------------------------ feed ---- */

/* Content, matches and locations, most of a merge's rows, are read from
 * each input, mapped to the organisation's ids and sorted into the order of
 * the indexes they land in by a second thread, on read-only connections of
 * its own to the inputs, while the main connection only writes them (the
 * reading and ordering was about 40% of a merge's work, on one thread). The
 * main connection maps an input's runs, hands the map over, upserts the
 * content rows the thread streams in key order, reads the content map back
 * from the keys the thread streams, merges the findings, hands those maps
 * over and inserts the matches and locations the thread streams. The
 * thread's rows travel in chunks through a bounded queue and are read
 * through eponymous virtual tables (fr_feed_*), one INSERT … SELECT each,
 * in the same transaction as before; the thread writes nothing, so an
 * interrupted merge still leaves ORG as it was. Rows whose content, finding
 * or runs the maps leave out are dropped, as the joins on the temporary
 * maps dropped them. Both threads take the tasks in one order (feed_init's
 * schedule); the thread reads and sorts input i-1's matches and locations
 * while the main connection merges input i's content and findings. */

typedef struct {
    int64_t *src, *dst; /* sorted by src */
    size_t n;
} idmap;

/* 1: *dst set; 0: src is not mapped */
static int idmap_get(const idmap *m, int64_t src, int64_t *dst)
{
    if (!m->n) return 0;
    size_t lo = 0, hi = m->n;
    int64_t i0 = src - m->src[0];
    if (i0 >= 0 && (uint64_t)i0 < m->n && m->src[i0] == src) { /* dense ids */
        *dst = m->dst[i0];
        return 1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->src[mid] < src)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->n && m->src[lo] == src) {
        *dst = m->dst[lo];
        return 1;
    }
    return 0;
}

static void idmap_release(idmap *m)
{
    free(m->src);
    free(m->dst);
    memset(m, 0, sizeof *m);
}

/* Reads "SELECT src, dst FROM …" (in src order) into m. */
static int idmap_load(sqlite3 *db, const char *sql, idmap *m)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return SQLITE_ERROR;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (m->n == cap) {
            cap = cap ? 2 * cap : 1024;
            m->src = fr_xrealloc(m->src, cap * sizeof *m->src);
            m->dst = fr_xrealloc(m->dst, cap * sizeof *m->dst);
        }
        m->src[m->n] = sqlite3_column_int64(st, 0);
        m->dst[m->n++] = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
}

typedef struct {
    idmap content, finding, run, new_run; /* new_run: runs new to ORG only */
    int all_new;                          /* every run of the input is new to ORG */
    /* ORG's content ids this input's content task inserted or rewrote
     * (sorted; its RETURNING rows), once its content is merged */
    int64_t *touched;
    size_t ntouched;
    /* fused (ORG reader, every run new): the thread's content task also
     * made the content map - pairs of the keys ORG held (pre: src, dst in
     * the thread's order) and the keys to look up on the main connection
     * (pending: per key its 8-byte id, 4-byte length and bytes) - and its
     * keys task sends no rows */
    int fused;
    idmap pre;
    size_t pre_cap;
    fr_buf pending;
} input_maps;

/* What the thread reads for each input, in this order of kinds: the content
 * rows of its new runs (upserted by key), the keys of the content rows the
 * rest refers to (mapped to ORG's ids), its matches, its locations. */
enum { TASK_CONTENT, TASK_KEYS, TASK_MATCHES, TASK_LOCATIONS, TASK_KINDS };
typedef struct {
    size_t input;
    int kind;
} feed_sched;

/* A chunk of rows: per column a tag byte, then 8 bytes (integer, real) or a
 * 4-byte length and the bytes (text, blob). */
enum { COL_NULL, COL_INT, COL_REAL, COL_TEXT, COL_BLOB };
typedef struct feed_chunk {
    struct feed_chunk *next;
    size_t task; /* its index in the schedule */
    int last;    /* the task's last chunk */
    size_t rows;
    fr_buf data;
} feed_chunk;

#define FEED_CHUNK_BYTES (256 * 1024)
#define FEED_QUEUE_BYTES (64 * 1024 * 1024)

struct feed;
/* What fr_touched on input i's connection sees: the inputs before it. */
typedef struct {
    struct feed *f;
    size_t input;
} touch_ctx;

typedef struct feed {
    const char *const *paths;
    size_t n;
    /* ORG's file when the thread answers from it (the content rows ORG
     * already holds, unchanged, and their ids: see FEED_SELECT_ORG), else
     * NULL */
    const char *org;
    touch_ctx *touch;  /* n */
    input_maps *maps;  /* n; the thread reads maps[i] once ready[i] says so */
    feed_sched *sched; /* the tasks, in the order the main thread takes them */
    size_t nsched;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *ready; /* per input: 1 its runs are mapped, 2 all its maps */
    int cancel;           /* the main thread stops the feed */
    int failed;           /* the thread stopped on an error (err) */
    char err[512];
    feed_chunk *head, *tail;
    size_t queued; /* bytes in the queue */
    double cpu;    /* the thread's CPU seconds, when it ended */
} feed;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SQL functions on the thread's connections: an input's id through a map
 * (NULL: not mapped). */
static void sql_map(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t dst;
    if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER &&
        idmap_get(sqlite3_user_data(ctx), sqlite3_value_int64(argv[0]), &dst))
        sqlite3_result_int64(ctx, dst);
    else
        sqlite3_result_null(ctx);
}

/* fr_touched(id): 1 when an earlier input's content task inserted or
 * rewrote ORG's content row id (its maps are there: the thread reads input
 * i's content only once the main connection is past input i-1's). */
static void sql_touched(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const touch_ctx *t = sqlite3_user_data(ctx);
    int64_t id = sqlite3_value_int64(argv[0]);
    int hit = 0;
    for (size_t j = 0; j < t->input && !hit; j++) {
        const input_maps *m = &t->f->maps[j];
        size_t lo = 0, hi = m->ntouched;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (m->touched[mid] < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        hit = lo < m->ntouched && m->touched[lo] == id;
    }
    sqlite3_result_int(ctx, hit);
}

/* What the thread reads, per kind of task: rows in the order of the
 * organisation's unique index of the table. Every table is named with its
 * schema: with ORG attached, an input without one would read ORG's. */
static const char *const FEED_SELECT[TASK_KINDS] = {
    "SELECT * FROM (SELECT key, size, status, reason, rules_hash, fr_mn(run_id) AS r"
    " FROM main.content) WHERE r IS NOT NULL ORDER BY key",
    /* the content of new runs and the content locations of new runs name */
    "SELECT id, key, NULL FROM main.content WHERE fr_mn(run_id) IS NOT NULL OR id IN (SELECT"
    " content_id FROM main.locations WHERE fr_mn(last_run) IS NOT NULL) ORDER BY key",
    "SELECT * FROM (SELECT fr_mc(content_id) AS c, fr_mf(finding_id) AS f, offset, line, col,"
    " transform FROM main.matches) WHERE c IS NOT NULL AND f IS NOT NULL ORDER BY c, f, offset",
    "SELECT * FROM (SELECT fr_mc(content_id) AS c, source_kind, repo, path, commit_id,"
    " author_name, author_email, author_date, committer_date, ref, mtime, ci_run, ci_job,"
    " ci_step, fr_mr(first_run) AS r1, fr_mn(last_run) AS r2 FROM main.locations)"
    " WHERE c IS NOT NULL AND r1 IS NOT NULL AND r2 IS NOT NULL"
    " ORDER BY c, source_kind, repo, path",
};
/* TASK_KEYS when every run is new: all of it, no filter to evaluate */
static const char FEED_SELECT_ALL_KEYS[] = "SELECT id, key, NULL FROM main.content ORDER BY key";
/* With ORG attached (as org, read-only) to the thread's connections, the
 * content rows and keys ORG held before the merge are answered here, off
 * the main connection (97% of a shard's blobs, in the benchmark): a content
 * row ORG holds in the same state is left out (its upsert would change
 * nothing) unless an earlier input of this merge inserted or rewrote that
 * row (fr_touched: the state the upsert compares with may differ then); a
 * key ORG holds comes with its id (ids never change), its text only when
 * the main connection has to look it up (a row new in this merge). ORG's
 * file holds only what it held before the merge until the commit: the
 * merge's cache does not spill meanwhile (merge_batch). */
static const char *const FEED_SELECT_ORG[TASK_MATCHES] = {
    "SELECT key, size, status, reason, rules_hash, r FROM (SELECT c.key AS key, c.size AS size,"
    " c.status AS status, c.reason AS reason, c.rules_hash AS rules_hash,"
    " fr_mn(c.run_id) AS r, o.id AS oid, o.id IS NOT NULL AND (o.size, o.status, o.reason,"
    " o.rules_hash) IS (c.size, c.status, c.reason, c.rules_hash) AS same"
    " FROM main.content c LEFT JOIN org.content o ON o.key = c.key)"
    " WHERE r IS NOT NULL AND NOT (same AND NOT fr_touched(oid)) ORDER BY key",
    "SELECT c.id, CASE WHEN o.id IS NULL THEN c.key END, o.id FROM main.content c"
    " LEFT JOIN org.content o ON o.key = c.key WHERE fr_mn(c.run_id) IS NOT NULL OR c.id IN"
    " (SELECT content_id FROM main.locations WHERE fr_mn(last_run) IS NOT NULL) ORDER BY c.key",
};
/* TASK_CONTENT fused with TASK_KEYS (every run new: the keys are all the
 * content rows): the row's 6 columns, its id, ORG's id, whether it is left
 * out */
static const char FEED_SELECT_ORG_FUSED[] =
    "SELECT c.key, c.size, c.status, c.reason, c.rules_hash, fr_mn(c.run_id), c.id, o.id,"
    " o.id IS NOT NULL AND (o.size, o.status, o.reason, o.rules_hash) IS (c.size, c.status,"
    " c.reason, c.rules_hash) AND NOT fr_touched(o.id)"
    " FROM main.content c LEFT JOIN org.content o ON o.key = c.key ORDER BY c.key";
static const char FEED_SELECT_NONE[] = "SELECT NULL, NULL, NULL WHERE 0";
static const char FEED_SELECT_ORG_ALL_KEYS[] =
    "SELECT c.id, CASE WHEN o.id IS NULL THEN c.key END, o.id FROM main.content c"
    " LEFT JOIN org.content o ON o.key = c.key ORDER BY c.key";
static const int FEED_COLS[TASK_KINDS] = {6, 3, 6, 16};
static const char *const FEED_MODULES[TASK_KINDS] = {"fr_feed_c", "fr_feed_k", "fr_feed_m",
                                                     "fr_feed_l"};
static const char *const TASK_NAMES[TASK_KINDS] = {"content", "content map", "matches",
                                                   "locations"};

/* What the main connection runs, per kind of task. Content: a new key is
 * inserted; a known one is rewritten only when a later run changed its
 * state (an unchanged row keeps the run that last changed it: nothing but a
 * merge reads content.run_id, and a store holding that run holds the row).
 * Keys: read back as (input id, ORG id) pairs, the content map. */
static const char *const FEED_INSERT[TASK_KINDS] = {
    "INSERT INTO main.content (key, size, status, reason, rules_hash, run_id)"
    " SELECT c0, c1, c2, c3, c4, c5 FROM fr_feed_c WHERE 1 ON CONFLICT (key) DO UPDATE SET"
    " size = excluded.size, status = excluded.status, reason = excluded.reason,"
    " rules_hash = excluded.rules_hash, run_id = excluded.run_id"
    " WHERE excluded.run_id > content.run_id AND (excluded.size, excluded.status,"
    " excluded.reason, excluded.rules_hash) IS NOT (content.size, content.status,"
    " content.reason, content.rules_hash) RETURNING id",
    /* c2: ORG's id when the thread knew it; NULL: not in main */
    "SELECT k.c0, coalesce(k.c2, (SELECT m.id FROM main.content m WHERE m.key = k.c1))"
    " FROM fr_feed_k k",
    "INSERT OR IGNORE INTO main.matches (content_id, finding_id, offset, line, col, transform)"
    " SELECT c0, c1, c2, c3, c4, c5 FROM fr_feed_m",
    "INSERT INTO main.locations (content_id, source_kind, repo, path, commit_id, author_name,"
    " author_email, author_date, committer_date, ref, mtime, ci_run, ci_job, ci_step, first_run,"
    " last_run)"
    " SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15 FROM fr_feed_l"
    " WHERE 1 ON CONFLICT (content_id, source_kind, repo, path) DO UPDATE SET"
    " first_run = min(locations.first_run, excluded.first_run),"
    " mtime = CASE WHEN excluded.last_run > locations.last_run"
    " THEN coalesce(excluded.mtime, locations.mtime) ELSE locations.mtime END,"
    " last_run = max(locations.last_run, excluded.last_run)",
};

/* Whether task k's maps were handed over (under f->mu). */
static int task_ready(const feed *f, size_t k);

static void feed_fail(feed *f, const char *what, sqlite3 *db)
{
    pthread_mutex_lock(&f->mu);
    if (!f->failed)
        snprintf(f->err, sizeof f->err, "%s: %s", what, db ? sqlite3_errmsg(db) : "failed");
    f->failed = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* One task being read: its statement stands on a row (SQLITE_ROW) or is done. */
typedef struct {
    size_t task;
    sqlite3_stmt *st;
    int rc;
} feed_task;

/* Opens input i's connection (when its first task starts) and runs the
 * task's query up to its first row: the sort happens here. */
static int feed_start(feed *f, sqlite3 **conns, size_t task, feed_task *t)
{
    size_t i = f->sched[task].input;
    int kind = f->sched[task].kind;
    memset(t, 0, sizeof *t);
    t->task = task;
    if (!conns[i]) {
        /* used by this thread alone: no mutex around every column read
         * (a fifth of the thread's instructions with one) */
        if (sqlite3_open_v2(f->paths[i], &conns[i], SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK) {
            feed_fail(f, f->paths[i], conns[i]);
            return -1;
        }
        sqlite3_busy_timeout(conns[i], 5000);
        input_maps *m = &f->maps[i];
        int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
        if (sqlite3_create_function(conns[i], "fr_mc", 1, fl, &m->content, sql_map, NULL, NULL) ||
            sqlite3_create_function(conns[i], "fr_mf", 1, fl, &m->finding, sql_map, NULL, NULL) ||
            sqlite3_create_function(conns[i], "fr_mr", 1, fl, &m->run, sql_map, NULL, NULL) ||
            sqlite3_create_function(conns[i], "fr_mn", 1, fl, &m->new_run, sql_map, NULL, NULL) ||
            sqlite3_create_function(conns[i], "fr_touched", 1, SQLITE_UTF8, &f->touch[i],
                                    sql_touched, NULL, NULL)) {
            feed_fail(f, f->paths[i], conns[i]);
            return -1;
        }
        if (f->org) {
            sqlite3_stmt *at;
            int arc = sqlite3_prepare_v2(conns[i], "ATTACH DATABASE ?1 AS org", -1, &at, NULL);
            if (arc == SQLITE_OK) {
                sqlite3_bind_text(at, 1, f->org, -1, SQLITE_STATIC);
                arc = sqlite3_step(at) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            }
            sqlite3_finalize(at);
            if (arc == SQLITE_OK)
                sqlite3_exec(conns[i], "PRAGMA org.mmap_size = 4294967296", NULL, NULL, NULL);
            if (arc != SQLITE_OK) {
                feed_fail(f, f->org, conns[i]);
                return -1;
            }
        }
        /* the sorter's temporary data stays in memory, as the main
         * connection's did */
        sqlite3_exec(conns[i],
                     "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;"
                     " PRAGMA mmap_size = 4294967296",
                     NULL, NULL, NULL);
    }
    const char *sql = FEED_SELECT[kind];
    if (f->org && f->maps[i].all_new && !getenv("FERRET_MERGE_NO_FUSE")) {
        f->maps[i].fused = 1; /* read by the main thread after this task's rows */
        if (kind == TASK_CONTENT) sql = FEED_SELECT_ORG_FUSED;
        if (kind == TASK_KEYS) sql = FEED_SELECT_NONE;
    } else if (kind == TASK_KEYS && f->maps[i].all_new)
        sql = f->org ? FEED_SELECT_ORG_ALL_KEYS : FEED_SELECT_ALL_KEYS;
    else if (kind < TASK_MATCHES && f->org)
        sql = FEED_SELECT_ORG[kind];
    if (sqlite3_prepare_v2(conns[i], sql, -1, &t->st, NULL) != SQLITE_OK) {
        feed_fail(f, f->paths[i], conns[i]);
        return -1;
    }
    t->rc = sqlite3_step(t->st);
    if (t->rc != SQLITE_ROW && t->rc != SQLITE_DONE) {
        feed_fail(f, f->paths[i], conns[i]);
        sqlite3_finalize(t->st);
        t->st = NULL;
        return -1;
    }
    return 0;
}

/* Appends the row t stands on to c. */
static void feed_put_row(feed_chunk *c, sqlite3_stmt *st, int ncol)
{
    for (int k = 0; k < ncol; k++) {
        unsigned char tag;
        switch (sqlite3_column_type(st, k)) {
        case SQLITE_INTEGER: {
            int64_t v = sqlite3_column_int64(st, k);
            tag = COL_INT;
            fr_buf_append(&c->data, &tag, 1);
            fr_buf_append(&c->data, &v, 8);
            break;
        }
        case SQLITE_FLOAT: {
            double v = sqlite3_column_double(st, k);
            tag = COL_REAL;
            fr_buf_append(&c->data, &tag, 1);
            fr_buf_append(&c->data, &v, 8);
            break;
        }
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            int text = sqlite3_column_type(st, k) == SQLITE_TEXT;
            const void *p =
                text ? (const void *)sqlite3_column_text(st, k) : sqlite3_column_blob(st, k);
            uint32_t n = (uint32_t)sqlite3_column_bytes(st, k);
            tag = text ? COL_TEXT : COL_BLOB;
            fr_buf_append(&c->data, &tag, 1);
            fr_buf_append(&c->data, &n, 4);
            if (n) fr_buf_append(&c->data, p, n);
            break;
        }
        default:
            tag = COL_NULL;
            fr_buf_append(&c->data, &tag, 1);
        }
    }
    c->rows++;
}

/* A row of FEED_SELECT_ORG_FUSED: its key into the content map (ORG's id
 * or a key to look up), its 6 columns into c unless left out. */
static void fused_row(input_maps *m, feed_chunk *c, sqlite3_stmt *st)
{
    int64_t src = sqlite3_column_int64(st, 6);
    if (sqlite3_column_type(st, 7) == SQLITE_INTEGER) {
        if (m->pre.n == m->pre_cap) {
            m->pre_cap = m->pre_cap ? 2 * m->pre_cap : 4096;
            m->pre.src = fr_xrealloc(m->pre.src, m->pre_cap * sizeof *m->pre.src);
            m->pre.dst = fr_xrealloc(m->pre.dst, m->pre_cap * sizeof *m->pre.dst);
        }
        m->pre.src[m->pre.n] = src;
        m->pre.dst[m->pre.n++] = sqlite3_column_int64(st, 7);
    } else {
        const void *k = sqlite3_column_text(st, 0);
        uint32_t n = (uint32_t)sqlite3_column_bytes(st, 0);
        fr_buf_append(&m->pending, &src, 8);
        fr_buf_append(&m->pending, &n, 4);
        if (n) fr_buf_append(&m->pending, k, n);
    }
    if (sqlite3_column_type(st, 5) != SQLITE_NULL && !sqlite3_column_int(st, 8))
        feed_put_row(c, st, 6);
}

/* Tasks the thread may start (read and sort) ahead of the one it streams. */
#define FEED_AHEAD 3

/* Queues c; 1 when the feed was cancelled meanwhile (c freed). While the
 * queue is full, one of the next FEED_AHEAD tasks whose maps are there is
 * started (its rows read and sorted) instead of waiting. */
static int feed_push(feed *f, feed_chunk *c, sqlite3 **conns, feed_task *ahead)
{
    pthread_mutex_lock(&f->mu);
    for (;;) {
        if (f->cancel) {
            pthread_mutex_unlock(&f->mu);
            fr_buf_release(&c->data);
            free(c);
            return 1;
        }
        if (f->queued < FEED_QUEUE_BYTES || !f->head) break;
        size_t j = 0;
        while (j < FEED_AHEAD && c->task + 1 + j < f->nsched &&
               (ahead[j].st || !task_ready(f, c->task + 1 + j)))
            j++;
        if (j < FEED_AHEAD && c->task + 1 + j < f->nsched) {
            pthread_mutex_unlock(&f->mu);
            if (feed_start(f, conns, c->task + 1 + j, &ahead[j])) {
                fr_buf_release(&c->data);
                free(c);
                return 1;
            }
            pthread_mutex_lock(&f->mu);
            continue;
        }
        pthread_cond_wait(&f->cv, &f->mu);
    }
    c->next = NULL;
    if (f->tail)
        f->tail->next = c;
    else
        f->head = c;
    f->tail = c;
    f->queued += c->data.len;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static void *feed_main(void *arg)
{
    feed *f = arg;
    double c0 = thread_cpu();
    sqlite3 **conns = fr_xcalloc(f->n, sizeof *conns);
    feed_task cur = {0}, ahead[FEED_AHEAD] = {{0}};
    for (size_t task = 0; task < f->nsched; task++) {
        size_t in = f->sched[task].input;
        feed_task first = ahead[0];
        memmove(ahead, ahead + 1, (FEED_AHEAD - 1) * sizeof *ahead);
        memset(&ahead[FEED_AHEAD - 1], 0, sizeof *ahead);
        if (first.st) {
            cur = first;
        } else {
            pthread_mutex_lock(&f->mu);
            while (!f->cancel && !task_ready(f, task))
                pthread_cond_wait(&f->cv, &f->mu);
            int stop = f->cancel;
            pthread_mutex_unlock(&f->mu);
            if (stop || feed_start(f, conns, task, &cur)) break;
        }
        int ncol = FEED_COLS[f->sched[task].kind], stop = 0;
        while (!stop) {
            feed_chunk *c = fr_xcalloc(1, sizeof *c);
            c->task = task;
            fr_buf_reserve(&c->data, FEED_CHUNK_BYTES + 4096);
            int fused = f->sched[task].kind == TASK_CONTENT && f->maps[in].fused;
            while (cur.rc == SQLITE_ROW && c->data.len < FEED_CHUNK_BYTES) {
                if (fused)
                    fused_row(&f->maps[in], c, cur.st);
                else
                    feed_put_row(c, cur.st, ncol);
                cur.rc = sqlite3_step(cur.st);
            }
            if (cur.rc != SQLITE_ROW && cur.rc != SQLITE_DONE) {
                feed_fail(f, f->paths[in], conns[in]);
                fr_buf_release(&c->data);
                free(c);
                stop = 2;
                break;
            }
            c->last = cur.rc == SQLITE_DONE;
            if (feed_push(f, c, conns, ahead)) stop = 2;
            if (cur.rc == SQLITE_DONE) break;
        }
        sqlite3_finalize(cur.st);
        cur.st = NULL;
        if (stop) break;
        /* an input's last task (tasks started ahead are later ones, of
         * other inputs): its connection is no longer needed */
        if (f->sched[task].kind == TASK_LOCATIONS) {
            sqlite3_close(conns[in]);
            conns[in] = NULL;
        }
    }
    for (size_t j = 0; j < FEED_AHEAD; j++)
        sqlite3_finalize(ahead[j].st);
    for (size_t i = 0; i < f->n; i++)
        sqlite3_close(conns[i]);
    free(conns);
    pthread_mutex_lock(&f->mu);
    f->cpu = thread_cpu() - c0;
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static int task_ready(const feed *f, size_t k)
{
    return f->ready[f->sched[k].input] >= (f->sched[k].kind < TASK_MATCHES ? 1 : 2);
}

/* The schedule: input i's content and keys, then input i-1's matches and
 * locations (the thread reads and sorts them while the main connection
 * merges input i's content and findings). */
static void feed_init(feed *f, const char *const *paths, size_t n)
{
    memset(f, 0, sizeof *f);
    f->paths = paths;
    f->n = n;
    f->maps = fr_xcalloc(n ? n : 1, sizeof *f->maps);
    f->touch = fr_xcalloc(n ? n : 1, sizeof *f->touch);
    for (size_t i = 0; i < n; i++)
        f->touch[i] = (touch_ctx){f, i};
    f->ready = fr_xcalloc(n ? n : 1, 1);
    f->sched = fr_xcalloc(4 * n + 1, sizeof *f->sched);
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            f->sched[f->nsched++] = (feed_sched){i, TASK_CONTENT};
            f->sched[f->nsched++] = (feed_sched){i, TASK_KEYS};
        }
        if (i > 0) {
            f->sched[f->nsched++] = (feed_sched){i - 1, TASK_MATCHES};
            f->sched[f->nsched++] = (feed_sched){i - 1, TASK_LOCATIONS};
        }
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
}

static int feed_begin(feed *f)
{
    if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
        fr_error_set("merge: cannot start the feed thread");
        return FR_ERR;
    }
    f->started = 1;
    return FR_OK;
}

/* Stops the thread (if running) and frees everything. */
static void feed_release(feed *f)
{
    if (f->started) {
        pthread_mutex_lock(&f->mu);
        f->cancel = 1;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
        if (getenv("FERRET_MERGE_TRACE"))
            fprintf(stderr, "merge: feed thread: %.2fs cpu\n", f->cpu);
    }
    while (f->head) {
        feed_chunk *c = f->head;
        f->head = c->next;
        fr_buf_release(&c->data);
        free(c);
    }
    for (size_t i = 0; i < f->n; i++) {
        idmap_release(&f->maps[i].content);
        idmap_release(&f->maps[i].finding);
        idmap_release(&f->maps[i].run);
        idmap_release(&f->maps[i].new_run);
        free(f->maps[i].touched);
        idmap_release(&f->maps[i].pre);
        fr_buf_release(&f->maps[i].pending);
    }
    free(f->maps);
    free(f->touch);
    free(f->ready);
    free(f->sched);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
}

/* Hands input i's maps to the thread (the temporary tables copy_one
 * filled): level 1 its runs, level 2 its findings (the content map is the
 * main thread's TASK_KEYS, done by then). */
static int feed_maps(fr_store *s, feed *f, size_t i, int level)
{
    sqlite3 *db = fr_store_db(s);
    input_maps *m = &f->maps[i];
    if (level == 1) {
        uint64_t nold = 0;
        count_rows(db, "SELECT count(*) FROM temp.mold", &nold);
        m->all_new = nold == 0;
        if (idmap_load(db, "SELECT src, dst FROM temp.mrun ORDER BY src", &m->run) ||
            idmap_load(db, "SELECT src, dst FROM temp.mrun WHERE new ORDER BY src", &m->new_run))
            return fr_store_sql_error(s, "merging: reading the id maps");
    } else if (idmap_load(db, "SELECT src, dst FROM temp.mfinding ORDER BY src", &m->finding)) {
        return fr_store_sql_error(s, "merging: reading the id maps");
    }
    pthread_mutex_lock(&f->mu);
    f->ready[i] = (unsigned char)level;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return FR_OK;
}

/* The virtual table the main connection reads the thread's rows through:
 * each scan of it is the next task's rows, in the thread's order. */
typedef struct {
    feed *f;
    int ncol;
    size_t task; /* the task the next scan reads */
} feed_aux;

typedef struct {
    sqlite3_vtab base;
    feed_aux *a;
} feed_vtab;

typedef struct {
    sqlite3_vtab_cursor base;
    feed_chunk *chunk, *done; /* done: the previous chunk (values may point in it) */
    size_t at, row;           /* offset of the current row in chunk, its number */
    int eof;
    size_t task;
    int64_t rowid;
    struct {
        unsigned char tag;
        uint32_t n;
        const char *p;
        int64_t i;
        double d;
    } col[16];
} feed_cursor;

static int feed_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                        sqlite3_vtab **out, char **err)
{
    (void)argc;
    (void)argv;
    (void)err;
    feed_aux *a = aux;
    char sql[256] = "CREATE TABLE x(";
    for (int k = 0; k < a->ncol; k++) {
        size_t len = strlen(sql);
        snprintf(sql + len, sizeof sql - len, "%sc%d", k ? ", " : "", k);
    }
    strcat(sql, ")");
    int rc = sqlite3_declare_vtab(db, sql);
    if (rc != SQLITE_OK) return rc;
    feed_vtab *v = sqlite3_malloc(sizeof *v);
    if (!v) return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    v->a = a;
    *out = &v->base;
    return SQLITE_OK;
}

static int feed_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

static int feed_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    info->estimatedCost = 1e6;
    return SQLITE_OK;
}

static int feed_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    (void)v;
    feed_cursor *c = sqlite3_malloc(sizeof *c);
    if (!c) return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static void chunk_free(feed_chunk *c)
{
    if (!c) return;
    fr_buf_release(&c->data);
    free(c);
}

static int feed_close(sqlite3_vtab_cursor *cur)
{
    feed_cursor *c = (feed_cursor *)cur;
    chunk_free(c->chunk);
    chunk_free(c->done);
    sqlite3_free(c);
    return SQLITE_OK;
}

/* The next chunk of the task (blocking); NULL on a failure (message set). */
static feed_chunk *feed_take(feed_vtab *v, size_t task)
{
    feed *f = v->a->f;
    pthread_mutex_lock(&f->mu);
    while (!f->head && !f->failed)
        pthread_cond_wait(&f->cv, &f->mu);
    feed_chunk *c = f->head;
    if (c && c->task == task) {
        f->head = c->next;
        if (!f->head) f->tail = NULL;
        f->queued -= c->data.len;
        pthread_cond_broadcast(&f->cv);
    } else {
        sqlite3_free(v->base.zErrMsg);
        v->base.zErrMsg = sqlite3_mprintf("reading an input: %s",
                                          f->failed ? f->err : "rows out of order (internal)");
        c = NULL;
    }
    pthread_mutex_unlock(&f->mu);
    return c;
}

static void feed_parse(feed_cursor *c, int ncol)
{
    const unsigned char *p = (const unsigned char *)c->chunk->data.p + c->at;
    for (int k = 0; k < ncol; k++) {
        c->col[k].tag = *p++;
        switch (c->col[k].tag) {
        case COL_INT:
            memcpy(&c->col[k].i, p, 8);
            p += 8;
            break;
        case COL_REAL:
            memcpy(&c->col[k].d, p, 8);
            p += 8;
            break;
        case COL_TEXT:
        case COL_BLOB:
            memcpy(&c->col[k].n, p, 4);
            c->col[k].p = (const char *)p + 4;
            p += 4 + c->col[k].n;
            break;
        default:
            break;
        }
    }
    c->at = (size_t)(p - (const unsigned char *)c->chunk->data.p);
}

/* Moves to the next row: within the chunk, else the task's next chunk. */
static int feed_advance(feed_cursor *c, feed_vtab *v)
{
    while (!c->chunk || c->row == c->chunk->rows) {
        if (c->chunk && c->chunk->last) {
            c->eof = 1;
            return SQLITE_OK;
        }
        feed_chunk *n = feed_take(v, c->task);
        if (!n) return SQLITE_ERROR;
        chunk_free(c->done);
        c->done = c->chunk;
        c->chunk = n;
        c->at = 0;
        c->row = 0;
    }
    feed_parse(c, v->a->ncol);
    c->row++;
    c->rowid++;
    return SQLITE_OK;
}

static int feed_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxs, int argc,
                       sqlite3_value **argv)
{
    (void)idx;
    (void)idxs;
    (void)argc;
    (void)argv;
    feed_cursor *c = (feed_cursor *)cur;
    feed_vtab *v = (feed_vtab *)cur->pVtab;
    if (c->chunk || c->eof) { /* one scan per task */
        sqlite3_free(v->base.zErrMsg);
        v->base.zErrMsg = sqlite3_mprintf("fr_feed: scanned twice");
        return SQLITE_ERROR;
    }
    c->task = v->a->task;
    return feed_advance(c, v);
}

static int feed_next(sqlite3_vtab_cursor *cur)
{
    return feed_advance((feed_cursor *)cur, (feed_vtab *)cur->pVtab);
}

static int feed_eof(sqlite3_vtab_cursor *cur)
{
    return ((feed_cursor *)cur)->eof;
}

static int feed_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int k)
{
    feed_cursor *c = (feed_cursor *)cur;
    switch (c->col[k].tag) {
    case COL_INT:
        sqlite3_result_int64(ctx, c->col[k].i);
        break;
    case COL_REAL:
        sqlite3_result_double(ctx, c->col[k].d);
        break;
    case COL_TEXT: /* the chunk outlives the row (feed_advance keeps one more) */
        sqlite3_result_text(ctx, c->col[k].p, (int)c->col[k].n, SQLITE_STATIC);
        break;
    case COL_BLOB:
        sqlite3_result_blob(ctx, c->col[k].p, (int)c->col[k].n, SQLITE_STATIC);
        break;
    default:
        sqlite3_result_null(ctx);
    }
    return SQLITE_OK;
}

static int feed_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
    *out = ((feed_cursor *)cur)->rowid;
    return SQLITE_OK;
}

/* eponymous-only (no xCreate): the table exists while the module does */
static sqlite3_module FEED_MODULE = {
    .xConnect = feed_connect,
    .xBestIndex = feed_best_index,
    .xDisconnect = feed_disconnect,
    .xOpen = feed_open,
    .xClose = feed_close,
    .xFilter = feed_filter,
    .xNext = feed_next,
    .xEof = feed_eof,
    .xColumn = feed_column,
    .xRowid = feed_rowid,
};

typedef struct {
    int64_t src, dst;
} id_pair;

static int id_cmp(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

static int pair_cmp(const void *a, const void *b)
{
    const id_pair *x = a, *y = b;
    return (x->src > y->src) - (x->src < y->src);
}

/* Runs task k (the thread's rows) on the main connection: inserts, or for
 * TASK_KEYS reads the content map into the input's maps. */
static int feed_insert(fr_store *s, feed_aux *aux, size_t k)
{
    sqlite3 *db = fr_store_db(s);
    sqlite3_stmt *st;
    const feed_sched *t = &aux->f->sched[k];
    aux->task = k;
    if (sqlite3_prepare_v2(db, FEED_INSERT[t->kind], -1, &st, NULL) != SQLITE_OK)
        return fr_store_sql_error(s, "merging");
    int rc;
    if (t->kind == TASK_CONTENT) { /* the ids it inserted or rewrote (RETURNING) */
        input_maps *im = &aux->f->maps[t->input];
        size_t cap = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (im->ntouched == cap) {
                cap = cap ? 2 * cap : 1024;
                im->touched = fr_xrealloc(im->touched, cap * sizeof *im->touched);
            }
            im->touched[im->ntouched++] = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return fr_store_sql_error(s, "merging");
        if (im->ntouched) qsort(im->touched, im->ntouched, sizeof *im->touched, id_cmp);
        return FR_OK;
    }
    if (t->kind != TASK_KEYS) {
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? FR_OK : fr_store_sql_error(s, "merging");
    }
    id_pair *v = NULL;
    size_t n = 0, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 1) == SQLITE_NULL) continue; /* not in main */
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            v = fr_xrealloc(v, cap * sizeof *v);
        }
        v[n].src = sqlite3_column_int64(st, 0);
        v[n++].dst = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return fr_store_sql_error(s, "merging content");
    }
    input_maps *im = &aux->f->maps[t->input];
    if (im->fused) { /* the thread's content task made the map (its rows are all read) */
        size_t extra = im->pre.n + im->pending.len / 12;
        if (n + extra > cap) {
            cap = n + extra;
            v = fr_xrealloc(v, (cap ? cap : 1) * sizeof *v);
        }
        for (size_t j = 0; j < im->pre.n; j++)
            v[n++] = (id_pair){im->pre.src[j], im->pre.dst[j]};
        if (im->pending.len) {
            if (sqlite3_prepare_v2(db, "SELECT id FROM main.content WHERE key = ?1", -1, &st,
                                   NULL) != SQLITE_OK) {
                free(v);
                return fr_store_sql_error(s, "merging content");
            }
            const char *p = im->pending.p, *end = p + im->pending.len;
            while (p < end) {
                id_pair q;
                uint32_t len;
                memcpy(&q.src, p, 8);
                memcpy(&len, p + 8, 4);
                sqlite3_bind_text(st, 1, p + 12, (int)len, SQLITE_STATIC);
                if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                    q.dst = sqlite3_column_int64(st, 0);
                    v[n++] = q;
                } else if (rc != SQLITE_DONE) {
                    break;
                }
                sqlite3_reset(st);
                p += 12 + len;
            }
            sqlite3_finalize(st);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                free(v);
                return fr_store_sql_error(s, "merging content");
            }
        }
    }
    /* in src order: an input's content ids are mostly dense (a rowid
     * each), placed by id in one pass; sorted otherwise */
    idmap *m = &aux->f->maps[t->input].content;
    m->src = fr_xmalloc((n ? n : 1) * sizeof *m->src);
    m->dst = fr_xmalloc((n ? n : 1) * sizeof *m->dst);
    int64_t lo = n ? v[0].src : 0, hi = lo;
    int positive = 1; /* 0 marks a hole below */
    for (size_t i = 0; i < n; i++) {
        if (v[i].src < lo) lo = v[i].src;
        if (v[i].src > hi) hi = v[i].src;
        if (v[i].dst <= 0) positive = 0;
    }
    uint64_t span = n ? (uint64_t)(hi - lo) + 1 : 0;
    if (n && positive && span <= 2 * (uint64_t)n + 1024) {
        int64_t *at = fr_xcalloc((size_t)span, sizeof *at);
        for (size_t i = 0; i < n; i++)
            at[v[i].src - lo] = v[i].dst;
        for (uint64_t j = 0; j < span; j++)
            if (at[j]) {
                m->src[m->n] = lo + (int64_t)j;
                m->dst[m->n++] = at[j];
            }
        free(at);
    } else if (n) {
        qsort(v, n, sizeof *v, pair_cmp);
        for (size_t i = 0; i < n; i++) {
            m->src[i] = v[i].src;
            m->dst[i] = v[i].dst;
        }
        m->n = n;
    }
    free(v);
    return FR_OK;
}

/* Copies the input attached as name (a file at origin) into main: part 0 its
 * runs and rules, part 1 its findings and the rest (COPY_SQL, OPTIONAL_SQL);
 * content, matches and locations come through the feed. */
static int copy_one(fr_store *s, const char *name, const char *origin, fr_merge_stats *stats,
                    int part)
{
    sqlite3 *db = fr_store_db(s);
    int rc = FR_OK;
    if (part == 0) {
        if ((rc = check_input(s, name, origin))) return rc;
        count_for(db, "SELECT count(*) FROM src.matches", name, &stats->matches);
        count_for(db, "SELECT count(*) FROM src.locations", name, &stats->locations);
        count_for(db, "SELECT count(*) FROM src.findings", name, &stats->findings);
    }
    size_t from = part ? STEP_FINDINGS : 0,
           to = part ? sizeof COPY_SQL / sizeof *COPY_SQL : STEP_FINDINGS;
    for (size_t i = from; i < to; i++) {
        if (i == STEP_RUNS) { /* the only statement with a parameter */
            sqlite3_stmt *st;
            char *q = for_input(COPY_SQL[i], name);
            rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
            free(q);
            if (rc != SQLITE_OK) return fr_store_sql_error(s, "merging runs");
            sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
            sqlite3_finalize(st);
            if (rc != SQLITE_DONE) return fr_store_sql_error(s, "merging runs");
            stats->runs += (uint64_t)sqlite3_changes(db);
            continue;
        }
        if (i == STEP_FINDINGS) { /* findings: count the new ones */
            uint64_t before = 0;
            count_rows(db, "SELECT count(*) FROM main.findings", &before);
            stats->findings_new -= before;
        }
        double c0 = thread_cpu();
        if ((rc = exec_for(s, COPY_SQL[i], name))) return rc;
        if (getenv("FERRET_MERGE_TRACE"))
            fprintf(stderr, "merge: step %zu: %.2fs cpu\n", i, thread_cpu() - c0);
        if (i == STEP_FINDINGS)
            count_rows(db, "SELECT count(*) FROM main.findings", &stats->findings_new);
    }
    for (size_t i = 0; part && i < sizeof OPTIONAL_SQL / sizeof *OPTIONAL_SQL; i++) {
        if (!has_table(db, "main", OPTIONAL_SQL[i].table) ||
            !has_table(db, name, OPTIONAL_SQL[i].table))
            continue;
        if ((rc = exec_for(s, OPTIONAL_SQL[i].sql, name))) return rc;
    }
    return FR_OK;
}

/* Merges n (at most MAX_ATTACH) inputs into s in one transaction. SQLite
 * attaches only outside a transaction: all are attached first. */
static int merge_batch(fr_store *s, const char *const *paths, size_t n, fr_merge_stats *stats)
{
    sqlite3 *db = fr_store_db(s);
    char name[32];
    int rc = FR_OK;
    size_t attached = 0;
    for (; attached < n; attached++) {
        snprintf(name, sizeof name, "src%zu", attached);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS ?2", -1, &st, NULL) != SQLITE_OK) {
            rc = fr_store_sql_error(s, "attaching an input");
            break;
        }
        sqlite3_bind_text(st, 1, paths[attached], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        sqlite3_finalize(st);
        if (step != SQLITE_DONE) {
            rc = fr_store_sql_error(s, "attaching an input");
            fr_error_set("%s (%s)", fr_error(), paths[attached]);
            break;
        }
    }
    /* One transaction writes every input: a page cache large enough to keep
     * the indexes being filled, instead of spilling them to disk over and
     * over: 2 GiB at most, allocated as used (about 450 bytes a merged
     * occurrence; 256 MiB spilled from 500,000 on). ORG's existing pages are
     * read through a map (during the merge only) instead of a copy each. */
    sqlite3_exec(db, "PRAGMA cache_size = -2097152; PRAGMA mmap_size = 4294967296", NULL, NULL,
                 NULL);
    /* Every row copied references rows the copy itself maps (runs, content,
     * findings): checking each reference again would double the work. */
    sqlite3_exec(db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
    /* Nor their CHECKs: every input row passed the same ones when it was
     * written (same schema steps), and SQLite 3.40 evaluates a CHECK's
     * IN (...) list by building a table for it, per row written (a quarter
     * of a merge's instructions when every content row was rewritten). */
    sqlite3_exec(db, "PRAGMA ignore_check_constraints = ON", NULL, NULL, NULL);
    /* The merge's transaction keeps a rollback journal instead of the WAL:
     * the commit writes the new pages once, into ORG itself, and journals
     * only the existing pages it changes (the WAL wrote every changed page,
     * then the checkpoint copied it again). Atomic as before: until the
     * commit ORG's file holds only what it held (pages spilled from the
     * cache are journalled), and after a crash the next connection rolls a
     * hot journal back. Switching needs ORG to be open nowhere else (SQLite
     * refuses otherwise: the merge then keeps the WAL); WAL mode is restored
     * afterwards, so readers never wait for more than the commit. */
    int rollback_journal = 0;
    /* FERRET_MERGE_WAL=1 keeps the WAL (to measure against: 4 x 250,000
     * into 1,000,000, the WAL's commit took 5.5 s of CPU, the journal's 1) */
    if (rc == FR_OK && !getenv("FERRET_MERGE_WAL")) {
        char *mode = query_text(db, "PRAGMA main.journal_mode = TRUNCATE");
        rollback_journal = mode && !strcmp(mode, "truncate");
        free(mode);
        /* FULL: the journal is on disk before ORG's pages are overwritten */
        if (rollback_journal) sqlite3_exec(db, "PRAGMA main.synchronous = FULL", NULL, NULL, NULL);
        if (getenv("FERRET_MERGE_TRACE"))
            fprintf(stderr, "merge: journal: %s\n", rollback_journal ? "rollback" : "wal");
    }
    /* The feed thread answers the content ORG already holds from ORG itself
     * (FEED_SELECT_ORG), on read-only connections that must see ORG as it
     * was: with the WAL they do whatever the merge writes; with the rollback
     * journal only while the merge's cache spills nothing into ORG's file
     * before the commit (a spill would also need the lock those readers
     * hold). So the cache does not spill, where the inputs and ORG fit in
     * the cache's 2 GiB (the dirty pages are at most ORG's pages and those
     * the inputs add); larger merges keep the spill and every lookup on the
     * main connection. FERRET_MERGE_ORG_READER=0 turns it off (tests,
     * benchmarks). */
    const char *org_reader = NULL, *no_reader = getenv("FERRET_MERGE_ORG_READER");
    if (rc == FR_OK && !(no_reader && !strcmp(no_reader, "0"))) {
        const char *org = sqlite3_db_filename(db, "main");
        struct stat sb;
        uint64_t bytes = 0;
        int ok = org && *org && stat(org, &sb) == 0;
        if (ok) bytes += (uint64_t)sb.st_size;
        for (size_t i = 0; ok && i < n; i++) {
            ok = stat(paths[i], &sb) == 0;
            if (ok) bytes += (uint64_t)sb.st_size;
        }
        if (ok && (!rollback_journal || bytes <= (uint64_t)2 << 30)) {
            org_reader = org;
            if (rollback_journal) sqlite3_exec(db, "PRAGMA cache_spill = OFF", NULL, NULL, NULL);
        }
    }
    if (rc == FR_OK && getenv("FERRET_MERGE_TRACE"))
        fprintf(stderr, "merge: ORG reader: %s\n", org_reader ? "yes" : "no");
    if (rc == FR_OK && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        rc = fr_store_sql_error(s, "starting the merge");
    if (rc == FR_OK) {
        /* the main connection takes the feed's tasks in its schedule's
         * order, merging each input's runs before its content and its
         * findings (and the rest) after, and handing each map over as soon
         * as it is made */
        feed f;
        feed_init(&f, paths, n);
        f.org = org_reader;
        feed_aux aux[TASK_KINDS];
        for (int k = 0; k < TASK_KINDS && rc == FR_OK; k++) {
            aux[k] = (feed_aux){&f, FEED_COLS[k], 0};
            if (sqlite3_create_module_v2(db, FEED_MODULES[k], &FEED_MODULE, &aux[k], NULL))
                rc = fr_store_sql_error(s, "merging");
        }
        if (rc == FR_OK) rc = feed_begin(&f);
        for (size_t k = 0; k < f.nsched && rc == FR_OK && !fr_interrupted; k++) {
            size_t i = f.sched[k].input;
            int kind = f.sched[k].kind;
            snprintf(name, sizeof name, "src%zu", i);
            if (kind == TASK_CONTENT && (rc = copy_one(s, name, paths[i], stats, 0)) == FR_OK)
                rc = feed_maps(s, &f, i, 1);
            double c0 = thread_cpu();
            if (rc == FR_OK) rc = feed_insert(s, &aux[kind], k);
            if (getenv("FERRET_MERGE_TRACE"))
                fprintf(stderr, "merge: input %zu %s: %.2fs cpu\n", i, TASK_NAMES[kind],
                        thread_cpu() - c0);
            if (kind == TASK_KEYS && rc == FR_OK &&
                (rc = copy_one(s, name, paths[i], stats, 1)) == FR_OK)
                rc = feed_maps(s, &f, i, 2);
        }
        feed_release(&f);
        for (int k = 0; k < TASK_KINDS; k++)
            sqlite3_create_module(db, FEED_MODULES[k], NULL, NULL);
        if (rc == FR_OK && fr_interrupted) {
            fr_error_set("interrupted: the merge was rolled back");
            rc = FR_EINTR;
        }
        double c0 = thread_cpu();
        if (rc == FR_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = fr_store_sql_error(s, "committing the merge");
        if (getenv("FERRET_MERGE_TRACE"))
            fprintf(stderr, "merge: commit: %.2fs cpu\n", thread_cpu() - c0);
        if (rc) {
            char *why = fr_xstrdup(fr_error());
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            fr_error_set("%s", why);
            free(why);
        }
    }
    if (rollback_journal) {
        char *mode = query_text(db, "PRAGMA main.journal_mode = WAL");
        free(mode);
        sqlite3_exec(db, "PRAGMA main.synchronous = NORMAL", NULL, NULL, NULL);
    }
    sqlite3_exec(db,
                 "PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = OFF;"
                 " PRAGMA mmap_size = 0; PRAGMA cache_spill = ON",
                 NULL, NULL, NULL);
    for (size_t i = 0; i < attached; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "DETACH DATABASE src%zu", i);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    return rc;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int fr_store_merge(fr_store *s, const char *const *paths, size_t n, const fr_merge_opts *o,
                   fr_merge_stats *stats)
{
    fr_merge_opts none = {0};
    if (!o) o = &none;
    memset(stats, 0, sizeof *stats);
    int rc = fr_store_flush(s);
    if (rc) return rc;
    const char *org_path = sqlite3_db_filename(fr_store_db(s), "main");
    input_info *in = fr_xcalloc(n + 1, sizeof *in);
    char *ours = our_migrations();
    fr_buf problems = {0};
    const char *rules = NULL, *rules_from = NULL;
    for (size_t i = 0; i < n && rc == FR_OK; i++) {
        in[i].path = paths[i];
        if (same_file(paths[i], org_path)) {
            fr_error_set("%s: this is the organisation database itself", paths[i]);
            rc = FR_ERR;
            break;
        }
        if ((rc = inspect(paths[i], &in[i]))) break;
        if (strcmp(in[i].migrations, ours) != 0) {
            /* a step this ferret does not know: written by a newer ferret */
            int newer = 0;
            char *list = fr_xstrdup(in[i].migrations), *save = NULL;
            for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                size_t k = 0;
                while (k < fr_nmigrations && strcmp(fr_migrations[k].name, t) != 0)
                    k++;
                if (k == fr_nmigrations) newer = 1;
            }
            free(list);
            if (newer) {
                fr_error_set("%s: written by a newer ferret (schema steps %s; this ferret has %s)",
                             paths[i], in[i].migrations, ours);
                rc = FR_ECORRUPT;
                break;
            }
            if (!o->allow_mixed) {
                fr_buf_printf(&problems, "%s%s has an older schema (steps %s; this ferret has %s)",
                              problems.len ? "; " : "", paths[i],
                              *in[i].migrations ? in[i].migrations : "none", ours);
            } else { /* upgraded in place before it is read */
                fr_store *up = NULL;
                fr_store_opts uo = {.busy_timeout_ms = 5000};
                if ((rc = fr_store_open(&up, paths[i], &uo))) break;
                fr_store_close(up);
            }
        }
        if (in[i].rules_hash) {
            if (!rules) {
                rules = in[i].rules_hash;
                rules_from = paths[i];
            } else if (strcmp(rules, in[i].rules_hash) != 0 && !o->allow_mixed) {
                fr_buf_printf(&problems, "%s%s was scanned with other rules than %s (%.12s, %.12s)",
                              problems.len ? "; " : "", paths[i], rules_from, in[i].rules_hash,
                              rules);
            }
        }
    }
    if (rc == FR_OK && check_sets(fr_store_db(s), in, n, o->allow_incomplete, &problems))
        rc = FR_ERR;
    if (rc == FR_OK && problems.len) rc = FR_ERR;
    if (rc == FR_ERR && problems.len)
        fr_error_set("nothing was merged: %s (--allow-incomplete / --allow-mixed merge anyway)",
                     problems.p);
    if (rc == FR_OK && n <= MAX_ATTACH) {
        rc = merge_batch(s, paths, n, stats);
    } else if (rc == FR_OK) {
        /* Too many to attach at once: stage them in a store of their own (not
         * atomic, nobody reads it), then merge that in one transaction. */
        fr_buf tmp = {0}, key = {0};
        fr_buf_printf(&tmp, "%s.merge-%ld.db", org_path, (long)getpid());
        fr_buf_printf(&key, "%s.key", tmp.p);
        fr_store *stage = NULL;
        fr_store_opts so = {.busy_timeout_ms = 5000, .key_path = key.p};
        unlink(tmp.p);
        if ((rc = fr_store_open(&stage, tmp.p, &so)) == FR_OK) {
            for (size_t i = 0; i < n && rc == FR_OK; i += MAX_ATTACH)
                rc = merge_batch(stage, paths + i, n - i < MAX_ATTACH ? n - i : MAX_ATTACH, stats);
            fr_store_close(stage);
            fr_merge_stats final = {0};
            const char *one = tmp.p;
            if (rc == FR_OK) rc = merge_batch(s, &one, 1, &final);
            stats->findings_new = final.findings_new;
            stats->runs = final.runs;
        }
        static const char *const sfx[] = {"", "-wal", "-shm", ".key"};
        for (int k = 0; k < 4; k++) {
            fr_buf f = {0};
            fr_buf_printf(&f, "%s%s", tmp.p, sfx[k]);
            unlink(f.p);
            fr_buf_release(&f);
        }
        fr_buf_release(&tmp);
        fr_buf_release(&key);
    }
    for (size_t i = 0; i < n; i++) {
        free(in[i].migrations);
        free(in[i].rules_hash);
        free(in[i].set);
    }
    free(in);
    free(ours);
    fr_buf_release(&problems);
    return rc;
}
