/* Unit tests of Kubernetes quantity parsing, driven by a table. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "launcher/kubernetes/quantity.h"
#include "tests/tap.h"

static const struct {
    const char *text;
    int64_t milli;
} good[] = {
    {"128", 128000},
    {"127500m", 127500},
    {"1.5", 1500},
    {"0.1", 100},
    {"100m", 100},
    {"+2", 2000},
    {"0.0001", 1}, /* below a milli: rounded up */
    {"1500u", 2},
    {"250000000n", 250},
    {"1k", 1000000},
    {"1e3", 1000000},
    {"1E-3", 1},
    {"4Gi", 4LL * 1024 * 1024 * 1024 * 1000},
    {"512Mi", 512LL * 1024 * 1024 * 1000},
    {"1.5Gi", 1536LL * 1024 * 1024 * 1000},
    {"2M", 2000000000LL},
    {"129807204Ki", 129807204LL * 1024 * 1000},
    {"0", 0},
};

static const char *const bad[] = {
    "", "m", "-1", "1.2.3", "12x", "1 Gi", "Gi", "1gi", "1e", "1ee3", ".", "1Kii",
};

int main (void)
{
    int64_t v;

    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++) {
        v = -1;
        int rc = quantity_parse_milli (good[i].text, &v);
        ok (rc == 0 && v == good[i].milli, "'%s' is %lld milli (got %lld)",
            good[i].text, (long long)good[i].milli, (long long)v);
    }
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        errno = 0;
        ok (quantity_parse_milli (bad[i], &v) < 0 && errno == EINVAL, "'%s' refused",
            bad[i]);
    }
    errno = 0;
    ok (quantity_parse_milli ("100Ei", &v) < 0 && errno == ERANGE,
        "100Ei out of range");
    ok (quantity_parse ("1.5", &v) == 0 && v == 2, "whole units round up: 1.5 -> 2");
    ok (quantity_parse ("4Gi", &v) == 0 && v == 4LL << 30, "4Gi in bytes");
    ok (quantity_parse ("127500m", &v) == 0 && v == 128, "127500m -> 128 whole");
    done_testing ();
    return exit_status ();
}
