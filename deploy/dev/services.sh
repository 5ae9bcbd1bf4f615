#!/usr/bin/env bash
# The services of the local platform, each a process of its own, with its log and
# pid file under .dev-state/services/. Idempotent.
#   services.sh up | down | status
set -euo pipefail
source "$(dirname "$0")/env.sh"
SERVICES_DIR=$PLINTH_STATE_DIR/services
KEYS_DIR=$PLINTH_STATE_DIR/keys
mkdir -p "$SERVICES_DIR"

# Service → HTTP port. A service is started once its crate exists.
declare -A PORTS=([gateway]=8080 [tenant-registry]=8081 [audit]=8086)
export PLINTH_REGION=${PLINTH_REGION:-us}

built_services() {
  local svc
  for svc in "${!PORTS[@]}"; do
    [ -f "$ROOT/services/$svc/Cargo.toml" ] && echo "$svc"
  done
  return 0
}

# The dev key pair for internal tokens: the gateway signs with the private key,
# services verify with the public one (32 raw bytes, base64url).
internal_token_public_key() {
  local key=$KEYS_DIR/internal-token.pem
  if [ ! -f "$key" ]; then
    mkdir -p "$KEYS_DIR"
    openssl genpkey -algorithm ED25519 -out "$key" 2>/dev/null
    chmod 600 "$key"
  fi
  openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# The dev key the audit service signs its logs' checkpoints with, made once by
# `plinth-audit keygen`; auditors verify with the verifier key beside it.
audit_signing_key() {
  local key=$KEYS_DIR/audit-log.key
  if [ ! -f "$key" ]; then
    mkdir -p "$KEYS_DIR"
    "$ROOT/target/debug/plinth-audit" keygen --name "plinth-audit-$PLINTH_REGION" \
      --origin-prefix "audit.plinth.localhost/$PLINTH_REGION" >"$KEYS_DIR/audit-log.keygen"
    sed -n 's/^signing key[^:]*: //p' "$KEYS_DIR/audit-log.keygen" >"$key"
    sed -n 's/^verifier key[^:]*: *//p' "$KEYS_DIR/audit-log.keygen" >"$KEYS_DIR/audit-log.pub"
    rm -f "$KEYS_DIR/audit-log.keygen"
    chmod 600 "$key"
  fi
  cat "$key"
}

running() { local pid=$SERVICES_DIR/$1.pid; [ -f "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null; }

start() {
  local svc=$1 port=${PORTS[$1]} db=plinth_${1//-/_} public_key=$2
  if running "$svc"; then
    log "$svc already running (pid $(cat "$SERVICES_DIR/$svc.pid")) on :$port"
    return
  fi
  local pg="$PLINTH_PG_HOST:$PLINTH_PG_PORT/$db"
  # Each secret goes to the one service that needs it.
  local own=(PLINTH_REGION="$PLINTH_REGION")
  case $svc in
    gateway) own+=(PLINTH_OIDC__ISSUER="$PLINTH_IDP_ISSUER"
                   PLINTH_INTERNAL_TOKEN__PRIVATE_KEY_PEM="$(cat "$KEYS_DIR/internal-token.pem")") ;;
    audit) own+=(PLINTH_LOG__SIGNING_KEY="$AUDIT_SIGNING_KEY"
                 PLINTH_LOG__ORIGIN_PREFIX="audit.plinth.localhost/$PLINTH_REGION") ;;
  esac
  (exec setsid env \
    PLINTH_HTTP__PORT="$port" \
    PLINTH_DATABASE__APP_URL="postgres://$PLINTH_PG_APP:$PLINTH_PG_PASSWORD@$pg" \
    PLINTH_DATABASE__OWNER_URL="postgres://$PLINTH_PG_OWNER:$PLINTH_PG_PASSWORD@$pg" \
    PLINTH_DATABASE__APP_ROLE="$PLINTH_PG_APP" \
    PLINTH_BUS__BROKERS="$PLINTH_KAFKA_BROKERS" \
    PLINTH_AUTH__INTERNAL_TOKEN_PUBLIC_KEY="$public_key" \
    "${own[@]}" \
    "$ROOT/target/debug/$svc" >"$SERVICES_DIR/$svc.log" 2>&1 </dev/null) &
  echo $! >"$SERVICES_DIR/$svc.pid"
  if ! wait_for 90 port_open 127.0.0.1 "$port"; then
    log "$svc did not start; see $SERVICES_DIR/$svc.log"
    tail -n 20 "$SERVICES_DIR/$svc.log" >&2 || true
    exit 1
  fi
  log "$svc running (pid $(cat "$SERVICES_DIR/$svc.pid")) on http://127.0.0.1:$port"
}

up() {
  local found; found=$(built_services)
  [ -n "$found" ] || return 0
  local args=()
  for svc in $found; do args+=(--bin "$svc"); done
  [ -f "$ROOT/services/audit/Cargo.toml" ] && args+=(--bin plinth-audit)
  log "building ${found//$'\n'/, }"
  (cd "$ROOT" && cargo build --quiet "${args[@]}")
  local public_key; public_key=$(internal_token_public_key)
  AUDIT_SIGNING_KEY=
  [ -f "$ROOT/services/audit/Cargo.toml" ] && AUDIT_SIGNING_KEY=$(audit_signing_key)
  for svc in $found; do start "$svc" "$public_key"; done
}

down() {
  local pidfile pid
  for pidfile in "$SERVICES_DIR"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait_for 15 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
      log "$(basename "$pidfile" .pid) stopped"
    fi
    rm -f "$pidfile"
  done
}

status() {
  local svc
  for svc in $(built_services); do
    if running "$svc"; then
      echo "  Service     $svc  http://127.0.0.1:${PORTS[$svc]}  (region $PLINTH_REGION, log $SERVICES_DIR/$svc.log)"
    else
      echo "  Service     $svc  not running"
    fi
  done
}

"${1:-up}"
