#!/usr/bin/env bash
# Builds the Worker into build/ (what wrangler.toml's `main` points at). Also wrangler's build
# command. Set EDGE_CRM_PREBUILT=1 to reuse an existing build (the test harness builds once).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
if [ "${EDGE_CRM_PREBUILT:-}" = 1 ] && [ -f build/worker/shim.mjs ]; then
  exit 0
fi
# --no-opt: the only wasm-opt available here (Debian's binaryen 108) is too old for this output.
exec worker-build --release --no-opt
