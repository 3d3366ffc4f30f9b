/*
 * blobs.c: a blob's record from the moment the walk (or the scan ahead)
 * finds it to its submission, and its loading by the workers.
 *
 *   B_NEW ──(first location)──> B_SCAN: submitted with its locations
 *     │                             later locations: location-only items
 *     ├──(known clean)────────> B_KNOWN_CLEAN: nothing sent
 *     └──(known, with matches)─> B_KNOWN_MATCHES: location-only items
 */
#include "sources/git/git_int.h"
#include "sources/archive.h"
#include "sources/logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- records --- */

static const char LFS_MAGIC[] = "version https://git-lfs.github.com/spec/v1";

int gs_is_lfs_pointer(const char *p, size_t n)
{
    return n < 200 && n >= sizeof LFS_MAGIC - 1 && !memcmp(p, LFS_MAGIC, sizeof LFS_MAGIC - 1);
}

uint32_t gs_blob_index(walk *w, const git_oid *oid)
{
    int added = 0;
    uint32_t *v = fr_keymap_put(&w->blobs, oid->id, (uint32_t)w->nb, &added);
    if (added) {
        if (w->nb == w->capb) {
            w->capb = w->capb ? w->capb * 2 : 1024;
            w->bv = fr_xrealloc(w->bv, w->capb * sizeof *w->bv);
        }
        w->bv[w->nb] = (blob_rec){*oid, NONE, NONE, B_NEW, 0};
        w->nb++;
    }
    return *v;
}

/* Records that blob b is at path since commit (the first such commit in
 * topological order: callers visit each (blob, path) pair once), and hands the
 * blob to the pipeline the first time. */
void gs_add_blob_location(walk *w, uint32_t b, uint32_t path, uint32_t commit)
{
    w->bv[b].flags |= BF_LOCATED;
    if (w->bv[b].state == B_KNOWN_CLEAN) return;
    if (w->nl == w->capl) {
        w->capl = w->capl ? w->capl * 2 : 1024;
        w->lv = fr_xrealloc(w->lv, w->capl * sizeof *w->lv);
    }
    w->lv[w->nl] = (blob_loc){path, commit, NONE};
    blob_rec *br = &w->bv[b];
    if (br->last_loc == NONE)
        br->first_loc = (uint32_t)w->nl;
    else
        w->lv[br->last_loc].next = (uint32_t)w->nl;
    br->last_loc = (uint32_t)w->nl++;
    /* New blobs are scanned now, overlapping the rest of the walk; later paths of
     * a blob follow as location-only items (see gs_flush_locations). */
    if (br->state == B_NEW || br->state == B_KNOWN_MATCHES) gs_submit_blob(w, b);
}

/* A new item for blob oid, keyed by its id (hex receives the id as text). */
fr_item *gs_blob_item(const git_oid *oid, char hex[GIT_OID_HEXSZ + 1])
{
    git_oid_tostr(hex, GIT_OID_HEXSZ + 1, oid);
    fr_item *it = fr_xcalloc(1, sizeof *it);
    fr_buf k = {0};
    fr_buf_printf(&k, "git:%s", hex);
    it->key = fr_buf_steal(&k);
    return it;
}

/* The provenance of a blob no commit reaches. */
void gs_add_unreachable(walk *w, fr_item *it)
{
    fr_location loc = {.kind = "git-unreachable", .repo = w->path, .path = ""};
    fr_item_add_location(it, &loc);
    w->stats->unreachable_blobs++;
}

/* Blobs a partial clone does not have, met by this process's loaders. */
static atomic_size_t absent_blobs;

uint64_t fr_git_absent_blobs(void)
{
    return atomic_load(&absent_blobs);
}

