/*
 * walk.c: fr_git_scan, the history walk of one repository (see git_int.h for
 * the whole sequence): commits in post-order from each tip, each commit's tree
 * once per (tree id, path), then the unreachable objects.
 *
 * One commit on the walk's explicit stack:
 *
 *   pushed ──(looked up, recorded)──> parents pushed one at a time
 *     │ missing: problem item                    │ all parents done
 *     v                                          v
 *   popped                       processed: tree walked, message kept, popped
 */
#include "sources/git/git_int.h"

#include <git2/sys/repository.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Records commit c; its message goes to msg_out (reset first). */
static uint32_t add_commit(walk *w, const git_commit *c, fr_buf *msg_out)
{
    if (w->nc == w->capc) {
        w->capc = w->capc ? w->capc * 2 : 1024;
        w->cv = fr_xrealloc(w->cv, w->capc * sizeof *w->cv);
    }
    commit_rec *r = &w->cv[w->nc];
    memset(r, 0, sizeof *r);
    git_oid_cpy(&r->oid, git_commit_id(c));
    git_oid_cpy(&r->tree, git_commit_tree_id(c));
    r->ref = NONE;
    const git_signature *a = git_commit_author(c), *cm = git_commit_committer(c);
    r->author_name = fr_strtab_intern(&w->strs, a->name, strlen(a->name));
    r->author_email = fr_strtab_intern(&w->strs, a->email, strlen(a->email));
    r->author_time = (int64_t)a->when.time;
    r->committer_time = (int64_t)cm->when.time;
    /* libgit2 keeps the message as a C string, cut at a NUL: when the object is
     * longer than header and message, the message is read again by length. */
    const char *msg = git_commit_message_raw(c), *hdr = git_commit_raw_header(c);
    size_t mlen = msg ? strlen(msg) : 0, size = 0;
    git_object_t type;
    fr_buf_reset(msg_out);
    if (!(w->odb && git_odb_read_header(&size, &type, w->odb, git_commit_id(c)) == 0 &&
          size != (hdr ? strlen(hdr) : 0) + 1 + mlen &&
          gs_raw_message(w->odb, git_commit_id(c), msg_out) == 0)) {
        fr_buf_reset(msg_out);
        fr_buf_append(msg_out, msg ? msg : "", mlen);
    }
    r->nparents = git_commit_parentcount(c);
    r->parents_at = (uint32_t)w->npo;
    for (unsigned i = 0; i < r->nparents; i++) {
        if (w->npo == w->cappo) {
            w->cappo = w->cappo ? w->cappo * 2 : 1024;
            w->parent_oids = fr_xrealloc(w->parent_oids, w->cappo * sizeof *w->parent_oids);
        }
        git_oid_cpy(&w->parent_oids[w->npo++], git_commit_parent_id(c, i));
    }
    return (uint32_t)w->nc++;
}

/* add_commit for a commit parsed from its bytes (trees.c): the same record. */
static uint32_t add_parsed_commit(walk *w, const git_oid *id, const fr_commit *pc)
{
    if (w->nc == w->capc) {
        w->capc = w->capc ? w->capc * 2 : 1024;
        w->cv = fr_xrealloc(w->cv, w->capc * sizeof *w->cv);
    }
    commit_rec *r = &w->cv[w->nc];
    memset(r, 0, sizeof *r);
    git_oid_cpy(&r->oid, id);
    memcpy(r->tree.id, pc->tree, GIT_OID_RAWSZ);
    r->ref = NONE;
    r->author_name = fr_strtab_intern(&w->strs, pc->author_name, pc->author_name_len);
    r->author_email = fr_strtab_intern(&w->strs, pc->author_email, pc->author_email_len);
    r->author_time = pc->author_time;
    r->committer_time = pc->committer_time;
    r->nparents = (uint32_t)pc->nparents;
    r->parents_at = (uint32_t)w->npo;
    for (unsigned i = 0; i < r->nparents; i++) {
        if (w->npo == w->cappo) {
            w->cappo = w->cappo ? w->cappo * 2 : 1024;
            w->parent_oids = fr_xrealloc(w->parent_oids, w->cappo * sizeof *w->parent_oids);
        }
        fr_commit_parent(pc, i, w->parent_oids[w->npo++].id);
    }
    return (uint32_t)w->nc++;
}

