/*
 * git_int.h: the git source's private contract, shared by the files of
 * src/sources/git/ (the public one is sources.h; the pack index reader's is
 * packscan.h). Nothing outside this folder includes it.
 *
 * One fr_git_scan call scans one repository (walk.c drives it):
 *
 *   open repo ──> scan ahead (ahead.c) ──> refs (refs.c) ──> commits, trees (walk.c)
 *                  │ packs checked,          tips in rank     post-order, each
 *                  │ packed blobs fed        order, tags      (tree, path) once
 *                  │ to the workers          peeled
 *                  v                                   │
 *              workers load blobs (blobs.c, repo.c)    v
 *                                               unreachable objects (walk.c)
 *                                                      │
 *                        settle ahead (ahead.c) <──────┘
 *                        flush text items (items.c), locations (blobs.c)
 *
 *  - First every packed blob not scanned before goes to the workers at once,
 *    in pack order (types from the pack index and entry headers, packs.c; a
 *    feeder thread submits them), so scanning runs from the first moment
 *    while the walk only supplies provenance. Blobs whose processing needs a
 *    path (archives: their members are named after it) or that cannot be
 *    scanned as they are (too large, LFS pointers, unreadable) are withdrawn
 *    by the loader and submitted again by the walk with their locations.
 *  - refs: every ref (HEAD, heads, tags, remotes, notes, stash, anything under
 *    refs/), annotated tags peeled (their messages kept for scanning).
 *  - commits: an iterative post-order walk from the tips gives a parents-first
 *    (topological) order; missing parents (shallow or broken history) are
 *    recorded and the walk goes on; the ref a commit is reachable from is
 *    propagated from children to parents.
 *  - trees: in that order, each (tree id, path) is visited once (a tree id
 *    alone would lose a renamed directory) and each new (blob, path) pair
 *    records the commit that introduced it.
 *  - unreachable objects: the object database is enumerated; dangling commits
 *    are walked like tips (a commit "removed" by a reset keeps its
 *    provenance), then blobs that no commit reaches are scanned bare.
 * Blobs not scanned ahead (loose, withdrawn, or found only by the walk) are
 * submitted once with all their locations; a blob scanned ahead gets location
 * items only if it had matches or was skipped (clean content keeps no
 * locations). Workers read blobs through an object database of their own
 * (libgit2 objects are not shared across threads). Memory follows the number
 * of unique objects and paths.
 *
 * Files: repo.c (libgit2 set-up, object databases, per-thread readers, known
 * blobs), refs.c (ref enumeration and peeling), walk.c (fr_git_scan, commits,
 * trees, unreachable objects), blobs.c (blob records from found to submitted,
 * and their loading), items.c (problem items, batched message and path
 * items), packs.c (the pack index reader), trees.c (the walk's trees through
 * the pack reader), ahead.c (the scan ahead of the
 * walk), push.c (the pre-receive walk), fingerprint.c (refs and object files).
 */
#ifndef FERRET_GIT_INT_H
#define FERRET_GIT_INT_H

#include "sources/sources.h"
#include "sources/packscan.h"
#include "util/hashset.h"

#include <git2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MSG_BATCH          (1u << 20) /* bytes of messages or paths per segmented item */
#define MAX_TREE_DEPTH     512
#define NONE               UINT32_MAX
#define GS_TREE_MEMO       256                /* directories whose last tree the walk keeps */
#define GS_TREE_POOL       64                 /* freed trees kept for their buffers (trees.c) */
#define GS_TREE_POOL_BYTES ((size_t)64 << 10) /* of at most this size each */
/* Resolved tree delta bases the walk holds (trees.c): walking parents first
 * climbs each path's delta chains, whose bases stay until their last child.
 * On git/git the walk's CPU is the same from 16 MB to 128 MB (bench_gitlimit
 * walkp): 8 MB, in 8,192 places. */
#define GS_TREE_CACHE_BUDGET ((size_t)8 << 20)
#define GS_TREE_CACHE_SLOTS  8192
/* A tree larger than this is read through libgit2 (~1.6 million entries). */
#define GS_TREE_MAX ((uint64_t)64 << 20)

/* A tree read by the walk: its bytes and their parsed entries (trees.c). */
typedef struct {
    fr_buf raw;
    fr_tree_entry *e;
    size_t n, cap;
    uint32_t *todo; /* the entries the walk visits (walk.c: not in the last tree at the path) */
    size_t ntodo, captodo;
} gs_tree;
typedef struct gs_trees gs_trees;

