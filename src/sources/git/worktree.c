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
 * history (or the index) already gave. Whether a tracked file matches is told
 * by its lstat, as git does: equal to the index entry's (and not racy), or to
 * the row ferret's stat cache keeps for the path (opts->stat_load: the content
 * id it hashed to when last read); only a file matching neither is read, to
 * hash it, and its row saved (with --full no row is trusted). libgit2's status then runs on the
 * index's entries changed in memory to carry the stat data just checked, so it hashes nothing
 * again (it cannot write the index back: a scanner leaves the repository alone) and lists only
 * untracked and ignored files:
 *
 *   index entry ──lstat──> equal to the entry's ──────────────> clean
 *                  │      equal to the cache row's ──> its id ─┐
 *                  │      else: hash the file (stats->hashed) ─┴─> id == entry's: clean
 *                  │                                              else: modified (read)
 *                  └──> gone, another type, a gitlink: left to libgit2's status Submodules and
 * nested repositories are left alone; a symbolic link is a name only (its target is not followed).
 * A bare repository has no work tree: nothing is done.
 */
#include "sources/git/git_int.h"

#include "sources/archive.h"
#include "sources/logs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <git2/sys/repository.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    const fr_worktree_opts *opts;
    fr_pipeline *p;
    fr_worktree_stats *stats;
    const char *repo; /* the repository as its locations name it */
    const char *workdir;
    int stopped;
    int odd; /* an index entry only libgit2's status tells about (see list_untracked) */
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

/* ------------------------------------------------------ stat cache --- */

typedef struct {
    char *path; /* relative to the work tree */
    int64_t v[6];
    git_oid id;
} wt_row;

typedef struct {
    wt_row *v;
    size_t n, cap, prefix_len;
    int loaded;
} wt_rows;

static void add_row(void *ctx, const char *path, const int64_t v[6], const char *oid)
{
    wt_rows *r = ctx;
    if (strlen(path) <= r->prefix_len) return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->v = fr_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    wt_row *w = &r->v[r->n];
    if (git_oid_fromstr(&w->id, oid)) return;
    w->path = fr_xstrdup(path + r->prefix_len);
    memcpy(w->v, v, sizeof w->v);
    r->n++;
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const wt_row *)a)->path, ((const wt_row *)b)->path);
}

/* The stat cache's rows for s's work tree, read on the first file whose stat
 * is not its index entry's (a checkout git keeps up to date needs none). */
static void load_rows(wt_scan *s, wt_rows *rows)
{
    const fr_worktree_opts *o = s->opts;
    if (rows->loaded) return;
    rows->loaded = 1;
    if (o->stat_load && o->stat_load(o->stat_ctx, s->workdir, add_row, rows))
        while (rows->n) /* a cache that cannot be read: every file is looked at afresh */
            free(rows->v[--rows->n].path);
    if (rows->n > 1)
        qsort(rows->v, rows->n, sizeof *rows->v, cmp_row); /* git's order is not the store's */
}

static const wt_row *find_row(const wt_rows *r, const char *path)
{
    wt_row key = {.path = (char *)path};
    return r->n ? bsearch(&key, r->v, r->n, sizeof *r->v, cmp_row) : NULL;
}

static int64_t ns_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The mode git records for a file of this type (0: not a file git tracks). */
static uint32_t git_mode(const struct stat *st)
{
    if (S_ISLNK(st->st_mode)) return GIT_FILEMODE_LINK;
    if (!S_ISREG(st->st_mode)) return 0;
    return st->st_mode & S_IXUSR ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
}

/* The entry's stat data as libgit2 fills it from a file's (so its status
 * compares equal). */
static void set_stat(git_index_entry *e, const struct stat *st)
{
    e->ctime.seconds = (int32_t)st->st_ctim.tv_sec;
    e->ctime.nanoseconds = (uint32_t)st->st_ctim.tv_nsec;
    e->mtime.seconds = (int32_t)st->st_mtim.tv_sec;
    e->mtime.nanoseconds = (uint32_t)st->st_mtim.tv_nsec;
    e->dev = (uint32_t)st->st_rdev; /* libgit2 1.5 records st_rdev */
    e->ino = (uint32_t)st->st_ino;
    e->uid = st->st_uid;
    e->gid = st->st_gid;
    e->file_size = (uint32_t)st->st_size;
}

