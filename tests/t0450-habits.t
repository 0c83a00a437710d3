#!/bin/bash
# Habits of mpirun, srun and GNU parallel users (issue 14): failed ranks are
# said, streams are byte-exact, a closed stdout stops the job, nothing is
# cut silently.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 2
CFG

test_expect_success 'warm up the daemon' '
    "$KRUN" -n 1 /bin/true
'
test_expect_success 'a failed rank is said on stderr as it fails, with a summary' '
    test_expect_code 3 "$KRUN" -n 4 sh -c "[ \$KRUN_RANK = 2 ] && exit 3; exit 0" >out 2>err &&
    grep -qx "krun: rank 2 exited with status 3 on node .* (attempt 1)" err &&
    grep -qx "krun: 1 of 4 ranks failed: 2" err && [ ! -s out ]
'
test_expect_success 'a killed rank names its signal; many failures are compressed' '
    test_expect_code 137 "$KRUN" -n 12 sh -c "[ \$KRUN_RANK = 11 ] && kill -KILL \$\$; [ \$KRUN_RANK -lt 10 ] && exit 1; exit 0" 2>err2 &&
    grep -qx "krun: rank 11 killed by signal 9 (SIGKILL) on node .* (attempt 1)" err2 &&
    grep -qx "krun: 11 of 12 ranks failed: 0-9, 11" err2
'
test_expect_success 'no failure: nothing said' '
    "$KRUN" -n 3 /bin/true 2>err3 && ! grep -q "failed" err3
'
test_expect_success 'one rank: stdout is byte-exact (gzip -c | gunzip)' '
    head -c 300000 /dev/urandom >data &&
    "$KRUN" -q -n 1 gzip -c data >data.gz &&
    gunzip -c data.gz | cmp - data &&
    "$KRUN" -q -n 1 gzip -c data | gunzip >back
    [ "${PIPESTATUS[0]}${PIPESTATUS[1]}" = "00" ] && cmp back data
'
test_expect_success 'no newline is added to a last line without one' '
    "$KRUN" -q -n 1 printf abc >abc &&
    [ "$(od -An -c abc | tr -d " ")" = "abc" ] &&
    "$KRUN" -q -n 1 sh -c "printf err >&2" 2>e1 && [ "$(cat e1)" = "err" ] && [ "$(wc -c <e1)" -eq 3 ]
'
test_expect_success 'several ranks: whole lines, the unterminated tails kept' '
    "$KRUN" -q -n 3 sh -c "printf \"line \$KRUN_RANK\\ntail \$KRUN_RANK\"" >tails &&
    [ "$(grep -c "^line [0-2]$" tails)" -eq 3 ] && [ "$(grep -c "^tail [0-2]$" tails)" -eq 3 ] &&
    [ "$(grep -c "" tails)" -eq 6 ] && [ "$(tail -c 1 tails)" != "" ]
'
test_expect_success 'a closed stdout (| head -1) cancels the job: exit 141, fast' '
    start=$(date +%s)
    timeout 60 "$KRUN" -q -n 2 sh -c "while :; do echo x; sleep 0.01; done" | head -n 1 >first
    rc=${PIPESTATUS[0]}
    echo "exit $rc after $(( $(date +%s) - start )) s"
    [ "$rc" -eq 141 ] && [ "$(cat first)" = "x" ] && [ $(( $(date +%s) - start )) -lt 30 ]
'
test_expect_success 'output cut at --output-limit is said on stderr and fails the run' '
    test_expect_code 74 "$KRUN" -q -n 2 --output-limit 1K sh -c "[ \$KRUN_RANK = 1 ] && head -c 5000 /dev/zero | tr \"\\\\0\" a; echo ok" >cut 2>cuterr &&
    grep -qx "krun: the output was cut at --output-limit (the rest dropped) for 1 rank: 1" cuterr &&
    grep -q "rank 1: output cut at 1024 bytes (--output-limit)" cuterr
'
test_expect_success '-np N is mpirun'"'"'s spelling of -n N' '
    "$KRUN" -q -np 3 echo x >np && [ "$(grep -c "^x$" np)" -eq 3 ] &&
    "$KRUN" -q -np2 echo y >np2 && [ "$(grep -c "^y$" np2)" -eq 2 ] &&
    test_expect_code 2 "$KRUN" -np 2>nperr && grep -q "needs an argument" nperr
