/*
 * pipeline.c: worker pool and the single store writer.
 * Workers own a scanner and a reusable load buffer each; the writer owns every
 * store write. A result carries no content bytes, only matches, so the writer
 * queue stays small. On interrupt (fr_interrupted) workers stop loading and the
 * writer commits what it has: every recorded item is whole, because a worker
 * drops the result of any item it was still processing when the flag was set.
 */
#include "pipeline/pipeline.h"
#include "pipeline/masking.h"
#include "util/limits.h"

#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct result result;
struct result {
    fr_item *it;
    fr_store_match *m; /* sorted by offset */
    size_t nm;
    char *content_key;
    result **subs; /* archive members, each its own content */
    size_t nsubs;
    int withdrawn;              /* the loader gave FR_WITHDRAW: nothing to record */
    fr_mask_pending *mask_pend; /* a log's regions for the end-of-sweep pass */
};

typedef struct {
    struct fr_pipeline *p;
    fr_queue *q;
} worker_arg;

struct fr_pipeline {
    fr_pipeline_opts opts;
    const fr_engine *engine;
    fr_store *store;
    int64_t run_id;
    fr_queue **work; /* one queue per worker: affinity keeps related items together */
    int nqueues;     /* set before any thread starts, never written after */
    fr_queue *results;
    _Atomic size_t next_rr; /* submit may run on several threads */
    pthread_t *workers, writer;
    int nworkers; /* threads started: read and written only by the starting thread */
    pthread_mutex_t mu;
    fr_pipeline_stats stats;
    worker_arg *wargs;
    fr_progress progress;
    void **kept; /* fr_pipeline_keep allocations */
    size_t nkept;
    _Atomic int stopped;
    fr_masking *mask; /* masking-bypass search of logs (NULL: off) */
    /* inline mode (opts.inline_scan): the submitting thread's scanner and
     * buffer, and results waiting for their content to be recorded */
    fr_scanner *isc;
    int isc_ok;
    fr_buf idata;
    result **ideferred;
    size_t nideferred;
};

/* Every string field of fr_location, so copy and release cannot drift apart. */
static const size_t LOC_STRINGS[] = {
    offsetof(fr_location, kind),        offsetof(fr_location, repo),
    offsetof(fr_location, path),        offsetof(fr_location, commit),
    offsetof(fr_location, author_name), offsetof(fr_location, author_email),
    offsetof(fr_location, author_date), offsetof(fr_location, committer_date),
    offsetof(fr_location, ref),         offsetof(fr_location, mtime),
    offsetof(fr_location, ci_run),      offsetof(fr_location, ci_job),
    offsetof(fr_location, ci_step),
};
#define LOC_FIELD(l, i) (*(const char **)((char *)(l) + LOC_STRINGS[i]))
#define NLOC_STRINGS    (sizeof LOC_STRINGS / sizeof *LOC_STRINGS)

static void location_copy(fr_location *dst, const fr_location *src)
{
    for (size_t i = 0; i < NLOC_STRINGS; i++) {
        const char *v = LOC_FIELD(src, i);
        LOC_FIELD(dst, i) = v ? fr_xstrdup(v) : NULL;
    }
}

static void location_release(fr_location *l)
{
    for (size_t i = 0; i < NLOC_STRINGS; i++)
        free((char *)LOC_FIELD(l, i));
}

fr_item *fr_item_new(const char *kind, const char *path)
{
    fr_item *it = fr_xcalloc(1, sizeof *it);
    fr_location l = {.kind = kind, .path = path};
    fr_item_add_location(it, &l);
    return it;
}

/* Arrays of n elements have room for the next power of two: they grow when n
 * is one (a blob at thousands of paths, a batch of thousands of segments). */
static int grows_at(size_t n)
{
    return (n & (n - 1)) == 0;
}

void fr_item_add_location(fr_item *it, const fr_location *loc)
{
    if (grows_at(it->nlocs))
        it->locs = fr_xrealloc(it->locs, (it->nlocs ? 2 * it->nlocs : 1) * sizeof *it->locs);
    location_copy(&it->locs[it->nlocs++], loc);
}

void fr_item_add_segment(fr_item *it, size_t start_line, const char *key, const fr_location *loc)
{
    if (grows_at(it->nsegs))
        it->segs = fr_xrealloc(it->segs, (it->nsegs ? 2 * it->nsegs : 1) * sizeof *it->segs);
    fr_segment *sg = &it->segs[it->nsegs++];
    sg->start_line = start_line;
    sg->key = fr_xstrdup(key);
    location_copy(&sg->loc, loc);
}

void fr_item_free(fr_item *it)
{
    if (!it) return;
    for (size_t i = 0; i < it->nlocs; i++)
        location_release(&it->locs[i]);
    for (size_t i = 0; i < it->nsegs; i++) {
        free(it->segs[i].key);
        location_release(&it->segs[i].loc);
    }
    free(it->locs);
    free(it->segs);
    free(it->key);
    free(it->reason);
    free(it->load_arg);
    free(it->file_path);
    free(it);
}

static void result_free(result *r)
{
    for (size_t i = 0; i < r->nsubs; i++)
        result_free(r->subs[i]);
    free(r->subs);
    for (size_t i = 0; i < r->nm; i++) {
        free((char *)r->m[i].preview);
        free((char *)r->m[i].secret);
    }
    free(r->m);
    free(r->content_key);
    fr_masking_pending_free(r->mask_pend);
    fr_item_free(r->it);
    free(r);
}

static void set_status(fr_item *it, fr_content_status st, const char *reason)
{
    it->status = st;
    free(it->reason);
    it->reason = fr_xstrdup(reason);
}

static char *content_key_of(const char *data, size_t len)
{
    char hex[65];
    fr_sha256_hex(data, len, hex);
    fr_buf k = {0};
    fr_buf_printf(&k, "sha256:%s", hex);
    return fr_buf_steal(&k);
}

