/*
 * archive.c: libarchive over a memory buffer. Owns one archive reader per call
 * and one member buffer. Invariants: no member is read past max_member, no
 * archive past max_total or max_ratio, no top-level item past its budget (all
 * nesting levels together), nothing touches the filesystem, and an interrupted
 * read never looks complete (FR_EINTR).
 *
 * A zip or gzip file of the usual shapes (deflated or stored zip members,
 * every one a plain file with a printable name, no zip64, no encryption; one or
 * more gzip members around text) whose members fit FR_ARCHIVE_FAST_MAX and
 * every limit with room to spare is read by libdeflate instead (fast_zip,
 * fast_gzip: about three times zlib's speed): every member is decompressed and
 * its CRC checked before the first is delivered, so a fast read either
 * delivers exactly what libarchive would, in the same order, or gives up
 * having delivered nothing and libarchive reads the file (anything odd,
 * damaged or near a limit takes that path, with its cut and its messages).
 * FERRET_NO_LIBDEFLATE=1 turns the fast path off.
 */
#include "sources/archive.h"

#include "util/limits.h"
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/*
 * libarchive is loaded on the first archive, not linked: it brings libxml2,
 * ICU, nettle and five compression libraries into every run of ferret, and
 * relocating them was a fifth of a git hook's start-up (a hook, like most
 * scans, rarely meets an archive). The pointers take the header's own types,
 * so every call is checked as if linked; the macros below route the calls.
 */
#define LA_FUNCS(X)                                                                                \
    X(archive_read_new)                                                                            \
    X(archive_read_free)                                                                           \
    X(archive_read_support_filter_gzip)                                                            \
    X(archive_read_support_filter_bzip2)                                                           \
    X(archive_read_support_filter_xz)                                                              \
    X(archive_read_support_format_zip_streamable)                                                  \
    X(archive_read_support_format_zip)                                                             \
    X(archive_read_support_format_tar)                                                             \
    X(archive_read_support_format_gnutar)                                                          \
    X(archive_read_support_format_raw)                                                             \
    X(archive_read_open_memory)                                                                    \
    X(archive_read_next_header)                                                                    \
    X(archive_read_data_block)                                                                     \
    X(archive_error_string)                                                                        \
    X(archive_errno)                                                                               \
    X(archive_format)                                                                              \
    X(archive_entry_pathname)                                                                      \
    X(archive_entry_size)                                                                          \
    X(archive_entry_size_is_set)                                                                   \
    X(archive_entry_filetype)                                                                      \
    X(archive_entry_is_encrypted)

#define LA_MEMBER(f) __typeof__(&f) f;
static struct {
    LA_FUNCS(LA_MEMBER)
} la;
static pthread_once_t la_once = PTHREAD_ONCE_INIT;
static int la_loaded;
static char la_why[256];

