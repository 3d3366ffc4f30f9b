/*
 * query.c: the one reader behind every report. The filter's finding-level parts
 * (rule, severity, status, validation, kind, new) are one SELECT over findings;
 * their matches, locations and content keys are then read table by table, each
 * once in its key order, and joined in memory; the occurrence-level parts (repo,
 * path), the introduction date and the order are applied here. A report reads
 * most of the store, and a join through the indexes cost a B-tree seek per
 * occurrence (three times the CPU of the scans on 1,000,000 occurrences). A
 * filter that selects few findings reads through the indexes instead.
 */
#include "store/store.h"

#include "store/store_int.h"
#include "util/util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEV_RANK                                                                                   \
    "CASE coalesce(r.severity, 'medium') WHEN 'critical' THEN 4 WHEN 'high' THEN 3"                \
    " WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"
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
 * :new, :r0.., :sev, :status, :kind. The occurrence-level parts (repo, path) and
 * the introduction date are applied in C (see load below). rules: join the
 * rules (r); triage: join the triage and baseline tables (t, b: without them
 * every status is 'open'). */
static void where_clause(fr_buf *q, const fr_report_filter *flt, int rules, int triage)
{
    fr_buf_printf(q, " FROM findings f%s%s WHERE f.first_run >= :new",
                  rules || flt->min_severity ? " LEFT JOIN rules r ON r.id = f.rule_id" : "",
                  triage ? FR_SQL_STATUS_JOINS : "");
    size_t nr = nitems(flt->rule);
    for (size_t i = 0; i < nr; i++)
        fr_buf_printf(q, "%s f.rule_id GLOB :r%zu", i ? " OR" : " AND (", i);
    if (nr) fr_buf_puts(q, ")");
    if (flt->min_severity) fr_buf_puts(q, " AND " SEV_RANK " >= :sev");
    if (flt->status)
        fr_buf_printf(q, " AND instr(',' || :status || ',', ',' || %s || ',') > 0",
                      triage ? FR_SQL_STATUS : "'open'");
    if (flt->validated) fr_buf_puts(q, " AND f.validated > 0");
    if (flt->kind) fr_buf_puts(q, " AND f.kind = :kind");
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
    bind_named(st, ":kind", flt->kind);
    bind_named(st, ":repo", flt->repo);
    bind_named(st, ":path", flt->path);
    bind_named(st, ":since", flt->since);
    bind_named(st, ":until", flt->until);
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

/* A report reads much of the file: mapped, it is read without a system call
 * per page (SQLite falls back to reads where mapping is not possible). */
static void map_for_reading(fr_store *s)
{
    sqlite3_exec(fr_store_db(s),
                 "PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY;"
                 " PRAGMA cache_size = -65536",
                 NULL, NULL, NULL);
}

/* FERRET_REPORT_TRACE=1: each step of a report's reading on stderr, its wall
 * time and the CPU time of each thread (the figures a quiet machine's wall
 * time is the sum of: on a busy one, wall times measure the load). */
static int tracing(void)
{
    static int on = -1;
    if (on < 0) on = getenv("FERRET_REPORT_TRACE") && *getenv("FERRET_REPORT_TRACE") == '1';
    return on;
}

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Prints a step: wall since *wall0, this thread's CPU since *cpu0 (then
 * restarts both), and another thread's CPU (other >= 0). */
static void trace(const char *what, double *wall0, double *cpu0, double other)
{
    if (!tracing()) return;
    double w = fr_monotonic(), c = thread_cpu();
    if (other >= 0)
        fprintf(stderr, "report: %-10s wall %.3f s, cpu %.3f + %.3f s (two threads)\n", what,
                w - *wall0, c - *cpu0, other);
    else
        fprintf(stderr, "report: %-10s wall %.3f s, cpu %.3f s\n", what, w - *wall0, c - *cpu0);
    *wall0 = fr_monotonic(), *cpu0 = thread_cpu();
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

#define GROW(p, n, cap)                                                                            \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 1024;                                                        \
            (p) = fr_xrealloc((p), (cap) * sizeof *(p));                                           \
        }                                                                                          \
    } while (0)

/* Interned strings (repositories, rule ids): a number per distinct string. */
typedef struct {
    char **keys;     /* by id */
    uint32_t *slots; /* open addressing: id + 1, 0 empty */
    size_t n, cap, nslots;
} rtab;

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static uint32_t rtab_id(rtab *t, const char *s, size_t len)
{
    if (t->n * 2 >= t->nslots) {
        size_t ns = t->nslots ? t->nslots * 2 : 64;
        uint32_t *sl = fr_xcalloc(ns, sizeof *sl);
        for (size_t i = 0; i < t->n; i++) {
            size_t k = (size_t)fnv1a(t->keys[i], strlen(t->keys[i])) & (ns - 1);
            while (sl[k])
                k = (k + 1) & (ns - 1);
            sl[k] = (uint32_t)i + 1;
        }
        free(t->slots);
        t->slots = sl, t->nslots = ns;
    }
    size_t k = (size_t)fnv1a(s, len) & (t->nslots - 1);
    for (; t->slots[k]; k = (k + 1) & (t->nslots - 1)) {
        const char *v = t->keys[t->slots[k] - 1];
        if (!strncmp(v, s, len) && !v[len]) return t->slots[k] - 1;
    }
    GROW(t->keys, t->n, t->cap);
    t->keys[t->n] = fr_xstrndup(s, len);
    t->slots[k] = (uint32_t)t->n + 1;
    return (uint32_t)t->n++;
}

static void rtab_free(rtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->keys[i]);
    free(t->keys), free(t->slots);
}

/* ---- the rows of a report, loaded table by table ---- */

#define NONE32 UINT32_MAX
#define NONE   ((size_t)-1)

/* A row's text columns as one record in a pool: a NULL mask, then the other
 * values, each NUL-terminated (text is cut at an embedded NUL, as C reads it). */
static size_t rec_put(fr_buf *pool, sqlite3_stmt *st, int c0, int n, uint32_t skip)
{
    size_t at = pool->len;
    uint32_t mask = 0;
    fr_buf_append(pool, &mask, sizeof mask);
    for (int i = 0; i < n; i++) {
        /* (skip: columns recorded as NULL, read otherwise: not made text) */
        const char *v = skip >> i & 1 ? NULL : (const char *)sqlite3_column_text(st, c0 + i);
        if (!v) {
            mask |= 1u << i;
            continue;
        }
        size_t len = strlen(v);
        fr_buf_reserve(pool, len + 1);
        memcpy(pool->p + pool->len, v, len);
        pool->p[pool->len + len] = 0;
        pool->len += len + 1;
    }
    memcpy(pool->p + at, &mask, sizeof mask);
    return at;
}

static void rec_get(const fr_buf *pool, size_t at, int n, const char **out)
{
    uint32_t mask;
    memcpy(&mask, pool->p + at, sizeof mask);
    const char *p = pool->p + at + sizeof mask;
    for (int i = 0; i < n; i++) {
        if (mask >> i & 1) {
            out[i] = NULL;
            continue;
        }
        out[i] = p;
        p += strlen(p) + 1;
    }
}

/* One text column into a pool (NONE for NULL). */
static size_t str_put(fr_buf *pool, sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    if (!v) return NONE;
    size_t at = pool->len;
    fr_buf_append(pool, v, strlen(v) + 1);
    return at;
}

typedef struct {
    int64_t id;
    size_t rec; /* text columns 0..nfcol-1 in fpool */
    int64_t first_run, last_run;
    int validated, sevrank;
    int32_t rule_ix;        /* in L->rmeta (-1: not recorded) */
    uint32_t m0, nm;        /* its matches: m[m0 .. m0 + nm) */
    const char *intro;      /* sort key and date filter: earliest author date, else first_seen */
    const char *rule, *tie; /* sort keys: rule id; finding id or secret hash */
} fin;

