/*
 * config.c: .ferret.yml, loaded like the rule files are (a bounded file, no
 * YAML anchors or aliases, shallow nesting, one document; errors with
 * FILE:LINE), into plain arrays. Path patterns are matched by a small NFA over
 * the pattern's tokens: linear in pattern x path whatever the wildcards, so a
 * hostile pattern cannot make matching slow.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "config/config.h"

#include "util/util.h"

#include <errno.h>
#include <fnmatch.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define MAX_DEPTH 8

typedef struct {
    char **values, **paths;
    size_t nvalues, npaths;
    pcre2_code **re;
    size_t nre;
} allow;

typedef struct {
    char *rule;
    allow a;
    char *severity;
    int disabled;
} rule_cfg;

struct fr_config {
    char *path, *root;
    char digest[65];
    char **exclude, **disable;
    size_t nexclude, ndisable;
    allow global;
    rule_cfg *rules;
    size_t nrules;
    fr_baseline_entry *baseline;
    size_t nbaseline;
};

/* ---- path patterns ---- */

/* "**" then "/" is (.*\/)? : a skip state (epsilon past the group, or into
 * it) and a body that loops on anything and leaves on a '/'. */
enum { T_LIT, T_ANY, T_CLASS, T_STAR, T_DSTAR, T_SKIP, T_BODY };
typedef struct {
    int kind;
    unsigned char c;
    int neg;
    unsigned char set[32];
} tok;

static size_t compile_glob(const char *p, tok *t)
{
    size_t n = 0;
    while (*p) {
        tok *k = &t[n++];
        memset(k, 0, sizeof *k);
        if (p[0] == '*' && p[1] == '*') {
            p += 2;
            while (*p == '*')
                p++;
            if (*p == '/') {
                k->kind = T_SKIP;
                tok *b = &t[n++];
                memset(b, 0, sizeof *b);
                b->kind = T_BODY;
                p++;
            } else {
                k->kind = T_DSTAR;
            }
        } else if (*p == '*') {
            k->kind = T_STAR;
            p++;
        } else if (*p == '?') {
            k->kind = T_ANY;
            p++;
        } else if (*p == '[' && p[1] && strchr(p + 2, ']')) {
            const char *q = p + 1;
            k->kind = T_CLASS;
            if (*q == '!' || *q == '^') k->neg = 1, q++;
            for (int first = 1; *q && (first || *q != ']'); first = 0) {
                unsigned char a = (unsigned char)*q++, b = a;
                if (q[0] == '-' && q[1] && q[1] != ']') b = (unsigned char)q[1], q += 2;
                for (unsigned x = a; x <= b; x++)
                    k->set[x >> 3] |= (unsigned char)(1u << (x & 7));
            }
            p = *q ? q + 1 : q;
        } else {
            if (*p == '\\' && p[1]) p++;
            k->kind = T_LIT;
            k->c = (unsigned char)*p++;
        }
    }
    return n;
}

/* Every epsilon move goes forward, so one pass in order closes the set. */
static void closure(const tok *t, size_t n, unsigned char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (!set[i]) continue;
        if (t[i].kind == T_STAR || t[i].kind == T_DSTAR || t[i].kind == T_SKIP) set[i + 1] = 1;
        if (t[i].kind == T_SKIP) set[i + 2] = 1;
    }
}

