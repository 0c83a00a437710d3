#!/bin/bash
# The connection agent (launcher/agent.h): the first run starts it, the next
# runs speak AMQP through it instead of logging in to the broker; it serves
# only its own user and its own URL, and leaves when idle, when its broker
# connection is lost, or on `krun down`.  A run whose agent is gone, stale
# or hung still runs, on a connection of its own.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 300
local:
  slots: 2
CFG

agent_files () { ls "$KRUN_STATE_DIR" | grep '^agent-' || true; }
agent_sock () { ls "$KRUN_STATE_DIR"/agent-*.sock 2>/dev/null | head -n 1; }
agent_pid () { cut -d' ' -f1 "$KRUN_STATE_DIR"/agent-*.pid 2>/dev/null | head -n 1; }
agent_log () { cat "$KRUN_STATE_DIR"/agent-*.log 2>/dev/null; }
agent_up () { [ -S "$(agent_sock)" ] && [ -n "$(agent_pid)" ] && process_alive "$(agent_pid)"; }
# The names of the broker's connections ("krun[PID]" for krun and its
# agent, "krund[PID]" for daemons).
connection_names () {
    broker_ctl list_connections -q client_properties 2>/dev/null |
        grep -o 'connection_name","[^"]*"' | sed 's/.*","//; s/"$//'
}
# The name of the connection that consumes queue $1 (the broker's
# consumers, their channels, the channels' connections).
consumer_connection () {
    broker_ctl list_consumers -q queue_name channel_pid 2>/dev/null |
        awk -F'\t' -v q="$1" '$1 == q { print $2 }' >cc.ch &&
    broker_ctl list_channels -q pid connection 2>/dev/null >cc.chans &&
    broker_ctl list_connections -q pid client_properties 2>/dev/null >cc.conns &&
    awk -F'\t' 'NR == FNR { want[$1] = 1; next } ($1 in want) { print $2 }' cc.ch cc.chans >cc.conn &&
    awk -F'\t' 'NR == FNR { want[$1] = 1; next } ($1 in want) { print $2 }' cc.conn cc.conns |
        grep -o 'connection_name","[^"]*"' | sed 's/.*","//; s/"$//'
}
# (Four rabbitmqctl calls: seconds each on a slow machine, so the jobs
# looked at this way run 12 s.)
# Start `krun -n 1 sleep $1` in the background (output in bg.out/bg.err,
# its PID in bgpid) and wait until its rank runs; bgjob is its job id.
start_sleeper () {
    "$KRUN" -n 1 sh -c "echo started \$KRUN_JOB_ID; sleep $1; echo done" >bg.out 2>bg.err &
    bgpid=$!
    wait_for 20 grep -q started bg.out && bgjob=$(sed -n "s/^started //p" bg.out)
}

test_expect_success 'the first run connects itself and then starts the agent' '
    KRUN_AGENT=0 "$KRUN" up -q && [ -z "$(agent_files)" ] &&
    "$KRUN" -n 2 /bin/true 2>err1 && ! grep -q . err1 &&
    wait_for 10 agent_up &&
    agent_log | grep -q "serving amqp://guest:\*\*\*@127.0.0.1:$BROKER_PORT/ on $(agent_sock); leaving after 300 s without a launcher" &&
    [ "$(stat -c %a "$(agent_sock)")" = 700 ] &&
    [ "$(stat -c %a "$KRUN_STATE_DIR")" = 700 ]
'
# (The URL is the test's own: krun got it from $KRUN_AMQP_URL.)
BROKER_URL_FOR_TEST=$KRUN_AMQP_URL
test_expect_success 'its socket is named after the SHA-256 of the host and the URL; nothing of the password in the log' '
    digits=$(printf "%s\n%s" "$(hostname)" "$BROKER_URL_FOR_TEST" | sha256sum | cut -c1-16) &&
    [ "$(agent_sock)" = "$KRUN_STATE_DIR/agent-$digits.sock" ] &&
    ! agent_log | grep -q "guest@"
'
# The job's own connection is the agent's: its results queue is consumed
# there.  (From 1 s on a run also has a second connection of its own, for
# its queue renewals and the stall check: a machine slow to start the
# rank reaches that before "started", so connection names alone cannot
# tell; going through the agent for it was tried, see benchmarks/PROFILE.md.)
test_expect_success 'the next run logs in to nothing for its job: the broker sees the agent consume its results' '
    start_sleeper 12 && echo "job $bgjob" && [ -n "$bgjob" ] &&
    names=$(connection_names) && echo "$names" &&
    echo "$names" | grep -qx "krun\[$(agent_pid)\]" &&
    consumer=$(consumer_connection "krun.job.$bgjob.results") && echo "consumer: $consumer" &&
    [ "$consumer" = "krun[$(agent_pid)]" ] &&
    wait_bounded 30 $bgpid && grep -q done bg.out && ! grep -q . bg.err
