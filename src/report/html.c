/*
 * html.c: the HTML report. The page itself (CSS, the inline JavaScript that
 * draws the charts and the table) is src/report/html_template.html, embedded at
 * build time; this file writes the data it reads: one JSON object, column by
 * column (an array per field, strings that repeat — repositories, paths,
 * authors, dates — interned in one table), so 100,000 findings stay a few MB
 * and parse fast. Only redacted previews, keyed finding ids and provenance go
 * in: never a secret's plaintext or its hash.
 */
#include "report/report.h"
#include "util/util.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

extern const char fr_html_template[];

#define MORE_LOCATIONS 4 /* locations listed per finding besides the first */

/* ------------------------------------------------------------ JSON text --- */

/* Appends s as a JSON string that is safe inside <script>: '<', '>' and '&' are
 * escaped (no '</script>' or '<!--' can appear), and bytes that are not UTF-8
 * are shown as the text \xNN, like the other reports. */
static void jesc(fr_buf *b, const char *s)
{
    fr_buf_reserve(b, strlen(s ? s : "") + 2);
    fr_buf_append(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned char c = *p;
        size_t run = 0;
        if (c < 0x80) {
            if (c == '"' || c == '\\')
                fr_buf_append(b, "\\", 1), fr_buf_append(b, p, 1);
            else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f)
                fr_buf_printf(b, "\\u%04x", c);
            else
                fr_buf_append(b, p, 1);
            p++;
            continue;
        }
        /* a well-formed multi-byte sequence is copied as is */
        if (c >= 0xC2 && c <= 0xDF)
            run = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            run = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            run = 4;
        size_t k = 1;
        while (run && k < run && (p[k] & 0xC0) == 0x80)
            k++;
        int ok = run && k == run;
        if (ok && run == 3) ok = !(c == 0xE0 && p[1] < 0xA0) && !(c == 0xED && p[1] >= 0xA0);
        if (ok && run == 4) ok = !(c == 0xF0 && p[1] < 0x90) && !(c == 0xF4 && p[1] >= 0x90);
        if (ok) {
            fr_buf_append(b, p, run);
            p += run;
        } else {
            fr_buf_printf(b, "\\\\x%02X", c);
            p++;
        }
    }
    fr_buf_append(b, "\"", 1);
}

/* ------------------------------------------------------------ interning --- */

typedef struct {
    fr_buf json; /* the table as JSON array elements */
    char **keys; /* open addressing, power-of-two size */
    int32_t *vals;
    size_t cap, n;
} strtab;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int32_t intern(strtab *t, const char *s)
{
    if (!s || !*s) return -1;
    if (t->n * 2 >= t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 1024;
        char **nk = fr_xcalloc(ncap, sizeof *nk);
        int32_t *nv = fr_xcalloc(ncap, sizeof *nv);
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->keys[i]) continue;
            size_t j = fnv(t->keys[i]) & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = t->keys[i];
            nv[j] = t->vals[i];
        }
        free(t->keys);
        free(t->vals);
        t->keys = nk;
        t->vals = nv;
        t->cap = ncap;
    }
    size_t j = fnv(s) & (t->cap - 1);
    while (t->keys[j]) {
        if (!strcmp(t->keys[j], s)) return t->vals[j];
        j = (j + 1) & (t->cap - 1);
    }
    t->keys[j] = fr_xstrdup(s);
    t->vals[j] = (int32_t)t->n;
    if (t->n) fr_buf_append(&t->json, ",", 1);
    jesc(&t->json, s);
    return (int32_t)t->n++;
}

static void strtab_free(strtab *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->vals);
    fr_buf_release(&t->json);
}

/* ---------------------------------------------------------------- columns --- */

enum {
    C_FID,
    C_RULE,
    C_PREV,
    C_ST,
    C_VAL,
    C_DATE,
    C_REPO,
    C_PATH,
    C_LINE,
    C_COMMIT,
    C_AUTHOR,
    C_KIND,
    C_NOCC,
    C_NCOMMIT,
    C_NPATH,
    C_NREPO,
    C_SEEN,
    C_MORE,
    NCOLS
};
static const char *const COLS[NCOLS] = {"fid",  "rule",    "prev",  "st",     "val",    "date",
                                        "repo", "path",    "line",  "commit", "author", "kind",
                                        "nocc", "ncommit", "npath", "nrepo",  "seen",   "more"};

