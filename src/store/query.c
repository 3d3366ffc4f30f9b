/*
 * query.c: the one query behind every report. A filter becomes one SELECT over
 * findings (rule, severity, status, validation, new, and EXISTS / introduction
 * date clauses only when asked for, so the plain report pays for nothing it
 * did not ask), then one indexed query per finding for its occurrences.
 */
#include "store/store.h"

#include "store/store_int.h"
#include "util/util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEV_RANK                                                                                   \
    "CASE coalesce(r.severity, 'medium') WHEN 'critical' THEN 4 WHEN 'high' THEN 3"                \
    " WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"
/* per blob: one seek in locations_by_content_date (migration 0004) */
#define INTRO                                                                                      \
    "coalesce((SELECT min((SELECT min(l.author_date) FROM locations l"                             \
    " WHERE l.content_id = m.content_id)) FROM matches m WHERE m.finding_id = f.id), "             \
    "f.first_seen)"

static int sev_rank(const char *s)
{
    static const char *const names[] = {"low", "medium", "high", "critical"};
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, names[i])) return i + 1;
    return 0;
}

/* Number of comma-separated items in a list (0 for NULL or ""). */
static size_t nitems(const char *list)
{
    if (!list || !*list) return 0;
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

/* Appends the FROM and WHERE of the filter's findings. Named parameters:
 * :new, :r0.., :sev, :status, :repo, :path; the outer query adds :since/:until. */
static void where_clause(fr_buf *q, const fr_report_filter *flt)
{
    fr_buf_puts(q, " FROM findings f LEFT JOIN rules r ON r.id = f.rule_id" FR_SQL_STATUS_JOINS
                   " WHERE f.first_run >= :new");
    size_t nr = nitems(flt->rule);
    for (size_t i = 0; i < nr; i++)
        fr_buf_printf(q, "%s f.rule_id GLOB :r%zu", i ? " OR" : " AND (", i);
    if (nr) fr_buf_puts(q, ")");
    if (flt->min_severity) fr_buf_puts(q, " AND " SEV_RANK " >= :sev");
    if (flt->status)
        fr_buf_puts(q, " AND instr(',' || :status || ',', ',' || " FR_SQL_STATUS " || ',') > 0");
    if (flt->validated) fr_buf_puts(q, " AND f.validated > 0");
    if (flt->repo || flt->path) {
        fr_buf_puts(q, " AND EXISTS (SELECT 1 FROM matches m JOIN locations l"
                       " ON l.content_id = m.content_id WHERE m.finding_id = f.id");
        if (flt->repo) fr_buf_puts(q, " AND l.repo GLOB :repo");
        if (flt->path) fr_buf_puts(q, " AND l.path GLOB :path");
        fr_buf_puts(q, ")");
    }
}

static void bind_named(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0) sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void bind_filter(sqlite3_stmt *st, const fr_report_filter *flt)
{
    int i = sqlite3_bind_parameter_index(st, ":new");
    if (i > 0) sqlite3_bind_int64(st, i, flt->new_since_run > 0 ? flt->new_since_run : 0);
    const char *p = flt->rule;
    for (size_t k = 0; k < nitems(flt->rule); k++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[32];
        snprintf(name, sizeof name, ":r%zu", k);
        if ((i = sqlite3_bind_parameter_index(st, name)) > 0)
            sqlite3_bind_text(st, i, p, (int)len, SQLITE_TRANSIENT);
        p = e ? e + 1 : p + len;
    }
    if ((i = sqlite3_bind_parameter_index(st, ":sev")) > 0)
        sqlite3_bind_int(st, i, sev_rank(flt->min_severity));
    bind_named(st, ":status", flt->status);
    bind_named(st, ":repo", flt->repo);
    bind_named(st, ":path", flt->path);
    bind_named(st, ":since", flt->since);
    bind_named(st, ":until", flt->until);
}

/* The whole SELECT of findings: an outer query when the introduction date is
 * needed (date bounds, or the severity-then-date order). */
static void finding_query(fr_buf *q, const fr_report_filter *flt, int ordered)
{
    int intro = flt->sort == FR_SORT_SEVERITY || flt->since || flt->until;
    if (intro) fr_buf_puts(q, "SELECT * FROM (");
    fr_buf_puts(q, "SELECT f.id AS id, f.rule_id AS rule_id, coalesce(r.name, f.rule_id),"
                   " coalesce(r.severity, 'medium') AS severity, coalesce(r.confidence, 'medium'),"
                   " coalesce(r.attack, ''), r.description, coalesce(r.refs, ''),"
                   " f.secret_sha256, f.preview, f.secret, f.first_seen, f.last_seen,"
                   " f.first_run, f.last_run, f.validated, f.fid, " FR_SQL_STATUS " AS status,"
                   " CASE WHEN t.status IS NOT NULL THEN t.comment ELSE b.reason END,"
                   " CASE WHEN t.status IS NOT NULL THEN t.who END,"
                   " CASE WHEN t.status IS NOT NULL THEN t.at END, " SEV_RANK " AS sevrank");
    if (intro) fr_buf_puts(q, ", " INTRO " AS intro");
    where_clause(q, flt);
    if (intro) {
        fr_buf_puts(q, ") WHERE 1");
        if (flt->since) fr_buf_puts(q, " AND intro >= :since");
        if (flt->until) fr_buf_puts(q, " AND substr(intro, 1, length(:until)) <= :until");
    }
    if (ordered)
        fr_buf_puts(q, flt->sort == FR_SORT_SEVERITY ? " ORDER BY sevrank DESC, intro DESC, 2, 17"
                                                     : " ORDER BY 2, 9");
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

/* Distinct non-empty strings among v[0..n) (v is sorted in place). */
static size_t ndistinct(const char **v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_str);
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] && *v[i] && (i == 0 || cmp_str(&v[i - 1], &v[i]))) d++;
    return d;
}

