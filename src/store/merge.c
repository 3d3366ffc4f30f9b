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
    " CREATE TEMP TABLE IF NOT EXISTS mcontent (src INTEGER PRIMARY KEY, dst INTEGER NOT NULL);"
    " CREATE TEMP TABLE IF NOT EXISTS mfinding (src INTEGER PRIMARY KEY, dst INTEGER NOT NULL);"
    " DELETE FROM temp.mrun; DELETE FROM temp.mcontent; DELETE FROM temp.mfinding;"
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
    /* content: new keys are inserted, then every key is mapped (in key
     * order, where both key indexes are read in sequence and cover the
     * mapping; in the input's rowid order each seek landed on another page),
     * then the rows whose state a later run changed are rewritten, only
     * they: an unchanged row keeps the run that last changed it (nothing but
     * a merge reads content.run_id, and a store holding that run holds the
     * row) */
    "INSERT INTO main.content (key, size, status, reason, rules_hash, run_id)"
    " SELECT c.key, c.size, c.status, c.reason, c.rules_hash, r.dst FROM src.content c"
    " JOIN temp.mrun r ON r.src = c.run_id AND r.new"
    " WHERE NOT EXISTS (SELECT 1 FROM main.content m WHERE m.key = c.key) ORDER BY c.key",
    "INSERT INTO temp.mcontent SELECT c.id, m.id FROM src.content c"
    " JOIN main.content m ON m.key = c.key WHERE c.run_id IN (SELECT src FROM temp.mrun WHERE new)"
    " OR c.id IN (SELECT l.content_id FROM src.locations l"
    " JOIN temp.mrun r ON r.src = l.last_run AND r.new) ORDER BY c.key",
    "UPDATE main.content SET size = c.size, status = c.status, reason = c.reason,"
    " rules_hash = c.rules_hash, run_id = r.dst FROM temp.mcontent x"
    " JOIN src.content c ON c.id = x.src JOIN temp.mrun r ON r.src = c.run_id AND r.new"
    " WHERE main.content.id = x.dst AND r.dst > main.content.run_id"
    " AND (c.size, c.status, c.reason, c.rules_hash) IS NOT (main.content.size,"
    " main.content.status, main.content.reason, main.content.rules_hash)",
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
    "INSERT OR IGNORE INTO main.matches (content_id, finding_id, offset, line, col, transform)"
    " SELECT c.dst, f.dst, m.offset, m.line, m.col, m.transform FROM src.matches m"
    " JOIN temp.mcontent c ON c.src = m.content_id JOIN temp.mfinding f ON f.src = m.finding_id"
    " ORDER BY c.dst, f.dst, m.offset",
    "INSERT INTO main.locations (content_id, source_kind, repo, path, commit_id, author_name,"
    " author_email, author_date, committer_date, ref, mtime, ci_run, ci_job, ci_step, first_run,"
    " last_run)"
    " SELECT c.dst, l.source_kind, l.repo, l.path, l.commit_id, l.author_name, l.author_email,"
    " l.author_date, l.committer_date, l.ref, l.mtime, l.ci_run, l.ci_job, l.ci_step, r1.dst,"
    " r2.dst FROM src.locations l JOIN temp.mcontent c ON c.src = l.content_id"
    " JOIN temp.mrun r1 ON r1.src = l.first_run JOIN temp.mrun r2 ON r2.src = l.last_run"
    " AND r2.new WHERE 1 ORDER BY c.dst ON CONFLICT (content_id, source_kind, repo, path) DO "
    "UPDATE SET"
    " first_run = min(locations.first_run, excluded.first_run),"
    " mtime = CASE WHEN excluded.last_run > locations.last_run"
    " THEN coalesce(excluded.mtime, locations.mtime) ELSE locations.mtime END,"
    " last_run = max(locations.last_run, excluded.last_run)",
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
enum { STEP_RUNS = 1, STEP_MAP_CONTENT = 6, STEP_FINDINGS = 8 };

static const char MAP_ALL_CONTENT[] = "INSERT INTO temp.mcontent SELECT c.id, m.id"
                                      " FROM src.content c JOIN main.content m ON m.key = c.key"
                                      " ORDER BY c.key";

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

/* Copies the input attached as name (a file at origin) into main. */
static int copy_one(fr_store *s, const char *name, const char *origin, fr_merge_stats *stats)
{
    sqlite3 *db = fr_store_db(s);
    int rc = check_input(s, name, origin);
    if (rc) return rc;
    count_for(db, "SELECT count(*) FROM src.matches", name, &stats->matches);
    count_for(db, "SELECT count(*) FROM src.locations", name, &stats->locations);
    count_for(db, "SELECT count(*) FROM src.findings", name, &stats->findings);
    for (size_t i = 0; i < sizeof COPY_SQL / sizeof *COPY_SQL; i++) {
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
        clock_t c0 = clock();
        /* every run new (a fresh shard): map all content, no filter to evaluate */
        uint64_t nold = 0;
        if (i == STEP_MAP_CONTENT) count_rows(db, "SELECT count(*) FROM temp.mold", &nold);
        const char *sql = i == STEP_MAP_CONTENT && nold == 0 ? MAP_ALL_CONTENT : COPY_SQL[i];
        if ((rc = exec_for(s, sql, name))) return rc;
        if (getenv("FERRET_MERGE_TRACE"))
            fprintf(stderr, "merge: step %zu: %.2fs cpu\n", i,
                    (double)(clock() - c0) / CLOCKS_PER_SEC);
        if (i == STEP_FINDINGS)
            count_rows(db, "SELECT count(*) FROM main.findings", &stats->findings_new);
    }
    for (size_t i = 0; i < sizeof OPTIONAL_SQL / sizeof *OPTIONAL_SQL; i++) {
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
    if (rc == FR_OK) {
        char *mode = query_text(db, "PRAGMA main.journal_mode = TRUNCATE");
        rollback_journal = mode && !strcmp(mode, "truncate");
        free(mode);
        /* FULL: the journal is on disk before ORG's pages are overwritten */
        if (rollback_journal) sqlite3_exec(db, "PRAGMA main.synchronous = FULL", NULL, NULL, NULL);
        if (getenv("FERRET_MERGE_TRACE"))
            fprintf(stderr, "merge: journal: %s\n", rollback_journal ? "rollback" : "wal");
    }
    if (rc == FR_OK && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        rc = fr_store_sql_error(s, "starting the merge");
    if (rc == FR_OK) {
        for (size_t i = 0; i < n && rc == FR_OK && !fr_interrupted; i++) {
            snprintf(name, sizeof name, "src%zu", i);
            rc = copy_one(s, name, paths[i], stats);
        }
        if (rc == FR_OK && fr_interrupted) {
            fr_error_set("interrupted: the merge was rolled back");
            rc = FR_EINTR;
        }
        clock_t c0 = clock();
        if (rc == FR_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = fr_store_sql_error(s, "committing the merge");
        if (getenv("FERRET_MERGE_TRACE"))
            fprintf(stderr, "merge: commit: %.2fs cpu\n", (double)(clock() - c0) / CLOCKS_PER_SEC);
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
                 " PRAGMA mmap_size = 0",
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
