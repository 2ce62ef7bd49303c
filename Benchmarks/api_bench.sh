#!/usr/bin/env bash
# wrk against a release build of `hoist serve`: POST /upload-url with an RS256 dev token versus GET /healthz
# of the same server in the same run, both at 64 connections for ~10 s, with latency percentiles.
#
# Issue 5's goal: /upload-url at >= 60% of /healthz's requests per second, and its p99 under 5 ms.
# Two cases of POST /upload-url: one token repeated (the server verifies its RS256 signature once, then
# answers from its bounded cache of verified tokens), and a new token on every request, more tokens than
# that cache holds, so each request pays for the RS256 verification itself (keys stay cached).
#
# A third route is measured as a control: GET /download-url checks the token the same way and signs a URL,
# but has no request body and writes nothing. What it reaches bounds what /upload-url, which does all of
# that and also parses a JSON body and commits an upload record to SQLite, can reach on this machine.
#
# Usage: Benchmarks/api_bench.sh                  (needs `swift build -c release` and `apt-get install wrk`)
# Env:   HOIST_RELEASE_BIN  the binary (default .build/release/hoist); exit 2 if it is missing or has no `serve`
#        BENCH_DURATION     per route (default 10s)      BENCH_CONNECTIONS  (default 64)
#        BENCH_THREADS      wrk threads (default 2)      BENCH_WARMUP       per route (default 2s)
#        BENCH_DISTINCT_TOKENS  tokens of the new-token run (default 8192, over the server's cache of 4096;
#                           0 skips the run; needs python3's cryptography)
#
# The server runs with a temporary data folder on free ports of 127.0.0.1 and the rate limiter opened wide
# (HOIST_RATE_PER_MINUTE=1000000, HOIST_RATE_BURST=1000000); it is stopped by its own pid at the end.
# Every POST asks for a PNG URL in one article the bench user owns (made by a first request), as a client
# uploading several images to one article does; each still writes its upload record to SQLite.
# On a 2-core machine wrk and the server share the CPU: compare the routes, not absolute numbers. The
# server's CPU time per request of each route (from /proc) is printed too: it varies less between runs.
# Not part of .ci/run. Exit: 0 when every run completed without errors (the goal is reported, not enforced),
# 1 on a failed run, 2 when it cannot run here.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${HOIST_RELEASE_BIN:-$repo/.build/release/hoist}
case "$bin" in /*) ;; *) bin=$repo/$bin ;; esac
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
warmup=${BENCH_WARMUP:-2s}

if [ ! -x "$bin" ]; then
  echo "api_bench: no release build at $bin (run: swift build -c release, or set HOIST_RELEASE_BIN)"
  exit 2
fi
if ! "$bin" serve --help 2>/dev/null | grep -q -- '--store-port'; then
  echo "api_bench: $bin has no \`serve\` subcommand (an old build? run: swift build -c release)"
  exit 2
fi
if ! command -v wrk >/dev/null 2>&1; then
  echo "api_bench: wrk is not installed (apt-get install -y wrk)"
  exit 2
fi
newer=$(find "$repo/Sources" -name '*.swift' -newer "$bin" 2>/dev/null | head -n 3 || true)
if [ -n "$newer" ]; then
  echo "api_bench: warning: sources newer than $bin, e.g.:"; echo "$newer" | sed 's/^/    /'
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d /tmp/hoist-api-bench-XXXXXX)
api_port=$(free_port); store_port=$(free_port)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$server_pid" 2>/dev/null && kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export HOIST_DATA=$work/data HOIST_API_PORT=$api_port HOIST_STORE_PORT=$store_port
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  HOIST_RATE_PER_MINUTE=1000000 HOIST_RATE_BURST=1000000 "$bin" serve >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  kill -0 "$server_pid" 2>/dev/null || { echo "api_bench: hoist serve exited:"; tail -n 20 "$work/serve.log"; exit 1; }
  grep -q '^hoist serve: API on' "$work/serve.log" && break
  sleep 0.1
done
grep -q '^hoist serve: API on' "$work/serve.log" || { echo "api_bench: hoist serve not ready in 30 s"; exit 1; }
base=http://127.0.0.1:$api_port

token=$("$bin" token bench --data "$HOIST_DATA" --ttl 7200 | tail -n 1)
header=$(python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["alg"])' "$token")
first=$(curl -sS -X POST "$base/upload-url" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"contentType":"image/png","size":123456}')
article=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["articleId"])' "$first") || {
  echo "api_bench: the first POST /upload-url failed: $first"; exit 1; }
body="{\"contentType\":\"image/png\",\"size\":123456,\"articleId\":\"$article\"}"

cat >"$work/upload.lua" <<'LUA'
-- POST /upload-url with a bearer token and a JSON body (from the environment).
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
LUA
cat >"$work/download.lua" <<'LUA'
-- GET /download-url for a key in the bench user's article, with the bearer token (from the environment).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
LUA
export BENCH_TOKEN=$token BENCH_BODY=$body
download_url="$base/download-url?key=articles/$article/raw/bench.png"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$download_url")
[ "$code" = 200 ] || { echo "api_bench: GET /download-url answered $code"; exit 1; }

# The server's CPU time (user + system, in clock ticks) from /proc: divided by the requests of a run it
# gives the CPU cost of one request, a figure that holds even when wrk and the server share the cores.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
run_wrk() { # label duration url [script]
  local label=$1 dur=$2 url=$3 script=${4:-}
  local args=(-t "$threads" -c "$connections" -d "$dur" --latency --timeout 5s)
  [ -n "$script" ] && args+=(-s "$script")
  local before; before=$(cpu_ticks)
  wrk "${args[@]}" "$url" >"$work/$label.txt" 2>&1 || { echo "api_bench: wrk failed ($label):"; cat "$work/$label.txt"; exit 1; }
  echo "server_cpu_ticks $(( $(cpu_ticks) - before )) $(getconf CLK_TCK)" >>"$work/$label.txt"
}

echo "hoist serve $(basename "$bin") (pid $server_pid) on $base; token alg $header; wrk -t$threads -c$connections -d$duration"
run_wrk warm-health "$warmup" "$base/healthz"
run_wrk warm-download "$warmup" "$download_url" "$work/download.lua"
run_wrk warm-upload "$warmup" "$base/upload-url" "$work/upload.lua"
run_wrk health "$duration" "$base/healthz"
run_wrk download "$duration" "$download_url" "$work/download.lua"
run_wrk upload "$duration" "$base/upload-url" "$work/upload.lua"

# A different token on (almost) every request: signed here with the dev issuer's key, each with its own jti.
distinct=${BENCH_DISTINCT_TOKENS:-8192}
if [ "$distinct" -gt 0 ]; then
  python3 - "$token" "$HOIST_DATA/dev-issuer-key.pem" "$distinct" >"$work/tokens.txt" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

token, key_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
head, body, _ = token.split(".")
claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None)
for n in range(count):
    claims["jti"] = f"bench-{n}"
    signing_input = head + "." + b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    print(signing_input + "." + b64(signature))
PY
  cat >"$work/distinct.lua" <<'LUA'
-- POST /upload-url, each request with the next of many tokens (the threads start far apart in the list).
local tokens, i, threads = {}, 0, 0
for line in io.lines(os.getenv("BENCH_TOKEN_FILE")) do tokens[#tokens + 1] = line end
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) i = (id * 2053) % #tokens end
function request()
  i = i % #tokens + 1
  return wrk.format("POST", nil, {["Authorization"] = "Bearer " .. tokens[i], ["Content-Type"] = "application/json"},
                    os.getenv("BENCH_BODY"))
end
LUA
  export BENCH_TOKEN_FILE=$work/tokens.txt
  run_wrk warm-distinct "$warmup" "$base/upload-url" "$work/distinct.lua"
  run_wrk distinct "$duration" "$base/upload-url" "$work/distinct.lua"
fi
kill -0 "$server_pid" 2>/dev/null || { echo "api_bench: hoist serve died during the run"; tail -n 20 "$work/serve.log"; exit 1; }

python3 - "$work/health.txt" "$work/download.txt" "$work/upload.txt" "$work/distinct.txt" <<'PY'
import os, re, sys

def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        lat[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    m = re.search(r"(\d+) requests in", text)
    total = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    non2xx = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = sum(map(int, m.groups())) if m else 0
    m = re.search(r"server_cpu_ticks (\d+) (\d+)", text)
    cpu_us = int(m.group(1)) / int(m.group(2)) * 1e6 / total if m and total else float("nan")
    return {"rps": rps, "lat": lat, "total": total, "non2xx": non2xx, "errors": errors, "text": text, "cpu": cpu_us}

runs = {"GET /healthz": parse(sys.argv[1]), "GET /download-url": parse(sys.argv[2]), "POST /upload-url": parse(sys.argv[3])}
if os.path.exists(sys.argv[4]):
    runs["POST /upload-url, new token each"] = parse(sys.argv[4])
for name, r in runs.items():
    print(f"{name:33} {r['rps']:10.0f} req/s   p50 {r['lat'].get('50', float('nan')):6.2f} ms   "
          f"p99 {r['lat'].get('99', float('nan')):6.2f} ms   server CPU {r['cpu']:5.1f} us/request   "
          f"({r['total']} requests, {r['non2xx']} non-2xx, {r['errors']} socket errors)")
h, d, u = runs["GET /healthz"], runs["GET /download-url"], runs["POST /upload-url"]
ratio = u["rps"] / h["rps"] if h["rps"] else 0.0
p99 = u["lat"].get("99", float("inf"))
print(f"goal, one token repeated: upload-url / healthz {ratio:.1%} (>= 60%: {'met' if ratio >= 0.6 else 'MISSED'}); "
      f"upload-url p99 {p99:.2f} ms (< 5 ms: {'met' if p99 < 5 else 'MISSED'})")
if "POST /upload-url, new token each" in runs:
    n = runs["POST /upload-url, new token each"]
    nratio, np99 = n["rps"] / h["rps"], n["lat"].get("99", float("inf"))
    print(f"goal, a new token each request: upload-url / healthz {nratio:.1%} (>= 60%: {'met' if nratio >= 0.6 else 'MISSED'}); "
          f"p99 {np99:.2f} ms (< 5 ms: {'met' if np99 < 5 else 'MISSED'}); server CPU {n['cpu']:.1f} us/request")
print(f"control: download-url / healthz {d['rps'] / h['rps']:.1%}, p99 {d['lat'].get('99', float('inf')):.2f} ms "
      "(the same RS256 check and a signed URL; no body, no write)")
print(f"server CPU per request: healthz {h['cpu']:.1f} us, download-url {d['cpu']:.1f} us, upload-url {u['cpu']:.1f} us; "
      f"healthz / upload-url {h['cpu'] / u['cpu']:.1%} (the ratio the server alone would reach with the cores to itself)")
bad = [name for name, r in runs.items() if r["non2xx"] or r["errors"] or not r["total"]]
if bad:
    for name in bad:
        print(f"--- wrk output ({name}) ---\n{runs[name]['text']}")
    print("api_bench: errors or non-2xx responses in: " + ", ".join(bad))
    sys.exit(1)
PY