/* Whether the index entry's stat data is the file's, and not racy (changed
 * in the second the index was written: then git re-hashes it too). */
static int index_stat_eq(const git_index_entry *e, const struct stat *st, int64_t index_mtime)
{
    return e->file_size == (uint32_t)st->st_size &&
           e->mtime.seconds == (int32_t)st->st_mtim.tv_sec &&
           e->mtime.nanoseconds == (uint32_t)st->st_mtim.tv_nsec &&
           e->ctime.seconds == (int32_t)st->st_ctim.tv_sec &&
           e->ctime.nanoseconds == (uint32_t)st->st_ctim.tv_nsec &&
           e->ino == (uint32_t)st->st_ino && ns_of(&st->st_mtim) < index_mtime;
}

static int row_stat_eq(const wt_row *r, const struct stat *st, uint32_t mode)
{
    return r->v[0] == (int64_t)st->st_size && r->v[1] == ns_of(&st->st_mtim) &&
           r->v[2] == ns_of(&st->st_ctim) && r->v[3] == (int64_t)st->st_ino &&
           r->v[4] == (int64_t)mode && r->v[1] < r->v[5] - FR_WT_RACY_NS;
}

/* Gives idx's entries for files equal to their index content the files' stat
 * data (see the top of the file), in memory only: the repository's index
 * object is changed, never written (libgit2 writes an index only when asked).
 * Modified files found here are submitted here. Returns whether the entries
 * were refreshed (0: no cache, conflicts, or stopped: the status reads the
 * index as it is). Entries are changed in place, not copied into a new index
 * (git_index_add per entry checked every path for file/directory collisions:
 * a tenth of an unchanged re-scan); libgit2's status then also applies its own
 * racy-git check (a file modified after the index was written is hashed again
 * by it, and found equal to the id set here). */
static int refresh_index(wt_scan *s, git_repository *repo, git_index *idx)
{
    const fr_worktree_opts *o = s->opts;
    if ((!o->stat_load && !o->stat_save) || git_index_has_conflicts(idx)) return 0;
    wt_rows rows = {.prefix_len = strlen(s->workdir)};
    struct stat ist;
    const char *ipath = git_index_path(idx);
    int64_t index_mtime = ipath && stat(ipath, &ist) == 0 ? ns_of(&ist.st_mtim) : 0;
    fr_buf disk = {0};
    fr_buf_puts(&disk, s->workdir);
    size_t base = disk.len;
    for (size_t i = 0, n = git_index_entrycount(idx); i < n && !s->stopped; i++) {
        /* the index's own entry: its stat data and id are set below */
        git_index_entry *e = (git_index_entry *)git_index_get_byindex(idx, i);
        struct stat st;
        uint32_t mode = 0;
        s->stats->tracked++;
        disk.len = base;
        fr_buf_puts(&disk, e->path);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int got = -1;
        int look = !(e->flags_extended &
                     (GIT_INDEX_ENTRY_INTENT_TO_ADD | GIT_INDEX_ENTRY_SKIP_WORKTREE)) &&
                   (got = lstat(disk.p, &st)) == 0 && (mode = git_mode(&st)) == e->mode &&
                   mode != GIT_FILEMODE_LINK;
        /* What list_untracked cannot tell: anything but a file equal to its
         * entry's type, a deleted one, a submodule, or a symbolic link whose
         * stat is the entry's. */
        if (!look && e->mode != GIT_FILEMODE_COMMIT &&
            !(got != 0 && (errno == ENOENT || errno == ENOTDIR) && !e->flags_extended) &&
            !(got == 0 && mode == GIT_FILEMODE_LINK && e->mode == GIT_FILEMODE_LINK &&
              index_stat_eq(e, &st, index_mtime)))
            s->odd = 1;
        if (look && !index_stat_eq(e, &st, index_mtime)) {
            load_rows(s, &rows);
            const wt_row *r = find_row(&rows, e->path);
            git_oid id;
            if (r && row_stat_eq(r, &st, mode)) {
                id = r->id;
            } else if (git_repository_hashfile(&id, repo, disk.p, GIT_OBJECT_BLOB, e->path)) {
                look = 0; /* unreadable now: libgit2's status says what it is */
                s->odd = 1;
            } else {
                s->stats->hashed++;
                char hex[GIT_OID_HEXSZ + 1];
                git_oid_tostr(hex, sizeof hex, &id);
                int64_t v[6] = {(int64_t)st.st_size, ns_of(&st.st_mtim), ns_of(&st.st_ctim),
                                (int64_t)st.st_ino,  (int64_t)mode,      ns_of(&now)};
                if (o->stat_save) o->stat_save(o->stat_ctx, disk.p, v, hex);
            }
            if (look && !git_oid_equal(&id, &e->id)) {
                e->id = id; /* libgit2 sees it unchanged: it is submitted here */
                submit_file(s, e->path, &s->stats->modified);
            }
        }
        if (look) set_stat(e, &st);
    }
    fr_buf_release(&disk);
    for (size_t i = 0; i < rows.n; i++)
        free(rows.v[i].path);
    free(rows.v);
    return !s->stopped;
}

