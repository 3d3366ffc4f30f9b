/*
 * ahead.c: the scan ahead of the walk: every packed blob not scanned before is
 * fed to the workers in pack order while the walk supplies provenance.
 *
 * A blob scanned ahead:
 *
 *   listed (BF_AHEAD) ──feeder──> loaded by a worker ──> scanned
 *      │                            │ needs a path or      │ clean: no locations
 *      │                            │ not scannable        │ matches/skip: kept
 *      │                            v                      v
 *      │                       withdrawn ──settle──> submitted by the walk
 *      └──(not reached by the walk, kept)──settle──> unreachable location
 */
#include "sources/git/git_int.h"
#include "sources/archive.h"
#include "sources/logs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/limits.h"

static int load_ahead(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why);
static void ahead_done(const fr_item *it, int withdrawn, size_t nmatches);

/* ---- the repository's packs, for the pack reader ---- */

/* Opens the pack of index idx_path, whose blobs are v[n0..n1) (fd -1 when it
 * cannot be opened: its blobs are then read through libgit2). */
static void add_pack(fr_pack_src **packs, size_t **starts, size_t *np, const char *idx_path,
                     size_t n0, size_t n1)
{
    *packs = fr_xrealloc(*packs, (*np + 1) * sizeof **packs);
    *starts = fr_xrealloc(*starts, (*np + 1) * sizeof **starts);
    fr_pack_src *s = &(*packs)[*np];
    memset(s, 0, sizeof *s);
    (*starts)[(*np)++] = n0;
    s->n = n1 - n0;
    s->id = fr_pack_new_id();
    fr_buf pp = {0};
    fr_buf_append(&pp, idx_path, strlen(idx_path) - 4);
    fr_buf_puts(&pp, ".pack");
    s->fd = open(pp.p, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (s->fd >= 0 && (fstat(s->fd, &st) || !S_ISREG(st.st_mode))) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->fd >= 0) s->len = (uint64_t)st.st_size;
    fr_buf_release(&pp);
}

/* Gives each pack its own copy of its blobs, bases made pack-relative. */
static void split_packs(fr_pack_src *packs, const size_t *starts, size_t np, const fr_pack_blob *v)
{
    for (size_t i = 0; i < np; i++) {
        fr_pack_blob *b = fr_xmalloc((packs[i].n ? packs[i].n : 1) * sizeof *b);
        memcpy(b, v + starts[i], packs[i].n * sizeof *b);
        for (size_t k = 0; k < packs[i].n; k++)
            if (b[k].base != NONE) b[k].base -= (uint32_t)starts[i];
        packs[i].blobs = b;
    }
}

static void close_packs(fr_pack_src *packs, size_t np)
{
    for (size_t i = 0; i < np; i++) {
        if (packs[i].fd >= 0) close(packs[i].fd);
        free((void *)packs[i].blobs);
    }
    free(packs);
}

/* The pack's blobs in delta-tree order: each root (a whole blob) in pack
 * order, followed depth-first by the deltas built on it, so one reader holds
 * only the chain above the blob it reads (git index-pack's order). */
static uint32_t *tree_order(const fr_pack_src *s)
{
    size_t n = s->n;
    uint32_t *first = fr_xmalloc((n ? n : 1) * sizeof *first);
    uint32_t *next = fr_xmalloc((n ? n : 1) * sizeof *next);
    uint32_t *order = fr_xmalloc((n ? n : 1) * sizeof *order);
    for (size_t k = 0; k < n; k++)
        first[k] = NONE;
    for (size_t k = n; k-- > 0;) { /* prepended backwards: children in pack order */
        uint32_t b = s->blobs[k].base;
        if (b == NONE || b >= k) continue;
        next[k] = first[b];
        first[b] = (uint32_t)k;
    }
    size_t m = 0;
    uint32_t *stack = fr_xmalloc((n ? n : 1) * sizeof *stack);
    for (size_t r = 0; r < n; r++) {
        uint32_t b = s->blobs[r].base;
        if (b != NONE && b < r) continue; /* reached from its root */
        size_t sp = 0;
        stack[sp++] = (uint32_t)r;
        while (sp) {
            uint32_t x = stack[--sp];
            order[m++] = x;
            /* children pushed last-first so the first is read first */
            size_t at = sp;
            for (uint32_t c = first[x]; c != NONE; c = next[c])
                stack[sp++] = c;
            for (size_t i = at, j = sp; i + 1 < j; i++, j--) {
                uint32_t t = stack[i];
                stack[i] = stack[j - 1];
                stack[j - 1] = t;
            }
        }
    }
    free(stack);
    free(first);
    free(next);
    return order;
}

/* Each worker's cache of delta bases, kept for the life of the thread. */
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;