/* A configuration's verdict on a match: dropped when it drops it at every
 * place the item is known (a blob may sit at an excluded and at a reported
 * path), or, for content with no place yet, on the secret alone. */
static int drop_everywhere(fr_pipeline *p, const fr_item *it, const char *rule, const char *sec,
                           size_t len)
{
    if (!it->nlocs) return p->opts.drop_match(p->opts.drop_ctx, rule, sec, len, NULL);
    for (size_t i = 0; i < it->nlocs; i++)
        if (!p->opts.drop_match(p->opts.drop_ctx, rule, sec, len, it->locs[i].path)) return 0;
    return 1;
}

/* Which origins (FR_APPLIES_*) an item's content has: a log (by its content,
 * or a place whose layout names a CI run or job), a pipeline definition (by
 * a place's path), else other content. 0: no place known yet and not a log. */
static unsigned origin_of(const fr_item *it, int is_log)
{
    unsigned o = is_log ? FR_APPLIES_LOGS : 0;
    for (size_t i = 0; i < it->nlocs; i++) {
        const fr_location *l = &it->locs[i];
        if (l->ci_run || l->ci_job)
            o |= FR_APPLIES_LOGS;
        else if (fr_is_pipeline_definition(l->path))
            o |= FR_APPLIES_PIPELINE_DEFS;
        else if (!is_log)
            o |= FR_APPLIES_OTHER;
    }
    return o;
}

/* Whether one of the item's places is a credential or configuration file,
 * where a weak password (fr_match.weak) is reported; one that is not source
 * code for a bare word (fr_weak_bare). */
static int weak_applies(const fr_item *it, int bare)
{
    for (size_t i = 0; i < it->nlocs; i++) {
        int c = fr_is_credential_path(it->locs[i].path);
        if (c && !(bare && c == FR_CREDENTIAL_CODE)) return 1;
    }
    return 0;
}

/* Whether a rule with paths applies at one of the item's places. */
static int path_applies(const fr_item *it, const fr_rule *rule)
{
    for (size_t i = 0; i < it->nlocs; i++)
        if (fr_rule_path_matches(rule, it->locs[i].path)) return 1;
    return 0;
}

/* An indicator's text: the matched span of view v (m[i]), made one line of
 * printable ASCII (any other byte a '?', so offsets hold), with the secrets of
 * other matches overlapping it redacted (fr_redact_spans merges them). At most
 * FR_INDICATOR_TEXT_MAX bytes. */
#define FR_INDICATOR_TEXT_MAX 400
static void indicator_text(const fr_match *m, size_t nm, size_t i, const unsigned char *v,
                           fr_buf *out)
{
    size_t a = m[i].sstart, b = m[i].send;
    char *raw = fr_xmalloc(b - a + 1);
    for (size_t k = a; k < b; k++)
        raw[k - a] = v[k] >= 0x20 && v[k] < 0x7f ? (char)v[k] : '?';
    raw[b - a] = 0;
    fr_match *sp = fr_xcalloc(nm, sizeof *sp);
    size_t ns = 0;
    for (size_t k = 0; k < nm; k++) {
        if (k == i || m[k].view != m[i].view || m[k].send <= a || m[k].sstart >= b) continue;
        sp[ns].sstart = m[k].sstart > a ? m[k].sstart - a : 0;
        sp[ns].send = (m[k].send < b ? m[k].send : b) - a;
        ns++;
    }
    fr_redact_spans(raw, sp, ns, out);
    if (out->len > FR_INDICATOR_TEXT_MAX) {
        out->len = FR_INDICATOR_TEXT_MAX;
        out->p[out->len] = 0;
    }
    free(sp);
    free(raw);
}

/* A credential container (PKCS#12, keystore, KeePass; detect.h) is binary: its
 * raw bytes are checked, not its text views, and the whole content is its
 * secret, so one file is one finding wherever it is committed. Its match goes
 * first (offset 0); the preview says what was checked, and no plaintext is
 * stored for it even with --store-secrets. */
static void add_container(fr_pipeline *p, result *r, const char *data, size_t len)
{
    fr_container ct;
    if (r->withdrawn || !fr_container_sniff((const unsigned char *)data, len, &ct)) return;
    const fr_ruleset *rs = fr_engine_rules(p->engine);
    size_t i = 0;
    while (i < rs->n && strcmp(rs->rules[i].id, ct.rule_id)) /* a rule set without it: off */
        i++;
    if (i == rs->n || (p->opts.drop_match && drop_everywhere(p, r->it, ct.rule_id, data, len)))
        return;
    r->m = fr_xrealloc(r->m, (r->nm + 1) * sizeof *r->m);
    memmove(r->m + 1, r->m, r->nm++ * sizeof *r->m);
    fr_store_match *o = &r->m[0];
    memset(o, 0, sizeof *o);
    o->rule_id = rs->rules[i].id;
    fr_sha256_hex(data, len, o->secret_sha256);
    fr_buf pv = {0};
    fr_buf_printf(&pv, "[%s]", ct.what);
    o->preview = fr_buf_steal(&pv);
    o->length = len;
    o->validated = ct.validated;
    o->line = o->column = 1;
}

/* Each scanning thread's buffers for normalised views (a CI log without its
 * runner's decoration): kept between items so that the log's bytes are written
 * into pages already mapped; one grown past FR_KEEP_NORM_MAX is not kept.
 * Released when the thread leaves (norm_release). scan_text is not reentered
 * while it uses them. */
static _Thread_local fr_buf tl_norm[2];

static void norm_done(fr_buf *norm)
{
    for (int k = 0; k < 2; k++) {
        if (norm[k].cap > FR_KEEP_NORM_MAX)
            fr_buf_release(&norm[k]);
        else
            fr_buf_reset(&norm[k]);
    }
}

static void norm_release(void)
{
    fr_buf_release(&tl_norm[0]), fr_buf_release(&tl_norm[1]);
}

