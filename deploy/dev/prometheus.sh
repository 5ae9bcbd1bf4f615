#!/usr/bin/env bash
# The dev Prometheus (Debian's) on 127.0.0.1:$PLINTH_PROMETHEUS_PORT, scraping the
# operators' listener of every service of both regions, with the alert rules of
# deploy/observability/. Its configuration and data are under .dev-state/prometheus/.
# Idempotent; `up` returns once every target is up.
#   prometheus.sh up | down | status
set -euo pipefail
source "$(dirname "$0")/env.sh"
STATE=$PLINTH_STATE_DIR/prometheus
PIDFILE=$STATE/prometheus.pid
URL=http://127.0.0.1:$PLINTH_PROMETHEUS_PORT
mkdir -p "$STATE"

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# One scrape job per service instance, named as the instance (`gateway`,
# `gateway-eu`), labelled with its region.
config() {
  cat <<YAML
# Written by deploy/dev/prometheus.sh from the running services; do not edit.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $ROOT/deploy/observability/alerts.yml
scrape_configs:
YAML
  local name region port
  while read -r name region port; do
    cat <<YAML
  - job_name: $name
    static_configs:
      - targets: ["127.0.0.1:$port"]
        labels: { region: $region }
YAML
  done < <("$(dirname "$0")/services.sh" targets)
}

# Every target's health, `job health` a line.
health() {
  python3 - "$URL/api/v1/targets?state=active" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as answer:
    for t in json.load(answer)["data"]["activeTargets"]:
        print(t["labels"]["job"], t["health"], t.get("lastError", ""))
PY
}

all_up() {
  local found; found=$(health) || return 1
  [ -n "$found" ] && ! grep -qv ' up ' <<<"$found"
}

up() {
  config >"$STATE/prometheus.yml"
  promtool check config "$STATE/prometheus.yml" >/dev/null
  if running; then
    # Picks up the targets of services started since.
    kill -HUP "$(cat "$PIDFILE")"
  else
    if port_open 127.0.0.1 "$PLINTH_PROMETHEUS_PORT"; then
      log "port $PLINTH_PROMETHEUS_PORT is taken by another process; set PLINTH_PROMETHEUS_PORT"
      exit 1
    fi
    (exec setsid prometheus --config.file="$STATE/prometheus.yml" \
      --storage.tsdb.path="$STATE/data" --storage.tsdb.retention.time=7d \
      --web.listen-address="127.0.0.1:$PLINTH_PROMETHEUS_PORT" \
      >"$STATE/prometheus.log" 2>&1 </dev/null) &
    echo $! >"$PIDFILE"
  fi
  if ! wait_for 60 all_up; then
    log "not every Prometheus target is up; see $URL/targets and $STATE/prometheus.log"
    health >&2 || tail -n 20 "$STATE/prometheus.log" >&2 || true
    exit 1
  fi
  log "Prometheus running (pid $(cat "$PIDFILE")) on $URL: $(health | wc -l) targets, every one up"
}

down() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    wait_for 15 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    log "Prometheus stopped"
  fi
  rm -f "$PIDFILE"
}

status() {
  if running; then
    echo "  Prometheus  $URL  ($(health | grep -c ' up ') of $(health | wc -l) targets up; alerts at $URL/alerts, rules in deploy/observability/)"
  else
    echo "  Prometheus  not running"
  fi
}

"${1:-up}"
