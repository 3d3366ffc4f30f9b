/*
 * sources: where content comes from. Each source walks its inputs and submits
 * items (origin + a loader) to the pipeline; it knows its own formats (files,
 * git, archives) and nothing of Hyperscan or SQL.
 */
#ifndef FERRET_SOURCES_H
#define FERRET_SOURCES_H

#include "pipeline/pipeline.h"

typedef struct {
    uint64_t max_size; /* files larger are submitted as skipped, unread */
    /* Called for each git repository found (the walk does not enter it); NULL:
     * repositories are walked as plain directories minus their .git. */
    void (*on_repo)(const char *path, void *ctx);
    void *ctx;
    /* Files never scanned, by device and inode (ferret's own database files). */
    struct {
        unsigned long long dev, ino;
    } skip[4];
    int nskip;
    /* Incremental sweeps: returns 1 (and the content key) when the file was read
     * before with this size and mtime under the current rules; it is then not
     * read again. NULL: every file is read. */
    int (*unchanged)(void *ctx, const char *path, uint64_t size, int64_t mtime_ns, char *key,
                     size_t keysz);
    void *unchanged_ctx;
} fr_fs_opts;

typedef struct {
    uint64_t files, dirs, skipped, unchanged;
} fr_fs_stats;

/*
 * Walks path (a file or a directory, recursively) and submits every regular
 * file. Symbolic links below the root are never followed (so the walk cannot
 * leave the tree); special files are recorded as skipped; git repositories are
 * handed to opts->on_repo. Returns FR_ENOTFOUND / FR_ERR when path itself cannot
 * be read, FR_EINTR when interrupted, FR_OK otherwise (problems below the root
 * are recorded as items with status error).
 */
int fr_fs_scan(const char *path, const fr_fs_opts *opts, fr_pipeline *p, fr_fs_stats *stats);

/* ---- git ---- */

/* Blob ids already scanned under the current rules, and whether they had matches. */
typedef struct fr_known_blobs fr_known_blobs;
fr_known_blobs *fr_known_blobs_new(void);
void fr_known_blobs_free(fr_known_blobs *k);
/* hex: a 40-hex object id. Returns FR_ECORRUPT for anything else. */
int fr_known_blobs_add(fr_known_blobs *k, const char *hex, int has_matches);

/* Is path a git repository (a work tree with .git, or a bare repository)? */
int fr_git_is_repo(const char *path);

typedef struct {
    uint64_t max_size;           /* blobs larger are recorded as skipped */
    const fr_known_blobs *known; /* may be NULL: scan everything */
    int verify_hashes;           /* re-hash every object read (libgit2's strict mode) */
} fr_git_opts;

typedef struct {
    uint64_t refs, commits, trees, blobs, blobs_known, unreachable_blobs, messages;
    int incomplete; /* something could not be read: missing objects, shallow history */
} fr_git_stats;

/* A fingerprint of a repository's refs and object files: unchanged fingerprint
 * (under unchanged rules) means nothing new to scan. */
int fr_git_fingerprint(const char *path, char out[65]);

/*
 * Scans every ref, every commit reachable from them, every blob of their trees,
 * commit and tag messages, path names, and the unreachable objects of the
 * repository at path. Each unique blob is submitted once, with every path it
 * appears at and the first commit (topological order) that has it there.
 * Problems with objects are recorded as items and flagged in stats->incomplete;
 * FR_ENOTFOUND / FR_ERR only when the repository cannot be opened at all.
 */
int fr_git_scan(const char *path, const fr_git_opts *opts, fr_pipeline *p, fr_git_stats *stats);

/* ---- pushes (the pre-receive hook) ---- */

/* One line of git's pre-receive input. */
typedef struct {
    char old_oid[41], new_oid[41];
    char *ref;
} fr_push_update;

/* What a push adds, handed over one piece at a time. data is borrowed. */
typedef struct {
    const char *kind;   /* "git" (a blob), "git-message" (commit or tag message) */
    const char *path;   /* blob path, or "<commit message>" / "<tag message: NAME>" */
    const char *commit; /* introducing commit (tags: the tagged commit) */
    const char *blob;   /* blob id, for blobs */
    const char *author_name, *author_email, *author_date;
    const char *ref;
    const unsigned char *data;
    size_t len;
    uint64_t size; /* blobs: the whole blob's size (over max_size: more than len) */
    int path_only; /* a blob already handed over in this push, at another path:
                      data is NULL, only the path is new */
} fr_push_piece;

typedef int (*fr_push_fn)(void *ctx, const fr_push_piece *piece);

typedef struct {
    uint64_t commits, blobs, bytes;
    int incomplete; /* an object could not be read */
} fr_push_stats;

/*
 * Opens the repository the way git's hooks see it (GIT_DIR, the push's
 * quarantine through GIT_OBJECT_DIRECTORY / GIT_ALTERNATE_OBJECT_DIRECTORIES)
 * and calls fn for what the updates add: every commit reachable from a new tip
 * and from no existing ref, its message, the blobs it introduces (not at the
 * same path in any parent) and annotated tag messages. A blob's content is
 * passed once per push; each further path it appears at is passed path_only.
 * A blob over max_size is passed with its first max_size bytes at most (len <
 * size), or data NULL when those cannot be read apart from the rest (an
 * object packed in a delta). fn returning non-zero stops.
 */
int fr_git_push_walk(const fr_push_update *u, size_t n, uint64_t max_size, fr_push_fn fn, void *ctx,
                     fr_push_stats *stats);

/* Reads git config values of the hook's repository in one go: values[i] is the
 * value of keys[i] (caller frees) or NULL when unset. */
int fr_git_hook_config(const char *const *keys, size_t n, char **values);

#endif