static int nfa_match(const tok *t, size_t n, const char *s, size_t len)
{
    unsigned char *cur = fr_xcalloc(2 * (n + 1), 1), *nxt = cur + n + 1;
    cur[0] = 1;
    closure(t, n, cur);
    for (size_t j = 0; j < len; j++) {
        unsigned char ch = (unsigned char)s[j];
        memset(nxt, 0, n + 1);
        int any = 0;
        for (size_t i = 0; i < n; i++) {
            if (!cur[i]) continue;
            const tok *k = &t[i];
            switch (k->kind) {
            case T_LIT:
                if (ch == k->c) nxt[i + 1] = 1;
                break;
            case T_ANY:
                if (ch != '/') nxt[i + 1] = 1;
                break;
            case T_CLASS:
                if (ch != '/' && (((k->set[ch >> 3] >> (ch & 7)) & 1) != k->neg)) nxt[i + 1] = 1;
                break;
            case T_STAR:
                if (ch != '/') nxt[i] = 1;
                break;
            case T_DSTAR:
                nxt[i] = 1;
                break;
            case T_SKIP:
                break;
            case T_BODY:
                nxt[i] = 1;
                if (ch == '/') nxt[i + 1] = 1;
                break;
            }
        }
        closure(t, n, nxt);
        for (size_t i = 0; i <= n; i++)
            any |= nxt[i];
        unsigned char *sw = cur;
        cur = nxt, nxt = sw;
        if (!any) break;
    }
    int ok = cur[n];
    free(cur < nxt ? cur : nxt);
    return ok;
}

int fr_config_path_match(const char *pattern, const char *path)
{
    size_t pl = strlen(pattern);
    int dir_only = pl > 1 && pattern[pl - 1] == '/';
    fr_buf pb = {0};
    const char *body = pattern;
    size_t bl = dir_only ? pl - 1 : pl;
    /* anchored when a '/' is left once the trailing one is gone */
    int anchored = memchr(body, '/', bl) != NULL;
    if (anchored && body[0] == '/') body++, bl--;
    if (!anchored) fr_buf_puts(&pb, "**/");
    fr_buf_append(&pb, body, bl);
    tok *t = fr_xmalloc((pb.len + 1) * sizeof *t);
    size_t n = compile_glob(pb.p, t);
    fr_buf_release(&pb);
    /* a directory matched excludes all under it: try every directory prefix */
    size_t len = strlen(path);
    int ok = 0;
    for (size_t i = 0; i <= len && !ok; i++) {
        if (i < len && path[i] != '/') continue;
        if (i == len && dir_only) break;
        if (i == 0) continue;
        ok = nfa_match(t, n, path, i);
    }
    free(t);
    return ok;
}

/* ---- loading ---- */

typedef struct {
    const char *file;
    yaml_document_t *doc;
    fr_buf canon; /* what the digest is taken of */
} pctx;

static int fail(const pctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fr_error_set("%s:%zu: %s", c->file, n ? n->start_mark.line + 1 : 1, msg);
    return FR_ECORRUPT;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(const pctx *c, int id)
{
    return yaml_document_get_node(c->doc, id);
}

/* A list of strings (a single string counts as a list of one). */
static int strings(pctx *c, yaml_node_t *n, const char *key, char ***out, size_t *nout)
{
    const char *one = scalar(n);
    if (one) {
        *out = fr_xrealloc(*out, (*nout + 1) * sizeof **out);
        (*out)[(*nout)++] = fr_xstrdup(one);
        fr_buf_printf(&c->canon, "%s=%s\n", key, one);
        return FR_OK;
    }
    if (n->type != YAML_SEQUENCE_NODE) return fail(c, n, "'%s' must be a list of strings", key);
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        yaml_node_t *v = node(c, *i);
        const char *sv = scalar(v);
        if (!sv) return fail(c, v, "'%s' must be a list of strings", key);
        if (!*sv) return fail(c, v, "'%s': an empty string", key);
        *out = fr_xrealloc(*out, (*nout + 1) * sizeof **out);
        (*out)[(*nout)++] = fr_xstrdup(sv);
        fr_buf_printf(&c->canon, "%s=%s\n", key, sv);
    }
    return FR_OK;
}

