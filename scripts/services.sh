#!/usr/bin/env bash
# Real services for development and CI: a single-node Apache Kafka (KRaft) run from its Maven Central jars,
# and the machine's PostgreSQL and Mosquitto (started if they are down).
#
#   npm run services -- up [kafka|postgres|mosquitto]...   start (all when none named), wait until ready
#   npm run services -- down                               stop what this script started (Kafka)
#   npm run services -- status                             one line per service, exit 1 if any is down
#
# Environment: WACOFLOW_KAFKA_PORT (9092), WACOFLOW_KAFKA_CONTROLLER_PORT (9093), WACOFLOW_PG_PORT (5432),
# WACOFLOW_SERVICES_DIR (<project>/.services, git-ignored: jars, broker data, logs, pid files),
# WACOFLOW_KAFKA_KEEP_DATA=1 (restart Kafka on its existing data instead of a fresh log: outage tests).
set -euo pipefail

KAFKA_VERSION=3.9.1
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${WACOFLOW_SERVICES_DIR:-$root/.services}
kafka_port=${WACOFLOW_KAFKA_PORT:-9092}
controller_port=${WACOFLOW_KAFKA_CONTROLLER_PORT:-9093}
pg_port=${WACOFLOW_PG_PORT:-5432}
libs=$dir/kafka-$KAFKA_VERSION/libs
kafka_run=$dir/kafka-run
pidfile=$kafka_run/kafka.pid

say() { printf '[services] %s\n' "$*"; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch_kafka() {
  [ -f "$libs/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed once to fetch the Kafka $KAFKA_VERSION jars from Maven Central"
  command -v java >/dev/null || die "Java 17 or newer is needed to run Kafka"
  say "fetching Apache Kafka $KAFKA_VERSION jars into $libs (once)"
  mkdir -p "$dir/kafka-$KAFKA_VERSION"
  cat >"$dir/kafka-$KAFKA_VERSION/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>wacoflow.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka 3.9 logs through SLF4J 1.7; without a binding the broker prints nothing. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>
POM
  mvn -B -q -f "$dir/kafka-$KAFKA_VERSION/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs.partial" || die "could not fetch the Kafka jars (see Maven's output above)"
  mv "$libs.partial" "$libs"
}

kafka_pid() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"; }

kafka_up() {
  if pid=$(kafka_pid); then say "kafka already running (pid $pid) on 127.0.0.1:$kafka_port"; return 0; fi
  port_open "$kafka_port" && die "port $kafka_port is taken by another process; set WACOFLOW_KAFKA_PORT to a free port"
  fetch_kafka
  if [ -n "${WACOFLOW_KAFKA_KEEP_DATA:-}" ] && [ -f "$kafka_run/server.properties" ]; then
    start_kafka_process; return 0   # a restart after an outage: same log, same data
  fi
  rm -rf "$kafka_run" && mkdir -p "$kafka_run/data"
  cat >"$kafka_run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$kafka_run/data
num.partitions=3
# One node: with the default replication factor of 3 consumers wait forever for a group coordinator.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cat >"$kafka_run/log4j.properties" <<'L4J'
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.run}/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
L4J
  local cid
  cid=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  java -Xmx256m -cp "$libs/*" kafka.tools.StorageTool format -t "$cid" -c "$kafka_run/server.properties" \
    >"$kafka_run/format.log" 2>&1 || die "formatting the Kafka log directory failed: $(tail -n 3 "$kafka_run/format.log")"
  start_kafka_process
}

# How many times the log says the broker started (the file is appended to across restarts).
started_count() {
  local n; n=$(grep -c 'Kafka Server started' "$kafka_run/kafka.log" 2>/dev/null)
  echo "${n:-0}"
}

start_kafka_process() {
  say "starting kafka $KAFKA_VERSION on 127.0.0.1:$kafka_port (logs: $kafka_run/kafka.log)"
  nohup java -Xms512m -Xmx512m -cp "$libs/*" -Dkafka.run="$kafka_run" \
    -Dlog4j.configuration="file:$kafka_run/log4j.properties" kafka.Kafka "$kafka_run/server.properties" \
    >"$kafka_run/stdout.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local before; before=$(started_count)
  for _ in $(seq 1 120); do
    if [ "$(started_count)" -gt "$before" ]; then
      say "kafka ready (pid $(cat "$pidfile")) on 127.0.0.1:$kafka_port"; return 0
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || die "kafka exited during start-up: $(tail -n 5 "$kafka_run/stdout.log" "$kafka_run/kafka.log" 2>/dev/null)"
    sleep 0.5
  done
  die "kafka did not report 'Kafka Server started' within 60 s (see $kafka_run/kafka.log)"
}

kafka_down() {
  local pid
  if ! pid=$(kafka_pid); then say "kafka not running"; return 0; fi
  say "stopping kafka (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { say "kafka stopped"; rm -f "$pidfile"; return 0; }; sleep 0.5; done
  say "kafka did not stop within 30 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; rm -f "$pidfile"
}

postgres_up() {
  if pg_isready -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; then say "postgres ready on 127.0.0.1:$pg_port"; return 0; fi
  command -v pg_ctlcluster >/dev/null || die "PostgreSQL is not reachable on 127.0.0.1:$pg_port and no local cluster is installed"
  local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting the local PostgreSQL $version cluster"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || die "could not start PostgreSQL $version"
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p "$pg_port" && { say "postgres ready on 127.0.0.1:$pg_port"; return 0; }; sleep 0.5; done
  die "PostgreSQL did not become ready on 127.0.0.1:$pg_port within 30 s"
}

mosquitto_up() {
  if port_open 1883; then say "mosquitto ready on 127.0.0.1:1883"; return 0; fi
  command -v mosquitto >/dev/null || die "Mosquitto is not reachable on 127.0.0.1:1883 and is not installed"
  say "starting mosquitto"; mosquitto -d -c /etc/mosquitto/mosquitto.conf
  for _ in $(seq 1 20); do port_open 1883 && { say "mosquitto ready on 127.0.0.1:1883"; return 0; }; sleep 0.5; done
  die "Mosquitto did not open 127.0.0.1:1883 within 10 s"
}

status() {
  local bad=0
  if pid=$(kafka_pid); then say "kafka     up (pid $pid) 127.0.0.1:$kafka_port"; else say "kafka     down"; bad=1; fi
  if pg_isready -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; then say "postgres  up 127.0.0.1:$pg_port"; else say "postgres  down"; bad=1; fi
  if port_open 1883; then say "mosquitto up 127.0.0.1:1883"; else say "mosquitto down"; bad=1; fi
  return $bad
}

cmd=${1:-status}; shift || true
case "$cmd" in
  up)
    [ $# -eq 0 ] && set -- postgres mosquitto kafka
    for s in "$@"; do case "$s" in
      kafka) kafka_up ;; postgres) postgres_up ;; mosquitto) mosquitto_up ;;
      *) die "unknown service '$s' (kafka, postgres, mosquitto)" ;;
    esac; done ;;
  down) kafka_down ;;
  status) status ;;
  *) die "usage: npm run services -- up [kafka|postgres|mosquitto]... | down | status" ;;
esac
