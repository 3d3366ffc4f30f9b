/*
 * trees.c: the trees of the history walk, read with ferret's pack reader.
 *
 * libgit2 1.5 resolves each tree's delta chain again on most lookups (its
 * delta-base cache is a compile-time 16 MB shared by everything it reads) and
 * builds an entry object per tree; on git/git that was ~17 s of CPU for the
 * walk alone, against ~1.7 s to inflate and parse every commit and tree of
 * the pack in delta order (scripts/bench-git-limit.sh). So a full scan lists
 * the trees of the repository's own packs once (gs_pack_list), and the walk
 * reads each through fr_pack_read with a cache of its own: walking parents
 * first reads a path's trees roughly up their delta chain, whose bases stay
 * cached until their last child was read.
 *
 *   tree id ──listed──> fr_pack_read ──> fr_tree_parse ──> entries
 *      │ not listed, or          │ corrupt           │ malformed
 *      v                         v                   v
 *   git_odb_read (loose, other packs, alternates) ──> parsed, or NULL + why
 *
 * Packs whose listing fails (corrupt, unsafe: rc->bad_packs) are not listed;
 * their trees, like any other object, go through libgit2's object database.
 */
#include "sources/git/git_int.h"
#include "util/limits.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An object id's place in the listings: its global index and bytes 2..5 of
 * the id, grouped by the id's first two bytes (ids.fan). 8 bytes an object
 * instead of a hash table's 25 at its 0.7 load (26 MB for terraform's
 * 371,795 commits and trees, 3 MB this way); a bucket holds a few entries on
 * one cache line, in global index order (an id in two packs: the first). */
typedef struct {
    uint32_t tag, g;
} listed_ent;

struct gs_trees {
    fr_pack_src *packs;
    size_t npacks;
    size_t *starts; /* global index of each pack's first tree */
    struct {
        uint32_t *fan; /* 65,537 bucket starts in ent */
        listed_ent *ent;
    } ids;
    fr_pack_cache *cache;
    gs_tree *pool[GS_TREE_POOL]; /* freed trees, kept for their buffers */
    fr_buf craw;                 /* the last commit read */
    size_t npool;
};

static void list_pack(gs_trees *t, const char *dir, const char *name)
{
    fr_buf ip = {0}, pp = {0};
    fr_buf_printf(&ip, "%s/%s", dir, name);
    fr_buf_printf(&pp, "%s/%.*s.pack", dir, (int)(strlen(name) - 4), name);
    fr_pack_blob *v = NULL;
    size_t n = 0, cap = 0;
    char why[256];
    int fd = -1;
    struct stat st;
    if (gs_pack_list(ip.p, 1u << GIT_OBJECT_TREE | 1u << GIT_OBJECT_COMMIT, &v, &n, &cap, why,
                     sizeof why) == FR_OK &&
        n && (fd = open(pp.p, O_RDONLY | O_CLOEXEC)) >= 0 && !fstat(fd, &st) &&
        S_ISREG(st.st_mode)) {
        size_t g = t->npacks ? t->starts[t->npacks - 1] + t->packs[t->npacks - 1].n : 0;
        t->packs = fr_xrealloc(t->packs, (t->npacks + 1) * sizeof *t->packs);
        t->starts = fr_xrealloc(t->starts, (t->npacks + 1) * sizeof *t->starts);
        fr_pack_src *s = &t->packs[t->npacks];
        t->starts[t->npacks++] = g;
        *s = (fr_pack_src){fr_pack_new_id(), NULL, fd, (uint64_t)st.st_size, v, n};
        v = NULL;
        fd = -1;
    }
    if (fd >= 0) close(fd);
    free(v);
    fr_buf_release(&ip);
    fr_buf_release(&pp);
}

static uint32_t id_bucket(const unsigned char *oid)
{
    return (uint32_t)oid[0] << 8 | oid[1];
}

static uint32_t id_tag(const unsigned char *oid)
{
    return (uint32_t)oid[2] << 24 | (uint32_t)oid[3] << 16 | (uint32_t)oid[4] << 8 | oid[5];
}

/* The id index of every listed object (a counting sort by bucket: stable). */
static void index_ids(gs_trees *t)
{
    size_t total = t->npacks ? t->starts[t->npacks - 1] + t->packs[t->npacks - 1].n : 0;
    t->ids.fan = fr_xcalloc(65537, sizeof *t->ids.fan);
    t->ids.ent = fr_xmalloc((total ? total : 1) * sizeof *t->ids.ent);
    for (size_t i = 0; i < t->npacks; i++)
        for (size_t k = 0; k < t->packs[i].n; k++)
            t->ids.fan[id_bucket(t->packs[i].blobs[k].oid) + 1]++;
    for (size_t b = 0; b < 65536; b++)
        t->ids.fan[b + 1] += t->ids.fan[b];
    uint32_t *fill = fr_xmalloc(65536 * sizeof *fill);
    memcpy(fill, t->ids.fan, 65536 * sizeof *fill);
    for (size_t i = 0; i < t->npacks; i++)
        for (size_t k = 0; k < t->packs[i].n; k++) {
            const unsigned char *oid = t->packs[i].blobs[k].oid;
            t->ids.ent[fill[id_bucket(oid)]++] =
                (listed_ent){id_tag(oid), (uint32_t)(t->starts[i] + k)};
        }
    free(fill);
}