typedef struct {
    char *path;
    git_repository *repo;
    git_odb *odb;
} tl_repo;

struct fr_known_blobs {
    fr_keymap map; /* 20-byte oid -> has_matches */
};

/* Alternates followed below an objects directory (libgit2's own limit). */
#define MAX_ALTERNATE_DEPTH 5
/* Object directories one repository may list, alternates included. */
#define MAX_OBJECT_DIRS 64

/* objects_dir, then its alternates (info/alternates: one directory per line,
 * relative ones from the directory listing them) and theirs, depth-first, as
 * libgit2 loads them. depth[i] is 0 for objects_dir itself. */
typedef struct {
    char *dir[MAX_OBJECT_DIRS];
    int depth[MAX_OBJECT_DIRS];
    size_t n;
} object_dirs;

typedef struct {
    char *name;
    git_oid target;
} ref_tip;

/* Where an annotated tag's message comes from: "<tag message: NAME>", the
 * tagged object, the tagger and the date. loc borrows o's strings. */
typedef struct {
    fr_buf where;
    char date[32];
    char target[GIT_OID_HEXSZ + 1];
} tag_origin;

/* ---- walk state ---- */

typedef struct {
    char *path;
    int partial_clone;
    /* Blobs scanned ahead of the walk: how many are still to be loaded, and
     * those the loader withdrew (their processing needs a path). */
    atomic_size_t ahead_pending;
    pthread_mutex_t mu;
    fr_keymap withdrawn;
    fr_keymap keep; /* scanned ahead with matches or a skip/error: locations matter */
    int closed;     /* the walk is over: the sets are released */
    /* Packs whose index or headers are corrupt (file names of their .idx, kept
     * by the pipeline): no object database of this scan opens them, since
     * libgit2 follows an index's offsets unchecked (and crashes on wild ones). */
    char **bad_packs;
    size_t nbad;
    /* The repository's own packs, read by ferret's pack reader (packread.c)
     * for the scan ahead; closed once every blob fed ahead was loaded. */
    fr_pack_src *packs;
    size_t npacks;
} repo_ctx;

typedef struct {
    git_oid oid;
    git_oid tree;
    uint32_t parents_at, nparents; /* range in W.parent_oids */
    uint32_t ref;                  /* strtab id of a ref it is reachable from, or NONE */
    uint32_t author_name, author_email;
    int64_t author_time, committer_time;
} commit_rec;

typedef struct {
    uint32_t path, commit; /* strtab id, commit index */
    uint32_t next;         /* next location of the same blob, or NONE */
} blob_loc;

enum { B_NEW, B_SCAN, B_KNOWN_CLEAN, B_KNOWN_MATCHES };

typedef struct {
    git_oid oid;
    uint32_t first_loc, last_loc; /* locations not yet submitted */
    uint8_t state;
    uint8_t flags; /* BF_* */
} blob_rec;

enum {
    BF_AHEAD = 1,   /* submitted for scanning ahead of the walk, without a location */
    BF_LOCATED = 2, /* the walk found it at a path (or a ref) */
};

/* A blob to scan ahead: its pack (an index in rc->packs; NONE: read through
 * libgit2) and position in that pack's listing, and the run of blobs (one
 * worker) it belongs to. */
typedef struct {
    unsigned char oid[GIT_OID_RAWSZ];
    uint32_t pack, k;
    uint64_t run;
} gs_feed_ent;

/* Blobs scanned ahead of the walk, handed to the pipeline by a thread of their own. */
typedef struct {
    fr_pipeline *p;
    repo_ctx *rc;
    gs_feed_ent *order; /* in delta-tree order: each base before its deltas */
    size_t n;
    pthread_t thread;
    int running, refused;
} ahead_feed;

