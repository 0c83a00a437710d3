#!/bin/bash
# Who takes part in a job (issue 11): pools on a shared broker, sealed
# presence, the provider's nodes only, bounded joins, refusals heard, no
# silent hang.  Three "users" (state directories, keys, configurations)
# share one broker: A (alpha-1, alpha-2, shared), B (beta-1, beta-2, shared)
# and C (c0, c1) for the nodes that misbehave.  Every scenario prints how
# long it took to end ("# took N ms") for docs/reliability.md.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/sign.sh"
test_start_broker
FAKE="$KRUN_TOP_BUILDDIR/tests/fake-daemon"
URL=${BROKER_URL%/}

A_STATE=$KRUN_STATE_DIR
B_STATE=$TEST_DIR/state-b
C_STATE=$TEST_DIR/state-c
mkdir -p "$B_STATE" "$C_STATE"
test_config <<CFG
idle_timeout: 300
join_timeout_ms: 3000
stall_timeout_ms: 3000
local:
  nodes:
    - name: alpha-1
      slots: 2
    - name: alpha-2
      slots: 2
    - name: shared
      slots: 2
CFG
cat >b.yaml <<CFG
idle_timeout: 300
local:
  nodes:
    - name: beta-1
      slots: 2
    - name: beta-2
      slots: 2
    - name: shared
      slots: 2
CFG
cat >c.yaml <<CFG
idle_timeout: 300
join_timeout_ms: 3000
stall_timeout_ms: 3000
local:
  nodes:
    - name: c0
      slots: 2
    - name: c1
      slots: 2
CFG
# krun as user B or C: a subcommand comes first, then the options.  Every
# scenario's krun is bounded (timeout 120): a hang fails the test.
as_user () {
    local state=$1 config=$2 sub=()
    shift 2
    case ${1:-} in up | down | status) sub=("$1") && shift ;; esac
    KRUN_STATE_DIR=$state timeout 120 "$KRUN" "${sub[@]}" --config "$config" "$@"
}
krun_b () { as_user "$B_STATE" "$TEST_DIR/b.yaml" "$@"; }
krun_c () { as_user "$C_STATE" "$TEST_DIR/c.yaml" "$@"; }

# Processes started here by hand (krund, fake daemons), one PID a line in
# $TEST_DIR/pids (the tests run in subshells): stopped by PID.
started () { echo "$1" >>"$TEST_DIR/pids"; }
cleanup () {
    local pid
    for pid in $(cat "$TEST_DIR/pids" 2>/dev/null); do
        kill -CONT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
    done
    if [ -n "${BROKER_PID:-}" ]; then
        # krun_b and krun_c are functions (timeout cannot run them); each
        # runs krun under a timeout of its own.
        krun_b down >/dev/null 2>&1
        krun_c down >/dev/null 2>&1
    fi
    test_cleanup
}
trap cleanup EXIT

now_ms () { date +%s%3N; }
# count_is PATTERN FILE N: FILE has N lines matching PATTERN.
count_is () { [ "$(grep -c "$1" "$2" 2>/dev/null)" = "$3" ]; }
# took START: note the time since START (ms) for the scenario being run;
# printed as TAP comments at the end.
took () { echo "test $((test_count)): $(($(now_ms) - $1)) ms" >>"$TEST_DIR/timings"; }

# Every rank 0..N-1 once in timeline $1, on the nodes matching $3 only.
timeline_ok () {
    local file=$1 n=$2 nodes=$3
    [ "$(tail -n +2 "$file" | wc -l)" -eq "$n" ] &&
        [ "$(tail -n +2 "$file" | cut -d, -f1 | sort -n | uniq | wc -l)" -eq "$n" ] &&
        ! tail -n +2 "$file" | cut -d, -f2 | grep -Evq "^($nodes)$"
}

# Which user's daemon ran the task: DAEMON_OWNER is in the daemon's (and
# its slot's) environment, which the task does not inherit (it gets the
# launcher's): read it from its slot, the task's parent.
cat >owner.sh <<'SH'
#!/bin/sh
owner=$(tr '\0' '\n' </proc/$PPID/environ | sed -n 's/^DAEMON_OWNER=//p')
echo "$KRUN_NODE $owner"
sleep 0.3
SH
chmod +x owner.sh