static void la_load(void)
{
    static const char *const names[] = {"libarchive.so.13", "libarchive.so", NULL};
    void *h = NULL;
    for (int i = 0; names[i] && !h; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(la_why, sizeof la_why, "%s", dlerror());
        return;
    }
    int ok = 1;
#define LA_LOAD(f)                                                                                 \
    if (ok && !(*(void **)&la.f = dlsym(h, #f))) {                                                 \
        snprintf(la_why, sizeof la_why, "libarchive has no %s", #f);                               \
        ok = 0;                                                                                    \
    }
    LA_FUNCS(LA_LOAD)
#undef LA_LOAD
    la_loaded = ok; /* the library stays loaded for the process */
}

/* Whether libarchive is loaded (on the first call); else fr_error says why. */
static int la_ready(void)
{
    pthread_once(&la_once, la_load);
    if (!la_loaded) fr_error_set("cannot load libarchive: %s", la_why);
    return la_loaded;
}

/* Every call below goes through the loaded pointers. */
#define archive_read_new                           (*la.archive_read_new)
#define archive_read_free                          (*la.archive_read_free)
#define archive_read_support_filter_gzip           (*la.archive_read_support_filter_gzip)
#define archive_read_support_filter_bzip2          (*la.archive_read_support_filter_bzip2)
#define archive_read_support_filter_xz             (*la.archive_read_support_filter_xz)
#define archive_read_support_format_zip_streamable (*la.archive_read_support_format_zip_streamable)
#define archive_read_support_format_zip            (*la.archive_read_support_format_zip)
#define archive_read_support_format_tar            (*la.archive_read_support_format_tar)
#define archive_read_support_format_gnutar         (*la.archive_read_support_format_gnutar)
#define archive_read_support_format_raw            (*la.archive_read_support_format_raw)
#define archive_read_open_memory                   (*la.archive_read_open_memory)
#define archive_read_next_header                   (*la.archive_read_next_header)
#define archive_read_data_block                    (*la.archive_read_data_block)
#define archive_error_string                       (*la.archive_error_string)
#define archive_errno                              (*la.archive_errno)
#define archive_format                             (*la.archive_format)
#define archive_entry_pathname                     (*la.archive_entry_pathname)
#define archive_entry_size                         (*la.archive_entry_size)
#define archive_entry_size_is_set                  (*la.archive_entry_size_is_set)
#define archive_entry_filetype                     (*la.archive_entry_filetype)
#define archive_entry_is_encrypted                 (*la.archive_entry_is_encrypted)

int fr_archive_detect(const unsigned char *d, size_t n)
{
    if (n >= 4 && !memcmp(d, "PK\x03\x04", 4)) return 1;  /* zip */
    if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b) return 1; /* gzip */
    if (n >= 3 && !memcmp(d, "BZh", 3)) return 1;         /* bzip2 */
    if (n >= 6 && !memcmp(d,
                          "\xfd"
                          "7zXZ\0",
                          6))
        return 1;                                           /* xz */
    if (n >= 262 && !memcmp(d + 257, "ustar", 5)) return 1; /* tar */
    return 0;
}

/* The name a compressed single file stands for: "app.log.gz" -> "app.log". */
static void raw_name(const char *name, fr_buf *out)
{
    static const char *const sfx[] = {".gz", ".bz2", ".xz", ".tgz", NULL};
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t n = strlen(base);
    for (int i = 0; sfx[i]; i++) {
        size_t l = strlen(sfx[i]);
        if (n > l && !strcmp(base + n - l, sfx[i])) {
            fr_buf_append(out, base, n - l);
            if (!strcmp(sfx[i], ".tgz")) fr_buf_puts(out, ".tar");
            return;
        }
    }
    fr_buf_append(out, base, n);
    fr_buf_puts(out, ".data");
}

/*
 * libdeflate, loaded like libarchive (no header needed: its five calls are
 * declared here as the library's 1.x API has them). Absent, every archive
 * goes through libarchive.
 */
struct ld_decompressor;
enum { LD_SUCCESS = 0, LD_INSUFFICIENT_SPACE = 3 };
typedef int (*ld_decompress_ex_fn)(struct ld_decompressor *, const void *in, size_t in_nbytes,
                                   void *out, size_t out_nbytes_avail, size_t *actual_in,
                                   size_t *actual_out);
static struct {
    struct ld_decompressor *(*alloc)(void);
    void (*free)(struct ld_decompressor *);
    ld_decompress_ex_fn deflate_ex, gzip_ex;
    uint32_t (*crc32)(uint32_t crc, const void *buf, size_t len);
} ld;
static pthread_once_t ld_once = PTHREAD_ONCE_INIT;
static int ld_loaded;

static void ld_load(void)
{
    void *h = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    *(void **)&ld.alloc = dlsym(h, "libdeflate_alloc_decompressor");
    *(void **)&ld.free = dlsym(h, "libdeflate_free_decompressor");
    *(void **)&ld.deflate_ex = dlsym(h, "libdeflate_deflate_decompress_ex");
    *(void **)&ld.gzip_ex = dlsym(h, "libdeflate_gzip_decompress_ex");
    *(void **)&ld.crc32 = dlsym(h, "libdeflate_crc32");
    ld_loaded = ld.alloc && ld.free && ld.deflate_ex && ld.gzip_ex && ld.crc32;
}

static _Atomic uint64_t fast_reads;

/* The budget's limits, as both paths say them. */
static const char BUDGET_MEMBERS[] = "member budget of the top-level item exhausted (members "
                                     "counted across all nesting levels)";
static const char BUDGET_BYTES[] = "expansion budget of the top-level item exhausted (bytes "
                                   "decompressed across all nesting levels)";

int fr_archive_fast_available(void)
{
    pthread_once(&ld_once, ld_load);
    return ld_loaded;
}

uint64_t fr_archive_fast_reads(void)
{
    return fast_reads;
}

static int fast_ready(void)
{
    const char *off = getenv("FERRET_NO_LIBDEFLATE");
    if (off && *off && strcmp(off, "0")) return 0;
    return fr_archive_fast_available();
}

static uint32_t rd16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const unsigned char *p)
{
    return rd16(p) | rd16(p + 2) << 16;
}

/* The most one archive of len bytes may decompress to on the fast path: below
 * every limit (the total, the ratio, the budget's bytes), so that reaching one
 * is always libarchive's path. */
static uint64_t fast_cap(size_t len, const fr_archive_limits *lim)
{
    uint64_t cap = FR_ARCHIVE_FAST_MAX;
    if (lim->max_total < cap) cap = lim->max_total;
    if (lim->budget) { /* an exhausted budget stops the next member, even an empty one */
        uint64_t b = lim->budget->bytes ? lim->budget->bytes - 1 : 0;
        if (b < cap) cap = b;
    }
    /* total / len > max_ratio is a bomb once total > FR_ARCHIVE_RATIO_MIN_BYTES */
    uint64_t n = len ? len : 1;
    uint64_t by_ratio =
        lim->max_ratio < UINT64_MAX / 2 / n ? (lim->max_ratio + 1) * n - 1 : UINT64_MAX;
    if (by_ratio < FR_ARCHIVE_RATIO_MIN_BYTES) by_ratio = FR_ARCHIVE_RATIO_MIN_BYTES;
    return by_ratio < cap ? by_ratio : cap;
}

/* Whether n members may be delivered without touching a member limit. */
static int fast_members_ok(uint64_t n, const fr_archive_limits *lim)
{
    return n <= lim->max_members && (!lim->budget || n <= lim->budget->members);
}

typedef struct {
    const unsigned char *name; /* in the central directory */
    size_t nlen;
    uint64_t off, data, csize, usize;
    uint32_t crc;
    unsigned method;
    int file; /* a plain file (else a directory or a link: not delivered) */
} zent;

static int zent_by_offset(const void *a, const void *b)
{
    const zent *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Delivers members [0, n) decompressed into buf (each NUL-terminated), as the
 * libarchive loop would: an interrupt stops the reading (FR_EINTR), the member
 * callback may stop it, and the budget is drawn on member by member — archives
 * nested in a member delivered before draw on it too, so a later member may
 * find it spent (skipped, or cut with what the budget allowed: FR_ELIMIT). */
static int fast_deliver(const char *const *names, const uint64_t *offs, const uint64_t *lens,
                        size_t n, char *buf, const fr_archive_limits *lim, fr_member_fn fn,
                        void *ctx)
{
    fr_expand_budget *b = lim->budget;
    for (size_t i = 0; i < n; i++) {
        if (fr_interrupted) return FR_EINTR;
        uint64_t len = lens[i];
        if (b && (!b->members || !b->bytes)) {
            const char *why = !b->members ? BUDGET_MEMBERS : BUDGET_BYTES;
            fn(ctx, names[i], NULL, 0, why);
            fr_error_set("%s", why);
            return FR_ELIMIT;
        }
        if (b && len > b->bytes) { /* what the budget allows is scanned, and said cut */
            len = b->bytes;
            b->members--;
            b->bytes = 0;
            buf[offs[i] + len] = 0;
            fr_buf cut = {0};
            fr_buf_printf(&cut, "%s: first %zu bytes scanned", BUDGET_BYTES, (size_t)len);
            fn(ctx, names[i], (const unsigned char *)buf + offs[i], (size_t)len, cut.p);
            fr_buf_release(&cut);
            fr_error_set("%s", BUDGET_BYTES);
            return FR_ELIMIT;
        }
        if (b) {
            b->members--;
            b->bytes -= len;
        }
        if (fn(ctx, names[i], (const unsigned char *)buf + offs[i], (size_t)len, NULL)) break;
    }
    return fr_interrupted ? FR_EINTR : FR_OK;
}

/*
 * A zip of the usual shape read whole by libdeflate. Returns 1 when it read it
 * (*rc: FR_OK or FR_EINTR), 0 when it delivered nothing and libarchive is to
 * read it: no end record where it belongs, zip64, several disks, data before
 * the archive, an encrypted or not deflated/stored member, a member that is not
 * a plain file or directory, a name that is not printable ASCII or not the same
 * in both headers, members whose bytes overlap, sizes or a CRC that do not
 * hold, a limit within reach.
 */
static int fast_zip(const unsigned char *d, size_t len, const fr_archive_limits *lim,
                    fr_member_fn fn, void *ctx, int *rc)
{
    if (len < 22 || memcmp(d, "PK\x03\x04", 4)) return 0;
    size_t eocd = len - 22, stop = len - 22 > 65535 ? len - 22 - 65535 : 0;
    while (memcmp(d + eocd, "PK\x05\x06", 4) || rd16(d + eocd + 20) != len - eocd - 22) {
        if (eocd == stop) return 0;
        eocd--;
    }
    const unsigned char *e = d + eocd;
    uint32_t n = rd16(e + 10), cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    if (rd16(e + 4) || rd16(e + 6) || rd16(e + 8) != n || n == 0 || n == 0xffff ||
        cd_off == 0xffffffffu || (uint64_t)cd_off + cd_size != eocd ||
        (eocd >= 20 && !memcmp(d + eocd - 20, "PK\x06\x07", 4)))
        return 0;
    zent *z = fr_xcalloc(n, sizeof *z);
    char *buf = NULL;
    char **names = NULL;
    uint64_t *offs = NULL, *lens = NULL;
    int ok = 0;
    size_t p = cd_off, nfiles = 0;
    uint64_t total = 0, cap = fast_cap(len, lim);
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *c = d + p;
        if (eocd - p < 46 || memcmp(c, "PK\x01\x02", 4)) goto done;
        zent *ze = &z[i];
        unsigned host = c[5], flags = rd16(c + 8);
        ze->method = rd16(c + 10);
        ze->crc = rd32(c + 16);
        ze->csize = rd32(c + 20);
        ze->usize = rd32(c + 24);
        ze->nlen = rd16(c + 28);
        size_t xlen = rd16(c + 30), clen = rd16(c + 32);
        uint32_t ext = rd32(c + 38);
        ze->off = rd32(c + 42);
        ze->name = c + 46;
        if (eocd - p - 46 < ze->nlen + xlen + clen) goto done;
        p += 46 + ze->nlen + xlen + clen;
        /* encrypted (0x1, 0x40) or masked headers (0x2000); zip64; disk start */
        if ((flags & 0x2041) || (ze->method != 0 && ze->method != 8) || rd16(c + 34) ||
            ze->csize == 0xffffffffu || ze->usize == 0xffffffffu || ze->off == 0xffffffffu ||
            ze->nlen == 0 || (ze->method == 0 && ze->csize != ze->usize))
            goto done;
        for (size_t k = 0; k < ze->nlen; k++) /* libarchive rewrites '\\' in some */
            if (ze->name[k] < 0x20 || ze->name[k] > 0x7e || ze->name[k] == '\\') goto done;
        /* Mac resource forks are folded into their files by libarchive */
        if (ze->nlen >= 9 && !memcmp(ze->name, "__MACOSX/", 9)) goto done;
        /* libarchive's types: a trailing '/' is a directory; on Unix the mode's
         * type, none (or a FIFO) being a plain file; else the DOS attribute */
        int slash = ze->name[ze->nlen - 1] == '/';
        unsigned type = (ext >> 16) & 0170000;
        if (host == 3)
            ze->file = !slash && (type == 0 || type == 0100000 || type == 0010000) ? 1
                       : slash || type == 0040000 || type == 0120000               ? 0
                                                                                   : -1;
        else if (host == 0)
            ze->file = !slash && !(ext & 0x10);
        else
            goto done;
        if (ze->file < 0 || (!ze->file && (ze->csize > 4096 || ze->usize > 4096))) goto done;
        if (ze->file) {
            nfiles++;
            total += ze->usize;
            if (ze->usize > lim->max_member || total > cap) goto done;
        }
    }
    if (p != eocd || !fast_members_ok(nfiles, lim)) goto done;
    qsort(z, n, sizeof *z, zent_by_offset);
    for (uint32_t i = 0; i < n; i++) {
        zent *ze = &z[i];
        uint64_t end = i + 1 < n ? z[i + 1].off : cd_off;
        const unsigned char *l = d + ze->off;
        if (ze->off > end || end - ze->off < 30 || memcmp(l, "PK\x03\x04", 4) ||
            (rd16(l + 6) & 1) || rd16(l + 8) != ze->method || rd16(l + 26) != ze->nlen ||
            end - ze->off - 30 < (uint64_t)ze->nlen + rd16(l + 28) ||
            memcmp(l + 30, ze->name, ze->nlen) ||
            /* libarchive warns of a local header that disagrees, and goes on */
            (rd32(l + 14) && rd32(l + 14) != ze->crc) ||
            (rd32(l + 18) && rd32(l + 18) != ze->csize) ||
            (rd32(l + 22) && rd32(l + 22) != ze->usize))
            goto done;
        ze->data = ze->off + 30 + ze->nlen + rd16(l + 28);
        if (end - ze->data < ze->csize) goto done;
    }
    /* every plain file decompressed and checked before any is delivered */
    buf = fr_xmalloc((size_t)total + nfiles);
    names = fr_xcalloc(nfiles ? nfiles : 1, sizeof *names);
    offs = fr_xcalloc(nfiles ? nfiles : 1, sizeof *offs);
    lens = fr_xcalloc(nfiles ? nfiles : 1, sizeof *lens);
    struct ld_decompressor *dc = ld.alloc();
    if (!dc) goto done;
    uint64_t at = 0;
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        zent *ze = &z[i];
        if (!ze->file) continue;
        if (fr_interrupted) break;
        size_t got_in = 0, got_out = 0;
        if (ze->method == 0)
            memcpy(buf + at, d + ze->data, (size_t)ze->usize);
        else if (ld.deflate_ex(dc, d + ze->data, (size_t)ze->csize, buf + at, (size_t)ze->usize,
                               &got_in, &got_out) != LD_SUCCESS ||
                 got_out != ze->usize)
            break;
        if (ld.crc32(0, buf + at, (size_t)ze->usize) != ze->crc) break;
        buf[at + ze->usize] = 0;
        names[k] = fr_xmalloc(ze->nlen + 1);
        memcpy(names[k], ze->name, ze->nlen);
        names[k][ze->nlen] = 0;
        offs[k] = at;
        lens[k++] = ze->usize;
        at += ze->usize + 1;
    }
    ld.free(dc);
    if (fr_interrupted) {
        *rc = FR_EINTR;
        ok = 1;
    } else if (k == nfiles) {
        *rc = fast_deliver((const char *const *)names, offs, lens, k, buf, lim, fn, ctx);
        ok = 1;
    }
    for (size_t i = 0; i < k; i++)
        free(names[i]);
done:
    free(names);
    free(offs);
    free(lens);
    free(buf);
    free(z);
    return ok;
}

