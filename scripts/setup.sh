#!/usr/bin/env bash
# Installs what building and running edge-crm needs, each tool only when it is missing or of the
# wrong version, so a second run on a warm machine takes seconds. Downloads come from crates.io
# and the npm registry only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"

WORKER_BUILD_VERSION=0.8.7
# wasm-bindgen's CLI must equal the library version that Cargo.lock resolved.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

step() { printf '[setup] %s\n' "$*"; }

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 or later first" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(worker-build --version 2>/dev/null)" != "$WORKER_BUILD_VERSION" ]; then
  step "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --force
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: its lockfile names a crate version the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# The browser tests of the pages (tests/e2e/pages.rs, merge_pages.rs) drive Debian's Chromium,
# headless, directly and through ChromeDriver (the package of the same version). Where apt-get
# cannot run (another OS, or not root), say so instead: serving locally does not need them.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    step "installing Debian's chromium and chromium-driver for the browser tests (a minute, once)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    step "chromium or chromedriver is missing: the browser tests need them (on Debian, as root: apt-get install chromium chromium-driver)"
  fi
fi

# node_modules is reinstalled only when package-lock.json changed since the last install.
stamp=node_modules/.edge-crm-lock
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/wrangler ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "installing wrangler and binaryen (wasm-opt) from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
step "ready: $(worker-build --version | sed 's/^/worker-build /'), $(wasm-bindgen --version), wrangler $(wrangler --version 2>/dev/null | tail -n1), $(wasm-opt --version)"
