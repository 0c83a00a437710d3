# sshd.sh - a private OpenSSH server for the ssh provider's tests (sourced
# by bash, after test-lib.sh).
#
#   sshd_start DIR HOST...   start Debian's sshd on a free loopback port,
#                            listening on 127.0.0.2, 127.0.0.3, ... (one
#                            address per HOST, in order), with its own host
#                            key and an authorized_keys holding a key made
#                            for this test; the user is whoever runs the
#                            test.  Writes DIR/ssh_config, in which each HOST
#                            is an alias of its address (HostName, Port,
#                            IdentityFile, StrictHostKeyChecking accept-new
#                            with DIR/known_hosts), and exports SSHD_PID,
#                            SSHD_PORT, SSHD_DIR, SSH_CONFIG.  Returns
#                            non-zero, with the log's tail on stderr, if sshd
#                            does not accept a login within
#                            SSHD_START_TIMEOUT seconds (default 20).
#   sshd_alias HOST ADDR [PORT]   add another alias to DIR/ssh_config (for
#                            example one whose port nothing listens on).
#   sshd_stop                stop it (TERM to SSHD_PID, then KILL).
#
# DIR/sshd_extra.conf, if it exists when sshd_start runs, is appended to the
# generated sshd_config (Match blocks, SetEnv).  Nothing of the system's ssh
# configuration is used: not /etc/ssh's host keys, not ~/.ssh.

SSHD=${SSHD:-/usr/sbin/sshd}

# The user's login shell runs the remote commands; bash reads ~/.bashrc even
# for them when sshd started it, which we cannot control: name the commands
# by absolute path or set PATH with SetEnv in sshd_extra.conf.
sshd_start () {
    local dir=${1:?sshd_start: missing DIR} i=2 host listen="" limit=${SSHD_START_TIMEOUT:-20}
    shift
    command -v "$SSHD" >/dev/null 2>&1 || [ -x "$SSHD" ] || {
        echo "sshd.sh: $SSHD not found (apt-get install openssh-server)" >&2
        return 1
    }
    mkdir -p "$dir" && dir=$(cd "$dir" && pwd) && chmod 700 "$dir" || return 1
    SSHD_DIR=$dir
    SSH_CONFIG=$dir/ssh_config
    SSHD_PORT=$(_broker_free_port) || return 1
    ssh-keygen -q -t ed25519 -N '' -C krun-test-host -f "$dir/host_key" || return 1
    ssh-keygen -q -t ed25519 -N '' -C krun-test-user -f "$dir/id" || return 1
    cp "$dir/id.pub" "$dir/authorized_keys" && chmod 600 "$dir/authorized_keys" || return 1
    : >"$dir/known_hosts"
    : >"$SSH_CONFIG"
    for host in "$@"; do
        listen="${listen}ListenAddress 127.0.0.$i:$SSHD_PORT
"
        sshd_alias "$host" "127.0.0.$i"
        i=$((i + 1))
    done
    # As root, sshd needs its privilege separation directory, which Debian
    # makes at boot (systemd-tmpfiles) and a container may lack.
    if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
        mkdir -p -m 0755 /run/sshd || return 1
    fi
    # StrictModes off: the test's files live below /tmp, which is writable
    # by everyone (sticky), and sshd would refuse authorized_keys there.
    cat >"$dir/sshd_config" <<EOF
${listen}HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 100
LogLevel VERBOSE
EOF
    [ -f "$dir/sshd_extra.conf" ] && cat "$dir/sshd_extra.conf" >>"$dir/sshd_config"
    "$SSHD" -t -f "$dir/sshd_config" 2>"$dir/sshd.log" || {
        cat "$dir/sshd.log" >&2
        return 1
    }
    # -D: sshd stays our child, so SSHD_PID is the listener itself; -e: its
    # log goes to stderr, i.e. DIR/sshd.log.
    "$SSHD" -D -e -f "$dir/sshd_config" </dev/null >>"$dir/sshd.log" 2>&1 &
    SSHD_PID=$!
    export SSHD_PID SSHD_PORT SSHD_DIR SSH_CONFIG
    for _ in $(seq 1 $((limit * 5))); do
        if ssh -F "$SSH_CONFIG" -o ConnectTimeout=2 "$1" true 2>>"$dir/first-login.err"; then
            return 0
        fi
        if ! process_alive "$SSHD_PID"; then
            echo "sshd.sh: sshd exited during startup" >&2
            tail -n 20 "$dir/sshd.log" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "sshd.sh: no login to $1 within ${limit}s" >&2
    tail -n 5 "$dir/first-login.err" "$dir/sshd.log" >&2
    sshd_stop
    return 1
}

sshd_alias () {
    local host=$1 addr=$2 port=${3:-$SSHD_PORT}
    cat >>"$SSH_CONFIG" <<EOF
Host $host
    HostName $addr
    Port $port
    User $(id -un)
    IdentityFile $SSHD_DIR/id
    IdentitiesOnly yes
    StrictHostKeyChecking accept-new
    UserKnownHostsFile $SSHD_DIR/known_hosts
    GlobalKnownHostsFile /dev/null
    BatchMode yes
    LogLevel ERROR
EOF
}

sshd_stop () {
    [ -n "${SSHD_PID:-}" ] || return 0
    stop_pid "$SSHD_PID"
    SSHD_PID=
}
