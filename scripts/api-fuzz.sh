#!/usr/bin/env bash
# Fuzzes HQ's API against its own contract: schemathesis reads the OpenAPI document a
# real `dtm-hq serve --demo` serves (GET /api/v1/openapi.json) and sends every operation
# valid and invalid requests, as an enumerator and as an admin. It fails on any 5xx, on
# an answer whose body does not match the documented schema, on a status code or a
# content type the document does not list for that operation, on a documented response
# header that is wrong, on an operation that answers without the session it documents,
# on a required header whose absence is not refused, and on an undocumented method that
# is not refused with 405 and its Allow header.
#
# Not checked: positive_data_acceptance and negative_data_rejection. HQ refuses much that
# a schema cannot say (a P-code at the wrong level, a new password equal to the old one,
# a round code that is not `R` and its number) and reads 307.0 as no count, which JSON
# Schema calls an integer; those checks would fail on HQ being stricter than its schema.
#
# GET /api/v1/openapi.json is the document schemathesis reads, and schemathesis leaves
# it out of the operations it tests; tests/openapi.rs covers it.
#
# Usage: scripts/api-fuzz.sh   (after a build of dtm-hq; scripts/test.sh builds it)
#   CARGO_TARGET_DIR   where the debug build of dtm-hq is (default: ./target)
#   API_FUZZ_EXAMPLES  test cases per operation and phase (default: 25)
#   API_FUZZ_SEED      schemathesis's seed (default: fixed, so a failure reproduces)
#   API_FUZZ_KEEP=1    keep HQ's database, its log and the JUnit reports (the path is printed)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
HQ="$TARGET/debug/dtm-hq"
ST="$PWD/.venv/bin/schemathesis"
EXAMPLES="${API_FUZZ_EXAMPLES:-25}"
SEED="${API_FUZZ_SEED:-20261130}"
[ -x "$HQ" ] || { echo "api-fuzz: $HQ is missing; run cargo build -p dtm-hq --bin dtm-hq" >&2; exit 1; }
[ -x "$ST" ] || { echo "api-fuzz: $ST is missing; run scripts/setup.sh" >&2; exit 1; }
# schemathesis with a deeper Python recursion limit. On Python 3.11 a RecursionError while
# Hypothesis parses a large module's source (it reads lambdas' source to name them) is
# reported as "SystemError: AST constructor recursion depth mismatch" (CPython
# gh-106905) and fails the run at random; the stack Hypothesis builds needs more than
# the default 1,000 frames. Python frames cost no C stack in 3.11, so this is safe.
PY="$PWD/.venv/bin/python"
# The deeper limit is not always enough (it happened again with the audit log's query
# parameters): Hypothesis's lambda descriptions are only names for its own reports, so a
# SystemError from `ast.parse` there is answered with Hypothesis's own "unknown" name
# instead of failing a run whose every case passed.
st() {
  "$PY" -c 'import sys
sys.setrecursionlimit(10000)
import hypothesis.internal.lambda_sources as lambda_sources
_describe = lambda_sources._lambda_description
def _described(f, *args, **kwargs):
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"
lambda_sources._lambda_description = _described
sys.argv[0] = "schemathesis"
from schemathesis.cli import schemathesis
sys.exit(schemathesis())' "$@"
}

