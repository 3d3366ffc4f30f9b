/*
 * triage.c: people's verdicts on findings, kept by finding id (fid) in their
 * own tables (triage, triage_log, baseline; migration 0002-triage) so that
 * nothing a scan or a merge does to findings, matches or locations touches
 * them. A store sharing the key gives a finding the same id, so a status
 * exported from one shard applies in another.
 */
#include "store/store.h"

#include "store/store_int.h"
#include "util/util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int fr_triage_status_valid(const char *status)
{
    static const char *const ok[] = {"open", "accepted", "false-positive", "revoked"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (status && !strcmp(status, ok[i])) return 1;
    return 0;
}

static int prepare(fr_store *s, sqlite3_stmt **st, const char *sql, const char *what)
{
    if (sqlite3_prepare_v2(fr_store_db(s), sql, -1, st, NULL) != SQLITE_OK)
        return fr_store_sql_error(s, what);
    return FR_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int exec(fr_store *s, const char *sql, const char *what)
{
    if (sqlite3_exec(fr_store_db(s), sql, NULL, NULL, NULL) != SQLITE_OK)
        return fr_store_sql_error(s, what);
    return FR_OK;
}

/* A full id, or the one recorded finding whose id starts with prefix. */
static int resolve(fr_store *s, const char *fid, int allow_unknown, char out[13])
{
    size_t n = strlen(fid);
    if (n < 4 || n > 12) {
        fr_error_set("'%s': a finding id has 12 characters (a prefix of at least 4 will do)", fid);
        return FR_ERR;
    }
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz", fid[i])) {
            fr_error_set("'%s': not a finding id (Crockford base32)", fid);
            return FR_ERR;
        }
    char up[13];
    for (size_t i = 0; i <= n; i++)
        up[i] =
            (char)(fid[i] >= 'A' && fid[i] <= 'Z' ? fid[i] + 32 : fid[i]); /* ids are lowercase */
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "SELECT fid FROM findings WHERE fid >= ?1 AND fid < ?1 || 'zzzzzzzzzzzz'"
                     " ORDER BY fid LIMIT 2",
                     "finding a finding id");
    if (rc) return rc;
    bind_text(st, 1, up);
    int found = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *f = (const char *)sqlite3_column_text(st, 0);
        if (!f || strncmp(f, up, n)) break;
        if (found++ == 0) snprintf(out, 13, "%s", f);
    }
    sqlite3_finalize(st);
    if (found == 1) return FR_OK;
    if (found > 1) {
        fr_error_set("'%s': more than one finding has an id starting so; give more of it", fid);
        return FR_ERR;
    }
    if (allow_unknown && n == 12) {
        memcpy(out, up, 13);
        return FR_OK;
    }
    fr_error_set("'%s': no finding has this id", fid);
    return FR_ENOTFOUND;
}

