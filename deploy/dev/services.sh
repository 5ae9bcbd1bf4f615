#!/usr/bin/env bash
# The services of the local platform, in two regions (US and EU), each service a
# process of its own with its log and pid file under .dev-state/services/.
# Idempotent.
#   services.sh up | runners | down | status | targets
set -euo pipefail
source "$(dirname "$0")/env.sh"
SERVICES_DIR=$PLINTH_STATE_DIR/services
KEYS_DIR=$PLINTH_STATE_DIR/keys
CONFIG_DIR=$ROOT/deploy/dev/config
mkdir -p "$SERVICES_DIR" "$KEYS_DIR"

# Service → HTTP port in the US region; the EU region's are 1000 higher. A
# service is started once its crate exists.
declare -A PORTS=([gateway]=8080 [tenant-registry]=8081 [pack-service]=8082 [module-catalog]=8083 [provider-setup]=8084 [policy]=8085 [audit]=8086)
REGIONS="us eu"

port_of() { if [ "$2" = us ]; then echo "${PORTS[$1]}"; else echo $(( ${PORTS[$1]} + 1000 )); fi; }
# The instance's name: the service's, with the region after it outside the US.
instance() { if [ "$2" = us ]; then echo "$1"; else echo "$1-$2"; fi; }
suffix() { if [ "$1" = us ]; then echo ""; else echo "-$1"; fi; }

built_services() {
  local svc
  for svc in "${!PORTS[@]}"; do
    [ -f "$ROOT/services/$svc/Cargo.toml" ] && echo "$svc"
  done
  return 0
}