/* Earliest first: author date, else committer date, else file mtime; undated last. */
static const char *when(const fr_occurrence_row *o)
{
    return o->author_date ? o->author_date : o->committer_date ? o->committer_date : o->mtime;
}

static int cmp_when(const void *a, const void *b)
{
    const fr_occurrence_row *x = a, *y = b;
    const char *p = when(x), *q = when(y);
    if (!p || !q) return !p - !q;
    return strcmp(p, q);
}

#define NOCC 14 /* text columns of an occurrence row */

/* A report reads much of the file: mapped, it is read without a system call
 * per page (SQLite falls back to reads where mapping is not possible). */
static void map_for_reading(fr_store *s)
{
    sqlite3_exec(fr_store_db(s),
                 "PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY;"
                 " PRAGMA cache_size = -65536",
                 NULL, NULL, NULL);
}

/* Occurrence order within a finding: repository, path, commit, line, column. */
static int cmp_place(const void *a, const void *b)
{
    const fr_occurrence_row *x = a, *y = b;
    int c;
    if ((c = strcmp(x->repo ? x->repo : "", y->repo ? y->repo : ""))) return c;
    if ((c = strcmp(x->path ? x->path : "", y->path ? y->path : ""))) return c;
    if ((c = strcmp(x->commit ? x->commit : "", y->commit ? y->commit : ""))) return c;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return x->column < y->column ? -1 : x->column > y->column;
}

#define NFCOL 21 /* finding columns read (sel may hold more: sevrank, intro) */

typedef struct {
    fr_finding_row f;
    fr_buf fpool, opool; /* the finding's strings; its occurrences' strings */
    size_t *offs;        /* per occurrence, NOCC offsets into opool ((size_t)-1: NULL) */
    int64_t *nums;       /* per occurrence: line, column */
    size_t n, cap;
    fr_occurrence_row *occ;
    const char **keys;
} acc;

static const char *keep(fr_buf *pool, sqlite3_stmt *st, int col, size_t *off)
{
    const char *v = col_text(st, col);
    *off = v ? pool->len : (size_t)-1;
    if (v) fr_buf_append(pool, v, strlen(v) + 1);
    return v;
}

/* Starts a finding from the current row's first NFCOL columns. */
static void start_finding(acc *a, sqlite3_stmt *st, int with_secrets)
{
    fr_buf_reset(&a->fpool);
    fr_buf_reset(&a->opool);
    a->n = 0;
    size_t off[NFCOL];
    for (int c = 1; c < NFCOL; c++)
        keep(&a->fpool, st, c, &off[c]);
#define S(c) (off[c] == (size_t)-1 ? NULL : a->fpool.p + off[c])
    a->f = (fr_finding_row){
        .id = sqlite3_column_int64(st, 0),
        .rule_id = S(1),
        .rule_name = S(2),
        .severity = S(3),
        .confidence = S(4),
        .attack = S(5),
        .description = S(6),
        .refs = S(7),
        .secret_sha256 = S(8),
        .preview = S(9),
        .secret = with_secrets ? S(10) : NULL,
        .first_seen = S(11),
        .last_seen = S(12),
        .first_run = sqlite3_column_int64(st, 13),
        .last_run = sqlite3_column_int64(st, 14),
        .validated = sqlite3_column_int(st, 15),
        .fid = S(16),
        .status = S(17),
        .status_comment = S(18),
        .status_who = S(19),
        .status_at = S(20),
    };
#undef S
}

