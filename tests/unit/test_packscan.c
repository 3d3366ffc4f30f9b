/* Unit tests for the pack index reader (src/sources/packscan.h): on real packs
 * built by git (offset deltas, ref deltas, a 64-bit offset table) the blobs it
 * lists are exactly those `git verify-pack -v` reports, at the same offsets;
 * flipped bytes in the fanout, offset and large-offset tables never make it
 * list anything wrong. */
#include "check.h"
#include "sources/packscan.h"
#include "util/util.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[64];

static int sh(const char *fmt, const char *arg)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, arg);
    return system(cmd);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *p = NULL;
    size_t n = 0, cap = 0, r;
    do {
        if (n == cap) p = fr_xrealloc(p, cap = cap ? cap * 2 : 4096);
        r = fread(p + n, 1, cap - n, f);
        n += r;
    } while (r);
    fclose(f);
    *len = n;
    return p;
}

static int cmp_blob(const void *a, const void *b)
{
    const fr_pack_blob *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* The blobs verify-pack reports for the pack of idx_path, in offset order. */
static fr_pack_blob *verify_pack(const char *idx_path, size_t *n)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "git verify-pack -v '%s'", idx_path);
    FILE *f = popen(cmd, "r");
    fr_pack_blob *v = NULL;
    *n = 0;
    char line[512], hex[64], type[16];
    unsigned long long size, psize, off;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %15s %llu %llu %llu", hex, type, &size, &psize, &off) != 5 ||
            strcmp(type, "blob") || strlen(hex) != 40)
            continue;
        v = fr_xrealloc(v, (*n + 1) * sizeof *v);
        v[*n].off = off;
        for (int i = 0; i < 20; i++) {
            unsigned b;
            sscanf(hex + 2 * i, "%2x", &b);
            v[*n].oid[i] = (unsigned char)b;
        }
        (*n)++;
    }
    if (f) pclose(f);
    if (*n > 1) qsort(v, *n, sizeof *v, cmp_blob);
    return v;
}

/* The one .idx in the repository's pack directory. */
static void pack_paths(char *idx, char *pack, size_t len)
{
    char pd[128];
    snprintf(pd, sizeof pd, "%s/r/.git/objects/pack", dir);
    DIR *d = opendir(pd);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t L = strlen(e->d_name);
        if (L > 4 && !strcmp(e->d_name + L - 4, ".idx")) {
            snprintf(idx, len, "%s/%s", pd, e->d_name);
            snprintf(pack, len, "%s/%.*s.pack", pd, (int)(L - 4), e->d_name);
        }
    }
    if (d) closedir(d);
}

static size_t nbroken, nflips, nfanout_kept;

/* The struct has padding: compare field by field. */
static int same_list(const fr_pack_blob *a, size_t na, const fr_pack_blob *b, size_t nb)
{
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].off != b[i].off || memcmp(a[i].oid, b[i].oid, sizeof a[i].oid)) return 0;
    return 1;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A list accepted from a corrupted index is harmless when every entry is an
 * object of that index at the offset the index gives it, inside the pack, in
 * pack order: the walk reads objects by id through libgit2, so the list only
 * decides which ids are read early (an offset moved by a byte can still look
 * like a valid entry header; only inflating would tell). */
static int safe_list(const unsigned char *idx, size_t il, size_t pl, const fr_pack_blob *v,
                     size_t n)
{
    uint32_t nobj = be32(idx + 8 + 255 * 4);
    const unsigned char *names = idx + 8 + 1024, *offs = names + (size_t)nobj * 24;
    for (size_t k = 0; k < n; k++) {
        if (v[k].off < 12 || v[k].off >= pl - 20 || (k && v[k].off <= v[k - 1].off)) return 0;
        size_t i = 0;
        while (i < nobj && memcmp(names + i * 20, v[k].oid, 20))
            i++;
        if (i == nobj) return 0;
        uint64_t o = be32(offs + 4 * i);
        if (o & 0x80000000u) {
            const unsigned char *l = offs + (size_t)nobj * 4 + 8 * (o & 0x7fffffffu);
            if (l + 8 > idx + il - 40) return 0;
            o = (uint64_t)be32(l) << 32 | be32(l + 4);
        }
        if (o != v[k].off) return 0;
    }
    return 1;
}

/* Every offset the index gives is inside the pack (what FR_ECORRUPT promises). */
static int offsets_inside(const unsigned char *idx, size_t il, size_t pl)
{
    uint32_t nobj = be32(idx + 8 + 255 * 4);
    const unsigned char *offs = idx + 8 + 1024 + (size_t)nobj * 24;
    size_t nlarge = (il - 40 - (size_t)(offs + (size_t)nobj * 4 - idx)) / 8;
    for (uint32_t i = 0; i < nobj; i++) {
        uint64_t o = be32(offs + 4 * (size_t)i);
        if (o & 0x80000000u) {
            if ((o & 0x7fffffffu) >= nlarge) return 0;
            const unsigned char *l = offs + (size_t)nobj * 4 + 8 * (o & 0x7fffffffu);
            o = (uint64_t)be32(l) << 32 | be32(l + 4);
        }
        if (o < 12 || o >= pl - 20) return 0;
    }
    return 1;
}

