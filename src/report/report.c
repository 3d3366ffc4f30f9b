/*
 * report.c: every format is driven by fr_store_each_finding, one finding at a
 * time, so a report of a huge store streams. JSON is built with jansson: strings
 * are escaped by the library, and bytes that are not UTF-8 are shown as \xNN.
 */
#include "report/report.h"

#include "rules/rules.h"
#include "util/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fr_report_parse_format(const char *name, fr_format *out)
{
    static const struct {
        const char *n;
        fr_format f;
    } formats[] = {{"text", FR_FMT_TEXT},
                   {"json", FR_FMT_JSON},
                   {"jsonl", FR_FMT_JSONL},
                   {"sarif", FR_FMT_SARIF},
                   {"html", FR_FMT_HTML}};
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (!strcmp(name, formats[i].n)) {
            *out = formats[i].f;
            return FR_OK;
        }
    fr_error_set("unknown report format '%s' (text, json, jsonl, sarif or html)", name);
    return FR_ERR;
}

static const char *const VALIDATED[4] = {"none", "structure", "checksum", "none"};
/* A weak password (the pipeline's FR_VALID_WEAK, stored as validated -1):
 * found where a leaked one is likely, but a default or a word attackers try
 * first; reported at confidence low whatever its rule's confidence is. */
#define WEAK(f)       ((f)->validated < 0)
#define CONFIDENCE(f) (WEAK(f) ? "low" : (f)->confidence)

/* A JSON string for untrusted text: as is when valid UTF-8, else \xNN-escaped. */
static json_t *jstr(const char *s)
{
    if (!s) return json_null();
    json_t *j = json_string(s);
    if (j) return j;
    fr_buf b = {0};
    fr_buf_put_safe(&b, s, strlen(s));
    j = json_string(b.p ? b.p : "");
    fr_buf_release(&b);
    return j;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v) json_object_set_new(o, k, jstr(v));
}

/* 'git:<oid>' content keys name a blob. */
static const char *blob_of(const char *content_key)
{
    return content_key && !strncmp(content_key, "git:", 4) ? content_key + 4 : NULL;
}

static json_t *occurrence_json(const fr_occurrence_row *o)
{
    json_t *j = json_object();
    set_str(j, "source", o->kind);
    set_str(j, "repo", o->repo);
    set_str(j, "path", o->path);
    json_object_set_new(j, "line", json_integer(o->line));
    json_object_set_new(j, "column", json_integer(o->column));
    set_str(j, "commit", o->commit);
    set_str(j, "blob", blob_of(o->content_key));
    set_str(j, "author_name", o->author_name);
    set_str(j, "author_email", o->author_email);
    set_str(j, "date", o->author_date);
    set_str(j, "committer_date", o->committer_date);
    set_str(j, "ref", o->ref);
    set_str(j, "mtime", o->mtime);
    if (o->ci_run || o->ci_job || o->ci_step) {
        json_t *ci = json_object();
        set_str(ci, "run", o->ci_run);
        set_str(ci, "job", o->ci_job);
        set_str(ci, "step", o->ci_step);
        json_object_set_new(j, "ci", ci);
    }
    set_str(j, "transform", o->transform);
    return j;
}

static json_t *finding_json(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n,
                            int hashes_off)
{
    json_t *j = json_object();
    json_object_set_new(j, "format_version", json_integer(FR_REPORT_FORMAT_VERSION));
    set_str(j, "id", f->fid);
    set_str(j, "rule", f->rule_id);
    set_str(j, "rule_name", f->rule_name);
    set_str(j, "severity", f->severity);
    set_str(j, "confidence", CONFIDENCE(f));
    if (WEAK(f)) json_object_set_new(j, "weak", json_true());
    set_str(j, "attack", f->attack);
    set_str(j, "kind", f->kind ? f->kind : "secret");
    if (f->attack_version) set_str(j, "attack_version", f->attack_version);
    if (!hashes_off) set_str(j, "secret_sha256", f->secret_sha256);
    set_str(j, "preview", f->preview);
    set_str(j, "validated", VALIDATED[f->validated & 3]);
    if (f->secret) set_str(j, "secret", f->secret);
    set_str(j, "first_seen", f->first_seen);
    set_str(j, "last_seen", f->last_seen);
    set_str(j, "introduced", f->introduced);
    set_str(j, "status", f->status);
    if (f->status_comment || f->status_who || f->status_at) {
        json_t *t = json_object();
        set_str(t, "comment", f->status_comment);
        set_str(t, "by", f->status_who);
        set_str(t, "at", f->status_at);
        json_object_set_new(j, "triage", t);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, occurrence_json(&occ[i]));
    json_object_set_new(j, "occurrences", arr);
    return j;
}

