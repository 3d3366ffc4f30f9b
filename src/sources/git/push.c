/*
 * push.c: the push hooks' walk (pre-receive on the server, pre-push on the
 * client): what a push adds, handed over one piece at a time
 * (fr_git_push_walk), and the hooks' git config.
 *
 *   updates ──> what the other side has: every ref (server) or the remote's
 *               tracking refs and old values (client) ──> hidden
 *           ──> tips ordered: a tip other pushed tips reach goes first
 *           ──> per tip: a fresh revwalk hiding the above and the tips before
 *               it (a commit belongs to the first ref that reaches it);
 *               the tip peeled (tag messages)
 *                 ├─ commit: revwalk, oldest first: message, blobs not in a parent
 *                 ├─ tree: every blob under it
 *                 └─ blob: itself
 *   an object that cannot be read: stats->incomplete, the first named in
 *   stats->problem (a blob is also handed over with data NULL)
 */
#include "sources/git/git_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest blob read whole only to scan its first max_size bytes, where its
 * backend cannot stream them (a packed blob). */
#define MAX_PREFIX_READ ((size_t)256 << 20)

typedef struct {
    git_repository *repo;
    fr_push_fn fn;
    void *ctx;
    fr_push_stats *stats;
    uint64_t max_size;
    git_odb *odb;
    fr_keymap seen_blobs, seen_tags;
    const char *ref;
    char commit_hex[GIT_OID_HEXSZ + 1];
    const git_signature *author;
    char author_date[32];
    int stop;
} push_walk;

static int open_from_env(git_repository **repo)
{
    gs_init();
    if (git_repository_open_ext(repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL)) {
        fr_error_set("cannot open the repository receiving the push: %s", gs_err());
        return FR_ERR;
    }
    return FR_OK;
}

/* The first thing that could not be read, for the hook's message. */
static void note_problem(fr_push_stats *st, const char *what, const git_oid *oid, const char *at)
{
    st->incomplete = 1;
    if (st->problem[0]) return;
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, oid);
    snprintf(st->problem, sizeof st->problem, "%s %.12s%s%s: %s", what, hex, at ? " at " : "",
             at ? at : "", gs_err());
}

int fr_git_hook_config(const char *const *keys, size_t n, char **values)
{
    git_repository *repo = NULL;
    git_config *cfg = NULL;
    for (size_t i = 0; i < n; i++)
        values[i] = NULL;
    if (open_from_env(&repo)) return FR_ERR;
    if (git_repository_config_snapshot(&cfg, repo) == 0) {
        for (size_t i = 0; i < n; i++) {
            const char *v = NULL;
            if (git_config_get_string(&v, cfg, keys[i]) == 0 && v) values[i] = fr_xstrdup(v);
        }
        git_config_free(cfg);
    }
    git_repository_free(repo);
    return FR_OK;
}

/* Reads the first want bytes of a blob too large to read whole: streamed
 * where the backend can (loose objects), else read whole when that stays
 * within MAX_PREFIX_READ. Returns FR_OK with the bytes in out. */
static int read_prefix(git_odb *odb, const git_oid *oid, size_t size, size_t want, fr_buf *out)
{
    git_odb_stream *st = NULL;
    size_t len = 0;
    git_object_t type;
    if (git_odb_open_rstream(&st, &len, &type, odb, oid) == 0) {
        fr_buf_reserve(out, want);
        int r = 1;
        while (out->len < want &&
               (r = git_odb_stream_read(st, out->p + out->len, want - out->len)) > 0)
            out->len += (size_t)r;
        out->p[out->len] = 0;
        git_odb_stream_free(st);
        if (r >= 0) return FR_OK;
        fr_buf_reset(out);
    }
    git_odb_object *obj = NULL;
    if (size > MAX_PREFIX_READ || git_odb_read(&obj, odb, oid)) return FR_ERR;
    size_t n = git_odb_object_size(obj);
    fr_buf_append(out, git_odb_object_data(obj), n < want ? n : want);
    git_odb_object_free(obj);
    return FR_OK;
}

