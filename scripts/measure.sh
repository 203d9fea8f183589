#!/usr/bin/env bash
# Measures the built Worker (build/, from `npm run build`, or the directory given): the size of its wasm, raw and gzip
# (Cloudflare's size limit counts the compressed Worker), and a cold start: the time from starting
# `wrangler dev` to the first `200` on GET /health (workerd loads and compiles the wasm, then the
# request runs a real D1 query), the median of RUNS runs (default 5). The request that got the
# first 200, and the one after it, are also timed on their own. Builds nothing and changes nothing in the checkout: its state lives in a
# temporary directory it removes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
runs=${RUNS:-5}
# Another build directory (a copy of build/ kept from an earlier build) may be given to compare.
dir=${1:-build}
wasm=$dir/index_bg.wasm
[ -f "$wasm" ] || { echo "no $wasm: run npm run build first" >&2; exit 1; }

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
awk -v raw="$raw" -v gz="$gz" 'BEGIN { printf "[measure] wasm: %d bytes (%.2f MB), gzip -9: %d bytes (%.0f KB)\n", raw, raw / 1e6, gz, gz / 1e3 }'

# wrangler dev on a snapshot of build/ whose configuration has no build step, so nothing rebuilds.
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
cp -r "$dir" "$tmp/build"
cp -r migrations "$tmp/"
awk '/^\[/ { skip = ($0 == "[build]") } !skip' wrangler.toml > "$tmp/wrangler.toml"
key="measure_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'API_KEYS=%s\n' "$key" > "$tmp/secrets.env"
export WRANGLER_SEND_METRICS=false CI=true
wrangler d1 migrations apply DB --local -c "$tmp/wrangler.toml" --persist-to "$tmp/state" >/dev/null 2>&1
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
times=()
firsts=()
warm=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  setsid wrangler dev -c "$tmp/wrangler.toml" --ip 127.0.0.1 --port "$port" --persist-to "$tmp/state" \
    --env-file "$tmp/secrets.env" --show-interactive-dev-session=false >"$tmp/dev.log" 2>&1 &
  pid=$!
  health() { curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "X-API-Key: $key" "http://127.0.0.1:$port/health"; }
  until answer=$(health) && [ "${answer%% *}" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/dev.log" >&2; echo "wrangler dev exited" >&2; exit 1; }
    if [ $(( ($(date +%s%N) - start) / 1000000000 )) -gt 120 ]; then cat "$tmp/dev.log" >&2; echo "no 200 within 120 s" >&2; exit 1; fi
    sleep 0.05
  done
  times+=($(( ($(date +%s%N) - start) / 1000000 )))
  firsts+=($(awk -v t="${answer#* }" 'BEGIN { printf "%.0f", t * 1000 }'))
  answer=$(health)
  warm+=($(awk -v t="${answer#* }" 'BEGIN { printf "%.0f", t * 1000 }'))
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
done
echo "[measure] wrangler dev start to first 200 on /health: $(printf '%s\n' "${times[@]}" | median) ms (median of $runs: ${times[*]})"
echo "[measure] that first 200 took $(printf '%s\n' "${firsts[@]}" | median) ms; the next request $(printf '%s\n' "${warm[@]}" | median) ms (medians)"
