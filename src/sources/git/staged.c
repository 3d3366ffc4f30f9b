/*
 * staged.c: the pre-commit hook's walk: what committing the index would add
 * (fr_git_staged_walk), handed over one file at a time.
 *
 *   HEAD's tree (none on an unborn branch) ──diff──> the index (GIT_INDEX_FILE
 *   honoured: 'git commit -a' and 'git commit PATH' use a temporary one)
 *     exact renames and copies paired, then per added / modified / renamed /
 *     copied / type-changed blob (never a submodule):
 *       - a new path (not modified in place): handed over as a name;
 *       - the blob, unless the same blob was at the old path (a pure rename):
 *         read from the object database (the staged bytes, not the work
 *         tree's: a partly staged file is scanned as it will be committed);
 *       - for a modified text file, the lines the change adds (the findings
 *         elsewhere in the file were committed before); everything otherwise
 *         (a new file, a binary file).
 */
#include "sources/git/git_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t (*v)[2];
    size_t n;
} ranges;

static int on_hunk(const git_diff_delta *d, const git_diff_hunk *h, void *payload)
{
    (void)d;
    ranges *r = payload;
    if (h->new_lines == 0) return 0; /* lines removed only */
    r->v = fr_xrealloc(r->v, (r->n + 1) * sizeof *r->v);
    r->v[r->n][0] = (size_t)h->new_start;
    r->v[r->n][1] = (size_t)h->new_start + h->new_lines - 1;
    r->n++;
    return 0;
}

/* Paths where the index differs from HEAD's tree (a path naming a directory
 * stands for all of it: added, removed, or a file there on the other side). */
typedef struct {
    char **v;
    size_t n;
} pathlist;

static void add_path(pathlist *pl, const char *dir, size_t dl, const char *name, size_t nl)
{
    pl->v = fr_xrealloc(pl->v, (pl->n + 1) * sizeof *pl->v);
    char *s = fr_xmalloc(dl + nl + 1);
    memcpy(s, dir, dl);
    memcpy(s + dl, name, nl);
    s[dl + nl] = 0;
    pl->v[pl->n++] = s;
}

/* The tree id of every directory of the index, by path ("" the root). */
typedef struct {
    char *path;
    git_oid id;
} dir_id;
typedef struct {
    dir_id *v;
    size_t n;
} dir_ids;

/* Appends a tree entry: "MODE NAME\0" and the raw id (mode in octal; a
 * directory's is 40000). */
static void tree_entry(fr_buf *t, uint32_t mode, const char *name, size_t nl, const git_oid *id)
{
    char m[12];
    size_t k = sizeof m;
    do
        m[--k] = (char)('0' + (mode & 7));
    while ((mode >>= 3) && k);
    fr_buf_append(t, m + k, sizeof m - k);
    fr_buf_append(t, " ", 1);
    fr_buf_append(t, name, nl);
    fr_buf_append(t, "", 1);
    fr_buf_append(t, id->id, GIT_OID_RAWSZ);
}

/* Hashes, as git would write it, the tree of the index entries from *i on
 * whose paths start with p (a directory's path and slash, or "" for the
 * root), recording every directory's id in out. */
static void hash_dir(git_index *idx, size_t *i, size_t n, fr_buf *p, dir_ids *out, git_oid *id)
{
    fr_buf tree = {0};
    size_t pl = p->len;
    while (*i < n) {
        const git_index_entry *e = git_index_get_byindex(idx, *i);
        if (pl && strncmp(e->path, p->p, pl)) break; /* past this directory */
        const char *rest = e->path + pl, *slash = strchr(rest, '/');
        if (!slash) {
            tree_entry(&tree, e->mode, rest, strlen(rest), &e->id);
            (*i)++;
            continue;
        }
        git_oid sub;
        fr_buf_append(p, rest, (size_t)(slash - rest) + 1);
        hash_dir(idx, i, n, p, out, &sub);
        p->len = pl;
        p->p[pl] = 0;
        tree_entry(&tree, GIT_FILEMODE_TREE, rest, (size_t)(slash - rest), &sub);
    }
    git_odb_hash(id, tree.p ? tree.p : "", tree.len, GIT_OBJECT_TREE);
    fr_buf_release(&tree);
    out->v = fr_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
    out->v[out->n].path = fr_xstrndup(pl ? p->p : "", pl ? pl - 1 : 0);
    out->v[out->n++].id = *id;
}

static int cmp_dir_id(const void *a, const void *b)
{
    return strcmp(((const dir_id *)a)->path, ((const dir_id *)b)->path);
}

static const git_oid *dir_lookup(const dir_ids *d, const char *path)
{
    dir_id key = {(char *)path, {{0}}};
    const dir_id *f = bsearch(&key, d->v, d->n, sizeof *d->v, cmp_dir_id);
    return f ? &f->id : NULL;
}

