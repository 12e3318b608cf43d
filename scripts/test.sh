#!/usr/bin/env bash
# The whole dtm-field suite: lint, Rust unit/story/end-to-end tests, the API fuzzed
# against its contract, UI logic tests, the browser test of the HQ dashboard, and the
# field app's smoke test under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TARGET_DIR="$TARGET"

steps=0
step() { steps=$((steps + 1)); printf '\n==> %s\n' "$*"; }

step "setup"
scripts/setup.sh

# PostgreSQL is on the machine for the HQ storage story; start it if it is down.
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi

step "schemas: every form and vocabulary validates against its schema"
.venv/bin/check-jsonschema --schemafile schemas/form.schema.json schemas/forms/*.json
.venv/bin/check-jsonschema --schemafile schemas/vocabulary.schema.json schemas/vocabularies/*.json
.venv/bin/check-jsonschema --check-metaschema schemas/form.schema.json schemas/vocabulary.schema.json

step "ui: types, unit tests, build"
(cd ui && npm run check && npm test && npm run build)

step "rust: format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

# One build of every target with the workspace's unified features; the tests, the
# browser test and the smoke test below reuse it rather than rebuilding dependencies.
step "rust: build every target"
cargo build --workspace --all-targets

step "rust: unit, story and end-to-end tests (HQ on SQLite)"
cargo test --workspace

# The same HQ stories, fault tests included, with HQ on the real PostgreSQL: each
# test makes a schema of its own in the database `test` and drops it at the end.
step "rust: HQ stories and end-to-end tests again, HQ on PostgreSQL"
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
DTM_TEST_STORE=postgres cargo test -p dtm-hq -p dtm-e2e

step "api: HQ's API fuzzed against its OpenAPI contract (schemathesis)"
scripts/api-fuzz.sh

step "types: ui/src/lib/generated matches the Rust types"
if [ -n "$(git status --porcelain -- ui/src/lib/generated)" ]; then
  git status --short -- ui/src/lib/generated
  echo "The TypeScript types generated from Rust changed: commit ui/src/lib/generated." >&2
  exit 1
fi

step "browser: the HQ web dashboard in Chromium"
scripts/browser-test.sh

# The .deb an enumerator's laptop would get: installed with dpkg, the installed binary
# smoke-tested in a real Tauri window under Xvfb, then removed.
step "field app: the .deb installed, smoke-tested in a real Tauri window under Xvfb, removed"
scripts/installer-test.sh

echo
echo "dtm-field: the whole suite passed"
# Every step above stops the script on failure, so reaching here means all passed.
echo "steps: $steps passed, 0 failed"
