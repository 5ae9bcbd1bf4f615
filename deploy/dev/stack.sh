#!/usr/bin/env bash
# The local platform: PostgreSQL, the broker, the dev identity provider, and every
# service that exists.
#   stack.sh up | down | clean | status
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"

status() {
  echo
  echo "Plinth dev stack"
  echo "  PostgreSQL  $PLINTH_PG_HOST:$PLINTH_PG_PORT  owner role $PLINTH_PG_OWNER, app role $PLINTH_PG_APP"
  echo "              databases plinth_<service> (US) and plinth_<service>_eu (EU)"
  echo "  Kafka       $PLINTH_KAFKA_BROKERS  ($PLINTH_BROKER, data in $PLINTH_STATE_DIR/broker/)"
  if [ -f "$PLINTH_KAFKA_PRINCIPALS/partner.password" ]; then
    echo "              a principal per service (deploy/kafka/access.toml), passwords in $PLINTH_KAFKA_PRINCIPALS/"
    echo "  Partners    read-only, SASL_PLAINTEXT, SCRAM-SHA-512 (docs/partners.md):"
    echo "              US region  sasl.username=partner     sasl.password=$(cat "$PLINTH_KAFKA_PRINCIPALS/partner.password")  topics plinth.*.v1"
    echo "              EU region  sasl.username=partner-eu  sasl.password=$(cat "$PLINTH_KAFKA_PRINCIPALS/partner-eu.password")  topics eu.plinth.*.v1"
    echo "              consumer groups named partner.<purpose> (US) and eu.partner.<purpose> (EU)"
  fi
  "$DEV/idp.sh" status
  "$DEV/services.sh" status
  "$DEV/prometheus.sh" status
  echo "  Internal-token keys  $PLINTH_STATE_DIR/keys/internal-token.pem (US), internal-token-eu.pem (EU): dev only; each region's gateway signs with its own"
  if [ -f "$PLINTH_STATE_DIR/keys/audit-log.pub" ]; then
    echo "  Audit log keys      $PLINTH_STATE_DIR/keys/audit-log.pub (US), audit-log-eu.pub (EU)"
    echo "                      verify an export: target/debug/plinth-audit verify --export FILE --key $PLINTH_STATE_DIR/keys/audit-log.pub"
  fi
  echo
  echo "Log in with a browser (any password):"
  echo "  US region  $PLINTH_GATEWAY_US/   (the admin console; demo tenant acme)"
  echo "  EU region  $PLINTH_GATEWAY_EU/   (the admin console; demo tenant globex)"
  echo "  msp-admin      MSP platform admin: every tenant, registers tenants"
  echo "  msp-auditor    MSP platform auditor: reads every tenant and audit log"
  echo "  msp-operator   MSP operator bound to acme and globex only"
  echo "  acme-admin, acme-operator, acme-approver, acme-auditor, acme-integrations"
  echo "  globex-admin, globex-operator, globex-approver, globex-auditor, globex-integrations"
  echo "                 one user per tenant role (deploy/dev/idp/users.json)"
  echo "API clients: Authorization: Bearer <access token from $PLINTH_IDP_ISSUER> at the same URLs."
  echo "Packs: acme and globex run Finance 3.2.0 with a Tenant Pack and a linked playbook;"
  echo "  GET  /admin/packs/domain, /admin/packs/tenant/<tenant id>/active, /runtime/tenants/<tenant id>/config"
  echo "  POST /runtime/tenants/<tenant id>/classify  {\"ticket\":{\"fields\":{\"subject\":\"Invoice 4411 charged twice\",\"channel\":\"portal\"}}}"
  echo "  the example packs and how to import them: examples/packs/README.md"
  echo "Modules: the example releases signed with the dev release key (.dev-state/keys/module-release.key) and imported;"
  echo "  all approved but knowledge-summarizer 0.9.0, which is deployed all the same: drift at GET /admin/deployments;"
  echo "  the approved releases' tools are what packs may call: GET /admin/packs/tools"
  echo "  acme and globex run finance-dispute-assistant, enabled by their onboarding: GET /admin/tenant-modules/<tenant id>"
  echo "AI providers: acme has primary-openai (keyed through a delegated setup link, checked: ready) and azure-gpt4o waiting"
  echo "  for its key; globex primary-anthropic and openai-eu likewise. The waiting connections' setup links are printed above"
  echo "  ([demo] lines): open one without logging in and enter any key starting sk-demo-."
  echo "  GET /admin/providers/tenants/<tenant id>/connections; the runtime's side: docs/provider-setup.md"
  echo "  Connectors: each tenant's Service desk workspace has a HaloPSA connector (sign in as acme-integrations)"
  echo "Policy: the platform baseline is in force for both tenants, enrolled by their onboarding:"
  echo "  GET /admin/policies/tenants/<tenant id>/effective (with provenance); decisions at"
  echo "  POST /runtime/policy/tenants/<tenant id>/decisions; usage at GET /admin/policies/tenants/<tenant id>/usage (docs/policy.md)"
  echo "Runs: a runner per region (the reference runtime, docs/runner.md) runs each billing dispute submitted in Ops"
  echo "  (acme-operator, globex-operator) through invoice-dispute-triage 1.1.0 in the Accounts payable workspace;"
  echo "  the demo's dispute waits at its credit step for an approver ([demo] lines above): approve it in"
  echo "  Approvals as acme-approver (globex-approver), and the runner completes the run (Runs)"
  echo
  echo "Stop everything with: make down"
}

case "${1:-up}" in
  up)
    "$DEV/tools.sh"
    "$DEV/postgres.sh" up
    "$DEV/broker.sh" up
    "$DEV/idp.sh" up
    "$DEV/services.sh" up
    "$DEV/prometheus.sh" up
    "$PLINTH_TEST_PYTHON" "$DEV/seed.py"
    "$DEV/services.sh" runners
    "$PLINTH_TEST_PYTHON" "$DEV/seed.py" tickets
    status
    ;;
  down)
    "$DEV/prometheus.sh" down
    "$DEV/services.sh" down
    "$DEV/idp.sh" down
    "$DEV/broker.sh" down
    "$DEV/postgres.sh" down
    ;;
  clean)
    "$DEV/prometheus.sh" down
    "$DEV/services.sh" down
    "$DEV/idp.sh" down
    "$DEV/broker.sh" down
    "$DEV/postgres.sh" down
    rm -rf "$PLINTH_STATE_DIR"
    log "removed $PLINTH_STATE_DIR"
    ;;
  status) status ;;
  *) echo "usage: $0 up|down|clean|status" >&2; exit 2 ;;
esac
