#!/usr/bin/env bash
# Start or stop the throwaway Ceph Object Gateway (radosgw) that the interop suite's `ceph` fixture
# (Interop/conftest.py) starts for test_ceph_presign.py and test_api_ceph.py.
#
# Usage: Interop/ceph.sh start|stop|status
#
# It runs the peer scripts kept in this repository, Interop/peers/ceph/start and stop.
#
# Env: CEPH_DIR (default /tmp/hoist-ceph-peer: wiped by start),
#      RGW_PORT (default 7480), MON_V2_PORT / MON_V1_PORT (the monitor's, default 3300 / 6789),
#      RGW_ACCESS_KEY / RGW_SECRET_KEY (start script's defaults).
# Needs (Debian 12): apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd uuid-runtime curl
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CEPH_DIR=${CEPH_DIR:-/tmp/hoist-ceph-peer}
export RGW_PORT=${RGW_PORT:-7480}
export MON_V2_PORT=${MON_V2_PORT:-3300}
export MON_V1_PORT=${MON_V1_PORT:-6789}
peer=$repo/Interop/peers/ceph

die() { echo "ceph.sh: $*" >&2; exit 1; }

need_peer() {
  for s in start stop; do
    [ -f "$peer/$s" ] || die "missing $peer/$s"
  done
}

listening() {
  # true when something accepts TCP connections on 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case "${1:-}" in
  start)
    need_peer
    # Re-runnable: an earlier cluster of ours in the same CEPH_DIR is stopped first.
    if [ -d "$CEPH_DIR/run" ]; then bash "$peer/stop" || true; fi
    for port in "$RGW_PORT" "$MON_V2_PORT" "$MON_V1_PORT"; do
      if listening "$port"; then
        die "port $port on 127.0.0.1 is already in use (another Ceph? stop it first: CEPH_DIR=<its dir> $peer/stop)"
      fi
    done
    echo "starting radosgw on 127.0.0.1:$RGW_PORT (data in $CEPH_DIR)"
    t0=$(date +%s)
    if ! timeout 300 bash "$peer/start"; then
      echo "ceph.sh: start failed; last lines of the logs in $CEPH_DIR/log:" >&2
      tail -n 20 "$CEPH_DIR"/log/*.log >&2 2>/dev/null || true
      bash "$peer/stop" || true
      exit 1
    fi
    echo "radosgw up after $(( $(date +%s) - t0 )) s"
    ;;
  stop)
    need_peer
    if [ -d "$CEPH_DIR/run" ]; then
      bash "$peer/stop"
      echo "ceph stopped (data in $CEPH_DIR left for inspection)"
    else
      echo "ceph.sh: nothing to stop in $CEPH_DIR"
    fi
    ;;
  status)
    if curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
      echo "radosgw answers on http://127.0.0.1:$RGW_PORT"
    else
      echo "radosgw is not answering on http://127.0.0.1:$RGW_PORT"; exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
