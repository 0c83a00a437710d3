/* halt.c - see halt.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halt.h"

static const char *const when_names[] = {"never", "soon", "now"};
static const char *const why_names[] = {"fail", "success", "done"};

static int word_index (const char *word, size_t len, const char *const names[], int n)
{
    for (int i = 0; i < n; i++)
        if (strlen (names[i]) == len && strncmp (word, names[i], len) == 0)
            return i;
    return -1;
}

/* "N" or "N%" (N >= 1, a percentage at most 100).  Returns 0 or -1. */
static int parse_count (const char *text, struct halt_policy *p)
{
    char *end;
    long v;

    if (*text < '0' || *text > '9')
        return -1;
    errno = 0;
    v = strtol (text, &end, 10);
    p->percent = *end == '%';
    if (p->percent)
        end++;
    if (errno || *end || v < 1 || v > (p->percent ? 100 : INT_MAX))
        return -1;
    p->count = (int)v;
    return 0;
}

/* parallel's short forms. */
static bool parse_short (const char *text, struct halt_policy *p)
{
    static const struct {
        const char *text;
        struct halt_policy policy;
    } forms[] = {
        {"0", {HALT_NEVER, HALT_FAIL, 0, false}},
        {"1", {HALT_SOON, HALT_FAIL, 1, false}},
        {"2", {HALT_NOW, HALT_FAIL, 1, false}},
        {"-1", {HALT_SOON, HALT_SUCCESS, 1, false}},
        {"-2", {HALT_NOW, HALT_SUCCESS, 1, false}},
    };

    for (size_t i = 0; i < sizeof (forms) / sizeof (forms[0]); i++)
        if (strcmp (text, forms[i].text) == 0) {
            *p = forms[i].policy;
            return true;
        }
    size_t len = strlen (text);
    if (len > 1 && text[len - 1] == '%' && strchr ("0123456789", text[0])) {
        struct halt_policy q = {HALT_SOON, HALT_FAIL, 0, false};
        if (parse_count (text, &q) == 0) {
            *p = q;
            return true;
        }
    }
    return false;
}

int halt_parse (const char *text, struct halt_policy *policy, struct krun_error *errp)
{
    struct halt_policy p = {0};
    const char *comma, *equal;
    int when, why;

    if (parse_short (text, &p)) {
        *policy = p;
        return 0;
    }
    if (strcmp (text, "never") == 0) {
        *policy = p;
        return 0;
    }
    comma = strchr (text, ',');
    equal = comma ? strchr (comma, '=') : NULL;
    if (!comma || !equal ||
        (when = word_index (text, comma - text, when_names, 3)) <= HALT_NEVER ||
        (why = word_index (comma + 1, equal - comma - 1, why_names, 3)) < 0 ||
        parse_count (equal + 1, &p) < 0) {
        errno = EINVAL;
        return errprintf (errp,
                          "--halt: expected never, or now|soon,fail|success|done=N "
                          "(N >= 1, or 1%%..100%%), got '%s'",
                          text);
    }
    p.when = when;
    p.why = why;
    *policy = p;
    return 0;
}

const char *halt_format (const struct halt_policy *policy, char *buf, size_t size)
{
    if (policy->when == HALT_NEVER)
        snprintf (buf, size, "never");
    else
        snprintf (buf, size, "%s,%s=%d%s", when_names[policy->when],
                  why_names[policy->why], policy->count, policy->percent ? "%" : "");
    return buf;
}

enum halt_when halt_check (const struct halt_policy *policy, int size, int done,
                           int failed)
{
    long long counted;

    if (policy->when == HALT_NEVER)
        return HALT_NEVER;
    switch (policy->why) {
        case HALT_FAIL:
            counted = failed;
            break;
        case HALT_SUCCESS:
            counted = done - failed;
            break;
        default:
            counted = done;
    }
    /* parallel: N% of the jobs is total * N / 100 of them, reached when
     * the count is at least that (not rounded up). */
    if (policy->percent ? counted * 100 >= (long long)policy->count * size
                        : counted >= policy->count)
        return counted > 0 ? policy->when : HALT_NEVER;
    return HALT_NEVER;
}
