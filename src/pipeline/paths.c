/*
 * paths.c: secrets in path names. A path is shown in every report and stored in
 * the DB, so each location path of an item and of its archive members is
 * scanned with the worker's scanner before the result reaches the writer: a
 * secret span is replaced by its redacted preview in every location, and a
 * match in a name nothing else scans (a file on disk, an archive member) is
 * returned as a finding of its own, like git.c's "git-path" segments (git paths
 * are scanned there, so they are only redacted here).
 * Cost: one Hyperscan pass over a short string per location.
 */
#include "pipeline/pipeline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_span(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

size_t fr_redact_spans(const char *path, const fr_match *m, size_t nm, fr_buf *out)
{
    size_t len = strlen(path), from = 0, n = 0;
    fr_buf_reset(out);
    fr_buf_reserve(out, len + 1); /* out->p is a string even for "" */
    size_t(*sp)[2] = fr_xcalloc(nm ? nm : 1, sizeof *sp), ns = 0;
    for (size_t i = 0; i < nm; i++)
        if (m[i].sstart < m[i].send && m[i].send <= len)
            sp[ns][0] = m[i].sstart, sp[ns++][1] = m[i].send;
    qsort(sp, ns, sizeof *sp, cmp_span);
    for (size_t i = 0; i < ns;) { /* one merged span: every span starting inside it */
        size_t s = sp[i][0], e = sp[i][1];
        for (i++; i < ns && sp[i][0] < e; i++)
            if (sp[i][1] > e) e = sp[i][1];
        fr_buf_append(out, path + from, s - from);
        fr_redact(path + s, e - s, out);
        from = e;
        n++;
    }
    free(sp);
    fr_buf_append(out, path + from, len - from);
    return n;
}

/* Writes path into out with every secret span replaced by its preview; *m and
 * *nm get the scanner's matches (valid until its next scan). */
static size_t redact(fr_scanner *sc, const char *path, fr_buf *out, const fr_match **m, size_t *nm)
{
    *nm = 0;
    if (fr_scan(sc, (const unsigned char *)path, strlen(path), m, nm) != FR_OK) *nm = 0;
    /* Threat indicators are for logs and pipeline definitions, not names: only
     * the secrets among the scanner's (read-only) matches are redacted. */
    const fr_ruleset *rs = fr_engine_rules(fr_scanner_engine(sc));
    size_t ns = 0;
    for (size_t i = 0; i < *nm; i++)
        ns += rs->rules[(*m)[i].rule].kind != FR_KIND_INDICATOR;
    if (ns == *nm) return fr_redact_spans(path, *m, *nm, out);
    fr_match *sec = fr_xcalloc(ns ? ns : 1, sizeof *sec);
    for (size_t i = 0, k = 0; i < *nm; i++)
        if (rs->rules[(*m)[i].rule].kind != FR_KIND_INDICATOR) sec[k++] = (*m)[i];
    size_t n = fr_redact_spans(path, sec, ns, out);
    free(sec);
    return n;
}

size_t fr_redact_path(fr_scanner *sc, const char *path, fr_buf *out)
{
    const fr_match *m;
    size_t nm;
    return redact(sc, path, out, &m, &nm);
}

/* Replaces *field (owned) by its redacted form when it holds a secret; returns
 * whether it did. */
static int redact_field(fr_scanner *sc, char **field, fr_buf *tmp)
{
    if (!*field || !fr_redact_path(sc, *field, tmp)) return 0;
    free(*field);
    *field = fr_xstrdup(tmp->p);
    return 1;
}

typedef struct {
    uint32_t rule;
    size_t sstart, send;
    int validated;
} fr_path_match;

/* Copies the matches starting at own_from or later (the scanner's are
 * overwritten by its next scan). */
static fr_path_match *keep_matches(const fr_ruleset *rs, const fr_match *m, size_t nm,
                                   size_t own_from, size_t *n)
{
    fr_path_match *k = fr_xcalloc(nm ? nm : 1, sizeof *k);
    *n = 0;
    for (size_t i = 0; i < nm; i++)
        if (m[i].sstart >= own_from && rs->rules[m[i].rule].kind != FR_KIND_INDICATOR)
            k[(*n)++] = (fr_path_match){m[i].rule, m[i].sstart, m[i].send, m[i].validated};
    return k;
}

/* Appends the matches of one path as one segment, located at loc (an archive
 * member's name: "archive-path", else "file-path"). */
