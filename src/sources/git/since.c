/*
 * since.c: scans that walk part of the history — an incremental re-scan (only
 * what the last complete scan under the same rules did not walk) and a range
 * scan (A..B, for a pull request) — and the state a complete scan leaves for
 * the next one.
 *
 *   prev state (tips, packs) ──> candidates: loose objects and objects of packs
 *     │                          not in prev (dangling commits, new blobs)
 *     v
 *   revwalk: push current tips not in prev + candidate commits, hide prev tips
 *     │ error (a tip's history is broken): the whole history is walked
 *     v
 *   fresh commits ──> the walk (walk.c) processes only them; a walked commit
 *     reached as a parent is a boundary: its tree is marked (each (tree, path)
 *     and (blob, path) seen, nothing submitted), so a fresh commit records
 *     only the pairs it introduces
 *     │
 *     v
 *   after the walk: candidate commits no ref reached are walked as dangling,
 *   candidate blobs nothing reached and never scanned are scanned bare
 *
 * A range scan pushes B and hides A; it has no candidates and leaves no state.
 */
#include "sources/git/git_int.h"

#include <dirent.h>
#include <git2/sys/odb_backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gs_since {
    git_oid *commits, *blobs; /* candidates (incremental scans) */
    size_t nc, nb, capc, capb;
    char **packs; /* every pack file name now (for the next state) */
    size_t npacks;
    int new_packs;       /* some pack is not in the previous state */
    fr_keymap same;      /* (name digest, target) of each previous tip (tip_key) */
    const ref_tip *tips; /* the walk's tips, and their names' digests (tip_digest) */
    size_t ntips;
    char (*digests)[65];
    /* The commits hidden (see hide_set), when they are the previous state's
     * hide set (hides_ok); the next one is derived from them. */
    git_oid *hidden;
    size_t nhidden;
    int hides_ok;
};

/* The key of a tip in gs_since.same: the first 12 bytes of its name's
 * digest and its target, raw (not a SHA-256 of both in hex: ~950 of them in
 * a re-scan of a repository with ~500 refs). A digest that is not 64
 * lower-case hex digits (a damaged state) gets twelve 0xff bytes, the
 * start of one name digest in 2^96: its tip is then never "unchanged". */
#define TIP_KEY (12 + GIT_OID_RAWSZ)
static void tip_key(const char *name_digest, const git_oid *target, unsigned char key[TIP_KEY])
{
    size_t i = 0;
    for (; i < 64; i++) {
        char c = name_digest[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) break;
        if (i < 24) key[i / 2] = (unsigned char)(i % 2 ? key[i / 2] | v : v << 4);
    }
    if (i < 64 || name_digest[64]) memset(key, 0xff, 12);
    memcpy(key + 12, target->id, GIT_OID_RAWSZ);
}

/* The digest of a tip's name (a ref's name can hold a secret: the state keeps
 * only this), made once per tip of the walk (gs_since.tips). */
static const char *tip_digest(walk *w, const ref_tip *t, char buf[65])
{
    struct gs_since *s = w->since;
    if (s && s->digests && t >= s->tips && t < s->tips + s->ntips) {
        char *d = s->digests[t - s->tips];
        if (!d[0]) fr_sha256_hex(t->name, strlen(t->name), d);
        return d;
    }
    fr_sha256_hex(t->name, strlen(t->name), buf);
    return buf;
}

/* ------------------------------------------------------------ the state --- */

void fr_git_state_add(fr_git_state *st, const char *kind, const char *name, const char *oid)
{
    if (!strcmp(kind, "tip")) {
        st->refs = fr_xrealloc(st->refs, (st->ntips + 1) * sizeof *st->refs);
        st->oids = fr_xrealloc(st->oids, (st->ntips + 1) * sizeof *st->oids);
        st->refs[st->ntips] = fr_xstrdup(name);
        st->oids[st->ntips++] = fr_xstrdup(oid);
    } else if (!strcmp(kind, "pack")) {
        st->packs = fr_xrealloc(st->packs, (st->npacks + 1) * sizeof *st->packs);
        st->packs[st->npacks++] = fr_xstrdup(name);
    } else if (!strcmp(kind, "hide")) {
        st->hides = fr_xrealloc(st->hides, (st->nhides + 1) * sizeof *st->hides);
        st->hides[st->nhides++] = fr_xstrdup(oid);
    }
}

