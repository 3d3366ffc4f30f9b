/*
 * fuzz.h: the libFuzzer entry points every tests/fuzz/fuzz_<name>.c defines.
 * Built with FERRET_FUZZ=ON (clang) they link against libFuzzer; in every other
 * build they link against replay.c, which runs a corpus through them as a ctest
 * case. A target calls abort() (FUZZ_ASSERT) when an invariant breaks, so both
 * libFuzzer and the replay driver report the input as a failure.
 */
#ifndef FERRET_FUZZ_H
#define FERRET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: one-time set-up (replay.c calls it when a target defines it). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
