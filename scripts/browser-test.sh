#!/usr/bin/env bash
# Starts a real dtm-hq with demo data serving ui/dist, has an enumerator device
# submit the Tripoli assessment through the dtm CLI, then runs the Playwright tests:
# the supervisor returns it from the web dashboard, settles a conflict, and an admin
# manages people, devices and the audit log (in English and Arabic).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build -q --workspace --all-targets
[ -f ui/dist/index.html ] || (cd ui && npm run build)

work="$(mktemp -d)"
hq_pid=""
cleanup() { [ -n "$hq_pid" ] && kill "$hq_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$TARGET/debug/dtm-hq" serve --demo --listen 127.0.0.1:0 --database "$work/hq.sqlite3" --ui-dir ui/dist \
  > "$work/hq.out" 2> "$work/hq.err" &
hq_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/hq.out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^dtm-hq listening on //p' "$work/hq.out")"
[ -n "$url" ] || { cat "$work/hq.err"; echo "dtm-hq did not start" >&2; exit 1; }

dtm() { "$TARGET/debug/dtm" --store "$work/device.sqlite3" "$@"; }
dtm login --hq "$url" --user enumerator --password enumerator-demo >/dev/null
dtm set LY021104 idp_hh=10 idp_ind=50 ret_hh=2 ret_ind=9 mig_ind=100 mig_men=60 mig_women=30 mig_children=10 \
  need_1=shelter need_1_problem=too_expensive ki_count=3 'ki_types=["crisis_committee","baladiya_office"]' >/dev/null
dtm submit LY021104 >/dev/null
dtm sync

# 1. The supervisor returns the submitted assessment with a comment.
(cd ui && DTM_HQ_URL="$url" node --test tests/dashboard.browser.test.mjs)

# 2. Two devices change the same field of the returned assessment from the same base:
#    a conflict, which the supervisor then settles in the browser.
dtm2() { "$TARGET/debug/dtm" --store "$work/device2.sqlite3" "$@"; }
dtm sync >/dev/null
dtm2 login --hq "$url" --user enumerator --password enumerator-demo >/dev/null
dtm set LY021104 idp_ind=55 >/dev/null
dtm2 set LY021104 idp_ind=70 >/dev/null
dtm sync >/dev/null
dtm2 sync
(cd ui && DTM_HQ_URL="$url" node --test tests/conflicts.browser.test.mjs)

# 3. The enumerator submits three more Tripoli baladiyas, two clean and one with a
#    warning (10 households of 400 people); the supervisor works the review queue.
clean='idp_hh=10 idp_ind=50 ret_hh=2 ret_ind=9 mig_ind=100 mig_men=60 mig_women=30 mig_children=10 need_1=shelter need_1_problem=too_expensive ki_count=3'
for p in LY021101 LY021102; do
  # shellcheck disable=SC2086
  dtm set "$p" $clean 'ki_types=["crisis_committee","baladiya_office"]' >/dev/null
  dtm submit "$p" >/dev/null
done
# shellcheck disable=SC2086
dtm set LY021103 $clean idp_ind=400 'ki_types=["crisis_committee","baladiya_office"]' \
  'note:idp_household_size=Several families share each house since the flood' >/dev/null
dtm submit LY021103 >/dev/null
dtm sync >/dev/null
(cd ui && DTM_HQ_URL="$url" node --test tests/review.browser.test.mjs)

# 3b. Totals count approved figures unless drafts and submissions are asked for, marked.
(cd ui && DTM_HQ_URL="$url" node --test tests/totals.browser.test.mjs)

# 4. An admin creates a supervisor and an enumerator, issues an enrolment code, resets a
#    password, disables an account and revokes a device, then reads it in the audit log;
#    the supervisor must set a new password; the same in Arabic, ending with an enrolment.
(cd ui && DTM_HQ_URL="$url" node --test tests/people.browser.test.mjs)

# 4b. An admin adds a muhalla under its baladiya from the Locations page, renames and
#     retires it; in Arabic on a portrait tablet a refused change reads in Arabic.
(cd ui && DTM_HQ_URL="$url" node --test tests/locations.browser.test.mjs)

# 5. An admin imports three past rounds of every muhalla; the West supervisor reads the
#    change since the earlier one in the totals and on the map, in English and Arabic.
(cd ui && DTM_HQ_URL="$url" node --test tests/map.browser.test.mjs)

# 5b. The West supervisor prints R53's key figures to PDF in English and Arabic; the
#     PDFs' text is read back.
(cd ui && DTM_HQ_URL="$url" node --test tests/key.browser.test.mjs)

# 5c. An admin imports a past round (R40, before the others) from the Rounds page: a file
#     with mistakes refused by row and column in English and Arabic, then the corrected
#     one with a muhalla the gazetteer lacked. After the map and key-figures tests, whose
#     figures it would change.
(cd ui && DTM_HQ_URL="$url" node --test tests/import.browser.test.mjs)

# 5d. Every screen an admin reaches, in English and Arabic, at 1366×768 and 768×1024:
#     screenshotted, and failed on text that overflows or is left untranslated.
(cd ui && DTM_HQ_URL="$url" node --test tests/screens.browser.test.mjs)

# 6. The field app's screens (search, the calm offline bar, Enter between fields, rule
#    numbers, Arabic) in Chromium, with a stand-in for the Tauri IPC: the real window is
#    the smoke test's.
(cd ui && node --test tests/field.browser.test.mjs)

# 7. The entry grid: muhallas typed by keyboard and pasted from a spreadsheet, checks on
#    each row with their numbers, and the grid in Arabic, over the same stand-in.
(cd ui && node --test tests/grid.browser.test.mjs)
