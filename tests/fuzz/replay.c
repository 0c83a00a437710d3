/* Runs a fuzz harness over files without libFuzzer: `make check` feeds it
 * the committed corpus (tests/t0250-fuzz-corpus.t), so every build, also
 * with GCC and its sanitizers, checks the harness's properties on the
 * corpus.  Prints one TAP line per file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int main (int argc, char *argv[])
{
    printf ("1..%d\n", argc - 1);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen (argv[i], "rb");
        uint8_t *data = NULL;
        size_t size = 0, cap = 0, n;

        if (!f) {
            printf ("not ok %d - %s: cannot open\n", i, argv[i]);
            continue;
        }
        do {
            if (size == cap) {
                uint8_t *bigger = realloc (data, cap = cap ? 2 * cap : 4096);
                if (!bigger) {
                    perror ("replay");
                    return 1;
                }
                data = bigger;
            }
            n = fread (data + size, 1, cap - size, f);
            size += n;
        } while (n > 0);
        fclose (f);
        /* A failed property aborts the whole run: TAP then misses lines. */
        LLVMFuzzerTestOneInput (data, size);
        printf ("ok %d - %s\n", i, argv[i]);
        free (data);
    }
    return 0;
}