static int parse_allow(pctx *c, yaml_node_t *n, allow *a)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "'allowlist' must be a mapping (values, regexes, paths)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(c, p->key));
        yaml_node_t *v = node(c, p->value);
        int rc;
        if (k && !strcmp(k, "values")) {
            rc = strings(c, v, "values", &a->values, &a->nvalues);
        } else if (k && !strcmp(k, "paths")) {
            rc = strings(c, v, "paths", &a->paths, &a->npaths);
        } else if (k && !strcmp(k, "regexes")) {
            char **re = NULL;
            size_t nre = 0;
            rc = strings(c, v, "regexes", &re, &nre);
            for (size_t i = 0; i < nre; i++) {
                int err;
                PCRE2_SIZE off;
                pcre2_code *code =
                    rc ? NULL
                       : pcre2_compile((PCRE2_SPTR)re[i], PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
                if (!code && rc == FR_OK) {
                    PCRE2_UCHAR msg[160];
                    pcre2_get_error_message(err, msg, sizeof msg);
                    rc =
                        fail(c, v, "regex '%s': %s at offset %zu", re[i], (char *)msg, (size_t)off);
                }
                if (code) {
                    a->re = fr_xrealloc(a->re, (a->nre + 1) * sizeof *a->re);
                    a->re[a->nre++] = code;
                }
                free(re[i]);
            }
            free(re);
        } else {
            rc = fail(c, node(c, p->key), "unknown allowlist key '%s' (values, regexes, paths)",
                      k ? k : "?");
        }
        if (rc) return rc;
    }
    return FR_OK;
}

static int valid_severity(const char *s)
{
    return s && (!strcmp(s, "low") || !strcmp(s, "medium") || !strcmp(s, "high") ||
                 !strcmp(s, "critical"));
}

static rule_cfg *rule_of(fr_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nrules; i++)
        if (!strcmp(cfg->rules[i].rule, id)) return &cfg->rules[i];
    cfg->rules = fr_xrealloc(cfg->rules, (cfg->nrules + 1) * sizeof *cfg->rules);
    rule_cfg *r = &cfg->rules[cfg->nrules++];
    memset(r, 0, sizeof *r);
    r->rule = fr_xstrdup(id);
    return r;
}

static int parse_severity(pctx *c, fr_config *cfg, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) return fail(c, n, "'severity' maps rule ids to levels");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(c, p->key)), *v = scalar(node(c, p->value));
        if (!k || !valid_severity(v))
            return fail(c, node(c, p->value), "severity of '%s': low, medium, high or critical",
                        k ? k : "?");
        rule_cfg *r = rule_of(cfg, k);
        free(r->severity);
        r->severity = fr_xstrdup(v);
        fr_buf_printf(&c->canon, "severity %s=%s\n", k, v);
    }
    return FR_OK;
}

static int parse_rules(pctx *c, fr_config *cfg, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) return fail(c, n, "'rules' maps rule ids to settings");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *id = scalar(node(c, p->key));
        yaml_node_t *m = node(c, p->value);
        if (!id || m->type != YAML_MAPPING_NODE)
            return fail(c, m, "rules: each rule id maps to allowlist, severity or disable");
        rule_cfg *r = rule_of(cfg, id);
        fr_buf_printf(&c->canon, "rule %s\n", id);
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < m->data.mapping.pairs.top;
             q++) {
            const char *k = scalar(node(c, q->key));
            yaml_node_t *v = node(c, q->value);
            int rc = FR_OK;
            if (k && !strcmp(k, "allowlist")) {
                rc = parse_allow(c, v, &r->a);
            } else if (k && !strcmp(k, "severity")) {
                if (!valid_severity(scalar(v)))
                    return fail(c, v, "severity: low, medium, high or critical");
                free(r->severity);
                r->severity = fr_xstrdup(scalar(v));
                fr_buf_printf(&c->canon, "severity=%s\n", r->severity);
            } else if (k && !strcmp(k, "disable")) {
                const char *b = scalar(v);
                if (!b || (strcmp(b, "true") && strcmp(b, "false")))
                    return fail(c, v, "disable: true or false");
                r->disabled = !strcmp(b, "true");
                fr_buf_printf(&c->canon, "disable=%d\n", r->disabled);
            } else {
                rc = fail(c, node(c, q->key),
                          "unknown key '%s' for rule '%s' (allowlist, severity, disable)",
                          k ? k : "?", id);
            }
            if (rc) return rc;
        }
    }
    return FR_OK;
}