static void cache_free(void *c)
{
    fr_pack_cache_free(c);
}

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_free);
}

static fr_pack_cache *thread_cache(void)
{
    pthread_once(&cache_once, cache_key_init);
    fr_pack_cache *c = pthread_getspecific(cache_key);
    if (!c) {
        c = fr_pack_cache_new(FR_PACK_CACHE_BUDGET);
        pthread_setspecific(cache_key, c);
    }
    return c;
}

/* Reads blob k of pack pi with the pack reader. */
static int read_packed(const repo_ctx *rc, unsigned pi, unsigned k, fr_buf *out, uint64_t cap,
                       fr_buf *why)
{
    if (pi >= rc->npacks || k >= rc->packs[pi].n) return FR_ERR;
    char w[256];
    int r = fr_pack_read(&rc->packs[pi], k, thread_cache(), cap, out, w, sizeof w);
    if (r == FR_ELIMIT) return r;
    if (r) {
        fr_buf_puts(why, w);
        return r;
    }
    if (gs_is_lfs_pointer(out->p, out->len)) return FR_SKIP;
    return FR_OK;
}

/* Builds the items from the list (the walk thread only marked the blobs) and
 * hands them to the pipeline. */
static void *feed_main(void *arg)
{
    ahead_feed *f = arg;
    for (size_t i = 0; i < f->n; i++) {
        if (f->refused || fr_interrupted) { /* not submitted: never loaded */
            atomic_fetch_sub(&f->rc->ahead_pending, 1);
            continue;
        }
        char hex[GIT_OID_HEXSZ + 1];
        const gs_feed_ent *fe = &f->order[i];
        git_oid oid;
        git_oid_fromraw(&oid, fe->oid);
        fr_item *it = gs_blob_item(&oid, hex);
        it->load = load_ahead;
        it->done = ahead_done;
        it->normalize = fr_log_normalizer; /* by content: there is no path yet */
        fr_buf la = {0};                   /* the id, then where the pack reader finds it */
        fr_buf_puts(&la, hex);
        if (fe->pack != NONE) fr_buf_printf(&la, ":%u:%u", fe->pack, fe->k);
        it->load_arg = fr_buf_steal(&la);
        it->load_ctx = f->rc;
        it->affinity = 1 + fe->run;         /* a run of delta trees to one worker */
        if (fr_pipeline_submit(f->p, it)) { /* freed by the pipeline */
            atomic_fetch_sub(&f->rc->ahead_pending, 1);
            f->refused = 1;
        }
    }
    return NULL;
}

/* Submits every packed blob not scanned before for scanning now, in pack order
 * (delta bases before their deltas, consecutive runs to one worker), before
 * the walk starts: workers are busy from the first moment instead of waiting
 * for the post-order walk to reach its first commit. The walk then only adds
 * provenance (location-only items). */