'
# The local ports of the agent's connections, as the broker lists them.
agent_ports () {
    broker_ctl list_connections -q peer_port client_properties 2>/dev/null |
        grep "krun\[$(agent_pid)\]" | cut -f1 | sort
}
test_expect_success 'runs one after the other use the same connection: no login each' '
    "$KRUN" -n 1 /bin/true && sleep 0.5 && before=$(agent_ports) && echo "$before" &&
    [ -n "$before" ] &&
    for i in 1 2 3 4 5; do "$KRUN" -n 1 /bin/true || exit 1; sleep 0.2; done &&
    after=$(agent_ports) && echo "$after" && [ "$before" = "$after" ]
'
test_expect_success 'control: with KRUN_AGENT=0 the run has a connection of its own' '
    export KRUN_AGENT=0 && start_sleeper 12 &&
    names=$(connection_names) && echo "$names" &&
    echo "$names" | grep -qx "krun\[$bgpid\]" &&
    [ "$(consumer_connection "krun.job.$bgjob.results")" = "krun[$bgpid]" ] &&
    wait_bounded 30 $bgpid && grep -q done bg.out
'
unset KRUN_AGENT

# The next job's queues, made ahead by the agent (launcher/nextjob.h).
next_file () { ls "$KRUN_STATE_DIR"/agent-*.next 2>/dev/null | head -n 1; }
has_queues_of () {
    broker_queue_names_all >q.all &&
        grep -qx "krun.job.$1.tasks" q.all && grep -qx "krun.job.$1.results" q.all
}
no_queue_of () { broker_queue_names_all >q.all && ! grep -q "^krun\.job\.$1\." q.all; }
some_ready () { [ -n "$(made_ahead_ids ready)" ]; }
# Run 2 ranks that print their job id (into $1): prints the id.
job_of_run () {
    "$KRUN" -n 2 sh -c "echo \$KRUN_JOB_ID" >"$1" 2>"$1.err" && ! grep -q . "$1.err" &&
        [ "$(sort -u "$1" | wc -l)" = 1 ] && head -n 1 "$1"
}
test_expect_success 'the agent keeps a job'"'"'s queues made; the next run takes that id, and its queues go with the run' '
    wait_for 10 some_ready && ids=$(made_ahead_ids ready) && echo "ready: $ids" &&
    for id in $ids; do
        echo "$id" | grep -qxE "[0-9a-f]{16}" && has_queues_of "$id" || exit 1
    done &&
    [ "$(stat -c %a "$(next_file)")" = 600 ] &&
    job=$(job_of_run outA) && echo "job $job" && echo "$ids" | grep -qx "$job" &&
    # Deleted by the run that used them, long before their x-expires (30 s).
    wait_for 5 no_queue_of "$job" && ! made_ahead_ids | grep -qx "$job" &&
    # And a new pair for the run after it.
    wait_for 10 some_ready && ! made_ahead_ids | grep -qx "$job" &&
    for id in $(made_ahead_ids ready); do has_queues_of "$id" || exit 1; done
'
test_expect_success 'queues made ahead deleted behind the agent'"'"'s back: the run makes them itself' '
    wait_for 10 some_ready && ids=$(made_ahead_ids ready) &&
    for id in $ids; do
        broker_ctl delete_queue "krun.job.$id.tasks" >/dev/null &&
            broker_ctl delete_queue "krun.job.$id.results" >/dev/null || exit 1
    done &&
    job=$(job_of_run outB) && echo "job $job" && echo "$ids" | grep -qx "$job" &&
    [ "$(wc -l <outB)" = 2 ] && wait_for 5 no_queue_of "$job"
'
test_expect_success 'a durable run and krun up do not use the id told them: they delete its queues' '
    cp "$XDG_CONFIG_HOME/krun/krun.yaml" durable.yaml && echo "durable_queues: true" >>durable.yaml &&
    for what in durable up; do
        wait_for 10 some_ready && ids=$(made_ahead_ids ready) && echo "ready: $ids" &&
        if [ $what = durable ]; then
            job=$("$KRUN" --config durable.yaml -n 1 sh -c "echo \$KRUN_JOB_ID") &&
                echo "durable job $job" && ! echo "$ids" | grep -qx "$job"
        else
            "$KRUN" up -q
        fi || exit 1
        # The id the run was told is gone from the broker, not left to expire.
        wait_for 5 eval "for id in \$ids; do made_ahead_ids | grep -qx \$id || no_queue_of \$id || exit 1; done" || exit 1
        taken=0 && for id in $ids; do made_ahead_ids | grep -qx $id || taken=$((taken + 1)); done &&
            echo "$what: took $taken" && [ $taken = 1 ] || exit 1
    done
