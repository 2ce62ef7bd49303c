#!/usr/bin/env bash
# A bounded schemathesis run (PyPI `schemathesis`) of Sources/HoistServer/openapi.yaml against a live
# `hoist serve`: property-based requests to every operation of the document, with a dev token, and the
# check that no response is a server error (5xx).
#
# Starts `hoist serve` ($HOIST_BIN, default .build/debug/hoist) with a temporary data folder on free
# ports of 127.0.0.1 (rate limit raised so the limiter does not hide the handlers), runs
# `schemathesis run` with at most $ST_MAX_EXAMPLES cases per operation and phase (default 200, about
# 30 s here) under a hard `timeout` of $ST_TIMEOUT seconds (default 170), and stops the server by its
# own pid. The schema is read from the file (the server may serve it at /openapi.yaml too).
#
# Env: HOIST_BIN, ST_MAX_EXAMPLES, ST_TIMEOUT, ST_SEED (default: random; the seed used is printed).
# Last line: `api schemathesis: N passed, N failed` (1 passed when no 5xx was found and schemathesis
# itself ran cleanly); exit status 1 otherwise.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${HOIST_BIN:-$repo/.build/debug/hoist}
case "$bin" in /*) ;; *) bin=$repo/$bin ;; esac
schema=$repo/Sources/HoistServer/openapi.yaml
max_examples=${ST_MAX_EXAMPLES:-200}
hard_timeout=${ST_TIMEOUT:-170}

finish() { # passed failed
  echo "api schemathesis: $1 passed, $2 failed"
  [ "$2" -eq 0 ]
  exit $?
}

if command -v schemathesis >/dev/null 2>&1; then
  st=(schemathesis)
elif python3 -c 'import schemathesis' 2>/dev/null; then
  st=(python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; schemathesis()')
else
  echo "schemathesis is not installed (pip install schemathesis)"; finish 0 1
fi
[ -x "$bin" ] || { echo "hoist binary not found at $bin (set HOIST_BIN, or run swift build)"; finish 0 1; }
[ -f "$schema" ] || { echo "no OpenAPI document at $schema"; finish 0 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d /tmp/hoist-schemathesis-XXXXXX)
api_port=$(free_port); store_port=$(free_port)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$server_pid" 2>/dev/null && kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN HOME="$work" \
  HOIST_DATA="$work/data" HOIST_API_PORT="$api_port" HOIST_STORE_PORT="$store_port" \
  HOIST_RATE_PER_MINUTE=1000000 HOIST_RATE_BURST=1000000 \
  "$bin" serve >"$work/serve.log" 2>&1 &
server_pid=$!

token=""
for _ in $(seq 1 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "hoist serve exited before it was ready:"; tail -n 20 "$work/serve.log"; finish 0 1
  fi
  if grep -q '^hoist serve: API on' "$work/serve.log"; then
    token=$(sed -n 's/^ *export TOKEN=//p' "$work/serve.log" | head -n 1)
    break
  fi
  sleep 0.1
done
if [ -z "$token" ]; then
  echo "hoist serve printed no dev token within 60 s:"; tail -n 20 "$work/serve.log"; finish 0 1
fi
echo "hoist serve (pid $server_pid) on http://127.0.0.1:$api_port; $("${st[@]}" --version 2>/dev/null | head -n 1)"

seed_args=()
[ -n "${ST_SEED:-}" ] && seed_args=(--seed "$ST_SEED")
# --workers 1: Python 3.11.7's ast.parse is not thread-safe (CPython gh-106905, "AST constructor recursion
# depth mismatch"), which hypothesis reaches when describing filters from several worker threads.
rc=0
# Run from the temporary folder: schemathesis keeps its example database in ./.schemathesis.
cd "$work"
timeout --signal=INT --kill-after=15 "$hard_timeout" \
  env NO_COLOR=1 "${st[@]}" --no-color run "$schema" \
    --url "http://127.0.0.1:$api_port" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error \
    --max-examples "$max_examples" \
    --workers 1 \
    --request-timeout 10 \
    "${seed_args[@]}" >"$work/st.log" 2>&1 || rc=$?
cat "$work/st.log"

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "hoist serve died during the run:"; tail -n 40 "$work/serve.log"; finish 0 1
fi
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "schemathesis did not finish within ${hard_timeout} s"; finish 0 1
fi
if grep -Eq '(^|[^0-9])[1-9][0-9]* generated' "$work/st.log" && [ "$rc" -eq 0 ]; then
  finish 1 0
fi
if grep -q 'Server error' "$work/st.log"; then
  echo "schemathesis found server errors (5xx): see above"
else
  echo "schemathesis exited $rc without a clean run (no test cases, or an error of its own): see above"
fi
finish 0 1