typedef struct {
    uint32_t fin, content;
    int64_t line, col;
    size_t transform; /* in mpool, NONE: as it is */
} mrow;

typedef struct {
    int64_t id;
    uint32_t head, tail; /* its stored locations (chained through lrow.next) */
    size_t key;          /* in kpool (NONE: not read) */
    size_t mindate;      /* in cpool (NONE: none) */
} cont;

typedef struct {
    size_t rec; /* in lpool, or with LPOOL2 in lpool2 */
    uint32_t next;
} lrow;

/* A rule's columns as a finding shows them (read once, not per finding). */
typedef struct {
    char *name, *severity, *confidence, *attack, *description, *refs, *attack_version;
} rmeta;

typedef struct {
    fr_store *s;
    const fr_report_filter *flt;
    rtab rules; /* rule ids, numbering rmeta (full loads; ids of findings whose rule is not recorded
                   after nrmeta) */
    rmeta *rmeta;
    size_t nrmeta;
    int nfcol, nlcol;     /* text columns of a finding / location record */
    int first_seen_col;   /* of the finding record */
    int need_intro, keys; /* introduction dates; content keys */
    const char *loc_cols; /* the location columns recorded */
    int date_col;         /* the author date's column in the location query (1: its own) */
    fr_buf fpool, mpool, cpool, lpool, lpool2, kpool; /* lpool2: the second thread's */
    fin *f;
    size_t nf, capf;
    int32_t *fmap; /* finding id -> index in f (-1: not selected) */
    size_t nfmap;
    mrow *m;
    size_t nm, capm;
    int32_t *cmap; /* content id -> index in c */
    size_t ncmap;
    cont *c;
    size_t nc, capc;
    lrow *l;
    size_t nl, capl;
} load;

static void load_free(load *L)
{
    for (size_t i = 0; i < L->nrmeta; i++) {
        rmeta *m = &L->rmeta[i];
        free(m->name), free(m->severity), free(m->confidence), free(m->attack);
        free(m->description), free(m->refs), free(m->attack_version);
    }
    free(L->rmeta);
    rtab_free(&L->rules);
    fr_buf_release(&L->fpool);
    fr_buf_release(&L->mpool);
    fr_buf_release(&L->cpool);
    fr_buf_release(&L->lpool);
    fr_buf_release(&L->lpool2);
    fr_buf_release(&L->kpool);
    free(L->f), free(L->fmap), free(L->m), free(L->cmap), free(L->c), free(L->l);
}

/* Index of id in a map grown on demand (-1 for new slots); NULL when id is not
 * a row id a map can hold. */
static int32_t *map_slot(int32_t **map, size_t *n, int64_t id)
{
    if (id < 0 || id >= INT32_MAX) return NULL;
    if ((size_t)id >= *n) {
        size_t m = *n ? *n : 1024;
        while (m <= (size_t)id)
            m *= 2;
        *map = fr_xrealloc(*map, m * sizeof **map);
        memset(*map + *n, 0xff, (m - *n) * sizeof **map);
        *n = m;
    }
    return *map + id;
}

static int32_t map_get(const int32_t *map, size_t n, int64_t id)
{
    return id >= 0 && (uint64_t)id < n ? map[id] : -1;
}

static int prepare(load *L, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(fr_store_db(L->s), sql, -1, st, NULL) == SQLITE_OK) return FR_OK;
    return fr_store_sql_error(L->s, "reading findings");
}

static int64_t count_of(load *L, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    if (prepare(L, sql, &st) == FR_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Whether any finding has a triage status or a baseline entry (without, the
 * findings are read without joining those tables: every status is 'open'). */
static int any_triage(load *L)
{
    return count_of(L, "SELECT EXISTS (SELECT 1 FROM triage) OR EXISTS (SELECT 1 FROM baseline)") !=
           0;
}

/* The rules' columns a finding shows, numbered in L->rules. */
static int load_rules(load *L)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(L,
                     "SELECT id, name, severity, confidence, attack, description, refs,"
                     " attack_version FROM rules",
                     &st);
    if (rc) return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v[8];
        for (int i = 0; i < 8; i++)
            v[i] = (const char *)sqlite3_column_text(st, i);
        if (!v[0]) continue;
        uint32_t k = rtab_id(&L->rules, v[0], strlen(v[0]));
        if (k < L->nrmeta) continue;
        L->rmeta = fr_xrealloc(L->rmeta, L->rules.n * sizeof *L->rmeta);
        /* (as the SQL of old: coalesce(r.name, f.rule_id), coalesce(r.severity, 'medium'), ...) */
        L->rmeta[k] =
            (rmeta){fr_xstrdup(v[1] ? v[1] : v[0]),     fr_xstrdup(v[2] ? v[2] : "medium"),
                    fr_xstrdup(v[3] ? v[3] : "medium"), fr_xstrdup(v[4] ? v[4] : ""),
                    v[5] ? fr_xstrdup(v[5]) : NULL,     fr_xstrdup(v[6] ? v[6] : ""),
                    v[7] ? fr_xstrdup(v[7]) : NULL};
        L->nrmeta = L->rules.n;
    }
    if (step != SQLITE_DONE) rc = fr_store_sql_error(L->s, "reading rules");
    sqlite3_finalize(st);
    return rc;
}

/* The findings the filter's finding-level parts select. cols: the select list
 * (column 0 the id; full: the columns of fr_finding_row, then the rank);
 * plain: the same without the triage and baseline tables (t, b), read when
 * they are empty (NULL: always cols); rules: cols reads the rules table (r). */
static int load_findings(load *L, const char *cols, const char *plain, int full, int rules)
{
    int triage = !plain || any_triage(L);
    fr_buf q = {0};
    fr_buf_printf(&q, "SELECT %s", triage ? cols : plain);
    where_clause(&q, L->flt, rules, triage);
    sqlite3_stmt *st = NULL;
    int rc = prepare(L, q.p, &st);
    fr_buf_release(&q);
    if (rc) return rc;
    bind_filter(st, L->flt);
    if (full && (rc = load_rules(L))) {
        sqlite3_finalize(st);
        return rc;
    }
    int step;
    /* the secret's hash: when asked for, or to sort by (rule order) */
    uint32_t nohash = L->flt->no_secret_hash && L->flt->sort == FR_SORT_SEVERITY ? 1u << 8 : 0;
    const char *last_rule = NULL; /* (findings of a rule often come together) */
    int32_t last_ix = -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int32_t *slot = map_slot(&L->fmap, &L->nfmap, id);
        if (!slot) continue;
        GROW(L->f, L->nf, L->capf);
        fin *f = &L->f[L->nf];
        /* (the id and, in full loads, the runs and validation are numbers) */
        *f = (fin){.id = id,
                   .rec = rec_put(&L->fpool, st, 0, L->nfcol,
                                  full ? 1u | 1u << 13 | 1u << 14 | 1u << 15 | nohash : 1u)};
        if (full) {
            f->first_run = sqlite3_column_int64(st, 13);
            f->last_run = sqlite3_column_int64(st, 14);
            f->validated = sqlite3_column_int(st, 15);
            const char *r[2];
            rec_get(&L->fpool, f->rec, 2, r);
            if (!last_rule || !r[1] || strcmp(r[1], last_rule)) {
                uint32_t k = r[1] ? rtab_id(&L->rules, r[1], strlen(r[1])) : UINT32_MAX;
                last_ix = k < L->nrmeta ? (int32_t)k : -1;
                last_rule = r[1] ? L->rules.keys[k] : NULL;
            }
            f->rule_ix = last_ix;
            f->sevrank = sev_rank(last_ix >= 0 ? L->rmeta[last_ix].severity : "medium");
        }
        *slot = (int32_t)L->nf++;
    }
    if (step != SQLITE_DONE) rc = fr_store_sql_error(L->s, "reading findings");
    sqlite3_finalize(st);
    return rc;
}