test_expect_success 'two users on one broker: two keys, two pools' '
    DAEMON_OWNER=A "$KRUN" up &&
    DAEMON_OWNER=B krun_b up &&
    [ "$(pool_of "$A_STATE/key")" != "$(pool_of "$B_STATE/key")" ] &&
    broker_ctl list_exchanges -q name | grep -qx "krun\.$(pool_of "$A_STATE/key")\.control" &&
    broker_ctl list_exchanges -q name | grep -qx "krun\.$(pool_of "$B_STATE/key")\.control"
'
test_expect_success 'concurrent jobs of both users run only on their own nodes, each rank once' '
    start=$(now_ms) &&
    { timeout 120 "$KRUN" -n 24 --timeline ta.csv ./owner.sh >outa 2>erra & } &&
    pa=$! &&
    krun_b -n 24 --timeline tb.csv ./owner.sh >outb 2>errb &&
    wait $pa && took $start && cat erra errb &&
    timeline_ok ta.csv 24 "alpha-1|alpha-2|shared" &&
    timeline_ok tb.csv 24 "beta-1|beta-2|shared" &&
    [ "$(grep -c " A$" outa)" -eq 24 ] && [ "$(grep -c " B$" outb)" -eq 24 ]
'
test_expect_success 'node "shared" of each user ran that user'"'"'s ranks only' '
    grep "^shared " outa | grep -qv " B$" && ! grep "^shared " outa | grep -q " B$" &&
    ! grep "^shared " outb | grep -q " A$"
'
test_expect_success 'status shows each user only its own nodes' '
    "$KRUN" status >sa && krun_b status >sb &&
    grep -q "^alpha-1 " sa && grep -q "^shared " sa && ! grep -q "^beta" sa &&
    grep -q "^beta-1 " sb && grep -q "^shared " sb && ! grep -q "^alpha" sb &&
    [ "$(grep -c "^shared " sa)" -eq 1 ] && [ "$(grep -c "^shared " sb)" -eq 1 ]
'

test_expect_success 'a daemon of another key whose node name sorts first takes no part' '
    openssl rand -hex 32 >foreign.key && chmod 600 foreign.key &&
    { KRUN_KEY_FILE=$TEST_DIR/foreign.key "$KRUND" --node aaa-foreign --slots 4 \
        >foreign.log 2>&1 & } && started $! &&
    wait_for 20 grep -q "serving 4 slots" foreign.log &&
    start=$(now_ms) &&
    timeout 120 "$KRUN" -n 4 --timeline tf.csv /bin/true 2>errf && took $start &&
    timeline_ok tf.csv 4 "alpha-1|alpha-2|shared" &&
    [ $(($(now_ms) - start)) -lt 20000 ] &&
    "$KRUN" status >sf && ! grep -q aaa-foreign sf
'
test_expect_success 'the same daemon forced into the pool refuses its questions; the job goes on' '
    { KRUN_POOL=$(pool_of) KRUN_KEY_FILE=$TEST_DIR/foreign.key "$KRUND" \
        --node aaa-intruder --slots 4 >intruder.log 2>&1 & } && started $! &&
    wait_for 20 grep -q "serving 4 slots" intruder.log &&
    start=$(now_ms) &&
    timeout 120 "$KRUN" -n 4 --timeline ti.csv /bin/true 2>erri && took $start &&
    cat erri intruder.log &&
    grep -q "presence queue: rejected message: bad signature" intruder.log &&
    timeline_ok ti.csv 4 "alpha-1|alpha-2|shared" &&
    wait_for 10 grep -q "control queue: rejected message: bad signature" intruder.log
'
test_expect_success 'a stale daemon of another configuration (same key) is not in the map' '
    { KRUN_KEY_FILE=$A_STATE/key "$KRUND" --node 0-stale --slots 4 >stale.log 2>&1 & } &&
    started $! && wait_for 20 grep -q "serving 4 slots" stale.log &&
    start=$(now_ms) &&
    timeout 120 "$KRUN" -n 4 --timeline ts.csv /bin/true && took $start &&
    timeline_ok ts.csv 4 "alpha-1|alpha-2|shared" &&
    "$KRUN" status | grep -q "^0-stale "
