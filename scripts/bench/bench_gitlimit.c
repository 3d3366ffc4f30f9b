/*
 * bench_gitlimit: what a full-history scan of a repository cannot go below,
 * measured piece by piece (scripts/bench-git-limit.sh runs it).
 *
 *   bench_gitlimit read [--threads N] [--types blob|tree|commit|all,...] [--scan]
 *                  [--rules DIR] REPO
 *     Reads every object of those types in the repository's packs with
 *     ferret's pack reader (packread.c), each pack's delta trees in order
 *     (bases before their deltas, runs of roots to one thread, as the scan
 *     ahead does), N threads. --scan also runs the detect engine over each blob
 *     (the scanner's CPU is timed apart). Trees are parsed (entries counted),
 *     commits searched for their tree line: what a walk over packread's bytes
 *     would pay at least.
 *   bench_gitlimit walk REPO
 *     libgit2 alone: every commit reachable from a ref looked up, each tree
 *     once (by id) looked up and its entries visited: the floor of a walk
 *     built on libgit2's commit and tree objects.
 * Each prints one line: objects, bytes, wall seconds, CPU seconds.
 */
#include "detect/detect.h"
#include "rules/rules.h"
#include "sources/packscan.h"
#include "util/hashset.h"
#include "util/limits.h"
#include "util/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <git2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double cpu_self(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

static double cpu_thread(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void *map_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    struct stat st;
    void *p = NULL;
    if (!fstat(fd, &st) && st.st_size > 0) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) p = NULL;
        *len = (size_t)st.st_size;
    }
    close(fd);
    return p;
}

/* ---- read: the pack reader over every object ---- */

typedef struct {
    fr_pack_src src;
    uint32_t *order; /* delta-tree order */
    size_t *runs;    /* start of each run of roots in order */
    size_t nruns;
} pack;

static pack *P;
static size_t NP;
static atomic_size_t NEXT; /* next run, over all packs */
static size_t TOTAL_RUNS;
static const fr_engine *E;
static atomic_ullong BYTES, OBJS, ENTRIES, ERRS;
static double SCAN_CPU, READ_CPU;
static pthread_mutex_t MU = PTHREAD_MUTEX_INITIALIZER;

/* Bases before their deltas, depth-first from each root (whole object) in
 * pack order; runs of FR_PACK_RUN roots. */
static void order_pack(pack *p)
{
    size_t n = p->src.n;
    const fr_pack_blob *b = p->src.blobs;
    uint32_t *first = malloc((n + 1) * sizeof *first), *next = malloc((n + 1) * sizeof *next);
    uint32_t *stack = malloc((n + 1) * sizeof *stack);
    p->order = malloc((n + 1) * sizeof *p->order);
    p->runs = malloc((n + 2) * sizeof *p->runs);
    for (size_t k = 0; k < n; k++)
        first[k] = FR_PACK_NONE;
    for (size_t k = n; k-- > 0;)
        if (b[k].base != FR_PACK_NONE && b[k].base < k) {
            next[k] = first[b[k].base];
            first[b[k].base] = (uint32_t)k;
        }
    size_t m = 0, roots = 0;
    for (size_t r = 0; r < n; r++) {
        if (b[r].base != FR_PACK_NONE && b[r].base < r) continue;
        if (roots++ % FR_PACK_RUN == 0) p->runs[p->nruns++] = m;
        size_t sp = 0;
        stack[sp++] = (uint32_t)r;
        while (sp) {
            uint32_t x = stack[--sp];
            p->order[m++] = x;
            for (uint32_t c = first[x]; c != FR_PACK_NONE; c = next[c])
                stack[sp++] = c; /* children in reverse: order within a tree is immaterial here */
        }
    }
    p->runs[p->nruns] = m;
    free(first);
    free(next);
    free(stack);
}

/* Entries of a tree object: mode SP name NUL id20. */
static size_t tree_entries(const unsigned char *t, size_t n)
{
    size_t k = 0;
    const unsigned char *p = t, *end = t + n;
    while (p < end) {
        const unsigned char *z = memchr(p, 0, (size_t)(end - p));
        if (!z || (size_t)(end - z) < 21) break;
        p = z + 21;
        k++;
    }
    return k;
}