typedef struct {
    FILE *out;
    const fr_report_opts *o;
    size_t n;
    fr_buf line; /* JSONL: one finding's line, written at once */
    size_t nind; /* text: threat indicators written (their own section, after secrets) */
    /* text on two threads: out is a memory stream (mp, ml), written to real */
    FILE *real;
    char *mp;
    size_t ml;
} rctx;

static int dump(json_t *j, FILE *out, size_t flags)
{
    int rc = json_dumpf(j, out, flags | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    json_decref(j);
    return rc ? FR_ERR : FR_OK;
}

/* ---- JSONL written directly: the same objects as finding_json, byte for
 * byte as jansson writes them compact with JSON_ENSURE_ASCII, without building
 * a tree per finding (a million occurrences must stream in seconds). ---- */

/* Whether s is valid UTF-8 (what json_string accepts). */
static int utf8_ok(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s, len, cp, min;
        if (c < 0x80) {
            s++;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        for (unsigned i = 1; i < len; i++) {
            if ((s[i] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        s += len;
    }
    return 1;
}

/* Appends without a call per piece or a terminator per append (the line is
 * written with its length): most of a JSONL report is these small appends. */
static inline void put(fr_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) fr_buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}
#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)

static void put_int(fr_buf *b, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) tmp[n++] = '-';
    char out[24];
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    put(b, out, (size_t)n);
}

static void jesc(fr_buf *out, const char *str)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    put(out, "\"", 1);
    while (*s) {
        const unsigned char *run = s;
        while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        if (s > run) put(out, run, (size_t)(s - run));
        if (!*s) break;
        unsigned c = *s;
        char e[12];
        if (c == '"' || c == '\\') {
            e[0] = '\\', e[1] = (char)c;
            put(out, e, 2);
            s++;
            continue;
        }
        unsigned cp = c, len = 1;
        if (c >= 0x80) { /* valid UTF-8 (checked by the caller): as \uXXXX */
            len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
            cp = c & (0x7F >> len);
            for (unsigned i = 1; i < len; i++)
                cp = (cp << 6) | (s[i] & 0x3F);
        }
        s += len;
        static const char short_esc[] = {
            ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
        if (cp < sizeof short_esc && short_esc[cp]) {
            e[0] = '\\', e[1] = short_esc[cp];
            put(out, e, 2);
            continue;
        }
        unsigned units[2] = {cp, 0}, nu = 1;
        if (cp > 0xFFFF) /* a surrogate pair above the BMP */
            cp -= 0x10000, units[0] = 0xD800 | (cp >> 10), units[1] = 0xDC00 | (cp & 0x3FF), nu = 2;
        for (unsigned u = 0; u < nu; u++) {
            e[0] = '\\', e[1] = 'u';
            for (int k = 0; k < 4; k++)
                e[2 + k] = hex[(units[u] >> (12 - 4 * k)) & 15];
            put(out, e, 6);
        }
    }
    put(out, "\"", 1);
}

/* A JSON string for untrusted text, as jstr: \xNN-escaped when not UTF-8. */
static void jtext(fr_buf *out, const char *s)
{
    /* the common case, printable ASCII with nothing to escape: one scan */
    const unsigned char *e = (const unsigned char *)s;
    while (*e >= 0x20 && *e < 0x80 && *e != '"' && *e != '\\')
        e++;
    if (!*e) {
        size_t n = (size_t)(e - (const unsigned char *)s);
        if (out->len + n + 3 > out->cap) fr_buf_reserve(out, n + 2);
        out->p[out->len] = '"';
        memcpy(out->p + out->len + 1, s, n);
        out->p[out->len + 1 + n] = '"';
        out->len += n + 2;
        return;
    }
    if (utf8_ok((const unsigned char *)s)) {
        jesc(out, s);
        return;
    }
    fr_buf b = {0};
    fr_buf_put_safe(&b, s, strlen(s));
    jesc(out, b.p ? b.p : "");
    fr_buf_release(&b);
}

/* ,"key":"value" when value is set and not empty (set_str); first: no comma */
static inline void jfield(fr_buf *out, int *first, const char *k, const char *v)
{
    if (!v || !*v) return;
    if (!*first) put(out, ",", 1);
    *first = 0;
    put(out, "\"", 1);
    put(out, k, strlen(k)); /* a literal: the compiler knows its length */
    put(out, "\":", 2);
    jtext(out, v);
}

static void jsonl_occurrence(fr_buf *out, const fr_occurrence_row *o)
{
    int first = 1;
    put(out, "{", 1);
    jfield(out, &first, "source", o->kind);
    jfield(out, &first, "repo", o->repo);
    jfield(out, &first, "path", o->path);
    if (!first) PUTS(out, ",");
    PUTS(out, "\"line\":");
    put_int(out, (long long)o->line);
    PUTS(out, ",\"column\":");
    put_int(out, (long long)o->column);
    first = 0;
    jfield(out, &first, "commit", o->commit);
    jfield(out, &first, "blob", blob_of(o->content_key));
    jfield(out, &first, "author_name", o->author_name);
    jfield(out, &first, "author_email", o->author_email);
    jfield(out, &first, "date", o->author_date);
    jfield(out, &first, "committer_date", o->committer_date);
    jfield(out, &first, "ref", o->ref);
    jfield(out, &first, "mtime", o->mtime);
    if (o->ci_run || o->ci_job || o->ci_step) {
        int f2 = 1;
        PUTS(out, ",\"ci\":{");
        jfield(out, &f2, "run", o->ci_run);
        jfield(out, &f2, "job", o->ci_job);
        jfield(out, &f2, "step", o->ci_step);
        put(out, "}", 1);
    }
    jfield(out, &first, "transform", o->transform);
    put(out, "}", 1);
}

static void jsonl_finding(fr_buf *out, const fr_finding_row *f, const fr_occurrence_row *occ,
                          size_t n, int hashes_off)
{
    int first = 0;
    PUTS(out, "{\"format_version\":");
    put_int(out, FR_REPORT_FORMAT_VERSION);
    jfield(out, &first, "id", f->fid);
    jfield(out, &first, "rule", f->rule_id);
    jfield(out, &first, "rule_name", f->rule_name);
    jfield(out, &first, "severity", f->severity);
    jfield(out, &first, "confidence", CONFIDENCE(f));
    if (WEAK(f)) PUTS(out, ",\"weak\":true");
    jfield(out, &first, "attack", f->attack);
    jfield(out, &first, "kind", f->kind ? f->kind : "secret");
    if (f->attack_version) jfield(out, &first, "attack_version", f->attack_version);
    if (!hashes_off) jfield(out, &first, "secret_sha256", f->secret_sha256);
    jfield(out, &first, "preview", f->preview);
    jfield(out, &first, "validated", VALIDATED[f->validated & 3]);
    if (f->secret) jfield(out, &first, "secret", f->secret);
    jfield(out, &first, "first_seen", f->first_seen);
    jfield(out, &first, "last_seen", f->last_seen);
    jfield(out, &first, "introduced", f->introduced);
    jfield(out, &first, "status", f->status);
    if (f->status_comment || f->status_who || f->status_at) {
        int f2 = 1;
        PUTS(out, ",\"triage\":{");
        jfield(out, &f2, "comment", f->status_comment);
        jfield(out, &f2, "by", f->status_who);
        jfield(out, &f2, "at", f->status_at);
        put(out, "}", 1);
    }
    PUTS(out, ",\"occurrences\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) put(out, ",", 1);
        jsonl_occurrence(out, &occ[i]);
    }
    PUTS(out, "]}\n");
}

/* JSONL: lines made by on_json on two threads (fr_store_each_finding2), each
 * batch written by jsonl_batch in report order. */
static int jsonl_batch(void *ctx)
{
    rctx *c = ctx;
    if (c->line.len && fwrite(c->line.p, 1, c->line.len, c->out) != c->line.len) {
        fr_error_set("cannot write the report");
        return FR_ERR;
    }
    c->line.len = 0;
    return FR_OK;
}

static int on_json(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n, void *ctx)
{
    rctx *c = ctx;
    if (c->o->format == FR_FMT_JSONL) {
        jsonl_finding(&c->line, f, occ, n, !c->o->secret_hashes);
        c->line.p[c->line.len] = 0; /* put() leaves the terminator out; fr_buf keeps one */
    } else {
        fputs(c->n ? ",\n" : "\n", c->out);
        if (dump(finding_json(f, occ, n, !c->o->secret_hashes), c->out, JSON_INDENT(2)))
            return FR_ERR;
    }
    c->n++;
    return FR_OK;
}

static const char *sev_color(const char *sev)
{
    if (!strcmp(sev, "critical")) return "\033[1;31m";
    if (!strcmp(sev, "high")) return "\033[31m";
    if (!strcmp(sev, "medium")) return "\033[33m";
    return "\033[36m";
}

static void put_safe(FILE *out, const char *s)
{
    const char *p = s;
    while (p && *p >= 0x20 && *p < 0x7F && *p != '\\') /* the common case: nothing to escape */
        p++;
    if (p && !*p) {
        fputs(s, out);
        return;
    }
    fr_buf b = {0};
    if (s) fr_buf_put_safe(&b, s, strlen(s));
    fputs(b.p ? b.p : "", out);
    fr_buf_release(&b);
}

/* A stored secret or preview: the store keeps them in fr_buf_put_safe's form
 * already (a backslash doubled, control and non-UTF-8 bytes as \xNN), as the
 * JSON, JSONL, SARIF and HTML reports print them; escaping it again printed
 * each backslash of a secret as four. Only bytes the store could not have
 * written (a store from elsewhere) are escaped. */
static void put_stored(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p >= 0x20 && *p < 0x7F)
        p++;
    if (p && !*p) {
        fputs(s, out);
        return;
    }
    fr_buf b = {0};
    for (const char *q = s; q && *q;) {
        const char *e = q;
        while (*e && *e != '\\')
            e++;
        fr_buf_put_safe(&b, q, (size_t)(e - q));
        if (!*e) break;
        fr_buf_append(&b, "\\", 1);
        q = e + 1;
    }
    fputs(b.p ? b.p : "", out);
    fr_buf_release(&b);
}

static void put_location(FILE *out, const fr_occurrence_row *o)
{
    if (o->repo && *o->repo) {
        put_safe(out, o->repo);
        fputs(": ", out);
    }
    put_safe(out, o->path);
    fprintf(out, ":%lld:%lld", (long long)o->line, (long long)o->column);
    if (o->commit && *o->commit) {
        fprintf(out, "  commit %.12s", o->commit);
        if (o->author_email) {
            fputs(" by ", out);
            put_safe(out, o->author_email);
        }
        if (o->author_date) fprintf(out, " on %s", o->author_date);
    }
    if (o->ci_run || o->ci_job) {
        fputs("  ci", out);
        if (o->ci_run) fputs(" run ", out), put_safe(out, o->ci_run);
        if (o->ci_job) fputs(" job ", out), put_safe(out, o->ci_job);
        if (o->ci_step) fputs(" step ", out), put_safe(out, o->ci_step);
    }
    if (o->transform) fprintf(out, "  printed %s (masking bypass)", o->transform);
    fputc('\n', out);
}

static const char *status_color(const char *st)
{
    if (!strcmp(st, "open")) return "\033[1;33m";
    if (!strcmp(st, "revoked")) return "\033[32m";
    return "\033[2m";
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* One block per secret: what, its status, where it was introduced, how far it
 * spread, then its first few locations (earliest first) or all of them. */
static int on_text(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n, void *ctx)
{
    rctx *c = ctx;
    FILE *out = c->out;
    int col = c->o->color;
    const char *st = f->status ? f->status : "open";
    int ind = f->kind && !strcmp(f->kind, "indicator");
    if (ind && !c->nind++)
        fprintf(out, "%s== threat indicators (not leaked credentials) ==%s\n\n",
                col ? "\033[1m" : "", col ? "\033[0m" : "");
    fprintf(out, "%s[%s]%s %s%s%s  %s  id %s  %s%s%s\n", col ? sev_color(f->severity) : "",
            f->severity, col ? "\033[0m" : "", col ? "\033[1m" : "", f->rule_id,
            col ? "\033[0m" : "", f->rule_name, f->fid ? f->fid : "-", col ? status_color(st) : "",
            st, col ? "\033[0m" : "");
    if (f->status_comment || f->status_who) {
        fputs("    triage  ", out);
        if (f->status_who) fputs("by ", out), put_safe(out, f->status_who);
        if (f->status_at) fprintf(out, " on %s", f->status_at);
        if (f->status_comment)
            fputs(f->status_who ? ": " : "", out), put_safe(out, f->status_comment);
        fputc('\n', out);
    }
    if (ind) { /* the matched text (secrets in it redacted), the ATT&CK mapping */
        fputs("    matched ", out);
        put_stored(out, f->preview);
        fprintf(out, "\n    attack  %s (ATT&CK v%s)  first seen %s\n", f->attack,
                f->attack_version ? f->attack_version : "?", f->first_seen);
    } else {
        fprintf(out, "    secret  ");
        put_stored(out, f->secret ? f->secret : f->preview);
        fprintf(out, "  %s  validated: %s%s  first seen %s\n", f->attack,
                VALIDATED[f->validated & 3], WEAK(f) ? "  weak password (confidence low)" : "",
                f->first_seen);
    }
    if (f->nocc_total > 1) {
        fprintf(out,
                "    spread  introduced %s; %zu location%s, %zu commit%s, %zu path%s, %zu "
                "repositor%s\n",
                f->introduced ? f->introduced : "?", f->nocc_total, plural(f->nocc_total, "", "s"),
                f->ncommits, plural(f->ncommits, "", "s"), f->npaths, plural(f->npaths, "", "s"),
                f->nrepos, plural(f->nrepos, "y", "ies"));
    }
    for (size_t i = 0; i < n; i++) {
        fputs("    at      ", out);
        put_location(out, &occ[i]);
    }
    if (n < f->nocc_total)
        fprintf(out, "    ...     %zu more location%s (--all-locations)\n", f->nocc_total - n,
                plural(f->nocc_total - n, "", "s"));
    fputc('\n', out);
    c->n++;
    return FR_OK;
}

/* Text on two threads (fr_store_each_finding2): a batch printed into a memory
 * stream, then written in report order. */
static int text_batch(void *ctx)
{
    rctx *c = ctx;
    if (c->out) fclose(c->out);
    c->out = NULL;
    int rc = FR_OK;
    if (c->ml && fwrite(c->mp, 1, c->ml, c->real) != c->ml) rc = FR_ERR;
    free(c->mp);
    c->mp = NULL, c->ml = 0;
    if (rc == FR_OK && !(c->out = open_memstream(&c->mp, &c->ml))) rc = FR_ERR;
    if (rc) fr_error_set("cannot write the report");
    return rc;
}

/* The secrets of a text report, on two threads. */
static int text_secrets(fr_store *s, const fr_report_filter *flt, rctx *c)
{
    rctx t[2] = {{NULL, c->o, 0, {0}, 0, c->out, NULL, 0},
                 {NULL, c->o, 0, {0}, 0, c->out, NULL, 0}};
    int rc = FR_OK;
    for (int i = 0; i < 2 && rc == FR_OK; i++)
        if (!(t[i].out = open_memstream(&t[i].mp, &t[i].ml))) rc = FR_ERR;
    void *const cs[2] = {&t[0], &t[1]};
    if (rc == FR_OK)
        rc = fr_store_each_finding2(s, flt, on_text, cs, text_batch);
    else
        fr_error_set("out of memory");
    for (int i = 0; i < 2; i++) {
        if (t[i].out) fclose(t[i].out);
        free(t[i].mp);
        c->n += t[i].n, c->nind += t[i].nind;
    }
    return rc;
}

fr_report_filter fr_report_filter_of(const fr_report_opts *o)
{
    fr_report_filter f = o->filter;
    if (o->new_since_run) f.new_since_run = o->new_since_run;
    if (o->show_secrets) f.with_secrets = 1;
    return f;
}

/* ---- --summary ---- */
typedef struct {
    FILE *out;
    int json, color;
    const char *group;
    json_t *doc, *cur;
} sctx;

static int on_count(const char *group, const char *key, int64_t n, void *ctx)
{
    sctx *c = ctx;
    static const struct {
        const char *group, *title, *json;
    } groups[] = {{"severity", "by severity", "by_severity"},
                  {"rule", "by rule", "by_rule"},
                  {"repo", "by repository", "by_repository"},
                  {"status", "by status", "by_status"},
                  {"kind", "by kind", "by_kind"}};
    size_t g = 0;
    while (g < 4 && strcmp(groups[g].group, group))
        g++;
    int fresh = !c->group || strcmp(c->group, group);
    c->group = groups[g].group;
    if (c->json) {
        if (fresh) {
            c->cur = json_object();
            json_object_set_new(c->doc, groups[g].json, c->cur);
        }
        json_object_set_new(c->cur, key, json_integer(n));
        return FR_OK;
    }
    if (fresh)
        fprintf(c->out, "\n%s%s%s\n", c->color ? "\033[1m" : "", groups[g].title,
                c->color ? "\033[0m" : "");
    fprintf(c->out, "  %8lld  ", (long long)n);
    if (!strcmp(group, "severity") && c->color) fputs(sev_color(key), c->out);
    if (!strcmp(group, "repo") && !*key)
        fputs("(files, not in a repository)", c->out);
    else
        put_safe(c->out, key);
    if (!strcmp(group, "severity") && c->color) fputs("\033[0m", c->out);
    fputc('\n', c->out);
    return FR_OK;
}

static int write_summary(fr_store *s, FILE *out, const fr_report_opts *o,
                         const fr_report_filter *flt, size_t *nfindings)
{
    int json = o->format == FR_FMT_JSON || o->format == FR_FMT_JSONL;
    sctx c = {out, json, o->color, NULL, json ? json_object() : NULL, NULL};
    int64_t total = 0;
    if (json) {
        json_object_set_new(c.doc, "format_version", json_integer(FR_REPORT_FORMAT_VERSION));
        json_object_set_new(c.doc, "findings", json_integer(0));
    } else if (o->format != FR_FMT_TEXT) {
        fr_error_set("--summary is written as text, json or jsonl");
        return FR_ERR;
    }
    /* The text header needs the total first: the groups are written after it. */
    FILE *mem = NULL;
    char *mp = NULL;
    size_t ml = 0;
    if (!json) {
        mem = open_memstream(&mp, &ml);
        if (!mem) {
            fr_error_set("out of memory");
            return FR_ERR;
        }
        c.out = mem;
    }
    int rc = fr_store_summary(s, flt, &total, on_count, &c);
    if (json) {
        json_object_set_new(c.doc, "findings", json_integer(total));
        if (rc == FR_OK) {
            rc = dump(c.doc, out, o->format == FR_FMT_JSONL ? JSON_COMPACT : JSON_INDENT(2));
            fputc('\n', out);
        } else {
            json_decref(c.doc);
        }
    } else {
        fclose(mem);
        if (rc == FR_OK) {
            fprintf(out, "%lld finding%s\n", (long long)total, total == 1 ? "" : "s");
            fwrite(mp, 1, ml, out);
        }
        free(mp);
    }
    if (rc == FR_OK && ferror(out)) {
        fr_error_set("cannot write the report");
        rc = FR_ERR;
    }
    *nfindings = total > 0 ? (size_t)total : 0;
    return rc;
}

int fr_report_write(fr_store *s, FILE *out, const fr_report_opts *o, size_t *nfindings)
{
    rctx c = {out, o, 0, {0}, 0, NULL, NULL, 0};
    fr_report_filter flt = fr_report_filter_of(o);
    int rc = FR_OK;
    if (o->summary) return write_summary(s, out, o, &flt, nfindings);
    switch (o->format) {
    case FR_FMT_TEXT:
        if (!o->all_locations) flt.max_occurrences = FR_TEXT_LOCATIONS;
        flt.no_content_key = 1; /* the text shows no blob ids */
        /* Secrets first, then threat indicators in their own section. */
        if (flt.kind && strcmp(flt.kind, "secret")) {
            rc = fr_store_each_finding(s, &flt, on_text, &c);
        } else if (flt.kind) {
            rc = text_secrets(s, &flt, &c);
        } else {
            flt.kind = "secret";
            rc = text_secrets(s, &flt, &c);
            flt.kind = "indicator";
            if (rc == FR_OK) rc = fr_store_each_finding(s, &flt, on_text, &c);
        }
        if (rc == FR_OK && c.nind && c.nind < c.n)
            fprintf(out, "%zu finding%s (%zu secret%s, %zu threat indicator%s)\n", c.n,
                    c.n == 1 ? "" : "s", c.n - c.nind, c.n - c.nind == 1 ? "" : "s", c.nind,
                    c.nind == 1 ? "" : "s");
        else if (rc == FR_OK)
            fprintf(out, "%zu finding%s\n", c.n, c.n == 1 ? "" : "s");
        break;
    case FR_FMT_JSONL: {
        rctx c2 = {out, o, 0, {0}, 0, NULL, NULL, 0};
        void *const cs[2] = {&c, &c2};
        flt.no_spread = 1;
        flt.no_secret_hash = !o->secret_hashes;
        rc = fr_store_each_finding2(s, &flt, on_json, cs, jsonl_batch);
        c.n += c2.n;
        fr_buf_release(&c2.line);
        break;
    }
    case FR_FMT_JSON:
        flt.no_spread = 1;
        flt.no_secret_hash = !o->secret_hashes;
        fputc('[', out);
        rc = fr_store_each_finding(s, &flt, on_json, &c);
        fputs(c.n ? "\n]\n" : "]\n", out);
        break;
    case FR_FMT_SARIF:
        return fr_report_sarif(s, out, o, nfindings);
    case FR_FMT_HTML:
        return fr_report_html(s, out, o, nfindings);
    }
    if (ferror(out)) {
        fr_error_set("cannot write the report");
        rc = FR_ERR;
    }
    fr_buf_release(&c.line);
    *nfindings = c.n;
    return rc;
}

static int on_skipped(const char *status, const char *reason, const char *kind, const char *repo,
                      const char *path, uint64_t size, void *ctx)
{
    FILE *out = ctx;
    fprintf(out, "%-8s %-5s ", status, kind);
    if (repo && *repo) {
        put_safe(out, repo);
        fputs(": ", out);
    }
    put_safe(out, path);
    fprintf(out, " (%llu bytes): ", (unsigned long long)size);
    put_safe(out, reason ? reason : "");
    fputc('\n', out);
    return FR_OK;
}

int fr_report_skipped(fr_store *s, FILE *out)
{
    return fr_store_each_skipped(s, on_skipped, out);
}
