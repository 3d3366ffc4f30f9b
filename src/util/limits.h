/*
 * limits.h: every cap and tuning limit, named in one place. Each says what it
 * bounds and why that value; add-only (several modules own entries).
 */
#ifndef FERRET_LIMITS_H
#define FERRET_LIMITS_H

#include <stdint.h>

/* ---- pipeline (src/pipeline) ---- */

/* Items a worker's queue holds. Items are small (content is loaded by the
 * workers), so queues can be deep enough that threads rarely wait on each other. */
#define FR_WORKER_QUEUE_DEPTH 256
/* A producer blocked on a full worker queue is woken once this many slots are free. */
#define FR_WORKER_QUEUE_WAKE 32
/* An idle worker sleeps this long on its own queue before stealing again. */
#define FR_WORKER_IDLE_WAIT_MS 20
/* Results waiting for the single writer (no content bytes, only matches). */
#define FR_RESULT_QUEUE_DEPTH 1024
#define FR_RESULT_QUEUE_WAKE  256
/* The writer commits after this many results or after a tenth of the time
 * the scan has run, at least FR_WRITER_FLUSH_MS and at most
 * FR_WRITER_FLUSH_MAX_MS. A commit writes every page the batch dirtied to the
 * WAL: on git/git's full scan (165,291 content rows under a random-keyed
 * index) 512 a batch cost the writer 6.3 s of CPU, 4,096 with an 8 MB page
 * cache 4.3 s; the writer, mostly caught up with the scanners, committed
 * every 512 (FR_WRITER_IDLE_BATCH) until batches were also held for the
 * interval: 2.86 / 3.01 -> 2.22 / 2.36 s with 2 s. */
#define FR_WRITER_BATCH        65536
#define FR_WRITER_FLUSH_MS     250
#define FR_WRITER_FLUSH_MAX_MS 2000
/* ... or, once the interval has passed, this many when the writer has caught
 * up with the scanners: a long batch is for a writer that is behind, not a
 * lock held while it waits. */
#define FR_WRITER_IDLE_BATCH 512
/* Work trees whose index and stat calls are read ahead, on a thread each, as
 * a scan starts (the first path arguments). */
#define FR_WORKTREE_PREFETCH_MAX 4
/* Errors printed on stderr; the rest are in 'ferret report --skipped'. */
#define FR_MAX_PRINTED_ERRORS 20
/* A worker's load buffer grown past this by one huge item is released after it,
 * so memory stays flat. */
#define FR_KEEP_BUFFER_MAX ((size_t)64 << 20)
/* Likewise a scanning thread's normalised-log buffers (two views each). */
#define FR_KEEP_NORM_MAX ((size_t)16 << 20)

/* ---- archives (src/sources/archive.c, nesting in src/pipeline) ---- */

/* Archive levels opened below a top-level item (a.zip!b.tgz!c.tar!member). */
#define FR_ARCHIVE_MAX_DEPTH 3
/* Decompressed bytes one top-level item may expand to, counted across ALL its
 * nesting levels together (a 42.zip-style bomb multiplies work per level; one
 * shared budget bounds the whole tree). 1 GiB: the --max-file-size ceiling. */
#define FR_ARCHIVE_MAX_TOTAL ((uint64_t)1 << 30)
/* ... and at most this many times --max-file-size, so that a smaller member cap
 * bounds the work on a nested bomb too (64 x the default 64M caps at 1 GiB). */
#define FR_ARCHIVE_BUDGET_FACTOR 64
/* Members one top-level item may hold, across all nesting levels together. */
#define FR_ARCHIVE_MAX_MEMBERS 100000
/* Decompressed / compressed bytes of one archive beyond which it is a bomb ... */
#define FR_ARCHIVE_MAX_RATIO 200
/* ... checked only once this much was decompressed (small files compress well). */
#define FR_ARCHIVE_RATIO_MIN_BYTES ((uint64_t)1 << 20)
/* libarchive reads a member in chunks of this size. */
#define FR_ARCHIVE_READ_CHUNK 65536
/* A member buffer grown past this by one huge member is released after it. */
#define FR_ARCHIVE_KEEP_BUFFER_MAX ((size_t)64 << 20)

/* ---- text views (src/detect/guards.c, fr_text_views_of) ---- */