/* Adds the current row's occurrence (columns from o0). */
static void add_occurrence(acc *a, sqlite3_stmt *st, int o0)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->offs = fr_xrealloc(a->offs, a->cap * NOCC * sizeof *a->offs);
        a->nums = fr_xrealloc(a->nums, a->cap * 2 * sizeof *a->nums);
        a->occ = fr_xrealloc(a->occ, a->cap * sizeof *a->occ);
        a->keys = fr_xrealloc(a->keys, a->cap * sizeof *a->keys);
    }
    for (int c = 0; c < NOCC; c++)
        keep(&a->opool, st, o0 + c, &a->offs[a->n * NOCC + c]);
    a->nums[2 * a->n] = sqlite3_column_int64(st, o0 + NOCC);
    a->nums[2 * a->n + 1] = sqlite3_column_int64(st, o0 + NOCC + 1);
    a->n++;
}

/* Completes the finding (occurrence rows, spread, order) and hands it to cb. */
static int finish_finding(acc *a, const fr_report_filter *flt, fr_finding_cb cb, void *ctx)
{
    size_t n = a->n;
    fr_occurrence_row *occ = a->occ;
    fr_finding_row *f = &a->f;
    const char *intro = NULL;
    for (size_t k = 0; k < n; k++) {
        const char *v[NOCC];
        for (int c = 0; c < NOCC; c++)
            v[c] = a->offs[k * NOCC + c] == (size_t)-1 ? NULL : a->opool.p + a->offs[k * NOCC + c];
        occ[k] = (fr_occurrence_row){
            .kind = v[0],
            .repo = v[1],
            .path = v[2],
            .commit = v[3],
            .content_key = v[4],
            .author_name = v[5],
            .author_email = v[6],
            .author_date = v[7],
            .committer_date = v[8],
            .ref = v[9],
            .mtime = v[10],
            .ci_run = v[11],
            .ci_job = v[12],
            .ci_step = v[13],
            .line = a->nums[2 * k],
            .column = a->nums[2 * k + 1],
        };
        if (occ[k].author_date && (!intro || strcmp(occ[k].author_date, intro) < 0))
            intro = occ[k].author_date;
    }
    f->introduced = intro ? intro : f->first_seen;
    f->nocc_total = n;
    for (size_t k = 0; k < n; k++)
        a->keys[k] = occ[k].commit;
    f->ncommits = ndistinct(a->keys, n);
    for (size_t k = 0; k < n; k++)
        a->keys[k] = occ[k].repo;
    f->nrepos = ndistinct(a->keys, n);
    /* paths are distinct per repository: sorted by place, compare neighbours */
    qsort(occ, n, sizeof *occ, cmp_place);
    f->npaths = 0;
    for (size_t k = 0; k < n; k++)
        if (k == 0 ||
            strcmp(occ[k].repo ? occ[k].repo : "", occ[k - 1].repo ? occ[k - 1].repo : "") ||
            strcmp(occ[k].path ? occ[k].path : "", occ[k - 1].path ? occ[k - 1].path : ""))
            f->npaths++;
    size_t pass = n;
    if (flt->max_occurrences && n > flt->max_occurrences) {
        qsort(occ, n, sizeof *occ, cmp_when); /* the earliest are passed */
        pass = flt->max_occurrences;
    }
    return cb(f, occ, pass, ctx);
}