int gs_load_blob(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    const repo_ctx *rc = it->load_ctx;
    tl_repo *t = gs_thread_repo(rc, why);
    if (!t) return FR_ERR;
    git_oid oid;
    git_oid_fromstr(&oid, it->load_arg);
    size_t len;
    git_object_t type;
    int err = git_odb_read_header(&len, &type, t->odb, &oid);
    if (err == GIT_ENOTFOUND && rc->partial_clone) {
        /* Held back by the promisor remote, by the clone's own filter: not
         * damage. Skipped (the exit code stays; --strict makes it 2) and
         * counted, so the walk's state is kept and re-scans stay incremental. */
        fr_buf_puts(why, FR_GIT_ABSENT_REASON);
        atomic_fetch_add(&absent_blobs, 1);
        return FR_SKIP;
    }
    if (err) {
        fr_buf_printf(why, "missing or corrupt blob: %s", gs_err());
        return FR_ERR;
    }
    if (type != GIT_OBJECT_BLOB) { /* a corrupt index can point an id at another object */
        fr_buf_printf(why, "corrupt object database: %s is a %s, not a blob", it->load_arg,
                      git_object_type2string(type));
        return FR_ERR;
    }
    if (len > cap) return FR_ELIMIT;
    git_odb_object *obj = NULL;
    if (git_odb_read(&obj, t->odb, &oid)) {
        fr_buf_printf(why, "cannot read blob: %s", gs_err());
        return FR_ERR;
    }
    size_t n = git_odb_object_size(obj);
    fr_buf_append(out, git_odb_object_data(obj), n);
    git_odb_object_free(obj);
    if (gs_is_lfs_pointer(out->p, n)) {
        fr_buf_puts(why, "Git LFS pointer (the content is in LFS storage, not in git)");
        return FR_SKIP;
    }
    return FR_OK;
}

/* Submits blob b with the locations pending on it. The first time the blob is
 * submitted for scanning (unless it was scanned before under the same rules);
 * afterwards, and for blobs known to have matches, as location-only items. A
 * location-only item may overtake the blob's own scan in the pipeline: the writer
 * holds it back until the blob is recorded. */
void gs_submit_blob(walk *w, uint32_t b)
{
    blob_rec *br = &w->bv[b];
    int scan = 0;
    if (br->state == B_NEW) {
        const fr_git_opts *o = w->opts;
        const uint32_t *known = gs_known(w, &br->oid);
        br->state = !known ? B_SCAN : *known ? B_KNOWN_MATCHES : B_KNOWN_CLEAN;
        if (known) w->stats->blobs_known++;
        /* Another shard's blob: that shard records it, with every location. */
        if (o->keep && !o->keep(o->keep_ctx, br->oid.id, NULL)) br->state = B_KNOWN_CLEAN;
        if (br->state == B_KNOWN_CLEAN) return;
        scan = br->state == B_SCAN;
    }
    if (!scan && br->first_loc == NONE) return;
    char hex[GIT_OID_HEXSZ + 1];
    fr_item *it = gs_blob_item(&br->oid, hex);
    if (br->first_loc == NONE) gs_add_unreachable(w, it);
    /* Versions of one path are delta chains of each other: one worker reads them
     * all, so its delta-base cache serves the chain. */
    if (br->first_loc != NONE) it->affinity = 1 + w->lv[br->first_loc].path;
    for (uint32_t l = br->first_loc; l != NONE; l = w->lv[l].next) {
        char chex[GIT_OID_HEXSZ + 1], ad[32], cd[32];
        fr_location loc = {
            .kind = "git", .repo = w->path, .path = fr_strtab_get(&w->strs, w->lv[l].path)};
        gs_commit_location(w, w->lv[l].commit, &loc, chex, ad, cd);
        fr_item_add_location(it, &loc);
    }
    br->first_loc = br->last_loc = NONE;
    if (scan) {
        it->load = gs_load_blob;
        it->expand = fr_archive_expand;
        it->normalize = fr_log_normalizer;
        it->describe = fr_log_describe;
        it->load_arg = fr_xstrdup(hex);
        it->load_ctx = w->rc;
        w->stats->blobs++;
    } else {
        it->known = 1;
    }
    if (fr_pipeline_submit(w->p, it)) w->stopped = 1;
}

/* Location-only items for the paths found after a blob was submitted: batched
 * per blob, sent once the walk is over. */
void gs_flush_locations(walk *w)
{
    for (size_t b = 0; b < w->nb && !w->stopped && !fr_interrupted; b++)
        if (w->bv[b].first_loc != NONE) gs_submit_blob(w, (uint32_t)b);
}
