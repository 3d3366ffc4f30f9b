/*
 * util: small building blocks every stage uses — error reporting, memory,
 * SHA-256, growable buffers, a bounded blocking queue, time, safe display of
 * untrusted text, redaction and entropy. Depends on libc and pthreads only.
 */
#ifndef FERRET_UTIL_H
#define FERRET_UTIL_H

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes: 0 success, negative failure. Callers branch on the specific ones. */
enum {
    FR_OK = 0,
    FR_ERR = -1,       /* generic failure; fr_error() says what */
    FR_ENOTFOUND = -2, /* a path, object or record does not exist */
    FR_ECORRUPT = -3,  /* input is malformed */
    FR_ELIMIT = -4,    /* a cap was hit (size, depth, ratio) */
    FR_EBUSY = -5,     /* a resource is locked by someone else */
    FR_EINTR = -6,     /* interrupted by a signal */
};

/* Thread-local last error message. fr_error() is never NULL. */
void fr_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *fr_error(void);

/* Set by the SIGINT/SIGTERM handler; long loops in every thread poll it. Atomic
 * (lock-free, so async-signal-safe): a volatile sig_atomic_t is only safe within
 * the thread the handler runs on, and TSan reports the worker threads' reads. */
extern atomic_int fr_interrupted;

/* Allocation that aborts with a message on out-of-memory. */
void *fr_xmalloc(size_t n);
void *fr_xcalloc(size_t n, size_t m);
void *fr_xrealloc(void *p, size_t n);
char *fr_xstrdup(const char *s);
char *fr_xstrndup(const char *s, size_t n);

/* SHA-256 (libcrypto); every fr_sha256_init must be paired with fr_sha256_final. */
typedef struct {
    void *md; /* the digest context; released by fr_sha256_final */
} fr_sha256_ctx;
void fr_sha256_init(fr_sha256_ctx *c);
void fr_sha256_update(fr_sha256_ctx *c, const void *data, size_t n);
void fr_sha256_final(fr_sha256_ctx *c, unsigned char out[32]);
void fr_sha256(const void *data, size_t n, unsigned char out[32]);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void fr_hex(char *out, const unsigned char *in, size_t n);
/* SHA-256 of data as 64 lowercase hex chars + NUL. */
void fr_sha256_hex(const void *data, size_t n, char out[65]);

/* Growable byte buffer; always NUL-terminated when p != NULL. */
typedef struct {
    char *p;
    size_t len, cap;
} fr_buf;
void fr_buf_reserve(fr_buf *b, size_t extra);
void fr_buf_append(fr_buf *b, const void *data, size_t n);
void fr_buf_puts(fr_buf *b, const char *s);
void fr_buf_printf(fr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fr_buf_reset(fr_buf *b);
void fr_buf_release(fr_buf *b);
/* Hands the buffer's memory to the caller (to free()); b is left empty. */
char *fr_buf_steal(fr_buf *b);

/*
 * Appends s[0..n) for display on a terminal or in a report: printable ASCII and
 * valid UTF-8 pass through; control characters and invalid bytes become \xNN.
 */
void fr_buf_put_safe(fr_buf *b, const char *s, size_t n);

/* Bounded blocking multi-producer multi-consumer queue of pointers. */
typedef struct fr_queue fr_queue;
fr_queue *fr_queue_new(size_t capacity);
void fr_queue_free(fr_queue *q);
/* Blocks while full. Returns FR_OK, or FR_ERR after fr_queue_close. */
int fr_queue_push(fr_queue *q, void *item);
/* Blocks while empty. Returns NULL once closed and drained. */
void *fr_queue_pop(fr_queue *q);
/* Like pop but waits at most timeout_ms; *timed_out set when nothing came. */
void *fr_queue_pop_timed(fr_queue *q, int timeout_ms, int *timed_out);
void fr_queue_close(fr_queue *q);
/* Takes an item if one is there, never waits (NULL otherwise). */
void *fr_queue_trypop(fr_queue *q);
/* Adds an item if there is room: FR_OK, or FR_ERR when full or closed. */
int fr_queue_trypush(fr_queue *q, void *item);
/* Consumers sleeping on an empty queue are woken once n items wait (or it is
 * full, or closed): fewer wake-ups for consumers that use fr_queue_pop_timed. */
void fr_queue_set_wake(fr_queue *q, size_t n);

/* Time */
double fr_monotonic(void);                 /* seconds, monotonic clock */
void fr_now_iso(char out[32]);             /* current UTC time, ISO-8601 with Z */
void fr_time_iso(int64_t t, char out[32]); /* unix time to ISO-8601 UTC */

/*
 * Redacted preview of a secret: a short prefix, asterisks, a short suffix. At most
 * about a quarter of the secret is revealed, never more than 6 characters.
 */
void fr_redact(const char *secret, size_t n, fr_buf *out);

/* Shannon entropy of s[0..n) in bits per byte. */
double fr_shannon_entropy(const unsigned char *s, size_t n);

/* A cache directory (made 0700 if missing) whose files are trusted as our own
 * output: 1 only when it is a directory owned by us that nobody else can write,
 * since what is read from it is deserialized (a planted file would be run). */
int fr_private_dir_ok(const char *dir);

/* Number of online CPUs, at least 1. */
int fr_ncpus(void);

/* Parses sizes like "64M", "1G", "4096". Returns FR_OK or FR_ERR. */
int fr_parse_size(const char *s, uint64_t *out);

#endif
