/*
 * hook_scan.c: the hooks' one way to scan (see hook.h). Content goes to an
 * inline pipeline, whose sink turns what would be stored into findings and
 * "not scanned whole" notes; nothing here looks at content itself.
 */
#include "cli/cli.h"
#include "cli/hook.h"
#include "sources/archive.h"
#include "sources/logs.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Content handed over by hook_submit_*: loaded on the submitting thread
 * (inline pipeline), so the bytes can be borrowed. */
typedef struct {
    const unsigned char *data;
    size_t len;
} borrowed;

static int load_borrowed(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    (void)why;
    const borrowed *b = it->load_ctx;
    if (b->len > cap) return FR_ELIMIT;
    fr_buf_append(out, b->data, b->len);
    return FR_OK;
}

static const char *rule_name(const fr_ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (!strcmp(rs->rules[i].id, id)) return rs->rules[i].name;
    return id;
}

static char *dup0(const char *s)
{
    return fr_xstrdup(s ? s : "");
}

/* Per submitted item, the sink is called for the item first, then for its
 * members and path findings: h->sink_calls counts them (1: the item itself). */
static int sink(void *ctx, const fr_store_item *si)
{
    hook_scan *h = ctx;
    size_t call = ++h->sink_calls;
    const fr_location *l = si->nlocs ? &si->locs[0] : NULL;
    for (size_t i = 0; i < si->nmatches; i++) {
        const fr_store_match *m = &si->matches[i];
        /* Gates stop secrets; threat indicators in a pushed pipeline definition
         * (curl | sh in a workflow is common and often meant) are for sweeps
         * and reports, not a reason to refuse a push. */
        if (m->kind == FR_KIND_INDICATOR) continue;
        h->f = fr_xrealloc(h->f, (h->nf + 1) * sizeof *h->f);
        h->f[h->nf++] = (hook_finding){
            .rule = dup0(m->rule_id),
            .rule_name = dup0(rule_name(h->rs, m->rule_id)),
            .kind = dup0(l ? l->kind : ""),
            .commit = dup0(l ? l->commit : ""),
            .path = dup0(l ? l->path : ""),
            .preview = dup0(m->preview),
            .sha = dup0(m->secret_sha256),
            .author = dup0(l ? l->author_email : ""),
            .ref = dup0(l ? l->ref : ""),
            .line = m->line,
            .allow_marker = call == 1 ? -1 : 0, /* -1: to be checked by the submitter */
            .top = call == 1,
        };
    }
    if (si->status != FR_ST_SCANNED) {
        h->u = fr_xrealloc(h->u, (h->nu + 1) * sizeof *h->u);
        h->u[h->nu++] = (hook_unscanned){
            dup0(l ? l->path : si->content_key), dup0(l ? l->commit : ""),
            dup0(si->reason ? si->reason : "not scanned"), si->status == FR_ST_ERROR};
    }
    return FR_OK;
}

/* fr_error() becomes "what: fr_error()" (copied first: it is the buffer written). */
static void prefix_error(const char *what)
{
    char *e = fr_xstrdup(fr_error());
    fr_error_set("%s: %s", what, e);
    free(e);
}

int hook_scan_start(hook_scan *h, const hook_opts *o)
{
    memset(h, 0, sizeof *h);
    fr_buf cdir = {0};
    if (!o->cache_dir) fr_cli_cache_dir(&cdir);
    const char *cache = o->cache_dir ? o->cache_dir : cdir.len ? cdir.p : NULL;
    if (fr_rules_load_cached(&h->rs, o->rules_dir, cache)) {
        fr_buf_release(&cdir);
        prefix_error("cannot load the rules");
        return FR_ERR;
    }
    fr_engine_opts eo = {.cache_dir = cache, .ignore_allow_comments = o->ignore_allow};
    int rc = fr_engine_new(&h->eng, h->rs, &eo);
    fr_buf_release(&cdir);
    if (rc || fr_scanner_new(&h->sc, h->eng)) {
        prefix_error("cannot compile the rules");
        return FR_ERR;
    }
    fr_pipeline_opts po = {.threads = 1,
                           .max_size = o->max_size,
                           .quiet = 1,
                           .rules_hash = h->rs->hash,
                           .inline_scan = 1,
                           .sink = sink,
                           .sink_ctx = h};
    if (fr_pipeline_start(&h->p, &po, h->eng, NULL, 0)) return FR_ERR;
    return FR_OK;
}

/* Does line `line` (1-based) of data hold 'ferret:allow'? */
static int line_has_marker(const unsigned char *d, size_t len, size_t line)
{
    size_t at = 0;
    for (size_t l = 1; l < line && at < len; at++)
        if (d[at] == '\n') l++;
    const unsigned char *e = memchr(d + at, '\n', len - at);
    size_t n = e ? (size_t)(e - (d + at)) : len - at;
    return n >= 12 && memmem(d + at, n, "ferret:allow", 12) != NULL;
}

/* marker: whether a finding's line may hold an allow marker (content; not
 * the batch of names). */
