#!/bin/bash
# The task API (libkrun, through the examples) and per-rank data through the
# broker: --inputs, --input-dir, --results, --output-dir, and their limits.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 4
CFG
EX="$KRUN_TOP_BUILDDIR/examples"

test_expect_success 'examples/rank without krun: rank 0 of 1, attempt 1' '
    "$EX/rank" >alone &&
    grep -qx "rank 0 of 1 on node $(hostname), local rank 0, attempt 1" alone
'
test_expect_success 'examples/rank under krun: each rank its rank, size, node' '
    "$KRUN" -n 6 "$EX/rank" >ranks &&
    [ "$(wc -l <ranks)" -eq 6 ] &&
    for r in 0 1 2 3 4 5; do
        grep -q "^rank $r of 6 on node $(hostname), local rank [0-3], attempt 1$" ranks ||
            { echo "rank $r missing"; exit 1; }
    done
'
test_expect_success 'sweep: --inputs sets N, --results gets each rank'"'"'s bytes' '
    seq 1 20 >params &&
    "$KRUN" --inputs params --results res "$EX/sweep" &&
    [ "$(ls res | wc -l)" -eq 20 ] &&
    for r in $(seq 0 19); do
        [ "$(cat res/$r)" = "$(( (r + 1) * (r + 1) ))" ] ||
            { echo "res/$r: $(cat res/$r)"; exit 1; }
    done
'
test_expect_success 'the input reaches the task byte for byte (KRUN_INPUT_FILE)' '
    printf "a b  c\\n\\nlast\\\\n\\n" >lines &&
    "$KRUN" --inputs lines --tag-output /bin/sh -c "printf \"<%s>\\n\" \"\$(cat \"\$KRUN_INPUT_FILE\")\"" >echo &&
    grep -qx "\[0\] <a b  c>" echo && grep -qx "\[1\] <>" echo &&
    grep -qx "\[2\] <last\\\\n>" echo && [ "$(wc -l <echo)" -eq 3 ]
'
test_expect_success '--inputs - reads the inputs from standard input' '
    seq 5 7 | "$KRUN" --inputs - --results stdin-res "$EX/sweep" &&
    [ "$(cat stdin-res/0)" = 25 ] && [ "$(cat stdin-res/2)" = 49 ] &&
    [ ! -e stdin-res/3 ] &&
    : | test_expect_code 2 "$KRUN" --inputs - "$EX/sweep" 2>err &&
    grep -q "standard input is empty" err
'
test_expect_success '-n must agree with the number of inputs' '
    test_expect_code 2 "$KRUN" -n 5 --inputs params "$EX/sweep" 2>err &&
    grep -q "params has 20 entries but 5 ranks" err
'
test_expect_success '--input-dir: file i (natural order) is rank i'"'"'s input, binary intact' '
    mkdir in && printf "one" >in/f1 && printf "x\\0y" >in/f2 && printf "ten" >in/f10 &&
    "$KRUN" --input-dir in --results back /bin/sh -c "cp \"\$KRUN_INPUT_FILE\" \"\$PWD/copy.\$KRUN_RANK\"" &&
    cmp copy.0 in/f1 && cmp copy.1 in/f2 && cmp copy.2 in/f10 && [ ! -e copy.3 ] &&
    [ -d back ] && [ "$(ls back | tr "\n" " ")" = "0.err 0.out 1.err 1.out 2.err 2.out " ] &&
    [ "$(cat back/* | wc -c)" -eq 0 ]
'
test_expect_success 'an input over 1 MiB is refused before anything runs' '
    head -c 1048577 /dev/zero | tr "\\0" x >big && echo >>big &&
    test_expect_code 2 "$KRUN" --inputs big /bin/sh -c "touch ran" 2>err &&
    grep -q "big:1: 1048577 bytes, over the limit of 1048576 bytes per rank" err &&
    grep -q "shared file system" err && [ ! -e ran ]
