/*
 * fuzz.h - what the fuzz targets in tests/fuzz/ share.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput.  Built with
 * --enable-fuzzing it is linked with libFuzzer (tests/fuzz/fuzz_*, run by
 * `make fuzz'); always it is also linked with replay.c, whose main() feeds
 * it the files of the seed corpus (tests/fuzz/replay_*, run by `make check'
 * through tests/fuzz-replay.sh).
 *
 * A target checks properties of what it calls, not only that nothing
 * crashes: FUZZ_CHECK prints the failed condition and aborts, which
 * libFuzzer reports as a crash and saves the input for.
 */
#ifndef NB_FUZZ_H
#define NB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: called once before the first input, by libFuzzer and by
 * replay.c alike. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__,   \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* Invariant violated, with a printf-style explanation. */
#define FUZZ_FAIL(...)                                                     \
    do {                                                                   \
        fprintf(stderr, "%s:%d: invariant violated: ", __FILE__,           \
                __LINE__);                                                 \
        fprintf(stderr, __VA_ARGS__);                                      \
        fputc('\n', stderr);                                               \
        abort();                                                           \
    } while (0)

#endif /* NB_FUZZ_H */
