#!/bin/bash
# The slots of a daemon share one broker connection (runtime/daemon/amqpmux.h):
# the broker sees two connections per daemon, a killed slot's channels are
# closed at once (its rank is rerun long before a heartbeat could notice),
# a killed daemon's ranks go to the other node, and the shared connection
# outlives many slot restarts.  KRUN_CONNECTION_PER_SLOT=1 keeps a login per
# slot.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
# Only the daemons' connections are counted here: no connection agent
# (launcher/agent.h, t0152) adds its own.
export KRUN_AGENT=0
# The configuration: nodes $@ of 8 slots each.
config_nodes () {
    {
        printf 'idle_timeout: 300\ndelivery_limit: 3\nlocal:\n  nodes:\n'
        for node in "$@"; do printf '    - name: %s\n      slots: 8\n' "$node"; done
    } | test_config
}
config_nodes a

LOG=$KRUN_STATE_DIR/krund-a.log
daemon_pid () { "$KRUN" status | awk -v n="$1" '$1 == n { print $4 }'; }
slot_pids () { ps -o pid= --ppid "$(daemon_pid "$1")"; }
slot_count () { [ "$(slot_pids "$1" | wc -l)" -eq "$2" ]; }
# Established connections to the broker, counted at the clients' end (the
# broker runs on the same machine); with $1, only those of processes $1
# (a regular expression of PIDs).
connections () {
    ss -Htnp state established "( dport = :$BROKER_PORT )" |
        { if [ -n "${1:-}" ]; then grep -E "pid=($1)," || true; else cat; fi; } |
        wc -l
}
connections_are () { [ "$(connections "${2:-}")" -eq "$1" ]; }
# The local ports of daemon $1's own connections to the broker.
daemon_ports () {
    ss -Htnp state established "( dport = :$BROKER_PORT )" |
        grep "pid=$(daemon_pid "$1")," | awk '{ print $3 }' | sort
}
# What the broker itself counts.
broker_connections () {
    broker_ctl list_connections -q peer_port 2>/dev/null | grep -cE '^[0-9]+$'
}

test_expect_success 'one daemon of 8 slots: the broker holds 2 connections from it' '
    "$KRUN" up && [ -n "$(daemon_pid a)" ] &&
    wait_for 30 grep -q "all 8 slots connected, over 1 shared broker connection," "$LOG" &&
    wait_for 10 connections_are 2 &&
    connections_are 2 "$(daemon_pid a)" &&
    [ "$(broker_connections)" -eq 2 ] &&
    daemon_ports a >ports.before && [ "$(wc -l <ports.before)" -eq 2 ]
'

# The targets of the descriptors of process $1 above 2 ("socket:[123]",
# "pipe:[45]", paths), sorted.
fd_targets () {
    for fd in /proc/"$1"/fd/*; do
        case ${fd##*/} in 0 | 1 | 2) ;; *) readlink "$fd" ;; esac
    done 2>/dev/null | sort
}
test_expect_success 'a slot holds none of the daemon'"'"'s descriptors but its control pipe and the directory lock' '
    fd_targets "$(daemon_pid a)" >daemon.fds && [ "$(wc -l <daemon.fds)" -ge 18 ] &&
    for slot in $(slot_pids a); do
        fd_targets "$slot" >slot.fds &&
        shared=$(comm -12 daemon.fds slot.fds | wc -l) &&
        echo "slot $slot: $(wc -l <slot.fds) descriptors, $shared shared with the daemon" &&
        [ "$shared" -le 2 ] || exit 1
    done
'

cat >work.sh <<'SH'
#!/bin/sh
sleep 1
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x work.sh
test_expect_success '200 ranks of true on 8 slots, 3 times, 2 slots killed between jobs' '
    for round in 1 2 3; do
        "$KRUN" -n 200 --timeline true$round.csv /bin/true >true$round.out 2>&1 &&
        timeline_one_result_per_rank true$round.csv 200 &&
        kill -9 $(slot_pids a | shuf -n 2) &&
        wait_for 20 slot_count a 8 || exit 1
    done &&
    "$KRUN" -n 200 --timeline true4.csv /bin/true >true4.out 2>&1 &&
    [ "$(tail -n +2 true4.csv | wc -l)" -eq 200 ]
'
test_expect_success '... and the shared connection survived: same 2 connections' '
    daemon_ports a >ports.after &&
    diff ports.before ports.after &&
    connections_are 2 &&
    ! grep "shared broker connection lost" "$LOG"
'

