#!/usr/bin/env bash
# `make test`: services, a browser for tests/e2e, then pytest on the real stack.
set -euo pipefail
cd "$(dirname "$0")/.."
# From .env only where the services are; the tests set everything else themselves.
DOTENV_KEYS="DATABASE_URL REDIS_URL REDIS_TEST_DB TEST_DB_NAME" . scripts/env.sh
trap stop_stack EXIT
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test: installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test: ERROR: chromium is needed for tests/e2e (Debian: apt-get install chromium)" >&2
    exit 1
  fi
fi
.venv/bin/pytest "$@"
