#!/usr/bin/env bash
# admin-cli.sh — `edgerec publish`, `edgerec rollout …` and `edgerec units …` (src/cli/er_admin.c)
# against tests/admin/fake-admin.mjs, a small stand-in for the Worker's admin
# API that records every request: the right method, path, bytes, headers and
# token; the server's JSON on stdout; HTTP, connection, DNS and timeout errors
# named with the URL; a bundle the engine refuses is never sent; events paged
# by cursor into one NDJSON file written atomically; units listed, put (PUT with the file's
# unitId, POST without), fetched and deleted, the Worker's 400 / 404 / 409 messages relayed
# (the fake answers units through worker-shim/core/units.js); the token never printed.
# EDGEREC selects the binary (default build/edgerec).
# Prints "admin-cli: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
source tests/lib/checks.sh
E=${EDGEREC:-build/edgerec}
FAKE=tests/admin/fake-admin.mjs
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
finish() { echo "admin-cli: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
for f in "$E" "$FAKE" tests/data/sample-linear.json tests/data/sample-trees.json tests/data/sample-catalog.json; do
  [ -e "$f" ] || no "missing $f (nothing is skipped)"
done
[ "$fail" -eq 0 ] || finish
# the fake listens on 127.0.0.1: no proxy may intercept, no token may leak in from outside
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy EDGEREC_ADMIN_TOKEN EDGEREC_ADMIN_TIMEOUT
TOKEN="tok-$RANDOM$RANDOM-s3cret"

# start_fake NAME [fake options]: sets URL and LOG for it
start_fake() {
  local name=$1; shift
  "$NODE" "$FAKE" --token "$TOKEN" --log "$TMP/$name.log" --port-file "$TMP/$name.port" "$@" 2>"$TMP/$name.fake-err" &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$name.port" ] || { no "the fake admin API ($name) did not start: $(cat "$TMP/$name.fake-err")"; finish; }
  : >>"$TMP/$name.log"
  URL=http://127.0.0.1:$(cat "$TMP/$name.port")
  LOG=$TMP/$name.log
}
# run CMD...: OUT, ERR, RC; every output is kept to prove the token never shows
run() { OUT=$("$@" 2>"$TMP/err"); RC=$?; ERR=$(cat "$TMP/err"); printf '%s\n%s\n' "$OUT" "$ERR" >>"$TMP/all-output"; }
nreq() { wc -l <"$LOG" | tr -d ' '; }
# req N EXPR: a JS expression over request N (1-based; negative from the end) of $LOG, printed
req() { "$NODE" -e '
  const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
  const n=Number(process.argv[2]); const r=l[n<0?l.length+n:n-1]; console.log(r?eval(process.argv[3]):"(none)")' "$LOG" "$1" "$2"; }
# jget EXPR: a JS expression over d = JSON.parse($OUT)
jget() { "$NODE" -e 'let d; try { d=JSON.parse(process.argv[1]) } catch { console.log("(not JSON)"); process.exit() } console.log(eval(process.argv[2]))' "$OUT" "$1"; }
has() { grep -qF -- "$2" <<<"$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- bundles -------------------------------------------------------------------
$E pack --model tests/data/sample-linear.json --catalog tests/data/sample-catalog.json --out "$TMP/linear.erb" 2>/dev/null
$E pack --model tests/data/sample-trees.json --catalog tests/data/sample-catalog.json --out "$TMP/trees.erb" 2>/dev/null
"$NODE" -e 'const fs=require("fs"); const m=JSON.parse(fs.readFileSync(process.argv[1],"utf8")); m.bias+=0.5;
  fs.writeFileSync(process.argv[2], JSON.stringify(m))' tests/data/sample-linear.json "$TMP/linear-variant.json"
$E pack --model "$TMP/linear-variant.json" --catalog tests/data/sample-catalog.json --out "$TMP/variant.erb" 2>/dev/null
cp "$TMP/linear.erb" "$TMP/corrupt.erb"
printf '\x55' | dd of="$TMP/corrupt.erb" bs=1 seek=300 conv=notrunc 2>/dev/null
echo 'not a bundle at all' >"$TMP/text.erb"
check "setup: two sample bundles and a same-version variant packed" \
  bash -c "test -s '$TMP/linear.erb' -a -s '$TMP/trees.erb' -a -s '$TMP/variant.erb' && ! cmp -s '$TMP/linear.erb' '$TMP/variant.erb'"

start_fake main --events 7 --page-size 3
MAIN_URL=$URL
export EDGEREC_ADMIN_TOKEN=$TOKEN

# ---- usage errors (exit 2, nothing sent) ---------------------------------------------
run $E publish;                                          check "publish without a bundle: exit 2" test $RC -eq 2
run $E publish "$TMP/linear.erb";                        check "publish without --url: exit 2 naming --url" bash -c "test $RC -eq 2 && grep -q -- '--url' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/linear.erb" --url ftp://example.com; check "--url ftp://: exit 2 (http(s) only)" bash -c "test $RC -eq 2 && grep -q 'http:// or https://' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/linear.erb" --url "$URL?x=1";       check "--url with a query: exit 2" test $RC -eq 2
run $E publish "$TMP/linear.erb" --url "$URL" --canary 101; check "--canary 101: exit 2" bash -c "test $RC -eq 2 && grep -q '1..100' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/linear.erb" --url "$URL" --canary 0;   check "--canary 0: exit 2" test $RC -eq 2
run $E publish "$TMP/linear.erb" --url "$URL" --canary ten; check "--canary ten: exit 2" test $RC -eq 2
run $E rollout;                                          check "rollout without a subcommand: exit 2" test $RC -eq 2
run $E rollout frobnicate --url "$URL";                  check "rollout frobnicate: exit 2" test $RC -eq 2
run $E rollout status --url "$URL" --since 5;            check "rollout status --since: exit 2 (does not apply)" bash -c "test $RC -eq 2 && grep -q 'does not apply' <<<\"\$0\"" "$ERR"
run $E rollout status --url "$URL" --bogus;              check "unknown option: exit 2" test $RC -eq 2
run $E rollout bundle --url "$URL";                      check "rollout bundle without --out: exit 2" bash -c "test $RC -eq 2 && grep -q -- '--out' <<<\"\$0\"" "$ERR"
run $E rollout events --url "$URL" --since yesterday;    check "--since yesterday: exit 2 (unix seconds)" bash -c "test $RC -eq 2 && grep -q 'unix seconds' <<<\"\$0\"" "$ERR"
run $E rollout events --url "$URL" --max-pages 0;        check "--max-pages 0: exit 2" test $RC -eq 2
run env -u EDGEREC_ADMIN_TOKEN $E rollout status --url "$URL"
check "no token anywhere: exit 2 naming EDGEREC_ADMIN_TOKEN" bash -c "test $RC -eq 2 && grep -q EDGEREC_ADMIN_TOKEN <<<\"\$0\"" "$ERR"
run $E rollout status --url "$URL" --token $'a\r\nX-Evil: 1'
check "a token with a line break: exit 2 (no header injection)" test $RC -eq 2
run $E rollout --help
check "rollout --help: usage on stdout, exit 0" bash -c "test $RC -eq 0 && grep -q 'edgerec publish' <<<\"\$0\"" "$OUT"
check "usage errors sent nothing" test "$(nreq)" -eq 0

# ---- a bundle the engine refuses is never sent (exit 4) --------------------------------
run $E publish "$TMP/corrupt.erb" --url "$URL"
check "corrupted bundle: exit 4 with the engine's reason (checksum)" bash -c "test $RC -eq 4 && grep -q 'checksum' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/text.erb" --url "$URL" --canary 5
check "not a bundle: exit 4 naming the file" bash -c "test $RC -eq 4 && grep -qF '$TMP/text.erb' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/missing.erb" --url "$URL"
check "missing bundle file: exit 4 naming it" bash -c "test $RC -eq 4 && grep -q 'missing.erb' <<<\"\$0\"" "$ERR"
check "invalid bundles were never sent" test "$(nreq)" -eq 0

# ---- publish ---------------------------------------------------------------------------
run $E publish "$TMP/linear.erb" --url "$URL/"
check "publish: exit 0" test $RC -eq 0
check "publish: PUT /edge/admin/bundles/<version from the header>" test "$(req 1 'r.method+" "+r.url')" = "PUT /edge/admin/bundles/sample-linear-1"
check "publish: the bundle's exact bytes" test "$(req 1 'r.len+" "+r.sha256')" = "$(stat -c %s "$TMP/linear.erb") $(sha "$TMP/linear.erb")"
check "publish: content-type application/octet-stream" test "$(req 1 r.ctype)" = application/octet-stream
check "publish: Authorization: Bearer <the env token>" test "$(req 1 r.authorization)" = "Bearer $TOKEN"
check "publish: no Expect: 100-continue" test "$(req 1 r.expect)" = null
check "publish: the server's JSON on stdout (201 body)" test "$(jget 'd.version+" "+d.model+" "+d.work_units')" = "sample-linear-1 linear 1234"
check "publish: stderr says stored" has "$ERR" "stored"
run $E publish "$TMP/linear.erb" --url "$URL"
check "publish the same bytes again: 200, exit 0, 'already stored'" bash -c "test $RC -eq 0 && grep -q 'already stored' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/variant.erb" --url "$URL"
check "another bundle under the same version: exit 3" test $RC -eq 3
check "409: the status and the server's message on stderr" bash -c "grep -q 'HTTP 409' <<<\"\$0\" && grep -q 'already holds a different bundle' <<<\"\$0\"" "$ERR"
check "409: the message names the request" has "$ERR" "PUT $URL/edge/admin/bundles/sample-linear-1"
n0=$(nreq)
run $E publish "$TMP/trees.erb" --url "$URL" --canary 10
check "publish --canary 10: exit 0" test $RC -eq 0
check "publish --canary: PUT then POST /edge/admin/rollout" test "$(req -2 'r.method+" "+r.url'),$(req -1 'r.method+" "+r.url')" = "PUT /edge/admin/bundles/sample-trees-1,POST /edge/admin/rollout"
check "publish --canary: exactly two requests" test $(($(nreq) - n0)) -eq 2
check "publish --canary: rollout body {canary, percent}" test "$(req -1 'const b=JSON.parse(r.json); b.canary+" "+b.percent+" "+r.ctype')" = "sample-trees-1 10 application/json"
check "publish --canary: stdout {published, rollout}" test "$(jget 'd.published.version+" "+d.rollout.canary+" "+d.rollout.percent')" = "sample-trees-1 sample-trees-1 10"

# ---- auth ----------------------------------------------------------------------------
run $E rollout status --url "$URL" --token wrong-token-value
check "wrong token: exit 3" test $RC -eq 3
check "401: HTTP status, server message and a hint about the token" \
  bash -c "grep -q 'HTTP 401' <<<\"\$0\" && grep -q 'wrong admin token' <<<\"\$0\" && grep -q 'EDGEREC_ADMIN_TOKEN' <<<\"\$0\"" "$ERR"
check "401: the refused token is not printed" bash -c "! grep -q 'wrong-token-value' <<<\"\$0\"" "$OUT$ERR"
run $E rollout status --url "$URL"
check "no EDGEREC_ADMIN_ACTOR: no X-Edgerec-Actor header" test "$(req -1 r.actor)" = null
n0=$(nreq); run env EDGEREC_ADMIN_ACTOR=retrain $E rollout status --url "$URL"
check "EDGEREC_ADMIN_ACTOR=retrain: sent as X-Edgerec-Actor (the audit log's actor)" test "$RC,$(($(nreq) - n0)),$(req -1 r.actor)" = "0,1,retrain"
n0=$(nreq); run env EDGEREC_ADMIN_ACTOR='Retrain: x' $E rollout status --url "$URL"
check "a malformed EDGEREC_ADMIN_ACTOR: exit 2 naming it, nothing sent" \
  bash -c "test $RC -eq 2 && test $(($(nreq) - n0)) -eq 0 && grep -q EDGEREC_ADMIN_ACTOR <<<\"\$0\"" "$ERR"
run env -u EDGEREC_ADMIN_TOKEN $E rollout status --url "$URL" --token "$TOKEN"
check "--token works without the env var" bash -c "test $RC -eq 0 && test \"\$0\" = 'Bearer $TOKEN'" "$(req -1 r.authorization)"

# ---- status / promote / rollback ---------------------------------------------------------
run $E rollout status --url "$URL"
check "status: exit 0, GET /edge/admin/status" test "$RC $(req -1 'r.method+" "+r.url')" = "0 GET /edge/admin/status"
check "status: the server's JSON on stdout" test "$(jget 'd.canary+" "+d.percent+" "+Object.keys(d.versions).length+" "+d.decisions.length')" = "sample-trees-1 10 2 1"
check "status: indented JSON" bash -c "test \$(wc -l <<<\"\$0\") -gt 5" "$OUT"
check "status: a one-line summary on stderr" has "$ERR" "canary sample-trees-1 at 10%"
check "status: the unit KPIs per version and type on stderr" has "$ERR" \
  "units sample-trees-1 viewed-viewed: views 200, clicks 30 (CTR 15.0%), carts 4, purchases 3 (conversion 10.0%), revenue 134.5"
check "status: a rate without a denominator is n/a; a type's control bytes are not printed" \
  bash -c "grep -q ' \[31mevil: views 0, clicks 0 (CTR n/a), carts 1, purchases 0 (conversion n/a), revenue 0' <<<\"\$0\" && ! grep -q \$'\\x1b' <<<\"\$0\"" "$ERR"
run $E rollout promote --url "$URL"
check "promote: exit 0, POST /edge/admin/promote" test "$RC $(req -1 'r.method+" "+r.url')" = "0 POST /edge/admin/promote"
check "promote: the manifest on stdout" test "$(jget 'd.active+" "+d.canary')" = "sample-trees-1 null"
run $E rollout rollback --url "$URL"
check "rollback without a canary: exit 3" test $RC -eq 3
check "409 'no canary' surfaced with the status" bash -c "grep -q 'HTTP 409: no canary' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/linear.erb" --url "$URL" --canary 25
run $E rollout rollback --url "$URL"
check "rollback of a canary: exit 0, manifest without it" test "$RC $(jget 'd.active+" "+d.canary+" "+d.percent')" = "0 sample-trees-1 null 0"
check "rollback: POST /edge/admin/rollback" test "$(req -1 'r.method+" "+r.url')" = "POST /edge/admin/rollback"

# ---- segments and the kill switch (the fake answers with core/segments.js's own checks) ---------------
SEG='{"store":["default"],"channel":["app"],"country":["DE","AT"]}'
n0=$(nreq)
run $E rollout start sample-linear-1 --canary 20 --segment '{"store":' --url "$URL"
check "rollout start --segment with malformed JSON: exit 2 naming --segment" bash -c "test $RC -eq 2 && grep -q -- '--segment must be a JSON object' <<<\"\$0\"" "$ERR"
run $E rollout start sample-linear-1 --url "$URL"
check "rollout start without --canary: exit 2" bash -c "test $RC -eq 2 && grep -q -- '--canary PERCENT' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/linear.erb" --segment "$SEG" --url "$URL"
check "publish --segment without --canary: exit 2" test $RC -eq 2
run $E rollout scope '[1]' --url "$URL"
check "rollout scope with a non-object: exit 2" test $RC -eq 2
run $E resume --reason x --url "$URL"
check "resume --reason: exit 2 (does not apply)" bash -c "test $RC -eq 2 && grep -q 'does not apply' <<<\"\$0\"" "$ERR"
check "segment usage errors sent nothing" test "$(nreq)" -eq "$n0"
run $E rollout start sample-linear-1 --canary 20 --segment "$SEG" --url "$URL"
check "rollout start --segment: exit 0, POST /edge/admin/rollout" test "$RC $(req -1 'r.method+" "+r.url')" = "0 POST /edge/admin/rollout"
check "rollout start: the body is {canary, percent, segment}" \
  test "$(req -1 'const b=JSON.parse(r.json); b.canary+" "+b.percent+" "+JSON.stringify(b.segment)')" = "sample-linear-1 20 $SEG"
check "rollout start: the summary names the canary and its segment" \
  has "$ERR" 'canary sample-linear-1 at 20%, holdout 5%, canary segment {"channel":["app"],"country":["AT","DE"],"store":["default"]}'
run $E rollout start sample-linear-1 --canary 20 --segment '{"planet":["mars"]}' --url "$URL"
check "an unknown segment key: exit 3 with the server's message naming it" bash -c "test $RC -eq 3 && grep -q 'HTTP 400: segment: unknown key \"planet\"' <<<\"\$0\"" "$ERR"
run $E publish "$TMP/linear.erb" --canary 30 --segment '{"device":["mobile"]}' --url "$URL"
check "publish --canary --segment: the rollout body carries the segment" \
  test "$RC $(req -1 'JSON.stringify(JSON.parse(r.json).segment)')" = '0 {"device":["mobile"]}'
run $E rollout scope '{"country":["DE"],"group":["guest"]}' --url "$URL"
check "rollout scope: PUT /edge/admin/scope {scope}" \
  test "$RC $(req -1 'r.method+" "+r.url+" "+JSON.stringify(JSON.parse(r.json))')" = '0 PUT /edge/admin/scope {"scope":{"country":["DE"],"group":["guest"]}}'
check "rollout scope: the summary names the scope" has "$ERR" 'scope {"country":["DE"],"group":["guest"]}'
run $E rollout scope '{"group":["vip"]}' --url "$URL"
check "a bad scope value: exit 3 naming it" bash -c "test $RC -eq 3 && grep -q 'scope.group: unknown value \"vip\"' <<<\"\$0\"" "$ERR"
run $E rollout scope none --url "$URL"
check "rollout scope none: {\"scope\":null}" test "$RC $(req -1 'r.json')" = '0 {"scope":null}'
run $E pause --reason 'incident "42"' --url "$URL"
check "pause: POST /edge/admin/pause with the reason as JSON" \
  test "$RC $(req -1 'r.method+" "+r.url+" "+JSON.parse(r.json).reason')" = '0 POST /edge/admin/pause incident "42"'
check "pause: the summary says PAUSED" has "$ERR" "PAUSED (origin order for everyone)"
run $E resume --url "$URL"
check "resume: POST /edge/admin/resume, no body, not paused" \
  bash -c "test '$RC $(req -1 'r.method+" "+r.url+" "+r.len')' = '0 POST /edge/admin/resume 0' && ! grep -q PAUSED <<<\"\$0\"" "$ERR"
run $E rollout rollback --url "$URL"

# ---- events: pages and cursors ---------------------------------------------------------------
n0=$(nreq)
run $E rollout events --url "$URL" --out "$TMP/events.ndjson"
check "events: exit 0" test $RC -eq 0
check "events: 3 requests (pages of 3, 3, 1)" test $(($(nreq) - n0)) -eq 3
check "events: all 7 events once, in order, one NDJSON file" test "$("$NODE" -e '
  try { const l=require("fs").readFileSync(process.argv[1],"utf8").split("\n"); const last=l.pop();
  console.log(last===""?l.map(x=>JSON.parse(x).id).join(","):"no final newline") } catch (e) { console.log(String(e)) }' "$TMP/events.ndjson")" = "e-1,e-2,e-3,e-4,e-5,e-6,e-7"
check "events: cursors followed and escaped (page 2 and 3 ask for the server's cursors)" \
  test "$(req -2 r.url) $(req -1 r.url)" = "/edge/admin/events?cursor=c%2B3%2Fx%26y%3Dz%3D%3D /edge/admin/events?cursor=c%2B6%2Fx%26y%3Dz%3D%3D"
check "events: progress on stderr (pages, events)" bash -c "grep -q 'page 3: 1 event ' <<<\"\$0\" && grep -q '7 events in 3 pages' <<<\"\$0\"" "$ERR"
check "events: asks for NDJSON" test "$(req -1 r.accept)" = application/x-ndjson
check "events: no temporary file left" test -z "$(ls "$TMP" | grep 'events.ndjson.tmp')"
run $E rollout events --url "$URL" --since 1700000200
check "events --since to stdout: the later events" test "$RC $(printf '%s\n' "$OUT" | "$NODE" -e '
  try { console.log(require("fs").readFileSync(0,"utf8").trim().split("\n").map(x=>JSON.parse(x).id).join(",")) } catch (e) { console.log(String(e)) }')" = "0 e-5,e-6,e-7"
check "events --since: sent as a query parameter" test "$(req -1 r.url)" = "/edge/admin/events?since=1700000200"
echo 'old content' >"$TMP/empty.ndjson"
run $E rollout events --url "$URL" --since 9999999999 --out "$TMP/empty.ndjson"
check "events on an empty log: exit 0, an empty file, '0 events'" \
  bash -c "test $RC -eq 0 -a -f '$TMP/empty.ndjson' -a ! -s '$TMP/empty.ndjson' && grep -q '0 events in 1 page' <<<\"\$0\"" "$ERR"
echo 'keep me' >"$TMP/loop.ndjson"
run $E rollout events --url "$URL/loop" --out "$TMP/loop.ndjson"
check "events: a cursor loop stops with exit 3 naming it" bash -c "test $RC -eq 3 && grep -q 'cursor loop' <<<\"\$0\"" "$ERR"
check "events: on failure the --out file is untouched and no temporary file is left" \
  bash -c "test \"\$(cat '$TMP/loop.ndjson')\" = 'keep me' && ! ls '$TMP' | grep -q 'loop.ndjson.tmp'"
run $E rollout events --url "$URL" --max-pages 2 --out "$TMP/capped.ndjson"
check "events: more pages than --max-pages: exit 3, nothing written" bash -c "test $RC -eq 3 -a ! -e '$TMP/capped.ndjson' && grep -q 'max-pages' <<<\"\$0\"" "$ERR"
run $E rollout events --url "$URL/badtype"
check "events: a non-NDJSON response is refused (exit 3, names the content-type)" bash -c "test $RC -eq 3 && grep -q 'application/json' <<<\"\$0\"" "$ERR"
run $E rollout events --url "$URL" --out "$TMP/no-such-dir/e.ndjson"
check "events: an unwritable --out: exit 3 naming it" bash -c "test $RC -eq 3 && grep -q 'no-such-dir/e.ndjson' <<<\"\$0\"" "$ERR"

# ---- bundle download ------------------------------------------------------------------------------
run $E rollout bundle --url "$URL" --out "$TMP/active.erb"
check "bundle (active): exit 0, the active bundle's bytes" bash -c "test $RC -eq 0 && cmp -s '$TMP/active.erb' '$TMP/trees.erb'"
check "bundle (active): asked the status, then GET /edge/admin/bundles/sample-trees-1" \
  test "$(req -2 r.url) $(req -1 r.url)" = "/edge/admin/status /edge/admin/bundles/sample-trees-1"
check "bundle: a JSON summary on stdout" test "$(jget 'd.version+" "+d.model+" "+d.bytes')" = "sample-trees-1 trees $(stat -c %s "$TMP/trees.erb")"
run $E rollout bundle active --url "$URL" --out "$TMP/active2.erb"
check "bundle active (positional): the same bytes" bash -c "test $RC -eq 0 && cmp -s '$TMP/active2.erb' '$TMP/trees.erb'"
run $E rollout bundle --url "$URL" --version sample-linear-1 --out "$TMP/linear-dl.erb"
check "bundle --version: exit 0, that version's bytes" bash -c "test $RC -eq 0 && cmp -s '$TMP/linear-dl.erb' '$TMP/linear.erb'"
run $E rollout bundle --url "$URL" --version nope-9 --out "$TMP/nope.erb"
check "bundle of an unknown version: exit 3, HTTP 404 and the server's message, no file" \
  bash -c "test $RC -eq 3 -a ! -e '$TMP/nope.erb' && grep -q 'HTTP 404: no bundle nope-9' <<<\"\$0\"" "$ERR"
run $E rollout bundle --url "$URL/evil" --version sample-linear-1 --out "$TMP/evil.erb"
check "a downloaded bundle the engine refuses: exit 4, not written" bash -c "test $RC -eq 4 -a ! -e '$TMP/evil.erb' && grep -q 'checksum' <<<\"\$0\"" "$ERR"

# ---- units (recommendation units: list / get / put / delete) -------------------------------------------
URL=$MAIN_URL LOG=$TMP/main.log
n0=$(nreq)
run $E units;                               check "units without a subcommand: exit 2" bash -c "test $RC -eq 2 && grep -q 'list, get, put or delete' <<<\"\$0\"" "$ERR"
run $E units frobnicate --url "$URL";       check "units frobnicate: exit 2" test $RC -eq 2
run $E units get --url "$URL";              check "units get without an id: exit 2" bash -c "test $RC -eq 2 && grep -q 'needs a unit id' <<<\"\$0\"" "$ERR"
run $E units get 'a b' --url "$URL";        check "units get 'a b': exit 2 naming what an id may hold" bash -c "test $RC -eq 2 && grep -q '1..64 characters' <<<\"\$0\"" "$ERR"
run $E units put --url "$URL";              check "units put without a file: exit 2" bash -c "test $RC -eq 2 && grep -q 'needs a unit file' <<<\"\$0\"" "$ERR"
run $E units list extra --url "$URL";       check "units list with an argument: exit 2" test $RC -eq 2
run $E units list --url "$URL" --since 5;   check "units list --since: exit 2 (does not apply)" bash -c "test $RC -eq 2 && grep -q 'does not apply' <<<\"\$0\"" "$ERR"
run $E units list;                          check "units list without --url: exit 2 naming --url" bash -c "test $RC -eq 2 && grep -q -- '--url' <<<\"\$0\"" "$ERR"
run $E units --help;                        check "units --help: usage on stdout naming units, exit 0" bash -c "test $RC -eq 0 && grep -q 'edgerec units list|get ID|put FILE.json|delete ID' <<<\"\$0\"" "$OUT"
run $E --help;                              check "edgerec --help names the units command" has "$OUT" "units     list|get ID|put FILE.json|delete ID"
check "units usage errors sent nothing" test $(($(nreq) - n0)) -eq 0

run $E units list --url "$URL"
check "units list: exit 0, GET /edge/admin/units" test "$RC $(req -1 'r.method+" "+r.url')" = "0 GET /edge/admin/units"
check "units list (nothing stored): the 10 defaults on stdout, all marked default" \
  test "$(jget 'd.units.length+" "+d.units.every(u=>u.default)+" "+d.revision')" = "10 true 0"
check "units list: a line a unit and a summary on stderr" \
  bash -c "grep -q 'edgerec-default-product-1 *viewed-viewed *active *default Customers who viewed this product also viewed' <<<\"\$0\" && grep -q '10 units (0 stored, 10 defaults), revision 0' <<<\"\$0\"" "$ERR"

cat >"$TMP/hero.json" <<'JSON'
{"unitId": "home-hero", "unitName": "Home hero", "storefrontLabel": "Picked for you", "typeId": "just-for-you",
 "pageType": "CMS", "itemCount": 8, "filters": {"excludeCategories": ["Sale"]}}
JSON
run $E units put "$TMP/hero.json" --url "$URL"
check "units put FILE with a unitId: exit 0, PUT /edge/admin/units/home-hero" test "$RC $(req -1 'r.method+" "+r.url')" = "0 PUT /edge/admin/units/home-hero"
check "units put: the file's exact bytes as application/json" test "$(req -1 'r.len+" "+r.sha256+" "+r.ctype')" = "$(stat -c %s "$TMP/hero.json") $(sha "$TMP/hero.json") application/json"
check "units put: the server's JSON on stdout (created, the unit with its defaults)" \
  test "$(jget 'd.created+" "+d.unit.unitId+" "+d.unit.itemCount+" "+d.unit.backfill+" "+d.unit.displayOrder')" = "true home-hero 8 most-viewed 3"
check "units put: stderr says created and the revision" has "$ERR" "unit home-hero created, revision 1"
run $E units put "$TMP/hero.json" --url "$URL"
check "units put of the same unit again: exit 0, 'unchanged'" bash -c "test $RC -eq 0 && grep -q 'unit home-hero unchanged, revision 1' <<<\"\$0\"" "$ERR"
"$NODE" -e 'const fs=require("fs"); const u=JSON.parse(fs.readFileSync(process.argv[1],"utf8")); u.itemCount=6; fs.writeFileSync(process.argv[2], JSON.stringify(u))' "$TMP/hero.json" "$TMP/hero6.json"
run $E units put - --url "$URL" <"$TMP/hero6.json"
check "units put - (standard input): exit 0, replaced" bash -c "test $RC -eq 0 && grep -q 'unit home-hero replaced, revision 2' <<<\"\$0\"" "$ERR"
echo '{"unitName": "Cart picks", "typeId": "bought-bought", "pageType": "Cart"}' >"$TMP/noid.json"
run $E units put "$TMP/noid.json" --url "$URL"
NEWID=$(jget 'd.unit.unitId')
check "units put FILE without a unitId: POST /edge/admin/units, the Worker's new id" \
  bash -c "test $RC -eq 0 && test \"\$0\" = 'POST /edge/admin/units' && grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<\"\$1\" && grep -q \"unit \$1 created\" <<<\"\$2\"" \
  "$(req -1 'r.method+" "+r.url')" "$NEWID" "$ERR"

run $E units get home-hero --url "$URL"
check "units get ID: exit 0, GET /edge/admin/units/home-hero, the unit on stdout" \
  test "$RC $(req -1 'r.method+" "+r.url') $(jget 'd.unitId+" "+d.itemCount+" "+d.default')" = "0 GET /edge/admin/units/home-hero home-hero 6 false"
run $E units get nope-1 --url "$URL"
check "units get of an unknown id: exit 3, HTTP 404 and the server's message" bash -c "test $RC -eq 3 && grep -q \"HTTP 404: no unit 'nope-1'\" <<<\"\$0\"" "$ERR"

echo '{"unitId": "bad-1", "unitName": "x", "typeId": "trending", "pageType": "Cart", "itemCount": 30}' >"$TMP/bad.json"
run $E units put "$TMP/bad.json" --url "$URL"
check "units put refused by the Worker (400): exit 3, the request, HTTP 400 and the field named" \
  bash -c "test $RC -eq 3 && grep -qF 'PUT $URL/edge/admin/units/bad-1: HTTP 400: itemCount: must be an integer 1..25 (got 30)' <<<\"\$0\"" "$ERR"
echo '{"unitId": "bad-2", "unitName": "x", "typeId": "trending", "pageType": "product"}' >"$TMP/bad2.json"
run $E units put "$TMP/bad2.json" --url "$URL"
check "a 400 relays the Worker's hint (pageType: did you mean 'Product'?)" bash -c "test $RC -eq 3 && grep -q \"pageType: must be one of .*did you mean 'Product'\" <<<\"\$0\"" "$ERR"
for i in 4 5; do
  echo "{\"unitId\": \"home-$i\", \"unitName\": \"Home $i\", \"typeId\": \"trending\", \"pageType\": \"CMS\"}" >"$TMP/home-$i.json"
  run $E units put "$TMP/home-$i.json" --url "$URL"
done
check "units put: CMS up to its 5 active units" test "$RC" -eq 0
echo '{"unitId": "home-6", "unitName": "Home 6", "typeId": "trending", "pageType": "CMS"}' >"$TMP/home-6.json"
run $E units put "$TMP/home-6.json" --url "$URL"
check "units put over 5 active units on a page type: exit 3, HTTP 409 naming the page type" \
  bash -c "test $RC -eq 3 && grep -q 'HTTP 409: CMS would have 6 active units; at most 5' <<<\"\$0\"" "$ERR"

n0=$(nreq)
run $E units put "$TMP/missing.json" --url "$URL"
check "units put of a missing file: exit 3 naming it" bash -c "test $RC -eq 3 && grep -q 'missing.json' <<<\"\$0\"" "$ERR"
echo '{"unitName": ' >"$TMP/broken.json"
run $E units put "$TMP/broken.json" --url "$URL"
check "units put of a file that is not JSON: exit 3 naming it" bash -c "test $RC -eq 3 && grep -qF '$TMP/broken.json' <<<\"\$0\" && grep -q 'not JSON' <<<\"\$0\"" "$ERR"
echo '[{"unitName": "x"}]' >"$TMP/list.json"
run $E units put "$TMP/list.json" --url "$URL"
check "units put of a JSON array: exit 3 (one unit is a JSON object)" bash -c "test $RC -eq 3 && grep -q 'must be a JSON object' <<<\"\$0\"" "$ERR"
echo '{"unitId": "has space", "unitName": "x", "typeId": "trending", "pageType": "CMS"}' >"$TMP/badid.json"
run $E units put "$TMP/badid.json" --url "$URL"
check "units put with an impossible unitId: exit 3 naming unitId" bash -c "test $RC -eq 3 && grep -q 'unitId must be 1..64' <<<\"\$0\"" "$ERR"
"$NODE" -e 'process.stdout.write(JSON.stringify({unitName: "x".repeat(70000)}))' >"$TMP/huge.json"
run $E units put "$TMP/huge.json" --url "$URL"
check "units put of a file over 64 KiB: exit 3 naming the limit" bash -c "test $RC -eq 3 && grep -q '65536' <<<\"\$0\"" "$ERR"
check "local unit-file errors sent nothing" test $(($(nreq) - n0)) -eq 0

run $E units delete "$NEWID" --url "$URL"
check "units delete ID: exit 0, DELETE /edge/admin/units/ID, the deleted unit on stdout" \
  test "$RC $(req -1 'r.method+" "+r.url') $(jget 'd.deleted.unitId')" = "0 DELETE /edge/admin/units/$NEWID $NEWID"
check "units delete: stderr says deleted" has "$ERR" "unit $NEWID deleted"
run $E units delete "$NEWID" --url "$URL"
check "units delete of an unknown id: exit 3, HTTP 404" bash -c "test $RC -eq 3 && grep -q 'HTTP 404: no unit' <<<\"\$0\"" "$ERR"
run $E units delete edgerec-default-checkout-1 --url "$URL"
check "units delete of a default: exit 3, HTTP 409 saying how to hide it" bash -c "test $RC -eq 3 && grep -q 'HTTP 409: .*is a default unit.*inactive' <<<\"\$0\"" "$ERR"
run $E units list --url "$URL"
check "units list after the changes: CMS and Cart stored (their defaults kept as stored units), Product still the defaults" \
  test "$(jget '["CMS","Cart","Product"].map(p=>d.units.filter(u=>u.pageType===p).map(u=>u.unitId+":"+u.default).join(",")).join(" ")+" "+d.pageTypes.CMS.active')" \
  = "edgerec-default-cms-1:false,edgerec-default-cms-2:false,home-hero:false,home-4:false,home-5:false edgerec-default-cart-1:false,edgerec-default-cart-2:false edgerec-default-product-1:true,edgerec-default-product-2:true 5"

run $E units list --url "$URL" --token wrong-token-value
check "units list with a wrong token: exit 3, HTTP 401 and the token hint, the token not printed" \
  bash -c "test $RC -eq 3 && grep -q 'HTTP 401' <<<\"\$0\" && grep -q EDGEREC_ADMIN_TOKEN <<<\"\$0\" && ! grep -q 'wrong-token-value' <<<\"\$0\"" "$OUT$ERR"

# ---- transport failures ------------------------------------------------------------------------------
n0=$(nreq)
run $E publish "$TMP/linear.erb" --url "$URL/moved"
check "a redirect is not followed: exit 3 naming the status and Location" \
  bash -c "test $RC -eq 3 && grep -q 'HTTP 308 redirect to http://elsewhere.invalid' <<<\"\$0\" && grep -q 'not followed' <<<\"\$0\"" "$ERR"
check "a redirect: the PUT was sent once" test $(($(nreq) - n0)) -eq 1
run $E rollout status --url "$URL/html"
check "a non-JSON error page: exit 3, HTTP 502 and an excerpt" bash -c "test $RC -eq 3 && grep -q 'HTTP 502: <html><body><h1>502 Bad Gateway' <<<\"\$0\"" "$ERR"
run env EDGEREC_ADMIN_TIMEOUT=1 $E rollout status --url "$URL/slow"
check "a server that never answers: exit 3, 'timed out' with the URL" \
  bash -c "test $RC -eq 3 && grep -q 'timed out' <<<\"\$0\" && grep -qF '$URL/slow/edge/admin/status' <<<\"\$0\"" "$ERR"
run env EDGEREC_ADMIN_TIMEOUT=5 $E rollout status --url http://edgerec-admin-test.invalid
check "an unknown host: exit 3 naming the URL and DNS" \
  bash -c "test $RC -eq 3 && grep -q 'http://edgerec-admin-test.invalid/edge/admin/status' <<<\"\$0\" && grep -Eq 'resolve|timed out' <<<\"\$0\"" "$ERR"
start_fake small --max-bytes 1000
run $E publish "$TMP/linear.erb" --url "$URL"
check "a bundle over the server's limit: exit 3, HTTP 413 and its message" bash -c "test $RC -eq 3 && grep -q 'HTTP 413: bundle too large' <<<\"\$0\"" "$ERR"
kill "$PID_small"; wait "$PID_small" 2>/dev/null
DEAD_URL=$URL # nothing listens there any more
run $E publish "$TMP/linear.erb" --url "$DEAD_URL"
check "connection refused: exit 3 naming it and the URL" \
  bash -c "test $RC -eq 3 && grep -q 'connection refused' <<<\"\$0\" && grep -qF 'PUT $DEAD_URL/edge/admin/bundles/sample-linear-1' <<<\"\$0\"" "$ERR"
if openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
     -keyout "$TMP/tls.key" -out "$TMP/tls.crt" >/dev/null 2>&1; then
  start_fake tls --tls-cert "$TMP/tls.crt" --tls-key "$TMP/tls.key"
  run $E rollout status --url "https://127.0.0.1:${URL##*:}"
  check "TLS is verified: a self-signed server is refused (exit 3, certificate named), nothing sent" \
    bash -c "test $RC -eq 3 && grep -q 'certificate' <<<\"\$0\" && test ! -s '$LOG'" "$ERR"
  kill "$PID_tls"; wait "$PID_tls" 2>/dev/null
else
  no "openssl could not make a self-signed certificate for the TLS check"
fi

# ---- the token never shows ---------------------------------------------------------------------------
check "the admin token appears in no output of any command" bash -c "! grep -qF '$TOKEN' '$TMP/all-output'"
check "the fake saw only well-formed requests (every one authenticated or deliberately not)" \
  test "$("$NODE" -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").map(JSON.parse);
    console.log(l.every(r=>r.authorization==="Bearer "+process.argv[2]||r.authorization==="Bearer wrong-token-value"))' "$TMP/main.log" "$TOKEN")" = true
finish