void fr_git_state_free(fr_git_state *st)
{
    for (size_t i = 0; i < st->ntips; i++)
        free(st->refs[i]), free(st->oids[i]);
    for (size_t i = 0; i < st->npacks; i++)
        free(st->packs[i]);
    for (size_t i = 0; i < st->nhides; i++)
        free(st->hides[i]);
    free(st->refs), free(st->oids), free(st->packs), free(st->hides);
    memset(st, 0, sizeof *st);
}

/* ----------------------------------------------------------- candidates --- */

static int in_prev_packs(const fr_git_state *prev, const char *name)
{
    for (size_t i = 0; i < prev->npacks; i++)
        if (!strcmp(prev->packs[i], name)) return 1;
    return 0;
}

typedef struct {
    walk *w;
    struct gs_since *s;
} cand_ctx;

static int on_candidate(const git_oid *oid, void *payload)
{
    cand_ctx *c = payload;
    struct gs_since *s = c->s;
    if (fr_interrupted) return 1;
    size_t len;
    git_object_t type;
    if (!c->w->odb || git_odb_read_header(&len, &type, c->w->odb, oid)) return 0; /* when read */
    if (type == GIT_OBJECT_COMMIT) {
        if (s->nc == s->capc) {
            s->capc = s->capc ? s->capc * 2 : 256;
            s->commits = fr_xrealloc(s->commits, s->capc * sizeof *s->commits);
        }
        git_oid_cpy(&s->commits[s->nc++], oid);
    } else if (type == GIT_OBJECT_BLOB) {
        if (s->nb == s->capb) {
            s->capb = s->capb ? s->capb * 2 : 256;
            s->blobs = fr_xrealloc(s->blobs, s->capb * sizeof *s->blobs);
        }
        git_oid_cpy(&s->blobs[s->nb++], oid);
    }
    return 0;
}

/* Lists the pack files of every object directory (alternates' too) and, with
 * prev, enumerates the objects that may be new since: loose ones and those of
 * packs prev does not name. */
static void list_objects(walk *w, const fr_git_state *prev)
{
    struct gs_since *s = w->since;
    fr_buf dir = {0};
    fr_buf_printf(&dir, "%sobjects", git_repository_commondir(w->repo));
    object_dirs dirs = {0};
    gs_list_object_dirs(&dirs, dir.p, 0);
    cand_ctx cc = {w, s};
    for (size_t di = 0; di < dirs.n && !fr_interrupted; di++) {
        git_odb_backend *b = NULL;
        if (prev && git_odb_backend_loose(&b, dirs.dir[di], -1, 0, 0, 0) == 0) {
            b->foreach (b, on_candidate, &cc);
            b->free(b);
        }
        fr_buf_reset(&dir);
        fr_buf_printf(&dir, "%s/pack", dirs.dir[di]);
        DIR *d = opendir(dir.p);
        for (struct dirent *e; d && (e = readdir(d));) {
            size_t L = strlen(e->d_name);
            if (L < 6 || strcmp(e->d_name + L - 5, ".pack")) continue;
            s->packs = fr_xrealloc(s->packs, (s->npacks + 1) * sizeof *s->packs);
            s->packs[s->npacks++] = fr_xstrdup(e->d_name);
            if (!prev || in_prev_packs(prev, e->d_name)) continue;
            s->new_packs = 1;
            fr_buf idx = {0};
            fr_buf_printf(&idx, "%s/%.*s.idx", dir.p, (int)(L - 5), e->d_name);
            /* Its objects are read by id below: only when the pack checks out
             * (libgit2 follows a corrupt index's offsets; the scan ahead
             * records an unsafe pack and keeps every reader away from it). */
            fr_pack_blob *pb = NULL;
            size_t npb = 0, capb = 0;
            char why[256];
            int safe = gs_pack_blobs(idx.p, &pb, &npb, &capb, why, sizeof why) != FR_PACK_UNSAFE;
            free(pb);
            if (safe && git_odb_backend_one_pack(&b, idx.p) == 0) {
                b->foreach (b, on_candidate, &cc);
                b->free(b);
            }
            fr_buf_release(&idx);
        }
        if (d) closedir(d);
    }
    gs_object_dirs_free(&dirs);
    fr_buf_release(&dir);
}