static void *read_main(void *arg)
{
    (void)arg;
    fr_pack_cache *c = fr_pack_cache_new(FR_PACK_CACHE_BUDGET);
    fr_scanner *s = NULL;
    if (E && fr_scanner_new(&s, E)) return NULL;
    fr_buf out = {0};
    unsigned long long bytes = 0, objs = 0, entries = 0, errs = 0;
    double scan_cpu = 0, t0 = cpu_thread();
    size_t r;
    while ((r = atomic_fetch_add(&NEXT, 1)) < TOTAL_RUNS) {
        size_t pi = 0;
        while (r >= P[pi].nruns) /* runs are numbered across the packs */
            r -= P[pi++].nruns;
        pack *p = &P[pi];
        for (size_t i = p->runs[r]; i < p->runs[r + 1]; i++) {
            uint32_t k = p->order[i];
            char why[256];
            if (fr_pack_read(&p->src, k, c, ((uint64_t)1 << 30), &out, why, sizeof why)) {
                errs++;
                continue;
            }
            objs++;
            bytes += out.len;
            int type = p->src.blobs[k].type;
            if (type == 2) entries += tree_entries((unsigned char *)out.p, out.len);
            if (type == 1 && memcmp(out.p, "tree ", 5)) errs++;
            if (type == 3 && s) {
                double a = cpu_thread();
                const fr_match *m;
                size_t nm;
                fr_scan(s, (const unsigned char *)out.p, out.len, &m, &nm);
                scan_cpu += cpu_thread() - a;
            }
        }
    }
    double all = cpu_thread() - t0;
    pthread_mutex_lock(&MU);
    SCAN_CPU += scan_cpu;
    READ_CPU += all - scan_cpu;
    pthread_mutex_unlock(&MU);
    atomic_fetch_add(&BYTES, bytes);
    atomic_fetch_add(&OBJS, objs);
    atomic_fetch_add(&ENTRIES, entries);
    atomic_fetch_add(&ERRS, errs);
    fr_buf_release(&out);
    fr_scanner_free(s);
    fr_pack_cache_free(c);
    return NULL;
}

static int pack_dir(const char *repo, fr_buf *dir)
{
    struct stat st;
    dir->len = 0;
    fr_buf_printf(dir, "%s/.git/objects/pack", repo);
    if (!stat(dir->p, &st)) return 0;
    dir->len = 0;
    fr_buf_printf(dir, "%s/objects/pack", repo);
    return stat(dir->p, &st);
}

static int cmd_read(const char *repo, int threads, unsigned types, const char *rules, int scan)
{
    fr_buf dir = {0};
    if (pack_dir(repo, &dir)) {
        fprintf(stderr, "%s: no objects/pack\n", repo);
        return 2;
    }
    fr_ruleset *rs = NULL;
    fr_engine *e = NULL;
    if (scan) {
        if (fr_rules_load(&rs, rules) || fr_engine_new(&e, rs, NULL)) {
            fprintf(stderr, "%s\n", fr_error());
            return 2;
        }
        E = e;
    }
    double w0 = fr_monotonic(), c0 = cpu_self();
    DIR *d = opendir(dir.p);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t L = strlen(de->d_name);
        if (L < 5 || strcmp(de->d_name + L - 4, ".idx")) continue;
        fr_buf ip = {0}, pp = {0};
        fr_buf_printf(&ip, "%s/%s", dir.p, de->d_name);
        fr_buf_printf(&pp, "%s/%.*s.pack", dir.p, (int)(L - 4), de->d_name);
        size_t il = 0, pl = 0;
        unsigned char *idx = map_file(ip.p, &il), *pk = map_file(pp.p, &pl);
        fr_pack_blob *v = NULL;
        size_t n = 0, cap = 0;
        char why[256];
        if (idx && pk &&
            !fr_pack_list_objects(idx, il, pk, pl, types, &v, &n, &cap, NULL, NULL, why,
                                  sizeof why)) {
            P = realloc(P, (NP + 1) * sizeof *P);
            pack *p = &P[NP++];
            memset(p, 0, sizeof *p);
            p->src.id = fr_pack_new_id();
            p->src.fd = open(pp.p, O_RDONLY);
            p->src.len = pl;
            p->src.blobs = v;
            p->src.n = n;
            order_pack(p);
            TOTAL_RUNS += p->nruns;
        } else {
            fprintf(stderr, "%s: not listed\n", ip.p);
            free(v);
        }
        if (idx) munmap(idx, il);
        if (pk) munmap(pk, pl);
        fr_buf_release(&ip);
        fr_buf_release(&pp);
    }
    if (d) closedir(d);
    double w1 = fr_monotonic(), c1 = cpu_self();
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, read_main, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double w2 = fr_monotonic(), c2 = cpu_self();
    printf("read threads=%d packs=%zu objects=%llu bytes=%llu tree_entries=%llu errors=%llu "
           "list_wall=%.2f list_cpu=%.2f wall=%.2f cpu=%.2f read_cpu=%.2f scan_cpu=%.2f\n",
           threads, NP, (unsigned long long)OBJS, (unsigned long long)BYTES,
           (unsigned long long)ENTRIES, (unsigned long long)ERRS, w1 - w0, c1 - c0, w2 - w1,
           c2 - c1, READ_CPU, SCAN_CPU);
    for (size_t i = 0; i < NP; i++) {
        close(P[i].src.fd);
        free((void *)P[i].src.blobs);
        free(P[i].order);
        free(P[i].runs);
    }
    free(P);
    free(t);
    fr_engine_free(e);
    fr_ruleset_free(rs);
    fr_buf_release(&dir);
    return 0;
}