'
test_expect_success 'a run that fails after taking an id deletes its queues with its job' '
    wait_for 10 some_ready && ids=$(made_ahead_ids ready) && echo "ready: $ids" &&
    test_expect_code 2 "$KRUN" -n 1 --nodes nosuch /bin/true 2>errF && cat errF &&
    # The id it was told is no longer listed, and its queues are gone at
    # once (job_destroy()), not after their x-expires.
    taken=0 && for id in $ids; do made_ahead_ids | grep -qx $id || taken=$((taken + 1)); done &&
    [ $taken = 1 ] && wait_for 5 no_job_queues
'
test_expect_success 'with KRUN_AGENT=0 a run takes none' '
    wait_for 10 some_ready && before=$(made_ahead_ids ready | sort) &&
    job=$(KRUN_AGENT=0 "$KRUN" -n 1 sh -c "echo \$KRUN_JOB_ID") &&
    ! echo "$before" | grep -qx "$job" &&
    [ "$(made_ahead_ids ready | sort)" = "$before" ]
'
test_expect_success 'queues made ahead are declared again before their x-expires (30 s) removes them' '
    wait_for 10 some_ready && ids=$(made_ahead_ids ready) && echo "ready: $ids" &&
    sleep 35 && [ "$(made_ahead_ids ready)" = "$ids" ] &&
    for id in $ids; do has_queues_of "$id" || exit 1; done &&
    job=$(job_of_run outR) && echo "$ids" | grep -qx "$job"
'
test_expect_success 'the broker refuses the queues made ahead: the agent says so, and runs go on' '
    apid=$(agent_pid) && wait_for 10 some_ready &&
    count=$(broker_queue_names_all | wc -l) &&
    # Room for the queues there are now, less a pair: the next run uses the
    # pair made ahead (declaring what exists is no new queue), and the pair
    # the agent makes after it is refused.
    broker_ctl set_vhost_limits "{\"max-queues\": $((count - 2))}" >/dev/null &&
    "$KRUN" -n 1 /bin/true &&
    wait_for 10 eval "agent_log | grep -q \"the queues made ahead for the next run ([0-9a-f]*) were refused: .*; trying again in 20 s\"" &&
    agent_log | grep "were refused" | tail -n 1 &&
    broker_ctl clear_vhost_limits >/dev/null &&
    job=$(job_of_run outL) && [ "$(agent_pid)" = "$apid" ] && wait_for 5 no_queue_of "$job"
'
test_expect_success 'runs at once through one agent: every rank of each once, one agent' '
    apid=$(agent_pid) &&
    for i in 1 2 3 4; do
        "$KRUN" -n 6 --timeline tl$i.csv sh -c "echo done rank=\$KRUN_RANK attempt=\$KRUN_ATTEMPT" >out$i 2>err$i &
        eval p$i=$!
    done &&
    for i in 1 2 3 4; do eval "wait_bounded 60 \$p$i" || exit 1; done &&
    for i in 1 2 3 4; do cp tl$i.csv out$i.csv && one_result_per_rank out$i 6 || exit 1; done &&
    [ "$(agent_pid)" = "$apid" ] && [ "$(agent_files | grep -c "\.sock$")" = 1 ] &&
    # No job queue left but those made ahead for the next runs.
    wait_for 10 no_job_queues
'
test_expect_success 'a run killed with -9 through the agent: its queues go, the agent serves on' '
    start_sleeper 30 &&
    job=$(broker_ctl list_queues -q name consumers | awk "\$1 ~ /^krun\\.job\\..*\\.results\$/ && \$2 > 0 { print \$1 }") &&
    echo "$job" &&
    [ -n "$job" ] && kill -9 $bgpid && wait $bgpid 2>/dev/null;
    wait_for 20 no_queue_named "$job" &&
    agent_up && "$KRUN" -n 1 /bin/true
'
test_expect_success 'the agent killed during a run: the run fails naming it, the next run starts a new one' '
    apid=$(agent_pid) && start_sleeper 30 && kill -9 "$apid" &&
    test_expect_code 1 wait_bounded 30 $bgpid && cat bg.err &&
    grep -q "through the connection agent $KRUN_STATE_DIR/agent-" bg.err &&
    [ -S "$(agent_sock)" ] &&
    "$KRUN" -n 2 /bin/true 2>err2 && ! grep -q . err2 &&
    wait_for 10 agent_up && [ "$(agent_pid)" != "$apid" ]