/* Bytes sampled at the start of content for the UTF-16 alternating-NUL pattern. */
#define FR_UTF16_SAMPLE 4096
/* In the text view of binary-looking content, a run of text bytes shorter than
 * this between non-text bytes is blanked too: random bytes of a binary are
 * printable a third of the time, and short runs only feed false positives; no
 * secret a rule finds is this short. */
#define FR_TEXT_VIEW_MIN_RUN 8

/* ---- rule files (src/rules/rules.c) ---- */

/* Bytes of one rule file (or buffer); the built-in files together hold < 200 KB. */
#define FR_RULE_FILE_MAX ((size_t)4 << 20)
/* Collections within collections in a rule file: rules need 3; libyaml's work
 * per token grows with the depth, so deep nesting would be quadratic. */
#define FR_RULE_MAX_DEPTH 32
/* A rule's max_length (its confirm window): default and ceiling. */
#define FR_RULE_DEFAULT_MAX_LENGTH 256
#define FR_RULE_MAX_LENGTH_MAX     (64 * 1024)

/* ---- detect (src/detect/engine.c, validators.c) ---- */

/* Bytes past a rule's max_length in the confirm subject, for \b and lookaheads. */
#define FR_CONFIRM_LOOKAHEAD 16
/* PCRE2 backtracking steps and depth per confirm. */
#define FR_PCRE2_MATCH_LIMIT 200000
#define FR_PCRE2_DEPTH_LIMIT 5000
/* Bytes before a match searched for one of its rule's keywords. */
#define FR_KEYWORD_CONTEXT 256
/* Bytes of a match's line, either side, searched for ferret:allow. */
#define FR_ALLOW_CONTEXT 4096
/* Matches kept per scanned item: a cap against pathological input. */
#define FR_MAX_MATCHES (1u << 20)
/* Largest compiled-rules cache file read (the built-in rules take ~2 MB). */
#define FR_HS_CACHE_MAX ((size_t)64 << 20)
/* Largest PEM text a key validator parses: an RSA key of 16384 bits takes 13 KB. */
#define FR_PEM_MAX 65536

/* ---- CI logs (src/sources/logs.c) ---- */

/* Bytes searched for the ']' closing a "##[group]"-style marker: its names are
 * short words; a longer bracket is text, not a marker. */
#define FR_LOG_MARKER_MAX 64
/* Bytes searched for the end of a "##vso[...]" or "::cmd::" runner command. */
#define FR_LOG_COMMAND_MAX 512
/* Bytes at the start of content that fr_log_detect looks at. */
#define FR_LOG_DETECT_HEAD 65536
/* Masking bypass: bytes of logs' candidate regions kept per sweep for the
 * end-of-sweep search against secrets found after a log was searched. */
#define FR_MASK_KEEP_MAX ((size_t)64 << 20)
/* Masking bypass: bytes of one candidate region searched (a longer run — a
 * whole file dumped as base64 — is searched in its first this many bytes:
 * each length the prints have is rolled over it). */
#define FR_MASK_REGION_MAX ((size_t)1 << 20)

/* ---- the pre-receive hook (src/cli/cmd_hook.c) ---- */

/* Bytes of one pushed blob the hook scans (at most ferret.sizeBudget): a blob
 * over it is scanned that far only, and the push is over its budget. */
#define FR_HOOK_BLOB_MAX ((uint64_t)64 << 20)

/* ---- git packs (src/sources/git/packread.c, ahead.c) ---- */

/* Bytes of resolved delta bases one reading thread holds: a base is freed once
 * its last child was read, so this only bounds the chain held above the
 * current object and what spilled children left behind. */
#define FR_PACK_CACHE_BUDGET ((size_t)16 << 20)
/* Slots of that cache (a power of two; direct-mapped by pack and entry). */
#define FR_PACK_CACHE_SLOTS 4096
/* Compressed bytes read from a pack per pread. */
#define FR_PACK_READ_CHUNK ((size_t)256 << 10)
/* Deltas on one chain (git's pack-objects allows --depth up to 4095). */
#define FR_PACK_MAX_CHAIN 4096
/* Blobs of consecutive small delta trees handed to one worker as a run. */
#define FR_PACK_RUN 64

#endif