/* Scans text content into r's matches (redacted previews, fingerprints). */
static void scan_text(fr_pipeline *p, fr_scanner *sc, const char *data, size_t len, result *r)
{
    fr_item *it = r->it;
    /* Content is never skipped as binary: a NUL byte must not hide the text
     * around it. It is scanned through its views (the content itself when it is
     * plain text); a match's positions are those of its view. */
    fr_text_views tv = {0};
    fr_text_views_of(&tv, (const unsigned char *)data, len);
    fr_buf *norm = tl_norm; /* the worker's, reused: a log's bytes land in warm pages */
    int is_log = 0;
    for (size_t k = 0; k < tv.n; k++) {
        if (it->normalize &&
            it->normalize(it->nlocs ? it->locs[0].path : "", tv.p[k], tv.len[k], &norm[k]) == 1) {
            tv.p[k] = (const unsigned char *)(norm[k].p ? norm[k].p : "");
            tv.len[k] = norm[k].len;
            is_log = 1;
        }
    }
    const fr_ruleset *rs = fr_engine_rules(p->engine);
    /* Content whose origin is known has only the candidates of the rules of
     * that origin confirmed (the others' matches would be dropped below);
     * content with no place yet every rule's, as whether it waits for its
     * places depends on them. */
    unsigned scan_origin = rs->nindicators ? origin_of(it, is_log) : FR_APPLIES_ALL;
    const fr_match *m;
    size_t nm;
    /* weak passwords too, kept below in credential and configuration files
     * alone (the scanner's other users, path checks among them, drop them) */
    fr_scanner_keep_weak(sc, 1);
    int src = fr_scan_views_for(sc, scan_origin ? scan_origin : FR_APPLIES_ALL, tv.p, tv.len, tv.n,
                                &m, &nm);
    fr_scanner_keep_weak(sc, 0);
    if (src) {
        set_status(it, FR_ST_ERROR, fr_error());
        nm = 0;
    }
    if (!nm && !(p->mask && is_log)) {
        norm_done(norm);
        fr_text_views_release(&tv);
        add_container(p, r, data, len);
        return;
    }
    unsigned origin = scan_origin;
    if (!origin) { /* no place yet and not a log: is it a pipeline definition? */
        for (size_t i = 0; i < nm; i++)
            if (rs->rules[m[i].rule].applies_to & FR_APPLIES_PIPELINE_DEFS) {
                r->withdrawn = 1; /* the source submits it again with its places */
                break;
            }
        origin = FR_APPLIES_OTHER;
    }
    /* A rule for some paths only (rails.master-key): content with no place yet
     * waits for its places like a pipeline definition's. */
    for (size_t i = 0; !it->nlocs && !r->withdrawn && i < nm; i++)
        if (rs->rules[m[i].rule].npaths || m[i].weak) r->withdrawn = 1;
    if (r->withdrawn) nm = 0;
    r->m = fr_xcalloc(nm ? nm : 1, sizeof *r->m);
    r->nm = 0;
    for (size_t i = 0; i < nm; i++) {
        const fr_rule *rule = &rs->rules[m[i].rule];
        if (!(rule->applies_to & origin)) continue;
        if (rule->npaths && !path_applies(it, rule)) continue;
        if (m[i].weak && !weak_applies(it, fr_weak_bare(tv.p[m[i].view], m[i].sstart, m[i].send)))
            continue;
        const char *sec = (const char *)tv.p[m[i].view] + m[i].sstart;
        size_t slen = m[i].send - m[i].sstart;
        if (p->opts.drop_match && drop_everywhere(p, it, rule->id, sec, slen)) continue;
        fr_store_match *o = &r->m[r->nm++];
        fr_buf pv = {0};
        o->rule_id = rule->id;
        o->kind = rule->kind;
        if (rule->kind == FR_KIND_INDICATOR) {
            /* The finding is the matched text with every secret in it redacted:
             * its identity, preview and stored "secret" never hold one. */
            indicator_text(m, nm, i, tv.p[m[i].view], &pv);
            fr_sha256_hex(pv.p, pv.len, o->secret_sha256);
            if (p->opts.store_secrets) o->secret = fr_xstrdup(pv.p);
            o->preview = fr_buf_steal(&pv);
        } else {
            fr_sha256_hex(sec, slen, o->secret_sha256);
            fr_redact(sec, slen, &pv);
            o->preview = fr_buf_steal(&pv);
        }
        if (p->opts.store_secrets && rule->kind != FR_KIND_INDICATOR) {
            fr_buf sb = {0};
            fr_buf_put_safe(&sb, sec, slen);
            o->secret = fr_buf_steal(&sb);
        }
        o->offset = m[i].sstart;
        o->length = slen;
        o->validated = m[i].weak ? FR_VALID_WEAK : m[i].validated;
        o->line = m[i].line;
        o->column = m[i].column;
        if (p->mask && rule->kind != FR_KIND_INDICATOR) fr_masking_learn(p->mask, o, sec, slen);
    }
    /* Masking bypass: a log is searched for known secrets printed transformed
     * (pipeline/masking.h), after this item's own secrets were learnt. */
    for (size_t k = 0; p->mask && !r->withdrawn && k < tv.n; k++)
        if (norm[k].p && tv.p[k] == (const unsigned char *)norm[k].p)
            fr_masking_search(p->mask, tv.p[k], tv.len[k], &r->m, &r->nm, &r->mask_pend);
    norm_done(norm);
    fr_text_views_release(&tv);
    add_container(p, r, data, len);
}

/* Archive members: each becomes a child result of the top-level result, found
 * at the parent's locations with "!member" appended to the path. */
typedef struct {
    fr_pipeline *p;
    fr_scanner *sc;
    result *top;
    const fr_item *parent; /* the container: its locations and key */
    int depth;
    fr_expand_budget *budget; /* the top-level item's, shared by every level */
    size_t unread;            /* members of parent delivered unread (encrypted, damaged) */
} expand_ctx;

