#!/usr/bin/env bash
# The Kafka-compatible dev broker (Tansu, from crates.io), with its data in the dev
# state directory. Idempotent.
#   broker.sh up      install if missing, start if not running, wait until it answers
#   broker.sh down    stop it
#   broker.sh bin     print the path of the broker binary (installing it if missing)
set -euo pipefail
source "$(dirname "$0")/env.sh"
# The broker's own directory: its SQLite data, log and pid file.
BROKER_DIR=${PLINTH_BROKER_DIR:-$PLINTH_STATE_DIR/broker}
mkdir -p "$BROKER_DIR"
PIDFILE=$BROKER_DIR/tansu.pid
LOGFILE=$BROKER_DIR/tansu.log

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

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

up() {
  local bin; bin=$(tansu_bin)
  if running; then
    log "broker already running (pid $(cat "$PIDFILE")) on $PLINTH_KAFKA_BROKERS"
    return
  fi
  if port_open 127.0.0.1 "$PLINTH_KAFKA_PORT"; then
    log "port $PLINTH_KAFKA_PORT is taken by another process; set PLINTH_KAFKA_PORT"
    exit 1
  fi
  local url="tcp://127.0.0.1:$PLINTH_KAFKA_PORT"
  # setsid: the broker outlives this script and is not hit by the caller's signals.
  # Tansu reads the SQLite path relative to its working directory.
  # PLINTH_BROKER_STORAGE=memory://tansu/ keeps nothing across restarts (benchmarks).
  (cd "$BROKER_DIR" && exec setsid env -u OTEL_EXPORTER_OTLP_ENDPOINT "$bin" broker \
    --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine "${PLINTH_BROKER_STORAGE:-sqlite://tansu.db}" \
    >"$LOGFILE" 2>&1 </dev/null) &
  echo $! >"$PIDFILE"
  if ! wait_for 30 port_open 127.0.0.1 "$PLINTH_KAFKA_PORT"; then
    log "broker did not start; see $LOGFILE"
    tail -n 20 "$LOGFILE" >&2 || true
    exit 1
  fi
  log "broker running (pid $(cat "$PIDFILE")) on $PLINTH_KAFKA_BROKERS"
}

down() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    wait_for 15 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    log "broker stopped"
  fi
  rm -f "$PIDFILE"
}

bin() { tansu_bin; }

"${1:-up}"