'
test_expect_success '--halt now,fail=1 cancels the other ranks at the first failure' '
    start=$(date +%s)
    test_expect_code 5 "$KRUN" -q -n 6 --halt now,fail=1 sh -c "[ \$KRUN_RANK = 0 ] && exit 5; sleep 60" 2>h1 &&
    grep -q "krun: --halt now,fail=1: cancelling the 5 ranks not done" h1 &&
    [ $(( $(date +%s) - start )) -lt 40 ]
'
test_expect_success '--kill-on-bad-exit is --halt now,fail=1' '
    test_expect_code 5 "$KRUN" -q -n 6 --kill-on-bad-exit sh -c "[ \$KRUN_RANK = 0 ] && exit 5; sleep 60" 2>h2 &&
    grep -q "now,fail=1: cancelling" h2
'
test_expect_success '--halt soon,fail=1 starts no new rank and lets the running one finish' '
    rm -f r[0-9] &&
    test_expect_code 4 "$KRUN" -q -n 6 --halt soon,fail=1 sh -c "case \$KRUN_RANK in 0) exit 4;; 1) sleep 2; touch r1;; *) sleep 1; touch r\$KRUN_RANK;; esac" 2>h3 &&
    grep -q "krun: --halt soon,fail=1: starting no more ranks" h3 &&
    [ -e r1 ] && [ ! -e r3 ] && [ ! -e r4 ] && [ ! -e r5 ]
'
test_expect_success '--halt: a bad policy is refused' '
    test_expect_code 2 "$KRUN" -n 1 --halt sometimes,fail=1 true 2>h4 &&
    grep -q "expected never, or now|soon" h4
'
test_expect_success '-j 1 runs one rank at a time (slots stay as they are)' '
    rmdir lockdir 2>/dev/null; : >overlap
    "$KRUN" -q -n 6 -j 1 sh -c "mkdir lockdir || echo overlap >>overlap; sleep 0.3; rmdir lockdir" &&
    [ ! -s overlap ] &&
    "$KRUN" -q -n 4 --max-running 2 echo ok >j2 && [ "$(grep -c "^ok$" j2)" -eq 4 ]
'
test_expect_success 'without -j two ranks overlap on the two slots (the check above can fail)' '
    rmdir lockdir 2>/dev/null; : >overlap
    "$KRUN" -q -n 6 sh -c "mkdir lockdir || echo overlap >>overlap; sleep 0.3; rmdir lockdir 2>/dev/null; true" &&
    [ -s overlap ]
'
test_expect_success '--slots 0 means one per core, not an error' '
    "$KRUN" -q --slots 0 -n 1 true
'
test_expect_success 'stdin is /dev/null for the tasks, said when data waits on krun'"'"'s' '
    echo data | "$KRUN" -q -n 1 cat >in1 2>inerr1 &&
    [ ! -s in1 ] && grep -q "warning: the tasks'"'"' standard input is /dev/null" inerr1 &&
    "$KRUN" -q -n 1 cat </dev/null >in2 2>inerr2 && [ ! -s inerr2 ] &&
    printf "a\nb\n" | "$KRUN" -q --inputs - echo "{}" >in3 2>inerr3 && [ ! -s inerr3 ] &&
    [ "$(sort in3 | tr "\n" " ")" = "a b " ]
'
test_expect_success 'krun status --json: the daemons and jobs for scripts' '
    "$KRUN" status --json >st.json &&
    [ "$(wc -l <st.json)" -eq 1 ] &&
    grep -q "^{\"running\":true,\"nodes\":\[{\"name\":\"[^\"]*\",\"slots\":[0-9]*,\"busy\":0,\"pid\":[0-9]*," st.json &&
    grep -q ",\"jobs\":\[\]}$" st.json &&
    test_expect_code 2 "$KRUN" -n 1 --json true 2>jerr && grep -q "json is for krun status" jerr
'
test_expect_success 'krun status --json with nothing running: running false, exit 0' '
    "$KRUN" down >/dev/null 2>&1 &&
    "$KRUN" status --json >st2.json &&
    grep -qx "{\"running\":false,\"nodes\":\[\],\"jobs\":\[\]}" st2.json