/*
 * A gzip file (one or more members) around text, read whole by libdeflate:
 * its one member named as libarchive's raw reader names it. Returns as
 * fast_zip; gives up (0) on damage, bytes after the last member, an empty
 * stream, a limit within reach, or content that libarchive would open further
 * (an archive or another compressed stream, or a NUL in its first 512 bytes:
 * it could be a tar).
 */
static int fast_gzip(const unsigned char *d, size_t len, const char *name,
                     const fr_archive_limits *lim, fr_member_fn fn, void *ctx, int *rc)
{
    if (len < 18 || d[0] != 0x1f || d[1] != 0x8b || d[2] != 8 || !fast_members_ok(1, lim)) return 0;
    uint64_t cap = fast_cap(len, lim);
    if (lim->max_member < cap) cap = lim->max_member;
    uint64_t size = rd32(d + len - 4); /* the last member's size, mod 2^32 */
    if (size < 4096) size = 4096;
    if (size > cap) size = cap;
    char *buf = fr_xmalloc((size_t)size + 1);
    struct ld_decompressor *dc = ld.alloc();
    size_t in = 0, out = 0;
    int ok = 0;
    while (dc && in < len) {
        size_t got_in = 0, got_out = 0;
        if (len - in < 18 || d[in] != 0x1f || d[in + 1] != 0x8b) break;
        int r = ld.gzip_ex(dc, d + in, len - in, buf + out, (size_t)size - out, &got_in, &got_out);
        if (r == LD_INSUFFICIENT_SPACE && size < cap) {
            size = size > cap / 2 ? cap : size * 2;
            buf = fr_xrealloc(buf, (size_t)size + 1);
            continue;
        }
        if (r != LD_SUCCESS) break;
        in += got_in;
        out += got_out;
    }
    if (dc) ld.free(dc);
    if (in == len && out > 0 && !fr_archive_detect((unsigned char *)buf, out) &&
        !memchr(buf, 0, out < 512 ? out : 512) && !(out >= 2 && !memcmp(buf, "PK", 2))) {
        buf[out] = 0;
        fr_buf mname = {0};
        raw_name(name, &mname);
        const char *names[1] = {mname.p};
        uint64_t offs[1] = {0}, lens[1] = {out};
        *rc = fast_deliver(names, offs, lens, 1, buf, lim, fn, ctx);
        fr_buf_release(&mname);
        ok = 1;
    }
    free(buf);
    return ok;
}

