#!/usr/bin/env bash
# Local infrastructure for the Fieldstone dev/test stack, without Docker:
#   PostgreSQL 15 (Debian package), Apache Kafka (KRaft, single node, jars from
#   Maven), MinIO (built from its Go module) with Kafka bucket notifications.
#
# Usage: scripts/infra/infra.sh {install|start|stop|status|env}
# See docs/local-stack-infra.md.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)

CACHE=${FIELDSTONE_CACHE:-$HOME/.cache/fieldstone}
STATE=${FIELDSTONE_STATE:-$REPO_ROOT/.stack}
LOGS=$STATE/logs
RUN=$STATE/run

HOST=127.0.0.1
PG_PORT=${FIELDSTONE_PG_PORT:-15432}
KAFKA_PORT=${FIELDSTONE_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${FIELDSTONE_KAFKA_CONTROLLER_PORT:-19093}
# A second listener that wants SASL (PLAIN and SCRAM-SHA-512), for the services' Kafka security settings.
KAFKA_SASL_PORT=${FIELDSTONE_KAFKA_SASL_PORT:-19094}
# The same over TLS (SASL_SSL), with a certificate for 127.0.0.1 from a local CA ($CACHE/kafka-tls/ca.pem).
KAFKA_TLS_PORT=${FIELDSTONE_KAFKA_TLS_PORT:-19095}
KAFKA_SASL_USER=fieldstone
KAFKA_SASL_PASSWORD=fieldstone-dev-secret
MINIO_PORT=${FIELDSTONE_MINIO_PORT:-19000}
MINIO_CONSOLE_PORT=${FIELDSTONE_MINIO_CONSOLE_PORT:-19001}

# Pinned versions.
PG_MAJOR=15
PG_BIN=${FIELDSTONE_PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}
KAFKA_VERSION=${FIELDSTONE_KAFKA_VERSION:-4.1.2}
KAFKA_FALLBACK_VERSION=3.9.2
LOG4J2_VERSION=2.25.3 # matches the log4j-api/core that kafka 4.1.2 already pulls in
SLF4J_RELOAD4J_VERSION=1.7.36
RELOAD4J_VERSION=1.2.25
KAFKA_HEAP=${FIELDSTONE_KAFKA_HEAP:--Xmx512m}
# The RELEASE.* tags are not valid Go module versions; this pseudo-version is the pin.
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN=$CACHE/bin/minio

PG_DATABASES=(fieldstone_gateway fieldstone_auth fieldstone_files fieldstone_extraction fieldstone_webhooks fieldstone_usage)
S3_ACCESS_KEY=${FIELDSTONE_S3_ACCESS_KEY:-fieldstone}
S3_SECRET_KEY=${FIELDSTONE_S3_SECRET_KEY:-fieldstone-dev-secret}
NOTIFY_ID=FIELDSTONE
STORAGE_TOPIC=${FIELDSTONE_STORAGE_TOPIC:-fieldstone.storage.v1}

KAFKA_START_TIMEOUT=${FIELDSTONE_KAFKA_START_TIMEOUT:-120}
MINIO_START_TIMEOUT=${FIELDSTONE_MINIO_START_TIMEOUT:-60}
PG_START_TIMEOUT=${FIELDSTONE_PG_START_TIMEOUT:-60}

# ---------------------------------------------------------------------------
# helpers

log() { printf '[infra] %s\n' "$*" >&2; }

tail_log() {
    local file=$1
    if [[ -e $file ]]; then
        printf '[infra] ---- last 30 lines of %s ----\n' "$file" >&2
        tail -n 30 -- "$file" >&2 || true
        printf '[infra] ----\n' >&2
    fi
}

die() {
    local msg=$1 logfile=${2:-}
    [[ -n $logfile ]] && tail_log "$logfile"
    printf '[infra] ERROR: %s\n' "$msg" >&2
    exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

have() { command -v "$1" >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
    is_root || die "missing package(s): $* - install them (apt-get install -y $*) or re-run as root"
    have apt-get || die "missing package(s): $* and no apt-get on this machine"
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# alive = exists and is not a zombie waiting to be reaped
pid_alive() {
    [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# pid from a pid file, only if that process is alive and its command line matches.
read_pid() {
    local file=$1 pattern=$2 pid
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    if pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"; then
        printf '%s\n' "$pid"
        return 0
    fi
    return 1
}

# Send a Kafka ApiVersions (v0) request and check the correlation id of the answer.
kafka_probe() {
    local out
    out=$(timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$1 || exit 1
        printf '\\x00\\x00\\x00\\x0e\\x00\\x12\\x00\\x00\\x00\\x00\\x00\\x2a\\x00\\x04fsin' >&3
        head -c 8 <&3 | od -An -tx1" 2>/dev/null) || return 1
    out=${out//[[:space:]]/}
    [[ ${#out} -eq 16 && ${out:8:8} == 0000002a ]]
}

minio_live() { curl -fsS -o /dev/null --max-time 2 "http://$HOST:$1/minio/health/live" 2>/dev/null; }

# ---------------------------------------------------------------------------
# tool checks

ensure_curl() { have curl || apt_install curl ca-certificates; }

ensure_java() {
    have java || die "java not found: install a JDK >= 17 (Debian: apt-get install -y openjdk-17-jdk-headless)"
    local major
    major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}')
    [[ ${major%%.*} -ge 17 ]] 2>/dev/null || die "java $major found; Kafka needs java >= 17"
}

ensure_mvn() { have mvn || die "mvn not found: install Maven (Debian: apt-get install -y maven)"; }

ensure_go() { have go || die "go not found: a Go toolchain recent enough for MinIO (>= 1.24) is needed to build $MINIO_MODULE"; }

ensure_postgres() {
    if [[ ! -x $PG_BIN/postgres ]]; then
        if is_root; then
            apt_install postgresql
        fi
        [[ -x $PG_BIN/postgres ]] || die "PostgreSQL $PG_MAJOR not found in $PG_BIN: run as root (apt-get install -y postgresql) or set FIELDSTONE_PG_BIN"
    fi
}

# ---------------------------------------------------------------------------
# Kafka install (jars from Maven into $CACHE/kafka-<version>)

kafka_home_for() { printf '%s/kafka-%s\n' "$CACHE" "$1"; }

kafka_pom() {
    local version=$1 deps
    if [[ ${version%%.*} -ge 4 ]]; then
        # Kafka 4.x logs through slf4j 1.7 + log4j2: add the log4j2 backend + binding.
        deps=""
        local a
        for a in log4j-api log4j-core log4j-slf4j-impl; do
            deps+="<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>$a</artifactId><version>$LOG4J2_VERSION</version></dependency>"
        done
    else
        deps="<dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>$RELOAD4J_VERSION</version></dependency>"
        deps+="<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_RELOAD4J_VERSION</version></dependency>"
    fi
    cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.fieldstone.infra</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    $deps
  </dependencies>
</project>
EOF
}

install_kafka_version() {
    local version=$1 home tmp
    home=$(kafka_home_for "$version")
    [[ -f $home/.complete ]] && return 0
    tmp=$home.tmp.$$
    rm -rf -- "$tmp"
    mkdir -p "$tmp"
    kafka_pom "$version" >"$tmp/pom.xml"
    log "kafka: resolving org.apache.kafka:kafka_2.13:$version with mvn (first run only)"
    if ! (cd "$tmp" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp/libs") >"$tmp/mvn.log" 2>&1; then
        tail_log "$tmp/mvn.log"
        rm -rf -- "$tmp"
        return 1
    fi
    printf '%s\n' "$version" >"$tmp/.complete"
    rm -rf -- "$home"
    mv -- "$tmp" "$home"
    log "kafka: $version jars in $home/libs ($(find "$home/libs" -name '*.jar' | wc -l) jars)"
}

# Prints the kafka home to use (installed version), installing if needed.
install_kafka() {
    local v
    for v in "$KAFKA_VERSION" "$KAFKA_FALLBACK_VERSION"; do
        if [[ -f $(kafka_home_for "$v")/.complete ]]; then
            printf '%s\n' "$v"
            return 0
        fi
    done
    ensure_mvn
    if install_kafka_version "$KAFKA_VERSION"; then
        printf '%s\n' "$KAFKA_VERSION"
        return 0
    fi
    log "kafka: $KAFKA_VERSION could not be resolved; falling back to $KAFKA_FALLBACK_VERSION"
    install_kafka_version "$KAFKA_FALLBACK_VERSION" || die "could not resolve Kafka jars with mvn"
    printf '%s\n' "$KAFKA_FALLBACK_VERSION"
}

installed_kafka_version() {
    local v
    for v in "$KAFKA_VERSION" "$KAFKA_FALLBACK_VERSION"; do
        if [[ -f $(kafka_home_for "$v")/.complete ]]; then
            printf '%s\n' "$v"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------------------
# MinIO install (go install into $CACHE/bin)

minio_binary_ok() {
    [[ -x $MINIO_BIN ]] || return 1
    local stamp=$MINIO_BIN.version
    if [[ -f $stamp && $(<"$stamp") == "$MINIO_VERSION" ]]; then
        return 0
    fi
    if have go; then
        local built
        built=$(go version -m "$MINIO_BIN" 2>/dev/null | awk '$1 == "mod" && $2 == "'"$MINIO_MODULE"'" {print $3}')
        if [[ $built == "$MINIO_VERSION" ]]; then
            printf '%s\n' "$MINIO_VERSION" >"$stamp"
            return 0
        fi
        log "minio: $MINIO_BIN is ${built:-of unknown version}, want $MINIO_VERSION"
        return 1
    fi
    return 0 # cannot check without go; trust the binary
}

install_minio() {
    minio_binary_ok && return 0
    ensure_go
    mkdir -p "$CACHE/bin" "$LOGS"
    local buildlog=$LOGS/minio-build.log
    log "minio: building $MINIO_MODULE@$MINIO_VERSION (first run only, several minutes; log $buildlog)"
    if ! GOBIN=$CACHE/bin GOFLAGS=-trimpath go install "$MINIO_MODULE@$MINIO_VERSION" >"$buildlog" 2>&1; then
        die "minio build failed" "$buildlog"
    fi
    printf '%s\n' "$MINIO_VERSION" >"$MINIO_BIN.version"
    log "minio: built $MINIO_BIN"
}

# ---------------------------------------------------------------------------
# install (serialised across concurrent runs sharing the cache)

# Tesseract and its English, German, French and Dutch models: the OCR of the extraction engine.
OCR_PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-nld)
ensure_ocr() {
    local missing=() pkg
    for pkg in "${OCR_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) || apt_install --no-install-recommends "${missing[@]}"
}

cmd_install() {
    mkdir -p "$CACHE" "$STATE" "$LOGS" "$RUN"
    ensure_curl
    ensure_postgres
    ensure_ocr
    ensure_java
    exec 9>"$CACHE/.install.lock"
    if ! flock -n 9; then
        log "waiting for another install using $CACHE"
        flock 9
    fi
    local v
    v=$(install_kafka)
    install_minio
    exec 9>&-
    log "install: postgres $PG_MAJOR ($PG_BIN), kafka $v ($(kafka_home_for "$v")), minio $MINIO_VERSION ($MINIO_BIN)"
}

# ---------------------------------------------------------------------------
# PostgreSQL

run_as_pg() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_can_use() { # can the server user create files in dir $1?
    if is_root; then
        runuser -u postgres -- test -w "$1" -a -x "$1"
    else
        test -w "$1" -a -x "$1"
    fi
}

# Directory holding the data dir and the socket dir. Normally $STATE/postgres;
# when the postgres user cannot reach the checkout (root-only home, umask 077),
# a per-state directory outside the checkout.
# With "create" it picks and creates the directory; otherwise it only looks it up.
PG_ROOT=""
resolve_pg_root() {
    local mode=${1:-lookup}
    [[ -n $PG_ROOT ]] && return 0
    local pointer=$STATE/postgres.location
    if [[ -f $pointer ]]; then
        PG_ROOT=$(<"$pointer")
        [[ -d $PG_ROOT || $mode != create ]] && return 0
    fi
    if [[ $mode != create ]]; then
        PG_ROOT=$STATE/postgres
        return 0
    fi
    mkdir -p "$STATE"
    local hash candidate
    hash=$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
    for candidate in "$STATE/postgres" "$CACHE/pgdata-$hash" "/var/tmp/fieldstone-pgdata-$hash"; do
        mkdir -p "$candidate" 2>/dev/null || continue
        if is_root; then
            chown postgres:postgres "$candidate"
            chmod 700 "$candidate"
        fi
        if pg_can_use "$candidate"; then
            PG_ROOT=$candidate
            break
        fi
        rmdir "$candidate" 2>/dev/null || true
    done
    [[ -n $PG_ROOT ]] || die "no directory usable by the postgres user for the data dir"
    printf '%s\n' "$PG_ROOT" >"$pointer"
}

pg_paths() {
    resolve_pg_root "${1:-lookup}"
    PGDATA_DIR=$PG_ROOT/data
    PG_SOCK=$PG_ROOT/run
    PG_LOG=$LOGS/postgres.log
    # the file the server itself writes (PG_LOG links to it when PG_ROOT is elsewhere)
    if [[ $PG_ROOT == "$STATE/postgres" ]]; then
        PG_SERVER_LOG=$PG_LOG
    else
        PG_SERVER_LOG=$PG_ROOT/postgres.log
    fi
}

# The server writes its log as the postgres user: give it a file it can write,
# linked from $LOGS when the log has to live outside the state dir.
prepare_pg_log() {
    mkdir -p "$LOGS"
    if [[ $PG_SERVER_LOG == "$PG_LOG" ]]; then
        [[ -L $PG_LOG ]] && rm -f -- "$PG_LOG"
        touch "$PG_LOG"
        is_root && chown postgres:postgres "$PG_LOG"
    else
        run_as_pg touch "$PG_SERVER_LOG"
        ln -sfn -- "$PG_SERVER_LOG" "$PG_LOG"
    fi
    return 0
}

pg_ours_pid() { # pid of the postmaster of this state dir, if running
    pg_paths
    [[ -f $PGDATA_DIR/postmaster.pid ]] || return 1
    local pid
    pid=$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null) || return 1
    pid_alive "$pid" || return 1
    printf '%s\n' "$pid"
}

pg_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1; }

psql_tcp() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" -U postgres -d postgres "$@"; }

pg_create_databases() {
    local existing db created=()
    existing=$(psql_tcp -Atc "SELECT datname FROM pg_database") || die "cannot query databases on $HOST:$PG_PORT" "$PG_LOG"
    for db in "${PG_DATABASES[@]}"; do
        if ! grep -qx -- "$db" <<<"$existing"; then
            psql_tcp -c "CREATE DATABASE \"$db\"" >/dev/null || die "CREATE DATABASE $db failed" "$PG_LOG"
            created+=("$db")
        fi
    done
    if [[ ${#created[@]} -gt 0 ]]; then
        log "postgres: created databases ${created[*]}"
    fi
}

start_postgres() {
    local pid
    pg_paths create
    if pg_ready; then
        if pid=$(pg_ours_pid); then
            log "postgres: already running on $HOST:$PG_PORT (pid $pid)"
        else
            log "postgres: reusing the server already listening on $HOST:$PG_PORT"
        fi
        pg_create_databases
        return 0
    fi
    if port_open "$PG_PORT"; then
        die "port $HOST:$PG_PORT is in use by something that is not a ready PostgreSQL (set FIELDSTONE_PG_PORT to use another port)"
    fi
    prepare_pg_log
    if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
        log "postgres: initdb $PGDATA_DIR"
        rm -rf -- "$PGDATA_DIR"
        run_as_pg mkdir -p "$PGDATA_DIR"
        if ! run_as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 --no-instructions >>"$PG_LOG" 2>&1; then
            die "initdb failed" "$PG_LOG"
        fi
        printf "\ninclude_if_exists = 'fieldstone.conf'\n" | run_as_pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
    fi
    run_as_pg mkdir -p "$PG_SOCK"
    run_as_pg tee "$PGDATA_DIR/fieldstone.conf" >/dev/null <<EOF
# written by scripts/infra/infra.sh on every start
port = $PG_PORT
listen_addresses = '$HOST'
unix_socket_directories = '$PG_SOCK'
max_connections = 300
synchronous_commit = off
EOF
    log "postgres: starting on $HOST:$PG_PORT (data $PGDATA_DIR)"
    local out
    if ! out=$(run_as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_SERVER_LOG" -w -t "$PG_START_TIMEOUT" start 2>&1); then
        printf '%s\n' "$out" >&2
        die "postgres did not start" "$PG_LOG"
    fi
    pg_ready || die "postgres started but is not ready on $HOST:$PG_PORT" "$PG_LOG"
    pg_create_databases
}

stop_postgres() {
    local pid
    pg_paths
    if pid=$(pg_ours_pid); then
        log "postgres: stopping (pid $pid)"
        local out
        if ! out=$(run_as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop 2>&1); then
            printf '%s\n' "$out" >&2
            die "pg_ctl stop failed" "$PG_LOG"
        fi
    else
        log "postgres: not running (this state dir)"
    fi
}

# ---------------------------------------------------------------------------
# Kafka

KAFKA_DIR=$STATE/kafka
KAFKA_PIDFILE=$RUN/kafka.pid
KAFKA_LOG=$LOGS/kafka.log
# Machine-wide (like the installs), so a checkout that reuses a running broker finds its CA too.
KAFKA_TLS_DIR=$CACHE/kafka-tls

# A local CA and a broker certificate for $HOST (made once; kept with the broker's state).
ensure_kafka_tls() {
    [[ -s $KAFKA_TLS_DIR/ca.pem && -s $KAFKA_TLS_DIR/broker.pem ]] && return 0
    have openssl || apt_install openssl
    mkdir -p "$KAFKA_TLS_DIR"
    local d=$KAFKA_TLS_DIR
    {
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Fieldstone local Kafka CA" \
            -keyout "$d/ca.key" -out "$d/ca.pem" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey rsa:2048 -nodes -subj "/CN=$HOST" -keyout "$d/broker.key" -out "$d/broker.csr"
        printf 'subjectAltName=IP:%s,DNS:localhost\nextendedKeyUsage=serverAuth\n' "$HOST" >"$d/broker.ext"
        openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
            -days 3650 -extfile "$d/broker.ext" -out "$d/broker.crt"
    } >>"$KAFKA_LOG" 2>&1 || die "making the local Kafka TLS certificate failed" "$KAFKA_LOG"
    # Kafka's PEM key store: the private key (PKCS#8), then the certificate chain.
    cat "$d/broker.key" "$d/broker.crt" "$d/ca.pem" >"$d/broker.pem.tmp" && mv "$d/broker.pem.tmp" "$d/broker.pem"
    chmod 600 "$d/ca.key" "$d/broker.key" "$d/broker.pem"
}

write_kafka_config() {
    local version=$1
    mkdir -p "$KAFKA_DIR/data"
    cat >"$KAFKA_DIR/server.properties" <<EOF
# written by scripts/infra/infra.sh on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://$HOST:$KAFKA_SASL_PORT,SASL_SSL://$HOST:$KAFKA_TLS_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,SASL_PLAINTEXT://$HOST:$KAFKA_SASL_PORT,SASL_SSL://$HOST:$KAFKA_TLS_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$KAFKA_TLS_DIR/broker.pem
log.dirs=$KAFKA_DIR/data
num.partitions=3
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    if [[ ${version%%.*} -ge 4 ]]; then
        cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
# Kafka logs to stdout, which infra.sh redirects to $STATE/logs/kafka.log.
status = warn
name = fieldstone-kafka
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
# quiet: the chatty parts at WARN, the lifecycle lines at INFO
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.controller.name = kafka.server.ControllerServer
logger.controller.level = INFO
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = INFO
logger.storage.name = kafka.tools.StorageTool
logger.storage.level = INFO
EOF
    else
        cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=INFO
EOF
    fi
}

kafka_java_opts() {
    local version=$1
    KAFKA_JAVA_OPTS=("$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent
        -Djava.awt.headless=true)
    if [[ ${version%%.*} -ge 4 ]]; then
        KAFKA_JAVA_OPTS+=("-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties")
    else
        KAFKA_JAVA_OPTS+=("-Dlog4j.configuration=file:$KAFKA_DIR/log4j.properties")
    fi
}

format_kafka() {
    local version=$1 home=$2 cluster_id
    [[ -f $KAFKA_DIR/data/meta.properties ]] && return 0
    local idfile=$KAFKA_DIR/cluster.id
    if [[ ! -s $idfile ]]; then
        # A KRaft cluster id is a base64url (no padding) encoded random UUID: 22 chars.
        head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22 >"$idfile"
    fi
    cluster_id=$(<"$idfile")
    log "kafka: formatting storage $KAFKA_DIR/data (cluster id $cluster_id)"
    if ! java "${KAFKA_JAVA_OPTS[@]}" -cp "$home/libs/*" kafka.tools.StorageTool format \
        -t "$cluster_id" -c "$KAFKA_DIR/server.properties" --ignore-formatted >>"$KAFKA_LOG" 2>&1; then
        die "kafka storage format failed" "$KAFKA_LOG"
    fi
}

start_kafka() {
    mkdir -p "$RUN" "$LOGS"
    local pid
    if pid=$(read_pid "$KAFKA_PIDFILE" kafka.Kafka) && kafka_probe "$KAFKA_PORT"; then
        if kafka_probe "$KAFKA_SASL_PORT" && port_open "$KAFKA_TLS_PORT"; then
            log "kafka: already running on $HOST:$KAFKA_PORT (pid $pid)"
            return 0
        fi
        log "kafka: the running broker lacks the SASL listeners on $KAFKA_SASL_PORT/$KAFKA_TLS_PORT (older config); restarting it"
        stop_kafka
        pid=""
    fi
    if [[ -z ${pid:-} ]]; then
        rm -f -- "$KAFKA_PIDFILE"
        if kafka_probe "$KAFKA_PORT"; then
            log "kafka: reusing the broker already answering on $HOST:$KAFKA_PORT"
            return 0
        fi
        if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
            die "port $HOST:$KAFKA_PORT or $KAFKA_CONTROLLER_PORT is in use by something that is not a Kafka broker (set FIELDSTONE_KAFKA_PORT / FIELDSTONE_KAFKA_CONTROLLER_PORT)"
        fi
    fi
    local version home
    version=$(installed_kafka_version) || die "kafka is not installed: run '$0 install'"
    home=$(kafka_home_for "$version")
    ensure_kafka_tls
    write_kafka_config "$version"
    kafka_java_opts "$version"
    touch "$KAFKA_LOG"
    local offset=0
    if [[ -z ${pid:-} ]]; then
        format_kafka "$version" "$home"
        log "kafka: starting $version on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
        printf '\n===== %s infra.sh: starting kafka %s =====\n' "$(date -Is)" "$version" >>"$KAFKA_LOG"
        offset=$(stat -c %s "$KAFKA_LOG")
        (cd "$KAFKA_DIR" && exec setsid nohup java "${KAFKA_JAVA_OPTS[@]}" -cp "$home/libs/*" \
            kafka.Kafka "$KAFKA_DIR/server.properties" >>"$KAFKA_LOG" 2>&1 </dev/null) &
        pid=$!
        printf '%s\n' "$pid" >"$KAFKA_PIDFILE"
    else
        log "kafka: process $pid is up but not answering yet; waiting"
        offset=0
    fi
    local waited=0
    while :; do
        if ! pid_alive "$pid"; then
            rm -f -- "$KAFKA_PIDFILE"
            die "kafka exited during startup" "$KAFKA_LOG"
        fi
        if tail -c "+$((offset + 1))" "$KAFKA_LOG" | grep -q 'Kafka Server started' && kafka_probe "$KAFKA_PORT"; then
            break
        fi
        if ((waited >= KAFKA_START_TIMEOUT)); then
            die "kafka did not become ready within ${KAFKA_START_TIMEOUT}s (pid $pid still running)" "$KAFKA_LOG"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "kafka: ready on $HOST:$KAFKA_PORT (pid $pid, ${waited}s)"
    add_kafka_scram_user "$home"
}

# The SCRAM credential lives in the cluster's metadata, so it is (re)written once the broker is up.
add_kafka_scram_user() {
    local home=$1
    if ! java "${KAFKA_JAVA_OPTS[@]}" -cp "$home/libs/*" kafka.admin.ConfigCommand \
        --bootstrap-server "$HOST:$KAFKA_PORT" --alter --entity-type users --entity-name "$KAFKA_SASL_USER" \
        --add-config "SCRAM-SHA-512=[iterations=4096,password=$KAFKA_SASL_PASSWORD]" >>"$KAFKA_LOG" 2>&1; then
        die "kafka: adding the SCRAM user $KAFKA_SASL_USER failed" "$KAFKA_LOG"
    fi
    log "kafka: SASL on $HOST:$KAFKA_SASL_PORT, SASL over TLS on $HOST:$KAFKA_TLS_PORT (PLAIN and SCRAM-SHA-512, user $KAFKA_SASL_USER, CA $KAFKA_TLS_DIR/ca.pem)"
}

stop_pidfile_process() { # name pidfile pattern timeout logfile
    local name=$1 pidfile=$2 pattern=$3 timeout=$4 logfile=$5 pid
    if ! pid=$(read_pid "$pidfile" "$pattern"); then
        [[ -f $pidfile ]] && log "$name: removing stale pid file $pidfile"
        rm -f -- "$pidfile"
        log "$name: not running (this state dir)"
        return 0
    fi
    log "$name: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while pid_alive "$pid"; do
        if ((waited >= timeout * 5)); then
            log "$name: still running after ${timeout}s; sending SIGKILL"
            tail_log "$logfile"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    rm -f -- "$pidfile"
}

stop_kafka() { stop_pidfile_process kafka "$KAFKA_PIDFILE" kafka.Kafka 60 "$KAFKA_LOG"; }

# ---------------------------------------------------------------------------
# MinIO

MINIO_DIR=$STATE/minio
MINIO_PIDFILE=$RUN/minio.pid
MINIO_LOG=$LOGS/minio.log

start_minio() {
    mkdir -p "$RUN" "$LOGS"
    local pid
    if pid=$(read_pid "$MINIO_PIDFILE" "minio server") && minio_live "$MINIO_PORT"; then
        log "minio: already running on $HOST:$MINIO_PORT (pid $pid)"
        return 0
    fi
    if [[ -z ${pid:-} ]]; then
        rm -f -- "$MINIO_PIDFILE"
        if minio_live "$MINIO_PORT"; then
            log "minio: reusing the server already answering on $HOST:$MINIO_PORT"
            return 0
        fi
        if port_open "$MINIO_PORT" || port_open "$MINIO_CONSOLE_PORT"; then
            die "port $HOST:$MINIO_PORT or $MINIO_CONSOLE_PORT is in use by something that is not MinIO (set FIELDSTONE_MINIO_PORT / FIELDSTONE_MINIO_CONSOLE_PORT)"
        fi
        [[ -x $MINIO_BIN ]] || die "minio is not installed: run '$0 install'"
        mkdir -p "$MINIO_DIR/data" "$MINIO_DIR/queue"
        log "minio: starting on $HOST:$MINIO_PORT (console $MINIO_CONSOLE_PORT, notify $STORAGE_TOPIC via $HOST:$KAFKA_PORT)"
        printf '\n===== %s infra.sh: starting minio =====\n' "$(date -Is)" >>"$MINIO_LOG"
        (
            export MINIO_ROOT_USER=$S3_ACCESS_KEY
            export MINIO_ROOT_PASSWORD=$S3_SECRET_KEY
            export MINIO_NOTIFY_KAFKA_ENABLE_FIELDSTONE=on
            export MINIO_NOTIFY_KAFKA_BROKERS_FIELDSTONE=$HOST:$KAFKA_PORT
            export MINIO_NOTIFY_KAFKA_TOPIC_FIELDSTONE=$STORAGE_TOPIC
            # No queue dir: with one, MinIO sends on a fixed 3 s timer. A notification lost while
            # Kafka is down is caught by the files service's sweep and by verify-on-read.
            export MINIO_UPDATE=off
            cd "$MINIO_DIR"
            exec setsid nohup "$MINIO_BIN" server "$MINIO_DIR/data" \
                --address "$HOST:$MINIO_PORT" --console-address "$HOST:$MINIO_CONSOLE_PORT" \
                >>"$MINIO_LOG" 2>&1 </dev/null
        ) &
        pid=$!
        printf '%s\n' "$pid" >"$MINIO_PIDFILE"
    fi
    local waited=0
    while ! minio_live "$MINIO_PORT"; do
        if ! pid_alive "$pid"; then
            rm -f -- "$MINIO_PIDFILE"
            die "minio exited during startup" "$MINIO_LOG"
        fi
        if ((waited >= MINIO_START_TIMEOUT * 2)); then
            die "minio did not become live within ${MINIO_START_TIMEOUT}s (pid $pid still running)" "$MINIO_LOG"
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    log "minio: ready on http://$HOST:$MINIO_PORT (pid $pid)"
}

stop_minio() { stop_pidfile_process minio "$MINIO_PIDFILE" "minio server" 30 "$MINIO_LOG"; }

# ---------------------------------------------------------------------------
# commands

cmd_start() {
    cmd_install
    start_postgres
    start_kafka
    start_minio
    log "all up; eval \"\$($0 env)\" for the connection settings"
}

cmd_stop() {
    stop_minio
    stop_kafka
    stop_postgres
}

status_line() { # name state port pid log
    printf '%-9s %-18s port=%-6s pid=%-8s log=%s\n' "$1" "$2" "$3" "${4:--}" "$5"
}

cmd_status() {
    local pid state
    pg_paths
    pid=$(pg_ours_pid) || pid=""
    if pg_ready; then state=running; [[ -z $pid ]] && state="running(external)"; else state=stopped; fi
    status_line postgres "$state" "$PG_PORT" "$pid" "$PG_LOG"

    pid=$(read_pid "$KAFKA_PIDFILE" kafka.Kafka) || pid=""
    if kafka_probe "$KAFKA_PORT"; then state=running; [[ -z $pid ]] && state="running(external)"
    elif [[ -n $pid ]]; then state=starting; else state=stopped; fi
    status_line kafka "$state" "$KAFKA_PORT" "$pid" "$KAFKA_LOG"

    pid=$(read_pid "$MINIO_PIDFILE" "minio server") || pid=""
    if minio_live "$MINIO_PORT"; then state=running; [[ -z $pid ]] && state="running(external)"
    elif [[ -n $pid ]]; then state=starting; else state=stopped; fi
    status_line minio "$state" "$MINIO_PORT" "$pid" "$MINIO_LOG"
}

cmd_env() {
    cat <<EOF
export FIELDSTONE_PG_DSN_BASE=postgresql://postgres@$HOST:$PG_PORT
export FIELDSTONE_KAFKA_BOOTSTRAP=$HOST:$KAFKA_PORT
export FIELDSTONE_KAFKA_SASL_BOOTSTRAP=$HOST:$KAFKA_SASL_PORT
export FIELDSTONE_KAFKA_TLS_BOOTSTRAP=$HOST:$KAFKA_TLS_PORT
export FIELDSTONE_KAFKA_CA_FILE=$KAFKA_TLS_DIR/ca.pem
export FIELDSTONE_KAFKA_SASL_USERNAME=$KAFKA_SASL_USER
export FIELDSTONE_KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD
export FIELDSTONE_S3_ENDPOINT=$HOST:$MINIO_PORT
export FIELDSTONE_S3_ACCESS_KEY=$S3_ACCESS_KEY
export FIELDSTONE_S3_SECRET_KEY=$S3_SECRET_KEY
export FIELDSTONE_MINIO_NOTIFY_ARN=arn:minio:sqs::$NOTIFY_ID:kafka
export FIELDSTONE_STORAGE_TOPIC=$STORAGE_TOPIC
EOF
}

usage() {
    cat >&2 <<EOF
usage: $0 {install|start|stop|status|env}
  install  install/build PostgreSQL $PG_MAJOR, Kafka jars, MinIO into $CACHE (idempotent)
  start    install if needed, then start postgres, kafka, minio (reuses running ones)
  stop     stop the servers started from $STATE
  status   one line per component
  env      print export lines for the services
EOF
}

main() {
    local cmd=${1:-}
    case $cmd in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
    esac
}

main "$@"