/* Every single-byte flip of idx[from, to): no crash, and either the pack is
 * rejected (always, for the fanout) or the list is the true one or harmless. */
static void flips(unsigned char *idx, size_t il, const unsigned char *pack, size_t pl,
                  const fr_pack_blob *want, size_t nwant, size_t from, size_t to, int fanout)
{
    static const unsigned char masks[] = {0x01, 0x10, 0x80, 0xff};
    for (size_t at = from; at < to && at < il; at++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            idx[at] ^= masks[m];
            fr_pack_blob *v = NULL;
            size_t n = 0, cap = 0;
            char why[256];
            int rc =
                fr_pack_list_blobs(idx, il, pack, pl, &v, &n, &cap, NULL, NULL, why, sizeof why);
            nflips++;
            if (rc) {
                nbroken++;
                CHECK(n == 0 && why[0]);
                CHECK(rc == FR_PACK_UNSAFE || (rc == FR_ECORRUPT && offsets_inside(idx, il, pl)));
            } else {
                if (fanout) nfanout_kept++;
                int ok = same_list(v, n, want, nwant) || safe_list(idx, il, pl, v, n);
                if (!ok) fprintf(stderr, "flip at %zu ^%02x: a wrong list\n", at, masks[m]);
                CHECK(ok);
            }
            free(v);
            idx[at] ^= masks[m];
        }
    }
}

/* The offset of the zlib stream of the entry at off, and the length of its size varint. */
static size_t entry_data(const unsigned char *pack, size_t off, size_t *size_bytes)
{
    size_t p = off;
    int type = (pack[p] >> 4) & 7;
    while (pack[p] & 0x80)
        p++;
    p++;
    *size_bytes = p - off;
    if (type == 6) { /* OFS_DELTA: the base offset varint */
        while (pack[p] & 0x80)
            p++;
        p++;
    } else if (type == 7) {
        p += 20;
    }
    return p;
}

/* A corrupt entry early in the pack must not hide an unsafe size later in it:
 * every entry is checked, and an unsafe one rejects the pack for every reader. */
static void corrupt_then_unsafe(const char *idx_path, const char *pack_path)
{
    size_t il = 0, pl = 0, nwant = 0;
    unsigned char *idx = slurp(idx_path, &il), *pack = slurp(pack_path, &pl);
    fr_pack_blob *want = verify_pack(idx_path, &nwant);
    CHECK(idx && pack && nwant >= 2);
    if (!idx || !pack || nwant < 2) return;
    fr_pack_blob *v = NULL;
    size_t n = 0, cap = 0, sb = 0;
    char why[256];
    /* the first entry's zlib header broken: corrupt, inside the pack's bounds */
    size_t z = entry_data(pack, 12, &sb);
    unsigned char keep = pack[z];
    pack[z] = 0;
    CHECK(fr_pack_list_blobs(idx, il, pack, pl, &v, &n, &cap, NULL, NULL, why, sizeof why) ==
          FR_ECORRUPT);
    CHECK(n == 0);
    /* ... and a later blob claiming a size its entry cannot inflate to */
    size_t k = 0;
    while (k < nwant && (entry_data(pack, (size_t)want[k].off, &sb), sb < 4 || want[k].off == 12))
        k++;
    CHECK(k < nwant);
    if (k < nwant) {
        for (size_t j = 1; j < sb; j++)
            pack[want[k].off + j] = j + 1 < sb ? 0xff : 0x7f;
        CHECK(fr_pack_list_blobs(idx, il, pack, pl, &v, &n, &cap, NULL, NULL, why, sizeof why) ==
              FR_PACK_UNSAFE);
        CHECK(strstr(why, "cannot inflate from") != NULL);
        CHECK(n == 0);
        pack[z] = keep; /* the unsafe size alone: unsafe as well */
        CHECK(fr_pack_list_blobs(idx, il, pack, pl, &v, &n, &cap, NULL, NULL, why, sizeof why) ==
              FR_PACK_UNSAFE);
    }
    free(v), free(want), free(idx), free(pack);
}