int fr_store_triage_set(fr_store *s, const char *fid, const char *status, const char *comment,
                        const char *who, const char *at, int allow_unknown, int only_newer,
                        int *changed, char full_fid[13])
{
    *changed = 0;
    if (!fr_triage_status_valid(status)) {
        fr_error_set("'%s': not a status (open, accepted, false-positive or revoked)",
                     status ? status : "");
        return FR_ERR;
    }
    char id[13], now[32];
    int rc = resolve(s, fid, allow_unknown, id);
    if (rc) return rc;
    if (full_fid) memcpy(full_fid, id, 13);
    if (!at) fr_now_iso(now), at = now;
    if ((rc = exec(s, "BEGIN IMMEDIATE", "recording a status"))) return rc;
    sqlite3_stmt *st = NULL;
    /* run_id: the latest run, so that only later sightings reopen a revoked one. */
    rc = prepare(s, &st,
                 "INSERT INTO triage (fid, status, comment, who, at, run_id)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, (SELECT coalesce(max(id), 0) FROM runs))"
                 " ON CONFLICT (fid) DO UPDATE SET status = excluded.status,"
                 " comment = excluded.comment, who = excluded.who, at = excluded.at,"
                 " run_id = excluded.run_id WHERE NOT ?6 OR triage.at < excluded.at",
                 "recording a status");
    if (rc == FR_OK) {
        bind_text(st, 1, id);
        bind_text(st, 2, status);
        bind_text(st, 3, comment);
        bind_text(st, 4, who);
        bind_text(st, 5, at);
        sqlite3_bind_int(st, 6, only_newer);
        if (sqlite3_step(st) != SQLITE_DONE) rc = fr_store_sql_error(s, "recording a status");
        *changed = rc == FR_OK && sqlite3_changes(fr_store_db(s)) > 0;
        sqlite3_finalize(st);
    }
    if (rc == FR_OK && *changed) {
        rc = prepare(s, &st,
                     "INSERT INTO triage_log (fid, status, comment, who, at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
                     "recording a status");
        if (rc == FR_OK) {
            bind_text(st, 1, id);
            bind_text(st, 2, status);
            bind_text(st, 3, comment);
            bind_text(st, 4, who);
            bind_text(st, 5, at);
            if (sqlite3_step(st) != SQLITE_DONE) rc = fr_store_sql_error(s, "recording a status");
            sqlite3_finalize(st);
        }
    }
    if (rc == FR_OK) return exec(s, "COMMIT", "recording a status");
    sqlite3_exec(fr_store_db(s), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int fr_store_each_triage(fr_store *s, fr_triage_cb cb, void *ctx)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "SELECT fid, status, comment, who, at FROM triage ORDER BY fid",
                     "reading statuses");
    if (rc) return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        fr_triage_row t = {
            (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
            (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
            (const char *)sqlite3_column_text(st, 4)};
        if ((rc = cb(&t, ctx))) break;
    }
    if (rc == FR_OK && step != SQLITE_DONE) rc = fr_store_sql_error(s, "reading statuses");
    sqlite3_finalize(st);
    return rc;
}

int fr_store_triage_reopen(fr_store *s, int64_t run_id, uint64_t *n)
{
    *n = 0;
    int rc = fr_store_flush(s);
    if (rc) return rc;
    if ((rc = exec(s, "BEGIN IMMEDIATE", "reopening revoked findings"))) return rc;
    /* Old history still holding a revoked secret is expected; a place first
     * recorded after the revocation whose commit is newer than it is a new use. */
    static const char *const sql[] = {
        "CREATE TEMP TABLE IF NOT EXISTS reopen (fid TEXT PRIMARY KEY) WITHOUT ROWID",
        "DELETE FROM temp.reopen",
        "INSERT OR IGNORE INTO temp.reopen SELECT t.fid FROM triage t"
        " JOIN findings f ON f.fid = t.fid JOIN matches m ON m.finding_id = f.id"
        " JOIN locations l ON l.content_id = m.content_id"
        " WHERE t.status = 'revoked' AND l.first_run > t.run_id AND l.first_run <= ?1"
        " AND (l.commit_id = '' OR coalesce(l.committer_date, l.author_date, '') > t.at)",
        "INSERT INTO triage_log (fid, status, comment, who, at) SELECT fid, 'open',"
        " 'reopened: the revoked secret was seen in a new place', 'ferret',"
        " strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM temp.reopen",
        "UPDATE triage SET status = 'open',"
        " comment = 'reopened: the revoked secret was seen in a new place', who = 'ferret',"
        " at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), run_id = ?1"
        " WHERE fid IN (SELECT fid FROM temp.reopen)",
    };
    for (size_t i = 0; rc == FR_OK && i < sizeof sql / sizeof *sql; i++) {
        sqlite3_stmt *st;
        if ((rc = prepare(s, &st, sql[i], "reopening revoked findings"))) break;
        if (sqlite3_bind_parameter_count(st)) sqlite3_bind_int64(st, 1, run_id);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = fr_store_sql_error(s, "reopening revoked findings");
        if (i == 4 && rc == FR_OK) *n = (uint64_t)sqlite3_changes(fr_store_db(s));
        sqlite3_finalize(st);
    }
    if (rc == FR_OK) return exec(s, "COMMIT", "reopening revoked findings");
    sqlite3_exec(fr_store_db(s), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int fr_store_set_baseline(fr_store *s, const char *source, const fr_baseline_entry *e, size_t n)
{
    int rc = fr_store_flush(s);
    if (rc) return rc;
    if ((rc = exec(s, "BEGIN IMMEDIATE", "recording the baseline"))) return rc;
    sqlite3_stmt *del = NULL, *ins = NULL;
    rc = prepare(s, &del, "DELETE FROM baseline WHERE source = ?1", "recording the baseline");
    if (rc == FR_OK)
        rc = prepare(s, &ins,
                     "INSERT INTO baseline (fid, reason, expires, source) VALUES (?1, ?2, ?3, ?4)"
                     " ON CONFLICT (fid) DO UPDATE SET reason = excluded.reason,"
                     " expires = excluded.expires, source = excluded.source",
                     "recording the baseline");
    if (rc == FR_OK) {
        bind_text(del, 1, source);
        if (sqlite3_step(del) != SQLITE_DONE) rc = fr_store_sql_error(s, "recording the baseline");
    }
    for (size_t i = 0; rc == FR_OK && i < n; i++) {
        char up[13];
        snprintf(up, sizeof up, "%s", e[i].fid);
        for (char *p = up; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
        bind_text(ins, 1, up);
        bind_text(ins, 2, e[i].reason);
        bind_text(ins, 3, e[i].expires);
        bind_text(ins, 4, source);
        if (sqlite3_step(ins) != SQLITE_DONE) rc = fr_store_sql_error(s, "recording the baseline");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    if (rc == FR_OK) return exec(s, "COMMIT", "recording the baseline");
    sqlite3_exec(fr_store_db(s), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int fr_store_indicators_in_run(fr_store *s, int64_t run_id, uint64_t *all, uint64_t *open)
{
    sqlite3_stmt *st;
    int rc =
        prepare(s, &st,
                "SELECT count(*), coalesce(sum(" FR_SQL_STATUS " = 'open'), 0) FROM temp.seen x"
                " JOIN findings f ON f.id = x.finding_id" FR_SQL_STATUS_JOINS
                " WHERE x.run_id = ?1 AND f.kind = 'indicator'",
                "counting indicators");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int step = sqlite3_step(st);
    *all = step == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    *open = step == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 1) : 0;
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? FR_OK : fr_store_sql_error(s, "counting indicators");
}

int fr_store_open_findings_in_run(fr_store *s, int64_t run_id, uint64_t *n)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "SELECT count(*) FROM temp.seen x JOIN findings f ON f.id = "
                     "x.finding_id" FR_SQL_STATUS_JOINS " WHERE x.run_id = ?1 AND " FR_SQL_STATUS
                     " = 'open'",
                     "counting findings");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int step = sqlite3_step(st);
    *n = step == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? FR_OK : fr_store_sql_error(s, "counting findings");
}