static void push_blob(push_walk *pw, const git_oid *oid, const char *path)
{
    if (pw->stop) return;
    int added = 0;
    fr_keymap_put(&pw->seen_blobs, oid->id, 0, &added);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, oid);
    const git_signature *a = pw->author; /* NULL: a blob reached from a ref, not a commit */
    fr_push_piece pc = {"git",
                        path,
                        pw->commit_hex,
                        hex,
                        a ? a->name : NULL,
                        a ? a->email : NULL,
                        a ? pw->author_date : NULL,
                        pw->ref,
                        NULL,
                        0,
                        0,
                        !added};
    /* Content once per push; but every path it appears at is a name the server
     * shows (empty files all share one blob): the path is handed over each time. */
    if (!added) {
        if (pw->fn(pw->ctx, &pc)) pw->stop = 1;
        return;
    }
    git_odb_object *obj = NULL;
    fr_buf prefix = {0};
    size_t len = 0;
    git_object_t type;
    if (git_odb_read_header(&len, &type, pw->odb, oid) || type != GIT_OBJECT_BLOB) {
        note_problem(pw->stats, "blob", oid, path);
        len = 0;
    } else if (len <= pw->max_size && git_odb_read(&obj, pw->odb, oid) == 0) {
        pc.data = git_odb_object_data(obj);
        pc.len = git_odb_object_size(obj);
    } else if (len <= pw->max_size) {
        note_problem(pw->stats, "blob", oid, path);
    } else if (read_prefix(pw->odb, oid, len, (size_t)pw->max_size, &prefix) == FR_OK) {
        pc.data = (const unsigned char *)(prefix.p ? prefix.p : "");
        pc.len = prefix.len;
    }
    pc.size = len;
    pw->stats->bytes += pc.len;
    pw->stats->blobs++;
    if (pw->fn(pw->ctx, &pc)) pw->stop = 1;
    git_odb_object_free(obj);
    fr_buf_release(&prefix);
}

/* Blobs of tree t that no parent tree has at the same path; subtrees that a
 * parent has unchanged are skipped whole. */
static void push_tree(push_walk *pw, git_tree *t, git_tree **parents, size_t np, fr_buf *path,
                      int depth)
{
    size_t base = path->len;
    if (depth > MAX_TREE_DEPTH) { /* not scanned: the push cannot be accepted */
        pw->stats->incomplete = 1;
        return;
    }
    for (size_t i = 0; i < git_tree_entrycount(t) && !pw->stop; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(t, i);
        git_object_t type = git_tree_entry_type(e);
        if (type != GIT_OBJECT_BLOB && type != GIT_OBJECT_TREE) continue;
        const char *name = git_tree_entry_name(e);
        int same = 0;
        git_tree **sub = fr_xcalloc(np ? np : 1, sizeof *sub);
        size_t nsub = 0;
        for (size_t k = 0; k < np; k++) {
            const git_tree_entry *pe = parents[k] ? git_tree_entry_byname(parents[k], name) : NULL;
            if (!pe) continue;
            if (git_oid_equal(git_tree_entry_id(pe), git_tree_entry_id(e)))
                same = 1;
            else if (type == GIT_OBJECT_TREE && git_tree_entry_type(pe) == GIT_OBJECT_TREE &&
                     git_tree_lookup(&sub[nsub], pw->repo, git_tree_entry_id(pe)) == 0)
                nsub++;
        }
        if (!same) {
            if (base) fr_buf_append(path, "/", 1);
            fr_buf_puts(path, name);
            if (type == GIT_OBJECT_BLOB) {
                push_blob(pw, git_tree_entry_id(e), path->p);
            } else {
                git_tree *child = NULL;
                if (git_tree_lookup(&child, pw->repo, git_tree_entry_id(e)) == 0) {
                    push_tree(pw, child, sub, nsub, path, depth + 1);
                    git_tree_free(child);
                } else {
                    note_problem(pw->stats, "tree", git_tree_entry_id(e), path->p);
                }
            }
            path->len = base;
            path->p[base] = 0;
        }
        for (size_t k = 0; k < nsub; k++)
            git_tree_free(sub[k]);
        free(sub);
    }
}

/* A pushed tip, peeled one annotated tag at a time (each tag's message is
 * scanned, once per push): a commit joins the history walk; a tree has every
 * blob under it scanned; a blob is scanned itself. Whatever its type, nothing
 * a push makes reachable goes unscanned. Takes obj. */
