/*
 * rules.c: parse rule YAML with libyaml's document API so every node carries a
 * line number for errors. Strict: unknown keys, missing fields and bad values
 * are errors (a typo in a rule must not silently weaken it).
 *
 * Rule files may come from anyone who can write a rules directory, so loading
 * costs at most linear time and memory in the file's size: files are capped,
 * nesting is capped, and aliases (which let a small file expand into an
 * exponentially large tree) are refused, as rule files never need them.
 */
#include "rules/rules.h"

#include "util/hashset.h"
#include "util/limits.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

typedef struct {
    const char *file;
    yaml_document_t *doc;
} pctx;

static int fail(const pctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fr_error_set("%s:%zu: %s", c->file, n ? n->start_mark.line + 1 : 1, msg);
    return FR_ECORRUPT;
}

static int get_scalar(const pctx *c, yaml_node_t *n, const char *key, char **out)
{
    if (n->type != YAML_SCALAR_NODE) return fail(c, n, "'%s' must be a string", key);
    *out = fr_xstrndup((const char *)n->data.scalar.value, n->data.scalar.length);
    return FR_OK;
}

static int get_list(const pctx *c, yaml_node_t *n, const char *key, char ***out, size_t *nout,
                    int **lines)
{
    if (n->type == YAML_SCALAR_NODE) { /* a single item may be written as a scalar */
        *out = fr_xcalloc(1, sizeof(char *));
        (*out)[0] = fr_xstrndup((const char *)n->data.scalar.value, n->data.scalar.length);
        if (lines) {
            *lines = fr_xcalloc(1, sizeof(int));
            (*lines)[0] = (int)n->start_mark.line + 1;
        }
        *nout = 1;
        return FR_OK;
    }
    if (n->type != YAML_SEQUENCE_NODE) return fail(c, n, "'%s' must be a list of strings", key);
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = fr_xcalloc(cnt, sizeof(char *));
    if (lines) *lines = fr_xcalloc(cnt, sizeof(int));
    *nout = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        if (!item || item->type != YAML_SCALAR_NODE)
            return fail(c, item ? item : n, "items of '%s' must be strings", key);
        (*out)[*nout] =
            fr_xstrndup((const char *)item->data.scalar.value, item->data.scalar.length);
        if (lines) (*lines)[*nout] = (int)item->start_mark.line + 1;
        (*nout)++;
    }
    return FR_OK;
}

static int get_examples(const pctx *c, yaml_node_t *n, const char *key, fr_rule_example **out,
                        size_t *nout)
{
    char **texts = NULL;
    int *lines = NULL;
    size_t cnt = 0;
    int rc = get_list(c, n, key, &texts, &cnt, &lines);
    if (rc == FR_OK) {
        *out = fr_xcalloc(cnt, sizeof **out);
        for (size_t i = 0; i < cnt; i++)
            (*out)[i] = (fr_rule_example){texts[i], lines[i]};
        *nout = cnt;
    } else {
        for (size_t i = 0; i < cnt; i++)
            free(texts[i]);
    }
    free(texts);
    free(lines);
    return rc;
}

static int one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (!strcmp(v, *allowed)) return 1;
    return 0;
}

static void rule_release(fr_rule *r)
{
    free(r->id), free(r->name), free(r->description), free(r->pattern), free(r->prefilter);
    free(r->severity), free(r->confidence), free(r->attack), free(r->file), free(r->validate);
    free(r->attack_version);
    for (size_t i = 0; i < r->npaths; i++)
        free(r->paths[i]);
    free(r->paths);
    for (size_t i = 0; i < r->nkeywords; i++)
        free(r->keywords[i]);
    for (size_t i = 0; i < r->nignore; i++)
        free(r->ignore[i]);
    free(r->ignore);
    for (size_t i = 0; i < r->nreferences; i++)
        free(r->references[i]);
    for (size_t i = 0; i < r->nexamples; i++)
        free(r->examples[i].text);
    for (size_t i = 0; i < r->nnegatives; i++)
        free(r->negatives[i].text);
    free(r->keywords), free(r->references), free(r->examples), free(r->negatives);
}