typedef struct {
    git_oid oid;
    uint32_t idx;
    uint32_t next_parent; /* NONE: parents not pushed yet */
} frame;

static void process_commit(walk *w, uint32_t c);

/* Hands the message of commit c (recorded, its ref set) to the batch of messages. */
static void add_commit_message(walk *w, uint32_t c, const char *text, size_t n)
{
    if (w->stopped || fr_interrupted) return;
    char hex[GIT_OID_HEXSZ + 1], ad[32], cd[32], key[80];
    fr_location loc = {.path = "<commit message>"};
    gs_commit_location(w, c, &loc, hex, ad, cd);
    snprintf(key, sizeof key, "gitmsg:%s", hex);
    gs_add_message(w, key, text, n, &loc);
}

/* The end of a shallow clone's history: recorded as skipped with the commit
 * it stops before (the clone holds no more), not as an incomplete scan. */
static void note_shallow(walk *w, const char *hex)
{
    char why[512];
    snprintf(why, sizeof why,
             "shallow clone: commit %s (beyond the shallow boundary) and its history are not in "
             "the repository",
             hex);
    fr_item *it = fr_item_new("git", hex);
    free((char *)it->locs[0].repo);
    it->locs[0].repo = fr_xstrdup(w->path);
    it->status = FR_ST_SKIPPED;
    it->reason = fr_xstrdup(why);
    w->stats->shallow = 1;
    if (fr_pipeline_submit(w->p, it)) w->stopped = 1;
}

/* Walks the history from tip (post-order) and processes each new commit as it
 * is emitted. With use_fresh, only fresh commits: a tip walked before is not
 * entered, a parent walked before is a boundary (its tree marked). */
void gs_walk_commits(walk *w, const git_oid *tip, uint32_t ref)
{
    if (fr_keymap_get(&w->commits, tip->id)) return;
    if (w->use_fresh && !fr_keymap_get(&w->fresh, tip->id)) return;
    frame *st = fr_xmalloc(64 * sizeof *st);
    size_t n = 0, cap = 64;
    fr_buf msg = {0}; /* a message read through libgit2 */
    st[n++] = (frame){*tip, NONE, NONE};
    while (n && !fr_interrupted) {
        frame *f = &st[n - 1];
        if (f->next_parent == NONE) {
            int added = 0;
            uint32_t *slot = fr_keymap_put(&w->commits, f->oid.id, NONE, &added);
            if (!added) { /* reached through another path meanwhile */
                n--;
                continue;
            }
            git_commit *c = NULL;
            fr_commit pc;
            int parsed = gs_commit_read(w, &f->oid, &pc) == FR_OK;
            if (!parsed && git_commit_lookup(&c, w->repo, &f->oid)) {
                char hex[GIT_OID_HEXSZ + 1], why[512];
                git_oid_tostr(hex, sizeof hex, &f->oid);
                if (w->shallow) {
                    note_shallow(w, hex);
                } else {
                    snprintf(why, sizeof why, "missing or corrupt commit %s: %s", hex, gs_err());
                    gs_note_problem(w, FR_ST_ERROR, hex, why);
                }
                n--;
                continue;
            }
            /* The ref whose walk reaches a commit first is the highest-priority
             * ref it is reachable from (tips are walked in priority order). */
            f->idx = *slot = parsed ? add_parsed_commit(w, &f->oid, &pc) : add_commit(w, c, &msg);
            w->cv[f->idx].ref = ref;
            /* The message is handed over now, not when the commit is processed:
             * a walk from a tip holds most of the history pending at once, and
             * keeping every message until then held them all (42 MB on git/git). */
            if (parsed)
                add_commit_message(w, f->idx, pc.message, pc.message_len);
            else
                add_commit_message(w, f->idx, msg.p ? msg.p : "", msg.len);
            git_commit_free(c);
            f->next_parent = 0;
        }
        const commit_rec *r = &w->cv[f->idx];
        if (f->next_parent < r->nparents) {
            git_oid parent = w->parent_oids[r->parents_at + f->next_parent++];
            if (w->use_fresh && !fr_keymap_get(&w->commits, parent.id) &&
                !fr_keymap_get(&w->fresh, parent.id)) {
                fr_keymap_put(&w->commits, parent.id, NONE, NULL);
                gs_since_boundary(w, &parent, &r->tree);
                continue;
            }
            if (!fr_keymap_get(&w->commits, parent.id)) {
                if (n == cap) {
                    cap *= 2;
                    st = fr_xrealloc(st, cap * sizeof *st);
                }
                st[n++] = (frame){parent, NONE, NONE};
            }
            continue;
        }
        /* Post-order: every parent is already processed, so this commit's tree
         * can be walked now — blobs reach the workers while the walk goes on. */
        w->stats->commits++;
        process_commit(w, f->idx);
        atomic_fetch_add(&fr_pipeline_progress(w->p)->commits, 1);
        n--;
    }
    fr_buf_release(&msg);
    free(st);
}