static void expand_content(expand_ctx *c, result *r, const char *data, size_t len);

static int on_member(void *ctx_, const char *name, const unsigned char *data, size_t len,
                     const char *skip_reason)
{
    expand_ctx *c = ctx_;
    if (fr_interrupted) return 1;
    result *r = fr_xcalloc(1, sizeof *r);
    fr_item *it = fr_xcalloc(1, sizeof *it);
    r->it = it;
    it->normalize = c->parent->normalize;
    it->expand = c->parent->expand; /* members are opened and described like their container */
    for (size_t i = 0; i < c->parent->nlocs; i++) {
        fr_buf path = {0};
        fr_buf_printf(&path, "%s!%s", c->parent->locs[i].path, name);
        fr_location l = c->parent->locs[i];
        l.path = path.p;
        fr_buf ci = {0};
        if (c->parent->describe) c->parent->describe(c->parent->locs[i].path, name, &l, &ci);
        fr_item_add_location(it, &l);
        fr_buf_release(&path);
        fr_buf_release(&ci);
    }
    it->describe = c->parent->describe;
    if (!data) c->unread++;
    if (!data) {
        fr_buf k = {0};
        fr_buf_printf(&k, "unread:archive:%s!%s", c->parent->key ? c->parent->key : "", name);
        r->content_key = fr_buf_steal(&k);
        set_status(it, FR_ST_SKIPPED, skip_reason);
    } else if (skip_reason) {
        /* Cut by a limit: what was read is scanned (as text: a truncated archive
         * would only read as corrupt) and recorded as cut, under a key of its
         * own so it never stands for the whole member's content. */
        it->size = len;
        char *k = content_key_of((const char *)data, len);
        fr_buf pk = {0};
        fr_buf_printf(&pk, "partial:%s", k);
        free(k);
        r->content_key = fr_buf_steal(&pk);
        scan_text(c->p, c->sc, (const char *)data, len, r);
        if (it->status == FR_ST_SCANNED) set_status(it, FR_ST_SKIPPED, skip_reason);
    } else {
        it->size = len;
        r->content_key = content_key_of((const char *)data, len);
        if (c->depth + 1 >= FR_ARCHIVE_MAX_DEPTH &&
            c->parent->expand(data, len, name, 0, NULL, NULL, NULL, NULL) == 1) {
            fr_buf why = {0};
            fr_buf_printf(&why, "archive nested deeper than %d levels", FR_ARCHIVE_MAX_DEPTH);
            set_status(it, FR_ST_SKIPPED, why.p);
            fr_buf_release(&why);
        } else {
            expand_content(c, r, (const char *)data, len);
        }
    }
    c->top->subs = fr_xrealloc(c->top->subs, (c->top->nsubs + 1) * sizeof *c->top->subs);
    c->top->subs[c->top->nsubs++] = r;
    return 0;
}

/* Opens r's content when it is an archive (its members become results of
 * c->top, one level deeper than c), else scans it as text. */
static void expand_content(expand_ctx *c, result *r, const char *data, size_t len)
{
    fr_item *it = r->it;
    if (it->expand) {
        fr_buf why = {0};
        expand_ctx sub = {c->p, c->sc, c->top, it, c->depth + 1, c->budget, 0};
        if (!it->key) it->key = fr_xstrdup(r->content_key); /* members' keys name it */
        int rc = it->expand((const unsigned char *)data, len, it->locs[0].path, c->p->opts.max_size,
                            c->budget, on_member, &sub, &why);
        if (rc == FR_ELIMIT) set_status(it, FR_ST_SKIPPED, why.p);
        /* never recorded: the worker drops an interrupted item's result */
        if (rc == FR_EINTR) set_status(it, FR_ST_ERROR, "interrupted");
        /* Damaged content is not a failed scan (the scan could read all it was
         * given): the members before the damage were delivered, the raw bytes
         * are scanned as they are, and the item is recorded as skipped with the
         * reason. Members that could not be read (encrypted, damaged) get the
         * same raw scan of their container. */
        if (rc == FR_ECORRUPT || (rc == 1 && sub.unread)) {
            scan_text(c->p, c->sc, data, len, r);
            if (rc == FR_ECORRUPT && it->status == FR_ST_SCANNED)
                set_status(it, FR_ST_SKIPPED, why.p);
        }
        fr_buf_release(&why);
        if (rc) return;
    }
    scan_text(c->p, c->sc, data, len, r);
}

static void scan_item(fr_pipeline *p, fr_scanner *sc, fr_buf *data, result *r)
{
    fr_item *it = r->it;
    fr_buf why = {0};
    fr_buf_reset(data);
    int rc = it->load(it, data, p->opts.max_size, &why);
    if (rc == FR_WITHDRAW) {
        r->withdrawn = 1;
    } else if (rc == FR_ELIMIT) {
        fr_buf_reset(&why);
        fr_buf_printf(&why, "larger than --max-file-size (%llu bytes)",
                      (unsigned long long)p->opts.max_size);
        set_status(it, FR_ST_SKIPPED, why.p);
    } else if (rc == FR_SKIP) {
        set_status(it, FR_ST_SKIPPED, why.p ? why.p : "skipped");
    } else if (rc) {
        set_status(it, FR_ST_ERROR, why.p ? why.p : "cannot read");
    } else {
        it->size = data->len;
        if (!it->key) r->content_key = content_key_of(data->p, data->len);
        /* One budget for everything this item expands to, at every level. */
        uint64_t cap = p->opts.max_size * FR_ARCHIVE_BUDGET_FACTOR;
        if (cap / FR_ARCHIVE_BUDGET_FACTOR != p->opts.max_size || cap > FR_ARCHIVE_MAX_TOTAL)
            cap = FR_ARCHIVE_MAX_TOTAL;
        fr_expand_budget budget = {cap, FR_ARCHIVE_MAX_MEMBERS};
        expand_ctx top = {p, sc, r, NULL, -1, &budget, 0}; /* members go one level below: depth 0 */
        expand_content(&top, r, data->p, data->len);
    }
    fr_buf_release(&why);
}