'
test_expect_success 'a hung agent: the run waits 2 s for its login, says so, and connects itself' '
    apid=$(agent_pid) && kill -STOP "$apid" &&
    "$KRUN" -n 1 /bin/true 2>err3; rc=$?; kill -CONT "$apid"; cat err3;
    [ $rc -eq 0 ] &&
    grep -q "warning: cannot log in to broker .*through the connection agent .*; connecting to the broker directly" err3
'
test_expect_success 'another user cannot use it, even where the socket is open to all' '
    agent_up && chmod 711 "$TEST_DIR" "$KRUN_STATE_DIR" && chmod 777 "$(agent_sock)" &&
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(b\"AMQP\\x00\\x00\\x09\\x01\")
    print(len(s.recv(4096)))
except (BrokenPipeError, ConnectionResetError):
    print(0)
" "$(agent_sock)"); chmod 700 "$TEST_DIR" "$KRUN_STATE_DIR" "$(agent_sock)";
    echo "read $out bytes" && [ "$out" = 0 ] &&
    wait_for 10 eval "agent_log | grep -q \"refused a connection of uid 65534 (pid [0-9]*): this agent serves uid $(id -u) only\"" &&
    "$KRUN" -n 1 /bin/true
'
test_expect_success 'another broker user gets an agent of its own' '
    first=$(agent_pid) && test_broker_user other && "$KRUN" -n 1 /bin/true &&
    wait_for 10 eval "[ \$(agent_files | grep -c \"\\.sock\$\") = 2 ]" &&
    wait_for 10 eval "[ \$(cut -d\" \" -f1 \"\$KRUN_STATE_DIR\"/agent-*.pid | sort -u | wc -l) = 2 ]" &&
    second=$(cut -d" " -f1 "$KRUN_STATE_DIR"/agent-*.pid | grep -vx "$first") &&
    start_sleeper 12 && names=$(connection_names) && echo "$names" &&
    echo "$names" | grep -qx "krun\[$first\]" && echo "$names" | grep -qx "krun\[$second\]" &&
    consumer=$(consumer_connection "krun.job.$bgjob.results") && echo "consumer: $consumer" &&
    [ "$consumer" = "krun[$second]" ] && wait_bounded 30 $bgpid
'
export KRUN_AMQP_URL=$BROKER_URL_FOR_TEST
test_expect_success 'a state directory too long for a socket path: runs connect themselves' '
    long="$TEST_DIR/$(printf "d%.0s" $(seq 1 100))/state" && mkdir -p -m 700 "$long" &&
    KRUN_STATE_DIR=$long "$KRUN" -n 1 /bin/true 2>long.err && cat long.err &&
    KRUN_STATE_DIR=$long "$KRUN" -n 1 /bin/true 2>>long.err &&
    ! grep -q agent long.err && [ -z "$(ls "$long" | grep "^agent-")" ] &&
    KRUN_STATE_DIR=$long "$KRUN" down >/dev/null
'
test_expect_success 'krun down stops the agents and says so; they delete the queues made ahead' '
    wait_for 10 some_ready && ids=$(made_ahead_ids) && echo "$ids" && [ -n "$ids" ] &&
    "$KRUN" down >down.out && cat down.out &&
    for id in $ids; do no_queue_of "$id" || exit 1; done &&
    grep -qx "krun: stopped 2 connection agents" down.out &&
    [ -z "$(agent_files | grep -v "\.lock$\|\.log$")" ]
'
test_expect_success 'an idle agent leaves after the idle timeout, saying why' '
    "$KRUN" -n 1 --idle-timeout 2 /bin/true && wait_for 10 agent_up && apid=$(agent_pid) &&
    wait_for 20 eval "! process_alive $apid" && [ ! -e "$(agent_sock)" ] &&
    agent_log | grep -q "no launcher for 2 s: leaving"
'
test_expect_success 'the broker closes the agent'"'"'s connections: it logs in again and serves on' '
    "$KRUN" -n 1 /bin/true && wait_for 10 agent_up && apid=$(agent_pid) &&
    for c in $(broker_ctl list_connections -q pid client_properties |
            grep "krun\[$apid\]" | cut -f1); do
        broker_ctl close_connection "$c" "test" >/dev/null || exit 1
    done &&
    wait_for 20 eval "agent_log | grep -q \"broker connection lost: the broker closed it: 320\"" &&
    start_sleeper 1 && names=$(connection_names) && echo "$names" &&
    echo "$names" | grep -qx "krun\[$apid\]" && ! echo "$names" | grep -qx "krun\[$bgpid\]" &&
    wait_bounded 30 $bgpid && process_alive "$apid"
'
test_expect_success 'the agent leaves when the broker is gone' '
    apid=$(agent_pid) && broker_stop &&
    wait_for 20 eval "! process_alive $apid" &&
    agent_log | grep -q "no broker connection (.*): leaving" && [ ! -e "$(agent_sock)" ]
'
test_done
