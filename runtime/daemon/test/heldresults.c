/* Unit tests of heldresults: copies taken, order kept, the hold time, the
 * byte and count limits, clearing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heldresults.h"
#include "tests/tap.h"

static struct protocol_result result (int rank, const char *error, const char *data)
{
    return (struct protocol_result){
        .rank = rank,
        .attempt = 2,
        .node_out = "n1",
        .slot = 7,
        .local = 3,
        .core = 5,
        .cpus_out = "5",
        .status = error ? PROTOCOL_FAILED : PROTOCOL_EXITED,
        .code = error ? 127 : rank,
        .start_us = 1000 + rank,
        .end_us = 2000 + rank,
        .error_out = error,
        .data = data,
        .data_len = data ? strlen (data) : 0,
    };
}

static int add (struct heldresults *h, int rank, int64_t now_ms)
{
    struct protocol_result r = result (rank, NULL, NULL);
    return heldresults_add (h, &r, now_ms);
}

static void test_copies (struct heldresults *h)
{
    char error[] = "exec failed", data[] = "42\n", node[] = "n1";
    struct protocol_result r = result (4, error, data);
    const struct protocol_result *items;
    int n = -1;

    r.node_out = node;
    ok (heldresults_items (h, &n) == NULL && errno == ENOENT && n == 0,
        "none held: no items, ENOENT");
    is_int (heldresults_add (h, &r, 100), 0, "a result is held");
    is_int (add (h, 5, 110), 0, "a second one too");
    /* The caller's buffers are reused at once. */
    memset (error, 'x', sizeof (error) - 1);
    memset (data, 'y', sizeof (data) - 1);
    memset (node, 'z', sizeof (node) - 1);
    items = heldresults_items (h, &n);
    is_int (n, 2, "two held");
    is_int (heldresults_count (h), 2, "counted");
    ok (items && items[0].rank == 4 && items[1].rank == 5, "in the order added");
    is_str (items[0].error, "exec failed", "the error text is a copy");
    is_str (items[0].node, "n1", "the node is a copy");
    is_str (items[0].cpus, "5", "the cpus are a copy");
    ok (items[0].data_len == 3 && memcmp (items[0].data, "42\n", 3) == 0,
        "the krun_result bytes are a copy");
    ok (items[1].error == NULL && items[1].data == NULL && items[1].data_len == 0,
        "a result without error or data has none");
    ok (items[1].code == 5 && items[1].start_us == 1005 && items[1].end_us == 2005 &&
            items[1].attempt == 2 && items[1].slot == 7 && items[1].local == 3 &&
            items[1].core == 5 && items[1].status == PROTOCOL_EXITED,
        "the other fields are kept");
    heldresults_clear (h);
    is_int (heldresults_count (h), 0, "cleared");
}

static void test_hold_time (struct heldresults *h)
{
    is_int (heldresults_wait_ms (h, 500), -1, "none held: no wait");
    ok (!heldresults_due (h, 500), "none held: nothing due");
    add (h, 1, 500);
    add (h, 2, 515);
    is_int (heldresults_wait_ms (h, 505), HELDRESULTS_HOLD_MS - 5,
            "the wait counts from the first held");
    ok (!heldresults_due (h, 500 + HELDRESULTS_HOLD_MS - 1), "not due before the hold");
    ok (heldresults_due (h, 500 + HELDRESULTS_HOLD_MS),
        "due when the first has waited");
    is_int (heldresults_wait_ms (h, 600), 0, "then no wait");
    heldresults_clear (h);
    add (h, 3, 900);
    ok (!heldresults_due (h, 905), "after a clear, the hold starts again");
    heldresults_clear (h);
}

static void test_limits (struct heldresults *h)
{
    size_t big = HELDRESULTS_MAX_BYTES / 2 + 1;
    char *data = malloc (big + 1);
    struct protocol_result r;

    if (!data)
        bail_out ("out of memory");
    memset (data, 'd', big);
    data[big] = '\0';
    ok (heldresults_fits (h, HELDRESULTS_MAX_BYTES + 1),
        "anything fits when none is held");
    r = result (0, NULL, data);
    is_int (heldresults_add (h, &r, 0), 0, "half the bytes held");
    ok (!heldresults_fits (h, big), "more than the rest of the bytes does not fit");
    ok (heldresults_fits (h, HELDRESULTS_MAX_BYTES - big), "the rest fits");
    heldresults_clear (h);
    for (int i = 0; i < PROTOCOL_MAX_BATCH; i++)
        if (add (h, i, 0) < 0)
            bail_out ("add %d failed", i);
    ok (!heldresults_fits (h, 0), "a full batch fits no more");
    errno = 0;
    ok (add (h, 0, 0) < 0 && errno == ENOSPC, "past PROTOCOL_MAX_BATCH: ENOSPC");
    is_int (heldresults_count (h), PROTOCOL_MAX_BATCH, "the held ones stay");
    heldresults_clear (h);
    free (data);
}

int main (void)
{
    struct heldresults *h = heldresults_create ();

    plan (NO_PLAN);
    if (!h)
        bail_out ("heldresults_create");
    test_copies (h);
    test_hold_time (h);
    test_limits (h);
    heldresults_destroy (h);
    heldresults_destroy (NULL);
    done_testing ();
    return exit_status ();
}