/* The pack and position of a listed id; 0 when it is not listed. */
static int listed_find(const gs_trees *t, const git_oid *id, size_t *pack, size_t *k)
{
    if (!t->ids.fan) return 0;
    uint32_t b = id_bucket(id->id), tag = id_tag(id->id);
    for (uint32_t j = t->ids.fan[b]; j < t->ids.fan[b + 1]; j++) {
        if (t->ids.ent[j].tag != tag) continue;
        size_t g = t->ids.ent[j].g, lo = 0, hi = t->npacks;
        while (hi - lo > 1) { /* the pack holding global index g */
            size_t mid = (lo + hi) / 2;
            if (t->starts[mid] <= g)
                lo = mid;
            else
                hi = mid;
        }
        if (memcmp(t->packs[lo].blobs[g - t->starts[lo]].oid, id->id, GIT_OID_RAWSZ)) continue;
        *pack = lo;
        *k = g - t->starts[lo];
        return 1;
    }
    return 0;
}

gs_trees *gs_trees_open(walk *w)
{
    gs_trees *t = fr_xcalloc(1, sizeof *t);
    t->cache = fr_pack_cache_new_slots(GS_TREE_CACHE_BUDGET, GS_TREE_CACHE_SLOTS);
    fr_buf dir = {0};
    fr_buf_printf(&dir, "%sobjects/pack", git_repository_commondir(w->repo));
    DIR *d = opendir(dir.p);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t L = strlen(de->d_name), k = 0;
        if (L < 5 || strcmp(de->d_name + L - 4, ".idx")) continue;
        while (k < w->rc->nbad && strcmp(w->rc->bad_packs[k], de->d_name))
            k++;
        if (k < w->rc->nbad) continue; /* corrupt: libgit2's database goes around it */
        list_pack(t, dir.p, de->d_name);
        if (t->npacks >= UINT32_MAX / 2) break;
    }
    if (d) closedir(d);
    fr_buf_release(&dir);
    if (t->npacks && t->starts[t->npacks - 1] + t->packs[t->npacks - 1].n <= UINT32_MAX)
        index_ids(t);
    return t;
}

void gs_trees_close(gs_trees *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->npacks; i++) {
        close(t->packs[i].fd);
        free((void *)t->packs[i].blobs);
    }
    free(t->packs);
    free(t->starts);
    free(t->ids.fan);
    free(t->ids.ent);
    fr_pack_cache_free(t->cache);
    fr_buf_release(&t->craw);
    for (size_t i = 0; i < t->npool; i++) {
        fr_buf_release(&t->pool[i]->raw);
        free(t->pool[i]->e);
        free(t->pool[i]->todo);
        free(t->pool[i]);
    }
    free(t);
}

/* The bytes of object id of the type from the listed packs: FR_OK,
 * FR_ENOTFOUND when it is not listed as that type, else the reader's error. */
static int read_listed(gs_trees *t, const git_oid *id, int type, fr_buf *out, char *why,
                       size_t why_len)
{
    size_t lo, k;
    if (!t || !listed_find(t, id, &lo, &k)) return FR_ENOTFOUND;
    if (t->packs[lo].blobs[k].type != type) return FR_ENOTFOUND;
    return fr_pack_read(&t->packs[lo], k, t->cache, GS_TREE_MAX, out, why, why_len);
}

int gs_commit_read(walk *w, const git_oid *id, fr_commit *c)
{
    gs_trees *t = w->trees;
    char why[256];
    if (!t || read_listed(t, id, GIT_OBJECT_COMMIT, &t->craw, why, sizeof why)) return FR_ERR;
    return fr_commit_parse((const unsigned char *)t->craw.p, t->craw.len, c);
}

gs_tree *gs_tree_read(walk *w, const git_oid *id, char *why, size_t why_len)
{
    gs_trees *t = w->trees;
    gs_tree *tr = t && t->npool ? t->pool[--t->npool] : fr_xcalloc(1, sizeof *tr);
    int rc = read_listed(t, id, GIT_OBJECT_TREE, &tr->raw, why, why_len);
    if (rc) { /* not listed, or unreadable there: libgit2's object database */
        git_odb_object *o = NULL;
        rc = FR_ERR;
        if (!w->odb || git_odb_read(&o, w->odb, id)) {
            snprintf(why, why_len, "%s", gs_err());
        } else if (git_odb_object_type(o) != GIT_OBJECT_TREE) {
            snprintf(why, why_len, "the object is not a tree");
        } else {
            tr->raw.len = 0;
            fr_buf_append(&tr->raw, git_odb_object_data(o), git_odb_object_size(o));
            rc = FR_OK;
        }
        git_odb_object_free(o);
    }
    /* the caller parses the bytes (walk.c: against the last tree at its path) */
    tr->n = tr->ntodo = 0;
    if (rc) {
        gs_tree_free(w, tr);
        return NULL;
    }
    return tr;
}

void gs_tree_free(walk *w, gs_tree *tr)
{
    if (!tr) return;
    gs_trees *t = w->trees;
    /* only small trees are kept for reuse: the pool must not hold the
     * largest directories' buffers for the rest of the walk */
    if (t && t->npool < GS_TREE_POOL && tr->raw.cap <= GS_TREE_POOL_BYTES &&
        tr->cap * sizeof *tr->e <= GS_TREE_POOL_BYTES &&
        tr->captodo * sizeof *tr->todo <= GS_TREE_POOL_BYTES) {
        tr->raw.len = 0;
        tr->n = 0;
        tr->ntodo = 0;
        t->pool[t->npool++] = tr;
        return;
    }
    fr_buf_release(&tr->raw);
    free(tr->e);
    free(tr->todo);
    free(tr);
}