/* ------------------------------------------ untracked and ignored files --- */

/* A file list_untracked found: its path relative to the work tree, and
 * whether it is ignored. */
typedef struct {
    char *rel;
    int ignored;
} wt_found;

typedef struct {
    wt_scan *s;
    git_repository *repo;
    git_index *idx;
    wt_found *v;
    size_t n, cap;
    int failed;
} wt_walk;

enum { IN_TRACKED, IN_UNTRACKED, IN_IGNORED };

static void found(wt_walk *ww, const char *rel, int ignored)
{
    if (ww->n == ww->cap) {
        ww->cap = ww->cap ? ww->cap * 2 : 64;
        ww->v = fr_xrealloc(ww->v, ww->cap * sizeof *ww->v);
    }
    ww->v[ww->n++] = (wt_found){fr_xstrdup(rel), ignored};
}

static int cmp_found(const void *a, const void *b)
{
    return strcmp(((const wt_found *)a)->rel, ((const wt_found *)b)->rel);
}

static int ignored_path(wt_walk *ww, const char *rel)
{
    int ign = 0;
    if (git_ignore_path_is_ignored(&ign, ww->repo, rel)) {
        ww->failed = 1;
        return 0;
    }
    return ign;
}

/* Lists the directory rel ("" or ending with '/') of the work tree. */
static void walk_dir(wt_walk *ww, fr_buf *rel, int in)
{
    fr_buf disk = {0};
    fr_buf_printf(&disk, "%s%s", ww->s->workdir, rel->p);
    DIR *d = opendir(disk.p);
    fr_buf_release(&disk);
    if (!d) return; /* gone, or unreadable: libgit2's status lists nothing in it either */
    char **names = NULL;
    unsigned char *types = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!strcmp(e->d_name, ".git")) continue; /* the repository, or a nested one's */
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = fr_xrealloc(names, cap * sizeof *names);
            types = fr_xrealloc(types, cap);
        }
        types[n] = e->d_type;
        names[n++] = fr_xstrdup(e->d_name);
    }
    closedir(d);
    size_t base = rel->len;
    for (size_t i = 0; i < n && !ww->failed && !ww->s->stopped; i++) {
        rel->len = base;
        fr_buf_puts(rel, names[i]);
        unsigned char t = types[i];
        if (t == DT_UNKNOWN) {
            struct stat st;
            fr_buf p = {0};
            fr_buf_printf(&p, "%s%s", ww->s->workdir, rel->p);
            t = lstat(p.p, &st) != 0  ? DT_UNKNOWN
                : S_ISDIR(st.st_mode) ? DT_DIR
                : S_ISREG(st.st_mode) ? DT_REG
                : S_ISLNK(st.st_mode) ? DT_LNK
                                      : DT_UNKNOWN;
            fr_buf_release(&p);
        }
        size_t at;
        if (t == DT_DIR) {
            if (in == IN_TRACKED && git_index_find(&at, ww->idx, rel->p) == 0)
                continue; /* a submodule */
            fr_buf_puts(rel, "/");
            int sub = in;
            if (in == IN_TRACKED && git_index_find_prefix(&at, ww->idx, rel->p) != 0)
                sub = IN_UNTRACKED; /* no tracked file below */
            if (sub != IN_TRACKED) {
                fr_buf git = {0};
                struct stat st;
                fr_buf_printf(&git, "%s%s.git", ww->s->workdir, rel->p);
                int nested = lstat(git.p, &st) == 0;
                fr_buf_release(&git);
                if (nested) continue; /* a nested repository: never entered */
            }
            if (sub == IN_UNTRACKED && ignored_path(ww, rel->p)) sub = IN_IGNORED;
            if (sub == IN_IGNORED && !ww->s->opts->include_ignored) continue;
            walk_dir(ww, rel, sub);
        } else if (t == DT_REG || t == DT_LNK) {
            if (in == IN_TRACKED && git_index_find(&at, ww->idx, rel->p) == 0)
                continue; /* tracked: refresh_index looked at it */
            int ign = in == IN_IGNORED || ignored_path(ww, rel->p);
            if (!ign || ww->s->opts->include_ignored) found(ww, rel->p, ign);
        } /* else: a device, FIFO or socket, which libgit2's status skips too */
    }
    rel->len = base;
    rel->p[base] = 0;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names), free(types);
}

