/*
 * archive.c: libarchive over a memory buffer. Owns one archive reader per call
 * and one member buffer. Invariants: no member is read past max_member, no
 * archive past max_total or max_ratio, and nothing touches the filesystem.
 */
#include "sources/archive.h"

#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

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
    struct archive *a = archive_read_new();
    if (!a) {
        fr_error_set("cannot create an archive reader");
        return FR_ERR;
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_zip(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    int compressed_only = len >= 2 && ((data[0] == 0x1f && data[1] == 0x8b) ||
                                       !memcmp(data, "BZh", len < 3 ? len : 3) ||
                                       (len >= 6 && !memcmp(data,
                                                            "\xfd"
                                                            "7zXZ\0",
                                                            6)));
    /* raw: a compressed file that is not a tar inside (tar outbids raw) */
    if (compressed_only) archive_read_support_format_raw(a);
    int rc = FR_OK;
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        fr_error_set("not a readable archive: %s", archive_error_string(a));
        archive_read_free(a);
        return FR_ECORRUPT;
    }
    fr_buf member = {0}, mname = {0};
    uint64_t total = 0, count = 0;
    struct archive_entry *e;
    int hr;
    while ((hr = archive_read_next_header(a, &e)) == ARCHIVE_OK || hr == ARCHIVE_WARN) {
        if (fr_interrupted) break;
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
        if (++count > lim->max_members) {
            fn(ctx, mname.p, NULL, 0, "archive has more members than the limit");
            rc = FR_ELIMIT;
            break;
        }
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
        for (;;) {
            fr_buf_reserve(&member, 65536);
            la_ssize_t n = archive_read_data(a, member.p + member.len, member.cap - member.len - 1);
            if (n < 0) {
                skip = archive_error_string(a) ? archive_error_string(a) : "read error";
                break;
            }
            if (n == 0) break;
            member.len += (size_t)n;
            total += (uint64_t)n;
            if (member.len > lim->max_member) {
                skip = "archive member larger than --max-file-size";
                break;
            }
            if (total > lim->max_total ||
                (total > (1u << 20) && total / (len ? len : 1) > lim->max_ratio)) {
                skip = "decompression bomb: size or ratio limit exceeded";
                rc = FR_ELIMIT;
                break;
            }
        }
        if (member.p) member.p[member.len] = 0;
        int stop = skip ? fn(ctx, mname.p, NULL, 0, skip)
                        : fn(ctx, mname.p, (const unsigned char *)member.p, member.len, NULL);
        if (stop || rc == FR_ELIMIT) break;
        if (skip && hr != ARCHIVE_WARN && archive_errno(a)) { /* a damaged stream ends here */
            fr_error_set("corrupt or truncated archive: %s", skip);
            rc = FR_ECORRUPT;
            break;
        }
        /* Keep memory flat: a buffer grown by one huge member is not kept. */
        if (member.cap > (64u << 20)) fr_buf_release(&member);
    }
    if (rc == FR_OK && hr != ARCHIVE_EOF && hr != ARCHIVE_OK && hr != ARCHIVE_WARN &&
        !fr_interrupted) {
        fr_error_set("corrupt or truncated archive: %s",
                     archive_error_string(a) ? archive_error_string(a) : "unreadable header");
        rc = FR_ECORRUPT;
    }
    fr_buf_release(&member);
    fr_buf_release(&mname);
    archive_read_free(a);
    return rc;
}

int fr_archive_expand(const unsigned char *data, size_t len, const char *name, uint64_t max_member,
                      fr_member_fn fn, void *ctx, fr_buf *why)
{
    if (!fr_archive_detect(data, len)) return 0;
    if (!fn) return 1;
    fr_archive_limits lim = {max_member, 1ull << 30, 200, 100000};
    int rc = fr_archive_read(data, len, name, &lim, fn, ctx);
    if (rc == FR_OK) return 1;
    if (rc == FR_ELIMIT)
        fr_buf_puts(why,
                    "archive limits reached (size, ratio or member count): the rest was skipped");
    else
        fr_buf_puts(why, fr_error());
    return rc;
}
