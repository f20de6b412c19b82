#!/usr/bin/env bash
# Installs skyq and runs one real task end to end on the embedded defaults (SQLite and
# artifacts under ~/.skyq, Chromium driven by your model) against the bundled demo shop.
# Needs a model: SKYQ_LLM_MODEL plus the provider's key, or SKYQ_LLM_API_BASE.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SKYQ_LLM_MODEL:-}" ]; then
  echo "skyq: error: no model configured: set SKYQ_LLM_MODEL (and the provider's key, or SKYQ_LLM_API_BASE); see README, 'Models'" >&2
  exit 2
fi

bash scripts/setup.sh

port=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
site=$(.venv/bin/python -c "from skyq.demo import SITE; print(SITE)")
schema=$(.venv/bin/python -c "from skyq.demo import PRODUCTS_SCHEMA; print(PRODUCTS_SCHEMA)")
.venv/bin/python -m http.server --bind 127.0.0.1 --directory "$site" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 1 50); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# The demo shop is on loopback, which the egress guard keeps runs out of; open exactly
# its address for this run.
SKYQ_EGRESS_ALLOW="[\"127.0.0.1:$port\"]" .venv/bin/skyq run "Extract the name, price and rating of the top 3 products" \
  --url "http://127.0.0.1:$port/" --schema "$schema" "$@"
