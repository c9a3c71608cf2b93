#!/usr/bin/env bash
# Start llmplanner on this machine: the web app (gunicorn) and two Celery worker nodes (one for
# interactive work only, one for heavy work and interactive work; see llmplanner/celery.py).
#
# Needs nothing running: SQLite and a filesystem message broker under var/ by default
# (DATABASE_URL / REDIS_URL switch to Postgres / Redis). Sets up .venv on first run.
# Honours PORT (default 8000) and everything in .env.example; reads ./.env if present.
# Listens on 127.0.0.1 only: with DEBUG on (the default here) Django shows tracebacks and its
# URL list to anyone who can reach it. A worker node that dies is started again (with a growing
# pause if it keeps dying) while the web app keeps serving. Ctrl-C stops every process it started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/setup.sh"

if [ -f "$ROOT/.env" ]; then
  set -a
  # shellcheck disable=SC1091
  . "$ROOT/.env"
  set +a
fi
export DEBUG="${DEBUG:-true}"
export DJANGO_SETTINGS_MODULE=llmplanner.settings
PORT="${PORT:-8000}"
PY="$ROOT/.venv/bin/python"
say() { printf '[start] %s\n' "$*" >&2; }

case "${DEBUG,,}" in 1|true|yes|on) debug=1 ;; *) debug=0 ;; esac

if ! "$PY" - "$PORT" <<'PYCODE'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PYCODE
then
  say "ERROR: port $PORT on 127.0.0.1 is in use (is llmplanner already running?). Try PORT=8001 $0"
  exit 1
fi

say "applying migrations"
"$PY" manage.py migrate --noinput -v 0
if [ "$debug" = 1 ]; then
  "$PY" manage.py load_demo
else
  "$PY" manage.py collectstatic --noinput -v 0
fi

if [ -z "${CELERY_BROKER_URL:-}${REDIS_URL:-}" ]; then
  # Filesystem broker: drop remote-control leftovers of workers that were killed without a
  # clean shutdown, or every ping keeps writing messages for them.
  broker="${VAR_DIR:-$ROOT/var}/broker"
  rm -f "$broker"/control/*pidbox.exchange "$broker"/queue/*pidbox.msg 2>/dev/null || true
fi

pids=()
web_pid=""
declare -A worker_pid=() worker_started=() worker_delay=()
stop_all() {
  trap - INT TERM EXIT
  # Whatever happens to our output (a closed pipe after Ctrl-C), finish stopping the children.
  trap '' PIPE
  set +e
  local pid i alive
  [ ${#pids[@]} -gt 0 ] || return 0
  say "stopping" 2>/dev/null
  # TERM to each leader: gunicorn and celery stop their own children gracefully.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 100); do  # up to 10 s for a warm shutdown
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  # Whatever is left of each process group after that goes now.
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# Each child leads its own process group (setsid): Ctrl-C reaches only this script, which stops
# them in order, and a group can be killed whole if a process hangs.
#
# Two worker nodes, so that a heavy task (a big run, a what-if chunk, a PDF) never takes the
# slot of interactive work: "interactive" consumes only that queue (one process; -B embeds the
# periodic scheduler, the sweeper of stale jobs), "heavy" consumes both queues with the rest of
# WORKER_CONCURRENCY. On 2 cores that is one process each.
concurrency="${WORKER_CONCURRENCY:-2}"
heavy_concurrency=$(( concurrency > 1 ? concurrency - 1 : 1 ))
remember_pids() { pids=(${web_pid:+"$web_pid"} "${worker_pid[@]}"); }
start_worker() {  # $1: interactive | heavy
  local name="$1"
  if [ "$name" = interactive ]; then
    setsid "$PY" -m celery -A llmplanner.celery worker --loglevel INFO -B \
      --schedule "${VAR_DIR:-$ROOT/var}/celerybeat-schedule" \
      -Q interactive --concurrency 1 --hostname "interactive-$$@%h" &
  else
    setsid "$PY" -m celery -A llmplanner.celery worker --loglevel INFO \
      -Q heavy,interactive --concurrency "$heavy_concurrency" --hostname "heavy-$$@%h" &
  fi
  worker_pid[$name]=$!
  worker_started[$name]=$SECONDS
  remember_pids
}
start_worker interactive
start_worker heavy
if [ "$debug" = 1 ]; then
  say "DEBUG is on: listening on 127.0.0.1 only (Django shows tracebacks and its URL list to anyone who can reach the app; never publish this port)"
fi
setsid "$PY" -m gunicorn llmplanner.wsgi --bind "127.0.0.1:$PORT" \
  --workers "${WEB_CONCURRENCY:-2}" --access-logfile - --graceful-timeout 5 &
web_pid=$!
remember_pids

URL="http://127.0.0.1:$PORT/"
ready=0
for _ in $(seq 1 150); do
  if "$PY" -c "import urllib.request as u; u.urlopen('${URL}accounts/login/', timeout=1)" 2>/dev/null; then
    ready=1
    break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { say "ERROR: a process exited during start-up (see above)"; exit 1; }
  done
  sleep 0.2
done
[ "$ready" = 1 ] || { say "ERROR: the web app did not answer within 30 s"; exit 1; }

echo
echo "  llmplanner is running at $URL"
if [ "$debug" = 1 ]; then
  echo "  Log in as demo / demo"
fi
echo "  Health: ${URL}healthz    Stop: Ctrl-C"
echo

# Supervise: the web app exiting stops everything; a worker node that exits (killed, out of
# memory) is started again while the web app keeps serving — at once the first time, then after
# a pause that doubles (up to a minute) while it keeps dying within a minute of its start.
set +e
while true; do
  if ! kill -0 "$web_pid" 2>/dev/null; then
    wait "$web_pid"
    say "the web app exited (status $?); shutting down"
    exit 1
  fi
  for name in interactive heavy; do
    pid="${worker_pid[$name]}"
    kill -0 "$pid" 2>/dev/null && continue
    wait "$pid"
    status=$?
    kill -KILL -- "-$pid" 2>/dev/null  # its pool processes, if the parent died alone
    if [ $((SECONDS - ${worker_started[$name]})) -ge 60 ]; then
      worker_delay[$name]=0
    elif [ "${worker_delay[$name]:-0}" = 0 ]; then
      worker_delay[$name]=1
    else
      worker_delay[$name]=$(( worker_delay[$name] * 2 > 60 ? 60 : worker_delay[$name] * 2 ))
    fi
    say "the $name worker exited (status $status); starting it again in ${worker_delay[$name]} s — the web app keeps serving"
    sleep "${worker_delay[$name]}" & wait $!
    start_worker "$name"
    say "the $name worker is running again (pid ${worker_pid[$name]})"
  done
  sleep 1 & wait $!
done
