/*
 * worktree.c: what a work-tree repository holds that is not committed
 * (fr_git_worktree_scan). History is fr_git_scan's; this adds, per repository:
 *
 *   HEAD's tree ──diff──> the index: each blob staged as added, modified or
 *     type-changed is a location of kind "index" on the blob's own content
 *     (key git:<oid>). The blob is in the object database, so fr_git_scan
 *     reads it (as an unreachable object, or from history when the same
 *     content was committed before): this source adds the location only, as a
 *     known item the writer holds back until the blob's content is recorded.
 *   the index ──status──> the work tree: each file modified against the index
 *     (or type-changed into a file), each untracked file that is not ignored,
 *     and with include_ignored every ignored one, is read from disk like the
 *     filesystem source reads a file (kind "worktree", path relative to the
 *     work tree), and remembered by its disk path so an unchanged file is not
 *     read by the next sweep.
 *
 * Files that match the index are never read: their content is a blob that
 * history (or the index) already gave. Submodules and nested repositories are
 * left alone; a symbolic link is a name only (its target is not followed). A
 * bare repository has no work tree: nothing is done.
 */
#include "sources/git/git_int.h"

#include "sources/archive.h"
#include "sources/logs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const fr_worktree_opts *opts;
    fr_pipeline *p;
    fr_worktree_stats *stats;
    const char *repo; /* the repository as its locations name it */
    const char *workdir;
    int stopped;
} wt_scan;

static void submit(wt_scan *s, fr_item *it)
{
    if (fr_pipeline_submit(s->p, it)) s->stopped = 1;
}

/* A staged blob: a location on content fr_git_scan reads. */
static void submit_staged(wt_scan *s, const git_diff_delta *d)
{
    const git_diff_file *f = &d->new_file;
    if (f->mode != GIT_FILEMODE_BLOB && f->mode != GIT_FILEMODE_BLOB_EXECUTABLE &&
        f->mode != GIT_FILEMODE_LINK)
        return; /* a submodule's commit, or a deletion */
    char hex[GIT_OID_HEXSZ + 1];
    fr_item *it = gs_blob_item(&f->id, hex);
    fr_location loc = {.kind = "index", .repo = s->repo, .path = f->path};
    fr_item_add_location(it, &loc);
    it->known = 1;
    s->stats->staged++;
    submit(s, it);
}

static int skip_file(const wt_scan *s, const struct stat *st)
{
    for (int i = 0; i < s->opts->nskip; i++)
        if (s->opts->skip[i].dev == (unsigned long long)st->st_dev &&
            s->opts->skip[i].ino == (unsigned long long)st->st_ino)
            return 1;
    return 0;
}

/* A file of the work tree that differs from the index (or is not in it). */
static void submit_file(wt_scan *s, const char *rel, uint64_t *counter)
{
    size_t n = strlen(rel);
    if (!n || rel[n - 1] == '/') return; /* a nested repository, never entered */
    fr_buf disk = {0};
    fr_buf_printf(&disk, "%s%s", s->workdir, rel); /* workdir ends with '/' */
    struct stat st;
    if (lstat(disk.p, &st) != 0) { /* gone since the status was read */
        fr_buf_release(&disk);
        return;
    }
    if (skip_file(s, &st)) { /* ferret's own database in the work tree */
        fr_buf_release(&disk);
        return;
    }
    fr_item *it = fr_item_new("worktree", rel);
    free((char *)it->locs[0].repo);
    it->locs[0].repo = fr_xstrdup(s->repo);
    (*counter)++;
    if (S_ISLNK(st.st_mode)) {
        it->status = FR_ST_SKIPPED;
        it->reason = fr_xstrdup("symbolic link not followed");
        it->path_only = 1; /* its name is checked, nothing else recorded */
        fr_buf_release(&disk);
        submit(s, it);
        return;
    }
    char iso[32];
    fr_time_iso((int64_t)st.st_mtim.tv_sec, iso);
    it->locs[0].mtime = fr_xstrdup(iso);
    it->size = (uint64_t)st.st_size;
    it->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    char key[96];
    if (!S_ISREG(st.st_mode)) {
        it->status = FR_ST_SKIPPED;
        it->reason = fr_xstrdup("not a regular file (device, FIFO or socket)");
        s->stats->skipped++;
    } else if (it->size > s->opts->max_size) {
        fr_buf why = {0};
        fr_buf_printf(&why, "larger than --max-file-size (%llu bytes)",
                      (unsigned long long)s->opts->max_size);
        it->status = FR_ST_SKIPPED;
        it->reason = fr_buf_steal(&why);
        s->stats->skipped++;
    } else if (s->opts->unchanged && s->opts->unchanged(s->opts->unchanged_ctx, disk.p, it->size,
                                                        it->mtime_ns, key, sizeof key)) {
        it->key = fr_xstrdup(key); /* read before, unchanged: re-confirm where it is */
        it->known = 1;
        s->stats->unchanged++;
    } else {
        it->load = fr_fs_load_file;
        it->load_arg = fr_xstrdup(disk.p);
        it->expand = fr_archive_expand;
        it->normalize = fr_log_normalizer;
        it->describe = fr_log_describe;
        it->remember_file = 1;
        it->file_path = fr_xstrdup(disk.p);
        s->stats->read++;
    }
    fr_buf_release(&disk);
    submit(s, it);
}

