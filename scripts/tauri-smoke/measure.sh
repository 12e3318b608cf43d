#!/usr/bin/env bash
# Cold start and memory of the field app in its real window (see measure.mjs): a demo
# dtm-hq on a free port, the debug build unless DTM_FIELD_BIN names another (a release
# build or the installed /usr/bin/dtm-field gives the figures a user sees).
#
#   scripts/tauri-smoke/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
work=$(mktemp -d -t dtm-measure.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$target/debug/dtm-hq" serve --demo --listen "127.0.0.1:$port" --database "$work/hq.sqlite3" >"$work/hq.log" 2>&1 &
hq_pid=$!
trap 'kill $hq_pid 2>/dev/null || true; rm -rf "$work"' EXIT
export DTM_HQ_URL="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -s -o /dev/null "$DTM_HQ_URL/api/v1/me" && break; sleep 0.1; done
export DTM_FIELD_BIN="${DTM_FIELD_BIN:-$target/debug/dtm-field}"
xvfb-run -a -s "-screen 0 1366x768x24" node scripts/tauri-smoke/measure.mjs