static int valid_fid(char *s)
{
    if (strlen(s) != 12) return 0;
    for (char *p = s; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
        if (!strchr("0123456789abcdefghjkmnpqrstvwxyz", *p)) return 0;
    }
    return 1;
}

static int valid_day(const char *d)
{
    static const char shape[] = "dddd-dd-dd";
    if (strlen(d) != 10) return 0;
    for (int i = 0; i < 10; i++)
        if (shape[i] == 'd' ? !(d[i] >= '0' && d[i] <= '9') : d[i] != '-') return 0;
    return 1;
}

static int parse_baseline(pctx *c, fr_config *cfg, yaml_node_t *n)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "'baseline' is a list of {id, reason, expires}");
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        yaml_node_t *m = node(c, *i);
        if (m->type != YAML_MAPPING_NODE)
            return fail(c, m, "a baseline entry is a mapping {id, reason, expires}");
        char *id = NULL, *reason = NULL, *expires = NULL;
        int rc = FR_OK;
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
             rc == FR_OK && p < m->data.mapping.pairs.top; p++) {
            const char *k = scalar(node(c, p->key)), *v = scalar(node(c, p->value));
            char **slot = !k                      ? NULL
                          : !strcmp(k, "id")      ? &id
                          : !strcmp(k, "reason")  ? &reason
                          : !strcmp(k, "expires") ? &expires
                                                  : NULL;
            if (!slot)
                rc = fail(c, node(c, p->key), "unknown baseline key '%s' (id, reason, expires)",
                          k ? k : "?");
            else if (!v)
                rc = fail(c, node(c, p->value), "baseline '%s' must be a string", k);
            else
                free(*slot), *slot = fr_xstrdup(v);
        }
        if (rc == FR_OK && !id) rc = fail(c, m, "a baseline entry needs an 'id'");
        if (rc == FR_OK && !valid_fid(id))
            rc = fail(c, m, "baseline id '%s': a finding id is 12 characters of Crockford base32",
                      id);
        if (rc == FR_OK && expires && !valid_day(expires))
            rc = fail(c, m, "baseline expires '%s': a date, YYYY-MM-DD", expires);
        if (rc) {
            free(id), free(reason), free(expires);
            return rc;
        }
        cfg->baseline = fr_xrealloc(cfg->baseline, (cfg->nbaseline + 1) * sizeof *cfg->baseline);
        cfg->baseline[cfg->nbaseline++] = (fr_baseline_entry){id, reason, expires};
    }
    return FR_OK;
}

static int parse_root(pctx *c, fr_config *cfg, yaml_node_t *root)
{
    if (!root) return FR_OK; /* an empty file: no settings */
    if (root->type != YAML_MAPPING_NODE) return fail(c, root, "expected a mapping of settings");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(node(c, p->key));
        yaml_node_t *v = node(c, p->value);
        int rc;
        if (!k) {
            rc = fail(c, node(c, p->key), "a setting's name must be a string");
        } else if (!strcmp(k, "version")) {
            rc = scalar(v) && !strcmp(scalar(v), "1")
                     ? FR_OK
                     : fail(c, v, "version: this ferret reads version 1");
        } else if (!strcmp(k, "exclude")) {
            rc = strings(c, v, "exclude", &cfg->exclude, &cfg->nexclude);
        } else if (!strcmp(k, "disable")) {
            rc = strings(c, v, "disable", &cfg->disable, &cfg->ndisable);
        } else if (!strcmp(k, "severity")) {
            rc = parse_severity(c, cfg, v);
        } else if (!strcmp(k, "allowlist")) {
            fr_buf_puts(&c->canon, "global\n");
            rc = parse_allow(c, v, &cfg->global);
        } else if (!strcmp(k, "rules")) {
            rc = parse_rules(c, cfg, v);
        } else if (!strcmp(k, "baseline")) {
            rc = parse_baseline(c, cfg, v);
        } else {
            rc = fail(c, node(c, p->key),
                      "unknown setting '%s' (version, exclude, disable, severity, allowlist, "
                      "rules, baseline)",
                      k);
        }
        if (rc) return rc;
    }
    return FR_OK;
}