typedef struct {
    const char *path; /* as given: the repo name in provenance */
    const fr_git_opts *opts;
    fr_pipeline *p;
    fr_git_stats *stats;
    git_repository *repo;
    int partial_clone, shallow;

    fr_strtab strs;    /* paths, ref names, author names and emails */
    fr_keymap commits; /* oid -> commit index */
    commit_rec *cv;
    size_t nc, capc;
    git_oid *parent_oids;
    size_t npo, cappo;

    fr_keymap tree_paths; /* tree oid + path hash: visited */
    fr_keymap tree_oids;  /* tree oid: reachable */
    fr_keymap tag_oids;   /* annotated tag objects seen */
    fr_keymap blobs;      /* blob oid -> blob index */
    blob_rec *bv;
    size_t nb, capb;
    blob_loc *lv;
    size_t nl, capl;
    fr_keymap pairs; /* (blob id, path hash) seen */

    git_odb *odb; /* the walk's, for messages read by length */
    fr_buf msgs;  /* pending segmented item of messages */
    fr_item *msg_item;
    size_t msg_lines;
    fr_buf pathbuf; /* pending segmented item of path names */
    fr_item *path_item;
    size_t path_lines;
    repo_ctx *rc;
    ahead_feed feed;
    int stopped;
    /* The last tree walked at each (hashed) directory path: a tree at the same
     * path is compared with it first, so unchanged entries cost a lookup in a
     * tree just read instead of probes in the large tables (walk.c). */
    struct {
        uint64_t path_hash;
        gs_tree *tree;
    } tree_memo[GS_TREE_MEMO];
    gs_trees *trees; /* the packs' trees for the pack reader (full scans), or NULL */

    /* Incremental and range scans (since.c): only the commits in fresh are
     * walked; a commit outside it reached from one is a boundary whose tree is
     * walked with marking set (pairs seen, nothing located or submitted). */
    int use_fresh, marking;
    fr_keymap fresh;
    struct gs_since *since;
    const fr_known_blobs *known; /* opts->known, or the set known_all gave */
} walk;

/* ---- repo.c ---- */

/* libgit2 initialised once per process, with ferret's cache and window limits. */
void gs_init(void);
/* libgit2's last error message (never NULL). */
const char *gs_err(void);
/* Appends the message of commit or tag oid (what follows the headers), read
 * by length: libgit2's accessors return C strings, which end at a NUL. */
int gs_raw_message(git_odb *odb, const git_oid *oid, fr_buf *out);
int gs_is_partial_clone(git_repository *repo);
/* objects_dir and its alternates, depth-first, at most MAX_OBJECT_DIRS. */
void gs_list_object_dirs(object_dirs *l, const char *objects_dir, int depth);
void gs_object_dirs_free(object_dirs *l);
/* An object database like git_odb_open(objects_dir)'s without the packs listed
 * in rc->bad_packs (in objects_dir or any of its alternates). */
int gs_odb_open_checked(git_odb **out, const char *objects_dir, const repo_ctx *rc);
/* The calling worker's own repository and object database for rc (kept per
 * thread until another repository is asked for); NULL with why on failure. */
tl_repo *gs_thread_repo(const repo_ctx *rc, fr_buf *why);

/* ---- items.c ---- */

/* Records a problem item (skipped or error) and flags the scan incomplete. */
void gs_note_problem(walk *w, fr_content_status st, const char *what, const char *reason);
/* Fills loc with the provenance of commit c (NONE: nothing; strings borrowed
 * from w and the buffers). */
void gs_commit_location(walk *w, uint32_t c, fr_location *loc, char hex[GIT_OID_HEXSZ + 1],
                        char ad[32], char cd[32]);
/* Segmented text items: many messages or paths in one item, each a segment. */
void gs_add_text(walk *w, fr_buf *buf, fr_item **item, size_t *lines, const char *kind,
                 const char *key, const char *text, size_t n, int one_line, fr_location *loc);
void gs_flush_text(walk *w, fr_buf *buf, fr_item **item, size_t *lines);
void gs_add_message(walk *w, const char *key, const char *text, size_t n, fr_location *loc);

/* ---- walk.c ---- */

/* Walks the history from tip (post-order), each new commit's tree and message. */
void gs_walk_commits(walk *w, const git_oid *tip, uint32_t ref);
/* Walks a tree once per (tree id, path), recording each new (blob, path). */
void gs_walk_tree(walk *w, const git_oid *tree_oid, fr_buf *path, uint32_t commit, int depth);

/* ---- trees.c ---- */

/* Lists the trees and commits of the repository's own packs (not
 * rc->bad_packs). */
gs_trees *gs_trees_open(walk *w);
void gs_trees_close(gs_trees *t);
/* Tree id read (listed packs first, else libgit2's object database), its
 * bytes in raw and no entries parsed yet (n 0); NULL with why when it is
 * missing or corrupt. */
gs_tree *gs_tree_read(walk *w, const git_oid *id, char *why, size_t why_len);
void gs_tree_free(walk *w, gs_tree *t);
/* Commit id read from the listed packs and parsed (fr_commit_parse; its
 * strings valid until the next call): FR_OK, else the caller asks libgit2. */
int gs_commit_read(walk *w, const git_oid *id, fr_commit *c);

/* ---- refs.c ---- */

