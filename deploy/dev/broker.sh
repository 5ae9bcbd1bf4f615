#!/usr/bin/env bash
# The dev broker, with its data in the dev state directory. Idempotent.
#
# Apache Kafka (the default): one KRaft node, broker and controller in one JVM,
# assembled from Maven Central (deploy/dev/kafka/pom.xml) and cached under
# .dev-state/kafka-<version>/. Its storage is formatted with Kafka's own storage tool
# the first time a data directory is used, so `make up` keeps its data across
# restarts. Clients authenticate with SASL (SCRAM-SHA-512; the brokers' own super
# user `admin` also with PLAIN) and an authorizer refuses what deploy/kafka/access.toml
# does not grant; every principal's password is in the broker's principals/
# directory, made at the first start. PLINTH_BROKER=tansu runs the Java-free Tansu
# broker instead (built from crates.io, about 12 minutes once), without
# authentication or ACLs.
#
#   broker.sh up      install if missing, start if not running, wait until it serves
#   broker.sh down    stop it
#   broker.sh install fetch the broker without starting it
set -euo pipefail
source "$(dirname "$0")/env.sh"
# The broker's own directory: its data, configuration, log and pid file.
BROKER_DIR=${PLINTH_BROKER_DIR:-$PLINTH_STATE_DIR/broker}
mkdir -p "$BROKER_DIR"
PIDFILE=$BROKER_DIR/broker.pid
PRINCIPALS=$BROKER_DIR/principals
LOGFILE=$BROKER_DIR/broker.log
# The controller's listener (KRaft), next to the client listener.
CONTROLLER_PORT=${PLINTH_KAFKA_CONTROLLER_PORT:-$((PLINTH_KAFKA_PORT + 1000))}

KAFKA_POM=$(cd "$(dirname "$0")" && pwd)/kafka/pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")
KAFKA_HOME=$PLINTH_STATE_DIR/kafka-$KAFKA_VERSION

# Fetches the broker's jars once; a half-finished fetch is thrown away.
kafka_install() {
  if [ -f "$KAFKA_HOME/.complete" ]; then return; fi
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    log "installing Java 17 and Maven (the broker)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null 2>&1 \
      || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null; }
  fi
  log "fetching Apache Kafka $KAFKA_VERSION from Maven Central (once)"
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME"
  if ! mvn -B -f "$KAFKA_POM" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$KAFKA_HOME/libs" >"$KAFKA_HOME/fetch.log" 2>&1; then
    tail -n 30 "$KAFKA_HOME/fetch.log" >&2
    log "fetching Apache Kafka failed; see $KAFKA_HOME/fetch.log"
    exit 1
  fi
  touch "$KAFKA_HOME/.complete"
}

# The JVM that runs the broker and its storage tool. Heap capped; G1 with short
# pauses, as Kafka's own start script does.
KAFKA_JAVA=(java -Xms256m "-Xmx${PLINTH_KAFKA_HEAP:-768m}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$BROKER_DIR/log4j2.properties" -cp "$KAFKA_HOME/libs/*")

# The brokers' super user's password, made once.
admin_password() {
  mkdir -p "$PRINCIPALS"
  chmod 700 "$PRINCIPALS"
  if [ ! -f "$PRINCIPALS/admin.password" ]; then
    (umask 077 && openssl rand -base64 24 | tr -d '\n/+=' >"$PRINCIPALS/admin.password")
  fi
  cat "$PRINCIPALS/admin.password"
}

# The node's configuration: every listener on 127.0.0.1, topics only by request.
# Clients and the controller listener both authenticate (SASL; plaintext on the
# loopback interface here, SASL_SSL in production): no principal is anonymous, so
# the controller's listener is no way around the ACLs either.
kafka_configure() {
  local admin; admin=$(admin_password)
  local plain="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$admin\" user_admin=\"$admin\";"
  (umask 077 && cat >"$BROKER_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=SASL_PLAINTEXT://127.0.0.1:$PLINTH_KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$PLINTH_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=$plain
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=$plain
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
log.dirs=$BROKER_DIR/data
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A consumer group starts at once instead of waiting three seconds for more members.
group.initial.rebalance.delay.ms=0
EOF
  )
  # The broker's own log: warnings, plus the line that says it serves.
  cat >"$BROKER_DIR/log4j2.properties" <<'EOF'
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.out.ref=out
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
EOF
  if [ ! -f "$BROKER_DIR/data/meta.properties" ]; then
    local cluster; cluster=$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid)
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --cluster-id "$cluster" \
      --config "$BROKER_DIR/server.properties" --ignore-formatted >>"$LOGFILE" 2>&1
  fi
}

