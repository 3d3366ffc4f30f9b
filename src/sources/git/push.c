/*
 * push.c: the pre-receive hook's walk: what a push adds, handed over one piece
 * at a time (fr_git_push_walk), and the hook's git config.
 *
 *   updates ──> existing refs hidden ──> each new tip peeled (tag messages)
 *                                          ├─ commit: revwalk, oldest first:
 *                                          │    message, blobs not in a parent
 *                                          ├─ tree: every blob under it
 *                                          └─ blob: itself
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
        pw->stats->incomplete = 1;
        len = 0;
    } else if (len <= pw->max_size && git_odb_read(&obj, pw->odb, oid) == 0) {
        pc.data = git_odb_object_data(obj);
        pc.len = git_odb_object_size(obj);
    } else if (len <= pw->max_size) {
        pw->stats->incomplete = 1;
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
                    pw->stats->incomplete = 1;
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
        git_revwalk_push(rw, id);
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

int fr_git_push_walk(const fr_push_update *u, size_t n, uint64_t max_size, fr_push_fn fn, void *ctx,
                     fr_push_stats *stats)
{
    push_walk pw = {0};
    pw.fn = fn, pw.ctx = ctx, pw.stats = stats, pw.max_size = max_size;
    if (open_from_env(&pw.repo)) return FR_ERR;
    fr_keymap_init(&pw.seen_blobs, GIT_OID_RAWSZ);
    fr_keymap_init(&pw.seen_tags, GIT_OID_RAWSZ);
    git_revwalk *rw = NULL;
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
    git_revwalk_sorting(rw, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
    /* What the repository already has: every existing ref. */
    git_reference_iterator *it = NULL;
    git_reference *ref;
    if (git_reference_iterator_new(&it, pw.repo) == 0) {
        while (git_reference_next(&ref, it) == 0) {
            git_object *peeled = NULL;
            if (git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) == 0)
                git_revwalk_hide(rw, git_object_id(peeled));
            git_object_free(peeled);
            git_reference_free(ref);
        }
        git_reference_iterator_free(it);
    }
    size_t pushed = 0;
    for (size_t i = 0; i < n && rc == FR_OK; i++) {
        if (is_zero_oid(u[i].new_oid)) continue; /* a deletion adds nothing */
        git_oid oid;
        git_object *obj = NULL;
        if (git_oid_fromstr(&oid, u[i].new_oid) ||
            git_object_lookup(&obj, pw.repo, &oid, GIT_OBJECT_ANY)) {
            fr_error_set("%s: pushed object %s cannot be read: %s", u[i].ref, u[i].new_oid,
                         gs_err());
            rc = FR_ERR;
            break;
        }
        if (push_tip(&pw, &u[i], obj, rw, &pushed)) rc = FR_ERR;
    }
    git_oid c;
    fr_buf path = {0};
    while (rc == FR_OK && pushed && !pw.stop && git_revwalk_next(&c, rw) == 0) {
        git_commit *cm = NULL;
        git_tree *tree = NULL;
        if (git_commit_lookup(&cm, pw.repo, &c) || git_commit_tree(&tree, cm)) {
            stats->incomplete = 1;
            git_commit_free(cm);
            continue;
        }
        stats->commits++;
        git_oid_tostr(pw.commit_hex, sizeof pw.commit_hex, &c);
        pw.author = git_commit_author(cm);
        fr_time_iso((int64_t)pw.author->when.time, pw.author_date);
        pw.ref = NULL;
        for (size_t i = 0; i < n && !pw.ref; i++)
            if (!is_zero_oid(u[i].new_oid)) pw.ref = u[i].ref;
        fr_buf msg = {0};
        if (gs_raw_message(pw.odb, &c, &msg)) stats->incomplete = 1;
        fr_push_piece mp = {"git-message",
                            "<commit message>",
                            pw.commit_hex,
                            NULL,
                            pw.author->name,
                            pw.author->email,
                            pw.author_date,
                            pw.ref,
                            (const unsigned char *)(msg.p ? msg.p : ""),
                            msg.len,
                            msg.len,
                            0};
        if (fn(ctx, &mp)) pw.stop = 1;
        fr_buf_release(&msg);
        unsigned np = git_commit_parentcount(cm);
        git_tree **pt = fr_xcalloc(np ? np : 1, sizeof *pt);
        for (unsigned k = 0; k < np; k++) {
            git_commit *parent = NULL;
            if (git_commit_parent(&parent, cm, k) == 0)
                git_commit_tree(&pt[k], parent);
            else
                stats->incomplete = 1;
            git_commit_free(parent);
        }
        fr_buf_reset(&path);
        fr_buf_puts(&path, "");
        push_tree(&pw, tree, pt, np, &path, 0);
        for (unsigned k = 0; k < np; k++)
            git_tree_free(pt[k]);
        free(pt);
        git_tree_free(tree);
        git_commit_free(cm);
    }
    fr_buf_release(&path);
done:
    git_revwalk_free(rw);
    git_odb_free(pw.odb);
    fr_keymap_release(&pw.seen_blobs);
    fr_keymap_release(&pw.seen_tags);
    git_repository_free(pw.repo);
    return rc;
}
