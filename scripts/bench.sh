#!/usr/bin/env bash
# Runs the benchmark (tests/bench/main.rs): seeds a local store and prints figures.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
bash scripts/setup.sh
cargo test --locked --release --test bench "$@"
