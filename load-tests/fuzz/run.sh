#!/usr/bin/env bash
# Fuzzes every checked-in OpenAPI document through the US gateway of a running
# `make up` stack with schemathesis (PyPI), as a platform administrator and as a
# platform auditor (read-only): every response must be documented, match its
# schema and content type, and none may be a 5xx. Prints each run's counts; exits
# non-zero when a check fails. The fuzzer writes through the API: run it against a
# dev stack, not one whose data matters. Usage: load-tests/fuzz/run.sh [EXAMPLES]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/deploy/dev/env.sh"
GATEWAY=http://127.0.0.1:8080
EXAMPLES=${1:-25}
VENV=$PLINTH_STATE_DIR/fuzz-venv

curl -fs -o /dev/null "$GATEWAY/" \
  || { echo "no gateway at $GATEWAY: run \`make up\` first" >&2; exit 1; }
if [ ! -x "$VENV/bin/schemathesis" ]; then
  log "installing schemathesis into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/load-tests/fuzz/requirements.txt"
fi

# schemathesis keeps a cache in its working directory: the dev state's, not the
# repository.
cd "$PLINTH_STATE_DIR"
failed=0
for user in msp-admin msp-auditor; do
  token=$("$PLINTH_TEST_PYTHON" "$ROOT/load-tests/gateway/token.py" \
    "$PLINTH_IDP_ISSUER" "$user" "$GATEWAY/auth/callback" "$PLINTH_IDP_CLIENT_SECRET")
  for doc in "$ROOT"/schemas/openapi/*.json; do
    out=$PLINTH_STATE_DIR/fuzz-$user-$(basename "$doc" .json).log
    # MSP staff have a rate limit of their own (50/s by default): stay under it.
    if "$VENV/bin/schemathesis" run "$doc" -u "$GATEWAY" \
        -H "Authorization: Bearer $token" \
        -c not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        -n "$EXAMPLES" --continue-on-failure --rate-limit 40/s >"$out" 2>&1; then
      verdict=passed
    else
      verdict=FAILED failed=1
    fi
    echo "$user $(basename "$doc"): $(grep -E '^  [0-9]+ generated' "$out" | sed 's/^ *//') — $verdict ($out)"
  done
done
exit $failed
