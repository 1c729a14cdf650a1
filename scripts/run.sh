#!/usr/bin/env bash
# `make run`: services, migrations, superuser, then `manage.py serve` and a worker until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .env ]; then
  sed -e "s/^SECRET_KEY=.*/SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')/" \
    -e "s/^PROVIDER_CREDENTIALS_KEYS=.*/PROVIDER_CREDENTIALS_KEYS=$(.venv/bin/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')/" \
    .env.example >.env
  echo "run: created .env from .env.example (development values; edit it to configure)"
fi
if ! grep -q '^PROVIDER_CREDENTIALS_KEYS=.' .env; then
  echo "PROVIDER_CREDENTIALS_KEYS=$(.venv/bin/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" >>.env
  echo "run: added a PROVIDER_CREDENTIALS_KEYS to .env"
fi
. scripts/env.sh
PORT=${PORT:-8000}
# Links in emails and the sandbox's webhooks point at this server unless told otherwise.
export SITE_URL=${SITE_URL:-http://127.0.0.1:$PORT}
PIDS=()
SIM_PID=
stop_all() {
  trap - EXIT INT TERM
  echo "run: stopping"
  for pid in $SIM_PID "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_stack
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
# Demo data, once: a sandbox provider (when none is configured), 50 subscribers, a campaign.
$PY manage.py seed_demo
if [ -n "${DJANGO_SUPERUSER_USERNAME:-}" ] && [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
  $PY manage.py createsuperuser --noinput 2>/dev/null && echo "run: created superuser $DJANGO_SUPERUSER_USERNAME" ||
    echo "run: superuser $DJANGO_SUPERUSER_USERNAME already exists"
else
  echo "run: no DJANGO_SUPERUSER_USERNAME/PASSWORD set; create a user with: .venv/bin/python manage.py createsuperuser"
fi

# daphne in WEB_PROCESSES processes (default 1) on one socket; SIGTERM closes websockets
# with 1001 so the dashboards reconnect at once (docs/deploy.md).
$PY manage.py serve --host 127.0.0.1 --port "$PORT" &
PIDS+=($!)
# -B: the periodic jobs (scheduled campaigns, stalled sends) run in this one worker; with
# several workers, run exactly one `celery -A config beat` instead.
.venv/bin/celery -A config worker -B --schedule .run/celerybeat-schedule --loglevel INFO --concurrency 2 &
PIDS+=($!)
# Something on the dashboard from the first minute: simulated Mandrill traffic (not waited on,
# so a failing simulator never stops the product).
SIM_PID=
if [ "${SIMULATE_EVENTS_RATE:-2}" != "0" ]; then
  $PY -c "import time, urllib.request as u
for _ in range(100):
    try: u.urlopen('http://127.0.0.1:$PORT/api/hook/', timeout=1); break
    except OSError: time.sleep(0.2)"
  $PY manage.py simulate_events --url "http://127.0.0.1:$PORT/api/hook/mandrill/" \
    --rate "${SIMULATE_EVENTS_RATE:-2}" --batch 1 --duration 31536000 -v 0 &
  SIM_PID=$!
fi
cat <<MSG

  Mailpulse is running:
    dashboard   http://127.0.0.1:$PORT/
    API docs    http://127.0.0.1:$PORT/doc
    admin       http://127.0.0.1:$PORT/admin/
    health      http://127.0.0.1:$PORT/healthz
    webhooks    http://127.0.0.1:$PORT/api/hook/
  Simulated Mandrill webhooks: ${SIMULATE_EVENTS_RATE:-2}/s (SIMULATE_EVENTS_RATE=0 turns them off).
  Ctrl-C stops everything started here.

MSG
wait -n "${PIDS[@]}"
echo "run: a process exited; stopping the rest"
