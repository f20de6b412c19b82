#!/usr/bin/env bash
# The test command: installs what the tests need, starts the services they use, runs
# the whole suite. Extra arguments go to pytest (e.g. -k cli, tests/unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
bash scripts/services.sh
exec .venv/bin/python -m pytest "$@"