/* ---- walk: libgit2's commits and trees ---- */

static fr_keymap TREES;
static unsigned long long NTREES, NENTRIES;

static void walk_tree(git_repository *r, const git_oid *id)
{
    int added = 0;
    fr_keymap_put(&TREES, id->id, 0, &added);
    if (!added) return;
    git_tree *t;
    if (git_tree_lookup(&t, r, id)) return;
    NTREES++;
    size_t n = git_tree_entrycount(t);
    for (size_t i = 0; i < n; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(t, i);
        NENTRIES++;
        if (git_tree_entry_type(e) == GIT_OBJECT_TREE) walk_tree(r, git_tree_entry_id(e));
    }
    git_tree_free(t);
}

static int cmd_walk(const char *path)
{
    git_libgit2_init();
    git_repository *r;
    if (git_repository_open(&r, path)) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 2;
    }
    fr_keymap_init(&TREES, GIT_OID_RAWSZ);
    double w0 = fr_monotonic(), c0 = cpu_self();
    git_revwalk *rw;
    git_revwalk_new(&rw, r);
    git_revwalk_push_glob(rw, "refs/*");
    git_revwalk_push_head(rw);
    git_oid id;
    unsigned long long nc = 0;
    while (!git_revwalk_next(&id, rw)) {
        git_commit *c;
        if (git_commit_lookup(&c, r, &id)) continue;
        nc++;
        walk_tree(r, git_commit_tree_id(c));
        git_commit_free(c);
    }
    double w1 = fr_monotonic(), c1 = cpu_self();
    printf("walk commits=%llu trees=%llu tree_entries=%llu wall=%.2f cpu=%.2f\n", nc, NTREES,
           NENTRIES, w1 - w0, c1 - c0);
    git_revwalk_free(rw);
    git_repository_free(r);
    fr_keymap_release(&TREES);
    return 0;
}

/* ---- walkp: the same walk, trees read with the pack reader ---- */

static fr_pack_cache *WC;
static fr_keymap TIDS; /* tree id -> 1 + index in TV */
static const fr_pack_blob *TV;
static fr_pack_src TSRC;
static unsigned long long NREAD, NFALLBACK;

static void walkp_tree(git_repository *r, const unsigned char *id, fr_buf *raw)
{
    int added = 0;
    fr_keymap_put(&TREES, id, 0, &added);
    if (!added) return;
    const uint32_t *g = fr_keymap_get(&TIDS, id);
    char why[256];
    if (!g || fr_pack_read(&TSRC, *g, WC, (uint64_t)64 << 20, raw, why, sizeof why)) {
        NFALLBACK++;
        return;
    }
    NREAD++;
    NTREES++;
    fr_tree_entry *e = NULL;
    size_t n = 0, cap = 0;
    /* the entries point into raw: a copy, as subtrees reuse the buffer */
    fr_buf mine = {0};
    fr_buf_append(&mine, raw->p, raw->len);
    if (!fr_tree_parse((const unsigned char *)mine.p, mine.len, &e, &n, &cap))
        for (size_t i = 0; i < n; i++) {
            NENTRIES++;
            if (e[i].type == FR_TREE_TREE) walkp_tree(r, e[i].id, raw);
        }
    free(e);
    fr_buf_release(&mine);
}