static void add_path_name(walk *w, uint32_t path_id, uint32_t commit)
{
    const char *path = fr_strtab_get(&w->strs, path_id);
    char hex[GIT_OID_HEXSZ + 1], ad[32], cd[32], key[80];
    fr_location loc = {.kind = "git-path", .repo = w->path, .path = path};
    gs_commit_location(w, commit, &loc, hex, ad, cd);
    char digest[65];
    fr_sha256_hex(path, strlen(path), digest);
    snprintf(key, sizeof key, "gitpath:%s", digest);
    gs_add_text(w, &w->pathbuf, &w->path_item, &w->path_lines, "git-path", key, path, strlen(path),
                1, &loc);
}

static uint64_t fnv_more(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The length of the common prefix of a[0..n) and b[0..n). */
static size_t common_prefix(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a + i, 8), memcpy(&y0, b + i, 8);
        memcpy(&x1, a + i + 8, 8), memcpy(&y1, b + i + 8, 8);
        if ((x0 ^ y0) | (x1 ^ y1)) break;
    }
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* Where entry i of tree t ends (the next one starts) and starts, in t->raw. */
static size_t entry_end(const gs_tree *t, size_t i)
{
    return (size_t)(t->e[i].id + GIT_OID_RAWSZ - (const unsigned char *)t->raw.p);
}

static size_t entry_start(const gs_tree *t, size_t i)
{
    return i ? entry_end(t, i - 1) : 0;
}

static void tree_reserve(gs_tree *t, size_t n)
{
    if (n <= t->cap) return;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < n)
        cap *= 2;
    t->e = fr_xrealloc(t->e, cap * sizeof *t->e);
    t->cap = cap;
}

/* Entry pe of tree from, moved to the same bytes of tree to, shift bytes
 * further (a wrapped size_t when they are earlier). */
static void entry_moved(fr_tree_entry *out, const fr_tree_entry *pe, const gs_tree *from,
                        const gs_tree *to, size_t shift)
{
    *out = *pe;
    size_t no = (size_t)(pe->name - from->raw.p) + shift;
    size_t io = (size_t)(pe->id - (const unsigned char *)from->raw.p) + shift;
    out->name = to->raw.p + no;
    out->id = (const unsigned char *)to->raw.p + io;
}

static void todo_add(gs_tree *t, size_t i)
{
    if (t->ntodo == t->captodo) {
        t->captodo = t->captodo ? t->captodo * 2 : 64;
        t->todo = fr_xrealloc(t->todo, t->captodo * sizeof *t->todo);
    }
    t->todo[t->ntodo++] = (uint32_t)i;
}