/* Checks the pack against verify-pack, then flips the index's tables. */
static void check_pack(const char *what, const char *idx_path, const char *pack_path,
                       size_t expect_blobs, int large)
{
    size_t il = 0, pl = 0, nwant = 0;
    unsigned char *idx = slurp(idx_path, &il), *pack = slurp(pack_path, &pl);
    fr_pack_blob *want = verify_pack(idx_path, &nwant);
    CHECK(idx && pack);
    if (!idx || !pack) return;
    fr_pack_blob *v = NULL;
    size_t n = 0, cap = 0;
    char why[256];
    int rc = fr_pack_list_blobs(idx, il, pack, pl, &v, &n, &cap, NULL, NULL, why, sizeof why);
    if (rc) fprintf(stderr, "%s: rejected: %s\n", what, why);
    CHECK(rc == FR_OK);
    CHECK(nwant == expect_blobs);
    CHECK(n == nwant);
    int same = same_list(v, n, want, nwant);
    if (!same) {
        fprintf(stderr, "%s: the list differs from verify-pack's\n", what);
        for (size_t i = 0; i < n || i < nwant; i++)
            fprintf(stderr, "  %llu %02x | %llu %02x\n", i < n ? (unsigned long long)v[i].off : 0,
                    i < n ? v[i].oid[0] : 0, i < nwant ? (unsigned long long)want[i].off : 0,
                    i < nwant ? want[i].oid[0] : 0);
    }
    CHECK(same);
    uint32_t nobj = (uint32_t)idx[8 + 255 * 4] << 24 | (uint32_t)idx[8 + 255 * 4 + 1] << 16 |
                    (uint32_t)idx[8 + 255 * 4 + 2] << 8 | idx[8 + 255 * 4 + 3];
    size_t offs = 8 + 1024 + (size_t)nobj * 24, large_at = offs + (size_t)nobj * 4;
    CHECK(large ? il - 40 > large_at : il - 40 == large_at);
    flips(idx, il, pack, pl, want, nwant, 8, 8 + 1024, 1);       /* fanout */
    flips(idx, il, pack, pl, want, nwant, offs, large_at, 0);    /* offsets */
    flips(idx, il, pack, pl, want, nwant, large_at, il - 40, 0); /* large offsets */
    /* Truncated pack and index, and a pack that is not this index's. */
    CHECK(fr_pack_list_blobs(idx, il, pack, pl / 2, &v, &n, &cap, NULL, NULL, why, sizeof why) ==
          FR_PACK_UNSAFE);
    CHECK(fr_pack_list_blobs(idx, il - 1, pack, pl, &v, &n, &cap, NULL, NULL, why, sizeof why) ==
          FR_PACK_UNSAFE);
    pack[pl - 1] ^= 1;
    CHECK(fr_pack_list_blobs(idx, il, pack, pl, &v, &n, &cap, NULL, NULL, why, sizeof why) ==
          FR_PACK_UNSAFE);
    CHECK(n == nwant);
    free(v), free(want), free(idx), free(pack);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/ferret-packscan.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    /* A history whose file grows (delta chains), with files of its own per commit. */
    CHECK(sh("cd %s && git init -q r && cd r && for i in 1 2 3 4 5 6; do seq 1 $((i * 300)) > "
             "f.txt; echo v$i > g$i.txt; git add . && GIT_AUTHOR_DATE=@$((1767225600 + i)) "
             "GIT_COMMITTER_DATE=@$((1767225600 + i)) git -c user.name=t -c user.email=t@t "
             "commit -qm c$i; done && git repack -adq",
             dir) == 0);
    char idx[256], pack[256];
    pack_paths(idx, pack, sizeof idx);
    check_pack("offset deltas", idx, pack, 12, 0);
    /* Offsets past 4000 in the 64-bit table. */
    char big[300], cmd[700];
    snprintf(big, sizeof big, "%s/big.idx", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/big.pack'", pack, dir);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "git index-pack --index-version=2,4000 -o '%s' '%s' > /dev/null", big,
             pack);
    CHECK(system(cmd) == 0);
    check_pack("64-bit offsets", big, pack, 12, 1);
    /* Deltas against their base by id. */
    CHECK(sh("cd %s/r && git -c repack.useDeltaBaseOffset=false repack -adfq", dir) == 0);
    pack_paths(idx, pack, sizeof idx);
    check_pack("ref deltas", idx, pack, 12, 0);
    /* Fanout flips are always caught; offset flips almost always. */
    CHECK(nfanout_kept == 0);
    CHECK(nbroken >= nflips - nflips / 100);
    printf("%zu of %zu flipped indexes rejected\n", nbroken, nflips);
    /* A blob of 1 MiB of zeros: a 4-byte size in a small entry. */
    CHECK(sh("cd %s/r && head -c 1048576 /dev/zero > z.bin && git add z.bin && git -c user.name=t "
             "-c user.email=t@t commit -qm z && git repack -adq",
             dir) == 0);
    pack_paths(idx, pack, sizeof idx);
    corrupt_then_unsafe(idx, pack);
    sh("rm -rf %s", dir);
    return check_done("test_packscan");
}