kafka_start() {
  kafka_install
  kafka_configure
  (exec setsid env -u OTEL_EXPORTER_OTLP_ENDPOINT "${KAFKA_JAVA[@]}" kafka.Kafka \
    "$BROKER_DIR/server.properties" >>"$LOGFILE" 2>&1 </dev/null) &
  echo $! >"$PIDFILE"
}

# The broker serves once it logs that it started (an open port alone is not enough:
# the socket listens before requests are handled).
kafka_serving() {
  grep -q "Kafka Server started" "$LOGFILE" 2>/dev/null && port_open 127.0.0.1 "$PLINTH_KAFKA_PORT"
}

# The principals and ACLs of deploy/kafka/access.toml, for both regions of the dev
# stack (the EU region's topics under `eu.`, as services.sh starts them).
kafka_provision() {
  "$PLINTH_TEST_PYTHON" "$(dirname "$KAFKA_POM")/provision.py" \
    "127.0.0.1:$PLINTH_KAFKA_PORT" "$PRINCIPALS" us= eu=eu.
}

tansu_bin() {
  local bin; bin=$(command -v tansu 2>/dev/null || echo "${CARGO_HOME:-$HOME/.cargo}/bin/tansu")
  if [ ! -x "$bin" ]; then
    log "installing the Tansu broker $TANSU_VERSION (about 12 minutes on 2 cores, once)"
    cargo install --locked --quiet tansu --version "$TANSU_VERSION" \
      --no-default-features --features libsql,dynostore >&2
    bin="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"
  fi
  echo "$bin"
}

tansu_start() {
  local bin; bin=$(tansu_bin)
  local url="tcp://127.0.0.1:$PLINTH_KAFKA_PORT"
  # Tansu reads the SQLite path relative to its working directory.
  (cd "$BROKER_DIR" && exec setsid env -u OTEL_EXPORTER_OTLP_ENDPOINT "$bin" broker \
    --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine "${PLINTH_TANSU_STORAGE:-sqlite://tansu.db}" \
    >>"$LOGFILE" 2>&1 </dev/null) &
  echo $! >"$PIDFILE"
}

tansu_serving() { port_open 127.0.0.1 "$PLINTH_KAFKA_PORT"; }
tansu_provision() { :; }

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

up() {
  if running; then
    log "broker already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PLINTH_KAFKA_PORT"
    "${PLINTH_BROKER}_provision"
    return
  fi
  if port_open 127.0.0.1 "$PLINTH_KAFKA_PORT"; then
    log "port $PLINTH_KAFKA_PORT is taken by another process; set PLINTH_KAFKA_PORT"
    exit 1
  fi
  : >"$LOGFILE"
  # setsid: the broker outlives this script and is not hit by the caller's signals.
  "${PLINTH_BROKER}_start"
  if ! wait_for 90 "${PLINTH_BROKER}_serving"; then
    log "broker did not start; see $LOGFILE"
    tail -n 20 "$LOGFILE" >&2 || true
    exit 1
  fi
  "${PLINTH_BROKER}_provision"
  log "broker ($PLINTH_BROKER) running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PLINTH_KAFKA_PORT"
}

down() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    # SIGTERM: Kafka shuts down cleanly and its next start needs no log recovery.
    kill "$pid" 2>/dev/null || true
    wait_for 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    log "broker stopped"
  fi
  rm -f "$PIDFILE"
}

install() {
  case "$PLINTH_BROKER" in
    kafka) kafka_install ;;
    tansu) tansu_bin >/dev/null ;;
  esac
}

case "$PLINTH_BROKER" in
  kafka | tansu) ;;
  *) log "PLINTH_BROKER is kafka or tansu, not '$PLINTH_BROKER'"; exit 2 ;;
esac
"${1:-up}"
