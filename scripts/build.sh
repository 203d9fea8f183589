#!/usr/bin/env bash
# Builds the Worker into build/ (what wrangler.toml's `main` points at). Also wrangler's build
# command, so `wrangler dev` rebuilds when src/ changes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
# --no-opt: the only wasm-opt available here (Debian's binaryen 108) is too old for this output.
exec worker-build --release --no-opt
