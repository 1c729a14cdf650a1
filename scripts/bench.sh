#!/usr/bin/env bash
# `make bench`: services, then bench/run.py (the product started in a bench database of its own).
# SCENARIO=ingest (comma-separated) runs some scenarios; BENCH_ARGS passes other options.
set -euo pipefail
cd "$(dirname "$0")/.."
# From .env only where the services are; the bench sets everything else itself.
DOTENV_KEYS="DATABASE_URL REDIS_URL" . scripts/env.sh
trap stop_stack EXIT
# shellcheck disable=SC2086
.venv/bin/python bench/run.py --scenario "${SCENARIO:-all}" ${BENCH_ARGS:-}