/* ------------------------------------------------------- fresh commits --- */

/* Fills w->fresh with the commits reachable from push and from none of hide.
 * A hidden tip that is gone (gc'd) or not a commit hides nothing. Each hide
 * reads its commit (libgit2 looks the object up, then parses it for the walk):
 * nothing is hidden when nothing was pushed (refs deleted, or moved to commits
 * that are tips already), and a commit several tips share is hidden once.
 * Returns FR_OK, or FR_ERR when libgit2 cannot walk (a broken or shallow
 * history). */
static int fresh_commits(walk *w, const git_oid *push, size_t npush, const git_oid *hide,
                         size_t nhide)
{
    git_revwalk *rw = NULL;
    if (git_revwalk_new(&rw, w->repo)) return FR_ERR;
    git_revwalk_sorting(rw, GIT_SORT_NONE);
    size_t pushed = 0;
    for (size_t i = 0; i < npush; i++)
        if (git_revwalk_push(rw, &push[i]) == 0) pushed++;
    fr_keymap hidden;
    fr_keymap_init(&hidden, GIT_OID_RAWSZ);
    for (size_t i = 0; pushed && i < nhide; i++) {
        int added = 0;
        fr_keymap_put(&hidden, hide[i].id, 0, &added);
        if (added) git_revwalk_hide(rw, &hide[i]); /* a missing tip hides nothing */
    }
    fr_keymap_release(&hidden);
    git_error_clear();
    int rc = FR_OK, err = 0;
    git_oid oid;
    while (pushed && !fr_interrupted && (err = git_revwalk_next(&oid, rw)) == 0)
        fr_keymap_put(&w->fresh, oid.id, 0, NULL);
    if (pushed && err != GIT_ITEROVER && !fr_interrupted) rc = FR_ERR;
    git_revwalk_free(rw);
    return rc;
}

static void since_free(walk *w)
{
    struct gs_since *s = w->since;
    if (!s) return;
    for (size_t i = 0; i < s->npacks; i++)
        free(s->packs[i]);
    fr_keymap_release(&s->same);
    free(s->digests);
    free(s->packs), free(s->commits), free(s->blobs), free(s->hidden), free(s);
    w->since = NULL;
}

/* The previous state's hide set (prev->hides), or NULL when it has none (a
 * state saved before it existed) or one of its commits is gone: a tip it
 * covered may then be reachable from no other hidden commit, and every tip is
 * hidden as before. Hiding these instead of every tip walks the same commits:
 * each tip is one of them or in the history of one (see next_hides). */
static git_oid *hide_set(walk *w, const fr_git_state *prev, size_t *n)
{
    *n = 0;
    if (!prev->nhides || !w->odb) return NULL;
    git_oid *v = fr_xcalloc(prev->nhides, sizeof *v);
    for (size_t i = 0; i < prev->nhides; i++) {
        if (git_oid_fromstr(&v[i], prev->hides[i]) || !git_odb_exists(w->odb, &v[i])) {
            free(v);
            return NULL;
        }
    }
    *n = prev->nhides;
    return v;
}

