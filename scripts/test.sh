#!/usr/bin/env bash
# Sets up and runs every test: native unit tests of the pure core, the schema and SQL check, and
# the end-to-end suite against the real Worker under `wrangler dev` (which builds the Worker once
# and starts and stops its own servers). Extra arguments go to `cargo test`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
started=$(date +%s)
bash scripts/setup.sh
# The benchmark is not a test (it prints figures, asserts nothing), but it shares the harness:
# build it, so a change there cannot leave it broken.
cargo test --locked --no-run --test bench
cargo test --locked "$@"
echo "[test] all tests passed in $(( $(date +%s) - started ))s"
