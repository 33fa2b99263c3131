# Shared by scripts/test and scripts/bench (source it): create .venv with
# localstripe and start it on a free loopback port; the caller traps
# stop_localstripe on exit.
# After `start_localstripe`, LOCALSTRIPE_URL is exported.

LOCALSTRIPE_VERSION=${LOCALSTRIPE_VERSION:-1.15.10}
LS_PID=

ensure_localstripe_venv() {
    command -v python3 >/dev/null || { echo "python3 not found" >&2; return 1; }
    if [[ ! -x .venv/bin/python ]]; then
        python3 -m venv .venv || { echo "python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; return 1; }
    fi
    if ! .venv/bin/python - "$LOCALSTRIPE_VERSION" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
sys.exit(0 if m.version("localstripe") == sys.argv[1] else 1)
PY
    then
        .venv/bin/python -m pip install --disable-pip-version-check -q "localstripe==$LOCALSTRIPE_VERSION" || return 1
    fi
}

stop_localstripe() {
    if [[ -n "$LS_PID" ]] && kill -0 "$LS_PID" 2>/dev/null; then
        kill -TERM "$LS_PID" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$LS_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$LS_PID" 2>/dev/null || true
        wait "$LS_PID" 2>/dev/null || true
    fi
    LS_PID=
}

_ls_free_port() {
    python3 - <<'PY'
import socket
try:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind(("::", 0))
except OSError:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

_ls_wait_ready() {
    python3 - "$1" "$2" <<'PY'
import json, os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
url = f"http://127.0.0.1:{port}/v1/customers?limit=1"
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(2)
    try:
        req = urllib.request.Request(url, headers={"Authorization": "Bearer sk_test_x"})
        with urllib.request.urlopen(req, timeout=2) as r:
            if r.status == 200 and json.load(r).get("object") == "list":
                sys.exit(0)
    except (OSError, ValueError):
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}

# start_localstripe LOGFILE: starts it (3 tries), exports LOCALSTRIPE_URL.
start_localstripe() {
    local log=$1 port rc
    for _ in 1 2 3; do
        port=$(_ls_free_port)
        : >"$log"
        .venv/bin/localstripe --port "$port" --from-scratch >>"$log" 2>&1 </dev/null &
        LS_PID=$!
        rc=0
        _ls_wait_ready "$port" "$LS_PID" || rc=$?
        if [[ $rc -eq 0 ]]; then
            export LOCALSTRIPE_URL="http://127.0.0.1:$port"
            return 0
        fi
        stop_localstripe
    done
    return 1
}
