/*
 * fs.c: the filesystem source. nftw(FTW_PHYS) walks without following links;
 * each regular file becomes an item whose loader reads it with a size cap.
 * Owns nothing beyond the walk; items are handed to the pipeline.
 */
#include "sources/sources.h"

#include "sources/archive.h"
#include "sources/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads fd to its end into out (appending): more than cap bytes gives FR_ELIMIT. */
static int read_all(int fd, fr_buf *out, uint64_t cap, fr_buf *why)
{
    for (;;) {
        if (out->len > cap) return FR_ELIMIT;
        fr_buf_reserve(out, 65536);
        ssize_t n = read(fd, out->p + out->len, out->cap - out->len - 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            fr_buf_printf(why, "read error: %s", strerror(errno));
            return FR_ERR;
        }
        if (n == 0) break;
        out->len += (size_t)n;
        out->p[out->len] = 0;
    }
    return out->len > cap ? FR_ELIMIT : FR_OK;
}

int fr_fs_load_file(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    int fd = open(it->load_arg, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        fr_buf_printf(why, "cannot open: %s", strerror(errno));
        return errno == ENOENT ? FR_ENOTFOUND : FR_ERR;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fr_buf_puts(why, "not a regular file");
        close(fd);
        return FR_ERR;
    }
    if ((uint64_t)st.st_size > cap) {
        close(fd);
        return FR_ELIMIT;
    }
    fr_buf_reserve(out, (size_t)st.st_size + 1);
    int rc = read_all(fd, out, cap, why);
    close(fd);
    return rc;
}

/* A stream the user named (standard input, a pipe or FIFO): its size is not
 * known before it is read, so the cap is applied while reading. The open
 * blocks until a FIFO has a writer, as with any reader of a FIFO. */
static int load_stream(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    if (!strcmp(it->load_arg, "-")) return read_all(STDIN_FILENO, out, cap, why);
    int fd = open(it->load_arg, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fr_buf_printf(why, "cannot open: %s", strerror(errno));
        return FR_ERR;
    }
    int rc = read_all(fd, out, cap, why);
    close(fd);
    return rc;
}

/* Submits a stream as one item: stdin is located as kind "stdin" (path
 * "<stdin>"), a named pipe as a file at the path given. Never remembered for
 * incremental sweeps (a stream has no stable size or mtime). */
static int submit_stream(const char *path, fr_pipeline *p)
{
    int in = !strcmp(path, "-");
    fr_item *it = fr_item_new(in ? "stdin" : "file", in ? "<stdin>" : path);
    it->load = load_stream;
    it->load_arg = fr_xstrdup(path);
    it->expand = fr_archive_expand;
    it->normalize = fr_log_normalizer;
    it->describe = fr_log_describe;
    if (fr_pipeline_submit(p, it)) {
        fr_error_set("the scan stopped early (the store failed)");
        return FR_ERR;
    }
    return FR_OK;
}

/* nftw has no context argument: the walk's state lives here (one walk at a time). */
static struct {
    const fr_fs_opts *opts;
    fr_pipeline *p;
    fr_fs_stats *stats;
    int stopped;
    size_t rootlen; /* of the walk's root path, for paths relative to it */
} W;

/* Sharding: is this entry the shard's? Decided by its path relative to the
 * root, so the root's own location never moves an entry to another shard. */
static int owned(const char *path, int level, int base)
{
    if (!W.opts->owns) return 1;
    const char *rel = level == 0 ? path + base : path + W.rootlen;
    while (level > 0 && *rel == '/')
        rel++;
    return W.opts->owns(W.opts->owns_ctx, rel);
}

static void submit(const char *path, fr_content_status st, const char *reason,
                   const struct stat *sb)
{
    fr_item *it = fr_item_new("file", path);
    it->status = st;
    if (sb) {
        char iso[32];
        fr_time_iso((int64_t)sb->st_mtim.tv_sec, iso);
        it->locs[0].mtime = fr_xstrdup(iso);
        it->size = (uint64_t)sb->st_size;
        it->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    }
    if (reason) it->reason = fr_xstrdup(reason);
    fr_buf ci = {0}; /* a log's own place may tell its CI job and run */
    fr_location l = {0};
    fr_log_describe(path, NULL, &l, &ci);
    if (l.ci_run) it->locs[0].ci_run = fr_xstrdup(l.ci_run);
    if (l.ci_job) it->locs[0].ci_job = fr_xstrdup(l.ci_job);
    fr_buf_release(&ci);
    char key[96];
    if (st == FR_ST_SCANNED && sb && W.opts->unchanged &&
        W.opts->unchanged(W.opts->unchanged_ctx, path, it->size, it->mtime_ns, key, sizeof key)) {
        it->key = fr_xstrdup(key); /* read before, unchanged: re-confirm where it is */
        it->known = 1;
        W.stats->unchanged++;
    } else if (st == FR_ST_SCANNED) {
        it->load = fr_fs_load_file;
        it->load_arg = fr_xstrdup(path);
        it->expand = fr_archive_expand;
        it->normalize = fr_log_normalizer;
        it->describe = fr_log_describe;
        it->remember_file = 1;
    } else {
        W.stats->skipped++;
    }
    if (fr_pipeline_submit(W.p, it)) W.stopped = 1;
}