'
test_expect_success '--nodes and --exclude choose among the nodes' '
    "$KRUN" -n 6 --nodes alpha-1 --timeline tn.csv /bin/true &&
    timeline_ok tn.csv 6 "alpha-1" &&
    "$KRUN" -n 6 --exclude alpha-1,shared --timeline tx.csv /bin/true &&
    timeline_ok tx.csv 6 "alpha-2" &&
    ! "$KRUN" -n 1 --nodes 0-stale /bin/true 2>errn &&
    grep -q "none of the .* nodes that answered may run the job" errn
'

# Slots busy with another job are alive and come to this one when free: a
# queue, not a stall (a second krun beside a long first one).
test_expect_success 'slots busy with another job: said once, the job waits and completes' '
    { timeout 120 "$KRUN" -n 2 --nodes alpha-1 sh -c "echo running; sleep 12" >busy9 & } &&
    busy=$! && wait_for 30 count_is running busy9 2 &&
    start=$(now_ms) &&
    timeout 120 "$KRUN" -n 2 --nodes alpha-1 echo queued >outq 2>errq && took $start &&
    cat errq && [ "$(grep -cx queued outq)" -eq 2 ] &&
    [ "$(grep -c "busy with other work, waiting for them" errq)" -eq 1 ] &&
    ! grep -q "no slot consuming" errq &&
    wait $busy
'

test_expect_success 'a daemon SIGSTOPped before the job: the job completes without it' '
    pid=$("$KRUN" status | awk "\$1 == \"alpha-2\" { print \$4 }") && [ -n "$pid" ] &&
    started "$pid" && kill -STOP "$pid" &&
    start=$(now_ms) &&
    timeout 120 "$KRUN" -n 8 --timeline tstop.csv /bin/true 2>errstop && took $start &&
    cat errstop && timeline_ok tstop.csv 8 "alpha-1|alpha-2|shared" &&
    [ $(($(now_ms) - start)) -lt 60000 ] &&
    kill -CONT "$pid"
'

# C: a key of its own; c0 is played by hand (a ghost, a node that cannot
# stage), c1 is a daemon krun starts.  c0 sorts first: with -n 2 it holds
# every rank, so the job cannot end before krun hears from it.
KEYC=$C_STATE/key
openssl rand -hex 32 >"$KEYC" && chmod 600 "$KEYC"
POOLC=$(pool_of "$KEYC")
printf 'staged data\n' >data.txt

test_expect_success 'a node that refuses staging: one line naming node and reason, job completes' '
    : >notadir &&
    { KRUN_KEY_FILE=$KEYC KRUN_STAGE_DIR=$TEST_DIR/notadir/cache "$KRUND" --node c0 \
        --slots 2 >c0.log 2>&1 & } && started $! && echo $! >c0.pid &&
    wait_for 20 grep -q "serving 2 slots" c0.log &&
    start=$(now_ms) &&
    krun_c -n 2 --stage data.txt --timeline tr.csv sh -c "cat \"\$KRUN_STAGED/data.txt\"" \
        >outr 2>errr && took $start && cat errr &&
    [ "$(grep -c "refused" errr)" -eq 1 ] &&
    grep -q "^krun: job [0-9a-f]*: node c0 refused the job: cannot stage: cannot create $TEST_DIR/notadir/cache: Not a directory$" errr &&
    grep -q "announced again on 1 node (2 slots)" errr &&
    [ "$(grep -cx "staged data" outr)" -eq 2 ] &&
    timeline_ok tr.csv 2 c1
'
test_expect_success 'only the refusing node: non-zero exit with the reason' '
    start=$(now_ms) &&
    ! krun_c -n 2 --nodes c0 --stage data.txt /bin/true 2>errr2 && took $start &&
    cat errr2 &&
    grep -q "no node left to run it (c0: cannot stage: cannot create" errr2 &&
    kill "$(cat c0.pid)" && wait_for 20 sh -c "! kill -0 $(cat c0.pid) 2>/dev/null"
