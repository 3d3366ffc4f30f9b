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
    } skip[6];
    int nskip;
    /* Incremental sweeps: returns 1 (and the content key) when the file was read
     * before with this size and mtime under the current rules; it is then not
     * read again. NULL: every file is read. */
    int (*unchanged)(void *ctx, const char *path, uint64_t size, int64_t mtime_ns, char *key,
                     size_t keysz);
    void *unchanged_ctx;
    /* Sharding (ferret scan --shard): a file, link, unreadable entry or git
     * repository below the root is submitted only when owns(relpath) returns 1,
     * relpath being its path relative to the root ("" for a root directory or
     * repository, the file name for a root file). NULL: everything. */
    int (*owns)(void *ctx, const char *relpath);
    void *owns_ctx;
} fr_fs_opts;

typedef struct {
    uint64_t files, dirs, skipped, unchanged;
} fr_fs_stats;

/*
 * Walks path (a file or a directory, recursively) and submits every regular
 * file. Symbolic links below the root are never followed (so the walk cannot
 * leave the tree); special files below the root are recorded as skipped; git
 * repositories are handed to opts->on_repo. Streams are read to their end
 * (at most opts->max_size bytes, else recorded as skipped): path "-" is
 * standard input (location kind "stdin", path "<stdin>"), and a root that is
 * a pipe or FIFO (`<(cmd)`, mkfifo) is read as a file at that path. Returns
 * FR_ENOTFOUND / FR_ERR when path itself cannot be read, FR_EINTR when
 * interrupted, FR_OK otherwise (problems below the root are recorded as items
 * with status error).
 */
int fr_fs_scan(const char *path, const fr_fs_opts *opts, fr_pipeline *p, fr_fs_stats *stats);
/* The loader of a regular file at it->load_arg (a path; links not followed):
 * for other sources that read files from disk (a git work tree). */
int fr_fs_load_file(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why);

/* ---- git ---- */

/* Blob ids already scanned under the current rules, and whether they had matches. */
typedef struct fr_known_blobs fr_known_blobs;
fr_known_blobs *fr_known_blobs_new(void);
void fr_known_blobs_free(fr_known_blobs *k);
/* hex: a 40-hex object id. Returns FR_ECORRUPT for anything else. */
int fr_known_blobs_add(fr_known_blobs *k, const char *hex, int has_matches);

/* Is path a git repository (a work tree with .git, or a bare repository)? */
int fr_git_is_repo(const char *path);

/* What a complete scan of a repository walked, so the next scan under the same
 * rules starts from it (the cli keeps it in the store's git_walked table). */
typedef struct {
    /* tips: a ref's name as the sha256 hex of it (a name can hold a secret;
     * only equality matters) and the commit (or object) id it pointed to */
    char **refs, **oids;
    size_t ntips;
    char **packs; /* pack file names whose objects were enumerated */
    size_t npacks;
    /* the commits the next scan hides (each tip's history is reachable from
     * one of them: the tips no other tip's history holds, once each); none
     * (an older state): every tip is hidden */
    char **hides;
    size_t nhides;
} fr_git_state;
/* kind "tip" (name, oid), "pack" (name; oid ignored) or "hide" (oid; name ""). */
void fr_git_state_add(fr_git_state *st, const char *kind, const char *name, const char *oid);
void fr_git_state_free(fr_git_state *st);

typedef struct {
    uint64_t max_size;           /* blobs larger are recorded as skipped */
    const fr_known_blobs *known; /* may be NULL: scan everything (or ask, below) */
    /* With known NULL, the source may ask instead: known_all for the whole set
     * (a walk that meets every blob: a full one, new packs), known_one for one
     * blob (an incremental walk meets only the few that are new). known_one
     * returns FR_OK with *has_matches set when hex was scanned, else not. */
    const fr_known_blobs *(*known_all)(void *ctx);
    int (*known_one)(void *ctx, const char *hex, int *has_matches);
    void *known_ctx;
    int verify_hashes; /* re-hash every object read (libgit2's strict mode) */
    /* Incremental: walk only commits that none of prev's tips reaches (their
     * trees against the trees of the walked parents they grow from, so only
     * (blob, path) pairs the new commits introduce are read), and enumerate
     * for unreachable objects only packs not in prev and loose objects. Every
     * ref's name is still scanned. NULL: the whole history. */
    const fr_git_state *prev;
    fr_git_state *out; /* filled with this scan's tips and packs (NULL: not wanted) */
    /* A commit range "A..B" (or "REV": REV..HEAD): only the commits reachable
     * from B and not from A, labelled with ref B; no other ref, no unreachable
     * objects, nothing for out. NULL: every ref. */
    const char *range;
    /* Sharding one repository (ferret scan --shard): a blob (oid: its 20-byte
     * id, key NULL) or a message or name (key: its content key, oid NULL) is
     * scanned here only when keep returns 1. The whole history is still walked,
     * so a kept blob gets every location. NULL: everything is kept. */
    int (*keep)(void *ctx, const unsigned char *oid, const char *key);
    void *keep_ctx;
} fr_git_opts;

