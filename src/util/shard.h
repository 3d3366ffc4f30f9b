/*
 * shard: which of N shards owns a piece of work. The assignment depends only on
 * a name (a path relative to the scan target, a content key) or an object id,
 * never on the host, the order of a walk or the parent directory, so N
 * processes anywhere cover every piece exactly once.
 */
#ifndef FERRET_SHARD_H
#define FERRET_SHARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t index; /* 0 <= index < count */
    uint32_t count; /* 0: not sharded (everything is owned) */
} fr_shard;

/* Parses "I/N" (0 <= I < N <= 65536) or "auto": I and N from the scheduler's
 * environment (see fr_shard_from_env). FR_ERR with the reason in fr_error. */
int fr_shard_parse(const char *spec, fr_shard *out);

/* The shard of this process from its scheduler's environment, first match:
 *   FERRET_SHARD_INDEX + FERRET_SHARD_COUNT (anything, e.g. a CI matrix);
 *   SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN (0 if unset) + SLURM_ARRAY_TASK_COUNT;
 *   JOB_COMPLETION_INDEX (Kubernetes Indexed Job) + JOB_COMPLETIONS or
 *     FERRET_SHARD_COUNT (Kubernetes does not export the completions count);
 *   SYSTEM_JOBPOSITIONINPHASE (1-based) + SYSTEM_TOTALJOBSINPHASE (Azure Pipelines).
 * FR_ENOTFOUND when none is set, FR_ERR when a value is out of range. */
int fr_shard_from_env(fr_shard *out);

/* A name's stable 64-bit hash (the first 8 bytes of its SHA-256, big-endian). */
uint64_t fr_shard_hash(const void *name, size_t len);

/* Does shard s own the piece called name (a relative path, a content key)? */
int fr_shard_owns_name(const fr_shard *s, const char *name);
/* Does shard s own the object with this 20-byte id? Object ids are already
 * uniform hashes: their first 8 bytes are used as they are. */
int fr_shard_owns_oid(const fr_shard *s, const unsigned char oid[20]);

#endif
