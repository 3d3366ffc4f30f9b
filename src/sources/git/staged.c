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
    git_diff_free(diff);
    git_object_free(head);
    git_index_free(idx);
    git_odb_free(odb);
    git_repository_free(repo);
    return rc;
}