static int syntax_error(const char *name, const yaml_parser_t *parser)
{
    fr_error_set("%s:%zu: YAML syntax error: %s", name, parser->problem_mark.line + 1,
                 parser->problem ? parser->problem : "malformed document");
    return FR_ECORRUPT;
}

/* No anchors or aliases (references multiply work), bounded nesting, one document. */
static int prescan(const char *name, const char *data, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fr_error_set("%s: cannot initialise the YAML parser", name);
        return FR_ERR;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    int rc = FR_OK, depth = 0, docs = 0;
    for (int done = 0; !done && rc == FR_OK;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = syntax_error(name, &parser);
            break;
        }
        size_t line = ev.start_mark.line + 1;
        int anchor = (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.anchor) ||
                     (ev.type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.anchor) ||
                     (ev.type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.anchor);
        if (ev.type == YAML_ALIAS_EVENT || anchor) {
            fr_error_set("%s:%zu: YAML anchors and aliases are not allowed here", name, line);
            rc = FR_ECORRUPT;
        } else if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_DEPTH) {
                fr_error_set("%s:%zu: nesting deeper than %d levels", name, line, MAX_DEPTH);
                rc = FR_ECORRUPT;
            }
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            fr_error_set("%s:%zu: a config file holds one YAML document", name, line);
            rc = FR_ECORRUPT;
        } else if (ev.type == YAML_STREAM_END_EVENT) {
            done = 1;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

static int read_file(const char *path, fr_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fr_error_set("%s: %s", path, strerror(errno));
        return errno == ENOENT ? FR_ENOTFOUND : FR_ERR;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        fr_buf_append(out, chunk, n);
        if (out->len > FR_CONFIG_MAX) {
            fclose(f);
            fr_error_set("%s: a config file is at most %u MiB", path, FR_CONFIG_MAX >> 20);
            return FR_ELIMIT;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fr_error_set("%s: read error", path);
        return FR_ERR;
    }
    return FR_OK;
}

int fr_config_load(fr_config **out, const char *path, const char *root)
{
    *out = NULL;
    fr_buf data = {0};
    int rc = read_file(path, &data);
    if (rc == FR_OK) rc = prescan(path, data.p ? data.p : "", data.len);
    if (rc) {
        fr_buf_release(&data);
        return rc;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fr_buf_release(&data);
        fr_error_set("%s: cannot initialise the YAML parser", path);
        return FR_ERR;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)(data.p ? data.p : ""), data.len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = syntax_error(path, &parser);
        yaml_parser_delete(&parser);
        fr_buf_release(&data);
        return rc;
    }
    fr_config *cfg = fr_xcalloc(1, sizeof *cfg);
    cfg->path = fr_xstrdup(path);
    if (root) {
        cfg->root = fr_xstrdup(root);
    } else {
        const char *sl = strrchr(path, '/');
        cfg->root = sl ? fr_xstrndup(path, (size_t)(sl - path)) : fr_xstrdup(".");
    }
    pctx c = {path, &doc, {0}};
    rc = parse_root(&c, cfg, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fr_buf_release(&data);
    for (size_t i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].disabled) fr_buf_printf(&c.canon, "off %s\n", cfg->rules[i].rule);
    fr_sha256_hex(c.canon.p ? c.canon.p : "", c.canon.len, cfg->digest);
    fr_buf_release(&c.canon);
    if (rc) {
        fr_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return FR_OK;
}

int fr_config_find(fr_config **out, const char *root)
{
    *out = NULL;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) return FR_OK;
    fr_buf p = {0};
    fr_buf_printf(&p, "%s/." FR_CONFIG_FILE, root);
    int rc = fr_config_load(out, p.p, root);
    fr_buf_release(&p);
    return rc == FR_ENOTFOUND ? FR_OK : rc;
}

static void allow_free(allow *a)
{
    for (size_t i = 0; i < a->nvalues; i++)
        free(a->values[i]);
    for (size_t i = 0; i < a->npaths; i++)
        free(a->paths[i]);
    for (size_t i = 0; i < a->nre; i++)
        pcre2_code_free(a->re[i]);
    free(a->values), free(a->paths), free(a->re);
}

