#!/usr/bin/env bash
# PostgreSQL for the dev stack: use the running server; otherwise start an installed
# cluster; otherwise install PostgreSQL from the distribution and start it. Then
# create the owner and app roles and one database per service. Idempotent.
#   postgres.sh up     make sure it runs and is set up
#   postgres.sh down   stop it, only if this script started it
set -euo pipefail
source "$(dirname "$0")/env.sh"
STARTED_MARK=$PLINTH_STATE_DIR/postgres.started

ready() { pg_isready -q -h "$PLINTH_PG_HOST" -p "$PLINTH_PG_PORT"; }

cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

start_cluster() {
  local version; version=$(cluster_version)
  [ -n "$version" ] || return 1
  log "starting PostgreSQL $version cluster"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  touch "$STARTED_MARK"
}

install_postgres() {
  log "installing PostgreSQL from the distribution's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

psql_admin() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- env PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
  else
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -h "$PLINTH_PG_HOST" -p "$PLINTH_PG_PORT" -U postgres -d postgres "$@"
  fi
}

setup_roles_and_databases() {
  psql_admin <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PLINTH_PG_OWNER') THEN
    CREATE ROLE $PLINTH_PG_OWNER;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PLINTH_PG_APP') THEN
    CREATE ROLE $PLINTH_PG_APP;
  END IF;
END
\$\$;
ALTER ROLE $PLINTH_PG_OWNER LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS PASSWORD '$PLINTH_PG_PASSWORD';
ALTER ROLE $PLINTH_PG_APP LOGIN NOCREATEDB NOSUPERUSER NOBYPASSRLS PASSWORD '$PLINTH_PG_PASSWORD';
-- Lets the owner drop a test database while app-role connections are still open.
GRANT pg_signal_backend TO $PLINTH_PG_OWNER;
SQL
  for db in $PLINTH_DATABASES; do
    psql_admin <<SQL
SELECT 'CREATE DATABASE $db OWNER $PLINTH_PG_OWNER'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \gexec
SQL
  done
}

up() {
  if ! ready; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(cluster_version)" ]; then
      install_postgres
    fi
    ready || start_cluster
    wait_for 60 ready || { log "PostgreSQL did not become ready"; exit 1; }
  fi
  setup_roles_and_databases
  log "PostgreSQL ready on $PLINTH_PG_HOST:$PLINTH_PG_PORT (roles $PLINTH_PG_OWNER, $PLINTH_PG_APP)"
}

down() {
  if [ -f "$STARTED_MARK" ]; then
    log "stopping the PostgreSQL cluster this stack started"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(cluster_version)" main stop || true
    rm -f "$STARTED_MARK"
  fi
}

"${1:-up}"