/* A name no content is read under (a link, a repository's directory): only the
 * name is checked for a secret (pipeline.h, path_only). */
static void submit_name(const char *path, const char *what)
{
    fr_item *it = fr_item_new("file", path);
    it->status = FR_ST_SKIPPED;
    it->reason = fr_xstrdup(what);
    it->path_only = 1;
    if (fr_pipeline_submit(W.p, it)) W.stopped = 1;
}

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    if (fr_interrupted || W.stopped) return 1;
    /* Entries of other shards are passed over; directories are walked by all. */
    if (type != FTW_D && !owned(path, ftw->level, ftw->base)) return FTW_CONTINUE;
    switch (type) {
    case FTW_F:
        for (int i = 0; i < W.opts->nskip; i++)
            if (W.opts->skip[i].dev == (unsigned long long)sb->st_dev &&
                W.opts->skip[i].ino == (unsigned long long)sb->st_ino)
                return FTW_CONTINUE; /* ferret's own database */
        if (S_ISREG(sb->st_mode)) {
            W.stats->files++;
            if ((uint64_t)sb->st_size > W.opts->max_size) {
                char why[96];
                snprintf(why, sizeof why, "larger than --max-file-size (%llu bytes)",
                         (unsigned long long)W.opts->max_size);
                submit(path, FR_ST_SKIPPED, why, sb);
            } else {
                submit(path, FR_ST_SCANNED, NULL, sb);
            }
        } else {
            submit(path, FR_ST_SKIPPED, "not a regular file (device, FIFO or socket)", NULL);
        }
        break;
    case FTW_D:
        W.stats->dirs++;
        if (W.opts->on_repo && fr_git_is_repo(path)) {
            /* a root repository is every shard's (its blobs are sharded) */
            if (!owned(path, ftw->level ? ftw->level : 1, 0)) return FTW_SKIP_SUBTREE;
            /* its files are read from its history, under paths inside it */
            submit_name(path, "git repository");
            W.opts->on_repo(path, W.opts->ctx);
            return FTW_SKIP_SUBTREE;
        }
        if (ftw->level > 0 && !strcmp(path + ftw->base, ".git")) return FTW_SKIP_SUBTREE;
        break;
    case FTW_DNR: {
        char why[160];
        snprintf(why, sizeof why, "cannot read directory: %s", strerror(EACCES));
        submit(path, FR_ST_ERROR, why, NULL);
        break;
    }
    case FTW_NS:
        submit(path, FR_ST_ERROR, "cannot stat", NULL);
        break;
    case FTW_SL:
    case FTW_SLN:
        submit_name(path, "symbolic link not followed");
        break;
    default:
        break;
    }
    return FTW_CONTINUE;
}

int fr_fs_scan(const char *path, const fr_fs_opts *opts, fr_pipeline *p, fr_fs_stats *stats)
{
    struct stat st;
    if (!strcmp(path, "-")) return submit_stream(path, p);
    if (stat(path, &st) != 0) {
        fr_error_set("%s: %s", path, strerror(errno));
        return errno == ENOENT ? FR_ENOTFOUND : FR_ERR;
    }
    if (access(path, R_OK) != 0) {
        fr_error_set("%s: %s", path, strerror(errno));
        return FR_ERR;
    }
    /* A pipe or FIFO the user named (`<(cmd)`, mkfifo) is read; below the root
     * one is skipped, as a walk must not block on a FIFO nobody writes to. */
    if (S_ISFIFO(st.st_mode)) {
        stats->files++;
        return submit_stream(path, p);
    }
    W.opts = opts;
    W.p = p;
    W.stats = stats;
    W.stopped = 0;
    /* The root may itself be a link the user named: resolve it once, then walk
     * physically. Otherwise paths are recorded as the user wrote them. */
    struct stat lst;
    char *root = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) ? realpath(path, NULL) : NULL;
    W.rootlen = strlen(root ? root : path);
    int rc = nftw(root ? root : path, visit, 64, FTW_PHYS | FTW_ACTIONRETVAL);
    free(root);
    if (fr_interrupted) return FR_EINTR;
    if (W.stopped) {
        fr_error_set("the scan stopped early (the store failed)");
        return FR_ERR;
    }
    if (rc < 0) {
        fr_error_set("%s: walk failed: %s", path, strerror(errno));
        return FR_ERR;
    }
    return FR_OK;
}
