# Sourced by the other scripts: the environment every build and wrangler call runs in.
# worker-build would otherwise try to download wasm-bindgen and esbuild from the internet.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$cargo_bin:$repo_root/node_modules/.bin:$PATH"
export WASM_BINDGEN_BIN="$cargo_bin/wasm-bindgen"
export ESBUILD_BIN="$repo_root/node_modules/.bin/esbuild"
export WRANGLER_SEND_METRICS=false
export CI="${CI:-true}"   # wrangler: no interactive prompts
