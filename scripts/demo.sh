#!/usr/bin/env bash
# The demo: migrate, create the demo users and schedules, then run a django-q2 worker in the
# background and the development server in the foreground. Ctrl+C stops both.
# Expects the virtualenv that `make demo` installs.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8000}"
URL="http://127.0.0.1:${PORT}/"
PY=.venv/bin/python

# Demo-only values: a fixed key keeps sessions and encrypted tokens valid across restarts.
# Never use them anywhere else.
export DEBUG=1
export THINKALIKE_SANDBOX=1
# Stripe, SendGrid, Telegram, Plausible, MyAnimeList, Kitsu and the sample custom API answer
# from loopback stand-ins.
export THINKALIKE_STAND_INS=1
export THINKALIKE_OUTBOUND_ALLOW="${THINKALIKE_OUTBOUND_ALLOW:-127.0.0.1}"
export THINKALIKE_SANDBOX_URL="${URL}sandbox"
export SECRET_KEY="${SECRET_KEY:-demo-only-secret-key-do-not-use-in-production}"
export THINKALIKE_FERNET_KEYS="${THINKALIKE_FERNET_KEYS:-demo-only-fernet-key-do-not-use-in-production}"
export DJANGO_SETTINGS_MODULE=thinkalike.settings

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; }
if port_open; then
    echo "Something is already listening on 127.0.0.1:${PORT}; stop it or run: PORT=8001 make demo"
    exit 1
fi

"$PY" manage.py migrate --no-input
"$PY" manage.py setup_demo --url "$URL"

# Its own session, so Ctrl+C reaches only the web server and the cluster is stopped the way
# django-q2 wants: SIGTERM to the main qcluster PID alone (signalling the group can hang it).
$(command -v setsid || true) "$PY" manage.py qcluster &
QCLUSTER_PID=$!

# Repeat the essentials once the server answers, below the start-up noise of both processes.
announce() {
    until port_open; do sleep 0.5; done
    cat <<MSG

  ThinkAlike Connected Services demo is running.
  Open ${URL} and log in as demo@example.com / demo-password-2026
  Press Ctrl+C to stop the web server and the worker.

MSG
}
announce &
ANNOUNCE_PID=$!

stop_worker() {
    kill "$ANNOUNCE_PID" 2>/dev/null || true
    if kill -0 "$QCLUSTER_PID" 2>/dev/null; then
        echo "Stopping the background worker (pid $QCLUSTER_PID)..."
        kill -TERM "$QCLUSTER_PID" 2>/dev/null || true
        wait "$QCLUSTER_PID" 2>/dev/null || true
    fi
}
trap stop_worker EXIT
trap 'exit 0' INT  # Ctrl+C is how the demo is meant to end
trap 'exit 143' TERM

"$PY" manage.py runserver "127.0.0.1:${PORT}"
