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
} fr_fs_opts;

typedef struct {
    uint64_t files, dirs, skipped;
} fr_fs_stats;

/*
 * Walks path (a file or a directory, recursively) and submits every regular
 * file. Symbolic links below the root are never followed (so the walk cannot
 * leave the tree); special files are recorded as skipped; .git directories are
 * left to the git source. Returns FR_ENOTFOUND / FR_ERR when path itself cannot
 * be read, FR_EINTR when interrupted, FR_OK otherwise (problems below the root
 * are recorded as items with status error).
 */
int fr_fs_scan(const char *path, const fr_fs_opts *opts, fr_pipeline *p, fr_fs_stats *stats);

#endif
