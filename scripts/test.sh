#!/usr/bin/env bash
# Sets up and runs every test: native unit tests of the pure core, the schema and SQL check, and
# the end-to-end suite against the real Worker under `wrangler dev` (which builds the Worker once
# and starts and stops its own servers). Extra arguments go to `cargo test`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
started=$(date +%s)
bash scripts/setup.sh
cargo test --locked "$@"
echo "[test] all tests passed in $(( $(date +%s) - started ))s"
