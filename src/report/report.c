/*
 * report.c: every format is driven by fr_store_each_finding, one finding at a
 * time, so a report of a huge store streams. JSON is built with jansson: strings
 * are escaped by the library, and bytes that are not UTF-8 are shown as \xNN.
 */
#include "report/report.h"

#include "rules/rules.h"
#include "util/util.h"

#include <jansson.h>
#include <string.h>

int fr_report_parse_format(const char *name, fr_format *out)
{
    static const struct {
        const char *n;
        fr_format f;
    } formats[] = {{"text", FR_FMT_TEXT},
                   {"json", FR_FMT_JSON},
                   {"jsonl", FR_FMT_JSONL},
                   {"sarif", FR_FMT_SARIF}};
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (!strcmp(name, formats[i].n)) {
            *out = formats[i].f;
            return FR_OK;
        }
    fr_error_set("unknown report format '%s' (text, json, jsonl or sarif)", name);
    return FR_ERR;
}

static const char *const VALIDATED[4] = {"none", "structure", "checksum", "none"};

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
    return j;
}

static json_t *finding_json(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n)
{
    json_t *j = json_object();
    set_str(j, "id", f->fid);
    set_str(j, "rule", f->rule_id);
    set_str(j, "rule_name", f->rule_name);
    set_str(j, "severity", f->severity);
    set_str(j, "confidence", f->confidence);
    set_str(j, "attack", f->attack);
    set_str(j, "secret_sha256", f->secret_sha256);
    set_str(j, "preview", f->preview);
    set_str(j, "validated", VALIDATED[f->validated & 3]);
    if (f->secret) set_str(j, "secret", f->secret);
    set_str(j, "first_seen", f->first_seen);
    set_str(j, "last_seen", f->last_seen);
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
    json_t *results; /* SARIF */
} rctx;

static int dump(json_t *j, FILE *out, size_t flags)
{
    int rc = json_dumpf(j, out, flags | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    json_decref(j);
    return rc ? FR_ERR : FR_OK;
}

static int on_json(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n, void *ctx)
{
    rctx *c = ctx;
    int compact = c->o->format == FR_FMT_JSONL;
    if (!compact) fputs(c->n ? ",\n" : "\n", c->out);
    if (dump(finding_json(f, occ, n), c->out, compact ? JSON_COMPACT : JSON_INDENT(2)))
        return FR_ERR;
    if (compact) fputc('\n', c->out);
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
    fr_buf b = {0};
    if (s) fr_buf_put_safe(&b, s, strlen(s));
    fputs(b.p ? b.p : "", out);
    fr_buf_release(&b);
}

static int on_text(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n, void *ctx)
{
    rctx *c = ctx;
    FILE *out = c->out;
    int col = c->o->color;
    fprintf(out, "%s[%s]%s %s%s%s  %s\n", col ? sev_color(f->severity) : "", f->severity,
            col ? "\033[0m" : "", col ? "\033[1m" : "", f->rule_id, col ? "\033[0m" : "",
            f->rule_name);
    fprintf(out, "    secret  ");
    put_safe(out, f->secret ? f->secret : f->preview);
    fprintf(out, "  sha256:%.16s…  %s  validated: %s  first seen %s\n", f->secret_sha256, f->attack,
            VALIDATED[f->validated & 3], f->first_seen);
    for (size_t i = 0; i < n; i++) {
        const fr_occurrence_row *o = &occ[i];
        fputs("    at      ", out);
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
        fputc('\n', out);
    }
    fputc('\n', out);
    c->n++;
    return FR_OK;
}

/* SARIF wants URIs: percent-encode everything outside the unreserved set and '/'. */
static char *to_uri(const char *path)
{
    fr_buf b = {0};
    if (path[0] == '/') fr_buf_puts(&b, "file://");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p))
            fr_buf_append(&b, p, 1);
        else
            fr_buf_printf(&b, "%%%02X", *p);
    }
    return fr_buf_steal(&b);
}