static int valid_id(const char *id)
{
    if (!*id) return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
              *p == '_'))
            return 0;
    return 1;
}

static int parse_rule(const pctx *c, yaml_node_t *m, fr_rule *r)
{
    static const char *const severities[] = {"critical", "high", "medium", "low", "info", NULL};
    static const char *const confidences[] = {"high", "medium", "low", NULL};
    int rc = FR_OK, seen_applies = 0;
    r->line = (int)m->start_mark.line + 1;
    r->file = fr_xstrdup(c->file);
    r->max_length = FR_RULE_DEFAULT_MAX_LENGTH;
    if (m->type != YAML_MAPPING_NODE) return fail(c, m, "a rule must be a mapping");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE) return fail(c, m, "malformed rule key");
        const char *key = (const char *)k->data.scalar.value;
        /* A field given twice is a typo, and would leak its first value. The
         * scan is short: the 20th distinct key is already an unknown field. */
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *qk = yaml_document_get_node(c->doc, q->key);
            if (qk && qk->type == YAML_SCALAR_NODE &&
                !strcmp((const char *)qk->data.scalar.value, key))
                return fail(c, k, "'%s' given twice", key);
        }
        if (!strcmp(key, "id"))
            rc = get_scalar(c, v, key, &r->id);
        else if (!strcmp(key, "name"))
            rc = get_scalar(c, v, key, &r->name);
        else if (!strcmp(key, "description"))
            rc = get_scalar(c, v, key, &r->description);
        else if (!strcmp(key, "pattern"))
            rc = get_scalar(c, v, key, &r->pattern);
        else if (!strcmp(key, "prefilter"))
            rc = get_scalar(c, v, key, &r->prefilter);
        else if (!strcmp(key, "severity"))
            rc = get_scalar(c, v, key, &r->severity);
        else if (!strcmp(key, "confidence"))
            rc = get_scalar(c, v, key, &r->confidence);
        else if (!strcmp(key, "attack"))
            rc = get_scalar(c, v, key, &r->attack);
        else if (!strcmp(key, "attack_version"))
            rc = get_scalar(c, v, key, &r->attack_version);
        else if (!strcmp(key, "paths"))
            rc = get_list(c, v, key, &r->paths, &r->npaths, NULL);
        else if (!strcmp(key, "kind")) {
            char *k2 = NULL;
            if ((rc = get_scalar(c, v, key, &k2))) return rc;
            if (!strcmp(k2, "secret"))
                r->kind = FR_KIND_SECRET;
            else if (!strcmp(k2, "indicator"))
                r->kind = FR_KIND_INDICATOR;
            else
                rc = fail(c, v, "kind must be secret or indicator, not '%s'", k2);
            free(k2);
        } else if (!strcmp(key, "applies_to")) {
            char **g = NULL;
            size_t ng = 0;
            rc = get_list(c, v, key, &g, &ng, NULL);
            r->applies_to = 0;
            for (size_t i = 0; i < ng && !rc; i++) {
                if (!strcmp(g[i], "logs"))
                    r->applies_to |= FR_APPLIES_LOGS;
                else if (!strcmp(g[i], "pipeline-definitions"))
                    r->applies_to |= FR_APPLIES_PIPELINE_DEFS;
                else if (!strcmp(g[i], "everywhere"))
                    r->applies_to |= FR_APPLIES_ALL;
                else
                    rc = fail(c, v,
                              "unknown applies_to '%s' (known: logs, pipeline-definitions, "
                              "everywhere)",
                              g[i]);
            }
            for (size_t i = 0; i < ng; i++)
                free(g[i]);
            free(g);
            if (!rc && !r->applies_to) rc = fail(c, v, "applies_to must name at least one origin");
            seen_applies = 1;
        } else if (!strcmp(key, "validate"))
            rc = get_scalar(c, v, key, &r->validate);
        else if (!strcmp(key, "ignore_values"))
            rc = get_list(c, v, key, &r->ignore, &r->nignore, NULL);
        else if (!strcmp(key, "guards")) {
            char **g = NULL;
            size_t ng = 0;
            rc = get_list(c, v, key, &g, &ng, NULL);
            for (size_t i = 0; i < ng && !rc; i++) {
                if (!strcmp(g[i], "hex-digest"))
                    r->guards |= FR_GUARD_HEX_DIGEST;
                else if (!strcmp(g[i], "words"))
                    r->guards |= FR_GUARD_WORDS;
                else if (!strcmp(g[i], "config"))
                    r->guards |= FR_GUARD_CONFIG;
                else if (!strcmp(g[i], "doc-words"))
                    r->guards |= FR_GUARD_DOC;
                else if (!strcmp(g[i], "generic"))
                    r->guards |= FR_GUARD_GENERIC;
                else if (!strcmp(g[i], "uuid-allowed"))
                    r->guards |= FR_GUARD_UUID_OK;
                else
                    rc = fail(c, v,
                              "unknown guard '%s' (known: hex-digest, words, config, doc-words, "
                              "generic, uuid-allowed)",
                              g[i]);
            }
            for (size_t i = 0; i < ng; i++)
                free(g[i]);
            free(g);
        } else if (!strcmp(key, "keywords"))
            rc = get_list(c, v, key, &r->keywords, &r->nkeywords, NULL);
        else if (!strcmp(key, "references"))
            rc = get_list(c, v, key, &r->references, &r->nreferences, NULL);
        else if (!strcmp(key, "examples"))
            rc = get_examples(c, v, key, &r->examples, &r->nexamples);
        else if (!strcmp(key, "negative_examples"))
            rc = get_examples(c, v, key, &r->negatives, &r->nnegatives);
        else if (!strcmp(key, "min_entropy") || !strcmp(key, "max_length")) {
            char *s = NULL, *end = NULL;
            if ((rc = get_scalar(c, v, key, &s))) return rc;
            errno = 0;
            double d = strtod(s, &end);
            /* strtod also reads "nan", "inf" and hex floats: only finite
             * values pass, and every comparison below is then meaningful. */
            int bad = errno || end == s || *end || !isfinite(d);
            free(s);
            if (bad) return fail(c, v, "'%s' must be a finite number", key);
            if (key[1] == 'i') {
                if (!(d >= 0 && d <= 8)) return fail(c, v, "min_entropy must be within 0..8 bits");
                r->min_entropy = d;
            } else {
                if (!(d >= 1 && d <= FR_RULE_MAX_LENGTH_MAX) || d != floor(d))
                    return fail(c, v, "max_length must be an integer within 1..%d",
                                FR_RULE_MAX_LENGTH_MAX);
                r->max_length = (size_t)d;
            }
        } else
            return fail(c, k, "unknown rule field '%s'", key);
        if (rc) return rc;
    }
    if (!r->id) return fail(c, m, "rule has no 'id'");
    if (!valid_id(r->id))
        return fail(c, m, "rule id '%s' may hold only a-z, 0-9, '.', '-' and '_'", r->id);
    if (!r->name) return fail(c, m, "rule '%s' has no 'name'", r->id);
    if (!r->pattern || !*r->pattern) return fail(c, m, "rule '%s' has no 'pattern'", r->id);
    if (r->prefilter && !*r->prefilter) return fail(c, m, "rule '%s': empty 'prefilter'", r->id);
    if (!r->severity) return fail(c, m, "rule '%s' has no 'severity'", r->id);
    if (!one_of(r->severity, severities))
        return fail(c, m, "rule '%s': severity must be critical, high, medium, low or info", r->id);
    if (!r->confidence) return fail(c, m, "rule '%s' has no 'confidence'", r->id);
    if (!one_of(r->confidence, confidences))
        return fail(c, m, "rule '%s': confidence must be high, medium or low", r->id);
    if (!r->attack || strncmp(r->attack, "T", 1))
        return fail(c, m, "rule '%s' needs 'attack', a MITRE ATT&CK technique id like T1552.001",
                    r->id);
    if (r->kind == FR_KIND_INDICATOR) {
        if (!seen_applies)
            return fail(c, m,
                        "indicator rule '%s' needs 'applies_to' (logs, pipeline-definitions, "
                        "everywhere)",
                        r->id);
        if (!r->attack_version || !*r->attack_version)
            return fail(c, m,
                        "indicator rule '%s' needs 'attack_version', the ATT&CK version its "
                        "technique was mapped under",
                        r->id);
        if (r->min_entropy > 0 || r->validate || r->nignore)
            return fail(c, m,
                        "indicator rule '%s': min_entropy, validate and ignore_values are for "
                        "secrets",
                        r->id);
    } else if (!seen_applies) {
        r->applies_to = FR_APPLIES_ALL;
    }
    if (r->attack_version) {
        const char *q = r->attack_version;
        while (*q >= '0' && *q <= '9')
            q++;
        if (*q == '.' && q[1] >= '0' && q[1] <= '9')
            for (q++; *q >= '0' && *q <= '9';)
                q++;
        if (q == r->attack_version || *q)
            return fail(c, m, "rule '%s': attack_version must be an ATT&CK version like 18", r->id);
    }
    if (r->nexamples == 0) return fail(c, m, "rule '%s' has no 'examples'", r->id);
    if (r->nnegatives == 0) return fail(c, m, "rule '%s' has no 'negative_examples'", r->id);
    return FR_OK;
}