'
test_expect_success 'an input of exactly 1 MiB passes' '
    head -c 1048576 /dev/zero | tr "\\0" y >max &&
    "$KRUN" --inputs max /bin/sh -c "wc -c <\"\$KRUN_INPUT_FILE\"" >maxout &&
    [ "$(cat maxout)" -eq 1048576 ]
'
test_expect_success 'a result of 1 MiB comes back whole' '
    cat >bigresult.c <<-C &&
	#include <stdlib.h>
	#include <string.h>
	#include <krun/krun.h>
	int main (void) {
	    char *b = malloc (KRUN_RESULT_MAX);
	    memset (b, 0x5a, KRUN_RESULT_MAX);
	    int rc = krun_init () || krun_result (b, KRUN_RESULT_MAX) ||
	             krun_result (b, KRUN_RESULT_MAX + 1) != -1;
	    free (b);
	    krun_finalize ();
	    return rc;
	}
	C
    ${CC:-cc} $TASK_CFLAGS -I"$KRUN_TOP_SRCDIR/include" bigresult.c -o bigresult \
        "$KRUN_TOP_BUILDDIR/libkrun/.libs/libkrun.so" -Wl,-rpath,"$KRUN_TOP_BUILDDIR/libkrun/.libs" &&
    "$KRUN" -n 2 --results bigres ./bigresult &&
    [ "$(wc -c <bigres/0)" -eq 1048576 ] && [ "$(tr -d Z <bigres/1 | wc -c)" -eq 0 ]
'
test_expect_success 'a task that writes garbage on its control channel: no result, slot unharmed' '
    "$KRUN" -n 4 --results garbage /bin/sh -c "printf \"XXXXXXXXXXXX\" >&\$KRUN_CONTROL_FD; echo fine" >gout &&
    [ "$(grep -cx fine gout)" -eq 4 ] && [ "$(ls garbage | grep -vc "\.\(out\|err\)$")" -eq 0 ] &&
    [ "$(cat garbage/3.out)" = fine ] &&
    grep -q "task control channel: unknown record type" "$KRUN_STATE_DIR"/krund-*.log &&
    seq 1 4 >four && "$KRUN" --inputs four --results after "$EX/sweep" &&
    [ "$(cat after/3)" = 16 ]
'
test_expect_success '--output-dir: per-rank stdout and stderr files, nothing on the terminal' '
    "$KRUN" -n 3 --output-dir outs/sub /bin/sh -c "echo out \$KRUN_RANK; echo err \$KRUN_RANK >&2; printf tail" >term 2>termerr &&
    [ ! -s term ] &&
    for r in 0 1 2; do
        [ "$(cat outs/sub/$r.out)" = "out $r
tail" ] && [ "$(cat outs/sub/$r.err)" = "err $r" ] || { echo "rank $r"; exit 1; }
    done &&
    printf "out 0\\ntail" | cmp - outs/sub/0.out
'
test_expect_success '--output-dir makes empty files for silent ranks and truncates old ones' '
    "$KRUN" -n 2 --output-dir outs/sub true &&
    [ -e outs/sub/0.out ] && [ ! -s outs/sub/0.out ] && [ ! -s outs/sub/1.err ] &&
    [ -s outs/sub/2.out ]
'
# Last: it restarts the daemon with a directory it must refuse.
# Its daemon refuses the job, saying why (issue 11), instead of failing each
# rank; with no other node the job ends at once, with the reason.
test_expect_success 'a worker without a scratch directory refuses the job and says why' '
    "$KRUN" down >/dev/null &&
    chmod 755 "$KRUN_STATE_DIR/krund" &&
    test_expect_code 1 timeout 120 "$KRUN" --inputs four /bin/cat 2>err &&
    chmod 700 "$KRUN_STATE_DIR/krund" &&
    cat err &&
    [ "$(grep -c "^krun: job [0-9a-f]*: node .* refused the job: no scratch space: refusing $KRUN_STATE_DIR/krund: mode 0755 lets group or others in (must be 0700)$" err)" -eq 1 ] &&
    grep -q "no node left to run it (.*: no scratch space: refusing $KRUN_STATE_DIR/krund" err
'
test_done
