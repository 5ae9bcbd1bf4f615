#!/usr/bin/env bash
# Build and test tools the project needs: clippy and rustfmt, the diesel CLI,
# cargo-nextest, OpenSSL headers, the mold linker when the distribution offers it
# (the linker wrapper falls back to the default linker), and a Python environment
# for the tests (compliance-trestle, fastavro, confluent-kafka), the
# dev identity provider's Node packages, and the browser the page tests drive
# (Chromium from the distribution, playwright-core from npm), and the AsyncAPI
# parser that validates the partner contract (npm), the admin console's packages
# (npm), and Prometheus with promtool
# (Debian).
set -euo pipefail
source "$(dirname "$0")/env.sh"

if ! command -v cargo >/dev/null 2>&1; then
  log "cargo is required (install Rust with rustup)"; exit 1
fi
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
  log "installing clippy and rustfmt (make test checks the code's form)"
  rustup component add clippy rustfmt >&2
fi
# The diesel CLI (PostgreSQL only): the schema test compares each service's
# schema.rs with what `diesel print-schema` prints. It links libpq.
if ! command -v diesel >/dev/null 2>&1; then
  if ! pkg-config --exists libpq 2>/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpq-dev >/dev/null 2>&1 \
      || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpq-dev >/dev/null; }
  fi
  log "installing the diesel CLI (the schema test; a few minutes once)"
  cargo install --locked --quiet diesel_cli --version "~2.3" --no-default-features --features postgres >&2
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked --quiet cargo-nextest >&2
fi
# The Kafka client is built against the distribution's OpenSSL (SASL/SCRAM needs it).
if ! pkg-config --exists openssl 2>/dev/null; then
  log "installing OpenSSL headers and pkg-config (the Kafka client's SASL/SCRAM)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config >/dev/null 2>&1 \
    || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config >/dev/null; }
fi
if ! command -v mold >/dev/null 2>&1; then
  log "installing the mold linker"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mold >/dev/null 2>&1 \
    || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mold >/dev/null; } \
    || log "mold unavailable; linking with the default linker"
fi

# Prometheus and promtool from the distribution: `make up` scrapes every service
# with it, `make test` unit-tests the alert rules with promtool.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  log "installing Prometheus (the dev stack's metrics and the alert rules' tests)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
    || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
fi

# The tests' Python packages, pinned in python-requirements.txt, in a venv of
# their own; reinstalled when the pins change.
venv=$PLINTH_STATE_DIR/python-venv
pins=$(dirname "$0")/python-requirements.txt
if ! cmp -s "$pins" "$venv/installed-requirements.txt" 2>/dev/null; then
  log "installing the tests' Python packages (compliance-trestle, fastavro)"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 \
      || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$pins" >&2
  cp "$pins" "$venv/installed-requirements.txt"
fi

# The dev identity provider's packages (oidc-provider), exactly as locked.
idp=$(dirname "$0")/idp
if ! cmp -s "$idp/package-lock.json" "$idp/node_modules/.installed-lock.json" 2>/dev/null; then
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing Node.js (the dev identity provider)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null 2>&1 \
      || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
  fi
  log "installing the dev identity provider's packages"
  (cd "$idp" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$idp/package-lock.json" "$idp/node_modules/.installed-lock.json"
fi

# The page tests' browser: the distribution's Chromium, driven by playwright-core.
if ! command -v chromium >/dev/null 2>&1; then
  log "installing Chromium (the page tests' browser)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
fi
browser=$(dirname "$0")/browser
if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.installed-lock.json" 2>/dev/null; then
  log "installing the page tests' packages (playwright-core)"
  (cd "$browser" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$browser/package-lock.json" "$browser/node_modules/.installed-lock.json"
fi

# The admin console's packages (React, Vite, TypeScript, Vitest, openapi-typescript),
# exactly as locked.
console=$ROOT/console
if ! cmp -s "$console/package-lock.json" "$console/node_modules/.installed-lock.json" 2>/dev/null; then
  log "installing the console's packages"
  (cd "$console" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$console/package-lock.json" "$console/node_modules/.installed-lock.json"
fi

# The AsyncAPI parser (and its Avro schema parser) that checks schemas/asyncapi.yaml.
asyncapi=$(dirname "$0")/asyncapi
if ! cmp -s "$asyncapi/package-lock.json" "$asyncapi/node_modules/.installed-lock.json" 2>/dev/null; then
  log "installing the AsyncAPI parser (the partner contract's check)"
  (cd "$asyncapi" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$asyncapi/package-lock.json" "$asyncapi/node_modules/.installed-lock.json"
fi
