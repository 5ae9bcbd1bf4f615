#!/usr/bin/env bash
# Build and test tools the project needs: cargo-nextest, and the mold linker when
# the distribution offers it (the linker wrapper falls back to the default linker).
set -euo pipefail
source "$(dirname "$0")/env.sh"

if ! command -v cargo >/dev/null 2>&1; then
  log "cargo is required (install Rust with rustup)"; exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked --quiet cargo-nextest >&2
fi
if ! command -v mold >/dev/null 2>&1; then
  log "installing the mold linker"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mold >/dev/null 2>&1 \
    || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mold >/dev/null; } \
    || log "mold unavailable; linking with the default linker"
fi