static int cmd_walkp(const char *path, size_t budget_mb, size_t slots)
{
    git_libgit2_init();
    git_repository *r;
    fr_buf dir = {0};
    if (git_repository_open(&r, path) || pack_dir(path, &dir)) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 2;
    }
    fr_keymap_init(&TREES, GIT_OID_RAWSZ);
    fr_keymap_init(&TIDS, GIT_OID_RAWSZ);
    double w0 = fr_monotonic(), c0 = cpu_self();
    /* the first pack only: enough for a one-pack clone */
    DIR *d = opendir(dir.p);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t L = strlen(de->d_name);
        if (L < 5 || strcmp(de->d_name + L - 4, ".idx")) continue;
        fr_buf ip = {0}, pp = {0};
        fr_buf_printf(&ip, "%s/%s", dir.p, de->d_name);
        fr_buf_printf(&pp, "%s/%.*s.pack", dir.p, (int)(L - 4), de->d_name);
        size_t il = 0, pl = 0;
        unsigned char *idx = map_file(ip.p, &il), *pk = map_file(pp.p, &pl);
        fr_pack_blob *v = NULL;
        size_t n = 0, cap = 0;
        char why[256];
        if (idx && pk &&
            !fr_pack_list_objects(idx, il, pk, pl, 1u << 2, &v, &n, &cap, NULL, NULL, why,
                                  sizeof why)) {
            TSRC = (fr_pack_src){fr_pack_new_id(), NULL, open(pp.p, O_RDONLY), pl, v, n};
            TV = v;
            for (size_t k = 0; k < n; k++)
                fr_keymap_put(&TIDS, v[k].oid, (uint32_t)k, NULL);
        }
        if (idx) munmap(idx, il);
        if (pk) munmap(pk, pl);
        fr_buf_release(&ip);
        fr_buf_release(&pp);
        break;
    }
    if (d) closedir(d);
    WC = fr_pack_cache_new_slots(budget_mb << 20, slots);
    double w1 = fr_monotonic(), c1 = cpu_self();
    git_revwalk *rw;
    git_revwalk_new(&rw, r);
    git_revwalk_sorting(rw, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
    git_revwalk_push_glob(rw, "refs/*");
    git_revwalk_push_head(rw);
    git_oid id;
    unsigned long long nc = 0;
    fr_buf raw = {0};
    while (!git_revwalk_next(&id, rw)) {
        git_commit *c;
        if (git_commit_lookup(&c, r, &id)) continue;
        nc++;
        walkp_tree(r, git_commit_tree_id(c)->id, &raw);
        git_commit_free(c);
    }
    double w2 = fr_monotonic(), c2 = cpu_self();
    printf("walkp budget=%zuMB slots=%zu commits=%llu trees=%llu fallback=%llu tree_entries=%llu "
           "list_cpu=%.2f wall=%.2f cpu=%.2f\n",
           budget_mb, slots, nc, NTREES, NFALLBACK, NENTRIES, c1 - c0, w2 - w1, c2 - c1);
    (void)w0;
    fr_buf_release(&raw);
    git_revwalk_free(rw);
    git_repository_free(r);
    fr_pack_cache_free(WC);
    free((void *)TV);
    fr_keymap_release(&TREES);
    fr_keymap_release(&TIDS);
    fr_buf_release(&dir);
    return 0;
}

static unsigned parse_types(const char *s)
{
    unsigned m = 0;
    if (strstr(s, "commit")) m |= 1u << 1;
    if (strstr(s, "tree")) m |= 1u << 2;
    if (strstr(s, "blob")) m |= 1u << 3;
    if (strstr(s, "tag")) m |= 1u << 4;
    if (!strcmp(s, "all")) m = 0x1e;
    return m;
}

int main(int argc, char **argv)
{
    const char *rules = NULL, *repo = NULL, *cmd = argc > 1 ? argv[1] : "";
    int threads = 1, scan = 0;
    size_t budget_mb = 32, slots = 16384;
    unsigned types = 1u << 3;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--types") && i + 1 < argc)
            types = parse_types(argv[++i]);
        else if (!strcmp(argv[i], "--rules") && i + 1 < argc)
            rules = argv[++i];
        else if (!strcmp(argv[i], "--budget-mb") && i + 1 < argc)
            budget_mb = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--slots") && i + 1 < argc)
            slots = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--scan"))
            scan = 1;
        else
            repo = argv[i];
    }
    if (repo && !strcmp(cmd, "read"))
        return cmd_read(repo, threads < 1 ? 1 : threads, types, rules, scan);
    if (repo && !strcmp(cmd, "walk")) return cmd_walk(repo);
    if (repo && !strcmp(cmd, "walkp")) return cmd_walkp(repo, budget_mb, slots);
    fprintf(stderr, "usage: bench_gitlimit read [--threads N] [--types T,...] [--scan] "
                    "[--rules DIR] REPO\n       bench_gitlimit walk REPO\n");
    return 2;
}