work="$(mktemp -d)"
hq_pid=""
cleanup() {
  if [ -n "$hq_pid" ]; then kill "$hq_pid" 2>/dev/null || true; wait "$hq_pid" 2>/dev/null || true; fi
  if [ "${API_FUZZ_KEEP:-}" = 1 ]; then echo "api-fuzz: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# HQ on a free loopback port with a database of its own; its first line is its address.
DTM_LOG=warn "$HQ" serve --demo --listen 127.0.0.1:0 --database "$work/hq.sqlite3" --ui-dir "$work/no-ui" \
  >"$work/hq.out" 2>"$work/hq.log" &
hq_pid=$!
url=""
for _ in $(seq 100); do
  url="$(sed -n 's/^dtm-hq listening on //p' "$work/hq.out" 2>/dev/null | head -n1)"
  [ -n "$url" ] && break
  kill -0 "$hq_pid" 2>/dev/null || { cat "$work/hq.log" >&2; echo "api-fuzz: dtm-hq did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "api-fuzz: dtm-hq printed no address" >&2; exit 1; }
echo "api-fuzz: HQ at $url"

# Every token first: the fuzzed logins below spend this address's login allowance (and
# may lock an account by guessing), which must not stop the runs after them.
token() {
  curl -sf -H 'content-type: application/json' -d "{\"username\":\"$1\",\"password\":\"$2\"}" \
    "$url/api/v1/auth/login" | "$PWD/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
enumerator="$(token enumerator enumerator-demo)"
admin="$(token admin admin-demo)"
leaving="$(token supervisor supervisor-demo)"

# Something to find behind the documented examples (round R1, form baladiya, P-code
# LY021104, conflict 1): two devices of the enumerator write one field from the same
# base, so the assessment has values and conflict 1 is open.
second="$(curl -sf -H 'content-type: application/json' \
  -d '{"username":"enumerator","password":"enumerator-demo","device_id":"01900000-0000-7000-8000-000000000002"}' \
  "$url/api/v1/auth/login" | "$PWD/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
push_edit() { # token op_id value
  curl -sf -o /dev/null -H "Authorization: Bearer $1" -H 'content-type: application/json' -H 'x-dtm-protocol: 3' \
    -d "{\"ops\":[{\"op_id\":\"$2\",\"seq\":1,\"key\":{\"round\":\"R1\",\"form\":\"baladiya\",\"location\":\"LY021104\"},
        \"hlc\":{\"millis\":1764500000000,\"counter\":0},\"form_version\":2,\"kind\":\"edit\",\"values\":{\"idp_hh\":$3}}]}" \
    "$url/api/v1/sync/push"
}
push_edit "$enumerator" 01900000-0000-7000-8000-00000000000a 12
push_edit "$second" 01900000-0000-7000-8000-00000000000b 15

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance
CHECKS="$CHECKS,response_schema_conformance,ignored_auth,missing_required_header,unsupported_method"
CHECKS="$CHECKS,allow_header_conformance"

fuzz() { # role token [schemathesis filters…]
  local role="$1" bearer="$2"
  shift 2
  echo
  echo "==> api-fuzz: as $role"
  # Phases: the documented examples, the coverage phase (boundaries and each kind of
  # invalid value, deterministic) and random fuzzing. The stateful phase has nothing to
  # follow: the document declares no links.
  # From the work directory, where schemathesis keeps its cache of failures to replay.
  (cd "$work" && st run "$url/api/v1/openapi.json" \
    --url "$url" \
    --header "Authorization: Bearer $bearer" \
    --checks "$CHECKS" \
    --phases examples,coverage,fuzzing \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers 2 \
    --request-timeout 10 \
    --suppress-health-check too_slow,filter_too_much \
    --report junit --report-dir "$work/report-${role%% *}" \
    "$@")
}

# POST /auth/logout ends the token it is called with, after which every other operation
# answers 401: it is left out of the runs that use the token, and fuzzed alone at the
# end with a token of its own. There ignored_auth is not checked: a logout answers 204
# for any token it is shown, ended, expired or unknown (it ends that token's session if
# there is one), so that a device that logged out offline can always finish doing so;
# without a token it answers 401, which the other checks see.
fuzz enumerator "$enumerator" --exclude-path /api/v1/auth/logout
# The admin run comes after the enumerator's: it may disable, reset or re-scope any
# account it guesses, the enumerator's included.
fuzz admin "$admin" --exclude-path /api/v1/auth/logout
fuzz "supervisor (logout only)" "$leaving" --include-path /api/v1/auth/logout --exclude-checks ignored_auth

if grep -q ' ERROR \| panicked' "$work/hq.log"; then
  echo "api-fuzz: HQ logged errors:" >&2
  grep ' ERROR \| panicked' "$work/hq.log" | head -n 20 >&2
  exit 1
fi
echo
echo "api-fuzz: HQ's API conforms to its contract"