void fr_config_free(fr_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nexclude; i++)
        free(c->exclude[i]);
    for (size_t i = 0; i < c->ndisable; i++)
        free(c->disable[i]);
    for (size_t i = 0; i < c->nrules; i++) {
        free(c->rules[i].rule);
        free(c->rules[i].severity);
        allow_free(&c->rules[i].a);
    }
    for (size_t i = 0; i < c->nbaseline; i++) {
        free((char *)c->baseline[i].fid);
        free((char *)c->baseline[i].reason);
        free((char *)c->baseline[i].expires);
    }
    allow_free(&c->global);
    free(c->exclude), free(c->disable), free(c->rules), free(c->baseline);
    free(c->path), free(c->root);
    free(c);
}

const char *fr_config_path(const fr_config *c)
{
    return c->path;
}

const char *fr_config_digest(const fr_config *c)
{
    return c->digest;
}

/* The path as the patterns see it: relative to the root, archive members as
 * directories ("a.zip!m" -> "a.zip/m"), no leading "./". */
static char *relative(const fr_config *c, const char *path)
{
    size_t rl = strlen(c->root);
    if (rl && !strncmp(path, c->root, rl) && path[rl] == '/') path += rl + 1;
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    char *r = fr_xstrdup(path);
    for (char *p = r; *p; p++)
        if (*p == '!') *p = '/';
    return r;
}

static int any_path(char *const *pats, size_t n, const char *rel)
{
    for (size_t i = 0; i < n; i++)
        if (fr_config_path_match(pats[i], rel)) return 1;
    return 0;
}

int fr_config_excluded(const fr_config *c, const char *path)
{
    if (!c || !c->nexclude || !path) return 0;
    char *rel = relative(c, path);
    int ex = 0;
    for (size_t i = 0; i < c->nexclude; i++) {
        const char *p = c->exclude[i];
        int neg = p[0] == '!';
        if (fr_config_path_match(neg ? p + 1 : p, rel)) ex = !neg;
    }
    free(rel);
    return ex;
}

static int allowed_by(const allow *a, const char *s, size_t n, const char *rel)
{
    for (size_t i = 0; i < a->nvalues; i++)
        if (strlen(a->values[i]) == n && !memcmp(a->values[i], s, n)) return 1;
    for (size_t i = 0; i < a->nre; i++) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(a->re[i], NULL);
        int r = pcre2_match(a->re[i], (PCRE2_SPTR)s, n, 0, 0, md, NULL);
        pcre2_match_data_free(md);
        if (r >= 0) return 1;
    }
    return rel && any_path(a->paths, a->npaths, rel);
}

int fr_config_drops(const fr_config *c, const char *rule_id, const char *s, size_t n,
                    const char *path)
{
    if (!c) return 0;
    for (size_t i = 0; i < c->ndisable; i++)
        if (!fnmatch(c->disable[i], rule_id, 0)) return 1;
    char *rel = path ? relative(c, path) : NULL;
    int drop = fr_config_excluded(c, path) || allowed_by(&c->global, s, n, rel);
    for (size_t i = 0; !drop && i < c->nrules; i++)
        if (!strcmp(c->rules[i].rule, rule_id))
            drop = c->rules[i].disabled || allowed_by(&c->rules[i].a, s, n, rel);
    free(rel);
    return drop;
}

int fr_config_drop_match(void *cfg, const char *rule_id, const char *s, size_t n, const char *path)
{
    return fr_config_drops(cfg, rule_id, s, n, path);
}

const char *fr_config_severity(const fr_config *c, const char *rule_id)
{
    for (size_t i = 0; c && i < c->nrules; i++)
        if (c->rules[i].severity && !strcmp(c->rules[i].rule, rule_id)) return c->rules[i].severity;
    return NULL;
}

size_t fr_config_baseline(const fr_config *c, const fr_baseline_entry **out)
{
    *out = c ? c->baseline : NULL;
    return c ? c->nbaseline : 0;
}