'
test_expect_success 'the tasks get the launcher'"'"'s environment, not the daemon'"'"'s' '
    OMP_NUM_THREADS=64 KRUN_TEST_DAEMON_ONLY=1 "$KRUN" -q -n 1 true &&
    env -u OMP_NUM_THREADS -u KRUN_TEST_DAEMON_ONLY "$KRUN" -q -n 1 sh -c "echo \${OMP_NUM_THREADS-unset} \${KRUN_TEST_DAEMON_ONLY-unset}" >envout &&
    [ "$(cat envout)" = "unset unset" ] &&
    OMP_NUM_THREADS=3 "$KRUN" -q -n 1 sh -c "echo \$OMP_NUM_THREADS" >envout2 &&
    [ "$(cat envout2)" = 3 ]
'
test_expect_success 'umask, soft limits and nice come from the launcher' '
    (umask 027 && "$KRUN" -q -n 1 sh -c umask) >um && [ "$(cat um)" = 0027 ] &&
    (ulimit -S -n 100 && "$KRUN" -q -n 1 sh -c "ulimit -n") >nofile && [ "$(cat nofile)" = 100 ] &&
    (ulimit -S -c 0 && "$KRUN" -q -n 1 sh -c "ulimit -c") >core && [ "$(cat core)" = 0 ] &&
    nice -n 7 "$KRUN" -q -n 1 nice >ni && [ "$(cat ni)" = 7 ]
'
test_expect_success '--results keeps the output of a task that returns no result' '
    "$KRUN" -q -n 2 --results rd sh -c "echo out \$KRUN_RANK; echo err \$KRUN_RANK >&2" >rdout 2>rderr &&
    [ "$(cat rd/0.out)" = "out 0" ] && [ "$(cat rd/1.err)" = "err 1" ] &&
    [ "$(ls rd | wc -l)" -eq 4 ] && [ "$(grep -c "^out" rdout)" -eq 2 ]
'
test_expect_success '-c N: a rank gets the cores of N slots; --bind-to none: all of them' '
    [ "$(nproc --all)" -ge 2 ] || { echo "needs 2 CPUs"; exit 1; }
    "$KRUN" -q -n 2 nproc >c1 && [ "$(sort -u c1)" = 1 ] &&
    "$KRUN" -q -n 2 -c 2 nproc >c2 && [ "$(sort -u c2 | tr "\n" " ")" = "2 " ] &&
    "$KRUN" -q -n 1 --bind-to none nproc >c3 && [ "$(cat c3)" = "$(nproc)" ] &&
    "$KRUN" -q -n 2 -c 2 --report-bindings true 2>c4 &&
    [ "$(grep -c "rank [01] ran on node .* slot 0 " c4)" -eq 2 ] &&
    test_expect_code 2 "$KRUN" -q -n 1 -c 3 true 2>c5 && grep -q "no node has 3 slots (the largest has 2)" c5 &&
    test_expect_code 2 "$KRUN" -q -n 1 --bind-to socket true
'
test_expect_success 'on a terminal a last line without newline is ended before krun speaks' '
    script -qec "\"$KRUN\" -q -n 1 sh -c \"printf tail; exit 3\"" tty1 >/dev/null
    tr -d "\\r" <tty1 | grep -qx "tail" &&
    tr -d "\\r" <tty1 | grep -qx "krun: rank 0 exited with status 3 on node .* (attempt 1)"
'
test_expect_success 'item 12: -x of a KRUN_ variable or a bad name, a port out of range, a missing interpreter' '
    test_expect_code 2 "$KRUN" -n 1 -x KRUN_RANK=7 true 2>x1 &&
    grep -q "krun sets the KRUN_ variables of each task itself" x1 &&
    test_expect_code 2 "$KRUN" -n 1 -x "BAD NAME=1" true 2>x2 &&
    grep -q "expected VAR or VAR=value" x2 &&
    printf "local:\n  broker_port: 99999\n" >port.yaml &&
    test_expect_code 2 "$KRUN" --config port.yaml -n 1 true 2>x3 &&
    grep -q "expected an integer in 1..65535, got .99999." x3 &&
    printf "#!/nonexistent/interp\necho hi\n" >noint.sh && chmod +x noint.sh &&
    test_expect_code 127 "$KRUN" -q -n 1 ./noint.sh 2>x4 &&
    grep -q "its interpreter /nonexistent/interp" x4
'
test_done
