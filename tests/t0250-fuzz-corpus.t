#!/bin/bash
# The committed fuzz corpus (tests/fuzz/corpus) through the properties of the
# libFuzzer harnesses, without libFuzzer: no crash, no sanitizer report, the
# decoder's canonical round trip, no body accepted without the key.
. "$(dirname "$0")/lib/test-lib.sh"

for name in protocol sign; do
    test_expect_success "the $name corpus passes its harness" '
        files=$(ls "$KRUN_TOP_SRCDIR/tests/fuzz/corpus/'$name'" | wc -l) &&
        [ "$files" -ge 5 ] &&
        "$KRUN_TOP_BUILDDIR/tests/fuzz/'$name'-replay" "$KRUN_TOP_SRCDIR/tests/fuzz/corpus/'$name'"/* >out &&
        [ "$(grep -c "^ok " out)" -eq "$files" ]
    '
done
test_expect_success 'the sign harness catches a body sealed with its key (it can fail)' '
    printf fuzz-key-fuzz-key-fuzz-key-fuzz-key >fuzzkey &&
    printf "{\"v\":1,\"type\":\"end\",\"job\":\"x\"}" |
        python3 "$KRUN_TOP_SRCDIR/tests/lib/seal.py" seal fuzzkey 5 >forged &&
    ! "$KRUN_TOP_BUILDDIR/tests/fuzz/sign-replay" forged >out 2>&1
'
test_done
