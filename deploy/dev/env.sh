# Shared settings of the local dev stack; sourced by the other scripts.
# Every value can be overridden from the environment.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PLINTH_STATE_DIR=${PLINTH_STATE_DIR:-$ROOT/.dev-state}

export PLINTH_PG_HOST=${PLINTH_PG_HOST:-127.0.0.1}
export PLINTH_PG_PORT=${PLINTH_PG_PORT:-5432}
# The role that owns the service databases and runs migrations, and the role the
# services run as: not an owner, no BYPASSRLS, so row-level security applies.
export PLINTH_PG_OWNER=${PLINTH_PG_OWNER:-plinth_owner}
export PLINTH_PG_APP=${PLINTH_PG_APP:-plinth_app}
export PLINTH_PG_PASSWORD=${PLINTH_PG_PASSWORD:-plinth}

export PLINTH_KAFKA_PORT=${PLINTH_KAFKA_PORT:-19092}
export PLINTH_KAFKA_BROKERS=${PLINTH_KAFKA_BROKERS:-127.0.0.1:$PLINTH_KAFKA_PORT}
# The dev broker: Apache Kafka (kafka) or Tansu (tansu); see deploy/dev/broker.sh.
export PLINTH_BROKER=${PLINTH_BROKER:-kafka}
export TANSU_VERSION=${TANSU_VERSION:-0.6.0}
# The dev broker's principals and their passwords (deploy/kafka/access.toml).
export PLINTH_KAFKA_PRINCIPALS=${PLINTH_KAFKA_PRINCIPALS:-${PLINTH_BROKER_DIR:-$PLINTH_STATE_DIR/broker}/principals}

# The dev identity provider (deploy/dev/idp).
export PLINTH_IDP_PORT=${PLINTH_IDP_PORT:-19080}
export PLINTH_IDP_ISSUER=${PLINTH_IDP_ISSUER:-http://127.0.0.1:$PLINTH_IDP_PORT}
# The gateways' client at the dev identity provider (its secret is a dev value).
export PLINTH_IDP_CLIENT_SECRET=${PLINTH_IDP_CLIENT_SECRET:-plinth-dev-gateway-secret}
# The gateways of the two regions, as people's browsers reach them.
export PLINTH_GATEWAY_US=${PLINTH_GATEWAY_US:-http://127.0.0.1:8080}
export PLINTH_GATEWAY_EU=${PLINTH_GATEWAY_EU:-http://127.0.0.1:9080}

# The dev Prometheus, scraping every service of both regions (deploy/dev/prometheus.sh).
export PLINTH_PROMETHEUS_PORT=${PLINTH_PROMETHEUS_PORT:-9090}

# One database per service, per region: the US region's are plinth_<service>, the
# EU region's plinth_<service>_eu (in production each region has its own server).
PLINTH_SERVICES="tenant_registry pack_service module_catalog provider_setup policy audit"
PLINTH_DATABASES=""
for _svc in $PLINTH_SERVICES; do PLINTH_DATABASES="$PLINTH_DATABASES plinth_$_svc plinth_${_svc}_eu"; done
unset _svc

# What the tests read.
export PLINTH_TEST_PG_OWNER_URL=${PLINTH_TEST_PG_OWNER_URL:-postgres://$PLINTH_PG_OWNER:$PLINTH_PG_PASSWORD@$PLINTH_PG_HOST:$PLINTH_PG_PORT}
export PLINTH_TEST_PG_APP_URL=${PLINTH_TEST_PG_APP_URL:-postgres://$PLINTH_PG_APP:$PLINTH_PG_PASSWORD@$PLINTH_PG_HOST:$PLINTH_PG_PORT}
export PLINTH_TEST_KAFKA=${PLINTH_TEST_KAFKA:-$PLINTH_KAFKA_BROKERS}
# The broker's principals (`<name>.password`, deploy/dev/broker.sh): the tests connect
# as its super user, and as services' principals to check the ACLs.
export PLINTH_TEST_KAFKA_PRINCIPALS=${PLINTH_TEST_KAFKA_PRINCIPALS:-$PLINTH_KAFKA_PRINCIPALS}
# The tests' Python (tools.sh): compliance-trestle validates OSCAL exports, fastavro
# checks Avro fingerprints and decodes events as a partner would.
export PLINTH_TEST_PYTHON=${PLINTH_TEST_PYTHON:-$PLINTH_STATE_DIR/python-venv/bin/python}

mkdir -p "$PLINTH_STATE_DIR"

log() { printf '[dev] %s\n' "$*" >&2; }

# Waits until "$@" succeeds, for at most $1 seconds.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}

# The settings that make a service connect to the dev broker as principal $1, one
# NAME=value a line; none for a broker without authentication (Tansu).
bus_principal_env() {
  local file=$PLINTH_KAFKA_PRINCIPALS/$1.password
  [ -f "$file" ] || return 0
  printf '%s\n' "PLINTH_BUS__SASL__USERNAME=$1" "PLINTH_BUS__SASL__PASSWORD=$(cat "$file")" \
    PLINTH_BUS__SASL__PROTOCOL=SASL_PLAINTEXT
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Starts a broker of the caller's own, on port $2 with empty storage under
# .dev-state/$1, points the tests at it, and stops and removes it when the calling
# script exits, so a test or benchmark run never depends on what earlier runs left
# behind.
start_private_broker() {
  export PLINTH_KAFKA_PORT=$2
  export PLINTH_KAFKA_CONTROLLER_PORT=$(( $2 + 1000 ))
  export PLINTH_KAFKA_BROKERS=127.0.0.1:$PLINTH_KAFKA_PORT
  export PLINTH_TEST_KAFKA=$PLINTH_KAFKA_BROKERS
  export PLINTH_BROKER_DIR=$PLINTH_STATE_DIR/$1
  export PLINTH_KAFKA_PRINCIPALS=$PLINTH_BROKER_DIR/principals
  export PLINTH_TEST_KAFKA_PRINCIPALS=$PLINTH_KAFKA_PRINCIPALS
  local broker; broker="$ROOT/deploy/dev/broker.sh"
  "$broker" down
  rm -rf "$PLINTH_BROKER_DIR"
  trap '"'"$broker"'" down; rm -rf "$PLINTH_BROKER_DIR"' EXIT
  "$broker" up
}