static int push_tip(push_walk *pw, const fr_push_update *u, git_object *obj, git_revwalk *rw,
                    size_t *pushed)
{
    int rc = FR_OK;
    pw->ref = u->ref;
    pw->author = NULL;
    pw->commit_hex[0] = 0;
    for (int hops = 0; obj && git_object_type(obj) == GIT_OBJECT_TAG && !pw->stop; hops++) {
        const git_tag *tag = (const git_tag *)obj;
        int added = 0;
        fr_keymap_put(&pw->seen_tags, git_object_id(obj)->id, 0, &added);
        if (added) {
            tag_origin o = {0};
            fr_location loc;
            fr_buf msg = {0};
            gs_tag_location(tag, u->ref, &o, &loc);
            if (gs_raw_message(pw->odb, git_object_id(obj), &msg)) pw->stats->incomplete = 1;
            fr_push_piece pc = {loc.kind,
                                loc.path,
                                loc.commit,
                                NULL,
                                loc.author_name,
                                loc.author_email,
                                loc.author_date,
                                loc.ref,
                                (const unsigned char *)(msg.p ? msg.p : ""),
                                msg.len,
                                msg.len,
                                0};
            if (pw->fn(pw->ctx, &pc)) pw->stop = 1;
            fr_buf_release(&msg);
            fr_buf_release(&o.where);
        }
        git_object *target = NULL;
        if (hops == MAX_TREE_DEPTH || git_tag_target(&target, tag)) {
            fr_error_set("%s: the target of tag %s cannot be read: %s", u->ref, git_tag_name(tag),
                         hops == MAX_TREE_DEPTH ? "too many tags" : gs_err());
            rc = FR_ERR;
        }
        git_object_free(obj);
        obj = target;
    }
    if (!obj || pw->stop) {
        git_object_free(obj);
        return rc;
    }
    const git_oid *id = git_object_id(obj);
    fr_buf where = {0};
    fr_buf_printf(&where, "<ref %s>", u->ref);
    switch (git_object_type(obj)) {
    case GIT_OBJECT_COMMIT:
        if (git_revwalk_push(rw, id)) {
            fr_error_set("%s: pushed commit %s cannot be walked: %s", u->ref, u->new_oid, gs_err());
            rc = FR_ERR;
            break;
        }
        (*pushed)++;
        break;
    case GIT_OBJECT_TREE: /* paths inside the tree, under the ref's name */
        push_tree(pw, (git_tree *)obj, NULL, 0, &where, 0);
        break;
    case GIT_OBJECT_BLOB: /* the ref is the blob's only name */
        push_blob(pw, id, where.p);
        break;
    default:
        fr_error_set("%s: pushed object of unexpected type", u->ref);
        rc = FR_ERR;
    }
    fr_buf_release(&where);
    git_object_free(obj);
    return rc;
}

static int is_zero_oid(const char *hex)
{
    return strspn(hex, "0") == strlen(hex);
}

/* A commit the other side has, and its time (the walk is given them newest
 * first: libgit2 limits a walk from its inputs in the order given, and an
 * input list out of date order makes it read far more of the history:
 * 2,125 commits instead of 69 for a push on git/git's nine remote branches). */
typedef struct {
    git_oid id;
    int64_t time;
} have_commit;

static int cmp_have(const void *a, const void *b)
{
    const have_commit *x = a, *y = b;
    if (x->time != y->time) return x->time > y->time ? -1 : 1;
    return git_oid_cmp(&x->id, &y->id);
}

/* What the receiving side has: the commits of every ref (the server), or of
 * the refs under have_prefix and the updates' old values (a client). */
static void collect_have(push_walk *pw, const fr_push_update *u, size_t n,
                         const fr_push_walk_opts *o, have_commit **out, size_t *nout)
{
    git_reference_iterator *it = NULL;
    git_reference *ref;
    fr_buf glob = {0};
    if (o->have_prefix) fr_buf_printf(&glob, "%s*", o->have_prefix);
    int rc = o->have_all_refs ? git_reference_iterator_new(&it, pw->repo)
             : o->have_prefix ? git_reference_iterator_glob_new(&it, pw->repo, glob.p)
                              : -1;
    fr_buf_release(&glob);
    if (rc == 0) {
        while (git_reference_next(&ref, it) == 0) {
            git_object *peeled = NULL;
            if (git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) == 0) {
                *out = fr_xrealloc(*out, (*nout + 1) * sizeof **out);
                git_oid_cpy(&(*out)[*nout].id, git_object_id(peeled));
                (*out)[(*nout)++].time = git_commit_time((git_commit *)peeled);
            }
            git_object_free(peeled);
            git_reference_free(ref);
        }
        git_reference_iterator_free(it);
    }
    /* The remote's current values, where this side has them (a force push's
     * old commits are the remote's; a value not known here hides nothing). */
    for (size_t i = 0; !o->have_all_refs && i < n; i++) {
        git_oid oid;
        git_object *obj = NULL, *peeled = NULL;
        if (is_zero_oid(u[i].old_oid) || git_oid_fromstr(&oid, u[i].old_oid) ||
            git_object_lookup(&obj, pw->repo, &oid, GIT_OBJECT_ANY) ||
            git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT)) {
            git_object_free(obj);
            continue;
        }
        *out = fr_xrealloc(*out, (*nout + 1) * sizeof **out);
        git_oid_cpy(&(*out)[*nout].id, git_object_id(peeled));
        (*out)[(*nout)++].time = git_commit_time((git_commit *)peeled);
        git_object_free(peeled);
        git_object_free(obj);
    }
}