static void add_finding(fr_path_findings *pf, const fr_engine *e, int store_secrets,
                        const char *plain, const fr_path_match *m, size_t nm,
                        const fr_location *loc, int member)
{
    const fr_ruleset *rs = fr_engine_rules(e);
    if (!pf->it) {
        pf->it = fr_item_new("path", "<paths>");
        pf->it->status = FR_ST_SCANNED;
    }
    size_t line = pf->it->nsegs + 1; /* one path per line */
    for (size_t i = 0; i < nm; i++) {
        const char *sec = plain + m[i].sstart;
        size_t slen = m[i].send - m[i].sstart;
        pf->m = fr_xrealloc(pf->m, (pf->nm + 1) * sizeof *pf->m);
        fr_store_match *o = &pf->m[pf->nm++];
        *o = (fr_store_match){.rule_id = rs->rules[m[i].rule].id,
                              .offset = m[i].sstart,
                              .line = line,
                              .column = m[i].sstart + 1,
                              .length = slen,
                              .validated = m[i].validated};
        fr_sha256_hex(sec, slen, o->secret_sha256);
        fr_buf pv = {0};
        fr_redact(sec, slen, &pv);
        o->preview = fr_buf_steal(&pv);
        if (store_secrets) {
            fr_buf sb = {0};
            fr_buf_put_safe(&sb, sec, slen);
            o->secret = fr_buf_steal(&sb);
        }
    }
    char hex[65];
    fr_sha256_hex(plain, strlen(plain), hex);
    fr_buf key = {0};
    fr_buf_printf(&key, "path:%s", hex);
    fr_location l = *loc; /* its path is redacted already */
    l.kind = member ? "archive-path" : "file-path";
    fr_item_add_segment(pf->it, line, key.p, &l);
    fr_buf_release(&key);
}

void fr_paths_check(fr_scanner *sc, const fr_engine *e, int store_secrets, fr_item *it,
                    char **content_key, const fr_item *top, fr_path_findings *pf)
{
    fr_buf red = {0}, tmp = {0};
    int redacted = 0;
    for (size_t i = 0; i < it->nlocs; i++) {
        fr_location *l = &it->locs[i];
        /* A repository's directory and a ref's name are shown with every
         * location in them (their own findings: fs.c and git.c submit them). */
        if (redact_field(sc, (char **)&l->repo, &tmp)) redacted = 1;
        if (redact_field(sc, (char **)&l->ref, &tmp)) redacted = 1;
        if (!l->path) continue;
        /* The part of the path nothing else scans: a file's whole path, an
         * archive member's name after its top-level container's path. */
        size_t own_from = SIZE_MAX;
        if (top && i < top->nlocs && top->locs[i].path) {
            size_t tl = strlen(top->locs[i].path);
            if (!strncmp(l->path, top->locs[i].path, tl) && l->path[tl] == '!') own_from = tl + 1;
        } else if (!top && (!strcmp(l->kind, "file") || !strcmp(l->kind, "worktree"))) {
            own_from = 0;
        }
        const fr_match *m;
        size_t nm;
        if (!redact(sc, l->path, &red, &m, &nm)) continue;
        char *plain = (char *)l->path;
        l->path = fr_xstrdup(red.p);
        fr_path_match *own = NULL; /* the matches, kept past the scans below */
        size_t nown = 0;
        if (own_from != SIZE_MAX) own = keep_matches(fr_engine_rules(e), m, nm, own_from, &nown);
        /* What a layout tells (CI run, job, step) comes from the same names. */
        redact_field(sc, (char **)&l->ci_run, &tmp);
        redact_field(sc, (char **)&l->ci_job, &tmp);
        redact_field(sc, (char **)&l->ci_step, &tmp);
        if (nown) add_finding(pf, e, store_secrets, plain, own, nown, l, top != NULL);
        free(own);
        free(plain);
        redacted = 1;
    }
    /* A reason may quote a name (an archive reader's error about a member). */
    redact_field(sc, &it->reason, &tmp);
    for (size_t i = 0; i < it->nsegs; i++) {
        fr_location *l = &it->segs[i].loc;
        redact_field(sc, (char **)&l->repo, &tmp);
        redact_field(sc, (char **)&l->ref, &tmp);
        /* git-path and git-ref segments: their names are redacted by the writer,
         * from their own matches */
        if (strcmp(l->kind, "git-path") && strcmp(l->kind, "git-ref"))
            redact_field(sc, (char **)&l->path, &tmp);
    }
    if (redacted) {
        /* The file table would keep the plain path: such a file is read every time. */
        it->remember_file = 0;
        /* Unread content is keyed by where it was. */
        if (content_key && *content_key && !strncmp(*content_key, "unread:", 7))
            redact_field(sc, content_key, &tmp);
    }
    fr_buf_release(&red);
    fr_buf_release(&tmp);
}