/* Whether the index holds path p[0..] + name as a file or as a directory. */
static int index_has(git_index *idx, fr_buf *p, const char *name)
{
    size_t pl = p->len, pos;
    fr_buf_puts(p, name);
    int has = git_index_get_bypath(idx, p->p, 0) != NULL;
    if (!has) {
        fr_buf_puts(p, "/");
        has = git_index_find_prefix(&pos, idx, p->p) == 0;
    }
    p->len = pl;
    p->p[pl] = 0;
    return has;
}

/* Adds the paths under directory p (its path and slash, or "") where the
 * index differs from head, HEAD's tree of that directory. Only HEAD's trees
 * whose ids differ from the index's are read. */
static int compare_dir(git_repository *repo, git_index *idx, const git_tree *head, fr_buf *p,
                       const dir_ids *ids, pathlist *out)
{
    size_t pl = p->len, n = git_index_entrycount(idx), i = 0;
    if (pl && git_index_find_prefix(&i, idx, p->p)) i = n;
    while (i < n) {
        const git_index_entry *e = git_index_get_byindex(idx, i);
        if (pl && strncmp(e->path, p->p, pl)) break;
        const char *rest = e->path + pl, *slash = strchr(rest, '/');
        size_t nl = slash ? (size_t)(slash - rest) : strlen(rest);
        char *name = fr_xstrndup(rest, nl);
        const git_tree_entry *he = git_tree_entry_byname(head, name);
        const git_oid *id = &e->id;
        uint32_t mode = e->mode;
        i++;
        if (slash) { /* a directory: its id, and past its entries */
            fr_buf_append(p, rest, nl);
            id = dir_lookup(ids, p->p);
            fr_buf_puts(p, "/");
            while (i < n && !strncmp(git_index_get_byindex(idx, i)->path, p->p, p->len))
                i++;
            mode = GIT_FILEMODE_TREE;
        }
        int rc = 0;
        if (!id) {
            rc = -1;
        } else if (he && (uint32_t)git_tree_entry_filemode(he) == mode &&
                   git_oid_equal(git_tree_entry_id(he), id)) {
            /* unchanged */
        } else if (he && slash && git_tree_entry_type(he) == GIT_OBJECT_TREE) {
            git_tree *sub = NULL;
            rc = git_tree_lookup(&sub, repo, git_tree_entry_id(he)) ||
                         compare_dir(repo, idx, sub, p, ids, out)
                     ? -1
                     : 0;
            git_tree_free(sub);
        } else {
            add_path(out, p->p, pl, name, nl);
        }
        p->len = pl;
        p->p[pl] = 0;
        free(name);
        if (rc) return -1;
    }
    /* what HEAD has here and the index no longer has (a rename's source) */
    size_t nh = git_tree_entrycount(head);
    for (size_t k = 0; k < nh; k++) {
        const char *name = git_tree_entry_name(git_tree_entry_byindex(head, k));
        if (!index_has(idx, p, name)) add_path(out, p->p, pl, name, strlen(name));
    }
    return 0;
}

/* The paths where the index differs from HEAD's tree, found without reading
 * every tree of HEAD (git_diff_tree_to_index does: most of a pre-commit
 * hook's git time in a large repository): the index's trees are hashed as
 * 'git commit' would write them (nothing is written), and only HEAD's trees
 * whose ids differ are read. Returns 0, or -1 when the index cannot be
 * compared so (conflicts, intent-to-add entries): the caller diffs all. */
static int staged_paths(git_repository *repo, git_index *idx, const git_tree *head, pathlist *out)
{
    if (git_index_has_conflicts(idx)) return -1;
    size_t n = git_index_entrycount(idx), i = 0;
    for (size_t k = 0; k < n; k++)
        if (git_index_get_byindex(idx, k)->flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD)
            return -1;
    dir_ids ids = {0};
    fr_buf p = {0};
    git_oid root;
    fr_buf_puts(&p, "");
    hash_dir(idx, &i, n, &p, &ids, &root);
    if (ids.n > 1) qsort(ids.v, ids.n, sizeof *ids.v, cmp_dir_id);
    int rc =
        git_oid_equal(&root, git_tree_id(head)) ? 0 : compare_dir(repo, idx, head, &p, &ids, out);
    for (size_t k = 0; k < ids.n; k++)
        free(ids.v[k].path);
    free(ids.v);
    fr_buf_release(&p);
    return rc;
}

static int is_blob_mode(uint16_t mode)
{
    return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
           mode == GIT_FILEMODE_LINK;
}

