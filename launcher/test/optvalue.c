/* The values of krun's options: each kind accepted and refused, with the
 * message naming the option (krun.c dies with it, status 2). */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "optvalue.h"
#include "tests/tap.h"

static const struct {
    const char *s;
    int min, want, err;
    const char *message;
} counts[] = {
    {"4", 1, 4, 0, NULL},
    {"0", 0, 0, 0, NULL},
    {"2147483647", 1, INT_MAX, 0, NULL},
    {"0", 1, 0, EINVAL, "-n: expected an integer >= 1, got '0'"},
    {"-3", 0, 0, EINVAL, "-n: expected an integer >= 0, got '-3'"},
    {"-99999999999999999999", 1, 0, EINVAL, "-n: expected an integer >= 1"},
    {"", 1, 0, EINVAL, "-n: expected an integer >= 1, got ''"},
    {"4x", 1, 0, EINVAL, "got '4x'"},
    {"2147483648", 1, 0, ERANGE, "-n: 2147483648 is out of range: at most 2147483647"},
    {"99999999999999999999", 1, 0, ERANGE, "is out of range"},
};

static const struct {
    const char *s;
    int want;
    bool valid;
} seconds[] = {
    {"1", 1000, true},     {"0.5", 500, true}, {"0.001", 1, true},
    {"0.0004", 0, false},  {"0", 0, false},    {"-1", 0, false},
    {"1s", 0, false},      {"", 0, false},     {"2147483.647", INT_MAX, true},
    {"2147484", 0, false},
};

static const struct {
    const char *s;
    int want;
    bool valid;
} sizes[] = {
    {"0", 0, true},        {"10", 10, true},
    {"4K", 4096, true},    {"64M", 64 << 20, true},
    {"1G", 1 << 30, true}, {"2G", 0, false},
    {"1T", 0, false},      {"-1", 0, false},
    {"K", 0, false},       {"2147483647", INT_MAX, true},
};

int main (void)
{
    struct krun_error error;

    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (counts) / sizeof (counts[0]); i++) {
        int v = -7;
        int rc = optvalue_count ("-n", counts[i].s, counts[i].min, &v, &error);
        if (!counts[i].err) {
            ok (rc == 0 && v == counts[i].want, "count '%s' (>= %d) is %d", counts[i].s,
                counts[i].min, counts[i].want);
            continue;
        }
        ok (rc < 0 && errno == counts[i].err && v == -7, "count '%s' (>= %d) refused",
            counts[i].s, counts[i].min);
        ok (strstr (error.text, counts[i].message) != NULL, "... saying: %s",
            error.text);
    }
    for (size_t i = 0; i < sizeof (seconds) / sizeof (seconds[0]); i++) {
        int v = -7;
        int rc = optvalue_seconds_ms ("--timeout", seconds[i].s, &v, &error);
        if (seconds[i].valid)
            ok (rc == 0 && v == seconds[i].want, "seconds '%s' are %d ms", seconds[i].s,
                seconds[i].want);
        else
            ok (rc < 0 && errno == EINVAL && v == -7 &&
                    strstr (error.text, "--timeout: expected a number of seconds"),
                "seconds '%s' refused", seconds[i].s);
    }
    for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes[0]); i++) {
        int v = -7;
        int rc = optvalue_size ("--output-limit", sizes[i].s, &v, &error);
        if (sizes[i].valid)
            ok (rc == 0 && v == sizes[i].want, "size '%s' is %d", sizes[i].s,
                sizes[i].want);
        else
            ok (rc < 0 && errno == EINVAL && v == -7 &&
                    strstr (error.text, "--output-limit: expected a byte count"),
                "size '%s' refused", sizes[i].s);
    }
    done_testing ();
    return exit_status ();
}
