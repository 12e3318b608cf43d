#!/usr/bin/env bash
# Installs what dtm-field needs on a fresh Debian or Ubuntu machine, and nothing
# that is already there. Safe to run again. Used by scripts/run.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

DEBS=(
  # Tauri on Linux
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev librsvg2-dev
  libayatana-appindicator3-dev build-essential pkg-config libssl-dev file curl
  # UI tests: Chromium for Playwright, a virtual display and WebKit's WebDriver for the app
  chromium xvfb xauth webkit2gtk-driver
)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node for the UI and Python for check-jsonschema, from Debian only where the machine
# has none of its own (a NodeSource nodejs already carries npm and conflicts with Debian's).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  # On some images the first install fails with "failed to read archive" because
  # downloaded packages are cleaned between dpkg calls; the same command then succeeds.
  for attempt in 1 2 3; do
    if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
      break
    fi
    [ "$attempt" = 3 ] && { echo "setup: apt-get install failed three times" >&2; exit 1; }
    sleep 3
  done
fi

if ! command -v cargo >/dev/null; then
  echo "setup: Rust is missing; install it with rustup (https://rustup.rs) and run again" >&2
  exit 1
fi

# tauri-driver for the app's smoke test (about 2 minutes, once).
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --locked
fi

# check-jsonschema, schemathesis (scripts/api-fuzz.sh), openpyxl (a reader other
# than ours for the XLSX export, in dtm-hq's tests) and pypdf (the key figures printed
# to PDF, in the browser tests), in a venv of its own so the system
# Python stays untouched. schemathesis is pinned: api-fuzz.sh uses its CLI flags.
SCHEMATHESIS_VERSION=4.32.5
if [ ! -x .venv/bin/check-jsonschema ] || ! .venv/bin/python -c "import openpyxl, pypdf" 2>/dev/null \
  || ! .venv/bin/schemathesis --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q check-jsonschema openpyxl pypdf "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The UI's packages, at the locked versions. No browser is downloaded: tests use
# Debian's Chromium. `npm install --no-save` rather than `npm ci`: npm 11 leaves other
# platforms' optional packages (rollup's native builds) out of the lock it writes and
# then `npm ci` refuses that same lock as out of sync.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-audit --no-fund)
fi