static int syntax_error(const char *name, const yaml_parser_t *parser)
{
    if (parser->context)
        fr_error_set("%s:%zu: YAML syntax error: %s (%s that starts at line %zu)", name,
                     parser->problem_mark.line + 1,
                     parser->problem ? parser->problem : "malformed document", parser->context,
                     parser->context_mark.line + 1);
    else
        fr_error_set("%s:%zu: YAML syntax error: %s", name, parser->problem_mark.line + 1,
                     parser->problem ? parser->problem : "malformed document");
    return FR_ECORRUPT;
}

/* A first pass over the event stream, before any tree is built: no anchors or
 * aliases (an alias is a reference, and following references is how 285 KB
 * became 5.9 GB), nesting at most FR_RULE_MAX_DEPTH deep (libyaml's work per token
 * grows with the depth). It stops at the first offence, so it is linear. */
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
        const yaml_char_t *anchor =
            ev.type == YAML_SCALAR_EVENT           ? ev.data.scalar.anchor
            : ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
            : ev.type == YAML_MAPPING_START_EVENT  ? ev.data.mapping_start.anchor
                                                   : NULL;
        if (ev.type == YAML_ALIAS_EVENT || anchor) {
            fr_error_set("%s:%zu: YAML %s are not allowed in rule files", name, line,
                         anchor ? "anchors" : "aliases");
            rc = FR_ECORRUPT;
        } else if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > FR_RULE_MAX_DEPTH) {
                fr_error_set("%s:%zu: nesting deeper than %d levels", name, line,
                             FR_RULE_MAX_DEPTH);
                rc = FR_ECORRUPT;
            }
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            /* Only the first document is loaded: rules in others would be
             * silently ignored. */
            fr_error_set("%s:%zu: a rule file holds one YAML document", name, line);
            rc = FR_ECORRUPT;
        } else if (ev.type == YAML_STREAM_END_EVENT) {
            done = 1;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

static int parse_file(fr_ruleset *rs, fr_strtab *ids, const char *name, const char *data,
                      size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    pctx c = {name, &doc};
    int rc = FR_OK;
    if (len > FR_RULE_FILE_MAX) {
        fr_error_set("%s: rule file larger than %zu MiB", name, FR_RULE_FILE_MAX >> 20);
        return FR_ELIMIT;
    }
    if ((rc = prescan(name, data, len))) return rc;
    if (!yaml_parser_initialize(&parser)) {
        fr_error_set("%s: cannot initialise the YAML parser", name);
        return FR_ERR;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = syntax_error(name, &parser);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *list = NULL;
    if (!root) {
        rc = fail(&c, NULL, "empty rule file (expected a 'rules:' list)");
        goto done;
    }
    if (root->type != YAML_MAPPING_NODE) {
        rc = fail(&c, root, "expected a mapping with a 'rules:' list");
        goto done;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, "rules")) {
            if (list) { /* the second list would hide the first */
                rc = fail(&c, k, "'rules' given twice");
                goto done;
            }
            list = yaml_document_get_node(&doc, p->value);
        } else {
            rc = fail(&c, k, "unknown top-level key (expected only 'rules')");
            goto done;
        }
    }
    if (!list || list->type != YAML_SEQUENCE_NODE) {
        rc = fail(&c, list ? list : root, "'rules' must be a list");
        goto done;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++) {
        fr_rule r = {0};
        rc = parse_rule(&c, yaml_document_get_node(&doc, *it), &r);
        if (rc) {
            rule_release(&r);
            goto done;
        }
        /* Interned ids are dense in rule order: an id seen before maps to
         * the index of the rule that has it. */
        uint32_t first = fr_strtab_intern(ids, r.id, strlen(r.id));
        if (first < rs->n) {
            rc = fail(&c, yaml_document_get_node(&doc, *it),
                      "duplicate rule id '%s' (first defined at %s:%d)", r.id,
                      rs->rules[first].file, rs->rules[first].line);
            rule_release(&r);
            goto done;
        }
        rs->rules = fr_xrealloc(rs->rules, (rs->n + 1) * sizeof *rs->rules);
        if (r.kind == FR_KIND_INDICATOR) rs->nindicators++;
        rs->rules[rs->n++] = r;
    }
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int fr_rules_load_buffers(fr_ruleset **out, const char *const *names, const char *const *datas,
                          const size_t *lens, size_t nfiles)
{
    fr_ruleset *rs = fr_xcalloc(1, sizeof *rs);
    fr_strtab ids;
    fr_strtab_init(&ids);
    for (size_t i = 0; i < nfiles; i++) {
        int rc = parse_file(rs, &ids, names[i], datas[i], lens[i]);
        if (rc) {
            fr_strtab_release(&ids);
            fr_ruleset_free(rs);
            return rc;
        }
    }
    fr_strtab_release(&ids);
    if (rs->n == 0) {
        fr_ruleset_free(rs);
        fr_error_set("no rules loaded");
        return FR_ERR;
    }
    fr_rules_hash(datas, lens, nfiles, rs->hash);
    *out = rs;
    return FR_OK;
}

/* When this parser was built: a rule set cached by another build of it (a
 * development build keeps the version number) is parsed afresh. */
const char fr_rules_parser_build[] = __DATE__ " " __TIME__;

void fr_rules_hash(const char *const *datas, const size_t *lens, size_t nfiles, char out[65])
{
    /* The engine version is part of the hash: a change in how rules are applied
     * must invalidate "already scanned" as surely as a change in the rules. */
    fr_sha256_ctx h;
    fr_sha256_init(&h);
    fr_sha256_update(&h, "ferret-engine-1\n", 16);
    for (size_t i = 0; i < nfiles; i++) {
        fr_sha256_update(&h, datas[i], lens[i]);
        fr_sha256_update(&h, "\n\0", 2);
    }
    unsigned char d[32];
    fr_sha256_final(&h, d);
    fr_hex(out, d, 32);
}

/* Reads a rule file that must be a regular file of at most FR_RULE_FILE_MAX bytes.
 * O_NONBLOCK: opening a FIFO (or a device) named *.yml must not wait for a
 * writer; fstat then refuses whatever is not a regular file. */
static int read_file(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fr_error_set("%s: cannot open rule file: %s", path, strerror(errno));
        return FR_ERR;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        fr_error_set("%s: not a regular file", path);
        return FR_ERR;
    }
    if (st.st_size > (off_t)FR_RULE_FILE_MAX) {
        close(fd);
        fr_error_set("%s: rule file larger than %zu MiB", path, FR_RULE_FILE_MAX >> 20);
        return FR_ELIMIT;
    }
    /* Read to the end, not to st_size: the file may change under us, and one
     * byte past the cap is enough to tell it grew too large. */
    fr_buf b = {0};
    int rc = FR_OK;
    for (;;) {
        fr_buf_reserve(&b, 8192);
        ssize_t n = read(fd, b.p + b.len, 8192);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fr_error_set("%s: read error: %s", path, strerror(errno));
            rc = FR_ERR;
            break;
        }
        if (n == 0) break;
        b.len += (size_t)n;
        if (b.len > FR_RULE_FILE_MAX) {
            fr_error_set("%s: rule file larger than %zu MiB", path, FR_RULE_FILE_MAX >> 20);
            rc = FR_ELIMIT;
            break;
        }
    }
    close(fd);
    if (rc) {
        fr_buf_release(&b);
        return rc;
    }
    fr_buf_reserve(&b, 1); /* NUL-terminated even when empty */
    b.p[b.len] = 0;
    *len = b.len;
    *data = fr_buf_steal(&b);
    return FR_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_rule_file(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' &&
           ((l > 4 && !strcmp(n + l - 4, ".yml")) || (l > 5 && !strcmp(n + l - 5, ".yaml")));
}

