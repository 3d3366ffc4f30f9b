/*
 * archive: reads archives and compressed files held in memory (zip, tar,
 * tar.gz/tgz, gz, bz2, xz) through libarchive, member by member, nothing
 * extracted to disk. Used for files on disk and for blobs in git history.
 */
#ifndef FERRET_ARCHIVE_H
#define FERRET_ARCHIVE_H

#include "pipeline/pipeline.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t max_member;  /* a member larger than this is skipped */
    uint64_t max_total;   /* decompressed bytes per archive, all members */
    uint64_t max_ratio;   /* decompressed / compressed: beyond it, a bomb */
    uint64_t max_members; /* members per archive */
    /* What the top-level item may still expand to, drawn on by this archive and
     * every archive nested in it (NULL: only the limits above apply). */
    fr_expand_budget *budget;
} fr_archive_limits;

/* Is data an archive or compressed stream this module opens (by magic bytes)? */
int fr_archive_detect(const unsigned char *data, size_t len);

/*
 * Reads the archive in data, calling fn for each member (a compressed single
 * file is one member named after name minus its .gz/.bz2/.xz suffix). A member
 * cut by the ratio, total or budget limit is delivered with the bytes read so
 * far and the reason (see fr_member_fn); so is a member cut by damage (a
 * truncated .gz: what decompressed before it). Returns FR_OK; FR_ELIMIT when a limit
 * stopped the reading (fn was told; fr_error() says which limit); FR_EINTR when
 * fr_interrupted stopped it (the archive was NOT read in full); FR_ECORRUPT
 * with the reason in fr_error() for a corrupt or truncated archive (members
 * before the damage were delivered).
 */
int fr_archive_read(const unsigned char *data, size_t len, const char *name,
                    const fr_archive_limits *lim, fr_member_fn fn, void *ctx);

/* fr_expand_fn for pipeline items: detect, then read with ferret's limits
 * (src/util/limits.h: a member up to max_member, FR_ARCHIVE_MAX_TOTAL bytes and
 * FR_ARCHIVE_MAX_MEMBERS members per archive, ratio FR_ARCHIVE_MAX_RATIO) and
 * the top-level item's budget. */
int fr_archive_expand(const unsigned char *data, size_t len, const char *name, uint64_t max_member,
                      fr_expand_budget *budget, fr_member_fn fn, void *ctx, fr_buf *why);

#endif
