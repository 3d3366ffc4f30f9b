/*
 * refs.c: the repository's refs as tips of the walk, and peeling them.
 *
 *   ref ──resolve──> tip ──(tag: message kept, target)──> tip ... (32 hops)
 *                     ├── commit: history walk
 *                     ├── tree: its paths, no commit
 *                     └── blob: the ref is its path
 */
#include "sources/git/git_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local const char *head_branch; /* the branch HEAD points to, ranked first */

static int ref_rank(const char *name)
{
    if (!strcmp(name, "HEAD") || (head_branch && !strcmp(name, head_branch))) return 0;
    if (!strncmp(name, "refs/heads/", 11)) return 1;
    if (!strncmp(name, "refs/tags/", 10)) return 2;
    if (!strncmp(name, "refs/remotes/", 13)) return 3;
    return 4;
}

static int cmp_tip(const void *a, const void *b)
{
    const ref_tip *x = a, *y = b;
    int d = ref_rank(x->name) - ref_rank(y->name);
    return d ? d : strcmp(x->name, y->name);
}

void gs_tag_location(const git_tag *tag, const char *ref, tag_origin *o, fr_location *loc)
{
    const git_signature *tg = git_tag_tagger(tag);
    fr_buf_printf(&o->where, "<tag message: %s>", git_tag_name(tag));
    git_oid_tostr(o->target, sizeof o->target, git_tag_target_id(tag));
    if (tg) fr_time_iso((int64_t)tg->when.time, o->date);
    *loc = (fr_location){.kind = "git-message",
                         .path = o->where.p,
                         .commit = o->target,
                         .author_name = tg ? tg->name : NULL,
                         .author_email = tg ? tg->email : NULL,
                         .author_date = tg ? o->date : NULL,
                         .ref = ref};
}

/* Peels a ref's target, keeping annotated tag messages; walks what it reaches. */
void gs_walk_ref(walk *w, const ref_tip *t)
{
    uint32_t ref = fr_strtab_intern(&w->strs, t->name, strlen(t->name));
    /* The ref's name is shown with what it reaches: scanned once, like a path. */
    char rdigest[65], rkey[80];
    fr_sha256_hex(t->name, strlen(t->name), rdigest);
    snprintf(rkey, sizeof rkey, "gitref:%s", rdigest);
    fr_location rl = {.kind = "git-ref", .repo = w->path, .path = t->name};
    gs_add_text(w, &w->pathbuf, &w->path_item, &w->path_lines, "git-path", rkey, t->name,
                strlen(t->name), 1, &rl);
    git_oid oid = t->target;
    for (int hops = 0; hops < 32 && !w->stopped; hops++) {
        git_object *obj = NULL;
        if (git_object_lookup(&obj, w->repo, &oid, GIT_OBJECT_ANY)) {
            char hex[GIT_OID_HEXSZ + 1], why[512];
            git_oid_tostr(hex, sizeof hex, &oid);
            snprintf(why, sizeof why, "ref %s points to a missing or corrupt object %s: %s",
                     t->name, hex, gs_err());
            gs_note_problem(w, FR_ST_ERROR, t->name, why);
            return;
        }
        git_object_t type = git_object_type(obj);
        if (type == GIT_OBJECT_TAG) {
            const git_tag *tag = (const git_tag *)obj;
            int added = 0;
            fr_keymap_put(&w->tag_oids, oid.id, 0, &added);
            fr_buf msg = {0};
            if (added && w->odb && gs_raw_message(w->odb, &oid, &msg) == 0 && msg.len) {
                char hex[GIT_OID_HEXSZ + 1], key[80];
                git_oid_tostr(hex, sizeof hex, &oid);
                snprintf(key, sizeof key, "gittag:%s", hex);
                tag_origin o = {0};
                fr_location loc;
                gs_tag_location(tag, t->name, &o, &loc);
                gs_add_message(w, key, msg.p, msg.len, &loc);
                fr_buf_release(&o.where);
            }
            fr_buf_release(&msg);
            git_oid_cpy(&oid, git_tag_target_id(tag));
            git_object_free(obj);
            continue;
        }
        git_object_free(obj);
        if (type == GIT_OBJECT_COMMIT) {
            gs_walk_commits(w, &oid, ref);
        } else if (type == GIT_OBJECT_TREE) { /* a ref to a tree: paths, no commit */
            fr_buf path = {0};
            fr_buf_puts(&path, "");
            gs_walk_tree(w, &oid, &path, NONE, 0);
            fr_buf_release(&path);
        } else if (type == GIT_OBJECT_BLOB) { /* a ref to a blob: the ref is its path */
            fr_buf where = {0};
            fr_buf_printf(&where, "<ref %s>", t->name);
            gs_add_blob_location(w, gs_blob_index(w, &oid),
                                 fr_strtab_intern(&w->strs, where.p, where.len), NONE);
            fr_buf_release(&where);
        }
        return;
    }
}

void gs_collect_tips(walk *w, ref_tip **out, size_t *nout)
{
    ref_tip *tips = NULL;
    size_t n = 0;
    git_reference_iterator *it = NULL;
    git_reference *ref;
    if (git_reference_iterator_new(&it, w->repo)) {
        gs_note_problem(w, FR_ST_ERROR, "<refs>", gs_err());
        *out = NULL, *nout = 0;
        return;
    }
    int rc;
    while ((rc = git_reference_next(&ref, it)) == 0) {
        /* A direct ref has its target: git_reference_resolve would look it up
         * again by name (its loose file tried, the packed refs checked), for
         * each of a repository's hundreds of tags on every re-scan. */
        git_reference *resolved = NULL;
        const git_oid *target =
            git_reference_type(ref) == GIT_REFERENCE_DIRECT ? git_reference_target(ref)
            : git_reference_resolve(&resolved, ref) == 0    ? git_reference_target(resolved)
                                                            : NULL;
        if (target) {
            tips = fr_xrealloc(tips, (n + 1) * sizeof *tips);
            tips[n].name = fr_xstrdup(git_reference_name(ref));
            git_oid_cpy(&tips[n].target, target);
            n++;
        } else {
            char why[512];
            snprintf(why, sizeof why, "ref %s cannot be resolved: %s", git_reference_name(ref),
                     gs_err());
            gs_note_problem(w, FR_ST_ERROR, git_reference_name(ref), why);
        }
        git_reference_free(resolved);
        git_reference_free(ref);
    }
    if (rc != GIT_ITEROVER) gs_note_problem(w, FR_ST_ERROR, "<refs>", gs_err());
    git_reference_iterator_free(it);
    /* A detached HEAD is a tip of its own. */
    git_reference *head = NULL;
    if (git_repository_head_detached(w->repo) == 1 && git_repository_head(&head, w->repo) == 0 &&
        git_reference_target(head)) {
        tips = fr_xrealloc(tips, (n + 1) * sizeof *tips);
        tips[n].name = fr_xstrdup("HEAD");
        git_oid_cpy(&tips[n].target, git_reference_target(head));
        n++;
    }
    git_reference_free(head);
    git_reference *sym = NULL;
    char *branch = NULL;
    if (git_reference_lookup(&sym, w->repo, "HEAD") == 0 &&
        git_reference_type(sym) == GIT_REFERENCE_SYMBOLIC)
        branch = fr_xstrdup(git_reference_symbolic_target(sym));
    git_reference_free(sym);
    head_branch = branch;
    if (n > 1) qsort(tips, n, sizeof *tips, cmp_tip);
    head_branch = NULL;
    free(branch);
    *out = tips;
    *nout = n;
}