int gs_since_begin(walk *w, const ref_tip *tips, size_t ntips)
{
    const fr_git_state *prev = w->opts->prev;
    w->since = fr_xcalloc(1, sizeof *w->since);
    fr_keymap_init(&w->since->same, TIP_KEY);
    w->since->tips = tips, w->since->ntips = ntips;
    w->since->digests = fr_xcalloc(ntips + 1, sizeof *w->since->digests);
    list_objects(w, prev);
    if (!prev) return GS_SINCE_FULL; /* a full walk: only the pack list is wanted */
    struct gs_since *s = w->since;
    git_oid *hide = fr_xcalloc(prev->ntips + 1, sizeof *hide);
    size_t nhide = 0;
    fr_keymap prev_oids;
    fr_keymap_init(&prev_oids, GIT_OID_RAWSZ);
    for (size_t i = 0; i < prev->ntips; i++) {
        unsigned char key[TIP_KEY];
        if (git_oid_fromstr(&hide[nhide], prev->oids[i])) continue;
        tip_key(prev->refs[i], &hide[nhide], key);
        fr_keymap_put(&s->same, key, 0, NULL);
        fr_keymap_put(&prev_oids, hide[nhide].id, 0, NULL);
        nhide++;
    }
    s->hidden = hide_set(w, prev, &s->nhidden);
    if ((s->hides_ok = s->hidden != NULL)) {
        free(hide);
        hide = fr_xcalloc(s->nhidden + 1, sizeof *hide);
        memcpy(hide, s->hidden, s->nhidden * sizeof *hide);
        nhide = s->nhidden;
    }
    /* Tips that did not move push nothing: their history is hidden anyway. */
    git_oid *push = fr_xcalloc(ntips + s->nc + 1, sizeof *push);
    size_t npush = 0;
    for (size_t i = 0; i < ntips; i++)
        if (!fr_keymap_get(&prev_oids, tips[i].target.id)) push[npush++] = tips[i].target;
    for (size_t i = 0; i < s->nc; i++)
        if (!fr_keymap_get(&prev_oids, s->commits[i].id)) push[npush++] = s->commits[i];
    fr_keymap_release(&prev_oids);
    int rc = fresh_commits(w, push, npush, hide, nhide);
    free(push);
    free(hide);
    if (rc) {
        fr_keymap_release(&w->fresh);
        fr_keymap_init(&w->fresh, GIT_OID_RAWSZ);
        return GS_SINCE_FULL;
    }
    w->use_fresh = 1;
    w->stats->incremental = 1;
    return s->new_packs ? GS_SINCE_NEW_PACKS : GS_SINCE_INCREMENTAL;
}

int gs_since_unchanged(walk *w, const ref_tip *t)
{
    if (!w->since || !w->use_fresh || w->opts->range) return 0;
    char buf[65];
    unsigned char key[TIP_KEY];
    tip_key(tip_digest(w, t, buf), &t->target, key);
    return fr_keymap_get(&w->since->same, key) != NULL;
}

int gs_since_range(walk *w, ref_tip *tip)
{
    const char *range = w->opts->range;
    git_object *from = NULL, *to = NULL;
    const char *to_name = "HEAD";
    int rc = FR_ERR;
    if (strstr(range, "..")) {
        git_revspec spec;
        if (git_revparse(&spec, w->repo, range) == 0) {
            from = spec.from, to = spec.to;
            if (spec.flags & GIT_REVSPEC_MERGE_BASE) { /* A...B: from the merge base */
                git_oid base;
                git_object *b = NULL;
                if (from && to &&
                    git_merge_base(&base, w->repo, git_object_id(from), git_object_id(to)) == 0 &&
                    git_object_lookup(&b, w->repo, &base, GIT_OBJECT_COMMIT) == 0) {
                    git_object_free(from);
                    from = b;
                }
            }
            to_name = strstr(range, "..") + (strstr(range, "...") ? 3 : 2);
            if (!*to_name) to_name = "HEAD";
        }
    } else if (git_revparse_single(&from, w->repo, range) == 0) {
        git_revparse_single(&to, w->repo, "HEAD");
    }
    git_object *fc = NULL, *tc = NULL;
    if (!from || !to || git_object_peel(&fc, from, GIT_OBJECT_COMMIT) ||
        git_object_peel(&tc, to, GIT_OBJECT_COMMIT)) {
        fr_error_set("%s: cannot resolve the range '%s': %s", w->path, range, gs_err());
    } else {
        git_oid push = *git_object_id(tc), hide = *git_object_id(fc);
        if (fresh_commits(w, &push, 1, &hide, 1)) {
            fr_error_set("%s: cannot walk the range '%s': %s", w->path, range, gs_err());
        } else {
            w->use_fresh = 1;
            tip->name = fr_xstrdup(to_name);
            tip->target = push;
            rc = FR_OK;
        }
    }
    git_object_free(fc), git_object_free(tc), git_object_free(from), git_object_free(to);
    return rc;
}

