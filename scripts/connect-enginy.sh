#!/usr/bin/env bash
# Connects a deployed edge-crm to Enginy through Enginy's public API (Custom CRM):
#   1. GET <baseUrl>/health with the CRM key (the deployment answers and the key works),
#   2. POST <Enginy>/v1/custom-crm/test    {baseUrl, apiKey, apiKeyHeader},
#   3. POST <Enginy>/v1/custom-crm/connect {baseUrl, apiKey, apiKeyHeader, contactLinkTemplate,
#      companyLinkTemplate}, only when the test succeeded,
#   4. GET  <Enginy>/v1/custom-crm/status.
# The JSON is built from the deployment's settings in wrangler.toml: PUBLIC_URL (or --base-url)
# and API_KEY_HEADER; the link templates point at the record pages (/view/contact/{{crmId}},
# /view/company/{{crmId}}), which need DASHBOARD_PASSWORD set on the deployment.
#
# Keys come from the environment, never from arguments (arguments show in `ps`):
#   EDGE_CRM_API_KEY  one of the deployment's API_KEYS (required)
#   ENGINY_API_KEY    your Enginy API key (required unless --dry-run)
#   ENGINY_API_URL    Enginy's public API (default https://openapi.enginy.ai)
#
# Usage: scripts/connect-enginy.sh [--dry-run] [--base-url URL] [--config wrangler.toml] [--no-links]
#   --dry-run   print the requests (keys masked) instead of sending them
#   --no-links  leave the link templates out (Enginy then offers no "Open in CRM")
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

dry_run=false
links=true
base_url=""
config="$repo_root/wrangler.toml"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --no-links) links=false ;;
    --base-url) base_url="${2:?--base-url needs a URL}"; shift ;;
    --base-url=*) base_url="${1#*=}" ;;
    --config) config="${2:?--config needs a path}"; shift ;;
    --config=*) config="${1#*=}" ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "connect-enginy: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "connect-enginy: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is missing (Node.js 20 or later, as for wrangler)"
[ -f "$config" ] || fail "no $config"

# A [vars] entry of wrangler.toml: NAME = "value".
var() { sed -n "s/^$1 *= *\"\\(.*\\)\" *\$/\\1/p" "$config" | head -n1; }

[ -n "$base_url" ] || base_url=$(var PUBLIC_URL)
[ -n "$base_url" ] || fail "no base URL: set PUBLIC_URL in $config (and deploy), or pass --base-url https://edge-crm.<your-subdomain>.workers.dev"
base_url="${base_url%/}"
case "$base_url" in
  https://?*) ;;
  *) fail "the base URL must start with https:// (Enginy calls it over the internet), got $base_url" ;;
esac
header=$(var API_KEY_HEADER)
header="${header:-X-API-Key}"

crm_key="${EDGE_CRM_API_KEY:-}"
[ -n "$crm_key" ] || fail "set EDGE_CRM_API_KEY to one of the deployment's API_KEYS"
[ "${#crm_key}" -ge 16 ] || fail "EDGE_CRM_API_KEY is shorter than 16 characters: it cannot be one of API_KEYS"
enginy_key="${ENGINY_API_KEY:-}"
$dry_run || [ -n "$enginy_key" ] || fail "set ENGINY_API_KEY to your Enginy API key (or use --dry-run)"
enginy="${ENGINY_API_URL:-https://openapi.enginy.ai}"
enginy="${enginy%/}"

# The two bodies, built by node so every value is escaped as JSON. `mask` replaces the CRM key by
# a description of it (for --dry-run output).
body() {
  BASE="$base_url" HEADER="$header" KEY="$crm_key" LINKS="$links" WHICH="$1" MASK="${2:-}" node -e '
    const e = process.env;
    const key = e.MASK ? `<EDGE_CRM_API_KEY, ${e.KEY.length} characters>` : e.KEY;
    const body = { baseUrl: e.BASE, apiKey: key, apiKeyHeader: e.HEADER };
    if (e.WHICH === "connect" && e.LINKS === "true") {
      body.contactLinkTemplate = `${e.BASE}/view/contact/{{crmId}}`;
      body.companyLinkTemplate = `${e.BASE}/view/company/{{crmId}}`;
    }
    process.stdout.write(JSON.stringify(body));
  '
}

if $dry_run; then
  masked_enginy="<ENGINY_API_KEY${enginy_key:+, ${#enginy_key} characters}>"
  echo "# dry run: these requests would be sent, in order (keys masked); nothing is sent"
  printf '\nGET %s/health\n%s: <EDGE_CRM_API_KEY, %s characters>\n' "$base_url" "$header" "${#crm_key}"
  printf '\nPOST %s/v1/custom-crm/test\nx-api-key: %s\nContent-Type: application/json\n\n%s\n' "$enginy" "$masked_enginy" "$(body test mask)"
  printf '\nPOST %s/v1/custom-crm/connect\nx-api-key: %s\nContent-Type: application/json\n\n%s\n' "$enginy" "$masked_enginy" "$(body connect mask)"
  printf '\nGET %s/v1/custom-crm/status\nx-api-key: %s\n' "$enginy" "$masked_enginy"
  exit 0
fi

command -v curl >/dev/null || fail "curl is missing"
umask 077
out=$(mktemp)
payload=$(mktemp)
trap 'rm -f "$out" "$payload"' EXIT

# Sends one request; prints the status and body; fails on anything but 2xx. The keys go to curl
# through stdin (the header) and a private file (the body), never on its command line.
call() {
  local label=$1 method=$2 url=$3 key_header=$4 key=$5 data=${6:-}
  local args=(-sS -o "$out" -w '%{http_code}' -X "$method" -H @- "$url")
  if [ -n "$data" ]; then
    printf '%s' "$data" > "$payload"
    args+=(-H "Content-Type: application/json" --data-binary "@$payload")
  fi
  local status
  status=$(printf '%s: %s\n' "$key_header" "$key" | curl "${args[@]}") || fail "$label: could not reach $url"
  echo "[connect] $label: HTTP $status"
  cat "$out"; echo
  case "$status" in 2??) ;; *) fail "$label failed (HTTP $status)" ;; esac
}

call "edge-crm health" GET "$base_url/health" "$header" "$crm_key"
call "Enginy test" POST "$enginy/v1/custom-crm/test" x-api-key "$enginy_key" "$(body test)"
node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.exit(b.success === true ? 0 : 1)' "$out" \
  || fail "Enginy's test did not report success: not connecting"
call "Enginy connect" POST "$enginy/v1/custom-crm/connect" x-api-key "$enginy_key" "$(body connect)"
call "Enginy status" GET "$enginy/v1/custom-crm/status" x-api-key "$enginy_key"
echo "[connect] done: Enginy is connected to $base_url"
