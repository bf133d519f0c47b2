#!/usr/bin/env bash
# A three-broker Apache Kafka cluster in KRaft mode on this machine: three JVMs, each a
# combined broker and controller, with the production topic settings (replication factor 3,
# min.insync.replicas 2). Beside the single broker of scripts/kafka.sh, which it never touches.
# Usage: scripts/kafka-cluster.sh install|start|stop|status|kill N|start-node N|bootstrap
# Ports: brokers KAFKA_CLUSTER_PORT..+2 (29092-29094), controllers +3..+5 (29095-29097).
# Data and logs: KAFKA_CLUSTER_DIR ($SB_HOME/kafka-cluster/node<N>).
set -euo pipefail
source "$(dirname "$0")/env.sh"

LIBS="$SB_CACHE/kafka-$KAFKA_VERSION/libs"
PORT=${KAFKA_CLUSTER_PORT:-29092}
DIR=${KAFKA_CLUSTER_DIR:-$SB_HOME/kafka-cluster}
HEAP=${KAFKA_CLUSTER_HEAP:-384m}
NODES="1 2 3"

broker_port() { echo $((PORT + $1 - 1)); }
controller_port() { echo $((PORT + 2 + $1)); }
bootstrap() { local s=""; for n in $NODES; do s="$s${s:+,}127.0.0.1:$(broker_port "$n")"; done; echo "$s"; }
pidfile() { echo "$DIR/node$1/kafka.pid"; }
running() { [ -f "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

configure() { # node
  local n=$1 d="$DIR/node$1" voters=""
  for v in $NODES; do voters="$voters${voters:+,}$v@127.0.0.1:$(controller_port "$v")"; done
  mkdir -p "$d/data"
  cat > "$d/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(broker_port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(broker_port "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data
num.partitions=6
auto.create.topics.enable=false
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=0
log.retention.hours=-1
# A broker that stops heart-beating is fenced (and its partitions fail over) after this;
# Kafka's 9 s default is shortened so the local failover takes seconds.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
# On a loaded machine the three JVMs come up minutes apart; wait for the quorum that long.
initial.broker.registration.timeout.ms=600000
PROPS
  cat > "$d/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$d/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
}

format_node() { # node: once, before its first start
  local n=$1 d="$DIR/node$1"
  configure "$n"
  [ -f "$d/data/meta.properties" ] && return
  java -cp "$LIBS/*" -Dlog4j.configuration="file:$d/log4j.properties" \
    kafka.tools.StorageTool format -t "$(cat "$DIR/cluster.id")" -c "$d/server.properties" >/dev/null
}

start_node() { # node
  local n=$1 d="$DIR/node$1"
  if running "$n"; then return; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$(broker_port "$n")") 2>/dev/null; then
    echo "kafka-cluster: port $(broker_port "$n") is taken by another process" >&2; exit 1
  fi
  format_node "$n"
  ulimit -n 262144 2>/dev/null || ulimit -n "$(ulimit -Hn)"  # files per partition, see kafka.sh
  KAFKA_HEAP_OPTS="" nohup java -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -XX:TieredStopAtLevel=1 \
    -cp "$LIBS/*" -Dlog4j.configuration="file:$d/log4j.properties" \
    kafka.Kafka "$d/server.properties" > "$d/stdout.log" 2>&1 &
  echo $! > "$(pidfile "$n")"
}

start() {
  bash "$(dirname "$0")/kafka.sh" install
  mkdir -p "$DIR"
  [ -f "$DIR/cluster.id" ] || java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null > "$DIR/cluster.id"
  # Format all three first (in parallel), then start them together: a node waits for the
  # others' controllers to form the quorum before it can register.
  for n in $NODES; do format_node "$n" & done
  wait
  for n in $NODES; do start_node "$n"; done
  for n in $NODES; do
    if ! wait_for_port 127.0.0.1 "$(broker_port "$n")" 300; then
      echo "kafka-cluster: node $n did not open $(broker_port "$n"); see $DIR/node$n/server.log" >&2
      tail -20 "$DIR/node$n/stdout.log" >&2; exit 1
    fi
  done
  echo "kafka-cluster: 3 brokers on $(bootstrap) (data and logs under $DIR)"
}

stop_node() { # node; SIGTERM, then SIGKILL after 20 s
  local n=$1 pid
  if running "$n"; then
    pid=$(cat "$(pidfile "$n")"); kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$(pidfile "$n")"
}

case "${1:-}" in
  install) bash "$(dirname "$0")/kafka.sh" install ;;
  start) start ;;
  stop) for n in $NODES; do stop_node "$n"; done; echo "kafka-cluster: stopped" ;;
  status)
    up=0; for n in $NODES; do running "$n" && up=$((up + 1)); done
    echo "kafka-cluster: $up of 3 brokers running ($(bootstrap))"; [ $up = 3 ] ;;
  kill) running "$2" && kill -9 "$(cat "$(pidfile "$2")")"; rm -f "$(pidfile "$2")" ;;
  start-node) start_node "$2"; wait_for_port 127.0.0.1 "$(broker_port "$2")" 120 ;;
  bootstrap) bootstrap ;;
  *) echo "usage: $0 install|start|stop|status|kill N|start-node N|bootstrap" >&2; exit 2 ;;
esac