# The region's dev key pair for internal tokens: its gateway signs with the
# private key, its services verify with the public one (32 raw bytes, base64url).
internal_token_public_key() {
  local key=$KEYS_DIR/internal-token$(suffix "$1").pem
  if [ ! -f "$key" ]; then
    openssl genpkey -algorithm ED25519 -out "$key" 2>/dev/null
    chmod 600 "$key"
  fi
  openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# The region's dev key its audit service signs checkpoints with, made once by
# `plinth-audit keygen`; auditors verify with the verifier key beside it.
audit_signing_key() {
  local region=$1 key=$KEYS_DIR/audit-log$(suffix "$1").key
  if [ ! -f "$key" ]; then
    "$ROOT/target/debug/plinth-audit" keygen --name "plinth-audit-$region" \
      --origin-prefix "audit.plinth.localhost/$region" >"$key.keygen"
    sed -n 's/^signing key[^:]*: //p' "$key.keygen" >"$key"
    sed -n 's/^verifier key[^:]*: *//p' "$key.keygen" >"${key%.key}.pub"
    rm -f "$key.keygen"
    chmod 600 "$key"
  fi
  cat "$key"
}

# The region's key-encryption key, which wraps every provider key's data key
# (32 random bytes, base64): the file's path.
provider_kek_file() {
  local key=$KEYS_DIR/provider-kek$(suffix "$1").key
  if [ ! -f "$key" ]; then
    (umask 077 && openssl rand -base64 32 >"$key")
  fi
  echo "$key"
}

# The key of the region's session cookies: 64 random bytes, base64.
session_key() {
  local key=$KEYS_DIR/session$(suffix "$1").key
  if [ ! -f "$key" ]; then
    openssl rand -base64 64 | tr -d '\n' >"$key"
    chmod 600 "$key"
  fi
  cat "$key"
}

running() { local pid=$SERVICES_DIR/$1.pid; [ -f "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null; }

start() {
  local svc=$1 region=$2 name port db
  name=$(instance "$svc" "$region")
  port=$(port_of "$svc" "$region")
  db=plinth_${svc//-/_}$( [ "$region" = us ] || echo "_$region" )
  if running "$name"; then
    log "$name already running (pid $(cat "$SERVICES_DIR/$name.pid")) on :$port"
    return
  fi
  local pg="$PLINTH_PG_HOST:$PLINTH_PG_PORT/$db"
  # The regions share the dev broker, each under a topic prefix of its own.
  local prefix=""; [ "$region" = us ] || prefix="$region."
  # Each secret goes to the one service that needs it.
  local own=(PLINTH_REGION="$region" PLINTH_BUS__TOPIC_PREFIX="$prefix")
  # Its own principal at the broker, which lets it write and read only its topics.
  mapfile -t -O ${#own[@]} own < <(bus_principal_env "$name")
  case $svc in
    gateway)
      own+=(PLINTH_OIDC__ISSUER="$PLINTH_IDP_ISSUER"
            PLINTH_INTERNAL_TOKEN__PRIVATE_KEY_PEM="$(cat "$KEYS_DIR/internal-token$(suffix "$region").pem")"
            PLINTH_LOGIN__CLIENT_SECRET="$PLINTH_IDP_CLIENT_SECRET"
            PLINTH_LOGIN__SESSION_KEY="$(session_key "$region")")
      own+=(PLINTH_CONSOLE_DIR="$ROOT/console/dist")
      [ "$region" = us ] || own+=(PLINTH_CONFIG="$CONFIG_DIR/gateway-$region.toml") ;;
    tenant-registry) own+=(PLINTH_CONFIG="$CONFIG_DIR/tenant-registry.toml") ;;
    pack-service) own+=(PLINTH_CONFIG="$CONFIG_DIR/pack-service.toml") ;;
    # Links point at the region's gateway, which serves the setup surface.
    provider-setup) own+=(PLINTH_SECRETS__KEK_FILE="$(provider_kek_file "$region")"
                          PLINTH_SETUP__BASE_URL="http://127.0.0.1:$(port_of gateway "$region")/setup") ;;
    audit) own+=(PLINTH_LOG__SIGNING_KEY="$(audit_signing_key "$region")"
                 PLINTH_LOG__ORIGIN_PREFIX="audit.plinth.localhost/$region") ;;
  esac
  # Metrics and health on a listener of their own, which no gateway routes.
  own+=(PLINTH_HTTP__INTERNAL_PORT="$(( port + 100 ))")
  (exec setsid env \
    PLINTH_HTTP__PORT="$port" \
    PLINTH_DATABASE__APP_URL="postgres://$PLINTH_PG_APP:$PLINTH_PG_PASSWORD@$pg" \
    PLINTH_DATABASE__OWNER_URL="postgres://$PLINTH_PG_OWNER:$PLINTH_PG_PASSWORD@$pg" \
    PLINTH_DATABASE__APP_ROLE="$PLINTH_PG_APP" \
    PLINTH_BUS__BROKERS="$PLINTH_KAFKA_BROKERS" \
    PLINTH_AUTH__INTERNAL_TOKEN_PUBLIC_KEY="$(internal_token_public_key "$region")" \
    "${own[@]}" \
    "$ROOT/target/debug/$svc" >"$SERVICES_DIR/$name.log" 2>&1 </dev/null) &
  echo $! >"$SERVICES_DIR/$name.pid"
  if ! wait_for 90 port_open 127.0.0.1 "$port"; then
    log "$name did not start; see $SERVICES_DIR/$name.log"
    tail -n 20 "$SERVICES_DIR/$name.log" >&2 || true
    exit 1
  fi
  log "$name running (pid $(cat "$SERVICES_DIR/$name.pid")) on http://127.0.0.1:$port"
}

# The local servers speaking the AI providers' wire formats (one process for both
# regions): what the demo's provider connections call; keys starting sk-demo- are
# good keys there.
FAKES_PORTS=8191,8192,8193
start_provider_fakes() {
  if running provider-fakes; then
    log "provider-fakes already running (pid $(cat "$SERVICES_DIR/provider-fakes.pid"))"
    return
  fi
  (exec setsid env PLINTH_FAKES_PORTS="$FAKES_PORTS" PLINTH_FAKES_ACCEPT=sk-demo- \
    "$ROOT/target/debug/plinth-provider-fakes" >"$SERVICES_DIR/provider-fakes.log" 2>&1 </dev/null) &
  echo $! >"$SERVICES_DIR/provider-fakes.pid"
  if ! wait_for 30 port_open 127.0.0.1 8193; then
    log "provider-fakes did not start; see $SERVICES_DIR/provider-fakes.log"
    exit 1
  fi
  log "provider-fakes running: OpenAI :8191, Azure OpenAI :8192, Anthropic :8193"
}