static void add_match(load *L, sqlite3_stmt *st, int32_t fi)
{
    int64_t cid = sqlite3_column_int64(st, 1);
    int32_t *cs = map_slot(&L->cmap, &L->ncmap, cid);
    if (!cs) return;
    if (*cs < 0) {
        GROW(L->c, L->nc, L->capc);
        L->c[L->nc] = (cont){cid, NONE32, NONE32, NONE, NONE};
        *cs = (int32_t)L->nc++;
    }
    GROW(L->m, L->nm, L->capm);
    L->m[L->nm++] = (mrow){(uint32_t)fi, (uint32_t)*cs, sqlite3_column_int64(st, 2),
                           sqlite3_column_int64(st, 3), str_put(&L->mpool, st, 4)};
}

/* The selected findings' matches, grouped by finding (in the table's order
 * within: content, offset). */
static int load_matches(load *L)
{
    sqlite3_stmt *st = NULL;
    /* few findings of many: through the index, else one scan */
    int sparse = L->nf * 8 < (size_t)count_of(L, "SELECT count(*) FROM findings");
    int rc = prepare(L,
                     sparse ? "SELECT finding_id, content_id, line, col, transform FROM matches"
                              " WHERE finding_id = ?"
                            : "SELECT finding_id, content_id, line, col, transform FROM matches",
                     &st);
    if (rc) return rc;
    int step = SQLITE_DONE;
    if (sparse) {
        for (size_t i = 0; i < L->nf && step == SQLITE_DONE; i++) {
            sqlite3_bind_int64(st, 1, L->f[i].id);
            while ((step = sqlite3_step(st)) == SQLITE_ROW)
                add_match(L, st, (int32_t)i);
            sqlite3_reset(st);
        }
    } else {
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            int32_t fi = map_get(L->fmap, L->nfmap, sqlite3_column_int64(st, 0));
            if (fi >= 0) add_match(L, st, fi);
        }
    }
    if (step != SQLITE_DONE) rc = fr_store_sql_error(L->s, "reading findings");
    sqlite3_finalize(st);
    if (rc) return rc;
    /* counting sort by finding, stable */
    for (size_t i = 0; i < L->nm; i++)
        L->f[L->m[i].fin].nm++;
    uint32_t at = 0;
    for (size_t i = 0; i < L->nf; i++)
        L->f[i].m0 = at, at += L->f[i].nm, L->f[i].nm = 0;
    mrow *sorted = fr_xmalloc((L->nm ? L->nm : 1) * sizeof *sorted);
    for (size_t i = 0; i < L->nm; i++) {
        fin *f = &L->f[L->m[i].fin];
        sorted[f->m0 + f->nm++] = L->m[i];
    }
    free(L->m);
    L->m = sorted;
    return FR_OK;
}

/* Locations read by one thread: its own records, chains and dates, joined
 * into the load afterwards (in content order: this part's rows precede the
 * next part's, and a blob's rows are all in one part). */
typedef struct {
    load *L;
    sqlite3 *db;    /* its connection */
    int64_t lo, hi; /* content id range (lo, hi]; lo > hi: content by content */
    fr_buf lpool, dpool;
    lrow *l;
    size_t nl, capl;
    uint32_t *head, *tail; /* per content */
    size_t *mindate;       /* per content, in dpool */
    int rc;
    char err[256];
    double cpu;       /* its thread's CPU time */
    atomic_int *keys; /* then the matched content's keys (into kpool), if this part
                         is the first to take them; keys_read: it read them */
    int keys_read;
    fr_buf kpool;
} part;

static int read_keys(load *L, sqlite3 *db, int sparse, fr_buf *kpool);

/* One location row: (content_id, author_date, passes the filter, recorded
 * columns...). */
static void add_location(part *P, sqlite3_stmt *st, int32_t ci)
{
    const load *L = P->L;
    if (L->need_intro) {
        const char *d = (const char *)sqlite3_column_text(st, L->date_col);
        if (d && (P->mindate[ci] == NONE || strcmp(d, P->dpool.p + P->mindate[ci]) < 0))
            P->mindate[ci] = str_put(&P->dpool, st, L->date_col);
    }
    if ((L->flt->repo || L->flt->path) && !sqlite3_column_int(st, 2)) return;
    if (L->nlcol == 1 && P->tail[ci] != NONE32) { /* the summary: each repository once */
        const char *v = (const char *)sqlite3_column_text(st, 3), *prev;
        rec_get(&P->lpool, P->l[P->tail[ci]].rec, 1, &prev);
        if (v && prev && !strcmp(v, prev)) return;
    }
    GROW(P->l, P->nl, P->capl);
    P->l[P->nl] = (lrow){rec_put(&P->lpool, st, 3, L->nlcol, 0), NONE32};
    if (P->tail[ci] == NONE32)
        P->head[ci] = (uint32_t)P->nl;
    else
        P->l[P->tail[ci]].next = (uint32_t)P->nl;
    P->tail[ci] = (uint32_t)P->nl++;
}

static void *scan_part(void *arg)
{
    part *P = arg;
    double cpu0 = thread_cpu();
    load *L = P->L;
    const fr_report_filter *flt = L->flt;
    int sparse = P->lo > P->hi;
    fr_buf q = {0};
    /* (without the date, the summary's columns are all in an index) */
    fr_buf_printf(&q, "SELECT content_id, %s, 1%s%s, %s FROM locations l%s",
                  L->need_intro && L->date_col == 1 ? "author_date" : "NULL",
                  flt->repo ? " AND l.repo GLOB :repo" : "",
                  flt->path ? " AND l.path GLOB :path" : "", L->loc_cols,
                  sparse ? " WHERE content_id = :cid"
                         : " WHERE content_id > :lo AND content_id <= :hi");
    sqlite3_stmt *st = NULL;
    P->rc = sqlite3_prepare_v2(P->db, q.p, -1, &st, NULL);
    fr_buf_release(&q);
    int step = SQLITE_DONE;
    if (P->rc == SQLITE_OK) {
        bind_filter(st, flt);
        if (sparse) {
            int p = sqlite3_bind_parameter_index(st, ":cid");
            for (size_t i = 0; i < L->nc && step == SQLITE_DONE; i++) {
                sqlite3_bind_int64(st, p, L->c[i].id);
                while ((step = sqlite3_step(st)) == SQLITE_ROW)
                    add_location(P, st, (int32_t)i);
                sqlite3_reset(st);
            }
        } else {
            sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":lo"), P->lo);
            sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":hi"), P->hi);
            while ((step = sqlite3_step(st)) == SQLITE_ROW) {
                int32_t ci = map_get(L->cmap, L->ncmap, sqlite3_column_int64(st, 0));
                if (ci >= 0) add_location(P, st, ci);
            }
        }
        P->rc = step == SQLITE_DONE ? SQLITE_OK : step;
    }
    sqlite3_finalize(st);
    if (P->rc == SQLITE_OK && P->keys && !atomic_exchange(P->keys, 1) &&
        (P->rc = read_keys(L, P->db, 0, &P->kpool)) == SQLITE_OK)
        P->keys_read = 1;
    if (P->rc != SQLITE_OK) snprintf(P->err, sizeof P->err, "%s", sqlite3_errmsg(P->db));
    P->cpu += thread_cpu() - cpu0;
    return NULL;
}