/* Secrets in path names (paths.c): redacted in every location of the item and
 * its members (members first: they need the item's plain paths); those found in
 * names nothing else scans are recorded as one more member, a segmented item. */
static void check_paths(fr_pipeline *p, fr_scanner *sc, result *r)
{
    fr_path_findings pf = {0};
    for (size_t i = r->nsubs; sc && i-- > 0;)
        fr_paths_check(sc, p->engine, p->opts.store_secrets, r->subs[i]->it,
                       &r->subs[i]->content_key, r->it, &pf);
    if (sc) fr_paths_check(sc, p->engine, p->opts.store_secrets, r->it, &r->content_key, NULL, &pf);
    if (!pf.it) return;
    result *pr = fr_xcalloc(1, sizeof *pr);
    *pr = (result){.it = pf.it, .m = pf.m, .nm = pf.nm, .content_key = fr_xstrdup("paths")};
    r->subs = fr_xrealloc(r->subs, (r->nsubs + 1) * sizeof *r->subs);
    r->subs[r->nsubs++] = pr;
}

/* A worker without a scanner cannot redact: the item fails and every path
 * it holds is replaced, so no name is stored or printed unchecked. */
static void withhold_paths(result *r)
{
    fr_item *it = r->it;
    for (size_t i = 0; i < it->nlocs; i++) {
        fr_location *l = &it->locs[i];
        const char *kind = l->kind; /* owned: kept */
        l->kind = NULL;
        location_release(l);
        *l = (fr_location){.kind = kind, .path = fr_xstrdup("<path withheld>")};
    }
    for (size_t i = 0; i < it->nsegs; i++) {
        free(it->segs[i].key);
        location_release(&it->segs[i].loc);
    }
    free(it->segs);
    it->segs = NULL;
    it->nsegs = 0;
    it->known = 0;
    it->remember_file = 0;
    it->path_only = 0;
    free(it->key);
    it->key = NULL;
    free(r->content_key);
    r->content_key = NULL;
    set_status(it, FR_ST_ERROR, "cannot create a scanner: its paths are not recorded");
}

/* Logs' regions go to the end-of-sweep pass with their final keys and places
 * (paths redacted). */
static void keep_masking(fr_pipeline *p, result *r)
{
    for (size_t i = 0; i < r->nsubs; i++)
        keep_masking(p, r->subs[i]);
    if (!r->mask_pend) return;
    fr_masking_keep(p->mask, r->mask_pend, r->content_key, r->it->locs, r->it->nlocs);
    r->mask_pend = NULL;
}

/* Loads, scans and checks one item (a worker's, or inline the submitter's):
 * the result to record, or NULL when there is nothing to record (withdrawn,
 * interrupted, a name with no secret). */
static result *process_item(fr_pipeline *p, fr_scanner *sc, int have_scanner, fr_buf *data,
                            fr_item *it)
{
    result *r = fr_xcalloc(1, sizeof *r);
    r->it = it;
    if (it->status == FR_ST_SCANNED && !it->known) {
        if (have_scanner)
            scan_item(p, sc, data, r);
        else
            set_status(it, FR_ST_ERROR, "cannot create a scanner");
    }
    /* An interrupt during the processing may have cut it short (an archive
     * read in part): such an item is never recorded, so the next run reads
     * it again. The flag only ever goes up, so seeing it clear here means
     * the item was processed whole. */
    if (fr_interrupted) r->withdrawn = 1;
    if (it->done && it->load && !it->known) it->done(it, r->withdrawn, r->nm);
    if (r->withdrawn) { /* the source submits it again later, or an interrupt */
        atomic_fetch_add(&p->progress.done, 1);
        result_free(r);
        return NULL;
    }
    if (!sc) { /* no scanner to check the paths: none of them is recorded */
        withhold_paths(r);
    } else {
        check_paths(p, sc, r); /* before anything is stored or printed */
    }
    if (it->path_only) {
        /* Nothing but a finding in the name: the path findings' item, if any. */
        result *pr = r->nsubs ? r->subs[--r->nsubs] : NULL;
        atomic_fetch_add(&p->progress.done, 1);
        result_free(r);
        if (!pr) return NULL;
        r = pr;
        it = r->it;
    }
    if (!r->content_key && it->key) {
        r->content_key = fr_xstrdup(it->key);
    } else if (!r->content_key) { /* unread content is keyed by where it was */
        fr_buf k = {0};
        fr_buf_printf(&k, "unread:%s:%s:%s", it->locs[0].kind,
                      it->locs[0].repo ? it->locs[0].repo : "", it->locs[0].path);
        r->content_key = fr_buf_steal(&k);
    }
    if (p->mask) keep_masking(p, r);
    return r;
}