const uint32_t *gs_known(walk *w, const git_oid *oid)
{
    static const uint32_t clean = 0, matches = 1;
    if (w->known) return fr_keymap_get(&w->known->map, oid->id);
    if (!w->opts->known_one) return NULL;
    char hex[GIT_OID_HEXSZ + 1];
    int has = 0;
    git_oid_tostr(hex, sizeof hex, oid);
    if (w->opts->known_one(w->opts->known_ctx, hex, &has) != FR_OK) return NULL;
    return has ? &matches : &clean;
}

/* FNV-1a over a path, as walk.c keys (tree, path) and (blob, path) pairs. */
static uint64_t path_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static void mark_pair(fr_keymap *m, const unsigned char *id, const fr_buf *path)
{
    unsigned char key[GIT_OID_RAWSZ + 8];
    uint64_t h = path_hash(path->p, path->len);
    memcpy(key, id, GIT_OID_RAWSZ);
    memcpy(key + GIT_OID_RAWSZ, &h, 8);
    fr_keymap_put(m, key, 0, NULL);
}

static gs_tree *read_parsed(walk *w, const git_oid *id)
{
    char why[256];
    gs_tree *t = gs_tree_read(w, id, why, sizeof why);
    if (t && fr_tree_parse((const unsigned char *)t->raw.p, t->raw.len, &t->e, &t->n, &t->cap)) {
        gs_tree_free(w, t);
        t = NULL;
    }
    return t;
}

/* Marks what the walk of the fresh commit whose tree is `fresh` will ask
 * about in the walked tree `old` at path, as gs_walk_tree marking the whole
 * tree would have: an entry both trees hold (same name, type and id) is
 * marked without being entered (the fresh walk does not enter it either), a
 * name both hold as trees with other ids is marked and entered, a blob's path
 * interned where both hold the name; what only the old tree holds is never
 * asked about. A tree that cannot be read or parsed stops it (FR_ERR) where a
 * whole walk marks nothing either: below an old tree it cannot read, or a
 * fresh one whose own walk cannot read it and asks nothing there. */
static int mark_against(walk *w, const git_oid *old, const git_oid *fresh, fr_buf *path, int depth)
{
    mark_pair(&w->tree_paths, old->id, path);
    fr_keymap_put(&w->tree_oids, old->id, 0, NULL);
    if (depth > MAX_TREE_DEPTH) return FR_ERR;
    gs_tree *a = read_parsed(w, old), *b = a ? read_parsed(w, fresh) : NULL;
    int rc = a && b ? FR_OK : FR_ERR;
    size_t base = path->len;
    for (size_t i = 0, j = 0; rc == FR_OK && i < a->n && j < b->n;) {
        const fr_tree_entry *x = &a->e[i], *y = &b->e[j];
        int c = fr_tree_entry_cmp(x, y);
        if (c) {
            c < 0 ? i++ : j++;
            continue;
        }
        i++, j++;
        if (base) fr_buf_append(path, "/", 1);
        fr_buf_append(path, x->name, x->nlen);
        int same = x->type == y->type && !memcmp(x->id, y->id, GIT_OID_RAWSZ);
        if (x->type == FR_TREE_TREE && same) {
            mark_pair(&w->tree_paths, x->id, path);
            fr_keymap_put(&w->tree_oids, x->id, 0, NULL);
        } else if (x->type == FR_TREE_TREE && y->type == FR_TREE_TREE) {
            rc = mark_against(w, (const git_oid *)x->id, (const git_oid *)y->id, path, depth + 1);
        } else if (x->type != FR_TREE_TREE) {
            if (x->type == FR_TREE_BLOB) mark_pair(&w->pairs, x->id, path);
            fr_strtab_intern(&w->strs, path->p, path->len);
        }
        path->len = base;
        path->p[base] = 0;
    }
    gs_tree_free(w, a);
    gs_tree_free(w, b);
    return rc;
}

