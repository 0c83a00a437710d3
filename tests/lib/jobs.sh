# jobs.sh - sourced by the tests of running jobs in `krun status` and
# `krun down` (t0155, t0340), after test-lib.sh.
#
#   start_job NAME ARGS...   run krun --report-bindings ARGS in the
#                            background: PID in NAME.pid, exit status in
#                            NAME.rc when it ends, output in NAME.out/.err
#   job_id NAME              the job id krun printed (waits up to 20 s)
#   ended NAME               true once the job's krun has exited
#   stop_jobs                kill (by PID) every krun started so; call it
#                            from the test's EXIT trap
#   status_has ID Q C        `krun status` lists job ID with Q tasks queued
#                            and C consumers (left in ./status)
#   job_queues               the broker's krun.job.* queues
#   (no_job_queues, test-lib.sh: true if there is none)

start_job () {
    local name=$1
    shift
    rm -f "$name.pid" "$name.rc"
    (
        "$KRUN" --report-bindings "$@" >"$name.out" 2>"$name.err" &
        echo $! >"$name.pid"
        wait $!
        echo $? >"$name.rc"
    ) &
    wait_for 5 test -s "$name.pid"
}

job_id () {
    wait_for 20 grep -q "^krun: job [0-9a-f]*: " "$1.err" &&
        sed -n 's/^krun: job \([0-9a-f]*\): .*/\1/p' "$1.err" | head -n 1
}

ended () { [ -s "$1.rc" ]; }

stop_jobs () {
    local f
    for f in "$TEST_DIR"/*.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
    done
    return 0
}

status_has () {
    "$KRUN" status >status &&
        awk -v id="$1" -v q="$2" -v c="$3" \
            '$1 == id && $2 == q && $3 == c { found = 1 } END { exit !found }' status
}

job_queues () { broker_queue_names | grep "^krun\.job\." || true; }