static int scan_index(wt_scan *s, git_repository *repo, git_index *idx)
{
    git_commit *head = NULL;
    git_tree *tree = NULL; /* an unborn branch: everything staged is new */
    git_oid head_id;
    /* Not git_revparse_single("HEAD^{tree}"): libgit2 1.5 leaks when the tree
     * is missing (a damaged repository). */
    int have = git_reference_name_to_id(&head_id, repo, "HEAD") == 0 &&
               git_commit_lookup(&head, repo, &head_id) == 0 && git_commit_tree(&tree, head) == 0;
    if (!have && !git_repository_head_unborn(repo)) {
        git_commit_free(head);
        fr_error_set("%s: cannot read HEAD: %s", s->repo, gs_err());
        return FR_ERR;
    }
    git_diff_options o;
    git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
    o.flags = GIT_DIFF_IGNORE_SUBMODULES;
    git_diff *diff = NULL;
    int rc = FR_OK;
    if (git_diff_tree_to_index(&diff, repo, tree, idx, &o)) {
        fr_error_set("%s: cannot compare the index with HEAD: %s", s->repo, gs_err());
        rc = FR_ERR;
    }
    for (size_t i = 0, n = diff ? git_diff_num_deltas(diff) : 0; i < n && !s->stopped; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        if (d->status == GIT_DELTA_ADDED || d->status == GIT_DELTA_MODIFIED ||
            d->status == GIT_DELTA_TYPECHANGE)
            submit_staged(s, d);
    }
    git_diff_free(diff);
    git_tree_free(tree);
    git_commit_free(head);
    return rc;
}

static int scan_workdir(wt_scan *s, git_repository *repo)
{
    git_status_options o;
    git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION);
    o.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
    o.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
              GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
    if (s->opts->include_ignored)
        o.flags |= GIT_STATUS_OPT_INCLUDE_IGNORED | GIT_STATUS_OPT_RECURSE_IGNORED_DIRS;
    git_status_list *list = NULL;
    if (git_status_list_new(&list, repo, &o)) {
        fr_error_set("%s: cannot read the work tree's status: %s", s->repo, gs_err());
        return FR_ERR;
    }
    for (size_t i = 0, n = git_status_list_entrycount(list); i < n && !s->stopped; i++) {
        if (fr_interrupted) break;
        const git_status_entry *e = git_status_byindex(list, i);
        const git_diff_delta *d = e->index_to_workdir;
        if (!d) continue;
        const char *rel = d->new_file.path ? d->new_file.path : d->old_file.path;
        if (e->status & GIT_STATUS_IGNORED)
            submit_file(s, rel, &s->stats->ignored);
        else if (e->status & GIT_STATUS_WT_NEW)
            submit_file(s, rel, &s->stats->untracked);
        else if (e->status & (GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_TYPECHANGE))
            submit_file(s, rel, &s->stats->modified);
    }
    git_status_list_free(list);
    return FR_OK;
}

int fr_git_worktree_scan(const char *path, const fr_worktree_opts *opts, fr_pipeline *p,
                         fr_worktree_stats *stats)
{
    gs_init();
    git_repository *repo = NULL;
    if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) {
        fr_error_set("%s: not a git repository, or it cannot be opened: %s", path, gs_err());
        return FR_ERR;
    }
    const char *workdir = git_repository_workdir(repo);
    if (!workdir || git_repository_is_bare(repo)) {
        git_repository_free(repo);
        return FR_OK;
    }
    wt_scan s = {opts, p, stats, path, workdir, 0};
    git_index *idx = NULL;
    int rc = FR_OK;
    if (git_repository_index(&idx, repo)) {
        fr_error_set("%s: cannot read the index: %s", path, gs_err());
        rc = FR_ERR;
    } else {
        /* Both steps run even if one fails: what can be read is scanned. */
        rc = scan_index(&s, repo, idx);
        int wrc = scan_workdir(&s, repo);
        if (!rc) rc = wrc;
    }
    git_index_free(idx);
    git_repository_free(repo);
    if (fr_interrupted) return FR_EINTR;
    if (s.stopped) {
        fr_error_set("the scan stopped early (the store failed)");
        return FR_ERR;
    }
    return rc;
}
