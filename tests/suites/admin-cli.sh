#!/usr/bin/env bash
# admin-cli.sh — `edgerec publish` and `edgerec rollout …` (src/cli/er_admin.c)
# against tests/admin/fake-admin.mjs, a small stand-in for the Worker's admin
# API that records every request: the right method, path, bytes, headers and
# token; the server's JSON on stdout; HTTP, connection, DNS and timeout errors
# named with the URL; a bundle the engine refuses is never sent; events paged
# by cursor into one NDJSON file written atomically; the token never printed.
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
run env -u EDGEREC_ADMIN_TOKEN $E rollout status --url "$URL" --token "$TOKEN"
check "--token works without the env var" bash -c "test $RC -eq 0 && test \"\$0\" = 'Bearer $TOKEN'" "$(req -1 r.authorization)"

# ---- status / promote / rollback ---------------------------------------------------------
run $E rollout status --url "$URL"
check "status: exit 0, GET /edge/admin/status" test "$RC $(req -1 'r.method+" "+r.url')" = "0 GET /edge/admin/status"
check "status: the server's JSON on stdout" test "$(jget 'd.canary+" "+d.percent+" "+Object.keys(d.versions).length+" "+d.decisions.length')" = "sample-trees-1 10 2 1"
check "status: indented JSON" bash -c "test \$(wc -l <<<\"\$0\") -gt 5" "$OUT"
check "status: a one-line summary on stderr" has "$ERR" "canary sample-trees-1 at 10%"
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