int fr_git_staged_walk(uint64_t max_size, fr_staged_fn fn, void *ctx, fr_push_stats *stats)
{
    gs_init();
    git_repository *repo = NULL;
    git_index *idx = NULL;
    git_object *head = NULL;
    git_tree *tree = NULL;
    git_diff *diff = NULL;
    git_odb *odb = NULL;
    pathlist changed = {0};
    int rc = FR_ERR;
    if (git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL)) {
        fr_error_set("not in a git repository: %s", gs_err());
        return FR_ERR;
    }
    if (git_repository_index(&idx, repo) || git_repository_odb(&odb, repo)) {
        fr_error_set("cannot read the index: %s", gs_err());
        goto done;
    }
    /* An unborn branch (the first commit) has no HEAD: everything is new. */
    if (git_revparse_single(&head, repo, "HEAD^{tree}") == 0)
        tree = (git_tree *)head;
    else if (!git_repository_head_unborn(repo)) {
        fr_error_set("cannot read HEAD: %s", gs_err());
        goto done;
    }
    git_diff_options o;
    git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
    o.context_lines = 0;
    o.flags = GIT_DIFF_IGNORE_SUBMODULES;
    /* Only where the index and HEAD differ: the same deltas (an unchanged
     * path has none, and every changed one, renames' sources included, is
     * listed), without reading the rest of HEAD's trees. */
    if (tree && staged_paths(repo, idx, tree, &changed) == 0) {
        if (!changed.n) { /* nothing staged (an empty pathspec would be all) */
            rc = FR_OK;
            goto done;
        }
        o.pathspec.strings = changed.v;
        o.pathspec.count = changed.n;
        o.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
    }
    if (git_diff_tree_to_index(&diff, repo, tree, idx, &o)) {
        fr_error_set("cannot compare the index with HEAD: %s", gs_err());
        goto done;
    }
    /* Exact renames and copies only: their content is not new (a similar
     * but changed file is scanned like any modified one). */
    git_diff_find_options fo;
    git_diff_find_options_init(&fo, GIT_DIFF_FIND_OPTIONS_VERSION);
    fo.flags = GIT_DIFF_FIND_RENAMES | GIT_DIFF_FIND_COPIES | GIT_DIFF_FIND_EXACT_MATCH_ONLY;
    if (git_diff_find_similar(diff, &fo)) {
        fr_error_set("cannot pair renames: %s", gs_err());
        goto done;
    }
    rc = FR_OK;
    size_t n = git_diff_num_deltas(diff);
    for (size_t i = 0; i < n; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        if (d->status != GIT_DELTA_ADDED && d->status != GIT_DELTA_MODIFIED &&
            d->status != GIT_DELTA_RENAMED && d->status != GIT_DELTA_COPIED &&
            d->status != GIT_DELTA_TYPECHANGE)
            continue;
        if (!is_blob_mode(d->new_file.mode)) continue; /* a submodule: its own repository */
        char hex[GIT_OID_HEXSZ + 1];
        git_oid_tostr(hex, sizeof hex, &d->new_file.id);
        fr_staged_piece pc = {.path = d->new_file.path,
                              .blob = hex,
                              .new_path = d->status != GIT_DELTA_MODIFIED &&
                                          d->status != GIT_DELTA_TYPECHANGE,
                              .all_lines = 1};
        pc.content_known = (d->status == GIT_DELTA_RENAMED || d->status == GIT_DELTA_COPIED) &&
                           git_oid_equal(&d->old_file.id, &d->new_file.id);
        git_odb_object *obj = NULL;
        ranges r = {0};
        if (!pc.content_known) {
            size_t len = 0;
            git_object_t type;
            if (git_odb_read_header(&len, &type, odb, &d->new_file.id) || type != GIT_OBJECT_BLOB) {
                stats->incomplete = 1;
                pc.unreadable = 1;
            } else if (len > max_size) {
                pc.size = len; /* over the cap: not read (data NULL) */
            } else if (git_odb_read(&obj, odb, &d->new_file.id)) {
                stats->incomplete = 1;
                pc.unreadable = 1;
            } else {
                pc.data = git_odb_object_data(obj);
                pc.len = pc.size = git_odb_object_size(obj);
                stats->blobs++;
                stats->bytes += pc.len;
            }
            /* A text file changed in place: the lines it adds. */
            git_patch *patch = NULL;
            if (pc.data && d->status == GIT_DELTA_MODIFIED &&
                git_patch_from_diff(&patch, diff, i) == 0 && patch) {
                const git_diff_delta *pd = git_patch_get_delta(patch);
                if (!(pd->flags & GIT_DIFF_FLAG_BINARY)) {
                    for (size_t h = 0; h < git_patch_num_hunks(patch); h++) {
                        const git_diff_hunk *hk = NULL;
                        size_t nl = 0;
                        if (git_patch_get_hunk(&hk, &nl, patch, h) == 0) on_hunk(pd, hk, &r);
                    }
                    pc.all_lines = 0;
                    pc.lines = (const size_t(*)[2])r.v;
                    pc.nlines = r.n;
                }
            }
            git_patch_free(patch);
        }
        int stop = fn(ctx, &pc);
        git_odb_object_free(obj);
        free(r.v);
        if (stop) break;
    }
done:
    for (size_t i = 0; i < changed.n; i++)
        free(changed.v[i]);
    free(changed.v);
    git_diff_free(diff);
    git_object_free(head);
    git_index_free(idx);
    git_odb_free(odb);
    git_repository_free(repo);
    return rc;
}