int fr_store_each_finding(fr_store *s, const fr_report_filter *flt_in, fr_finding_cb cb, void *ctx)
{
    static const fr_report_filter none = {0};
    const fr_report_filter *flt = flt_in ? flt_in : &none;
    sqlite3_stmt *st = NULL;
    int rc = FR_OK;
    fr_buf sel = {0}, q = {0};
    map_for_reading(s);
    /* One pass: the selected findings in order (materialized; the LIMIT keeps
     * SQLite from dropping a subquery's ORDER BY), each joined with its
     * occurrences; LEFT JOIN keeps the findings the outer loop, so rows come
     * grouped by finding in the findings' order, with no per-finding query. */
    finding_query(&sel, flt, 1);
    fr_buf_printf(&q,
                  "WITH sel AS MATERIALIZED (%s LIMIT -1)"
                  " SELECT sel.*, l.source_kind, l.repo, l.path, l.commit_id, %s, l.author_name,"
                  " l.author_email, l.author_date, l.committer_date, l.ref, l.mtime, l.ci_run,"
                  " l.ci_job, l.ci_step, m.line, m.col FROM sel"
                  " LEFT JOIN matches m ON m.finding_id = sel.id"
                  " LEFT JOIN locations l ON l.content_id = m.content_id%s%s%s",
                  sel.p, flt->no_content_key ? "NULL" : "c.key",
                  flt->repo ? " AND l.repo GLOB :repo" : "",
                  flt->path ? " AND l.path GLOB :path" : "",
                  flt->no_content_key ? "" : " LEFT JOIN content c ON c.id = m.content_id");
    fr_buf_release(&sel);
    if (sqlite3_prepare_v2(fr_store_db(s), q.p, -1, &st, NULL) != SQLITE_OK) {
        rc = fr_store_sql_error(s, "reading findings");
        goto done;
    }
    bind_filter(st, flt);
    int o0 = sqlite3_column_count(st) - NOCC - 2; /* the first occurrence column */
    acc a = {0};
    int64_t cur = -1;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id != cur) {
            if (cur != -1 && (a.n || !(flt->repo || flt->path)) &&
                (rc = finish_finding(&a, flt, cb, ctx)))
                break;
            start_finding(&a, st, flt->with_secrets);
            cur = id;
        }
        if (sqlite3_column_type(st, o0) != SQLITE_NULL) add_occurrence(&a, st, o0);
    }
    if (rc == FR_OK && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = fr_store_sql_error(s, "reading findings");
    if (rc == FR_OK && cur != -1 && (a.n || !(flt->repo || flt->path)))
        rc = finish_finding(&a, flt, cb, ctx);
    fr_buf_release(&a.fpool);
    fr_buf_release(&a.opool);
    free(a.offs), free(a.nums), free(a.occ), free(a.keys);
done:
    fr_buf_release(&q);
    sqlite3_finalize(st);
    return rc;
}

int fr_store_summary(fr_store *s, const fr_report_filter *flt_in, int64_t *total, fr_summary_cb cb,
                     void *ctx)
{
    static const fr_report_filter none = {0};
    const fr_report_filter *flt = flt_in ? flt_in : &none;
    fr_buf inner = {0}, q = {0};
    fr_report_filter f2 = *flt;
    f2.sort = FR_SORT_RULE;
    finding_query(&inner, &f2, 0);
    /* The selected findings once, then each grouping over them. Severity is
     * listed by rank, the other groups by count. */
    fr_buf_printf(&q,
                  "WITH sel AS MATERIALIZED (SELECT id, severity AS sev, rule_id AS rule,"
                  " status FROM (%s))"
                  " SELECT 0, 'total', '', count(*), 0 FROM sel"
                  " UNION ALL SELECT 1, 'severity', sev, count(*), -max(CASE sev WHEN 'critical'"
                  " THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END)"
                  " FROM sel GROUP BY sev"
                  " UNION ALL SELECT 2, 'rule', rule, count(*), -count(*) FROM sel GROUP BY rule"
                  " UNION ALL SELECT 3, 'repo', repo, count(*), -count(*) FROM (SELECT DISTINCT"
                  " m.finding_id, l.repo FROM sel JOIN matches m ON m.finding_id = sel.id"
                  " JOIN locations l ON l.content_id = m.content_id%s%s) GROUP BY repo"
                  " UNION ALL SELECT 4, 'status', status, count(*), -count(*) FROM sel"
                  " GROUP BY status ORDER BY 1, 5, 3",
                  inner.p, flt->repo ? " AND l.repo GLOB :repo" : "",
                  flt->path ? " AND l.path GLOB :path" : "");
    fr_buf_release(&inner);
    sqlite3_stmt *st = NULL;
    int rc = FR_OK;
    map_for_reading(s);
    if (sqlite3_prepare_v2(fr_store_db(s), q.p, -1, &st, NULL) != SQLITE_OK) {
        rc = fr_store_sql_error(s, "summarising findings");
        goto done;
    }
    bind_filter(st, flt);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 0) == 0) {
            *total = sqlite3_column_int64(st, 3);
            continue;
        }
        const char *key = col_text(st, 2);
        if ((rc = cb(col_text(st, 1), key ? key : "", sqlite3_column_int64(st, 3), ctx))) break;
    }
    if (rc == FR_OK && step != SQLITE_DONE) rc = fr_store_sql_error(s, "summarising findings");
done:
    sqlite3_finalize(st);
    fr_buf_release(&q);
    return rc;
}