int fr_rules_load(fr_ruleset **out, const char *dir)
{
    return fr_rules_load_cached(out, dir, NULL);
}

int fr_rules_load_cached(fr_ruleset **out, const char *dir, const char *cache_dir)
{
    size_t nb = 0, cap = 0, n = 0;
    while (fr_embedded_rules[nb].name)
        nb++;
    cap = nb + 16;
    const char **names = fr_xcalloc(cap, sizeof *names);
    const char **datas = fr_xcalloc(cap, sizeof *datas);
    size_t *lens = fr_xcalloc(cap, sizeof *lens);
    char **owned = NULL;
    size_t nowned = 0;
    int rc = FR_OK;
    for (size_t i = 0; i < nb; i++, n++) {
        names[n] = fr_embedded_rules[i].name;
        datas[n] = fr_embedded_rules[i].data;
        lens[n] = fr_embedded_rules[i].len;
    }
    if (dir) {
        DIR *d = opendir(dir);
        if (!d) {
            fr_error_set("%s: cannot open rules directory: %s", dir, strerror(errno));
            rc = FR_ERR;
            goto done;
        }
        char **files = NULL;
        size_t nf = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!is_rule_file(e->d_name)) continue;
            files = fr_xrealloc(files, (nf + 1) * sizeof *files);
            files[nf++] = fr_xstrdup(e->d_name);
        }
        closedir(d);
        if (nf > 1) qsort(files, nf, sizeof *files, cmp_str);
        owned = fr_xcalloc(nf * 2 + 1, sizeof *owned);
        for (size_t i = 0; i < nf; i++) {
            fr_buf path = {0};
            fr_buf_printf(&path, "%s/%s", dir, files[i]);
            char *data = NULL;
            size_t len = 0;
            if (rc == FR_OK) rc = read_file(path.p, &data, &len);
            if (rc == FR_OK) {
                size_t slot = n;
                for (size_t j = 0; j < nb; j++) /* same file name: override the built-in */
                    if (!strcmp(strrchr(names[j], '/') + 1, files[i])) slot = j;
                if (slot == n) {
                    if (n == cap) {
                        cap *= 2;
                        names = fr_xrealloc(names, cap * sizeof *names);
                        datas = fr_xrealloc(datas, cap * sizeof *datas);
                        lens = fr_xrealloc(lens, cap * sizeof *lens);
                    }
                    n++;
                }
                owned[nowned++] = data;
                owned[nowned++] = fr_xstrdup(path.p);
                names[slot] = owned[nowned - 1];
                datas[slot] = data;
                lens[slot] = len;
            }
            fr_buf_release(&path);
            free(files[i]);
        }
        free(files);
        if (rc) goto done;
    }
    rc = fr_rules_cache_load(out, names, datas, lens, n, cache_dir);