typedef struct {
    uint64_t refs, commits, trees, blobs, blobs_known, unreachable_blobs, messages;
    int incomplete; /* something could not be read: missing objects, a bad range */
    /* A shallow clone: history stops at its boundary commits, each recorded as
     * skipped with its id (not an incomplete scan: the clone holds no more). */
    int shallow;
    int incremental; /* only what opts->prev did not cover was walked */
} fr_git_stats;

/* A partial clone (extensions.partialclone, a promisor remote, or .promisor
 * packs) lacks the objects its filter left to the promisor remote: such a
 * blob is recorded as skipped with this reason, not as an error, and counted
 * here (every repository of the process; read once the pipeline finished). */
#define FR_GIT_ABSENT_REASON "not present in this partial clone (its promisor remote holds it)"
uint64_t fr_git_absent_blobs(void);

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

/* ---- the working tree (worktree.c) ---- */

typedef struct {
    uint64_t max_size;   /* larger files are recorded as skipped */
    int include_ignored; /* also read ignored files (default: not) */
    /* Files never read, by device and inode (ferret's own database files). */
    struct {
        unsigned long long dev, ino;
    } skip[6];
    int nskip;
    /* As fr_fs_opts.unchanged, asked with the file's path on disk. */
    int (*unchanged)(void *ctx, const char *path, uint64_t size, int64_t mtime_ns, char *key,
                     size_t keysz);
    void *unchanged_ctx;
    /* A stat cache of tracked files, as git's index is one (kept by the
     * caller, by path on disk): a file whose lstat matches the index entry's
     * or the cache's (size, mtime, ctime, inode, mode; its mtime older than
     * the look by FR_WT_RACY_NS) has the content id recorded there and is not
     * read; any other is hashed once and given to stat_save. stat_load calls
     * add for each row whose path starts with prefix (the work tree, ending in
     * '/'), in path order. v: size, mtime_ns, ctime_ns, ino, mode, checked_ns
     * (when the file was looked at). NULL: none (libgit2 re-hashes every
     * file whose stat differs from the index's, each time). */
    int (*stat_load)(void *ctx, const char *prefix,
                     void (*add)(void *actx, const char *path, const int64_t v[6], const char *oid),
                     void *actx);
    void (*stat_save)(void *ctx, const char *path, const int64_t v[6], const char *oid);
    void *stat_ctx;
} fr_worktree_opts;
/* A file changed within this long before it was hashed may change again in
 * the same timestamp tick: its cache row is not trusted (git's racy entries;
 * 2 s covers file systems with coarse timestamps). */
#define FR_WT_RACY_NS ((int64_t)2000000000)

typedef struct {
    uint64_t staged;                       /* index blobs differing from HEAD */
    uint64_t modified, untracked, ignored; /* work-tree files by status */
    uint64_t read, unchanged, skipped;     /* of those: read, unchanged since the
                                              last sweep, over the size cap or special */
    uint64_t tracked, hashed;              /* index entries looked at; files read to hash them
                                              (their stat matched neither the index nor the cache) */
} fr_worktree_stats;

/*
 * What a work-tree repository at path holds that is not committed: every blob
 * the index stages against HEAD is located (kind "index", its path) on its
 * content git:<oid>, which fr_git_scan of the same repository reads (submit
 * both to one pipeline, or have the blob recorded by an earlier run); every
 * work-tree file that differs from the index, is untracked and not ignored, or
 * (include_ignored) is ignored, is read from disk (kind "worktree", path
 * relative to the work tree, repo = path). Files equal to the index are never
 * read. A bare repository gives nothing. FR_ERR when the repository, its
 * index, HEAD or the status cannot be read (what could be was submitted).
 */