/* One pushed update, in walk order. */
typedef struct {
    size_t i;       /* index in the updates */
    git_oid commit; /* its tip peeled to a commit */
    int has_commit;
    size_t below; /* how many other pushed tips it reaches */
} tip_order;

static int cmp_order(const void *a, const void *b)
{
    const tip_order *x = a, *y = b;
    if (x->below != y->below) return x->below < y->below ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* A commit's message and the blobs it introduces, attributed to pw->ref. */
static void push_commit(push_walk *pw, const git_oid *c, fr_buf *path)
{
    git_commit *cm = NULL;
    git_tree *tree = NULL;
    if (git_commit_lookup(&cm, pw->repo, c) || git_commit_tree(&tree, cm)) {
        note_problem(pw->stats, "commit", c, NULL);
        git_commit_free(cm);
        return;
    }
    pw->stats->commits++;
    git_oid_tostr(pw->commit_hex, sizeof pw->commit_hex, c);
    pw->author = git_commit_author(cm);
    fr_time_iso((int64_t)pw->author->when.time, pw->author_date);
    fr_buf msg = {0};
    if (gs_raw_message(pw->odb, c, &msg)) note_problem(pw->stats, "commit", c, NULL);
    fr_push_piece mp = {"git-message",
                        "<commit message>",
                        pw->commit_hex,
                        NULL,
                        pw->author->name,
                        pw->author->email,
                        pw->author_date,
                        pw->ref,
                        (const unsigned char *)(msg.p ? msg.p : ""),
                        msg.len,
                        msg.len,
                        0};
    if (pw->fn(pw->ctx, &mp)) pw->stop = 1;
    fr_buf_release(&msg);
    unsigned np = git_commit_parentcount(cm);
    git_tree **pt = fr_xcalloc(np ? np : 1, sizeof *pt);
    for (unsigned k = 0; k < np; k++) {
        git_commit *parent = NULL;
        if (git_commit_parent(&parent, cm, k) || git_commit_tree(&pt[k], parent))
            note_problem(pw->stats, "parent of commit", c, NULL);
        git_commit_free(parent);
    }
    fr_buf_reset(path);
    fr_buf_puts(path, "");
    if (!pw->stop) push_tree(pw, tree, pt, np, path, 0);
    for (unsigned k = 0; k < np; k++)
        git_tree_free(pt[k]);
    free(pt);
    git_tree_free(tree);
    git_commit_free(cm);
}

int fr_git_push_walk(const fr_push_update *u, size_t n, const fr_push_walk_opts *o, fr_push_fn fn,
                     void *ctx, fr_push_stats *stats)
{
    push_walk pw = {0};
    pw.fn = fn, pw.ctx = ctx, pw.stats = stats, pw.max_size = o->max_size;
    if (open_from_env(&pw.repo)) return FR_ERR;
    /* Objects are not re-hashed on every read (libgit2's default, 18% of a
     * large push's CPU): git hashed them as it received them (index-pack,
     * unpack-objects), and damage that breaks an object's compression or
     * delta still makes it unreadable, which rejects the push. */
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
    fr_keymap_init(&pw.seen_blobs, GIT_OID_RAWSZ);
    fr_keymap_init(&pw.seen_tags, GIT_OID_RAWSZ);
    git_revwalk *rw = NULL;
    have_commit *have = NULL;
    size_t nhave = 0, nord = 0;
    tip_order *ord = fr_xcalloc(n ? n : 1, sizeof *ord);
    fr_buf path = {0};
    int rc = FR_OK;
    if (git_repository_odb(&pw.odb, pw.repo)) {
        fr_error_set("cannot open the object database: %s", gs_err());
        rc = FR_ERR;
        goto done;
    }
    if (git_revwalk_new(&rw, pw.repo)) {
        fr_error_set("revwalk: %s", gs_err());
        rc = FR_ERR;
        goto done;
    }
    collect_have(&pw, u, n, o, &have, &nhave);
    /* Many refs share a commit (HEAD and its branch, a tag and a branch):
     * each is hidden once. */
    if (nhave) qsort(have, nhave, sizeof *have, cmp_have); /* (have is NULL when empty) */
    size_t uniq = 0;
    for (size_t h = 0; h < nhave; h++)
        if (!uniq || !git_oid_equal(&have[uniq - 1].id, &have[h].id)) have[uniq++] = have[h];
    nhave = uniq;
    /* Each ref is walked on its own, hiding what the other side has and the
     * tips walked before it: a commit belongs to the first ref that reaches
     * it, a ref whose tip other pushed tips reach taken first (a branch and a
     * branch built on it each keep their own commits, in any input order). */
    for (size_t i = 0; i < n; i++) {
        if (is_zero_oid(u[i].new_oid)) continue; /* a deletion adds nothing */
        git_oid oid;
        git_object *obj = NULL, *peeled = NULL;
        if (git_oid_fromstr(&oid, u[i].new_oid) ||
            git_object_lookup(&obj, pw.repo, &oid, GIT_OBJECT_ANY)) {
            fr_error_set("%s: pushed object %s cannot be read: %s", u[i].ref, u[i].new_oid,
                         gs_err());
            rc = FR_ERR;
            goto done;
        }
        ord[nord] = (tip_order){.i = i};
        if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) == 0) {
            git_oid_cpy(&ord[nord].commit, git_object_id(peeled));
            ord[nord].has_commit = 1;
        }
        git_object_free(peeled);
        git_object_free(obj);
        nord++;
    }
    for (size_t a = 0; a < nord; a++)
        for (size_t b = 0; b < nord; b++)
            if (a != b && ord[a].has_commit && ord[b].has_commit &&
                !git_oid_equal(&ord[a].commit, &ord[b].commit) &&
                git_graph_descendant_of(pw.repo, &ord[a].commit, &ord[b].commit) == 1)
                ord[a].below++;
    qsort(ord, nord, sizeof *ord, cmp_order);
    for (size_t k = 0; k < nord && rc == FR_OK && !pw.stop; k++) {
        const fr_push_update *up = &u[ord[k].i];
        git_oid oid;
        git_object *obj = NULL;
        if (git_oid_fromstr(&oid, up->new_oid) ||
            git_object_lookup(&obj, pw.repo, &oid, GIT_OBJECT_ANY)) {
            fr_error_set("%s: pushed object %s cannot be read: %s", up->ref, up->new_oid, gs_err());
            rc = FR_ERR;
            break;
        }
        git_revwalk_reset(rw);
        git_revwalk_sorting(rw, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
        size_t pushed = 0;
        if (push_tip(&pw, up, obj, rw, &pushed)) rc = FR_ERR; /* the newest, as a rule */
        for (size_t h = 0; h < nhave; h++)
            git_revwalk_hide(rw, &have[h].id);
        for (size_t j = 0; j < k; j++)
            if (ord[j].has_commit) git_revwalk_hide(rw, &ord[j].commit);
        pw.ref = up->ref;
        pw.author = NULL;
        git_oid c;
        int wr = 0;
        while (rc == FR_OK && pushed && !pw.stop && (wr = git_revwalk_next(&c, rw)) == 0)
            push_commit(&pw, &c, &path);
        /* A walk that stops on an error (a commit libgit2 cannot parse) has not
         * seen what it hid behind it: the push is incomplete, never clean. */
        if (rc == FR_OK && pushed && !pw.stop && wr != GIT_ITEROVER) {
            fr_error_set("%s: the pushed history cannot be walked: %s", up->ref, gs_err());
            if (stats) stats->incomplete = 1;
            rc = FR_ERR;
        }
    }
done:
    fr_buf_release(&path);
    free(ord);
    free(have);
    git_revwalk_free(rw);
    git_odb_free(pw.odb);
    fr_keymap_release(&pw.seen_blobs);
    fr_keymap_release(&pw.seen_tags);
    git_repository_free(pw.repo);
    return rc;
}