'
# Two ranks fill c0 (it sorts first): nothing runs until it is dropped.
test_expect_success 'a node that answered and then fell silent is dropped within the bound' '
    { "$FAKE" "$URL" "$POOLC" "$KEYC" c0 ghost 2 >ghost.log 2>&1 & } && started $! &&
    echo $! >ghost.pid &&
    wait_for 20 grep -q ready ghost.log &&
    start=$(now_ms) &&
    krun_c -n 2 --timeline tg.csv /bin/true 2>errg && took $start && cat errg &&
    grep -q "answered a who (ghost)" ghost.log &&
    grep -q "^krun: warning: job [0-9a-f]*: node c0 neither confirmed nor refused the job within 3.0 s; dropped from the map$" errg &&
    grep -q "announced again on 1 node (2 slots)" errg &&
    timeline_ok tg.csv 2 c1 &&
    [ $(($(now_ms) - start)) -lt 30000 ]
'
# A node that confirms the job and whose slots never consume it (a daemon
# answering for slots that cannot reach the task queue): the tasks stall.
test_expect_success 'tasks queued, a confirmed node and no slot consuming: one line, non-zero exit' '
    kill "$(cat ghost.pid)" &&
    { "$FAKE" "$URL" "$POOLC" "$KEYC" c0 confirm 2 >stuck.log 2>&1 & } &&
    started $! && echo $! >stuck.pid && wait_for 20 grep -q ready stuck.log &&
    start=$(now_ms) &&
    ! krun_c -n 2 --nodes c0 /bin/true 2>errs && took $start && cat errs &&
    grep -q "^krun: job [0-9a-f]*: 2 tasks queued, no slot consuming for 3 s; nodes c0 (confirmed)$" errs &&
    grep -q "confirmed job" stuck.log &&
    [ $(($(now_ms) - start)) -lt 30000 ]
'
test_expect_success 'with --wait it says so once and waits' '
    { KRUN_STATE_DIR=$C_STATE timeout 20 "$KRUN" --config "$TEST_DIR/c.yaml" -n 2 \
        --nodes c0 --wait /bin/true >outw 2>errw
      echo "exit $?" >>errw; } ; cat errw && grep -qx "exit 124" errw &&
    [ "$(grep -c "no slot consuming" errw)" -eq 1 ] && grep -q "(waiting: --wait)" errw &&
    kill "$(cat stuck.pid)"
'
test_expect_success 'forged here answers are ignored and said once; a replayed one does not count' '
    { "$FAKE" "$URL" "$POOLC" "$KEYC" 0-forged unsigned 2 >forged.log 2>&1 & } &&
    forged=$! && started $forged && wait_for 20 grep -q ready forged.log &&
    krun_c -n 4 --nodes c1 --timeline tu.csv /bin/true 2>erru && cat erru &&
    grep -q "answered a who (unsigned)" forged.log &&
    grep -q "^krun: warning: ignoring a presence answer: not signed" erru &&
    timeline_ok tu.csv 4 c1 && kill $forged &&
    { "$FAKE" "$URL" "$POOLC" "$KEYC" c1 replayed 2 >replayed.log 2>&1 & } &&
    replayed=$! && started $replayed && wait_for 20 grep -q ready replayed.log &&
    krun_c -n 4 --nodes c1 --timeline tp.csv 2>errp /bin/true && cat errp &&
    grep -q "answered a who (replayed)" replayed.log &&
    ! grep -q "two daemons answer for node c1" errp && timeline_ok tp.csv 4 c1 &&
    kill $replayed
