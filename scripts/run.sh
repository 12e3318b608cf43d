#!/usr/bin/env bash
# Installs what is missing, then runs HQ on its embedded defaults (SQLite, with demo
# data) and the dtm-field desktop app pointed at it.
#
#   HQ dashboard:  http://127.0.0.1:8080   (supervisor / supervisor-demo)
#   Field app:     enumerator / enumerator-demo
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
LISTEN="${DTM_LISTEN:-127.0.0.1:8080}"

scripts/setup.sh
(cd ui && npm run build)
# Every target of the workspace in one build, as scripts/test.sh builds them, so the
# suite afterwards reuses it (one package alone would rebuild dependencies with other features).
cargo build --workspace --all-targets

mkdir -p .dtm/field
"$TARGET/debug/dtm-hq" serve --demo --listen "$LISTEN" --database .dtm/hq.sqlite3 --ui-dir ui/dist &
hq_pid=$!
trap 'kill $hq_pid 2>/dev/null; wait $hq_pid 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do curl -s -o /dev/null "http://$LISTEN/api/v1/rounds" && break; sleep 0.1; done

echo
echo "HQ web dashboard: http://$LISTEN  (supervisor / supervisor-demo, admin / admin-demo)"
echo "Field app login:  enumerator / enumerator-demo, HQ http://$LISTEN"
echo "Field data:       .dtm/field/device.sqlite3, encrypted: the field app opens it with the account's password"
echo

export DTM_HQ_URL="http://$LISTEN" DTM_DATA_DIR="$PWD/.dtm/field"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  "$TARGET/debug/dtm-field"
else
  echo "No display here: running the field app under Xvfb (headless). HQ keeps serving; Ctrl-C stops both."
  xvfb-run -a "$TARGET/debug/dtm-field"
fi