/* The matched content's keys, on connection db (an SQLite code). */
static int read_keys(load *L, sqlite3 *db, int sparse, fr_buf *kpool)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db, sparse ? "SELECT id, key FROM content WHERE id = ?" : "SELECT id, key FROM content", -1,
        &st, NULL);
    if (rc != SQLITE_OK) return rc;
    int step = SQLITE_DONE;
    if (sparse) {
        for (size_t i = 0; i < L->nc && step == SQLITE_DONE; i++) {
            sqlite3_bind_int64(st, 1, L->c[i].id);
            while ((step = sqlite3_step(st)) == SQLITE_ROW)
                L->c[i].key = str_put(kpool, st, 1);
            sqlite3_reset(st);
        }
    } else {
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            int32_t ci = map_get(L->cmap, L->ncmap, sqlite3_column_int64(st, 0));
            if (ci >= 0) L->c[ci].key = str_put(kpool, st, 1);
        }
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? SQLITE_OK : step;
}

static void part_init(part *P, load *L, sqlite3 *db, int64_t lo, int64_t hi)
{
    *P = (part){.L = L, .db = db, .lo = lo, .hi = hi};
    size_t n = L->nc ? L->nc : 1;
    P->head = fr_xmalloc(n * sizeof *P->head);
    P->tail = fr_xmalloc(n * sizeof *P->tail);
    P->mindate = fr_xmalloc(n * sizeof *P->mindate);
    memset(P->head, 0xff, n * sizeof *P->head);
    memset(P->tail, 0xff, n * sizeof *P->tail);
    memset(P->mindate, 0xff, n * sizeof *P->mindate);
}

static void part_free(part *P)
{
    fr_buf_release(&P->kpool);
    fr_buf_release(&P->lpool);
    fr_buf_release(&P->dpool);
    free(P->l), free(P->head), free(P->tail), free(P->mindate);
}

#define LPOOL2 ((size_t)1 << (sizeof(size_t) * 8 - 1))

/* A location record's columns (in lpool or lpool2). */
static void lrec_get(const load *L, size_t rec, int n, const char **out)
{
    if (rec & LPOOL2)
        rec_get(&L->lpool2, rec & ~LPOOL2, n, out);
    else
        rec_get(&L->lpool, rec, n, out);
}

/* Appends a part's rows to the load: chains after the earlier parts' rows.
 * Its records stay where they are: the first part's pool becomes lpool, the
 * second's lpool2 (not copied). */
static void part_join(load *L, part *P)
{
    uint32_t ioff = (uint32_t)L->nl;
    if (!L->nl && !L->lpool.p && !L->l) { /* the first part: taken as it is */
        L->lpool = P->lpool, P->lpool = (fr_buf){0};
        L->l = P->l, L->nl = P->nl, L->capl = P->capl, P->l = NULL;
    } else {
        L->lpool2 = P->lpool, P->lpool = (fr_buf){0};
        if (L->nl + P->nl > L->capl) {
            L->capl = L->nl + P->nl;
            L->l = fr_xrealloc(L->l, L->capl * sizeof *L->l);
        }
        for (size_t i = 0; i < P->nl; i++)
            L->l[L->nl++] =
                (lrow){P->l[i].rec | LPOOL2, P->l[i].next == NONE32 ? NONE32 : P->l[i].next + ioff};
    }
    if (P->kpool.p) L->kpool = P->kpool, P->kpool = (fr_buf){0};
    for (size_t i = 0; i < L->nc; i++) {
        cont *c = &L->c[i];
        if (P->head[i] != NONE32) {
            if (c->tail == NONE32)
                c->head = P->head[i] + ioff;
            else
                L->l[c->tail].next = P->head[i] + ioff;
            c->tail = P->tail[i] + ioff;
        }
        const char *d = P->mindate[i] == NONE ? NULL : P->dpool.p + P->mindate[i];
        if (d && (c->mindate == NONE || strcmp(d, L->cpool.p + c->mindate) < 0)) {
            c->mindate = L->cpool.len;
            fr_buf_append(&L->cpool, d, strlen(d) + 1);
        }
    }
    part_free(P);
}

/* A second read-only connection to the store, for a second scanning thread
 * (NULL when there is none to be had: the scan then stays on one thread). */
static sqlite3 *second_connection(load *L)
{
    sqlite3 *db = fr_store_db(L->s), *db2 = NULL;
    const char *file = sqlite3_db_filename(db, "main");
    if (!file || !*file || fr_ncpus() < 2) return NULL;
    if (sqlite3_open_v2(file, &db2, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db2);
        return NULL;
    }
    sqlite3_exec(db2, "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -65536", NULL, NULL,
                 NULL);
    return db2;
}

/* The locations (and keys) of the matched content. A full scan of many rows
 * is split by content id (the table's key) between two threads (each its own
 * connection): about half of a large report's time is this scan. */
static int load_locations(load *L)
{
    double w0 = fr_monotonic(), c0 = thread_cpu();
    int sparse = L->nc * 8 < (size_t)count_of(L, "SELECT max(id) FROM content");
    int64_t lo = count_of(L, "SELECT min(content_id) - 1 FROM locations"),
            hi = count_of(L, "SELECT max(content_id) FROM locations");
    part P[2];
    int np = 1;
    sqlite3 *db2 = NULL;
    atomic_int keys_claim = 0;
    if (sparse) {
        part_init(&P[0], L, fr_store_db(L->s), 1, 0);
        scan_part(&P[0]);
    } else {
        pthread_t t;
        int64_t mid = lo + (hi - lo) / 2;
        if (L->nc >= 100000 && (db2 = second_connection(L))) {
            part_init(&P[0], L, fr_store_db(L->s), lo, mid);
            part_init(&P[1], L, db2, mid, hi);
            /* the keys: read by the part that finishes first */
            if (L->keys) P[0].keys = P[1].keys = &keys_claim;
            np = 2;
            if (pthread_create(&t, NULL, scan_part, &P[1])) {
                scan_part(&P[1]);
                scan_part(&P[0]);
            } else {
                scan_part(&P[0]);
                pthread_join(t, NULL);
            }
            if (P[1].rc != SQLITE_OK) { /* (a connection that cannot read it: on ours) */
                part_free(&P[1]);
                part_init(&P[1], L, fr_store_db(L->s), mid, hi);
                scan_part(&P[1]);
            }
        } else {
            part_init(&P[0], L, fr_store_db(L->s), lo, hi);
            scan_part(&P[0]);
        }
    }
    trace("locations", &w0, &c0, np == 2 ? P[1].cpu : -1);
    int rc = FR_OK, keys_read = P[0].keys_read || (np == 2 && P[1].keys_read);
    for (int i = 0; i < np; i++) {
        if (P[i].rc != SQLITE_OK && rc == FR_OK) {
            fr_error_set("reading findings: %s", P[i].err);
            rc = FR_ERR;
        }
        part_join(L, &P[i]);
    }
    sqlite3_close(db2);
    trace("join", &w0, &c0, -1);
    if (rc || !L->keys || keys_read) return rc;
    if ((rc = read_keys(L, fr_store_db(L->s), sparse, &L->kpool)) != SQLITE_OK)
        rc = fr_store_sql_error(L->s, "reading findings");
    trace("keys", &w0, &c0, -1);
    return rc;
}

/* Whether a finding passes the occurrence-level and date parts of the filter;
 * sets its introduction date (the SQL order of old: every location of its
 * content counts, whatever the repo and path filters keep). */