static void submit(hook_scan *h, fr_item *it, const borrowed *b, int marker)
{
    it->status = FR_ST_SCANNED;
    it->size = b->len;
    it->load = load_borrowed;
    it->load_ctx = (void *)b;
    /* Nothing is stored: no content key to compute (a sha256 of every blob). */
    if (!it->key) it->key = fr_xstrdup("hook");
    h->sink_calls = 0;
    size_t before = h->nf;
    if (fr_pipeline_submit(h->p, it)) h->failed = 1;
    for (size_t i = before; i < h->nf; i++)
        if (h->f[i].allow_marker < 0)
            h->f[i].allow_marker = marker && line_has_marker(b->data, b->len, h->f[i].line);
}

/* The pending names go as one segmented item (one name a line), as a scan's
 * git-path batches do: one pass of the engine for many short names. */
static void flush_names(hook_scan *h)
{
    if (!h->names) return;
    borrowed b = {(const unsigned char *)h->namebuf.p, h->namebuf.len};
    submit(h, h->names, &b, 0);
    h->names = NULL;
    h->name_lines = 0;
    fr_buf_reset(&h->namebuf);
}

void hook_submit_content(hook_scan *h, const fr_location *loc, const unsigned char *data,
                         size_t len)
{
    fr_item *it = fr_xcalloc(1, sizeof *it);
    fr_item_add_location(it, loc);
    if (strcmp(loc->kind, "git-message")) { /* a file: opened and normalised as a scan's are */
        it->expand = fr_archive_expand;
        it->normalize = fr_log_normalizer;
        it->describe = fr_log_describe;
    }
    borrowed b = {data ? data : (const unsigned char *)"", data ? len : 0};
    h->bytes += b.len;
    submit(h, it, &b, 1);
}

static void finding_free(hook_finding *f)
{
    free(f->rule), free(f->rule_name), free(f->kind), free(f->commit), free(f->path);
    free(f->preview), free(f->sha), free(f->author), free(f->ref);
}

void hook_submit_lines(hook_scan *h, const fr_location *loc, const unsigned char *data, size_t len,
                       const size_t (*lines)[2], size_t nlines)
{
    size_t before = h->nf, kept = before;
    hook_submit_content(h, loc, data, len);
    for (size_t i = before; i < h->nf; i++) {
        int in = !h->f[i].top;
        for (size_t k = 0; !in && k < nlines; k++)
            in = h->f[i].line >= lines[k][0] && h->f[i].line <= lines[k][1];
        if (in)
            h->f[kept++] = h->f[i];
        else
            finding_free(&h->f[i]);
    }
    h->nf = kept;
}

void hook_submit_name(hook_scan *h, const fr_location *loc)
{
    if (!h->names) {
        h->names = fr_xcalloc(1, sizeof *h->names);
        fr_location batch = {.kind = "git-path", .path = "<names>"};
        fr_item_add_location(h->names, &batch);
    }
    fr_item_add_segment(h->names, ++h->name_lines, "name", loc);
    size_t at = h->namebuf.len, n = strlen(loc->path);
    fr_buf_append(&h->namebuf, loc->path, n);
    for (size_t i = at; i < at + n; i++) /* one name, one line: a NUL or break is a space */
        if (!h->namebuf.p[i] || h->namebuf.p[i] == '\n' || h->namebuf.p[i] == '\r')
            h->namebuf.p[i] = ' ';
    fr_buf_append(&h->namebuf, "\n", 1);
    if (h->namebuf.len >= (1u << 20)) flush_names(h);
}

int hook_scan_finish(hook_scan *h)
{
    if (!h->p) return FR_OK;
    flush_names(h);
    fr_pipeline_stats st;
    int rc = fr_pipeline_finish(h->p, &st);
    h->p = NULL;
    return rc || h->failed ? FR_ERR : FR_OK;
}

void hook_scan_free(hook_scan *h)
{
    if (h->p) hook_scan_finish(h);
    for (size_t i = 0; i < h->nf; i++)
        finding_free(&h->f[i]);
    free(h->f);
    for (size_t i = 0; i < h->nu; i++)
        free(h->u[i].path), free(h->u[i].commit), free(h->u[i].reason);
    free(h->u);
    fr_item_free(h->names);
    fr_buf_release(&h->namebuf);
    fr_scanner_free(h->sc);
    fr_engine_free(h->eng);
    fr_ruleset_free(h->rs);
    memset(h, 0, sizeof *h);
}

void hook_print_findings(const hook_scan *h, const char *label)
{
    for (size_t i = 0; i < h->nf; i++) {
        const hook_finding *f = &h->f[i];
        fprintf(stderr, "ferret: %s %s: %s", label, f->rule, f->rule_name);
        if (*f->commit) fprintf(stderr, " in commit %.12s", f->commit);
        if (*f->ref) fprintf(stderr, " (%s)", f->ref);
        if (*f->commit || *f->ref) fprintf(stderr, ",");
        int ref = !strcmp(f->kind, "git-ref"); /* a ref's name is shown as git shows it */
        /* No hash of the secret: git relays this to the pusher and hosts log it,
         * and a bare hash confirms a guessed weak password offline. */
        fprintf(stderr, " %s%s%s line %zu: %s%s\n", ref ? "<ref " : "", f->path, ref ? ">" : "",
                f->line, f->preview,
                f->allow_marker ? " [its 'ferret:allow' is not honoured here]" : "");
    }
}
