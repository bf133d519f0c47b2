#!/usr/bin/env bash
# Apache Kafka, KRaft mode, one combined broker/controller, from Maven Central jars.
# Usage: scripts/kafka.sh install|start|stop|status
set -euo pipefail
source "$(dirname "$0")/env.sh"

LIBS="$SB_CACHE/kafka-$KAFKA_VERSION/libs"
DIR="$SB_HOME/kafka"
PIDFILE="$DIR/kafka.pid"

install() {
  if [ -f "$LIBS/.complete" ]; then return; fi
  command -v mvn >/dev/null || { echo "mvn is required (apt-get install maven)" >&2; exit 1; }
  echo "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central"
  mkdir -p "$LIBS"
  mvn -q -B -f "$ROOT/infra/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS"
  touch "$LIBS/.complete"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  install
  if running; then echo "kafka: already running (pid $(cat "$PIDFILE"))"; return; fi
  mkdir -p "$DIR/data"
  cat > "$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=-1
PROPS
  cat > "$DIR/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$DIR/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
  local cp="$LIBS/*"
  if [ ! -f "$DIR/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java -cp "$cp" -Dlog4j.configuration="file:$DIR/log4j.properties" kafka.tools.StorageTool random-uuid)
    java -cp "$cp" -Dlog4j.configuration="file:$DIR/log4j.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$DIR/server.properties" >/dev/null
  fi
  # A broker holds a few files open per partition, and every test run makes its own
  # topics: raise the open-files limit as far as this machine lets us.
  ulimit -n 262144 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -cp "$cp" \
    -Dlog4j.configuration="file:$DIR/log4j.properties" \
    kafka.Kafka "$DIR/server.properties" > "$DIR/stdout.log" 2>&1 &
  echo $! > "$PIDFILE"
  if ! wait_for_port 127.0.0.1 "$KAFKA_PORT" 90; then
    echo "kafka: did not open port $KAFKA_PORT; see $DIR/server.log" >&2; tail -20 "$DIR/stdout.log" >&2; exit 1
  fi
  echo "kafka: running on 127.0.0.1:$KAFKA_PORT (pid $(cat "$PIDFILE"), logs $DIR/server.log)"
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE"); kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    echo "kafka: stopped"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "kafka: running"; else echo "kafka: stopped"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