/* Parses tree t's entries and lists in t->todo those the walk visits: every
 * one but submodules, less those prev (the last tree walked at the same path,
 * or NULL) has too, same name and id, which were recorded then (pairs,
 * tree_paths) and would be skipped by those tables. Both trees are in git's
 * entry order, so one merge pass over prev finds them; and where the two
 * trees' bytes agree from a boundary of an entry in each, the entries prev
 * has there wholly inside the run are t's too (a parse from a boundary
 * depends on those bytes alone): copied from prev's, not parsed or compared.
 * Most trees differ from the last one at their path by an entry or two.
 * FR_OK, or FR_ECORRUPT when t is malformed (nothing to visit then). */
static int tree_parse_against(gs_tree *t, const gs_tree *prev)
{
    const unsigned char *pr = prev ? (const unsigned char *)prev->raw.p : NULL;
    const unsigned char *tr = (const unsigned char *)t->raw.p;
    size_t plen = prev ? prev->raw.len : 0, tlen = t->raw.len, pn = prev ? prev->n : 0;
    size_t p = 0, n = 0, pj = 0;
    t->n = t->ntodo = 0;
    while (p < tlen) {
        if (pj < pn) { /* t at p, prev at its entry pj: the same bytes? */
            size_t q = entry_start(prev, pj);
            size_t m = tlen - p < plen - q ? tlen - p : plen - q;
            size_t run = common_prefix(tr + p, pr + q, m);
            if (run >= entry_end(prev, pj) - q) {
                size_t lo = pj + 1, hi = pn; /* the first entry ending past the run */
                while (lo < hi) {
                    size_t md = lo + (hi - lo) / 2;
                    if (entry_end(prev, md) - q <= run)
                        lo = md + 1;
                    else
                        hi = md;
                }
                tree_reserve(t, n + (lo - pj));
                for (size_t i = pj; i < lo; i++)
                    entry_moved(&t->e[n++], &prev->e[i], prev, t, p - q);
                p += entry_end(prev, lo - 1) - q;
                pj = lo;
                continue;
            }
        }
        tree_reserve(t, n + 1);
        const unsigned char *next = fr_tree_parse_one(tr + p, tr + tlen, &t->e[n]);
        if (!next) {
            t->n = t->ntodo = 0;
            return FR_ECORRUPT;
        }
        p = (size_t)(next - tr);
        const fr_tree_entry *e = &t->e[n++];
        if (e->type == FR_TREE_COMMIT) continue; /* submodules */
        while (pj < pn && fr_tree_entry_cmp(&prev->e[pj], e) < 0)
            pj++;
        if (pj < pn && !fr_tree_entry_cmp(&prev->e[pj], e)) {
            int same = !memcmp(prev->e[pj].id, e->id, GIT_OID_RAWSZ);
            pj++; /* one entry of a name in a tree */
            if (same) continue;
        }
        todo_add(t, n - 1);
    }
    t->n = n;
    return FR_OK;
}

/* Walks a tree once per (tree id, path). For the entries, a (blob id, path hash)
 * set decides in one probe whether the pair is new; only new pairs pay for
 * interning the path. */