static void *worker_main(void *arg_)
{
    worker_arg *arg = arg_;
    fr_pipeline *p = arg->p;
    fr_queue *q = arg->q;
    fr_scanner *sc = NULL;
    fr_buf data = {0};
    /* made on the worker's first item: a re-scan with one new blob, or none,
     * leaves the other workers' scratch unmade (a clone of the engine's) */
    int have_scanner = 0, tried = 0;
    fr_item *it;
    for (;;) {
        int idle = 0;
        /* Own queue first; when it is empty, take work from the others before
         * sleeping (affinity keeps related items together, it must not leave a
         * worker idle beside a backlog); then a timed wait, woken in batches. */
        it = fr_queue_trypop(q);
        for (int k = 0; !it && k < p->nqueues; k++)
            if (p->work[k] != q) it = fr_queue_trypop(p->work[k]);
        if (!it) it = fr_queue_pop_timed(q, FR_WORKER_IDLE_WAIT_MS, &idle);
        for (int k = 0; !it && k < p->nqueues; k++)
            if (p->work[k] != q) it = fr_queue_trypop(p->work[k]);
        if (!it && idle) continue;
        if (!it) break;
        if (fr_interrupted || p->stopped) { /* drain without work */
            fr_item_free(it);
            continue;
        }
        if (!tried) {
            tried = 1;
            have_scanner = fr_scanner_new(&sc, p->engine) == FR_OK;
        }
        result *r = process_item(p, sc, have_scanner, &data, it);
        if (r && fr_queue_push(p->results, r)) result_free(r);
        /* Keep memory flat: a buffer grown by one huge item is not kept. */
        if (data.cap > FR_KEEP_BUFFER_MAX) fr_buf_release(&data);
    }
    fr_buf_release(&data);
    norm_release();
    fr_scanner_free(sc);
    return NULL;
}
/* Records one store item: in the store, or handed to the sink. */
static int put(fr_pipeline *p, const fr_store_item *si)
{
    return p->opts.sink ? p->opts.sink(p->opts.sink_ctx, si)
                        : fr_store_put(p->store, p->run_id, si);
}

/* A segmented item is recorded as its segments that hold matches, each its own
 * content with lines counted from the segment's start. */
static int put_segments(fr_pipeline *p, result *r)
{
    size_t i = 0;
    while (i < r->nm) {
        size_t seg = r->it->nsegs - 1;
        while (seg > 0 && r->it->segs[seg].start_line > r->m[i].line)
            seg--;
        const fr_segment *sg = &r->it->segs[seg];
        size_t j = i;
        while (j < r->nm && (seg + 1 == r->it->nsegs || r->m[j].line < sg[1].start_line)) {
            r->m[j].line -= sg->start_line - 1;
            j++;
        }
        /* A path name holding a secret is stored with the secret redacted: the
         * path is shown in every report. */
        fr_location loc = sg->loc;
        fr_buf redacted = {0};
        if (!strcmp(loc.kind, "git-path") || !strcmp(loc.kind, "git-ref")) {
            /* A path is one line of its segment (line breaks written as spaces),
             * so a column is a byte offset into it; fr_redact_spans merges spans
             * that overlap, so no tail of a second match stays plain. */
            fr_match *sp = fr_xcalloc(j - i, sizeof *sp);
            for (size_t k = i; k < j; k++) {
                sp[k - i].sstart = r->m[k].column - 1;
                sp[k - i].send = sp[k - i].sstart + r->m[k].length;
            }
            fr_redact_spans(loc.path, sp, j - i, &redacted);
            free(sp);
            loc.path = redacted.p;
        }
        fr_store_item si = {.content_key = sg->key,
                            .status = FR_ST_SCANNED,
                            .rules_hash = p->opts.rules_hash,
                            .locs = &loc,
                            .nlocs = 1,
                            .matches = r->m + i,
                            .nmatches = j - i};
        int rc = put(p, &si);
        fr_buf_release(&redacted);
        if (rc) return FR_ERR;
        i = j;
    }
    return FR_OK;
}

static void writer_fail(fr_pipeline *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->stats.store_failed) {
        p->stats.store_failed = 1;
        snprintf(p->stats.store_error, sizeof p->stats.store_error, "%s", fr_error());
    }
    pthread_mutex_unlock(&p->mu);
    p->stopped = 1;
}

/* Records one result. Returns 1 when it must wait for its content to be recorded
 * (a location-only item that overtook the scan of its blob). */
static int write_result(fr_pipeline *p, result *r)
{
    fr_store_item si = {
        .content_key = r->content_key,
        .size = r->it->size,
        .status = r->it->status,
        .reason = r->it->reason,
        .rules_hash = p->opts.rules_hash,
        .locs = r->it->locs,
        .nlocs = r->it->nlocs,
        .known = r->it->known,
        .matches = r->m,
        .nmatches = r->nm,
        .file_path = !r->it->remember_file ? NULL
                     : r->it->file_path    ? r->it->file_path
                                           : r->it->locs[0].path,
        .file_mtime_ns = r->it->mtime_ns,
    };
    int rc = r->it->nsegs && r->it->status == FR_ST_SCANNED ? put_segments(p, r) : put(p, &si);
    if (rc == FR_ENOTFOUND && r->it->known) return 1;
    if (rc) {
        writer_fail(p);
        return 0;
    }
    if (r->it->known) return 0;
    pthread_mutex_lock(&p->mu);
    switch (r->it->status) {
    case FR_ST_SCANNED:
        p->stats.scanned++;
        p->stats.bytes += r->it->size;
        break;
    case FR_ST_SKIPPED:
        p->stats.skipped++;
        break;
    case FR_ST_ERROR:
        p->stats.failed++;
        break;
    }
    p->stats.matches += r->nm;
    pthread_mutex_unlock(&p->mu);
    /* The first errors are printed; all are in 'ferret report --skipped'. */
    if (r->it->status == FR_ST_ERROR && p->stats.failed <= FR_MAX_PRINTED_ERRORS && !p->opts.sink) {
        fr_buf msg = {0};
        const char *where = r->it->nlocs ? r->it->locs[0].path : r->content_key;
        fr_buf_put_safe(&msg, where, strlen(where));
        fprintf(stderr, "ferret: error: %s: %s\n", msg.p, r->it->reason);
        if (p->stats.failed == FR_MAX_PRINTED_ERRORS)
            fprintf(stderr, "ferret: further errors are not printed\n");
        fr_buf_release(&msg);
    }
    for (size_t i = 0; i < r->nsubs && !p->stopped; i++)
        write_result(p, r->subs[i]);
    return 0;
}

