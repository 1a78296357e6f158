#!/usr/bin/env bash
# Runs pa's local Apache Kafka: one broker in KRaft combined mode on 127.0.0.1, built from the jars
# on Maven Central (no Docker, no tarball). `up` returns once the broker answers metadata requests
# and reuses a broker that is already running; `down` stops it and leaves no java process.
#
#   bash scripts/kafka.sh up|down|status|logs
#
# KAFKA_PORT (default 9092) picks the client port; the controller listens on KAFKA_PORT+1.
# KAFKA_VERSION (default in scripts/kafka/pom.xml) picks the Kafka release.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/system-packages.sh
source "$root/scripts/lib/system-packages.sh"

port=${KAFKA_PORT:-9092}
controller_port=$((port + 1))
version=${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$root/scripts/kafka/pom.xml")}
cache="$root/.cache/kafka"
libs="$cache/$version/libs"
state="$cache/broker-$port"
pidfile="$state/kafka.pid"
logfile="$state/kafka.log"
bootstrap="127.0.0.1:$port"

log() { echo "[kafka] $*"; }

answers_metadata() {
  kcat -b "$bootstrap" -L -m 3 >/dev/null 2>&1
}

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

ensure_tools() {
  local need=()
  command -v kcat >/dev/null 2>&1 || need+=(kcat)
  command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
  [ ${#need[@]} -eq 0 ] || ensure_packages "${need[@]}"
}

# Copies kafka_2.13 and its runtime dependencies, all of one version, into the cache (once).
ensure_jars() {
  [ -f "$libs/.complete" ] && return 0
  log "resolving Apache Kafka $version from Maven Central (once, about a minute)"
  rm -rf "$libs"
  mvn -q -B -Dstyle.color=never -f "$root/scripts/kafka/pom.xml" -Dkafka.version="$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs"
  touch "$libs/.complete"
}

write_config() {
  mkdir -p "$state/data"
  cat >"$state/server.properties" <<PROPS
# Written by scripts/kafka.sh: a laptop-sized single node in KRaft combined mode.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/data
# 3 partitions, as the PoC's topics; a single node can only replicate once.
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers join at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Like managed clusters: topics are created on purpose (pa creates its DLQ topics itself).
auto.create.topics.enable=false
log.retention.hours=168
log.segment.bytes=268435456
PROPS
}

# Formats the storage directory with a new cluster id on first start.
ensure_formatted() {
  [ -f "$state/data/meta.properties" ] && return 0
  local cluster_id
  # A url-safe base64 id may start with "-", which the tool then reads as an option (1 start in 64
  # failed so); Kafka's own random ids avoid that leading dash the same way.
  cluster_id=-
  while [ "${cluster_id:0:1}" = "-" ]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  log "formatting storage in $state/data"
  java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$libs/*" kafka.tools.StorageTool \
    format --standalone -t "$cluster_id" -c "$state/server.properties" >"$state/format.log" 2>&1 || {
    cat "$state/format.log" >&2
    return 1
  }
}

up() {
  ensure_tools
  if pid=$(running_pid) && answers_metadata; then
    log "already running (pid $pid); bootstrap: $bootstrap"
    return 0
  fi
  if [ -z "${pid:-}" ] && answers_metadata; then
    log "a broker not started by this script already answers at $bootstrap; using it"
    return 0
  fi
  ensure_jars
  write_config
  ensure_formatted
  if [ -z "${pid:-}" ]; then
    log "starting Apache Kafka $version on $bootstrap"
    # setsid: the broker outlives this script and the npm process that ran it, and is not hit by
    # the terminal's Ctrl-C meant for another program.
    setsid java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true \
      -cp "$libs/*" kafka.Kafka "$state/server.properties" >"$logfile" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$pidfile"
  fi
  local deadline=$((SECONDS + 90))
  until answers_metadata; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the broker exited during start-up; last lines of $logfile:" >&2
      tail -n 30 "$logfile" >&2
      rm -f "$pidfile"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "the broker did not answer metadata requests within 90 s; see $logfile" >&2
      return 1
    fi
    sleep 0.5
  done
  log "ready (pid $pid); bootstrap: $bootstrap"
}

down() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pidfile"
    log "not running"
    return 0
  fi
  log "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      log "no clean exit within 30 s; killing"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.3
  done
  rm -f "$pidfile"
  log "stopped"
}

status() {
  if pid=$(running_pid) && answers_metadata; then
    log "running (pid $pid); bootstrap: $bootstrap"
  else
    log "not running"
    return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  logs) tail -n "${2:-100}" "$logfile" ;;
  *)
    echo "usage: bash scripts/kafka.sh up|down|status|logs" >&2
    exit 2
    ;;
esac