void gs_scan_ahead(walk *w)
{
    const char *common = git_repository_commondir(w->repo);
    fr_buf dir = {0};
    fr_buf_printf(&dir, "%sobjects", common);
    object_dirs dirs = {0};
    gs_list_object_dirs(&dirs, dir.p, 0);
    fr_pack_blob *v = NULL, *av = NULL;
    fr_pack_src *packs = NULL;
    size_t npacks = 0, *starts = NULL;
    size_t n = 0, cap = 0, an = 0, acap = 0, nbad = 0;
    char **bad = NULL;
    /* The packs of alternates are checked too (every object database of the
     * scan reads them); only this repository's own blobs are scanned ahead. */
    for (size_t di = 0; di < dirs.n; di++) {
        fr_buf_reset(&dir);
        fr_buf_printf(&dir, "%s/pack", dirs.dir[di]);
        DIR *d = opendir(dir.p);
        for (struct dirent *e; d && (e = readdir(d));) {
            size_t L = strlen(e->d_name);
            if (L < 5 || strcmp(e->d_name + L - 4, ".idx")) continue;
            fr_buf ip = {0};
            char why[256], what[512];
            fr_buf_printf(&ip, "%s/%s", dir.p, e->d_name);
            an = 0;
            size_t n0 = n;
            int prc = di ? gs_pack_blobs(ip.p, &av, &an, &acap, why, sizeof why)
                         : gs_pack_blobs(ip.p, &v, &n, &cap, why, sizeof why); /* in pack order */
            if (!di && !prc && n > n0) add_pack(&packs, &starts, &npacks, ip.p, n0, n);
            if (prc == FR_PACK_UNSAFE) {
                bad = fr_xrealloc(bad, (nbad + 1) * sizeof *bad);
                bad[nbad++] = fr_pipeline_keep_str(w->p, e->d_name);
                snprintf(what, sizeof what,
                         "corrupt pack index or pack (%s): none of its objects are read", why);
                gs_note_problem(w, FR_ST_ERROR, ip.p, what);
            } else if (prc) { /* inside its bounds: libgit2 reads what it can, by id */
                fprintf(stderr,
                        "ferret: warning: %s: corrupt pack index (%s): its objects are left to "
                        "the history walk\n",
                        ip.p, why);
            }
            fr_buf_release(&ip);
        }
        if (d) closedir(d);
    }
    free(av);
    gs_object_dirs_free(&dirs);
    fr_buf_release(&dir);
    if (nbad) { /* read by the workers: kept as long as the repository context */
        w->rc->bad_packs = fr_pipeline_keep(w->p, nbad * sizeof *bad);
        memcpy(w->rc->bad_packs, bad, nbad * sizeof *bad);
        w->rc->nbad = nbad;
    }
    free(bad);
    const fr_git_opts *o = w->opts;
    ahead_feed *f = &w->feed;
    f->p = w->p;
    f->rc = w->rc;
    /* Each pack gets its own listing (bases pack-relative) for the pack reader;
     * with hashes to verify, libgit2 reads everything. */
    split_packs(packs, starts, npacks, v);
    /* libgit2 reads every blob when hashes are to be verified, or when
     * FERRET_PACK_READER=0 asks for it (to compare the two readers). */
    const char *env = getenv("FERRET_PACK_READER");
    int reader = !o->verify_hashes && !(env && !strcmp(env, "0"));
    free(starts);
    f->order = fr_xmalloc((n ? n : 1) * sizeof *f->order);
    size_t kept = 0;
    uint64_t run = 0, in_run = 0;
    for (size_t pi = 0; pi < npacks && !fr_interrupted; pi++) {
        uint32_t *order = tree_order(&packs[pi]);
        for (size_t j = 0; j < packs[pi].n; j++) {
            uint32_t k = order[j];
            const fr_pack_blob *pb = &packs[pi].blobs[k];
            /* A delta tree (a root and what descends from it) stays in one run;
             * small trees are grouped. */
            if (pb->base == NONE && in_run >= FR_PACK_RUN) run++, in_run = 0;
            git_oid oid;
            git_oid_fromraw(&oid, pb->oid);
            uint32_t b = gs_blob_index(w, &oid);
            blob_rec *br = &w->bv[b];
            if (br->state != B_NEW || gs_known(w, &br->oid) ||
                (o->keep && !o->keep(o->keep_ctx, br->oid.id, NULL)))
                continue; /* in two packs, scanned before or another shard's: the walk decides */
            br->state = B_SCAN;
            br->flags |= BF_AHEAD;
            w->stats->blobs++;
            gs_feed_ent *fe = &f->order[kept++];
            memcpy(fe->oid, pb->oid, GIT_OID_RAWSZ);
            fe->pack = reader && packs[pi].fd >= 0 ? (uint32_t)pi : NONE;
            fe->k = k;
            fe->run = run;
            in_run++;
        }
        free(order);
    }
    free(v);
    if (reader) { /* read by the workers until every blob fed is loaded */
        /* The pipeline owns the tables: an interrupted scan leaves items that
         * borrow them queued after the walk has returned. */
        fr_pack_src *owned = fr_pipeline_keep(w->p, (npacks ? npacks : 1) * sizeof *owned);
        for (size_t i = 0; i < npacks; i++) {
            owned[i] = packs[i];
            size_t sz = (packs[i].n ? packs[i].n : 1) * sizeof *packs[i].blobs;
            fr_pack_blob *b = fr_pipeline_keep(w->p, sz);
            memcpy(b, packs[i].blobs, packs[i].n * sizeof *b);
            free((void *)packs[i].blobs);
            owned[i].blobs = b;
        }
        free(packs);
        w->rc->packs = owned;
        w->rc->npacks = npacks;
    } else {
        close_packs(packs, npacks);
    }
    f->n = kept;
    atomic_fetch_add(&w->rc->ahead_pending, kept);
    /* A thread of its own feeds them (it blocks whenever the workers are busy)
     * while this one walks the history. */
    f->running = f->n && pthread_create(&f->thread, NULL, feed_main, f) == 0;
    if (!f->running) feed_main(f);
}

/* Waits for the feeder; true when the pipeline refused items (it stopped). */
int gs_feed_join(walk *w)
{
    if (w->feed.running) pthread_join(w->feed.thread, NULL);
    w->feed.running = 0;
    free(w->feed.order);
    w->feed.order = NULL;
    return w->feed.refused;
}

/* Loads a blob scanned ahead of the walk. Whatever needs a path or a reason
 * tied to one is withdrawn and left to the walk's own submission: archives (their
 * members' provenance names the path), and anything gs_load_blob would not scan
 * (too large, an LFS pointer, missing or corrupt). */
