# broker.sh - a private RabbitMQ for tests and benchmarks (sourced by bash).
#
#   broker_start DIR    start a broker that keeps all its state under DIR and
#                       listens on a free loopback port; exports BROKER_PORT,
#                       BROKER_URL, BROKER_PID, BROKER_DIR, BROKER_NODE.
#                       Returns non-zero (with the log's tail on stderr) if it
#                       does not answer AMQP within BROKER_START_TIMEOUT
#                       seconds (default 60).
#   broker_stop         stop it (TERM, then KILL its whole process group).
#   broker_restart      stop and start again on the same port and DIR, so
#                       durable queues and persistent messages survive.
#   broker_ctl ARGS...  rabbitmqctl against the private node.
#
#   broker_tls_listener DIR
#                       before broker_start DIR: a TLS listener too, on
#                       another free loopback port, with a certificate for
#                       "localhost" signed by a CA of its own; exports
#                       BROKER_TLS_PORT, BROKER_TLS_CA (that CA's file) and
#                       BROKER_TLS_OTHER_CA (a CA that signed nothing).
#                       Returns non-zero (log in DIR/openssl.log) without
#                       openssl.
#
# DIR/extra.conf, if it exists, is appended to the generated rabbitmq.conf
# (for example a TLS listener).
#
# Safe under `set -e` and `set -u`, and from a `trap ... EXIT`.

BROKER_SBIN=${BROKER_SBIN:-/usr/lib/rabbitmq/bin}

# True if nothing uses TCP port $1 on 127.0.0.1 (no socket of any state has
# it, nothing answers there).
_broker_port_unused () {
    [ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ] &&
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A TCP port on 127.0.0.1 that nothing uses.  Below the kernel's ephemeral
# range (32768-60999), so that outgoing connections cannot take it later.
#   _broker_free_port [LOW HIGH [OFFSET...]]
# picks one in LOW..HIGH (default 10000..19999) such that the port plus each
# OFFSET is unused as well.
_broker_free_port () {
    local low=${1:-10000} high=${2:-19999} port off ok
    shift 2 2>/dev/null || true
    for _ in $(seq 1 200); do
        port=$((low + RANDOM % (high - low + 1)))
        ok=1
        for off in 0 "$@"; do
            _broker_port_unused $((port + off)) || { ok=; break; }
        done
        if [ -n "$ok" ]; then
            echo "$port"
            return 0
        fi
    done
    echo "broker.sh: no free port found in $low..$high" >&2
    return 1
}

# True if process $1 exists and is not a zombie.
_broker_alive () {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $state in
    Z*) return 1 ;;
    esac
    return 0
}

# True if the port answers the AMQP protocol header with a frame (the
# server's connection.start is a method frame: type byte 1).
_broker_answers_amqp () {
    local byte=
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'AMQP\000\000\011\001' >&3
        IFS= read -r -t 2 -N 1 byte <&3 || exit 1
        [ "$byte" = $'\001' ]
    ) 2>/dev/null
}

# The environment that points rabbitmq-server and rabbitmqctl at DIR.
_broker_env () {
    local dir=$1
    echo "HOME=$dir"
    echo "RABBITMQ_NODENAME=$BROKER_NODE"
    echo "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
    echo "RABBITMQ_NODE_PORT=$BROKER_PORT"
    echo "RABBITMQ_DIST_PORT=$BROKER_DIST_PORT"
    echo "RABBITMQ_MNESIA_BASE=$dir/mnesia"
    echo "RABBITMQ_LOG_BASE=$dir/log"
    echo "RABBITMQ_PID_FILE=$dir/rabbitmq.pid"
    echo "RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins"
    echo "RABBITMQ_FEATURE_FLAGS_FILE=$dir/feature_flags"
    echo "RABBITMQ_CONFIG_FILE=$dir/rabbitmq"
    echo "RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf"
    echo "RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config"
}

# Choose the node name and ports once per DIR, so that a restart finds its
# Mnesia directory (named after the node) and its clients find the port.
_broker_identity () {
    local dir=$1
    if [ -f "$dir/identity" ]; then
        # shellcheck disable=SC1091
        . "$dir/identity"
        return 0
    fi
    BROKER_NODE="krun-test-$$-$RANDOM@localhost"
    BROKER_PORT=$(_broker_free_port) || return 1
    BROKER_DIST_PORT=$(_broker_free_port) || return 1
    if [ "$BROKER_DIST_PORT" = "$BROKER_PORT" ]; then
        BROKER_DIST_PORT=$(_broker_free_port) || return 1
    fi
    cat >"$dir/identity" <<EOF
BROKER_NODE=$BROKER_NODE
BROKER_PORT=$BROKER_PORT
BROKER_DIST_PORT=$BROKER_DIST_PORT
EOF
}

broker_tls_listener () {
    local dir=${1:?broker_tls_listener: missing DIR} tls
    tls=$dir/tls
    mkdir -p "$tls" && command -v openssl >/dev/null &&
        {
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 2 -subj "/CN=krun test CA" &&
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                    -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" &&
                echo "subjectAltName=DNS:localhost" >"$tls/ext" &&
                openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" \
                    -CAkey "$tls/ca.key" -CAcreateserial -out "$tls/server.pem" -days 2 \
                    -extfile "$tls/ext" &&
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                    -keyout "$tls/other.key" -out "$tls/other.pem" -days 2 \
                    -subj "/CN=other CA"
        } >"$dir/openssl.log" 2>&1 &&
        BROKER_TLS_PORT=$(_broker_free_port) || return 1
    cat >"$dir/extra.conf" <<EOF
listeners.ssl.default = 127.0.0.1:$BROKER_TLS_PORT
ssl_options.cacertfile = $tls/ca.pem
ssl_options.certfile = $tls/server.pem
ssl_options.keyfile = $tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF
    export BROKER_TLS_PORT BROKER_TLS_CA=$tls/ca.pem BROKER_TLS_OTHER_CA=$tls/other.pem
}

