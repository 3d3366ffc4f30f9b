/*
 * archive.c: libarchive over a memory buffer. Owns one archive reader per call
 * and one member buffer. Invariants: no member is read past max_member, no
 * archive past max_total or max_ratio, no top-level item past its budget (all
 * nesting levels together), nothing touches the filesystem, and an interrupted
 * read never looks complete (FR_EINTR).
 */
#include "sources/archive.h"

#include "util/limits.h"
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <stdio.h>
#include <pthread.h>
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

int fr_archive_read(const unsigned char *data, size_t len, const char *name,
                    const fr_archive_limits *lim, fr_member_fn fn, void *ctx)
{
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
            fr_buf_puts(&limit, "member budget of the top-level item exhausted (members counted "
                                "across all nesting levels)");
        else if (budget && !budget->bytes)
            fr_buf_puts(&limit, "expansion budget of the top-level item exhausted (bytes "
                                "decompressed across all nesting levels)");
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
                fr_buf_puts(&limit, "expansion budget of the top-level item exhausted (bytes "
                                    "decompressed across all nesting levels)");
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