/* Triage statuses, in the order the page lists them. */
static const char *const STATUSES[] = {"open", "accepted", "false-positive", "revoked",
                                       "baselined"};

typedef struct {
    fr_buf col[NCOLS];
    strtab strs, rules;
    fr_buf rules_json;
    size_t n;
} hctx;

static void sep(hctx *h, int c)
{
    if (h->n) fr_buf_append(&h->col[c], ",", 1);
}

/* Decimal, without printf: a column gets 100,000s of these. */
static void put_num(fr_buf *b, long long v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    fr_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_int(hctx *h, int c, long long v)
{
    sep(h, c);
    put_num(&h->col[c], v);
}

/* Commits as 12 hex digits: unambiguous in practice, and a third of the size. */
static void put_commit(fr_buf *b, const char *commit)
{
    char c[13];
    snprintf(c, sizeof c, "%s", commit ? commit : "");
    jesc(b, c);
}

/* YYYY-MM-DD... as the number YYYYMMDD (0 when it is not a date). */
static long date_num(const char *s)
{
    if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    return atol(s) * 10000 + atol(s + 5) * 100 + atol(s + 8);
}

static const char *who(const fr_occurrence_row *o)
{
    return o->author_email && *o->author_email ? o->author_email : o->author_name;
}

static int32_t rule_index(hctx *h, const fr_finding_row *f)
{
    size_t before = h->rules.n;
    int32_t ix = intern(&h->rules, f->rule_id);
    if (h->rules.n != before) {
        fr_buf *b = &h->rules_json;
        if (ix) fr_buf_append(b, ",", 1);
        fr_buf_append(b, "[", 1);
        jesc(b, f->rule_id);
        fr_buf_append(b, ",", 1);
        jesc(b, f->rule_name);
        fr_buf_append(b, ",", 1);
        jesc(b, f->severity);
        fr_buf_append(b, ",", 1);
        const char *dot = strchr(f->rule_id, '.');
        char *fam = fr_xstrndup(f->rule_id, dot ? (size_t)(dot - f->rule_id) : strlen(f->rule_id));
        jesc(b, fam);
        free(fam);
        fr_buf_append(b, ",", 1);
        jesc(b, f->kind ? f->kind : "secret"); /* a finding's kind is its rule's */
        fr_buf_append(b, "]", 1);
    }
    return ix;
}

/* The effective triage status (fr_finding_row.status), as an index in STATUSES. */
static int status_of(const fr_finding_row *f)
{
    for (int i = 0; i < (int)(sizeof STATUSES / sizeof *STATUSES); i++)
        if (f->status && !strcmp(f->status, STATUSES[i])) return i;
    return 0;
}

/* The kind column's text: the source, and how a masking bypass printed the
 * secret ("file, printed base64"). */
static int32_t kind_of(hctx *h, const fr_occurrence_row *o)
{
    if (!o->transform) return intern(&h->strs, o->kind);
    fr_buf b = {0};
    fr_buf_printf(&b, "%s, printed %s", o->kind, o->transform);
    int32_t v = intern(&h->strs, b.p);
    fr_buf_release(&b);
    return v;
}

static int on_finding(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n, void *ctx)
{
    hctx *h = ctx;
    /* The introducing location: the earliest authored one, else the first. */
    size_t intro = 0;
    for (size_t i = 1; i < n; i++) {
        const char *a = occ[i].author_date, *b = occ[intro].author_date;
        if (a && *a && (!b || !*b || strcmp(a, b) < 0)) intro = i;
    }
    const fr_occurrence_row *o = n ? &occ[intro] : NULL;
    sep(h, C_FID);
    jesc(&h->col[C_FID], f->fid ? f->fid : "");
    put_int(h, C_RULE, rule_index(h, f));
    sep(h, C_PREV);
    jesc(&h->col[C_PREV], f->preview);
    put_int(h, C_ST, status_of(f));
    /* 3: a weak password (validated -1, see report.c), the template's "weak" */
    put_int(h, C_VAL, f->validated < 0 ? 3 : f->validated <= 2 ? f->validated : 0);
    long d = date_num(f->introduced);
    if (!d && o) d = date_num(o->mtime);
    if (!d) d = date_num(f->first_seen);
    put_int(h, C_DATE, d);
    put_int(h, C_REPO, o ? intern(&h->strs, o->repo) : -1);
    put_int(h, C_PATH, o ? intern(&h->strs, o->path) : -1);
    put_int(h, C_LINE, o ? o->line : 0);
    sep(h, C_COMMIT);
    put_commit(&h->col[C_COMMIT], o ? o->commit : NULL);
    put_int(h, C_AUTHOR, o ? intern(&h->strs, who(o)) : -1);
    put_int(h, C_KIND, o ? kind_of(h, o) : -1);
    /* counts over every occurrence, not only those passed */
    put_int(h, C_NOCC, (long long)(f->nocc_total > n ? f->nocc_total : n));
    put_int(h, C_NCOMMIT, (long long)f->ncommits);
    put_int(h, C_NPATH, (long long)f->npaths);
    put_int(h, C_NREPO, (long long)f->nrepos);
    put_int(h, C_SEEN, intern(&h->strs, f->first_seen));
    /* a few more places, for the detail view: [repo, path, line, commit, kind] */
    fr_buf *m = &h->col[C_MORE];
    sep(h, C_MORE);
    if (n <= 1) {
        fr_buf_append(m, "0", 1);
    } else {
        fr_buf_append(m, "[", 1);
        size_t k = 0;
        for (size_t i = 0; i < n && k < MORE_LOCATIONS; i++) {
            if (i == intro) continue;
            const fr_occurrence_row *x = &occ[i];
            fr_buf_append(m, k ? ",[" : "[", k ? 2 : 1);
            put_num(m, intern(&h->strs, x->repo));
            fr_buf_append(m, ",", 1);
            put_num(m, intern(&h->strs, x->path));
            fr_buf_append(m, ",", 1);
            put_num(m, x->line);
            fr_buf_append(m, ",", 1);
            put_commit(m, x->commit);
            fr_buf_append(m, ",", 1);
            put_num(m, kind_of(h, x));
            fr_buf_append(m, "]", 1);
            k++;
        }
        fr_buf_append(m, "]", 1);
    }
    h->n++;
    return FR_OK;
}

/* ------------------------------------------------- the data, compressed --- */

/* Data above this size is embedded deflated (zlib) and in base64, inflated by
 * the page with the browser's DecompressionStream: a third of the size or less
 * on a large store (paths, dates and ids repeat in their text). Smaller data
 * is plain JSON, readable in the file. FERRET_HTML_DEFLATE=1 / 0 forces either
 * (tests). */
#define DEFLATE_ABOVE (1u << 20)
/* Data above this is cut in two, each half deflated by its own thread (the
 * page joins the inflated text before parsing it). */
#define DEFLATE_SPLIT (4u << 20)

typedef struct {
    const unsigned char *p;
    size_t len;
    fr_buf b64; /* out: the deflated bytes in base64 */
    int rc;
} zpart;

static void base64(fr_buf *out, const unsigned char *p, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fr_buf_reserve(out, (n + 2) / 3 * 4 + 1);
    char *o = out->p + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = A[v >> 18], *o++ = A[v >> 12 & 63], *o++ = A[v >> 6 & 63], *o++ = A[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = A[v >> 18], *o++ = A[v >> 12 & 63];
        *o++ = i + 1 < n ? A[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = 0;
}

static void *zpart_run(void *arg)
{
    zpart *z = arg;
    uLongf cap = compressBound((uLong)z->len);
    unsigned char *buf = malloc(cap);
    z->rc = buf ? compress2(buf, &cap, z->p, (uLong)z->len, 1) : Z_MEM_ERROR;
    if (z->rc == Z_OK) base64(&z->b64, buf, cap);
    free(buf);
    return NULL;
}

/* Writes the data element: plain JSON, or deflated parts in base64 separated
 * by spaces. */
static int write_data(FILE *out, const fr_buf *d)
{
    const char *env = getenv("FERRET_HTML_DEFLATE");
    int deflated = env && *env ? *env == '1' : d->len > DEFLATE_ABOVE;
    if (!deflated) {
        fputs("<script type=\"application/json\" id=\"ferret-data\">", out);
        fwrite(d->p, 1, d->len, out);
        fputs("</script>\n", out);
        return FR_OK;
    }
    zpart z[2] = {{(const unsigned char *)d->p, d->len, {0}, Z_OK},
                  {(const unsigned char *)d->p + d->len, 0, {0}, Z_OK}};
    pthread_t t;
    int nz = 1, threaded = 0;
    if (d->len > DEFLATE_SPLIT && fr_ncpus() > 1) {
        z[0].len = d->len / 2;
        z[1].p = z[0].p + z[0].len, z[1].len = d->len - z[0].len;
        nz = 2;
        threaded = !pthread_create(&t, NULL, zpart_run, &z[1]);
        if (!threaded) zpart_run(&z[1]);
    }
    zpart_run(&z[0]);
    if (threaded) pthread_join(t, NULL);
    int rc = FR_OK;
    for (int i = 0; i < nz; i++)
        if (z[i].rc != Z_OK) rc = FR_ERR;
    if (rc == FR_OK) {
        fputs("<script type=\"application/x-ferret-deflate\" id=\"ferret-data\">", out);
        for (int i = 0; i < nz; i++) {
            if (i) fputc(' ', out);
            fwrite(z[i].b64.p, 1, z[i].b64.len, out);
        }
        fputs("</script>\n", out);
    } else {
        fr_error_set("cannot compress the report's data (zlib)");
    }
    for (int i = 0; i < nz; i++)
        fr_buf_release(&z[i].b64);
    return rc;
}

int fr_report_html(fr_store *s, FILE *out, const fr_report_opts *o, size_t *nfindings)
{
    hctx h;
    memset(&h, 0, sizeof h);
    /* Always redacted: the page is meant to be shared. */
    fr_report_filter flt = fr_report_filter_of(o);
    flt.with_secrets = 0;
    /* the introducing location and a few more; the counts cover all of them */
    flt.max_occurrences = 1 + MORE_LOCATIONS;
    flt.sort = FR_SORT_RULE; /* the page sorts; the store need not date every finding first */
    int rc = fr_store_each_finding(s, &flt, on_finding, &h);
    if (rc == FR_OK) {
        const char *mark = "<!--FERRET-DATA-->";
        const char *at = strstr(fr_html_template, mark);
        size_t head = at ? (size_t)(at - fr_html_template) : strlen(fr_html_template);
        fwrite(fr_html_template, 1, head, out);
        fr_buf b = {0};
        fr_buf_puts(&b, "{\"v\":1,\"generated\":");
        char now[32];
        fr_now_iso(now);
        jesc(&b, now);
        fr_buf_puts(&b, ",\"lastRun\":");
        fr_run_row run;
        if (fr_store_last_run(s, &run) == FR_OK) {
            fr_buf_printf(&b, "{\"id\":%lld,\"started\":", (long long)run.id);
            jesc(&b, run.started_at);
            fr_buf_puts(&b, ",\"status\":");
            jesc(&b, run.status);
            fr_buf_puts(&b, "}");
        } else {
            fr_buf_puts(&b, "null");
        }
        fr_buf_puts(&b, ",\"statuses\":[");
        for (size_t i = 0; i < sizeof STATUSES / sizeof *STATUSES; i++) {
            if (i) fr_buf_append(&b, ",", 1);
            jesc(&b, STATUSES[i]);
        }
        fr_buf_printf(&b, "],\"n\":%zu,\"rules\":[", h.n);
        size_t total = b.len + h.rules_json.len + h.strs.json.len + 64;
        for (int c = 0; c < NCOLS; c++)
            total += h.col[c].len + 16;
        fr_buf_reserve(&b, total);
        if (h.rules_json.len) fr_buf_append(&b, h.rules_json.p, h.rules_json.len);
        fr_buf_release(&h.rules_json);
        fr_buf_puts(&b, "],\"s\":[");
        if (h.strs.json.len) fr_buf_append(&b, h.strs.json.p, h.strs.json.len);
        fr_buf_release(&h.strs.json);
        fr_buf_puts(&b, "]");
        for (int c = 0; c < NCOLS; c++) {
            fr_buf_printf(&b, ",\"%s\":[", COLS[c]);
            if (h.col[c].len) fr_buf_append(&b, h.col[c].p, h.col[c].len);
            fr_buf_release(&h.col[c]);
            fr_buf_puts(&b, "]");
        }
        fr_buf_puts(&b, "}");
        rc = write_data(out, &b);
        fr_buf_release(&b);
        if (at && rc == FR_OK) fputs(at + strlen(mark), out);
    }
    for (int c = 0; c < NCOLS; c++)
        fr_buf_release(&h.col[c]);
    strtab_free(&h.strs);
    strtab_free(&h.rules);
    fr_buf_release(&h.rules_json);
    *nfindings = h.n;
    if (rc == FR_OK && ferror(out)) {
        fr_error_set("cannot write the report");
        rc = FR_ERR;
    }
    return rc;
}