static void *writer_main(void *arg)
{
    fr_pipeline *p = arg;
    size_t pending = 0, ndeferred = 0;
    result **deferred = NULL;
    double start = fr_monotonic(), last = start;
    for (;;) {
        int timed_out = 0;
        /* A batch is committed after a tenth of the time the scan has run,
         * within [FR_WRITER_FLUSH_MS, FR_WRITER_FLUSH_MAX_MS]: a short scan
         * (a hook, a small tree) shows its progress and keeps the write lock
         * briefly; a long one writes each dirty page of the random-keyed
         * content index to the WAL fewer times. */
        double now = fr_monotonic(), every = (now - start) / 10;
        if (every < FR_WRITER_FLUSH_MS / 1e3) every = FR_WRITER_FLUSH_MS / 1e3;
        if (every > FR_WRITER_FLUSH_MAX_MS / 1e3) every = FR_WRITER_FLUSH_MAX_MS / 1e3;
        result *r = fr_queue_trypop(p->results);
        if (!r) {
            /* Caught up with the scanners: a batch worth committing whose
             * interval has passed is not kept open (with the store's write
             * lock) while waiting for more. */
            if (pending >= FR_WRITER_IDLE_BATCH && now - last >= every) {
                if (p->store && fr_store_flush(p->store)) writer_fail(p);
                pending = 0;
                last = fr_monotonic();
            }
            r = fr_queue_pop_timed(p->results, FR_WRITER_FLUSH_MS, &timed_out);
        }
        if (!r && !timed_out) break; /* closed and drained */
        if (r && !p->stopped && write_result(p, r)) {
            deferred = fr_xrealloc(deferred, (ndeferred + 1) * sizeof *deferred);
            deferred[ndeferred++] = r;
            r = NULL;
        }
        if (r) {
            atomic_fetch_add(&p->progress.done, 1);
            atomic_fetch_add(&p->progress.bytes, r->it->size);
            result_free(r);
            pending++;
        }
        if (pending && (pending >= FR_WRITER_BATCH || fr_monotonic() - last > every)) {
            if (p->store && fr_store_flush(p->store)) writer_fail(p);
            pending = 0;
            last = fr_monotonic();
        }
    }
    /* Every scan is recorded now; what is still missing was never scanned (an
     * interrupt), and its locations are dropped with it. */
    for (size_t i = 0; i < ndeferred; i++) {
        if (!p->stopped) write_result(p, deferred[i]);
        result_free(deferred[i]);
    }
    free(deferred);
    if (p->store && fr_store_flush(p->store)) writer_fail(p);
    if (getenv("FERRET_GIT_TRACE")) { /* scripts/bench-git-limit.sh: the writer's own cost */
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        fprintf(stderr, "ferret writer: writer_cpu=%.2f\n", (double)ts.tv_sec + ts.tv_nsec / 1e9);
    }
    return NULL;
}

int fr_pipeline_start(fr_pipeline **out, const fr_pipeline_opts *opts, const fr_engine *engine,
                      fr_store *store, int64_t run_id)
{
    fr_pipeline *p = fr_xcalloc(1, sizeof *p);
    p->opts = *opts;
    if (p->opts.threads < 1) p->opts.threads = 1;
    p->engine = engine;
    p->store = store;
    p->run_id = run_id;
    /* Masking bypass needs the store's prints and key: not for hooks (inline,
     * or a sink), whose verdict is about the pushed content alone. */
    if (!p->opts.inline_scan && !p->opts.sink && store && fr_masking_start(&p->mask, store) &&
        !p->opts.quiet)
        fprintf(stderr, "ferret: warning: no masking-bypass search: %s\n", fr_error());
    if (p->opts.inline_scan) { /* no threads: submit does the work */
        p->isc_ok = fr_scanner_new(&p->isc, engine) == FR_OK;
        pthread_mutex_init(&p->mu, NULL);
        *out = p;
        return FR_OK;
    }
    /* Items are small (content is loaded by the workers), so the queues can be
     * deep enough that threads rarely sleep on each other. */
    p->work = fr_xcalloc((size_t)p->opts.threads, sizeof *p->work);
    p->wargs = fr_xcalloc((size_t)p->opts.threads, sizeof *p->wargs);
    p->nqueues = p->opts.threads;
    for (int i = 0; i < p->opts.threads; i++) {
        p->work[i] = fr_queue_new(FR_WORKER_QUEUE_DEPTH);
        fr_queue_set_wake(p->work[i], FR_WORKER_QUEUE_WAKE);
        p->wargs[i] = (worker_arg){p, p->work[i]};
    }
    p->results = fr_queue_new(FR_RESULT_QUEUE_DEPTH);
    fr_queue_set_wake(p->results, FR_RESULT_QUEUE_WAKE); /* the writer batches anyway */
    pthread_mutex_init(&p->mu, NULL);
    p->workers = fr_xcalloc((size_t)p->opts.threads, sizeof *p->workers);
    if (pthread_create(&p->writer, NULL, writer_main, p)) {
        fr_error_set("cannot start the writer thread");
        for (int i = 0; i < p->opts.threads; i++)
            fr_queue_free(p->work[i]);
        fr_queue_free(p->results), free(p->work), free(p->wargs), free(p->workers);
        fr_masking_free(p->mask), free(p);
        return FR_ERR;
    }
    /* Workers steal across all nqueues queues, fixed above; nworkers is only
     * for joining. A worker that failed to start leaves its queue to the
     * others' stealing. */
    for (int i = 0; i < p->opts.threads; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, &p->wargs[i])) break;
        p->nworkers++;
    }
    if (p->nworkers == 0) {
        fr_error_set("cannot start worker threads");
        for (int i = 0; i < p->opts.threads; i++)
            fr_queue_close(p->work[i]);
        fr_queue_close(p->results);
        pthread_join(p->writer, NULL);
        for (int i = 0; i < p->opts.threads; i++)
            fr_queue_free(p->work[i]);
        fr_queue_free(p->results), free(p->work), free(p->wargs), free(p->workers);
        fr_masking_free(p->mask), free(p);
        return FR_ERR;
    }
    *out = p;
    return FR_OK;
}