void gs_walk_tree(walk *w, const git_oid *tree_oid, fr_buf *path, uint32_t commit, int depth)
{
    unsigned char key[GIT_OID_RAWSZ + 8];
    uint64_t ph = fnv_more(1469598103934665603ull, path->p, path->len);
    memcpy(key, tree_oid->id, GIT_OID_RAWSZ);
    memcpy(key + GIT_OID_RAWSZ, &ph, 8);
    int added = 0;
    fr_keymap_put(&w->tree_paths, key, 0, &added);
    if (!added) return;
    fr_keymap_put(&w->tree_oids, tree_oid->id, 0, &added);
    if (added && !w->marking) w->stats->trees++;
    if (depth > MAX_TREE_DEPTH) {
        gs_note_problem(w, FR_ST_SKIPPED, path->p, "tree nested deeper than 512 levels");
        return;
    }
    char why[512];
    gs_tree *t = gs_tree_read(w, tree_oid, why, sizeof why);
    /* Every entry of the last tree walked at this path was recorded (pairs,
     * tree_paths): what it has too is not visited again (tree_parse_against). */
    size_t mi = (size_t)(ph ^ ph >> 29) % GS_TREE_MEMO;
    gs_tree *prev = w->tree_memo[mi].path_hash == ph ? w->tree_memo[mi].tree : NULL;
    if (t && tree_parse_against(t, prev)) {
        snprintf(why, sizeof why, "malformed tree entry");
        gs_tree_free(w, t);
        t = NULL;
    }
    if (!t) {
        if (w->marking) return; /* the scan that walked it recorded the problem */
        char hex[GIT_OID_HEXSZ + 1], msg[700];
        git_oid_tostr(hex, sizeof hex, tree_oid);
        snprintf(msg, sizeof msg, "missing or corrupt tree %s: %s", hex, why);
        gs_note_problem(w, w->partial_clone ? FR_ST_SKIPPED : FR_ST_ERROR,
                        path->len ? path->p : "<root tree>", msg);
        return;
    }
    if (prev) w->tree_memo[mi].tree = NULL; /* ours while subtrees use the memo */
    size_t base = path->len;
    uint64_t dir_hash = base ? fnv_more(ph, "/", 1) : ph;
    for (size_t k = 0; k < t->ntodo && !w->stopped; k++) {
        const fr_tree_entry *e = &t->e[t->todo[k]];
        const char *name = e->name;
        size_t nlen = e->nlen;
        const git_oid *eid = (const git_oid *)e->id;
        if (e->type == FR_TREE_BLOB) {
            uint64_t eh = fnv_more(dir_hash, name, nlen);
            memcpy(key, e->id, GIT_OID_RAWSZ);
            memcpy(key + GIT_OID_RAWSZ, &eh, 8);
            fr_keymap_put(&w->pairs, key, 0, &added);
            if (!added) continue;
        }
        if (base) fr_buf_append(path, "/", 1);
        fr_buf_append(path, name, nlen);
        if (e->type == FR_TREE_TREE) {
            gs_walk_tree(w, eid, path, commit, depth + 1);
        } else {
            size_t before = w->strs.n;
            uint32_t pid = fr_strtab_intern(&w->strs, path->p, path->len);
            /* marking: seen (the path too), not this walk's to record */
            if (!w->marking) gs_add_blob_location(w, gs_blob_index(w, eid), pid, commit);
            if (w->strs.n != before && !w->marking) add_path_name(w, pid, commit); /* new path */
        }
        path->len = base;
        path->p[base] = 0;
    }
    gs_tree_free(w, prev);
    if (w->stopped) {
        gs_tree_free(w, t);
        return;
    }
    gs_tree_free(w, w->tree_memo[mi].tree);
    w->tree_memo[mi].path_hash = ph;
    w->tree_memo[mi].tree = t;
}

/* ---------------------------------------------------------- unreachable --- */

typedef struct {
    walk *w;
    git_odb *odb;
    git_oid *commits, *blobs;
    size_t nc, nb;
} odb_scan;

static int on_object(const git_oid *oid, void *payload)
{
    odb_scan *o = payload;
    walk *w = o->w;
    if (fr_interrupted) return 1;
    if (fr_keymap_get(&w->commits, oid->id) || fr_keymap_get(&w->tree_oids, oid->id) ||
        fr_keymap_get(&w->blobs, oid->id) || fr_keymap_get(&w->tag_oids, oid->id))
        return 0;
    size_t len;
    git_object_t type;
    if (git_odb_read_header(&len, &type, o->odb, oid)) return 0; /* reported when read */
    if (type == GIT_OBJECT_COMMIT) {
        o->commits = fr_xrealloc(o->commits, (o->nc + 1) * sizeof *o->commits);
        git_oid_cpy(&o->commits[o->nc++], oid);
    } else if (type == GIT_OBJECT_BLOB) {
        o->blobs = fr_xrealloc(o->blobs, (o->nb + 1) * sizeof *o->blobs);
        git_oid_cpy(&o->blobs[o->nb++], oid);
    }
    return 0;
}

