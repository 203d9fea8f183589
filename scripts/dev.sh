#!/usr/bin/env bash
# Sets up and serves edge-crm locally: tools installed when missing, migrations applied to the
# local D1 database, a development key in .dev.vars (created and printed once), `wrangler dev` on
# http://127.0.0.1:8787 with local D1 and KV. Prints "ready" once the Worker answers GET /health.
# Extra arguments go to `wrangler dev` (keep the port: the readiness check polls 8787).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
bash scripts/setup.sh

if [ ! -f .dev.vars ]; then
  key="dev_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  password="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  umask 077
  printf 'API_KEYS=%s\nDASHBOARD_PASSWORD=%s\n' "$key" "$password" > .dev.vars
  echo "[dev] created .dev.vars with a development API key and dashboard password (shown once):"
  echo "[dev]   API key:            $key"
  echo "[dev]   dashboard password: $password"
else
  echo "[dev] using the API key and dashboard password in .dev.vars"
fi

# Pending migrations only (recorded in d1_migrations). A local store created earlier from
# schema.sql takes migration 0001 cleanly: it only adds what is missing.
echo "[dev] applying migrations/ to the local D1 database"
wrangler d1 migrations apply DB --local >/dev/null

base=http://127.0.0.1:8787
header=$(sed -n 's/^API_KEY_HEADER *= *"\(.*\)"/\1/p' wrangler.toml)
header=${header:-X-API-Key}
key=$(sed -n 's/^API_KEYS=//p' .dev.vars | cut -d, -f1)

# wrangler dev builds the Worker before it serves (minutes on a cold machine), so "ready" waits
# for the Worker itself: a watcher polls /health and stops when wrangler (this process, after
# exec) is gone. Ctrl-C reaches wrangler in the foreground as usual.
command -v curl >/dev/null || { echo "curl is missing: the readiness check needs it" >&2; exit 1; }
server_pid=$$
(
  started=$(date +%s)
  while kill -0 "$server_pid" 2>/dev/null; do
    status=$(curl -s -o /tmp/edge-crm-dev-health.$$ -w '%{http_code}' -m 2 -H "$header: $key" "$base/health" || true)
    if [ "$status" = 200 ]; then
      echo "[dev] ready on $base after $(( $(date +%s) - started ))s (try: curl -H \"$header: <key>\" $base/health)"
      break
    elif [ -n "$status" ] && [ "$status" != 000 ]; then
      echo "[dev] the Worker answers on $base, but /health says $status: $(cat /tmp/edge-crm-dev-health.$$)"
      break
    fi
    sleep 1
  done
  rm -f /tmp/edge-crm-dev-health.$$
) &

echo "[dev] starting wrangler dev on $base (it builds the Worker first; wait for \"ready\")"
exec wrangler dev --ip 127.0.0.1 --port 8787 --show-interactive-dev-session=false "$@"
