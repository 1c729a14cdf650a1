# Sourced by run.sh and test.sh: loads .env, ensures the services, exports their URLs.
# Defines STACK_STARTED (the servers this invocation started) and stop_stack.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# .env fills in what the environment does not already set (the environment wins).
# DOTENV_KEYS, when set, limits which keys are taken (the tests take only the services').
if [ -f .env ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | \#*) continue ;; esac
    key=${line%%=*}
    if [ -n "${DOTENV_KEYS:-}" ] && [[ " $DOTENV_KEYS " != *" $key "* ]]; then continue; fi
    [ -n "${!key+set}" ] || export "$line"
  done <.env
fi
STACK_STARTED_FILE=$(mktemp)
export STACK_STARTED_FILE
scripts/stack.sh up
set -a; . .run/stack.env; set +a
stop_stack() {
  # shellcheck disable=SC2046
  scripts/stack.sh down $(cat "$STACK_STARTED_FILE")
  rm -f "$STACK_STARTED_FILE"
}