int fr_archive_read(const unsigned char *data, size_t len, const char *name,
                    const fr_archive_limits *lim, fr_member_fn fn, void *ctx)
{
    int frc = FR_OK;
    if (fast_ready() && (fast_zip(data, len, lim, fn, ctx, &frc) ||
                         fast_gzip(data, len, name, lim, fn, ctx, &frc))) {
        fast_reads++;
        if (frc == FR_EINTR) fr_error_set("interrupted");
        return frc;
    }
    if (!la_ready()) return FR_ERR;
    struct archive *a = archive_read_new();
    if (!a) {
        fr_error_set("cannot create an archive reader");
        return FR_ERR;
    }
    /* Only the filters fr_archive_detect recognises: the others' bidders
     * (uudecode, lrzip, ...) read far ahead through the decompressed stream,
     * which fails the whole open on a truncated stream. */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    int compressed_only = len >= 2 && ((data[0] == 0x1f && data[1] == 0x8b) ||
                                       !memcmp(data, "BZh", len < 3 ? len : 3) ||
                                       (len >= 6 && !memcmp(data,
                                                            "\xfd"
                                                            "7zXZ\0",
                                                            6)));
    /* Inside a compressed stream only the streaming zip reader: the seeking one
     * looks for the central directory at the end, decompressing the whole
     * stream while bidding, so a truncated stream would yield nothing at all. */
    if (compressed_only)
        archive_read_support_format_zip_streamable(a);
    else
        archive_read_support_format_zip(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    /* raw: a compressed file that is not a tar inside (tar outbids raw) */
    if (compressed_only) archive_read_support_format_raw(a);
    int rc = FR_OK;
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        fr_error_set("not a readable archive: %s", archive_error_string(a));
        archive_read_free(a);
        return FR_ECORRUPT;
    }
    fr_buf member = {0}, mname = {0}, limit = {0};
    uint64_t total = 0, count = 0;
    fr_expand_budget *budget = lim->budget;
    struct archive_entry *e;
    int hr;
    while ((hr = archive_read_next_header(a, &e)) == ARCHIVE_OK || hr == ARCHIVE_WARN) {
        if (fr_interrupted) {
            rc = FR_EINTR;
            break;
        }
        fr_buf_reset(&mname);
        if (archive_format(a) == ARCHIVE_FORMAT_RAW) {
            raw_name(name, &mname);
        } else {
            const char *p = archive_entry_pathname(e);
            fr_buf_puts(&mname, p ? p : "(unnamed)");
        }
        /* directories and links have no content (a raw stream has no type) */
        if (archive_format(a) != ARCHIVE_FORMAT_RAW && archive_entry_filetype(e) != AE_IFREG)
            continue;
        if (++count > lim->max_members)
            fr_buf_printf(&limit, "archive has more than %llu members",
                          (unsigned long long)lim->max_members);
        else if (budget && !budget->members)
            fr_buf_puts(&limit, BUDGET_MEMBERS);
        else if (budget && !budget->bytes)
            fr_buf_puts(&limit, BUDGET_BYTES);
        if (limit.len) {
            fn(ctx, mname.p, NULL, 0, limit.p);
            rc = FR_ELIMIT;
            break;
        }
        if (budget) budget->members--;
        if (archive_entry_is_encrypted(e)) {
            if (fn(ctx, mname.p, NULL, 0, "encrypted archive member")) break;
            continue;
        }
        if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > lim->max_member) {
            if (fn(ctx, mname.p, NULL, 0, "archive member larger than --max-file-size")) break;
            continue;
        }
        fr_buf_reset(&member);
        const char *skip = NULL;
        int damaged = 0; /* skip is a read error, not the size limit */
        for (;;) {
            if (fr_interrupted) {
                rc = FR_EINTR;
                break;
            }
            /* Block by block: archive_read_data drops what it copied when a
             * later block of the same call fails, and a damaged member's start
             * is worth scanning. */
            const void *blk = NULL;
            size_t bsz = 0;
            la_int64_t boff = 0;
            int br = archive_read_data_block(a, &blk, &bsz, &boff);
            if (br == ARCHIVE_EOF) break;
            if (br < ARCHIVE_WARN) {
                skip = archive_error_string(a) ? archive_error_string(a) : "read error";
                damaged = 1;
                break;
            }
            /* a hole before the block (a sparse tar member) reads as zeros */
            uint64_t hole =
                boff > 0 && (uint64_t)boff > member.len ? (uint64_t)boff - member.len : 0;
            uint64_t n = hole + bsz;
            if (n == 0) continue;
            if (n > lim->max_member - member.len) { /* checked before anything is allocated */
                skip = "archive member larger than --max-file-size";
                break;
            }
            uint64_t got = n;
            if (budget && got > budget->bytes) got = budget->bytes; /* the budget's share */
            fr_buf_reserve(&member, (size_t)got);
            uint64_t zeros = got < hole ? got : hole;
            memset(member.p + member.len, 0, (size_t)zeros);
            if (got > zeros) memcpy(member.p + member.len + zeros, blk, (size_t)(got - zeros));
            member.len += (size_t)got;
            total += got;
            if (budget) budget->bytes -= got;
            if (budget && got < n)
                fr_buf_puts(&limit, BUDGET_BYTES);
            else if (total > lim->max_total) {
                member.len -= (size_t)(total - lim->max_total); /* nothing past the cap */
                total = lim->max_total;
                fr_buf_printf(&limit, "decompression bomb: archive expands past %llu bytes",
                              (unsigned long long)lim->max_total);
            } else if (total > FR_ARCHIVE_RATIO_MIN_BYTES &&
                       total / (len ? len : 1) > lim->max_ratio)
                fr_buf_printf(&limit, "decompression bomb: expands more than %llu times",
                              (unsigned long long)lim->max_ratio);
            if (limit.len) {
                rc = FR_ELIMIT;
                break;
            }
        }
        if (rc == FR_EINTR) break; /* a member cut by an interrupt is never delivered */
        if (member.p) member.p[member.len] = 0;
        /* A member cut by a limit is delivered with what was read: scanned, and
         * recorded as cut. */
        int stop;
        if (damaged && member.len) {
            /* What was decompressed before the damage is content: scanned, and
             * recorded as cut (a truncated log.gz still shows its first lines). */
            fr_buf cut = {0};
            fr_buf_printf(&cut, "corrupt or truncated archive member: %s: first %zu bytes scanned",
                          skip, member.len);
            stop = fn(ctx, mname.p, (const unsigned char *)member.p, member.len, cut.p);
            fr_buf_release(&cut);
        } else if (skip) {
            stop = fn(ctx, mname.p, NULL, 0, skip);
        } else if (limit.len) {
            fr_buf cut = {0};
            fr_buf_printf(&cut, "%s: first %zu bytes scanned", limit.p, member.len);
            stop = fn(ctx, mname.p, (const unsigned char *)(member.p ? member.p : ""), member.len,
                      cut.p);
            fr_buf_release(&cut);
        } else {
            /* an empty member is content too: never NULL (NULL means unread) */
            stop = fn(ctx, mname.p, (const unsigned char *)(member.p ? member.p : ""), member.len,
                      NULL);
        }
        if (stop || rc == FR_ELIMIT) break;
        if (skip && hr != ARCHIVE_WARN && archive_errno(a)) { /* a damaged stream ends here */
            fr_error_set("corrupt or truncated archive: %s", skip);
            rc = FR_ECORRUPT;
            break;
        }
        /* Keep memory flat: a buffer grown by one huge member is not kept. */
        if (member.cap > FR_ARCHIVE_KEEP_BUFFER_MAX) fr_buf_release(&member);
    }
    /* A member callback may stop the reading because of an interrupt too. */
    if (fr_interrupted) rc = FR_EINTR;
    if (rc == FR_EINTR) fr_error_set("interrupted");
    if (rc == FR_ELIMIT) fr_error_set("%s", limit.p);
    if (rc == FR_OK && hr != ARCHIVE_EOF && hr != ARCHIVE_OK && hr != ARCHIVE_WARN) {
        fr_error_set("corrupt or truncated archive: %s",
                     archive_error_string(a) ? archive_error_string(a) : "unreadable header");
        rc = FR_ECORRUPT;
    }
    fr_buf_release(&member);
    fr_buf_release(&mname);
    fr_buf_release(&limit);
    archive_read_free(a);
    return rc;
}

int fr_archive_expand(const unsigned char *data, size_t len, const char *name, uint64_t max_member,
                      fr_expand_budget *budget, fr_member_fn fn, void *ctx, fr_buf *why)
{
    if (!fr_archive_detect(data, len)) return 0;
    if (!fn) return 1;
    fr_archive_limits lim = {max_member, FR_ARCHIVE_MAX_TOTAL, FR_ARCHIVE_MAX_RATIO,
                             FR_ARCHIVE_MAX_MEMBERS, budget};
    int rc = fr_archive_read(data, len, name, &lim, fn, ctx);
    if (rc == FR_OK) return 1;
    if (rc == FR_ELIMIT) fr_buf_puts(why, "archive read in part, the rest was skipped: ");
    fr_buf_puts(why, fr_error());
    return rc;
}