static int keep_finding(load *L, fin *f)
{
    const fr_report_filter *flt = L->flt;
    if (flt->repo || flt->path) {
        int any = 0;
        for (uint32_t j = 0; j < f->nm && !any; j++)
            any = L->c[L->m[f->m0 + j].content].head != NONE32;
        if (!any) return 0;
    }
    if (!L->need_intro) return 1;
    const char *intro = NULL;
    for (uint32_t j = 0; j < f->nm; j++) {
        const cont *c = &L->c[L->m[f->m0 + j].content];
        if (c->mindate != NONE && (!intro || strcmp(L->cpool.p + c->mindate, intro) < 0))
            intro = L->cpool.p + c->mindate;
    }
    if (!intro) {
        const char *r[32];
        rec_get(&L->fpool, f->rec, L->nfcol, r);
        intro = r[L->first_seen_col];
    }
    f->intro = intro ? intro : "";
    if (flt->since && strcmp(f->intro, flt->since) < 0) return 0;
    if (flt->until && strncmp(f->intro, flt->until, strlen(flt->until)) > 0) return 0;
    return 1;
}

/* Loads everything; *order gets the kept findings (indexes into L->f). */
static int load_all(load *L, const char *cols, const char *plain, int full, int rules,
                    uint32_t **order, size_t *n)
{
    double w0 = fr_monotonic(), c0 = thread_cpu();
    int rc = load_findings(L, cols, plain, full, rules);
    trace("findings", &w0, &c0, -1);
    int occ = L->nf && (full || L->flt->repo || L->flt->path || L->need_intro);
    if (rc == FR_OK && occ) rc = load_matches(L);
    trace("matches", &w0, &c0, -1);
    if (rc == FR_OK && occ) rc = load_locations(L);
    *order = NULL, *n = 0;
    if (rc) return rc;
    w0 = fr_monotonic(), c0 = thread_cpu();
    *order = fr_xmalloc((L->nf ? L->nf : 1) * sizeof **order);
    for (size_t i = 0; i < L->nf; i++)
        if (!occ || keep_finding(L, &L->f[i])) (*order)[(*n)++] = (uint32_t)i;
    trace("select", &w0, &c0, -1);
    return FR_OK;
}

/* ---- each finding ---- */

#define NFCOL 23 /* text columns of a finding record (the select list's 0..22) */
#define NLCOL 13 /* text columns of a location record */

/* (the rule's columns, 2..7 and 22, come from L->rmeta: NULL here) */
static const char *const FINDING_COLS =
    "f.id, f.rule_id, NULL, NULL, NULL, NULL, NULL, NULL, f.secret_sha256, f.preview, f.secret,"
    " f.first_seen, f.last_seen, f.first_run, f.last_run, f.validated, f.fid, " FR_SQL_STATUS ","
    " CASE WHEN t.status IS NOT NULL THEN t.comment ELSE b.reason END,"
    " CASE WHEN t.status IS NOT NULL THEN t.who END,"
    " CASE WHEN t.status IS NOT NULL THEN t.at END, f.kind, NULL";
static const char *const FINDING_COLS_PLAIN =
    "f.id, f.rule_id, NULL, NULL, NULL, NULL, NULL, NULL, f.secret_sha256, f.preview, f.secret,"
    " f.first_seen, f.last_seen, f.first_run, f.last_run, f.validated, f.fid, 'open', NULL, NULL,"
    " NULL, f.kind, NULL";

static const char *const LOC_COLS = "source_kind, repo, path, commit_id, author_name, author_email,"
                                    " author_date, committer_date, ref, mtime, ci_run, ci_job,"
                                    " ci_step";

static load *g_sort; /* qsort has no context argument */

static int cmp_finding(const void *a, const void *b)
{
    const load *L = g_sort;
    const fin *x = &L->f[*(const uint32_t *)a], *y = &L->f[*(const uint32_t *)b];
    int c;
    if (L->flt->sort == FR_SORT_SEVERITY) {
        /* severity (critical first), introduction (newest first), rule, id */
        if (x->sevrank != y->sevrank) return x->sevrank > y->sevrank ? -1 : 1;
        if ((c = strcmp(y->intro, x->intro))) return c;
    }
    if ((c = strcmp(x->rule, y->rule))) return c; /* then finding id, or secret hash */
    return cmp_str(&x->tie, &y->tie);
}

typedef struct {
    fr_finding_row f;
    fr_occurrence_row *occ;
    const char **keys;
    size_t n, cap;
} acc;

