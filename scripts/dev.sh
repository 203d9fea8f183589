#!/usr/bin/env bash
# Sets up and serves edge-crm locally: tools installed when missing, schema applied to the local
# D1 database, a development key in .dev.vars (created and printed once), `wrangler dev` on
# http://127.0.0.1:8787 with local D1 and KV. Extra arguments go to `wrangler dev`.
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

echo "[dev] applying schema.sql to the local D1 database"
wrangler d1 execute DB --local --file schema.sql >/dev/null

echo "[dev] serving on http://127.0.0.1:8787  (try: curl -H \"X-API-Key: <key>\" http://127.0.0.1:8787/health)"
exec wrangler dev --ip 127.0.0.1 --port 8787 --show-interactive-dev-session=false "$@"