done:
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(names), free(datas), free(lens);
    return rc;
}

void fr_ruleset_free(fr_ruleset *rs)
{
    if (!rs) return;
    for (size_t i = 0; i < rs->n; i++)
        rule_release(&rs->rules[i]);
    free(rs->rules);
    free(rs);
}

const char *fr_kind_name(int kind)
{
    return kind == FR_KIND_INDICATOR ? "indicator" : "secret";
}

static int ends_with_ci(const char *s, size_t n, const char *sfx)
{
    size_t m = strlen(sfx);
    return n >= m && !strncasecmp(s + n - m, sfx, m);
}

/* The name's last component, and the directory before it, decide: paths are
 * repository-relative in git, absolute on disk, "container!member" in
 * archives, so only the tail is looked at. */
int fr_is_pipeline_definition(const char *path)
{
    if (!path) return 0;
    const char *bang = strrchr(path, '!');
    if (bang) path = bang + 1;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bn = strlen(base);
    size_t dn = (size_t)(base - path); /* directory part with its '/' */
    int yml = ends_with_ci(base, bn, ".yml") || ends_with_ci(base, bn, ".yaml");
    /* the directory ends with dir/ (and starts the path or follows a '/') */
#define IN_DIR(d)                                                                                  \
    (dn >= sizeof(d) && !strncmp(path + dn - sizeof(d), d "/", sizeof(d)) &&                       \
     (dn == sizeof(d) || path[dn - sizeof(d) - 1] == '/'))
    if (yml && IN_DIR(".github/workflows")) return 1;
    if (yml && !strncasecmp(base, "azure-pipelines", 15)) return 1;
    if (yml && (strstr(path, "/.azure-pipelines/") || !strncmp(path, ".azure-pipelines/", 17)))
        return 1;
    if (!strcmp(base, ".gitlab-ci.yml") || !strcmp(base, ".gitlab-ci.yaml") ||
        ends_with_ci(base, bn, ".gitlab-ci.yml") || ends_with_ci(base, bn, ".gitlab-ci.yaml"))
        return 1;
    if (!strncmp(base, "Jenkinsfile", 11)) return 1;
    if (!strcmp(base, "bitbucket-pipelines.yml") || !strcmp(base, ".travis.yml")) return 1;
    if (yml && IN_DIR(".circleci") && !strncmp(base, "config.", 7)) return 1;
    if (yml && (IN_DIR(".buildkite") || !strncmp(base, "buildkite.", 10))) return 1;
#undef IN_DIR
    return 0;
}

const char *fr_severity_level(const char *s)
{
    if (!strcmp(s, "critical") || !strcmp(s, "high")) return "error";
    if (!strcmp(s, "medium")) return "warning";
    return "note";
}

const char *fr_severity_score(const char *s)
{
    if (!strcmp(s, "critical")) return "9.5";
    if (!strcmp(s, "high")) return "8.0";
    if (!strcmp(s, "medium")) return "5.5";
    if (!strcmp(s, "low")) return "3.0";
    return "1.0";
}

int fr_rule_path_matches(const fr_rule *r, const char *path)
{
    if (!r->npaths) return 1;
    if (!path) return 0;
    const char *bang = strrchr(path, '!');
    if (bang) path = bang + 1;
    for (const char *t = path; t; t = strchr(t, '/') ? strchr(t, '/') + 1 : NULL)
        for (size_t i = 0; i < r->npaths; i++)
            if (!fnmatch(r->paths[i], t, FNM_PATHNAME)) return 1;
    return 0;
}