/* Completes the finding (spread, order) and hands it to cb. */
static int finish_finding(acc *a, const fr_report_filter *flt, fr_finding_cb cb, void *ctx)
{
    size_t n = a->n;
    fr_occurrence_row *occ = a->occ;
    fr_finding_row *f = &a->f;
    const char *intro = NULL;
    for (size_t k = 0; k < n; k++)
        if (occ[k].author_date && (!intro || strcmp(occ[k].author_date, intro) < 0))
            intro = occ[k].author_date;
    f->introduced = intro ? intro : f->first_seen;
    f->nocc_total = n;
    f->ncommits = f->nrepos = f->npaths = 0;
    if (!flt->no_spread) {
        for (size_t k = 0; k < n; k++)
            a->keys[k] = occ[k].commit;
        f->ncommits = ndistinct(a->keys, n);
        for (size_t k = 0; k < n; k++)
            a->keys[k] = occ[k].repo;
        f->nrepos = ndistinct(a->keys, n);
    }
    /* paths are distinct per repository: sorted by place, compare neighbours */
    qsort(occ, n, sizeof *occ, cmp_place);
    for (size_t k = 0; k < n && !flt->no_spread; k++)
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

static int emit_finding(load *L, const fin *fi, acc *a, fr_finding_cb cb, void *ctx)
{
    const char *r[NFCOL];
    rec_get(&L->fpool, fi->rec, NFCOL, r);
    static const rmeta unknown = {NULL, "medium", "medium", "", NULL, "", NULL};
    const rmeta *rm = fi->rule_ix >= 0 ? &L->rmeta[fi->rule_ix] : &unknown;
    a->f = (fr_finding_row){
        .id = fi->id,
        .rule_id = r[1],
        .rule_name = rm->name ? rm->name : r[1],
        .severity = rm->severity,
        .confidence = rm->confidence,
        .attack = rm->attack,
        .description = rm->description,
        .refs = rm->refs,
        .secret_sha256 = r[8],
        .preview = r[9],
        .secret = L->flt->with_secrets ? r[10] : NULL,
        .first_seen = r[11],
        .last_seen = r[12],
        .first_run = fi->first_run,
        .last_run = fi->last_run,
        .validated = fi->validated,
        .fid = r[16],
        .status = r[17],
        .status_comment = r[18],
        .status_who = r[19],
        .status_at = r[20],
        .kind = r[21],
        .attack_version = rm->attack_version,
    };
    a->n = 0;
    for (uint32_t j = 0; j < fi->nm; j++) {
        const mrow *m = &L->m[fi->m0 + j];
        const cont *c = &L->c[m->content];
        for (uint32_t li = c->head; li != NONE32; li = L->l[li].next) {
            if (a->n == a->cap) {
                a->cap = a->cap ? a->cap * 2 : 64;
                a->occ = fr_xrealloc(a->occ, a->cap * sizeof *a->occ);
                a->keys = fr_xrealloc(a->keys, a->cap * sizeof *a->keys);
            }
            const char *v[NLCOL];
            lrec_get(L, L->l[li].rec, NLCOL, v);
            a->occ[a->n++] = (fr_occurrence_row){
                .kind = v[0],
                .repo = v[1],
                .path = v[2],
                .commit = v[3],
                .content_key = c->key == NONE ? NULL : L->kpool.p + c->key,
                .author_name = v[4],
                .author_email = v[5],
                .author_date = v[6],
                .committer_date = v[7],
                .ref = v[8],
                .mtime = v[9],
                .ci_run = v[10],
                .ci_job = v[11],
                .ci_step = v[12],
                .transform = m->transform == NONE ? NULL : L->mpool.p + m->transform,
                .line = m->line,
                .column = m->col,
            };
        }
    }
    return finish_finding(a, L->flt, cb, ctx);
}

/* Findings of one thread, order[from .. to), each handed to cb with ctx. */
typedef struct {
    load *L;
    const uint32_t *order;
    size_t from, to;
    acc a;
    fr_finding_cb cb;
    void *ctx;
    int rc;
    double cpu;    /* its thread's CPU time */
    char msg[256]; /* fr_error() of a failure, carried off its thread */
} erange;

static void *emit_range(void *arg)
{
    erange *E = arg;
    double c0 = thread_cpu();
    E->rc = FR_OK;
    for (size_t i = E->from; i < E->to && E->rc == FR_OK; i++)
        E->rc = emit_finding(E->L, &E->L->f[E->order[i]], &E->a, E->cb, E->ctx);
    if (E->rc != FR_OK) snprintf(E->msg, sizeof E->msg, "%s", fr_error());
    E->cpu += thread_cpu() - c0;
    return NULL;
}

/* Batches of findings two threads complete (spread, order) and pass on: with
 * two CPUs, half the time of writing a large report. */
#define EMIT_BATCH 2048

/* FERRET_REPORT_THREADS=1: batches made on one thread, as with one CPU (tests). */
static int one_thread(void)
{
    const char *e = getenv("FERRET_REPORT_THREADS");
    return e && !strcmp(e, "1");
}

static int each_finding(fr_store *s, const fr_report_filter *flt_in, fr_finding_cb cb,
                        void *const ctx[2], fr_batch_cb done)
{
    static const fr_report_filter none = {0};
    const fr_report_filter *flt = flt_in ? flt_in : &none;
    map_for_reading(s);
    load L = {.s = s,
              .flt = flt,
              .nfcol = NFCOL,
              .nlcol = NLCOL,
              .first_seen_col = 11,
              .need_intro = flt->sort == FR_SORT_SEVERITY || flt->since || flt->until,
              .keys = !flt->no_content_key,
              .loc_cols = LOC_COLS,
              .date_col = 3 + 6}; /* (LOC_COLS's author_date) */
    uint32_t *order = NULL;
    size_t n = 0;
    int rc = load_all(&L, FINDING_COLS, FINDING_COLS_PLAIN, 1, 0, &order, &n);
    double w0 = fr_monotonic(), c0 = thread_cpu(), wd = 0, cd = 0;
    if (rc == FR_OK) {
        for (size_t i = 0; i < n; i++) {
            fin *f = &L.f[order[i]];
            const char *r[NFCOL];
            rec_get(&L.fpool, f->rec, NFCOL, r);
            f->rule = r[1];
            f->tie = r[flt->sort == FR_SORT_SEVERITY ? 16 : 8];
        }
        g_sort = &L;
        qsort(order, n, sizeof *order, cmp_finding);
        g_sort = NULL;
        trace("sort", &w0, &c0, -1);
        erange E[2] = {{.L = &L, .order = order, .cb = cb, .ctx = ctx[0]},
                       {.L = &L, .order = order, .cb = cb, .ctx = done ? ctx[1] : ctx[0]}};
        if (!done) {
            E[0].to = n;
            emit_range(&E[0]);
            rc = E[0].rc;
        } else if (n <= EMIT_BATCH || fr_ncpus() < 2 || one_thread()) {
            /* one thread: each batch passed on when made (done), or the whole
             * report would wait in ctx[0]'s memory */
            for (size_t at = 0; at < n && rc == FR_OK; at += EMIT_BATCH) {
                E[0].from = at, E[0].to = at + EMIT_BATCH < n ? at + EMIT_BATCH : n;
                emit_range(&E[0]);
                rc = E[0].rc;
                if (rc == FR_OK) rc = done(ctx[0]);
            }
            if (!n && rc == FR_OK) rc = done(ctx[0]);
        } else {
            /* batch 2k on this thread, 2k + 1 on another, then both passed on in order */
            for (size_t at = 0; at < n && rc == FR_OK; at += 2 * EMIT_BATCH) {
                E[0].from = at, E[0].to = at + EMIT_BATCH < n ? at + EMIT_BATCH : n;
                E[1].from = E[0].to, E[1].to = E[0].to + EMIT_BATCH < n ? E[0].to + EMIT_BATCH : n;
                pthread_t t;
                int threaded = E[1].from < E[1].to && !pthread_create(&t, NULL, emit_range, &E[1]);
                emit_range(&E[0]);
                if (threaded)
                    pthread_join(t, NULL);
                else
                    emit_range(&E[1]);
                rc = E[0].rc ? E[0].rc : E[1].rc;
                if (!E[0].rc && E[1].rc) fr_error_set("%s", E[1].msg); /* thread-local */
                double w1 = fr_monotonic(), c1 = thread_cpu();
                if (rc == FR_OK) rc = done(ctx[0]);
                if (rc == FR_OK) rc = done(ctx[1]);
                wd += fr_monotonic() - w1, cd += thread_cpu() - c1;
            }
        }
        if (tracing()) {
            w0 += wd, c0 += cd;
            trace("emit", &w0, &c0, done ? E[1].cpu : -1);
            fprintf(stderr, "report: %-10s wall %.3f s, cpu %.3f s\n", "write", wd, cd);
        }
        for (int i = 0; i < 2; i++)
            free(E[i].a.occ), free(E[i].a.keys);
    }
    free(order);
    load_free(&L);
    return rc;
}

int fr_store_each_finding(fr_store *s, const fr_report_filter *flt, fr_finding_cb cb, void *ctx)
{
    void *const c[2] = {ctx, ctx};
    return each_finding(s, flt, cb, c, NULL);
}

int fr_store_each_finding2(fr_store *s, const fr_report_filter *flt, fr_finding_cb cb,
                           void *const ctx[2], fr_batch_cb done)
{
    return each_finding(s, flt, cb, ctx, done);
}

/* ---- summary ---- */

typedef struct {
    const char *key;
    int64_t n;
    int rank;
} kcount;

static int cmp_kcount(const void *a, const void *b)
{
    const kcount *x = a, *y = b;
    if (x->rank != y->rank) return x->rank > y->rank ? -1 : 1;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* Counts equal keys (a hash table: one pass) and calls cb with them, most
 * first (severity: by rank), then by key. */
static int emit_group(const char *group, const char **keys, size_t n, int by_rank, fr_summary_cb cb,
                      void *ctx)
{
    size_t size = 64;
    while (size < 2 * n)
        size *= 2;
    kcount *t = fr_xcalloc(size, sizeof *t), *g = fr_xmalloc((n ? n : 1) * sizeof *g);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = 14695981039346656037u;
        for (const unsigned char *p = (const unsigned char *)keys[i]; *p; p++)
            h = (h ^ *p) * 1099511628211u;
        size_t k = (size_t)h & (size - 1);
        while (t[k].key && strcmp(t[k].key, keys[i]))
            k = (k + 1) & (size - 1);
        if (!t[k].key) t[k] = (kcount){keys[i], 0, by_rank ? sev_rank(keys[i]) : 0};
        t[k].n++;
    }
    for (size_t k = 0; k < size; k++)
        if (t[k].key) g[ng++] = t[k];
    qsort(g, ng, sizeof *g, cmp_kcount);
    int rc = FR_OK;
    for (size_t i = 0; i < ng && rc == FR_OK; i++)
        rc = cb(group, g[i].key, g[i].n, ctx);
    free(t), free(g);
    return rc;
}

/* ---- the summary's repositories, from the indexes ----
 * Which repositories each selected finding was seen in, from two covering
 * indexes read in content order (a fraction of the tables' pages): the
 * locations' (content, repository) and the matches' (content, finding). The
 * locations are read in ranges of content ids by two threads (the second
 * starts at once, the first when it has read the findings and matches), each
 * range's distinct (content, repository) pairs kept in order; repositories are
 * interned, so a finding's repositories are (finding, repository) number pairs,
 * sorted and counted once. */

#define RCHUNKS 16 /* content id ranges the two threads take in turn */

typedef struct {
    uint64_t *v; /* content id << 32 | repository number (of the thread that read it) */
    size_t n, cap;
    int by; /* the thread that read it */
} rchunk;

typedef struct rscan rscan;
typedef struct {
    rscan *R;
    sqlite3 *db;
    sqlite3_stmt *st;
    rtab repos;
    int rc, failed; /* failed: the chunk it could not read (-1: none) */
    char err[256];
} rworker;

struct rscan {
    const fr_report_filter *flt;
    int64_t lo, step; /* chunk i: content ids (lo + i * step, lo + (i + 1) * step] */
    rchunk chunk[RCHUNKS];
    atomic_int next;
    rworker w[2];
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads chunk i on W's connection. */
static void read_chunk(rworker *W, int i)
{
    rscan *R = W->R;
    const fr_report_filter *flt = R->flt;
    if (!W->st) {
        fr_buf q = {0};
        fr_buf_printf(&q,
                      "SELECT content_id, repo FROM locations WHERE content_id > :lo AND"
                      " content_id <= :hi%s%s",
                      flt->repo ? " AND repo GLOB :repo" : "",
                      flt->path ? " AND path GLOB :path" : "");
        W->rc = sqlite3_prepare_v2(W->db, q.p, -1, &W->st, NULL);
        fr_buf_release(&q);
        if (W->rc == SQLITE_OK) bind_filter(W->st, flt);
    }
    rchunk *c = &R->chunk[i];
    c->by = (int)(W - R->w), c->n = 0;
    int step = SQLITE_DONE, sorted = 1;
    if (W->rc == SQLITE_OK) {
        sqlite3_stmt *st = W->st;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":lo"), R->lo + i * R->step);
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":hi"),
                           i == RCHUNKS - 1 ? INT64_MAX : R->lo + (i + 1) * R->step);
        int64_t last_cid = -1;
        uint32_t last = 0;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t cid = sqlite3_column_int64(st, 0);
            const char *r = (const char *)sqlite3_column_text(st, 1);
            if (!r) r = "";
            size_t len = strlen(r);
            uint32_t id = last; /* (most rows: the previous row's repository) */
            if (!W->repos.n || strncmp(W->repos.keys[id], r, len) || W->repos.keys[id][len])
                id = rtab_id(&W->repos, r, len);
            /* (the index holds a content's rows together, by kind and repository) */
            if ((cid == last_cid && id == last) || cid < 0 || cid > UINT32_MAX) continue;
            sorted &= cid >= last_cid;
            last_cid = cid, last = id;
            GROW(c->v, c->n, c->cap);
            c->v[c->n++] = (uint64_t)cid << 32 | id;
        }
        W->rc = step == SQLITE_DONE ? SQLITE_OK : step;
    }
    if (W->rc != SQLITE_OK) {
        snprintf(W->err, sizeof W->err, "%s", sqlite3_errmsg(W->db));
        W->failed = i;
    }
    if (!sorted && c->n) qsort(c->v, c->n, sizeof *c->v, cmp_u64);
}

