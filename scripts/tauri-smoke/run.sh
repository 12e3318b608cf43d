#!/usr/bin/env bash
# Builds the field app and runs its WebDriver smoke test under a virtual display.
#
#   scripts/tauri-smoke/run.sh            # starts a demo dtm-hq on a free port
#   DTM_HQ_URL=http://... scripts/tauri-smoke/run.sh   # uses that HQ (fresh, demo data)
#
# Honours CARGO_TARGET_DIR.
# Needs: node, python3, xvfb-run, /usr/bin/WebKitWebDriver, tauri-driver
# (cargo install tauri-driver --locked). Screenshots land in scripts/tauri-smoke/out/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")

work=$(mktemp -d -t dtm-smoke.XXXXXX)
hq_pid=
cleanup() {
    local rc=$?
    if [[ -n $hq_pid ]]; then
        kill -0 "$hq_pid" 2>/dev/null || echo "dtm-hq (pid $hq_pid) had already exited" >&2
        kill "$hq_pid" 2>/dev/null || true
        wait "$hq_pid" 2>/dev/null || true
        if [[ $rc -ne 0 ]]; then echo "--- dtm-hq log (last 40 lines)" >&2; tail -n 40 "$work/hq.log" >&2; fi
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -f ui/dist/index.html ]]; then
    echo "== building ui (ui/dist is embedded into the app at compile time)"
    (cd ui && { [[ -d node_modules ]] || npm ci; } && npm run build)
fi

# The whole workspace with every target, as the suite builds it: building one package
# alone resolves its dependencies' features differently and rebuilds them.
echo "== cargo build --workspace --all-targets"
cargo build --workspace --all-targets

if [[ -z ${DTM_HQ_URL:-} ]]; then
    echo "== starting a demo dtm-hq"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$target/debug/dtm-hq" serve --demo --listen "127.0.0.1:$port" --database "$work/hq.sqlite3" >"$work/hq.log" 2>&1 &
    hq_pid=$!
    export DTM_HQ_URL="http://127.0.0.1:$port"
    for _ in $(seq 100); do
        # Any HTTP answer (a 401 included) means it is listening.
        curl -s -o /dev/null "$DTM_HQ_URL/api/v1/me" && break
        kill -0 "$hq_pid" 2>/dev/null || { cat "$work/hq.log"; echo "dtm-hq exited" >&2; exit 1; }
        sleep 0.1
    done
    curl -s -o /dev/null "$DTM_HQ_URL/api/v1/me" || { cat "$work/hq.log"; echo "dtm-hq did not answer at $DTM_HQ_URL" >&2; exit 1; }
fi

# The binary under test: the build above, unless the caller names another (the one the
# .deb installed, for scripts/installer-test.sh).
export DTM_FIELD_BIN="${DTM_FIELD_BIN:-$target/debug/dtm-field}"
export DTM_DATA_DIR="$work/device"
mkdir -p "$DTM_DATA_DIR"

echo "== smoke test against $DTM_HQ_URL"
run=(node --test --test-reporter=spec "$here/smoke.test.mjs")
if [[ -n ${DISPLAY:-} ]]; then "${run[@]}"; else xvfb-run -a "${run[@]}"; fi
