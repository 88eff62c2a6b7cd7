/*
 * replay.c - main() for running a fuzz target without libFuzzer: every
 * file named on the command line (or every regular file of a directory
 * named there) is read and passed to LLVMFuzzerTestOneInput once, in a
 * heap buffer of exactly its size, so that a sanitizer build catches
 * reads past its end as libFuzzer would.  `make check' runs the seed
 * corpus through it (tests/fuzz-replay.sh); a crash found by `make fuzz'
 * can be replayed the same way, under gdb or valgrind if need be.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets may leave it undefined, as libFuzzer allows. */
extern int LLVMFuzzerInitialize(int *argc, char ***argv)
    __attribute__((weak));

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data;
    long size;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: %s: cannot tell its size\n", path);
        fclose(f);
        return -1;
    }
    data = malloc(size > 0 ? (size_t)size : 1);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (size == 0) {
        /* an empty input, in a buffer with no byte to read */
        free(data);
        data = malloc(0);
    }
    LLVMFuzzerTestOneInput(data, (size_t)size);
    free(data);
    return 0;
}

static int not_hidden(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* The files of a directory in name order, so that runs are repeatable. */
static int replay_dir(const char *dir, int *count)
{
    struct dirent **names;
    int n, i, failed = 0;

    n = scandir(dir, &names, not_hidden, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path) != 0)
                failed = 1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    int i, count = 0, failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (replay_dir(argv[i], &count) != 0)
                failed = 1;
        } else if (replay_file(argv[i]) != 0) {
            failed = 1;
        } else {
            count++;
        }
    }
    printf("%s: %d input%s replayed%s\n", argv[0], count,
           count == 1 ? "" : "s", failed ? ", some unreadable" : "");
    return failed ? 1 : 0;
}