static int on_sarif(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n, void *ctx)
{
    rctx *c = ctx;
    for (size_t i = 0; i < n; i++) {
        const fr_occurrence_row *o = &occ[i];
        json_t *r = json_object();
        set_str(r, "ruleId", f->rule_id);
        set_str(r, "level", fr_severity_level(f->severity));
        fr_buf msg = {0};
        fr_buf_printf(&msg, "%s: %s (sha256 %.16s)", f->rule_name,
                      f->secret ? f->secret : f->preview, f->secret_sha256);
        json_object_set_new(r, "message", json_pack("{s:o}", "text", jstr(msg.p)));
        fr_buf_release(&msg);
        char *uri = to_uri(o->path ? o->path : "");
        json_t *loc = json_pack("{s:{s:{s:s},s:{s:I,s:I}}}", "physicalLocation", "artifactLocation",
                                "uri", uri, "region", "startLine", (json_int_t)o->line,
                                "startColumn", (json_int_t)o->column);
        free(uri);
        json_object_set_new(r, "locations", json_pack("[o]", loc));
        fr_buf fp = {0};
        fr_buf_printf(&fp, "%s", f->secret_sha256);
        json_object_set_new(r, "partialFingerprints", json_pack("{s:s}", "secretSha256/v1", fp.p));
        fr_buf_release(&fp);
        json_t *props = json_object();
        set_str(props, "secret_sha256", f->secret_sha256);
        set_str(props, "preview", f->preview);
        set_str(props, "validated", VALIDATED[f->validated & 3]);
        set_str(props, "repo", o->repo);
        set_str(props, "commit", o->commit);
        set_str(props, "blob", blob_of(o->content_key));
        set_str(props, "author_email", o->author_email);
        set_str(props, "date", o->author_date);
        json_object_set_new(r, "properties", props);
        json_array_append_new(c->results, r);
    }
    c->n++;
    return FR_OK;
}

static int rule_to_sarif(const fr_rule_meta *m, void *ctx)
{
    json_t *rules = ctx;
    json_t *r = json_object();
    set_str(r, "id", m->id);
    set_str(r, "name", m->name);
    json_object_set_new(r, "shortDescription", json_pack("{s:o}", "text", jstr(m->name)));
    json_object_set_new(
        r, "fullDescription",
        json_pack("{s:o}", "text", jstr(m->description ? m->description : m->name)));
    if (m->refs && *m->refs) {
        const char *nl = strchr(m->refs, '\n');
        char *first = fr_xstrndup(m->refs, nl ? (size_t)(nl - m->refs) : strlen(m->refs));
        set_str(r, "helpUri", first);
        free(first);
    }
    json_object_set_new(r, "defaultConfiguration",
                        json_pack("{s:s}", "level", fr_severity_level(m->severity)));
    json_t *tags = json_pack("[s,s]", "security", "secret");
    if (m->attack && *m->attack) json_array_append_new(tags, jstr(m->attack));
    json_object_set_new(r, "properties",
                        json_pack("{s:o,s:s,s:s}", "tags", tags, "precision",
                                  !strcmp(m->confidence, "high")     ? "high"
                                  : !strcmp(m->confidence, "medium") ? "medium"
                                                                     : "low",
                                  "security-severity", fr_severity_score(m->severity)));
    json_array_append_new(rules, r);
    return FR_OK;
}

int fr_report_write(fr_store *s, FILE *out, const fr_report_opts *o, size_t *nfindings)
{
    rctx c = {out, o, 0, NULL};
    fr_report_filter flt = {o->new_since_run, o->show_secrets};
    int rc = FR_OK;
    switch (o->format) {
    case FR_FMT_TEXT:
        rc = fr_store_each_finding(s, &flt, on_text, &c);
        if (rc == FR_OK) fprintf(out, "%zu finding%s\n", c.n, c.n == 1 ? "" : "s");
        break;
    case FR_FMT_JSONL:
        rc = fr_store_each_finding(s, &flt, on_json, &c);
        break;
    case FR_FMT_JSON:
        fputc('[', out);
        rc = fr_store_each_finding(s, &flt, on_json, &c);
        fputs(c.n ? "\n]\n" : "]\n", out);
        break;
    case FR_FMT_SARIF: {
        json_t *rules = json_array();
        c.results = json_array();
        rc = fr_store_each_rule(s, rule_to_sarif, rules);
        if (rc == FR_OK) rc = fr_store_each_finding(s, &flt, on_sarif, &c);
        json_t *doc = json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:s,s:s,s:o}},s:o,s:s}]}", "$schema",
                                "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0",
                                "runs", "tool", "driver", "name", "ferret", "version",
                                FERRET_VERSION, "semanticVersion", FERRET_VERSION, "informationUri",
                                "https://github.com/ferret-scanner/ferret", "rules", rules,
                                "results", c.results, "columnKind", "unicodeCodePoints");
        if (rc == FR_OK) {
            rc = dump(doc, out, JSON_INDENT(2));
            fputc('\n', out);
        } else {
            json_decref(doc);
        }
        break;
    }
    }
    if (ferror(out)) {
        fr_error_set("cannot write the report");
        rc = FR_ERR;
    }
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
