#!/usr/bin/env bash
# The gateway against Debian's nginx in front of the same backend, on this
# machine, in one run (docs/PERFORMANCE.md):
#   throughput  wrk, 2 threads, 64 connections, 20 s, through nginx's plain
#               proxy_pass, then through the gateway (bearer JWT validation,
#               RBAC, the tenant's rate limit, the internal token, the proxy);
#   latency     wrk paced to about 1,000 requests/s (10 connections, each
#               waiting 10 ms after each answer), 20 s, straight to the backend,
#               through nginx, and through the gateway: p50 and p99.
# The backend is nginx answering a fixed JSON body. The gateway is the release
# build. Prints the figures and the ratios; exits non-zero when a target is
# missed (throughput ≥ 0.85 of nginx, added p99 ≤ 1 ms).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEV=$ROOT/deploy/dev
source "$DEV/env.sh"
HERE=$ROOT/load-tests/gateway
WORK=$PLINTH_STATE_DIR/bench-gateway
DURATION=${PLINTH_BENCH_SECONDS:-20}
BACKEND_PORT=18301 NGINX_PORT=18302 GATEWAY_PORT=18303 IDP_PORT=18304
rm -rf "$WORK" && mkdir -p "$WORK"

for tool in nginx wrk; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    log "installing $tool"
    pkg=$tool; [ "$tool" = nginx ] && pkg=nginx-light
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 \
      || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }
  fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

start_private_broker bench-gateway-broker "${PLINTH_BENCH_GATEWAY_KAFKA_PORT:-19097}"
# Stops what this run started, and the broker as start_private_broker would.
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  "$DEV/broker.sh" down
  rm -rf "$PLINTH_BROKER_DIR"
}
trap cleanup EXIT

# The backend and the nginx proxy: one nginx, two servers.
cat >"$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$BACKEND_PORT;
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK"
wait_for 10 port_open 127.0.0.1 "$NGINX_PORT"

# The identity provider, of this run only.
(cd "$DEV/idp" && exec env PLINTH_IDP_PORT=$IDP_PORT PLINTH_IDP_STATE="$WORK/idp" \
  PLINTH_IDP_ISSUER="http://127.0.0.1:$IDP_PORT" \
  PLINTH_IDP_REDIRECT_URIS="http://127.0.0.1:$GATEWAY_PORT/auth/callback" \
  PLINTH_IDP_CLIENT_SECRET=bench-secret node server.mjs >"$WORK/idp.log" 2>&1) &
PIDS+=($!)
wait_for 30 port_open 127.0.0.1 "$IDP_PORT"

log "building the gateway (release)"
(cd "$ROOT" && cargo build --release --quiet -p gateway)
openssl genpkey -algorithm ED25519 -out "$WORK/internal-token.pem" 2>/dev/null
cat >"$WORK/gateway.toml" <<CONF
[[routes]]
prefix = "/admin/bench"
upstream = "http://127.0.0.1:$BACKEND_PORT"
audience = "bench"
CONF
mapfile -t SASL < <(bus_principal_env admin)
env PLINTH_CONFIG="$WORK/gateway.toml" PLINTH_HTTP__PORT=$GATEWAY_PORT "${SASL[@]}" \
  PLINTH_OIDC__ISSUER="http://127.0.0.1:$IDP_PORT" \
  PLINTH_INTERNAL_TOKEN__PRIVATE_KEY_PEM="$(cat "$WORK/internal-token.pem")" \
  PLINTH_LOGIN__ENABLED=false PLINTH_RATE_LIMITS__DEFAULT_PER_SECOND=1000000000 PLINTH_RATE_LIMITS__CALLER_PER_SECOND=1000000000 \
  PLINTH_BUS__BROKERS="$PLINTH_KAFKA_BROKERS" PLINTH_BUS__TOPIC_PREFIX=bench. \
  RUST_LOG=warn "$ROOT/target/release/gateway" >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
wait_for 60 port_open 127.0.0.1 "$GATEWAY_PORT" || { tail "$WORK/gateway.log"; exit 1; }

TOKEN=$(python3 "$HERE/token.py" "http://127.0.0.1:$IDP_PORT" msp-admin \
  "http://127.0.0.1:$GATEWAY_PORT/auth/callback" bench-secret)
# A path naming a tenant: the gateway checks the caller's role there and takes
# the request from that tenant's allowance.
PATH_=/admin/bench/tenants/ten_us_0123456789abcdef0123456789abcdef/ping
check=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$GATEWAY_PORT$PATH_")
[ "$check" = 200 ] || { echo "the gateway answered $check" >&2; exit 1; }

auth=(-H "Authorization: Bearer $TOKEN")
throughput() { # url → requests/s
  wrk -t2 -c64 -d"${DURATION}s" "${auth[@]}" "$1" | awk '/^Requests\/sec/ {print $2}'
}
paced() { # url → "rate p50_ms p99_ms"
  PACE_DELAY_MS=10 wrk -t1 -c10 -d"${DURATION}s" --latency -s "$HERE/pace.lua" "${auth[@]}" "$1" \
    | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /^ +50%/ {p50 = ms($2)} /^ +99%/ {p99 = ms($2)} /^Requests\/sec/ {rate = $2}
        END {printf "%s %.3f %.3f\n", rate, p50, p99}'
}

backend=http://127.0.0.1:$BACKEND_PORT$PATH_
nginx=http://127.0.0.1:$NGINX_PORT$PATH_
gateway=http://127.0.0.1:$GATEWAY_PORT$PATH_
log "warming up"
wrk -t2 -c64 -d5s "${auth[@]}" "$nginx" >/dev/null
wrk -t2 -c64 -d5s "${auth[@]}" "$gateway" >/dev/null
log "throughput, ${DURATION}s each"
nginx_rps=$(throughput "$nginx")
gateway_rps=$(throughput "$gateway")
log "latency at about 1,000 requests/s, ${DURATION}s each"
read -r backend_rate backend_p50 backend_p99 <<<"$(paced "$backend")"
read -r nginx_rate nginx_p50 nginx_p99 <<<"$(paced "$nginx")"
read -r gateway_rate gateway_p50 gateway_p99 <<<"$(paced "$gateway")"

python3 - "$nginx_rps" "$gateway_rps" "$backend_rate" "$backend_p50" "$backend_p99" \
  "$nginx_rate" "$nginx_p50" "$nginx_p99" "$gateway_rate" "$gateway_p50" "$gateway_p99" <<'PY'
import sys
(n_rps, g_rps, b_rate, b50, b99, n_rate, n50, n99, g_rate, g50, g99) = map(float, sys.argv[1:])
ratio = g_rps / n_rps
added = g99 - n99
print(f"throughput  nginx proxy_pass {n_rps:,.0f} req/s   gateway {g_rps:,.0f} req/s   ratio {ratio:.2f} (target >= 0.85)")
print(f"paced       backend {b_rate:,.0f} req/s p50 {b50:.3f} ms p99 {b99:.3f} ms")
print(f"            nginx   {n_rate:,.0f} req/s p50 {n50:.3f} ms p99 {n99:.3f} ms")
print(f"            gateway {g_rate:,.0f} req/s p50 {g50:.3f} ms p99 {g99:.3f} ms")
print(f"added p99 over nginx {added:.3f} ms (target <= 1 ms); over the backend alone {g99 - b99:.3f} ms")
sys.exit(0 if ratio >= 0.85 and added <= 1.0 else 1)
PY