/* A log's masking-bypass hits from the end-of-sweep pass: recorded by the
 * writer as matches of content it recorded before (FIFO: the log's own
 * result was queued earlier). */
static void emit_masking(void *ctx, fr_item *it, char *key, fr_store_match *m, size_t nm)
{
    fr_pipeline *p = ctx;
    result *r = fr_xcalloc(1, sizeof *r);
    *r = (result){.it = it, .m = m, .nm = nm, .content_key = key};
    pthread_mutex_lock(&p->mu);
    p->stats.matches += nm;
    pthread_mutex_unlock(&p->mu);
    if (fr_queue_push(p->results, r)) result_free(r);
}

/* Inline mode: the item's whole processing and recording, on the caller. */
static int submit_inline(fr_pipeline *p, fr_item *it)
{
    atomic_fetch_add(&p->progress.submitted, 1);
    if (p->stopped || fr_interrupted) {
        fr_item_free(it);
        return p->stopped ? FR_ERR : FR_OK;
    }
    result *r = process_item(p, p->isc, p->isc_ok, &p->idata, it);
    if (p->idata.cap > FR_KEEP_BUFFER_MAX) fr_buf_release(&p->idata);
    if (!r) return FR_OK;
    if (!p->stopped && write_result(p, r)) { /* its content is not recorded yet */
        p->ideferred = fr_xrealloc(p->ideferred, (p->nideferred + 1) * sizeof *p->ideferred);
        p->ideferred[p->nideferred++] = r;
        return FR_OK;
    }
    atomic_fetch_add(&p->progress.done, 1);
    atomic_fetch_add(&p->progress.bytes, r->it->size);
    result_free(r);
    return p->stopped ? FR_ERR : FR_OK;
}

int fr_pipeline_submit(fr_pipeline *p, fr_item *it)
{
    if (p->opts.inline_scan) return submit_inline(p, it);
    size_t nq = (size_t)p->nqueues;
    size_t w = it->affinity ? (size_t)(it->affinity % (uint64_t)nq)
                            : atomic_fetch_add(&p->next_rr, 1) % nq;
    atomic_fetch_add(&p->progress.submitted, 1);
    /* Affinity is a preference: when that worker's queue is full, any queue
     * with room takes the item before the producer blocks. */
    if (!p->stopped && fr_queue_trypush(p->work[w], it) == FR_OK) return FR_OK;
    for (size_t k = 1; !p->stopped && k < nq; k++)
        if (fr_queue_trypush(p->work[(w + k) % nq], it) == FR_OK) return FR_OK;
    if (p->stopped || fr_queue_push(p->work[w], it)) {
        fr_item_free(it);
        return FR_ERR;
    }
    return FR_OK;
}

int fr_pipeline_stopped(fr_pipeline *p)
{
    return p->stopped;
}

fr_progress *fr_pipeline_progress(fr_pipeline *p)
{
    return &p->progress;
}

void *fr_pipeline_keep(fr_pipeline *p, size_t size)
{
    void *m = fr_xcalloc(1, size);
    pthread_mutex_lock(&p->mu);
    p->kept = fr_xrealloc(p->kept, (p->nkept + 1) * sizeof *p->kept);
    p->kept[p->nkept++] = m;
    pthread_mutex_unlock(&p->mu);
    return m;
}

char *fr_pipeline_keep_str(fr_pipeline *p, const char *s)
{
    char *c = fr_pipeline_keep(p, strlen(s) + 1);
    memcpy(c, s, strlen(s));
    return c;
}

int fr_pipeline_finish(fr_pipeline *p, fr_pipeline_stats *stats)
{
    if (p->opts.inline_scan) {
        for (size_t i = 0; i < p->nideferred; i++) {
            if (!p->stopped) write_result(p, p->ideferred[i]);
            result_free(p->ideferred[i]);
        }
        free(p->ideferred);
        if (p->store && fr_store_flush(p->store)) writer_fail(p);
        fr_scanner_free(p->isc);
        fr_buf_release(&p->idata);
        norm_release(); /* the caller scanned: its thread's log buffers */
        *stats = p->stats;
        int rc = p->stats.store_failed ? FR_ERR : FR_OK;
        if (rc) fr_error_set("%s", p->stats.store_error);
        pthread_mutex_destroy(&p->mu);
        for (size_t i = 0; i < p->nkept; i++)
            free(p->kept[i]);
        free(p->kept);
        free(p);
        return rc;
    }
    for (int i = 0; i < p->opts.threads; i++)
        fr_queue_close(p->work[i]);
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i], NULL);
    if (p->mask && !p->stopped && !fr_interrupted) { /* before the writer stops */
        size_t unchecked = 0;
        fr_masking_finish(p->mask, emit_masking, p, &unchecked);
        if (unchecked && !p->opts.quiet)
            fprintf(stderr,
                    "ferret: warning: %zu logs were not searched again for secrets found after"
                    " them in this sweep (more candidate text than %zu MB)\n",
                    unchecked, FR_MASK_KEEP_MAX >> 20);
    }
    fr_queue_close(p->results);
    pthread_join(p->writer, NULL);
    fr_masking_free(p->mask);
    *stats = p->stats;
    int rc = p->stats.store_failed ? FR_ERR : FR_OK;
    if (rc) fr_error_set("%s", p->stats.store_error);
    for (int i = 0; i < p->opts.threads; i++)
        fr_queue_free(p->work[i]);
    free(p->work);
    free(p->wargs);
    fr_queue_free(p->results);
    pthread_mutex_destroy(&p->mu);
    for (size_t i = 0; i < p->nkept; i++)
        free(p->kept[i]);
    free(p->kept);
    free(p->workers);
    free(p);
    return rc;
}
