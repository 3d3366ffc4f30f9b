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
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <git2/sys/repository.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct wt_prefetch wt_prefetch;

typedef struct {
    const fr_worktree_opts *opts;
    fr_pipeline *p;
    fr_worktree_stats *stats;
    const char *repo; /* the repository as its locations name it */
    const char *workdir;
    int stopped;
    int odd;         /* an index entry only libgit2's status tells about (see list_untracked) */
    wt_prefetch *pf; /* what fr_git_worktree_prefetch read of this work tree, or NULL */
    int pf_index;    /* scan_direct took its index and stat data */
    size_t read_dirs, clean_dirs; /* directories listed, and not (clean_dir) */
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
    size_t k = 1; /* the store returns them by path: sorted already, but not promised */
    while (k < rows->n && cmp_row(&rows->v[k - 1], &rows->v[k]) < 0)
        k++;
    if (k < rows->n) qsort(rows->v, rows->n, sizeof *rows->v, cmp_row);
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

/* A directory of the work tree as fr_git_worktree_prefetch looked at it. */
typedef struct {
    char *rel; /* "" or ending with '/' */
    struct stat st;
    int ok; /* st is its lstat, a directory's */
} wt_dirstat;

/* A directory's row in the stat cache (see clean_dir). */
typedef struct {
    char *rel;
    int64_t v[6];
    char oid[65];
} wt_dirrow;

/* A file list_untracked found: its path relative to the work tree, and
 * whether it is ignored. */
typedef struct {
    char *rel;
    int ignored;
} wt_found;

typedef struct wt_index wt_index;
static int own_has(const wt_index *x, const char *path, int prefix);

typedef struct {
    wt_scan *s;
    git_repository *repo;
    git_index *idx;      /* libgit2's index, or */
    const wt_index *own; /* the one read directly (scan_direct) */
    wt_found *v;
    size_t n, cap;
    int failed;
    wt_dirrow *rows; /* the directories' stat-cache rows (loaded once) */
    size_t nrows, rows_cap;
    int rows_loaded;
    fr_buf kids; /* scratch: a directory's names in the index */
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

/* Whether the index holds path (prefix: a path starting with it). */
static int tracked(const wt_walk *ww, const char *path, int prefix)
{
    size_t at;
    if (ww->own) return own_has(ww->own, path, prefix);
    return (prefix ? git_index_find_prefix(&at, ww->idx, path)
                   : git_index_find(&at, ww->idx, path)) == 0;
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

/* The names in the directory disk but ".", ".." and ".git" (the repository,
 * or a nested one's), and their d_type. 0 when it cannot be opened. */
static int read_dir(const char *disk, char ***names_out, unsigned char **types_out, size_t *n_out)
{
    DIR *d = opendir(disk);
    if (!d) return 0;
    char **names = NULL;
    unsigned char *types = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!strcmp(e->d_name, ".git")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = fr_xrealloc(names, cap * sizeof *names);
            types = fr_xrealloc(types, cap);
        }
        types[n] = e->d_type;
        names[n++] = fr_xstrdup(e->d_name);
    }
    closedir(d);
    *names_out = names, *types_out = types, *n_out = n;
    return 1;
}

static const wt_dirstat *prefetched_dir(const wt_prefetch *pf, const char *rel);
static struct timespec prefetch_now(const wt_prefetch *pf);
static void walk_dir(wt_walk *ww, fr_buf *rel, int in);

/* ------------------------------------------------ clean directories --- */

/*
 * A directory of tracked files whose names are exactly the index's there (no
 * untracked or ignored name in it) is not read again while it stays so: its
 * row in the stat cache (path: the work tree's path, '/', the directory's,
 * ending with '/'; mode 040000) keeps its lstat when it was listed and, as
 * its oid, the SHA-256 (its first 160 bits) of its names in the index then (each "f NAME" or "d
 * NAME", in the index's order). A name added, removed or renamed in a
 * directory changes its mtime; a name the index gains or loses changes the
 * digest. So while both are the row's (and the directory had not changed for
 * FR_WT_RACY_NS before it was looked at: a change in the same timestamp tick
 * would not show), its names are still the index's: nothing in it is
 * untracked, and only the index's subdirectories are walked. On openai-python
 * (152 directories, none with an untracked name) a re-scan reads no
 * directory. Only for the index read directly (scan_direct), in directories
 * holding tracked files; --full trusts no row. No file's name is stored: the
 * names are the index's, and the row holds their digest only.
 */

static void index_kids(const wt_index *x, const char *rel, fr_buf *out, size_t *n);

static int cmp_dirrow(const void *a, const void *b)
{
    return strcmp(((const wt_dirrow *)a)->rel, ((const wt_dirrow *)b)->rel);
}

static void add_dirrow(void *ctx, const char *path, const int64_t v[6], const char *oid)
{
    wt_walk *ww = ctx;
    size_t plen = strlen(ww->s->workdir) + 1; /* the work tree's path and '/' */
    if (strlen(path) < plen || strlen(oid) != 40) return;
    if (ww->nrows == ww->rows_cap) {
        ww->rows_cap = ww->rows_cap ? ww->rows_cap * 2 : 64;
        ww->rows = fr_xrealloc(ww->rows, ww->rows_cap * sizeof *ww->rows);
    }
    wt_dirrow *r = &ww->rows[ww->nrows++];
    r->rel = fr_xstrdup(path + plen);
    memcpy(r->v, v, sizeof r->v);
    memcpy(r->oid, oid, 41); /* 40 hex digits (checked above) and the NUL */
}

static const wt_dirrow *find_dirrow(wt_walk *ww, const char *rel)
{
    if (!ww->rows_loaded) {
        ww->rows_loaded = 1;
        fr_buf prefix = {0};
        fr_buf_printf(&prefix, "%s/", ww->s->workdir);
        if (ww->s->opts->stat_load(ww->s->opts->stat_ctx, prefix.p, add_dirrow, ww)) {
            for (size_t i = 0; i < ww->nrows; i++)
                free(ww->rows[i].rel);
            ww->nrows = 0;
        }
        fr_buf_release(&prefix);
        if (ww->nrows > 1) qsort(ww->rows, ww->nrows, sizeof *ww->rows, cmp_dirrow);
    }
    wt_dirrow want = {.rel = (char *)rel};
    return ww->nrows ? bsearch(&want, ww->rows, ww->nrows, sizeof *ww->rows, cmp_dirrow) : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether the names read in a directory are exactly its kids (index_kids). */
static int names_are_kids(char **names, size_t n, const fr_buf *kids, size_t nkids)
{
    if (n != nkids) return 0;
    char **want = fr_xcalloc(nkids ? nkids : 1, sizeof *want);
    char **have = fr_xcalloc(n ? n : 1, sizeof *have);
    char *copy = fr_xstrdup(kids->p), *line = copy;
    for (size_t i = 0; i < nkids; i++) {
        char *nl = strchr(line, '\n');
        *nl = 0;
        want[i] = line + 2;
        line = nl + 1;
    }
    if (n) memcpy(have, names, n * sizeof *have);
    qsort(want, nkids, sizeof *want, cmp_str);
    qsort(have, n, sizeof *have, cmp_str);
    int same = 1;
    for (size_t i = 0; i < n && same; i++)
        same = !strcmp(want[i], have[i]);
    free(want), free(have), free(copy);
    return same;
}

/* Whether each name of directory rel the index holds paths below is a
 * directory on disk: one replaced by a file, or by a symlink (to a directory
 * anywhere), is untracked though the names are still the index's - saved as
 * clean, the directory would hide that file from the next scans, and
 * clean_dir would enter the symlink's target. */
static int kid_dirs_on_disk(const wt_walk *ww, const char *rel, char **names,
                            const unsigned char *types, size_t n)
{
    int ok = 1;
    fr_buf sub = {0};
    for (size_t i = 0; i < n && ok; i++) {
        if (types[i] == DT_DIR) continue;
        fr_buf_reset(&sub);
        fr_buf_printf(&sub, "%s%s/", rel, names[i]);
        if (!tracked(ww, sub.p, 1)) continue;
        if (types[i] == DT_UNKNOWN) {
            struct stat st;
            fr_buf disk = {0};
            fr_buf_printf(&disk, "%s%s%s", ww->s->workdir, rel, names[i]);
            ok = lstat(disk.p, &st) == 0 && S_ISDIR(st.st_mode);
            fr_buf_release(&disk);
        } else {
            ok = 0;
        }
    }
    fr_buf_release(&sub);
    return ok;
}

/* For directory rel (IN_TRACKED, the index read directly): 1 when its row
 * says it is clean, having walked the index's subdirectories of it; else 0,
 * with *save set when its listing, if it shows the index's names (in
 * ww->kids), is to be saved as clean with *st (taken before the listing, at
 * *now) and digest. */
static int clean_dir(wt_walk *ww, fr_buf *rel, char digest[65], struct stat *st,
                     struct timespec *now, int *save)
{
    const fr_worktree_opts *o = ww->s->opts;
    *save = 0;
    if (!ww->own || (!o->stat_load && !o->stat_save) || strchr(rel->p, '\n')) return 0;
    const wt_dirstat *pre = prefetched_dir(ww->s->pf, rel->p);
    if (pre) {
        if (!pre->ok) return 0;
        *st = pre->st;
        *now = prefetch_now(ww->s->pf); /* taken before the thread's first lstat */
    } else {
        fr_buf disk = {0};
        fr_buf_printf(&disk, "%s%s", ww->s->workdir, rel->p);
        clock_gettime(CLOCK_REALTIME, now);
        int got = lstat(disk.p, st) == 0 && S_ISDIR(st->st_mode);
        fr_buf_release(&disk);
        if (!got) return 0;
    }
    size_t nkids;
    index_kids(ww->own, rel->p, &ww->kids, &nkids);
    fr_sha256_hex(ww->kids.p, ww->kids.len, digest);
    digest[40] = 0; /* the row's oid column holds 40 hex digits */
    *save = o->stat_save != NULL;
    const wt_dirrow *r = o->stat_load ? find_dirrow(ww, rel->p) : NULL;
    if (!r || r->v[0] != (int64_t)st->st_size || r->v[1] != ns_of(&st->st_mtim) ||
        r->v[2] != ns_of(&st->st_ctim) || r->v[3] != (int64_t)st->st_ino || r->v[4] != 040000 ||
        r->v[1] >= r->v[5] - FR_WT_RACY_NS || strcmp(r->oid, digest))
        return 0;
    *save = 0; /* the row holds */
    /* its subdirectories in the index, entered as walk_dir enters a tracked one */
    char *kids = fr_xstrdup(ww->kids.p);
    size_t base = rel->len;
    for (char *line = kids, *nl; !ww->failed && !ww->s->stopped && (nl = strchr(line, '\n'));
         line = nl + 1) {
        *nl = 0;
        if (line[0] != 'd') continue;
        rel->len = base;
        fr_buf_puts(rel, line + 2);
        fr_buf_puts(rel, "/");
        walk_dir(ww, rel, IN_TRACKED);
    }
    rel->len = base;
    rel->p[base] = 0;
    free(kids);
    ww->s->clean_dirs++;
    return 1;
}

/* Lists the directory rel ("" or ending with '/') of the work tree. */
static void walk_dir(wt_walk *ww, fr_buf *rel, int in)
{
    char digest[65];
    struct stat dst;
    struct timespec dnow;
    int save = 0;
    if (in == IN_TRACKED && clean_dir(ww, rel, digest, &dst, &dnow, &save)) return;
    char **names = NULL;
    unsigned char *types = NULL;
    size_t n = 0;
    fr_buf disk = {0};
    fr_buf_printf(&disk, "%s%s", ww->s->workdir, rel->p);
    int got = read_dir(disk.p, &names, &types, &n);
    fr_buf_release(&disk);
    if (!got) return; /* gone, or unreadable: libgit2's status lists nothing in it either */
    ww->s->read_dirs++;
    if (save) {
        size_t nkids;
        index_kids(ww->own, rel->p, &ww->kids, &nkids);
        if (names_are_kids(names, n, &ww->kids, nkids) &&
            kid_dirs_on_disk(ww, rel->p, names, types, n)) {
            fr_buf path = {0};
            fr_buf_printf(&path, "%s/%s", ww->s->workdir, rel->p);
            int64_t v[6] = {(int64_t)dst.st_size,
                            ns_of(&dst.st_mtim),
                            ns_of(&dst.st_ctim),
                            (int64_t)dst.st_ino,
                            040000,
                            ns_of(&dnow)};
            ww->s->opts->stat_save(ww->s->opts->stat_ctx, path.p, v, digest);
            fr_buf_release(&path);
        }
    }
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
        if (t == DT_DIR) {
            if (in == IN_TRACKED && tracked(ww, rel->p, 0)) continue; /* a submodule */
            fr_buf_puts(rel, "/");
            int sub = in;
            if (in == IN_TRACKED && !tracked(ww, rel->p, 1))
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
            if (in == IN_TRACKED && tracked(ww, rel->p, 0))
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
static int list_untracked(wt_scan *s, git_repository *repo, git_index *idx, const wt_index *own)
{
    wt_walk ww = {.s = s, .repo = repo, .idx = idx, .own = own};
    fr_buf rel = {0};
    fr_buf_puts(&rel, "");
    walk_dir(&ww, &rel, IN_TRACKED);
    fr_buf_release(&rel);
    for (size_t i = 0; i < ww.nrows; i++)
        free(ww.rows[i].rel);
    free(ww.rows);
    fr_buf_release(&ww.kids);
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

/* ------------------------------------------ the index, read directly --- */

#ifndef O_PATH /* Linux: a directory opened only to look paths up from */
#define O_PATH O_RDONLY
#endif

/* A larger index is left to libgit2. */
#define WT_INDEX_MAX ((uint64_t)1 << 30)

/* An index entry as read from .git/index (see read_index). */
typedef struct {
    const char *path;
    uint32_t ctime_s, ctime_ns, mtime_s, mtime_ns, ino, mode, size;
    git_oid id;
} wt_entry;

struct wt_index {
    wt_entry *v;
    size_t n;
    unsigned char *map; /* the file (versions 2 and 3: the paths point into it) */
    size_t len;
    char *names;  /* version 4's paths (prefix-compressed on disk) */
    git_oid tree; /* the cache tree's root, when it is valid (tree_ok) */
    int tree_ok;
    int64_t mtime;  /* the index file's, for the racy check */
    struct stat st; /* the index file's when it was read */
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Whether a path component is or may stand for ".git" (".GIT", ".git. ",
 * NTFS's short name "git~1"): libgit2 refuses such an index. */
static int dotgit_name(const char *c, size_t n)
{
    if (n == 5 && !strncasecmp(c, "git~1", 5)) return 1;
    if (n < 4 || strncasecmp(c, ".git", 4)) return 0;
    for (size_t i = 4; i < n; i++)
        if (c[i] != '.' && c[i] != ' ') return 0;
    return 1;
}

/* A path that stays inside the work tree and that libgit2 would read too:
 * no empty, "." or ".." component, none that is or may stand for ".git", no
 * backslash. (libgit2's optional HFS checks refuse a few more names; read
 * here, they still name files inside the work tree.) */
static int plain_path(const char *p, size_t len)
{
    if (!len || memchr(p, '\\', len)) return 0;
    for (const char *c = p, *end = p + len;;) {
        const char *slash = memchr(c, '/', (size_t)(end - c));
        size_t n = (size_t)((slash ? slash : end) - c);
        if (!n || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.') ||
            dotgit_name(c, n))
            return 0;
        if (!slash) return 1;
        c = slash + 1;
    }
}

/* Git's offset varint (index version 4's prefix lengths). */
static int get_varint(const unsigned char **p, const unsigned char *end, size_t *out)
{
    if (*p >= end) return 0;
    unsigned c = *(*p)++;
    size_t v = c & 127;
    while (c & 128) {
        if (*p >= end || v > (SIZE_MAX >> 8)) return 0;
        c = *(*p)++;
        v = ((v + 1) << 7) | (c & 127);
    }
    *out = v;
    return 1;
}

static void index_release(wt_index *x)
{
    if (x->map) munmap(x->map, x->len);
    free(x->v);
    free(x->names);
    memset(x, 0, sizeof *x);
}

/* Reads the index file the way git does for a status (its entries, the cache
 * tree's root), so that a re-scan of an unchanged work tree needs neither
 * libgit2's read (every entry copied, the whole file hashed by a collision-
 * detecting SHA-1) nor a diff of HEAD's whole tree against it. Returns 0 -
 * the caller then leaves everything to libgit2, which reads what this does
 * not - for anything but a plain index: a version other than 2 to 4, a split
 * or sparse index (required extensions "link", "sdir"), conflicts, entries
 * intent-to-add or skip-worktree, a path plain_path refuses, a checksum that
 * does not match (libgit2 refuses that index), a damaged file. */
static int read_index(const char *gitdir, wt_index *x)
{
    memset(x, 0, sizeof *x);
    fr_buf path = {0};
    fr_buf_printf(&path, "%sindex", gitdir); /* the git directory ends with '/' */
    int fd = open(path.p, O_RDONLY | O_CLOEXEC);
    fr_buf_release(&path);
    if (fd < 0) return 0;
    struct stat st;
    unsigned char *map = NULL;
    size_t len = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 12 + 20 &&
        (uint64_t)st.st_size <= WT_INDEX_MAX) {
        len = (size_t)st.st_size;
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) map = NULL;
    }
    close(fd);
    if (!map) return 0;
    x->map = map, x->len = len;
    x->mtime = ns_of(&st.st_mtim);
    x->st = st;
    const unsigned char *p = map, *end = map + len - 20;
    uint32_t version = be32(p + 4), n = be32(p + 8);
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned sumlen = 0;
    int ok = !memcmp(p, "DIRC", 4) && version >= 2 && version <= 4 && n <= (len - 32) / 62 &&
             EVP_Digest(map, len - 20, sum, &sumlen, EVP_sha1(), NULL) && sumlen == 20 &&
             !memcmp(sum, end, 20);
    if (ok) x->v = fr_xcalloc(n ? n : 1, sizeof *x->v);
    fr_buf names = {0}; /* version 4: every path, NUL-terminated, at offs[i] */
    size_t *offs = version == 4 && ok ? fr_xcalloc(n ? n : 1, sizeof *offs) : NULL;
    size_t prev_len = 0, prev_off = 0;
    p += 12;
    for (uint32_t i = 0; ok && i < n; i++) {
        if ((size_t)(end - p) < 62) {
            ok = 0;
            break;
        }
        wt_entry *e = &x->v[i];
        e->ctime_s = be32(p), e->ctime_ns = be32(p + 4);
        e->mtime_s = be32(p + 8), e->mtime_ns = be32(p + 12);
        e->ino = be32(p + 20), e->mode = be32(p + 24), e->size = be32(p + 36);
        git_oid_fromraw(&e->id, p + 40);
        unsigned flags = (unsigned)p[60] << 8 | p[61];
        size_t fixed = 62;
        if (flags & 0x4000) { /* extended flags: intent-to-add, skip-worktree */
            if (version < 3) ok = 0;
            fixed = 64;
            if ((size_t)(end - p) < 64 || ((unsigned)p[62] << 8 | p[63])) ok = 0;
        }
        if (flags & 0x3000) ok = 0; /* a conflict's stage */
        if (e->mode != GIT_FILEMODE_BLOB && e->mode != GIT_FILEMODE_BLOB_EXECUTABLE &&
            e->mode != GIT_FILEMODE_LINK && e->mode != GIT_FILEMODE_COMMIT)
            ok = 0; /* a sparse index's directory, or damage */
        if (!ok) break;
        const unsigned char *q = p + fixed;
        if (version == 4) {
            size_t strip;
            if (!get_varint(&q, end, &strip) || strip > prev_len) {
                ok = 0;
                break;
            }
            const unsigned char *nul = memchr(q, 0, (size_t)(end - q));
            if (!nul) {
                ok = 0;
                break;
            }
            size_t keep = prev_len - strip, add = (size_t)(nul - q);
            size_t off = names.len;
            fr_buf_reserve(&names, keep + add + 1);
            memmove(names.p + off, names.p + prev_off, keep); /* reserve may move names.p */
            memcpy(names.p + off + keep, q, add);
            names.len = off + keep + add;
            names.p[names.len++] = 0;
            offs[i] = off, prev_off = off, prev_len = keep + add;
            p = nul + 1;
        } else {
            const unsigned char *nul = memchr(q, 0, (size_t)(end - q));
            size_t size = nul ? ((fixed + (size_t)(nul - q) + 8) & ~(size_t)7) : 0;
            if (!nul || (size_t)(end - p) < size) {
                ok = 0;
                break;
            }
            e->path = (const char *)q;
            prev_len = (size_t)(nul - q);
            p += size;
        }
    }
    if (ok && version == 4) {
        x->names = fr_buf_steal(&names);
        for (uint32_t i = 0; i < n; i++)
            x->v[i].path = x->names + offs[i];
    }
    fr_buf_release(&names);
    free(offs);
    for (uint32_t i = 0; ok && i < n; i++) /* git's order: unique paths, sorted */
        ok = plain_path(x->v[i].path, strlen(x->v[i].path)) &&
             (i == 0 || strcmp(x->v[i - 1].path, x->v[i].path) < 0);
    /* extensions: "TREE" (the cache tree) is read; another required one
     * (a name not starting with a capital, as git and libgit2 tell) is not
     * understood */
    while (ok && (size_t)(end - p) >= 8) {
        uint32_t sz = be32(p + 4);
        const unsigned char *d = p + 8;
        if (sz > (size_t)(end - d) || p[0] < 'A' || p[0] > 'Z') {
            ok = 0;
            break;
        }
        if (!memcmp(p, "TREE", 4) && sz > 0 && d[0] == 0) {
            /* the root: "" NUL, its entry count (-1: invalid), SP, its subtree
             * count, LF, then its id when valid */
            const unsigned char *t = d + 1, *te = d + sz;
            long cnt = 0;
            int neg = t < te && *t == '-', digits = 0;
            if (neg) t++;
            for (; t < te && *t >= '0' && *t <= '9' && digits < 10; t++, digits++)
                cnt = cnt * 10 + (*t - '0');
            while (t < te && *t != '\n')
                t++;
            if (!neg && digits && t < te && (size_t)(te - t) > 20 && (uint64_t)cnt == n) {
                git_oid_fromraw(&x->tree, t + 1);
                x->tree_ok = 1;
            }
        }
        p = d + sz;
    }
    if (ok && p != end) ok = 0;
    x->n = ok ? n : 0;
    if (!ok) index_release(x);
    return ok;
}

/* index_stat_eq for an entry read directly. */
static int entry_stat_eq(const wt_entry *e, const struct stat *st, int64_t index_mtime)
{
    return e->size == (uint32_t)st->st_size && e->mtime_s == (uint32_t)st->st_mtim.tv_sec &&
           e->mtime_ns == (uint32_t)st->st_mtim.tv_nsec &&
           e->ctime_s == (uint32_t)st->st_ctim.tv_sec &&
           e->ctime_ns == (uint32_t)st->st_ctim.tv_nsec && e->ino == (uint32_t)st->st_ino &&
           ns_of(&st->st_mtim) < index_mtime;
}

/* The first entry of the index (sorted by path) not before path. */
static size_t lower_bound(const wt_index *x, const char *path)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->v[mid].path, path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Whether the index read directly holds path (prefix: a path starting with it). */
static int own_has(const wt_index *x, const char *path, int prefix)
{
    size_t lo = lower_bound(x, path);
    if (lo == x->n) return 0;
    return prefix ? !strncmp(x->v[lo].path, path, strlen(path)) : !strcmp(x->v[lo].path, path);
}

/* The names the index holds in directory rel ("" or ending with '/'), each
 * once, as "f NAME\n" (a path) or "d NAME\n" (a directory above paths), in
 * the index's order; *n: how many. */
static void index_kids(const wt_index *x, const char *rel, fr_buf *out, size_t *n)
{
    size_t len = strlen(rel), lo = lower_bound(x, rel);
    out->len = 0;
    fr_buf_puts(out, "");
    *n = 0;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (size_t i = lo; i < x->n && !strncmp(x->v[i].path, rel, len); i++) {
        const char *name = x->v[i].path + len;
        const char *slash = strchr(name, '/');
        size_t nl = slash ? (size_t)(slash - name) : strlen(name);
        if (prev && prev_len == nl && !memcmp(prev, name, nl)) continue; /* the same directory */
        fr_buf_puts(out, slash ? "d " : "f ");
        fr_buf_append(out, name, nl);
        fr_buf_puts(out, "\n");
        prev = name, prev_len = nl;
        (*n)++;
    }
}

/* Each entry's lstat (errs[i]: 0, or its errno), each path looked up from
 * the work tree's directory, not from / (-12% of the lstat calls' time on
 * openai-python's 1,894 files). */
static void stat_entries(const char *workdir, const wt_index *x, struct stat *sts, int *errs)
{
    int wfd = open(workdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    fr_buf disk = {0};
    fr_buf_puts(&disk, workdir);
    size_t base = disk.len;
    for (size_t i = 0; i < x->n; i++) {
        int got;
        if (wfd >= 0) {
            got = fstatat(wfd, x->v[i].path, &sts[i], AT_SYMLINK_NOFOLLOW);
        } else {
            disk.len = base;
            fr_buf_puts(&disk, x->v[i].path);
            got = lstat(disk.p, &sts[i]);
        }
        errs[i] = got == 0 ? 0 : errno ? errno : EIO;
    }
    if (wfd >= 0) close(wfd);
    fr_buf_release(&disk);
}

/* -------------------------------------------------------- the prefetch --- */

/*
 * A re-scan of a checkout spends its work-tree pass in system calls that need
 * nothing of the rules, the engine or the store: the index read, an lstat per
 * tracked file, a listing of each directory holding tracked files.
 * fr_git_worktree_prefetch makes them on a thread of its own as the scan
 * starts, while the main thread loads the rules and the engine and opens the
 * store (on openai-python's re-scan: 1,894 lstat calls and 152 directories,
 * ~8 ms of system time, off the main thread). fr_git_worktree_scan takes them
 * for the same work tree and git directory, scan_direct the index and the
 * stat data only while the index file is the one read (same inode, size,
 * mtime and ctime; git and libgit2 write it anew under a lock), walk_dir the
 * listings; anything else is read as before. The same checks then run on
 * the same kind of data, taken a few milliseconds earlier: the rows' checked
 * time is taken before the first lstat, as before. Started, taken and ended
 * on the main thread; the thread only fills its own wt_prefetch, which the
 * main thread reads after joining it.
 *
 *   started ──join──> taken: index + stat data (index unchanged), listings ──> ended
 *      └─────────────────────────(no scan of that work tree)─────────────────────┘
 */
struct wt_prefetch {
    wt_prefetch *next;
    char *workdir, *gitdir; /* each ending with '/' */
    pthread_t th;
    int running; /* the thread is to be joined */
    int taken;   /* by a scan of the work tree */
    int ok;      /* x was read and each entry looked at (sts, errs, now) */
    wt_index x;
    struct timespec now;
    struct stat *sts;
    int *errs;
    wt_dirstat *dirs; /* sorted by rel */
    size_t ndirs, cap;
    char fp[65]; /* the repository's fingerprint (fr_git_fingerprint) */
    int fp_ok, fp_taken;
};

static wt_prefetch *prefetches;

static int cmp_dirstat(const void *a, const void *b)
{
    return strcmp(((const wt_dirstat *)a)->rel, ((const wt_dirstat *)b)->rel);
}

static const wt_dirstat *prefetched_dir(const wt_prefetch *pf, const char *rel)
{
    if (!pf || !pf->ndirs) return NULL;
    wt_dirstat want = {.rel = (char *)rel};
    return bsearch(&want, pf->dirs, pf->ndirs, sizeof *pf->dirs, cmp_dirstat);
}

static struct timespec prefetch_now(const wt_prefetch *pf)
{
    return pf->now;
}

/* The lstat of directory rel[0..len) (empty or ending with '/'). */
static void prefetch_dir(wt_prefetch *pf, fr_buf *disk, size_t base, const char *rel, size_t len)
{
    disk->len = base;
    fr_buf_append(disk, rel, len);
    wt_dirstat l = {0};
    l.ok = lstat(disk->p, &l.st) == 0 && S_ISDIR(l.st.st_mode);
    l.rel = fr_xcalloc(len + 1, 1);
    memcpy(l.rel, rel, len);
    if (pf->ndirs == pf->cap) {
        pf->cap = pf->cap ? pf->cap * 2 : 64;
        pf->dirs = fr_xrealloc(pf->dirs, pf->cap * sizeof *pf->dirs);
    }
    pf->dirs[pf->ndirs++] = l;
}

static void *prefetch_main(void *arg)
{
    wt_prefetch *pf = arg;
    if (!read_index(pf->gitdir, &pf->x)) return NULL;
    size_t n = pf->x.n;
    pf->sts = fr_xcalloc(n ? n : 1, sizeof *pf->sts);
    pf->errs = fr_xcalloc(n ? n : 1, sizeof *pf->errs);
    clock_gettime(CLOCK_REALTIME, &pf->now); /* before any file's lstat */
    stat_entries(pf->workdir, &pf->x, pf->sts, pf->errs);
    pf->ok = 1;
    /* The directories list_untracked walks in any case, for clean_dir: the
     * root and each one holding a tracked file (after the files: the rows'
     * checked time, now, is before them too). A directory's paths are adjacent
     * in the index's order, so each is met once: the directories of a path
     * that the previous path does not share. */
    fr_buf disk = {0};
    fr_buf_puts(&disk, pf->workdir);
    size_t base = disk.len;
    prefetch_dir(pf, &disk, base, "", 0);
    const char *prev = "";
    for (size_t i = 0; i < n; i++) {
        const char *p = pf->x.v[i].path;
        size_t shared = 0;
        for (size_t j = 0; p[j] && p[j] == prev[j]; j++)
            if (p[j] == '/') shared = j + 1;
        for (const char *sl = strchr(p + shared, '/'); sl; sl = strchr(sl + 1, '/'))
            prefetch_dir(pf, &disk, base, p, (size_t)(sl - p) + 1);
        prev = p;
    }
    fr_buf_release(&disk);
    if (pf->ndirs > 1) qsort(pf->dirs, pf->ndirs, sizeof *pf->dirs, cmp_dirstat);
    /* and the fingerprint the scan checks next (refs and packs: taken before
     * the walk, as it would be on the main thread) */
    gs_init();
    pf->fp_ok = fr_git_fingerprint(pf->workdir, pf->fp) == 0;
    return NULL;
}

void fr_git_worktree_prefetch(const char *path)
{
    const char *reader = getenv("FERRET_INDEX_READER"); /* "0": libgit2 reads the index */
    if (reader && !strcmp(reader, "0")) return;
    char *real = realpath(path, NULL);
    if (!real) return;
    fr_buf wd = {0}, gd = {0};
    fr_buf_printf(&wd, "%s%s", real, real[0] && real[strlen(real) - 1] == '/' ? "" : "/");
    free(real);
    fr_buf_printf(&gd, "%s.git/", wd.p);
    struct stat st;
    if (lstat(gd.p, &st) != 0 || !S_ISDIR(st.st_mode)) { /* no work tree, or a linked one */
        fr_buf_release(&wd), fr_buf_release(&gd);
        return;
    }
    wt_prefetch *pf = fr_xcalloc(1, sizeof *pf);
    pf->workdir = fr_buf_steal(&wd);
    pf->gitdir = fr_buf_steal(&gd);
    if (pthread_create(&pf->th, NULL, prefetch_main, pf)) {
        free(pf->workdir), free(pf->gitdir), free(pf);
        return;
    }
    pf->running = 1;
    pf->next = prefetches;
    prefetches = pf;
}

/* The prefetch of this work tree (joined), once. */
static wt_prefetch *prefetch_take(const char *workdir, const char *gitdir)
{
    for (wt_prefetch *pf = prefetches; pf; pf = pf->next) {
        if (pf->taken || strcmp(pf->workdir, workdir) || !gitdir || strcmp(pf->gitdir, gitdir))
            continue;
        if (pf->running) pthread_join(pf->th, NULL);
        pf->running = 0;
        pf->taken = 1;
        return pf;
    }
    return NULL;
}

/* Hands over the prefetch's index and stat data when the index file is still
 * the one it read. */
static int prefetch_take_index(wt_prefetch *pf, wt_index *x, struct stat **sts, int **errs,
                               struct timespec *now)
{
    if (!pf || !pf->ok) return 0;
    fr_buf path = {0};
    fr_buf_printf(&path, "%sindex", pf->gitdir);
    struct stat st;
    const struct stat *was = &pf->x.st;
    int same = stat(path.p, &st) == 0 && st.st_dev == was->st_dev && st.st_ino == was->st_ino &&
               st.st_size == was->st_size && ns_of(&st.st_mtim) == ns_of(&was->st_mtim) &&
               ns_of(&st.st_ctim) == ns_of(&was->st_ctim);
    fr_buf_release(&path);
    if (!same) return 0;
    *x = pf->x, *sts = pf->sts, *errs = pf->errs, *now = pf->now;
    memset(&pf->x, 0, sizeof pf->x);
    pf->sts = NULL, pf->errs = NULL, pf->ok = 0;
    return 1;
}

int fr_git_prefetched_fingerprint(const char *path, char out[65])
{
    if (!prefetches) return FR_ENOTFOUND;
    char *real = realpath(path, NULL);
    if (!real) return FR_ENOTFOUND;
    size_t rl = strlen(real);
    int rc = FR_ENOTFOUND;
    for (wt_prefetch *pf = prefetches; pf; pf = pf->next) {
        if (pf->fp_taken || strncmp(pf->workdir, real, rl) ||
            strcmp(pf->workdir + rl, real[rl - 1] == '/' ? "" : "/"))
            continue;
        if (pf->running) pthread_join(pf->th, NULL);
        pf->running = 0;
        pf->fp_taken = 1;
        if (pf->fp_ok) {
            memcpy(out, pf->fp, 65);
            rc = FR_OK;
            if (getenv("FERRET_GIT_TRACE")) /* tests/e2e/test_worktree_direct.sh */
                fprintf(stderr, "ferret git fingerprint: %s prefetched\n", path);
        }
        break;
    }
    free(real);
    return rc;
}

void fr_git_worktree_prefetch_end(void)
{
    while (prefetches) {
        wt_prefetch *pf = prefetches;
        prefetches = pf->next;
        if (pf->running) pthread_join(pf->th, NULL);
        index_release(&pf->x);
        free(pf->sts), free(pf->errs);
        for (size_t i = 0; i < pf->ndirs; i++)
            free(pf->dirs[i].rel);
        free(pf->dirs), free(pf->workdir), free(pf->gitdir), free(pf);
    }
}

/* A file refresh found modified, or a stat-cache row to save. */
typedef struct {
    size_t entry;
    git_oid id;
} wt_changed;

typedef struct {
    char *disk;
    int64_t v[6];
    char hex[GIT_OID_HEXSZ + 1];
} wt_pending;

/* The work tree against the index read directly (read_index), when HEAD's
 * tree is the index's cache tree (nothing staged: no diff to make) - what a
 * re-scan of a checkout mostly meets. Each tracked file is told as
 * refresh_index tells it; nothing is submitted or saved until every file was
 * (a file only libgit2's status can tell, or one that cannot be hashed,
 * leaves the whole work tree to the libgit2 path: returns 0). Untracked
 * files are listed by list_untracked against the same index. Returns 1 when
 * the work tree was scanned (*rc: how). */
static int scan_direct(wt_scan *s, git_repository *repo, int *rc)
{
    const fr_worktree_opts *o = s->opts;
    const char *reader = getenv("FERRET_INDEX_READER"); /* "0": libgit2 reads the index */
    if ((!o->stat_load && !o->stat_save) || (reader && !strcmp(reader, "0"))) return 0;
    git_config *cfg = NULL;
    int icase = 0; /* libgit2's index then finds paths case-insensitively */
    if (git_repository_config_snapshot(&cfg, repo)) return 0;
    if (git_config_get_bool(&icase, cfg, "core.ignorecase")) icase = 0;
    git_config_free(cfg);
    if (icase) return 0;
    wt_index x;
    struct stat *sts = NULL;
    int *errs = NULL;
    struct timespec now; /* before any file's lstat: the rows' checked time */
    s->pf_index = prefetch_take_index(s->pf, &x, &sts, &errs, &now);
    if (!s->pf_index && !read_index(git_repository_path(repo), &x)) return 0;
    git_oid head_id;
    git_commit *head = NULL;
    int same = x.tree_ok && git_reference_name_to_id(&head_id, repo, "HEAD") == 0 &&
               git_commit_lookup(&head, repo, &head_id) == 0 &&
               git_oid_equal(git_commit_tree_id(head), &x.tree);
    git_commit_free(head);
    if (!same) {
        index_release(&x);
        free(sts), free(errs);
        return 0;
    }
    size_t n = x.n, nchanged = 0, npending = 0, hashed = 0;
    if (!sts) {
        sts = fr_xcalloc(n ? n : 1, sizeof *sts);
        errs = fr_xcalloc(n ? n : 1, sizeof *errs);
        clock_gettime(CLOCK_REALTIME, &now);
        stat_entries(s->workdir, &x, sts, errs);
    }
    unsigned char *look = fr_xcalloc(n ? n : 1, 1);
    fr_buf disk = {0};
    fr_buf_puts(&disk, s->workdir);
    size_t base = disk.len;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        const wt_entry *e = &x.v[i];
        int got = errs[i] ? -1 : 0, err = errs[i];
        uint32_t mode = got == 0 ? git_mode(&sts[i]) : 0;
        look[i] = got == 0 && mode == e->mode && mode != GIT_FILEMODE_LINK;
        if (!look[i] && e->mode != GIT_FILEMODE_COMMIT &&
            !(got != 0 && (err == ENOENT || err == ENOTDIR)) &&
            !(got == 0 && mode == GIT_FILEMODE_LINK && e->mode == GIT_FILEMODE_LINK &&
              entry_stat_eq(e, &sts[i], x.mtime)))
            ok = 0; /* list_untracked's s->odd */
    }
    wt_rows rows = {.prefix_len = strlen(s->workdir)};
    wt_changed *changed = fr_xcalloc(n ? n : 1, sizeof *changed);
    wt_pending *pending = NULL;
    for (size_t i = 0; i < n && ok; i++) {
        const wt_entry *e = &x.v[i];
        if (!look[i] || entry_stat_eq(e, &sts[i], x.mtime)) continue;
        disk.len = base;
        fr_buf_puts(&disk, e->path);
        load_rows(s, &rows);
        const wt_row *r = find_row(&rows, e->path);
        uint32_t mode = git_mode(&sts[i]);
        git_oid id;
        if (r && row_stat_eq(r, &sts[i], mode)) {
            id = r->id;
        } else if (git_repository_hashfile(&id, repo, disk.p, GIT_OBJECT_BLOB, e->path)) {
            ok = 0;
            break;
        } else {
            hashed++;
            pending = fr_xrealloc(pending, (npending + 1) * sizeof *pending);
            wt_pending *w = &pending[npending++];
            w->disk = fr_xstrdup(disk.p);
            int64_t v[6] = {(int64_t)sts[i].st_size, ns_of(&sts[i].st_mtim), ns_of(&sts[i].st_ctim),
                            (int64_t)sts[i].st_ino,  (int64_t)mode,          ns_of(&now)};
            memcpy(w->v, v, sizeof v);
            git_oid_tostr(w->hex, sizeof w->hex, &id);
        }
        if (!git_oid_equal(&id, &e->id)) changed[nchanged++] = (wt_changed){i, id};
    }
    if (ok) {
        s->stats->tracked += n;
        s->stats->hashed += hashed;
        for (size_t k = 0; k < npending; k++)
            if (o->stat_save)
                o->stat_save(o->stat_ctx, pending[k].disk, pending[k].v, pending[k].hex);
        for (size_t k = 0; k < nchanged && !s->stopped; k++)
            submit_file(s, x.v[changed[k].entry].path, &s->stats->modified);
        if (!s->stopped && !fr_interrupted && !list_untracked(s, repo, NULL, &x)) {
            /* the ignore rules failed: libgit2's status lists the untracked
             * files, on its index given what was just told (as refresh_index) */
            git_index *idx = NULL;
            if (git_repository_index(&idx, repo)) {
                fr_error_set("%s: cannot read the index: %s", s->repo, gs_err());
                *rc = FR_ERR;
            } else {
                size_t k = 0;
                for (size_t i = 0; i < n; i++) {
                    git_index_entry *le =
                        (git_index_entry *)git_index_get_bypath(idx, x.v[i].path, 0);
                    if (!le || !look[i]) continue;
                    set_stat(le, &sts[i]);
                    while (k < nchanged && changed[k].entry < i)
                        k++;
                    if (k < nchanged && changed[k].entry == i) le->id = changed[k].id;
                }
                *rc = scan_workdir(s, repo, 1);
            }
            git_index_free(idx);
        }
    }
    for (size_t k = 0; k < npending; k++)
        free(pending[k].disk);
    free(pending);
    free(changed);
    for (size_t i = 0; i < rows.n; i++)
        free(rows.v[i].path);
    free(rows.v);
    fr_buf_release(&disk);
    free(sts), free(errs), free(look);
    index_release(&x);
    return ok;
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
    wt_scan s = {opts, p, stats, path, workdir, 0, 0, prefetch_take(workdir, gd), 0, 0, 0};
    git_index *idx = NULL;
    int rc = FR_OK;
    int direct = scan_direct(&s, repo, &rc);
    if (getenv("FERRET_GIT_TRACE")) /* tests/e2e/test_worktree_direct.sh */
        fprintf(stderr, "ferret git work tree: %s index=%s prefetch=%s dirs read %zu clean %zu\n",
                path, direct ? "direct" : "libgit2",
                s.pf_index ? "index"
                : s.pf     ? "dirs"
                           : "none",
                s.read_dirs, s.clean_dirs);
    if (direct) {
        /* done: nothing staged, every tracked file told */
    } else if (git_repository_index(&idx, repo)) {
        fr_error_set("%s: cannot read the index: %s", path, gs_err());
        rc = FR_ERR;
    } else {
        /* Both steps run even if one fails: what can be read is scanned. */
        rc = scan_index(&s, repo, idx);
        int refreshed = refresh_index(&s, repo, idx), wrc = FR_OK;
        if (!refreshed || s.odd || !list_untracked(&s, repo, idx, NULL))
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