/* Reads chunks until none is left (or one fails). */
static void *rscan_run(void *arg)
{
    rworker *W = arg;
    int i;
    while (W->rc == SQLITE_OK && (i = atomic_fetch_add(&W->R->next, 1)) < RCHUNKS)
        read_chunk(W, i);
    return NULL;
}

/* The summary without introduction dates: findings, then repositories from the
 * indexes (see above). */
static int summary_fast(fr_store *s, const fr_report_filter *flt, int64_t *total, fr_summary_cb cb,
                        void *ctx)
{
    /* record: id, rule, severity (or NULL: from the rules), status, kind */
    load L = {.s = s, .flt = flt, .nfcol = 5, .nlcol = 1};
    sqlite3_stmt *st = NULL;
    rscan *R = fr_xcalloc(1, sizeof *R);
    R->flt = flt;
    int64_t maxc = count_of(&L, "SELECT max(id) FROM content");
    R->lo = count_of(&L, "SELECT min(id) - 1 FROM content");
    R->step = (maxc - R->lo) / RCHUNKS + 1;
    for (int i = 0; i < 2; i++)
        R->w[i] = (rworker){.R = R, .db = fr_store_db(s), .failed = -1};
    pthread_t t;
    int threaded = (maxc - R->lo) >= 20000 && (R->w[1].db = second_connection(&L)) &&
                   !pthread_create(&t, NULL, rscan_run, &R->w[1]);
    /* severities from the rules table, not joined per finding (unless filtered by) */
    int join = flt->min_severity != NULL;
    int rc =
        join ? load_findings(
                   &L, "f.id, f.rule_id, coalesce(r.severity, 'medium'), " FR_SQL_STATUS ", f.kind",
                   "f.id, f.rule_id, coalesce(r.severity, 'medium'), 'open', f.kind", 0, 1)
             : load_findings(&L, "f.id, f.rule_id, NULL, " FR_SQL_STATUS ", f.kind",
                             "f.id, f.rule_id, NULL, 'open', f.kind", 0, 0);
    rtab rules = {0};
    const char **sevs = NULL; /* by rule number */
    if (rc == FR_OK && !join &&
        (rc = prepare(&L, "SELECT id, severity FROM rules", &st)) == FR_OK) {
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            const char *sev = (const char *)sqlite3_column_text(st, 1);
            uint32_t k = rtab_id(&rules, id ? id : "", id ? strlen(id) : 0);
            sevs = fr_xrealloc(sevs, rules.n * sizeof *sevs);
            if (k == rules.n - 1) sevs[k] = fr_xstrdup(sev ? sev : "medium");
        }
        if (step != SQLITE_DONE) rc = fr_store_sql_error(L.s, "reading rules");
        sqlite3_finalize(st);
        st = NULL;
    }
    size_t nsevs = rules.n;
    /* the selected findings' matches, by content */
    uint64_t *mv = NULL; /* content id << 32 | finding index */
    size_t nm = 0, capm = 0;
    if (rc == FR_OK &&
        (rc = prepare(&L, "SELECT content_id, finding_id FROM matches", &st)) == FR_OK) {
        int step, sorted = 1;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            int32_t fi = map_get(L.fmap, L.nfmap, sqlite3_column_int64(st, 1));
            int64_t cid = sqlite3_column_int64(st, 0);
            if (fi < 0 || cid < 0 || cid > UINT32_MAX) continue;
            GROW(mv, nm, capm);
            mv[nm] = (uint64_t)cid << 32 | (uint32_t)fi;
            sorted &= !nm || mv[nm] > mv[nm - 1];
            nm++;
        }
        if (step != SQLITE_DONE) rc = fr_store_sql_error(L.s, "reading findings");
        sqlite3_finalize(st);
        if (!sorted && nm) qsort(mv, nm, sizeof *mv, cmp_u64);
    }
    if (rc != FR_OK || !nm) atomic_store(&R->next, RCHUNKS); /* nothing to look for */
    rscan_run(&R->w[0]);
    if (threaded) pthread_join(t, NULL);
    sqlite3_finalize(R->w[1].st);
    sqlite3_close(R->w[1].db == fr_store_db(s) ? NULL : R->w[1].db);
    if (R->w[1].rc != SQLITE_OK && R->w[0].rc == SQLITE_OK) {
        /* (a connection that cannot read it: the chunk on ours) */
        R->w[1].rc = SQLITE_OK;
        read_chunk(&R->w[0], R->w[1].failed);
    }
    sqlite3_finalize(R->w[0].st);
    for (int i = 0; i < 2 && rc == FR_OK; i++)
        if (R->w[i].rc != SQLITE_OK) {
            fr_error_set("reading findings: %s", R->w[i].err);
            rc = FR_ERR;
        }
    /* one numbering of the repositories; (finding, repository) pairs by a
     * merge of the two lists in content order */
    rtab names = {0};
    uint32_t *to[2] = {NULL, NULL};
    for (int w = 0; w < 2; w++) {
        to[w] = fr_xmalloc((R->w[w].repos.n ? R->w[w].repos.n : 1) * sizeof *to[w]);
        for (size_t i = 0; i < R->w[w].repos.n; i++)
            to[w][i] = rtab_id(&names, R->w[w].repos.keys[i], strlen(R->w[w].repos.keys[i]));
    }
    uint64_t *pairs = NULL;
    size_t np = 0, capp = 0, m = 0;
    for (int c = 0; c < RCHUNKS && rc == FR_OK; c++) {
        const rchunk *k = &R->chunk[c];
        for (size_t i = 0; i < k->n; i++) {
            uint64_t cid = k->v[i] >> 32;
            while (m < nm && mv[m] >> 32 < cid)
                m++;
            for (size_t j = m; j < nm && mv[j] >> 32 == cid; j++) {
                GROW(pairs, np, capp);
                pairs[np++] = (mv[j] & UINT32_MAX) << 32 | to[k->by][k->v[i] & UINT32_MAX];
            }
        }
    }
    if (np) qsort(pairs, np, sizeof *pairs, cmp_u64);
    unsigned char *kept = fr_xcalloc(L.nf ? L.nf : 1, 1);
    const char **repos = fr_xmalloc((np ? np : 1) * sizeof *repos);
    size_t nrepos = 0;
    for (size_t i = 0; i < np; i++)
        if (!i || pairs[i] != pairs[i - 1]) {
            kept[pairs[i] >> 32] = 1;
            repos[nrepos++] = names.keys[pairs[i] & UINT32_MAX];
        }
    /* without a repo or path filter, a finding with no location counts too */
    size_t n = 0;
    const char **keys = fr_xmalloc((L.nf ? L.nf : 1) * sizeof *keys);
    uint32_t *order = fr_xmalloc((L.nf ? L.nf : 1) * sizeof *order);
    for (size_t i = 0; i < L.nf; i++)
        if (kept[i] || (!flt->repo && !flt->path)) order[n++] = (uint32_t)i;
    *total = (int64_t)n;
    static const char *const groups[] = {"severity", "rule", "repo", "status", "kind"};
    static const int col[] = {2, 1, -1, 3, 4};
    for (int g = 0; g < 5 && rc == FR_OK; g++) {
        if (col[g] < 0) {
            rc = emit_group(groups[g], repos, nrepos, 0, cb, ctx);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            const char *r[5];
            rec_get(&L.fpool, L.f[order[i]].rec, 5, r);
            keys[i] = r[col[g]] ? r[col[g]] : "";
            if (g == 0 && !join) { /* the rule's, medium when it is not recorded */
                uint32_t k = rtab_id(&rules, r[1] ? r[1] : "", r[1] ? strlen(r[1]) : 0);
                keys[i] = k < nsevs ? sevs[k] : "medium";
            }
        }
        rc = emit_group(groups[g], keys, n, g == 0, cb, ctx);
    }
    for (int i = 0; i < RCHUNKS; i++)
        free(R->chunk[i].v);
    for (int w = 0; w < 2; w++)
        rtab_free(&R->w[w].repos), free(to[w]);
    free(R), free(mv), free(pairs), free(keys), free(order), free(kept), free(repos);
    for (size_t i = 0; i < nsevs; i++)
        free((char *)sevs[i]);
    free(sevs);
    rtab_free(&names), rtab_free(&rules);
    load_free(&L);
    return rc;
}

