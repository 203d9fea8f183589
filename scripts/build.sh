#!/usr/bin/env bash
# Builds the Worker into build/ (what wrangler.toml's `main` points at). Also wrangler's build
# command, so `wrangler dev` and `wrangler deploy` rebuild when src/ changes.
#
# The wasm is optimised for size with `wasm-opt -Oz` from the npm package `binaryen` (pinned in
# package-lock.json, installed by scripts/setup.sh), not with worker-build's own optimiser (hence
# --no-opt), which would need a system wasm-opt (Debian's is too old for this output). wasm-opt
# takes half a minute to a minute, so its result is kept in target/wasm-opt/ by the hash of its input: a
# rebuild with no change in the Rust code reuses it. WASM_OPT=off skips it (a faster edit loop;
# never for a deploy).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
worker-build --release --no-opt

wasm=build/index_bg.wasm
if [ "${WASM_OPT:-on}" = off ]; then
  echo "[build] WASM_OPT=off: $wasm is not optimised"
  exit 0
fi
command -v wasm-opt >/dev/null || { echo "wasm-opt is missing: run bash scripts/setup.sh (npm ci installs binaryen)" >&2; exit 1; }
# The features the Rust target and wasm-bindgen use; wasm-opt refuses input that uses others, so
# a new one shows up here as a failed build rather than as a Worker that fails to load.
features=(--enable-bulk-memory --enable-multivalue --enable-mutable-globals --enable-nontrapping-float-to-int
  --enable-reference-types --enable-sign-ext --enable-exception-handling)
cache=target/wasm-opt
mkdir -p "$cache"
key=$( (wasm-opt --version; echo "${features[*]} -Oz"; cat "$wasm") | sha256sum | cut -d' ' -f1)
if [ ! -f "$cache/$key.wasm" ]; then
  started=$(date +%s)
  wasm-opt -Oz "${features[@]}" "$wasm" -o "$cache/$key.wasm.tmp"
  mv "$cache/$key.wasm.tmp" "$cache/$key.wasm"
  echo "[build] wasm-opt -Oz: $(stat -c %s "$wasm") -> $(stat -c %s "$cache/$key.wasm") bytes in $(( $(date +%s) - started ))s"
  # Only the newest result is worth keeping.
  find "$cache" -name '*.wasm' ! -name "$key.wasm" -delete
else
  echo "[build] wasm-opt -Oz: unchanged input, $(stat -c %s "$cache/$key.wasm") bytes from $cache/"
fi
cp "$cache/$key.wasm" "$wasm"