/* The untracked files (and ignored ones with include_ignored) as libgit2's
 * status lists them after refresh_index, found by reading the work tree's
 * directories: libgit2's status also lstat()s every tracked file, which
 * refresh_index just did (it was a fifth of an unchanged re-scan). Only when
 * every tracked file was told by refresh_index (s->odd unset); each untracked
 * file and directory is checked against the ignore rules (libgit2's), an
 * ignored directory is entered only with include_ignored, a nested repository
 * or a submodule never. Submitted in the status's order (by path). Returns 0
 * when libgit2's status must say instead (an error). */
static int list_untracked(wt_scan *s, git_repository *repo, git_index *idx)
{
    wt_walk ww = {.s = s, .repo = repo, .idx = idx};
    fr_buf rel = {0};
    fr_buf_puts(&rel, "");
    walk_dir(&ww, &rel, IN_TRACKED);
    fr_buf_release(&rel);
    int ok = !ww.failed;
    if (ok && ww.n > 1) qsort(ww.v, ww.n, sizeof *ww.v, cmp_found);
    for (size_t i = 0; i < ww.n; i++) {
        if (ok && !s->stopped && !fr_interrupted)
            submit_file(s, ww.v[i].rel,
                        ww.v[i].ignored ? &s->stats->ignored : &s->stats->untracked);
        free(ww.v[i].rel);
    }
    free(ww.v);
    return ok;
}

static int scan_workdir(wt_scan *s, git_repository *repo, int refreshed)
{
    git_status_options o;
    git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION);
    o.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
    o.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
              GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
    if (refreshed) o.flags |= GIT_STATUS_OPT_NO_REFRESH; /* in memory: nothing to re-read */
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
    /* The path named is the git directory itself (a snapshot's copy with no
     * config: without core.bare libgit2 takes the parent for a work tree, and
     * every file beside the copy would be scanned as untracked): no work tree. */
    char *real = realpath(path, NULL);
    const char *gd = git_repository_path(repo);
    size_t rl = real ? strlen(real) : 0;
    int named_gitdir =
        real && gd && !strncmp(gd, real, rl) && (gd[rl] == 0 || (gd[rl] == '/' && gd[rl + 1] == 0));
    free(real);
    if (!workdir || git_repository_is_bare(repo) || named_gitdir) {
        git_repository_free(repo);
        return FR_OK;
    }
    wt_scan s = {opts, p, stats, path, workdir, 0, 0};
    git_index *idx = NULL;
    int rc = FR_OK;
    if (git_repository_index(&idx, repo)) {
        fr_error_set("%s: cannot read the index: %s", path, gs_err());
        rc = FR_ERR;
    } else {
        /* Both steps run even if one fails: what can be read is scanned. */
        rc = scan_index(&s, repo, idx);
        int refreshed = refresh_index(&s, repo, idx), wrc = FR_OK;
        if (!refreshed || s.odd || !list_untracked(&s, repo, idx))
            wrc = scan_workdir(&s, repo, refreshed);
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