int fr_store_summary(fr_store *s, const fr_report_filter *flt_in, int64_t *total, fr_summary_cb cb,
                     void *ctx)
{
    static const fr_report_filter none = {0};
    const fr_report_filter *flt = flt_in ? flt_in : &none;
    map_for_reading(s);
    if (!flt->since && !flt->until) return summary_fast(s, flt, total, cb, ctx);
    /* record: id, rule, severity, status, kind, first_seen; locations: repo */
    load L = {.s = s,
              .flt = flt,
              .nfcol = 6,
              .nlcol = 1,
              .first_seen_col = 5,
              .need_intro = flt->since || flt->until,
              .loc_cols = "repo",
              .date_col = 1};
    uint32_t *order = NULL;
    size_t n = 0;
    int rc = load_all(
        &L,
        "f.id, f.rule_id, coalesce(r.severity, 'medium'), " FR_SQL_STATUS ", f.kind, f.first_seen",
        "f.id, f.rule_id, coalesce(r.severity, 'medium'), 'open', f.kind, f.first_seen", 0, 1,
        &order, &n);
    *total = (int64_t)n;
    /* the repositories need every kept finding's locations */
    if (rc == FR_OK && n && !L.m) {
        L.need_intro = 0;
        if ((rc = load_matches(&L)) == FR_OK) rc = load_locations(&L);
    }
    const char **keys = fr_xmalloc((n ? n : 1) * sizeof *keys), **repos = NULL;
    size_t nrepos = 0, caprepos = 0;
    static const char *const groups[] = {"severity", "rule", "repo", "status", "kind"};
    static const int col[] = {2, 1, -1, 3, 4};
    for (int g = 0; g < 5 && rc == FR_OK; g++) {
        if (col[g] < 0) { /* distinct repositories per finding */
            const char **mine = NULL;
            size_t cap = 0;
            for (size_t i = 0; i < n; i++) {
                const fin *f = &L.f[order[i]];
                size_t k = 0;
                for (uint32_t j = 0; j < f->nm; j++)
                    for (uint32_t li = L.c[L.m[f->m0 + j].content].head; li != NONE32;
                         li = L.l[li].next) {
                        GROW(mine, k, cap);
                        lrec_get(&L, L.l[li].rec, 1, &mine[k]);
                        if (!mine[k]) mine[k] = "";
                        k++;
                    }
                qsort(mine, k, sizeof *mine, cmp_str);
                for (size_t j = 0; j < k; j++)
                    if (!j || strcmp(mine[j], mine[j - 1])) {
                        GROW(repos, nrepos, caprepos);
                        repos[nrepos++] = mine[j];
                    }
            }
            free(mine);
            rc = emit_group(groups[g], repos, nrepos, 0, cb, ctx);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            const char *r[6];
            rec_get(&L.fpool, L.f[order[i]].rec, 6, r);
            keys[i] = r[col[g]] ? r[col[g]] : "";
        }
        rc = emit_group(groups[g], keys, n, g == 0, cb, ctx);
    }
    free(keys), free(repos), free(order);
    load_free(&L);
    return rc;
}