/* Every ref, resolved, in rank order (HEAD's branch first, heads, tags,
 * remotes, the rest); caller frees the names and the array. */
void gs_collect_tips(walk *w, ref_tip **out, size_t *nout);
/* Scans the ref's name, peels it (keeping annotated tag messages) and walks
 * what it reaches. */
void gs_walk_ref(walk *w, const ref_tip *t);
void gs_tag_location(const git_tag *tag, const char *ref, tag_origin *o, fr_location *loc);

/* ---- blobs.c ---- */

/* The index of blob oid in w->bv (added as B_NEW the first time). */
uint32_t gs_blob_index(walk *w, const git_oid *oid);
/* Records that blob b is at path since commit; submits the blob the first time. */
void gs_add_blob_location(walk *w, uint32_t b, uint32_t path, uint32_t commit);
/* Submits blob b (for scanning the first time, else location-only). */
void gs_submit_blob(walk *w, uint32_t b);
/* Location-only items for every blob with pending locations. */
void gs_flush_locations(walk *w);
/* A new item for blob oid, keyed by its id (hex receives the id as text). */
fr_item *gs_blob_item(const git_oid *oid, char hex[GIT_OID_HEXSZ + 1]);
/* The provenance of a blob no commit reaches. */
void gs_add_unreachable(walk *w, fr_item *it);
/* A Git LFS pointer file (its content is in LFS storage, not in git). */
int gs_is_lfs_pointer(const char *p, size_t n);
/* The item loader of a blob (load_arg: its hex id, load_ctx: its repo_ctx). */
int gs_load_blob(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why);

/* ---- packs.c ---- */

/* Appends the blobs of the pack of the index file idx_path, in pack order
 * (fr_pack_list_blobs on the mapped files). */
int gs_pack_blobs(const char *idx_path, fr_pack_blob **out, size_t *n, size_t *cap, char *why,
                  size_t why_len);
/* The same for the object types whose bit (1 << type) is set in types. */
int gs_pack_list(const char *idx_path, unsigned types, fr_pack_blob **out, size_t *n, size_t *cap,
                 char *why, size_t why_len);

/* ---- since.c ---- */

enum { GS_SINCE_FULL, GS_SINCE_INCREMENTAL, GS_SINCE_NEW_PACKS };
/* Before the walk: lists the packs (for opts->out) and, with opts->prev, the
 * candidates (loose objects, objects of new packs) and the fresh commits.
 * GS_SINCE_FULL: walk everything (no prev, or its revwalk failed);
 * GS_SINCE_INCREMENTAL: only fresh commits; GS_SINCE_NEW_PACKS: the same, and
 * packs not in prev are to be checked and read ahead. */
int gs_since_begin(walk *w, const ref_tip *tips, size_t ntips);
/* opts->range: the fresh commits of A..B and the tip to walk them from
 * (name owned by the caller). FR_ERR with fr_error() when it cannot resolve. */
int gs_since_range(walk *w, ref_tip *tip);
/* Whether blob oid was scanned before under the current rules: NULL when not
 * (or unknown), else a pointer to whether it has matches (w->known, or one
 * question to opts->known_one). Walk thread only. */
const uint32_t *gs_known(walk *w, const git_oid *oid);
/* A tip the previous scan walked, by the same name at the same target: its
 * name, tag messages and history were scanned then. */
int gs_since_unchanged(walk *w, const ref_tip *t);
/* A walked commit reached from a fresh one whose tree is fresh_tree: marks
 * its tree (what fresh_tree's walk asks about, when the walk has one fresh
 * commit; NULL: all of it). */
void gs_since_boundary(walk *w, const git_oid *commit, const git_oid *fresh_tree);
/* After the ref walk: candidate commits walked as dangling (fresh ones only). */
void gs_since_dangling(walk *w);
/* After settling: candidate blobs nothing reached and never scanned. */
void gs_since_blobs(walk *w);
/* Fills opts->out (when the walk was complete) and frees the since state. */
void gs_since_end(walk *w, const ref_tip *tips, size_t ntips, int complete);

/* ---- ahead.c ---- */

/* Checks every pack (alternates' too) and feeds the repository's packed blobs
 * not scanned before to the workers, from a thread of its own. */
void gs_scan_ahead(walk *w);
/* Waits for the feeder; true when the pipeline refused items (it stopped). */
int gs_feed_join(walk *w);
/* Once the walk is over: resubmits withdrawn blobs, gives unreached ones their
 * unreachable location, drops the locations of clean ones. */
void gs_settle_ahead(walk *w);

#endif