_broker_write_config () {
    local dir=$1
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$BROKER_PORT
# Slots keep a task's delivery unacknowledged while the task runs; the
# default consumer_timeout (30 minutes) would close their channel during a
# long task.
consumer_timeout = 86400000
log.file.level = warning
log.console = false
EOF
    if [ -f "$dir/extra.conf" ]; then
        cat "$dir/extra.conf" >>"$dir/rabbitmq.conf"
    fi
    echo '[].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"
    echo '[].' >"$dir/advanced.config"
}

# Start a broker in DIR.  A free port can be taken by someone else between
# the check and the broker's start (tests run in parallel, each with its own
# broker): on a first start in DIR, a port conflict means new ports and
# another try, at most 3 in all.  A restart keeps its ports.
broker_start () {
    local dir=${1:?broker_start: missing DIR} fresh=1
    [ -f "$dir/identity" ] && fresh=0
    for attempt in 1 2 3; do
        _broker_start_once "$dir" && return 0
        [ "$fresh" = 1 ] && [ "$attempt" -lt 3 ] &&
            grep -qE "already_used|eaddrinuse" "$dir/server.out" "$dir/log/"*.log \
                2>/dev/null || return 1
        echo "broker.sh: port conflict, trying other ports" >&2
        rm -rf "$dir/identity" "$dir/mnesia" "$dir/log" "$dir/server.out"
    done
    return 1
}

_broker_start_once () {
    local dir=$1 limit=${BROKER_START_TIMEOUT:-60}
    local pid=
    mkdir -p "$dir/mnesia" "$dir/log" || return 1
    dir=$(cd "$dir" && pwd) || return 1
    _broker_identity "$dir" || return 1
    _broker_write_config "$dir" || return 1
    rm -f "$dir/session.pid"
    # setsid: the broker and everything beam starts (erl_child_setup,
    # inet_gethost) form one process group that broker_stop can kill.  The
    # inner shell records its own PID: setsid forks when the caller is a
    # process group leader, and then $! would be the wrong process.
    (
        # shellcheck disable=SC2046
        export $(_broker_env "$dir")
        # shellcheck disable=SC2016 # expanded by the inner shell
        exec setsid sh -c 'echo $$ >"$1/session.pid"; exec "$2/rabbitmq-server"' \
            sh "$dir" "$BROKER_SBIN"
    ) </dev/null >>"$dir/server.out" 2>&1 &
    for _ in $(seq 1 50); do
        if [ -s "$dir/session.pid" ]; then
            pid=$(cat "$dir/session.pid")
            break
        fi
        sleep 0.1
    done
    if [ -z "$pid" ]; then
        echo "broker.sh: rabbitmq-server did not start" >&2
        return 1
    fi
    BROKER_PID=$pid
    BROKER_DIR=$dir
    BROKER_URL="amqp://guest:guest@127.0.0.1:$BROKER_PORT/"
    export BROKER_PID BROKER_DIR BROKER_PORT BROKER_URL BROKER_NODE
    for _ in $(seq 1 $((limit * 5))); do
        if _broker_answers_amqp "$BROKER_PORT"; then
            return 0
        fi
        if ! _broker_alive "$BROKER_PID"; then
            echo "broker.sh: rabbitmq-server exited during startup" >&2
            tail -n 20 "$dir/server.out" "$dir/log/"*.log >&2 2>/dev/null || true
            broker_stop
            return 1
        fi
        sleep 0.2
    done
    echo "broker.sh: no AMQP answer on port $BROKER_PORT after ${limit}s" >&2
    tail -n 20 "$dir/server.out" "$dir/log/"*.log >&2 2>/dev/null || true
    broker_stop
    return 1
}

broker_stop () {
    local pid=${BROKER_PID:-}
    # The broker started last in BROKER_DIR, also when broker_restart ran in
    # a subshell (a test's code) whose BROKER_PID the caller never saw.
    if [ -n "${BROKER_DIR:-}" ] && [ -s "$BROKER_DIR/session.pid" ]; then
        pid=$(cat "$BROKER_DIR/session.pid")
    fi
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        _broker_alive "$pid" || break
        sleep 0.2
    done
    # Whatever is left of the group (a hung beam, its helpers) goes now.
    kill -KILL -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        _broker_alive "$pid" || break
        sleep 0.1
    done
    # Reap it if it is our own child (setsid did not fork).
    wait "$pid" 2>/dev/null || true
    [ -n "${BROKER_DIR:-}" ] && rm -f "$BROKER_DIR/session.pid"
    BROKER_PID=
    return 0
}

broker_restart () {
    local dir=${BROKER_DIR:?broker_restart: no broker started}
    broker_stop
    broker_start "$dir"
}

broker_ctl () {
    local dir=${BROKER_DIR:?broker_ctl: no broker started}
    (
        # shellcheck disable=SC2046
        export $(_broker_env "$dir")
        "$BROKER_SBIN/rabbitmqctl" -n "$BROKER_NODE" "$@"
    )
}
