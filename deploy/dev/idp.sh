#!/usr/bin/env bash
# The dev identity provider (deploy/dev/idp: oidc-provider with demo users) on
# 127.0.0.1:$PLINTH_IDP_PORT, its keys under .dev-state/idp/. Idempotent.
#   idp.sh up | down | status
set -euo pipefail
source "$(dirname "$0")/env.sh"
IDP_DIR=$ROOT/deploy/dev/idp
STATE=$PLINTH_STATE_DIR/idp
PIDFILE=$STATE/idp.pid
mkdir -p "$STATE"

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

up() {
  if running; then
    log "identity provider already running (pid $(cat "$PIDFILE")) on $PLINTH_IDP_ISSUER"
    return
  fi
  if port_open 127.0.0.1 "$PLINTH_IDP_PORT"; then
    log "port $PLINTH_IDP_PORT is taken by another process; set PLINTH_IDP_PORT"
    exit 1
  fi
  (cd "$IDP_DIR" && exec setsid env PLINTH_IDP_PORT="$PLINTH_IDP_PORT" \
    PLINTH_IDP_ISSUER="$PLINTH_IDP_ISSUER" PLINTH_IDP_STATE="$STATE" \
    PLINTH_IDP_CLIENT_SECRET="$PLINTH_IDP_CLIENT_SECRET" \
    PLINTH_IDP_REDIRECT_URIS="$PLINTH_GATEWAY_US/auth/callback,$PLINTH_GATEWAY_EU/auth/callback" \
    PLINTH_IDP_LOGOUT_URIS="$PLINTH_GATEWAY_US/,$PLINTH_GATEWAY_EU/" \
    node server.mjs >"$STATE/idp.log" 2>&1 </dev/null) &
  echo $! >"$PIDFILE"
  if ! wait_for 30 port_open 127.0.0.1 "$PLINTH_IDP_PORT"; then
    log "the identity provider did not start; see $STATE/idp.log"
    tail -n 20 "$STATE/idp.log" >&2 || true
    exit 1
  fi
  log "identity provider running (pid $(cat "$PIDFILE")) on $PLINTH_IDP_ISSUER"
}

down() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    wait_for 15 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    log "identity provider stopped"
  fi
  rm -f "$PIDFILE"
}

status() {
  if running; then
    echo "  IdP         $PLINTH_IDP_ISSUER  (oidc-provider, demo users in deploy/dev/idp/users.json)"
  else
    echo "  IdP         not running"
  fi
}

"${1:-up}"