# The broker's name for daemon a's shared connection: the one that holds
# the slots' channels (2 per slot), not the daemon's own.
shared_connection () {
    broker_ctl list_connections -q pid channels 2>/dev/null |
        awk '$2 ~ /^[0-9]+$/ && $2 >= 16 { print $1 }'
}
# Every slot of a runs, and none is one of slots.before.
slots_all_new () {
    slot_pids a | sort >slots.now &&
        [ "$(wc -l <slots.now)" -eq 8 ] && [ -z "$(comm -12 slots.before slots.now)" ]
}
test_expect_success 'the broker closes the shared connection: slots cut and restarted' '
    conn=$(shared_connection) && [ -n "$conn" ] && [ "$(echo "$conn" | wc -l)" -eq 1 ] &&
    slot_pids a | sort >slots.before && [ "$(wc -l <slots.before)" -eq 8 ] &&
    a=$(daemon_pid a) && start=$(date +%s%3N) &&
    broker_ctl close_connection "$conn" "closed by t0205" &&
    wait_for 20 slots_all_new &&
    echo $(( $(date +%s%3N) - start )) >restart.ms &&
    wait_for 20 grep -q "shared broker connection lost: the broker closed it: 320" "$LOG" &&
    [ "$(daemon_pid a)" = "$a" ] &&
    wait_for 20 connections_are 2 &&
    "$KRUN" -n 16 --timeline lost.csv ./work.sh >lost 2>&1 &&
    one_result_per_rank lost 16
'
[ -s restart.ms ] && echo "# all 8 slots restarted $(cat restart.ms) ms after the broker closed their connection"

cat >long.sh <<'SH'
#!/bin/sh
# Its slot's PID, and when it started (ms), per attempt.
echo "$PPID $(date +%s%3N)" >"attempt.$KRUN_ATTEMPT"
[ "$KRUN_ATTEMPT" = 1 ] && sleep 30
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x long.sh
# The AMQP heartbeat (30 s by default) would notice a dead slot only after
# about a minute: a rerun within 20 s comes from the channel closed at once.
test_expect_success 'kill -9 of the slot of a sleep 30 rank: rerun within 20 s' '
    { "$KRUN" -n 1 ./long.sh >out3 2>err3 & pid=$!; } &&
    wait_for 20 test -s attempt.1 &&
    slot=$(cut -d" " -f1 attempt.1) && slot_pids a | grep -qx " *$slot" &&
    killed=$(date +%s%3N) && kill -9 "$slot" &&
    wait_for 20 test -s attempt.2 &&
    echo $(( $(cut -d" " -f2 attempt.2) - killed )) >rerun.ms &&
    wait_bounded 30 $pid &&
    grep -qx "done rank=0 attempt=2" out3 &&
    grep -q "ranks were rerun after a failure of their slot" err3
'
[ -s rerun.ms ] && echo "# the rank started again $(cat rerun.ms) ms after its slot was killed"

test_expect_success 'KRUN_CONNECTION_PER_SLOT=1: 9 connections (a login per slot)' '
    "$KRUN" down >/dev/null && wait_for 20 connections_are 0 &&
    seen=$(wc -l <"$LOG") &&
    KRUN_CONNECTION_PER_SLOT=1 "$KRUN" up &&
    wait_for 30 connections_are 9 && sleep 1 && connections_are 9 &&
    [ "$(broker_connections)" -eq 9 ] &&
    ! tail -n +$((seen + 1)) "$LOG" | grep "shared broker connection" &&
    "$KRUN" -n 16 --timeline pers.csv ./work.sh >pers 2>&1 &&
    one_result_per_rank pers 16
'

test_expect_success 'shared again, two nodes: kill -9 of daemon a mid-run, b does the rest' '
    "$KRUN" down >/dev/null && wait_for 20 connections_are 0 &&
    config_nodes a b &&
    "$KRUN" up && wait_for 30 connections_are 4 &&
    a=$(daemon_pid a) && [ -n "$a" ] &&
    { "$KRUN" -n 48 --timeline out5.csv ./work.sh >out5 2>err5 & pid=$!; } &&
    sleep 1.5 &&
    killed=$(date +%s%3N) && kill -9 "$a" &&
    wait_bounded 90 $pid &&
    echo $(( $(date +%s%3N) - killed )) >daemon.ms &&
    one_result_per_rank out5 48 &&
    grep -q "ranks were rerun" err5 &&
    tail -n +2 out5.csv | awk -F, "\$5 > 1" >rerun5 &&
    [ -s rerun5 ] && ! grep -v "^[0-9]*,b," rerun5 &&
    wait_for 10 connections_are 2
'
[ -s daemon.ms ] &&
    echo "# the job ended $(cat daemon.ms) ms after daemon a was killed ($(wc -l <rerun5) ranks rerun on b)"
test_done