up() {
  local found; found=$(built_services)
  [ -n "$found" ] || return 0
  local args=()
  for svc in $found; do args+=(--bin "$svc"); done
  [ -f "$ROOT/services/audit/Cargo.toml" ] && args+=(--bin plinth-audit)
  echo "$found" | grep -qx provider-setup && args+=(--bin plinth-provider-fakes)
  [ -f "$ROOT/services/runner/Cargo.toml" ] && args+=(--bin plinth-runner)
  log "building ${found//$'\n'/, }"
  (cd "$ROOT" && cargo build --quiet "${args[@]}")
  if echo "$found" | grep -qx gateway; then
    log "building the console"
    (cd "$ROOT/console" && npm run --silent build >/dev/null)
  fi
  local region svc
  if echo "$found" | grep -qx provider-setup; then start_provider_fakes; fi
  for region in $REGIONS; do
    # The gateway starts last: it reads the identity provider and forwards to
    # the others.
    for svc in $(echo "$found" | grep -v '^gateway$'); do start "$svc" "$region"; done
    if echo "$found" | grep -qx gateway; then start gateway "$region"; fi
  done
}

# The reference runtime, one per region, once the demo named the tenants it
# serves ($PLINTH_STATE_DIR/runner-<region>.toml, written by seed.py): it calls
# the region's gateway as the dev identity provider's plinth-runtime client and
# meters on the broker as its own principal.
runners() {
  local region name config
  [ -x "$ROOT/target/debug/plinth-runner" ] || return 0
  for region in $REGIONS; do
    name=$(instance runner "$region")
    config=$PLINTH_STATE_DIR/runner-$region.toml
    [ -f "$config" ] || continue
    if running "$name"; then
      log "$name already running (pid $(cat "$SERVICES_DIR/$name.pid"))"
      continue
    fi
    local prefix=""; [ "$region" = us ] || prefix="$region."
    local own=()
    mapfile -t own < <(bus_principal_env "$name")
    (exec setsid env \
      PLINTH_CONFIG="$config" \
      PLINTH_REGION="$region" \
      PLINTH_GATEWAY_URL="http://127.0.0.1:$(port_of gateway "$region")" \
      PLINTH_ISSUER="$PLINTH_IDP_ISSUER" \
      PLINTH_MODULES_DIR="$ROOT/examples/modules" \
      PLINTH_BUS__BROKERS="$PLINTH_KAFKA_BROKERS" \
      PLINTH_BUS__TOPIC_PREFIX="$prefix" \
      "${own[@]}" \
      "$ROOT/target/debug/plinth-runner" >"$SERVICES_DIR/$name.log" 2>&1 </dev/null) &
    echo $! >"$SERVICES_DIR/$name.pid"
    log "$name running (pid $(cat "$SERVICES_DIR/$name.pid")): the tickets of the tenants in $config"
  done
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
  local svc region name
  if running provider-fakes; then
    echo "  Providers   local servers of OpenAI http://127.0.0.1:8191/v1, Azure OpenAI http://127.0.0.1:8192, Anthropic http://127.0.0.1:8193/v1 (keys sk-demo-…)"
  fi
  for region in $REGIONS; do
    for svc in $(built_services | sort); do
      name=$(instance "$svc" "$region")
      if running "$name"; then
        echo "  Service     $name  http://127.0.0.1:$(port_of "$svc" "$region")  (region $region, log $SERVICES_DIR/$name.log)"
        echo "              metrics and health: http://127.0.0.1:$(( $(port_of "$svc" "$region") + 100 ))/{metrics,livez,readyz}"
      else
        echo "  Service     $name  not running"
      fi
    done
    name=$(instance runner "$region")
    if running "$name"; then
      echo "  Runner      $name  the reference runtime (region $region, log $SERVICES_DIR/$name.log)"
    fi
  done
}

# Every service instance that is built, with its region and the port of its
# operators' listener: `name region port` a line (for Prometheus).
targets() {
  local svc region
  for region in $REGIONS; do
    for svc in $(built_services | sort); do
      echo "$(instance "$svc" "$region") $region $(( $(port_of "$svc" "$region") + 100 ))"
    done
  done
}

"${1:-up}"