int fr_git_worktree_scan(const char *path, const fr_worktree_opts *opts, fr_pipeline *p,
                         fr_worktree_stats *stats);

/* Reads ahead, on a thread of its own, what fr_git_worktree_scan of the work
 * tree at path will ask the file system (its index, each tracked file's
 * lstat, the directories holding tracked files), while the caller does other
 * work; that scan then takes it where it still holds (worktree.c). Nothing when
 * path is not the top of a work tree with a .git directory. _end joins and frees
 * what no scan took. Both on one thread (the scan's). */
void fr_git_worktree_prefetch(const char *path);
void fr_git_worktree_prefetch_end(void);
/* fr_git_fingerprint of the repository at path as the prefetch thread took it
 * (after its work-tree calls), once; FR_ENOTFOUND: none, take it now. */
int fr_git_prefetched_fingerprint(const char *path, char out[65]);

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
    int incomplete;    /* an object could not be read */
    char problem[200]; /* the first such object, for a message ("" if none) */
} fr_push_stats;

/* What the receiving side has, hidden from the walk. */
typedef struct {
    uint64_t max_size; /* blobs over it: their first max_size bytes at most */
    /* The server (pre-receive): every ref of the repository is what it has. */
    int have_all_refs;
    /* Otherwise (pre-push): the refs under this prefix ("refs/remotes/origin/";
     * NULL: none) and each update's old value, where this side has it. */
    const char *have_prefix;
} fr_push_walk_opts;

/*
 * Opens the repository the way git's hooks see it (GIT_DIR, the push's
 * quarantine through GIT_OBJECT_DIRECTORY / GIT_ALTERNATE_OBJECT_DIRECTORIES)
 * and calls fn for what the updates add: every commit reachable from a new tip
 * and from nothing the other side has (o), its message, the blobs it
 * introduces (not at the same path in any parent) and annotated tag messages.
 * A commit is handed over with the ref of the first update that reaches it,
 * updates whose tips other pushed tips reach taken first. A blob's content is
 * passed once per push; each further path it appears at is passed path_only.
 * A blob over o->max_size is passed with its first max_size bytes at most (len
 * < size), or data NULL when those cannot be read apart from the rest (an
 * object packed in a delta); a blob that cannot be read is passed with data
 * NULL and size 0 (and stats->incomplete set). fn returning non-zero stops.
 */
int fr_git_push_walk(const fr_push_update *u, size_t n, const fr_push_walk_opts *o, fr_push_fn fn,
                     void *ctx, fr_push_stats *stats);

/* ---- staged changes (the pre-commit hook; staged.c) ---- */

/* One file a commit of the index would add or change. data is borrowed. */
typedef struct {
    const char *path;          /* its path in the index */
    const char *blob;          /* the staged blob's id */
    int new_path;              /* added, renamed or copied: the path itself is new */
    int content_known;         /* an exact rename or copy: the blob was committed already */
    int unreadable;            /* the staged blob cannot be read */
    const unsigned char *data; /* NULL: known, unreadable, or over max_size */
    size_t len;
    uint64_t size;
    /* Lines the change adds, as [first, last] ranges of the staged blob (a
     * text file modified in place); all_lines: every line is new. */
    int all_lines;
    const size_t (*lines)[2];
    size_t nlines;
} fr_staged_piece;

typedef int (*fr_staged_fn)(void *ctx, const fr_staged_piece *piece);

/*
 * Opens the repository of the current directory the way git's hooks see it
 * (GIT_DIR, GIT_INDEX_FILE, ...) and calls fn for every blob the index adds or
 * changes against HEAD (everything on an unborn branch), submodules aside.
 * Blobs over max_size are not read. fn returning non-zero stops. FR_ERR when
 * the repository, its index or HEAD cannot be read.
 */
int fr_git_staged_walk(uint64_t max_size, fr_staged_fn fn, void *ctx, fr_push_stats *stats);

/* Reads git config values of the hook's repository in one go: values[i] is the
 * value of keys[i] (caller frees) or NULL when unset. */
int fr_git_hook_config(const char *const *keys, size_t n, char **values);

#endif