static int load_ahead(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    repo_ctx *rc = it->load_ctx;
    unsigned pi, k;
    const char *at = it->load_arg + GIT_OID_HEXSZ;
    int r = *at == ':' && sscanf(at, ":%u:%u", &pi, &k) == 2 ? read_packed(rc, pi, k, out, cap, why)
                                                             : gs_load_blob(it, out, cap, why);
    if (r != FR_OK || fr_archive_detect((const unsigned char *)out->p, out->len)) {
        git_oid oid;
        git_oid_fromstr(&oid, it->load_arg);
        pthread_mutex_lock(&rc->mu);
        if (!rc->closed) fr_keymap_put(&rc->withdrawn, oid.id, 0, NULL);
        pthread_mutex_unlock(&rc->mu);
        r = FR_WITHDRAW;
    }
    return r;
}

/* The verdict on a blob scanned ahead: its locations are worth sending only if
 * it has matches or was not scanned in full (binary content). */
static void ahead_done(const fr_item *it, int withdrawn, size_t nmatches)
{
    repo_ctx *rc = it->load_ctx;
    if (withdrawn && !fr_interrupted) {
        /* The pipeline withdraws content with no place whose matches depend on
         * one (an indicator rule for pipeline definitions): the walk submits it
         * with its paths. (The loader's own withdrawals are already noted.) */
        git_oid oid;
        git_oid_fromstr(&oid, it->load_arg);
        pthread_mutex_lock(&rc->mu);
        if (!rc->closed) fr_keymap_put(&rc->withdrawn, oid.id, 0, NULL);
        pthread_mutex_unlock(&rc->mu);
    } else if (!withdrawn && (nmatches || it->status != FR_ST_SCANNED)) {
        git_oid oid;
        git_oid_fromstr(&oid, it->load_arg);
        pthread_mutex_lock(&rc->mu);
        if (!rc->closed) fr_keymap_put(&rc->keep, oid.id, 0, NULL);
        pthread_mutex_unlock(&rc->mu);
    }
    atomic_fetch_sub(&rc->ahead_pending, 1);
}

/* Blobs scanned ahead, once the walk is over: a withdrawn one is submitted now
 * like a new blob, with every location found; one that no walk reached gets its
 * unreachable location. The others have their locations flushed as usual. */
void gs_settle_ahead(walk *w)
{
    repo_ctx *rc = w->rc;
    if (gs_feed_join(w)) w->stopped = 1;
    /* Wait for the loaders' verdicts (a stopped pipeline drains items unloaded). */
    while (atomic_load(&rc->ahead_pending) && !fr_interrupted && !w->stopped &&
           !fr_pipeline_stopped(w->p)) {
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!atomic_load(&rc->ahead_pending) && rc->packs) { /* no worker reads them any more */
        for (size_t i = 0; i < rc->npacks; i++)          /* the tables are the pipeline's */
            if (rc->packs[i].fd >= 0) close(rc->packs[i].fd);
        rc->packs = NULL;
        rc->npacks = 0;
    }
    for (size_t b = 0; b < w->nb && !w->stopped && !fr_interrupted; b++) {
        blob_rec *br = &w->bv[b];
        if (!(br->flags & BF_AHEAD)) continue;
        pthread_mutex_lock(&rc->mu);
        int withdrawn = fr_keymap_get(&rc->withdrawn, br->oid.id) != NULL;
        int keep = fr_keymap_get(&rc->keep, br->oid.id) != NULL;
        pthread_mutex_unlock(&rc->mu);
        br->flags &= (uint8_t)~BF_AHEAD;
        if (withdrawn) {
            br->state = B_NEW;
            w->stats->blobs--; /* counted again as it is submitted */
            gs_submit_blob(w, (uint32_t)b);
        } else if (!keep) {
            /* Clean: the store keeps no locations for it; the walk's found ones
             * are dropped here rather than sent for nothing. */
            br->first_loc = br->last_loc = NONE;
            if (!(br->flags & BF_LOCATED)) w->stats->unreachable_blobs++;
        } else if (!(br->flags & BF_LOCATED)) {
            char hex[GIT_OID_HEXSZ + 1];
            fr_item *it = gs_blob_item(&br->oid, hex);
            gs_add_unreachable(w, it);
            it->known = 1;
            if (fr_pipeline_submit(w->p, it)) w->stopped = 1;
        }
    }
    pthread_mutex_lock(&rc->mu);
    rc->closed = 1;
    fr_keymap_release(&rc->withdrawn);
    fr_keymap_release(&rc->keep);
    pthread_mutex_unlock(&rc->mu);
}