/* Marks the tree of a walked commit reached from a fresh one: the pairs it
 * holds are not the fresh commit's to record. When the walk has one fresh
 * commit (a push of one commit, a re-scan after one), only what that commit's
 * tree asks about is marked (mark_against: the parent's trees where the two
 * differ, not its whole tree); with more, a pair any boundary holds is not
 * another fresh commit's to record either, and the whole tree is marked. */
void gs_since_boundary(walk *w, const git_oid *commit, const git_oid *fresh_tree)
{
    git_commit *c = NULL;
    if (git_commit_lookup(&c, w->repo, commit)) return; /* shallow or gone: nothing to mark */
    fr_buf path = {0};
    fr_buf_puts(&path, "");
    w->marking = 1;
    if (fresh_tree && w->fresh.n == 1)
        mark_against(w, git_commit_tree_id(c), fresh_tree, &path, 0);
    else
        gs_walk_tree(w, git_commit_tree_id(c), &path, NONE, 0);
    w->marking = 0;
    fr_buf_release(&path);
    git_commit_free(c);
}

void gs_since_dangling(walk *w)
{
    struct gs_since *s = w->since;
    if (!s || !w->use_fresh) return;
    uint32_t dangling = fr_strtab_intern(&w->strs, "(unreachable)", 13);
    for (size_t i = 0; i < s->nc && !w->stopped && !fr_interrupted; i++)
        gs_walk_commits(w, &s->commits[i], dangling); /* walked before: nothing */
}

void gs_since_blobs(walk *w)
{
    struct gs_since *s = w->since;
    if (!s || !w->use_fresh) return;
    for (size_t i = 0; i < s->nb && !w->stopped && !fr_interrupted; i++) {
        if (fr_keymap_get(&w->blobs, s->blobs[i].id)) continue; /* reached, or fed ahead */
        /* Read before: its provenance was recorded by the walk that reached it
         * (a blob repacked by gc is not unreachable for being in a new pack). */
        if (gs_known(w, &s->blobs[i])) continue;
        gs_submit_blob(w, gs_blob_index(w, &s->blobs[i]));
    }
}

/* Tips of the previous state still worth hiding: a force-pushed or deleted
 * ref's old commit, while it exists (dangling, or kept by a reflog, it would
 * otherwise be walked again as new after a gc repacks it). A ref that moved
 * forward needs no old tip: its new one reaches it. */
static void keep_old_tips(walk *w, const ref_tip *tips, size_t ntips, fr_git_state *out)
{
    const fr_git_state *prev = w->opts->prev;
    if (!prev) return;
    fr_keymap targets; /* oid -> 1 + index of the tip */
    fr_keymap_init(&targets, GIT_OID_RAWSZ);
    for (size_t k = 0; k < ntips; k++)
        fr_keymap_put(&targets, tips[k].target.id, (uint32_t)k + 1, NULL);
    for (size_t i = 0; i < prev->ntips; i++) {
        git_oid old;
        if (git_oid_fromstr(&old, prev->oids[i]) || fr_keymap_get(&targets, old.id))
            continue;                                           /* still a tip */
        if (!w->odb || !git_odb_exists(w->odb, &old)) continue; /* gone: nothing to hide */
        int keep = 1;
        for (size_t k = 0; k < ntips && keep; k++) {
            if (strcmp(out->refs[k], prev->refs[i])) continue; /* out starts with the tips */
            if (git_graph_descendant_of(w->repo, &tips[k].target, &old) == 1)
                keep = 0; /* the ref moved forward */
        }
        git_error_clear();
        if (keep) fr_git_state_add(out, "tip", prev->refs[i], prev->oids[i]);
    }
    fr_keymap_release(&targets);
}