'
# The job runs until the checks are done (its ranks wait for the file
# "go"), however slowly this machine starts the amqp tools.
queue_messages () {
    [ "$(broker_ctl list_queues -q name messages | awk -v q="$1" "\$1 == q { print \$2 }")" = "$2" ]
}
test_expect_success 'forged joined (unsigned, other key) gets no announcement; a sealed one does' '
    rm -f go running.* &&
    { krun_c -n 2 --nodes c1 --timeout 120 sh -c \
        "touch \"$TEST_DIR/running.\$KRUN_RANK\"; until [ -e \"$TEST_DIR/go\" ]; do sleep 0.1; done" \
        2>errj & } && job=$! &&
    wait_for 30 test -e running.0 &&
    for q in forged-joined foreign-joined sealed-joined; do
        amqp-declare-queue --url="$URL" -q $q >/dev/null || exit 1
    done &&
    body="{\"v\":1,\"type\":\"joined\",\"node\":\"c1\",\"local\":0}" &&
    amqp-publish --url="$URL" -e "krun.$POOLC.presence" -r joined -t forged-joined -b "$body" &&
    printf "%s" "$body" | seal foreign.key $(( $(now_us) + 60000000 )) >j-foreign &&
    amqp-publish --url="$URL" -e "krun.$POOLC.presence" -r joined -t foreign-joined <j-foreign &&
    printf "%s" "$body" | seal "$KEYC" $(( $(now_us) + 60000000 )) >j-sealed &&
    amqp-publish --url="$URL" -e "krun.$POOLC.presence" -r joined -t sealed-joined <j-sealed &&
    wait_for 30 queue_messages sealed-joined 1 &&
    wait_for 30 grep -q "ignoring a message on krun.job.[0-9a-f]*.results: bad signature" errj &&
    touch go && wait $job && cat errj &&
    grep -q "ignoring a message on krun.job.[0-9a-f]*.results: an unsigned joined" errj &&
    queue_messages forged-joined 0 && queue_messages foreign-joined 0
'
# A daemon whose idle timeout passes while a job it confirmed still has
# tasks queued stays.  The job is sealed by hand: it gives node c0 slot 5,
# which this daemon of 2 slots does not have, so nothing consumes its task.
test_expect_success 'a daemon does not leave on idle timeout while its job has queued tasks' '
    { kill "$(cat ghost.pid)" "$(cat stuck.pid)" 2>/dev/null; true; } &&
    wait_for 20 sh -c "! kill -0 $(cat ghost.pid) 2>/dev/null" &&
    wait_for 20 sh -c "! kill -0 $(cat stuck.pid) 2>/dev/null" &&
    { KRUN_KEY_FILE=$KEYC "$KRUND" --node c0 --slots 2 --idle-timeout 3 >idle.log 2>&1 & } &&
    daemon=$! && started $daemon && wait_for 20 grep -q "serving 2 slots" idle.log &&
    job=idle$$ && exp=$(( $(now_us) + 120000000 )) &&
    printf "{\"v\":1,\"type\":\"announce\",\"job\":\"%s\",\"path\":\"/bin/true\",\"argv\":[\"true\"],\"env\":[],\"cwd\":\"/\",\"size\":1,\"results_queue\":\"krun.job.%s.results\",\"delivery_limit\":2,\"nodes\":[{\"name\":\"c0\",\"first_slot\":0,\"nslots\":6,\"used\":[5]}]}" \
        $job $job | seal "$KEYC" $exp >ann-idle &&
    printf "{\"v\":1,\"type\":\"task\",\"job\":\"%s\",\"rank\":0,\"attempt\":1}" $job |
        seal "$KEYC" $exp >task-idle &&
    amqp-declare-queue --url="$URL" -q krun.job.$job.tasks >/dev/null &&
    amqp-declare-queue --url="$URL" -q krun.job.$job.results >/dev/null &&
    amqp-publish --url="$URL" -r krun.job.$job.tasks <task-idle &&
    amqp-publish --url="$URL" -e "krun.$POOLC.control" -r "" <ann-idle &&
    wait_for 30 grep -q "idle, but job $job has 1 tasks queued: staying" idle.log &&
    sleep 4 && kill -0 $daemon && ! grep -q "stopping: idle timeout" idle.log &&
    amqp-delete-queue --url="$URL" -q krun.job.$job.tasks >/dev/null &&
    wait_for 30 grep -q "stopping: idle timeout" idle.log ||
        { cat idle.log; false; }
'
sed 's/^/# took: /' "$TEST_DIR/timings" 2>/dev/null
test_done
