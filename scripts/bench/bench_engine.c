/*
 * bench_engine: throughput of the detect engine on in-memory buffers.
 *   bench_engine [--rules DIR] [--threads N] [--repeat K] [--origin O] FILE
 *   bench_engine --print-patterns [--rules DIR]
 * Loads FILE into memory, splits it into 1 MiB chunks (like files of a tree),
 * scans every chunk K times on N threads (each with its own scanner) and prints
 * MB/s. --origin says what the chunks are, as the pipeline says it to the
 * engine (fr_scan_for): "other" (files that are neither CI logs nor pipeline
 * definitions: source text), "logs", "pipeline" or "all" (every rule: content
 * whose origin is not known yet; the default). --print-patterns prints the rule patterns, one per
 * line, for ripgrep.
 */
#include "detect/detect.h"
#include "rules/rules.h"
#include "util/util.h"

#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (1u << 20)

static const fr_engine *E;
static const unsigned char *DATA;
static size_t LEN, NCHUNKS;
static int REPEAT;
static unsigned ORIGIN = FR_APPLIES_ALL;
static atomic_size_t NEXT;
static atomic_size_t MATCHES;

/* CPU seconds (user + system) of the whole process so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void *run(void *arg)
{
    (void)arg;
    fr_scanner *s;
    if (fr_scanner_new(&s, E)) return NULL;
    size_t total = NCHUNKS * (size_t)REPEAT, i, found = 0;
    while ((i = atomic_fetch_add(&NEXT, 1)) < total) {
        size_t c = i % NCHUNKS, off = c * CHUNK;
        size_t n = LEN - off < CHUNK ? LEN - off : CHUNK;
        const fr_match *m;
        size_t nm;
        fr_scan_for(s, ORIGIN, DATA + off, n, &m, &nm);
        found += nm;
    }
    atomic_fetch_add(&MATCHES, found);
    fr_scanner_free(s);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *rules = NULL, *file = NULL;
    int threads = 1, print = 0;
    REPEAT = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rules") && i + 1 < argc)
            rules = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            REPEAT = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--origin") && i + 1 < argc) {
            const char *o = argv[++i];
            ORIGIN = !strcmp(o, "other")      ? FR_APPLIES_OTHER
                     : !strcmp(o, "logs")     ? FR_APPLIES_LOGS
                     : !strcmp(o, "pipeline") ? FR_APPLIES_PIPELINE_DEFS
                     : !strcmp(o, "all")      ? FR_APPLIES_ALL
                                              : 0;
            if (!ORIGIN) {
                fprintf(stderr, "--origin: other, logs, pipeline or all\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--print-patterns"))
            print = 1;
        else
            file = argv[i];
    }
    fr_ruleset *rs;
    if (fr_rules_load(&rs, rules)) {
        fprintf(stderr, "%s\n", fr_error());
        return 2;
    }
    if (print) {
        for (size_t i = 0; i < rs->n; i++)
            puts(rs->rules[i].pattern);
        fr_ruleset_free(rs);
        return 0;
    }
    if (!file) {
        fprintf(stderr, "usage: bench_engine [--rules DIR] [--threads N] [--repeat K] "
                        "[--origin other|logs|pipeline|all] FILE\n");
        return 2;
    }
    FILE *f = fopen(file, "rb");
    if (!f) {
        perror(file);
        return 2;
    }
    fr_buf b = {0};
    char tmp[1 << 16];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        fr_buf_append(&b, tmp, n);
    fclose(f);
    DATA = (const unsigned char *)b.p;
    LEN = b.len;
    NCHUNKS = (LEN + CHUNK - 1) / CHUNK;
    fr_engine *e;
    if (fr_engine_new(&e, rs, NULL)) {
        fprintf(stderr, "%s\n", fr_error());
        return 2;
    }
    E = e;
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    double t0 = fr_monotonic(), c0 = cpu_seconds();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double secs = fr_monotonic() - t0, cpu = cpu_seconds() - c0;
    double mb = (double)LEN * REPEAT / 1e6;
    /* MB/s is wall time (all threads); per-CPU-s is what one busy thread scans
     * in a second of CPU, the figure that holds on a loaded machine. */
    printf("threads=%d origin=%u bytes=%zu repeat=%d seconds=%.3f MB/s=%.0f cpu=%.3f "
           "MB/cpu-s=%.0f matches=%zu\n",
           threads, ORIGIN, LEN, REPEAT, secs, mb / secs, cpu, mb / cpu,
           (size_t)atomic_load(&MATCHES) / (size_t)REPEAT);
    free(t);
    fr_engine_free(e);
    fr_ruleset_free(rs);
    fr_buf_release(&b);
    return 0;
}