/* The commit a tip's target is or peels to (annotated tags), or 0. */
static int tip_commit(walk *w, const git_oid *target, git_oid *out)
{
    const uint32_t *idx = fr_keymap_get(&w->commits, target->id);
    if (idx && *idx != NONE) { /* walked: a commit */
        *out = *target;
        return 1;
    }
    git_object *o = NULL, *c = NULL;
    int ok = git_object_lookup(&o, w->repo, target, GIT_OBJECT_ANY) == 0 &&
             git_object_peel(&c, o, GIT_OBJECT_COMMIT) == 0;
    if (ok) *out = *git_object_id(c);
    git_object_free(c), git_object_free(o);
    git_error_clear();
    return ok;
}

/* The hide set the next scan starts from (gs_since_begin hides it instead of
 * every tip): commits no walked commit reachable from a tip has as a parent,
 * so no other tip's history holds them, once each. A full walk derives it
 * from every tip (their commits, peeled) and the parents of every commit it
 * walked from a tip; an incremental one from the set it hid (each member a
 * parent of a fresh commit is now in a new tip's history) and the tips that
 * moved to fresh commits no fresh commit has as a parent. A tip that did not
 * move, or moved to a commit walked before, is in the hidden history already.
 * An incremental walk that hid every tip (an older state) saves none: the
 * next scan hides every tip again. Commits of dangling walks are no tip's. */
static void next_hides(walk *w, const ref_tip *tips, size_t ntips, fr_git_state *out)
{
    struct gs_since *s = w->since;
    if (w->use_fresh && !s->hides_ok) return;
    uint32_t dangling = fr_strtab_intern(&w->strs, "(unreachable)", 13);
    fr_keymap parents, done;
    fr_keymap_init(&parents, GIT_OID_RAWSZ);
    fr_keymap_init(&done, GIT_OID_RAWSZ);
    for (size_t i = 0; i < w->nc; i++) {
        const commit_rec *r = &w->cv[i];
        if (r->ref == dangling) continue;
        for (uint32_t k = 0; k < r->nparents; k++)
            fr_keymap_put(&parents, w->parent_oids[r->parents_at + k].id, 0, NULL);
    }
    char hex[GIT_OID_HEXSZ + 1];
    for (size_t i = 0; w->use_fresh && i < s->nhidden; i++) {
        int added = 0;
        if (fr_keymap_get(&parents, s->hidden[i].id)) continue;
        fr_keymap_put(&done, s->hidden[i].id, 0, &added);
        if (!added) continue;
        git_oid_tostr(hex, sizeof hex, &s->hidden[i]);
        fr_git_state_add(out, "hide", "", hex);
    }
    for (size_t i = 0; i < ntips; i++) {
        git_oid c;
        int added = 0;
        if (w->use_fresh && gs_since_unchanged(w, &tips[i])) continue;
        if (!tip_commit(w, &tips[i].target, &c) || fr_keymap_get(&parents, c.id)) continue;
        if (w->use_fresh && !fr_keymap_get(&w->fresh, c.id)) continue; /* hidden already */
        fr_keymap_put(&done, c.id, 0, &added);
        if (!added) continue;
        git_oid_tostr(hex, sizeof hex, &c);
        fr_git_state_add(out, "hide", "", hex);
    }
    fr_keymap_release(&parents);
    fr_keymap_release(&done);
}

void gs_since_end(walk *w, const ref_tip *tips, size_t ntips, int complete)
{
    struct gs_since *s = w->since;
    if (!s) return;
    fr_git_state *out = w->opts->out;
    if (out && complete) {
        char hex[GIT_OID_HEXSZ + 1], name[65];
        for (size_t i = 0; i < ntips; i++) { /* a ref by its digest: names can hold secrets */
            git_oid_tostr(hex, sizeof hex, &tips[i].target);
            fr_git_state_add(out, "tip", tip_digest(w, &tips[i], name), hex);
        }
        keep_old_tips(w, tips, ntips, out);
        for (size_t i = 0; i < s->npacks; i++)
            fr_git_state_add(out, "pack", s->packs[i], "");
        next_hides(w, tips, ntips, out);
    }
    since_free(w);
}