static void walk_release(walk *w)
{
    for (size_t i = 0; i < GS_TREE_MEMO; i++)
        gs_tree_free(w, w->tree_memo[i].tree);
    gs_trees_close(w->trees);
    fr_strtab_release(&w->strs);
    fr_keymap_release(&w->commits);
    fr_keymap_release(&w->tree_paths);
    fr_keymap_release(&w->tree_oids);
    fr_keymap_release(&w->tag_oids);
    fr_keymap_release(&w->blobs);
    fr_keymap_release(&w->pairs);
    fr_keymap_release(&w->fresh);
    free(w->cv), free(w->parent_oids), free(w->bv), free(w->lv);
    fr_buf_release(&w->msgs);
    git_odb_free(w->odb);
    fr_buf_release(&w->pathbuf);
    fr_item_free(w->msg_item);
    fr_item_free(w->path_item);
    git_repository_free(w->repo);
}

/* Walks the tree of commit c (its parents are done). */
static void process_commit(walk *w, uint32_t c)
{
    if (w->stopped || fr_interrupted) return;
    fr_buf path = {0};
    fr_buf_puts(&path, "");
    gs_walk_tree(w, &w->cv[c].tree, &path, c, 0);
    fr_buf_release(&path);
}

int fr_git_scan(const char *path, const fr_git_opts *opts, fr_pipeline *p, fr_git_stats *stats)
{
    gs_init();
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, opts->verify_hashes ? 1 : 0);
    walk w;
    memset(&w, 0, sizeof w);
    w.path = path;
    w.opts = opts;
    w.p = p;
    w.stats = stats;
    if (git_repository_open_ext(&w.repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) {
        fr_error_set("%s: not a git repository, or it cannot be opened: %s", path, gs_err());
        return FR_ERR;
    }
    fr_strtab_init(&w.strs);
    fr_keymap_init(&w.commits, GIT_OID_RAWSZ);
    fr_keymap_init(&w.tree_paths, GIT_OID_RAWSZ + 8);
    fr_keymap_init(&w.tree_oids, GIT_OID_RAWSZ);
    fr_keymap_init(&w.tag_oids, GIT_OID_RAWSZ);
    fr_keymap_init(&w.blobs, GIT_OID_RAWSZ);
    fr_keymap_init(&w.pairs, GIT_OID_RAWSZ + 8);
    fr_keymap_init(&w.fresh, GIT_OID_RAWSZ);
    w.shallow = git_repository_is_shallow(w.repo) == 1;
    if (git_repository_odb(&w.odb, w.repo)) w.odb = NULL;
    w.partial_clone = gs_is_partial_clone(w.repo);
    /* Repository contexts outlive this call: workers may still load its blobs. */
    repo_ctx *rc = fr_pipeline_keep(p, sizeof *rc);
    rc->path = fr_pipeline_keep_str(p, path);
    rc->partial_clone = w.partial_clone;
    pthread_mutex_init(&rc->mu, NULL);
    fr_keymap_init(&rc->withdrawn, GIT_OID_RAWSZ);
    fr_keymap_init(&rc->keep, GIT_OID_RAWSZ);
    w.rc = rc;
    /* What to walk: a range, only what is new since the last complete scan,
     * or everything (see since.c). */
    ref_tip *tips = NULL;
    size_t ntips = 0;
    int mode = GS_SINCE_FULL;
    if (opts->range) {
        tips = fr_xcalloc(1, sizeof *tips);
        if (gs_since_range(&w, tips)) {
            free(tips);
            walk_release(&w);
            return FR_ERR;
        }
        ntips = 1;
    } else {
        gs_collect_tips(&w, &tips, &ntips);
        mode = gs_since_begin(&w, tips, ntips);
    }
    stats->refs += ntips;
    /* Packs are checked and their unscanned blobs read ahead unless nothing
     * can be new in them (a range; an incremental scan with no new pack). A
     * walk that meets every blob wants every scanned one at hand; one that
     * meets few asks about each (gs_known). */
    w.known = opts->known;
    if (!w.known && opts->known_all && !opts->range && mode != GS_SINCE_INCREMENTAL)
        w.known = opts->known_all(opts->known_ctx);
    if (!opts->range && mode != GS_SINCE_INCREMENTAL) gs_scan_ahead(&w);
    /* A full walk reads every commit and tree: through the pack reader
     * (trees.c). A partial one reads few, not worth listing the packs for;
     * hashes to verify are libgit2's to check. */
    const char *reader = getenv("FERRET_PACK_READER"); /* "0": libgit2 reads everything */
    if (!opts->range && mode == GS_SINCE_FULL && !opts->verify_hashes &&
        !(reader && !strcmp(reader, "0")))
        w.trees = gs_trees_open(&w);
    if (rc->nbad) { /* from now on, every read goes around the corrupt packs */
        fr_buf od = {0};
        git_odb *odb = NULL;
        fr_buf_printf(&od, "%sobjects", git_repository_commondir(w.repo));
        if (gs_odb_open_checked(&odb, od.p, rc) || git_repository_set_odb(w.repo, odb)) {
            fr_error_set("%s: cannot open the object database: %s", path, gs_err());
            git_odb_free(odb);
            fr_buf_release(&od);
            gs_feed_join(&w);
            gs_since_end(&w, tips, ntips, 0);
            for (size_t i = 0; i < ntips; i++)
                free(tips[i].name);
            free(tips);
            walk_release(&w);
            return FR_ERR;
        }
        fr_buf_release(&od);
        git_odb_free(w.odb);
        w.odb = odb;
    }

    if (opts->range) /* the commits of the range, labelled with its end */
        gs_walk_commits(&w, &tips[0].target,
                        fr_strtab_intern(&w.strs, tips[0].name, strlen(tips[0].name)));
    for (size_t i = 0; i < ntips && !opts->range && !w.stopped && !fr_interrupted; i++)
        if (!gs_since_unchanged(&w, &tips[i])) gs_walk_ref(&w, &tips[i]);

    /* Unreachable objects: dangling commits first (they give provenance), then
     * blobs that nothing reaches. A partial walk looks only at the objects that
     * can be new (since.c); a range at none. */
    odb_scan o = {&w, NULL, NULL, NULL, 0, 0};
    gs_since_dangling(&w);
    if (!w.use_fresh && !w.stopped && !fr_interrupted && git_repository_odb(&o.odb, w.repo) == 0) {
        git_odb_foreach(o.odb, on_object, &o);
        uint32_t dangling = fr_strtab_intern(&w.strs, "(unreachable)", 13);
        for (size_t i = 0; i < o.nc && !fr_interrupted; i++)
            gs_walk_commits(&w, &o.commits[i], dangling);
        git_odb_free(o.odb);
    }
    gs_settle_ahead(&w);
    gs_flush_text(&w, &w.msgs, &w.msg_item, &w.msg_lines);
    gs_flush_text(&w, &w.pathbuf, &w.path_item, &w.path_lines);
    gs_flush_locations(&w);
    for (size_t i = 0; i < o.nb && !w.stopped && !fr_interrupted; i++) {
        if (fr_keymap_get(&w.blobs, o.blobs[i].id)) continue; /* reached by a dangling commit */
        gs_submit_blob(&w, gs_blob_index(&w, &o.blobs[i]));
    }
    gs_since_blobs(&w);
    free(o.commits);
    free(o.blobs);
    gs_since_end(&w, tips, ntips, !w.stopped && !fr_interrupted);
    for (size_t i = 0; i < ntips; i++)
        free(tips[i].name);
    free(tips);
    int stopped = w.stopped;
    walk_release(&w);
    if (getenv("FERRET_GIT_TRACE")) { /* scripts/bench-git-limit.sh: the walk's own cost */
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        fprintf(stderr, "ferret git walk: %s walk_cpu=%.2f\n", path,
                (double)ts.tv_sec + ts.tv_nsec / 1e9);
    }
    if (fr_interrupted) return FR_EINTR;
    if (stopped) {
        fr_error_set("the scan stopped early (the store failed)");
        return FR_ERR;
    }
    return FR_OK;
}
