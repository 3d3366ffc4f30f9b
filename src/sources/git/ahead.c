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

static int load_ahead(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why);
static void ahead_done(const fr_item *it, int withdrawn, size_t nmatches);

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
        git_oid oid;
        git_oid_fromraw(&oid, f->blobs[i].oid);
        fr_item *it = gs_blob_item(&oid, hex);
        it->load = load_ahead;
        it->done = ahead_done;
        it->normalize = fr_log_normalizer; /* by content: there is no path yet */
        it->load_arg = fr_xstrdup(hex);
        it->load_ctx = f->rc;
        it->affinity = 1 + i / 64;          /* runs of the pack to one worker: shared delta bases */
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
            int prc = di ? gs_pack_blobs(ip.p, &av, &an, &acap, why, sizeof why)
                         : gs_pack_blobs(ip.p, &v, &n, &cap, why, sizeof why); /* in pack order */
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
    size_t kept = 0;
    for (size_t i = 0; i < n && !fr_interrupted; i++) {
        git_oid oid;
        git_oid_fromraw(&oid, v[i].oid);
        uint32_t b = gs_blob_index(w, &oid);
        blob_rec *br = &w->bv[b];
        if (br->state != B_NEW || (o->known && fr_keymap_get(&o->known->map, br->oid.id)))
            continue; /* in two packs, or scanned before: the walk decides */
        br->state = B_SCAN;
        br->flags |= BF_AHEAD;
        w->stats->blobs++;
        v[kept++] = v[i];
    }
    f->blobs = v; /* 28 bytes a blob until the feeder is done */
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
    free(w->feed.blobs);
    w->feed.blobs = NULL;
    return w->feed.refused;
}

/* Loads a blob scanned ahead of the walk. Whatever needs a path or a reason
 * tied to one is withdrawn and left to the walk's own submission: archives (their
 * members' provenance names the path), and anything gs_load_blob would not scan
 * (too large, an LFS pointer, missing or corrupt). */
static int load_ahead(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    repo_ctx *rc = it->load_ctx;
    int r = gs_load_blob(it, out, cap, why);
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
    if (!withdrawn && (nmatches || it->status != FR_ST_SCANNED)) {
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
