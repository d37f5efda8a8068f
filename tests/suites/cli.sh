#!/usr/bin/env bash
# CLI behaviour: outputs, exit codes (0 ok, 2 usage, 3 bad input, 4 bad bundle),
# error messages naming what and where, rerank's unchanged-on-failure rule.
set -uo pipefail
cd "$(dirname "$0")/../.."
E=build/edgerec
S=build/sample.erb
T=build/sample-trees.erb
R=tests/data/parity/responses
source tests/lib/checks.sh
# run CMD... with stdin from $IN; sets OUT, ERR, RC
run() { OUT=$("$@" <"$IN" 2>"$TMP/err"); RC=$?; ERR=$(cat "$TMP/err"); }
both() { eval "$1" && eval "$2"; }
json_ok() { python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$1" 2>/dev/null; }
jq_py() { python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print($2)" <<<"$1"; }

IN=/dev/null; run $E version
check "version prints the schema" grep -q 'schema' <<<"$OUT"
run $E; check "no command is a usage error (2)" test $RC -eq 2
run $E frobnicate; check "unknown command is a usage error (2)" test "$RC" -eq 2 -a -n "$ERR"
run $E recommend; check "recommend without --bundle: exit 2 with a message" test $RC -eq 2 -a -n "$(grep -- '--bundle' <<<"$ERR")"
run $E recommend --bundle $S --k 0; check "--k 0 is a usage error" test $RC -eq 2

echo '{}' >"$TMP/empty.json"; IN=$TMP/empty.json
run $E recommend --bundle $S
check "recommend {} exits 0 with valid JSON" both "test $RC -eq 0" 'json_ok "$OUT"'
check "recommend {} gives 10 items" test "$(jq_py "$OUT" 'len(d["items"])')" = 10
check "recommend {} names the unit and model" test "$(jq_py "$OUT" 'd["unit"]+" "+d["model"]')" = "recommended-for-you sample-linear-1"
check "recommend {} has unique skus" test "$(jq_py "$OUT" 'len(set(i["sku"] for i in d["items"]))')" = 10
check "the pin rule puts ER-FIT-01 first" test "$(jq_py "$OUT" 'd["items"][0]["sku"]')" = ER-FIT-01
OUT1=$OUT; run $E recommend --bundle $S
check "recommend is deterministic" test "$OUT" = "$OUT1"
run $E recommend --bundle $S --k 3 --unit most-viewed
check "--unit/--k override: 3 most-viewed" test "$(jq_py "$OUT" 'd["unit"]+str(len(d["items"]))')" = most-viewed3
run $E recommend --bundle $S --unit nope
check "unknown unit: exit 3 naming it" test $RC -eq 3 -a -n "$(grep "unknown unit 'nope'" <<<"$ERR")"
run $E recommend --bundle $T
check "tree bundle recommends" test "$RC:$(jq_py "$OUT" 'd["model"]')" = 0:sample-trees-1

printf '{"k": "x"}' >"$TMP/c1.json"; IN=$TMP/c1.json; run $E recommend --bundle $S
check "wrong type: exit 3 naming field and byte" test $RC -eq 3 -a -n "$(grep "field 'k'" <<<"$ERR" | grep 'byte 6')"
printf '{"page":{"type":"product","sku":"ER-BAG-01"}, "k":' >"$TMP/c2.json"; IN=$TMP/c2.json; run $E recommend --bundle $S
check "truncated JSON: exit 3 with byte offset" test $RC -eq 3 -a -n "$(grep 'byte' <<<"$ERR")"
printf '{"k":5,"k":6}' >"$TMP/c3.json"; IN=$TMP/c3.json; run $E recommend --bundle $S
check "duplicate key: exit 3" test $RC -eq 3 -a -n "$(grep -i duplicate <<<"$ERR")"
printf '{"page":{"type":"product","sku":"ER-BAG-01"},"k":20}' >"$TMP/c4.json"; IN=$TMP/c4.json; run $E recommend --bundle $S
check "a product page never recommends itself" test "$(jq_py "$OUT" '"ER-BAG-01" in [i["sku"] for i in d["items"]]')" = False
printf '{"candidates":["ER-BAG-01","NOPE-1","ER-BAG-02","NOPE-1"],"k":10}' >"$TMP/c5.json"; IN=$TMP/c5.json; run $E recommend --bundle $S
check "explicit candidates: exactly those, de-duplicated" test "$(jq_py "$OUT" '",".join(sorted(i["sku"] for i in d["items"]))')" = "ER-BAG-01,ER-BAG-02,NOPE-1"
printf '{"recent":["ER-BAG-01","ER-MJ-01"],"unit":"recently-viewed"}' >"$TMP/c6.json"; IN=$TMP/c6.json; run $E recommend --bundle $S
check "recently-viewed: newest first" test "$(jq_py "$OUT" '",".join(i["sku"] for i in d["items"])')" = "ER-BAG-01,ER-MJ-01"

# profile update / show
printf '{"type":"view","item":"ER-MJ-01","ts":1700000000}' >"$TMP/e1.json"; IN=$TMP/e1.json
run $E profile update --bundle $S --out "$TMP/p1"
check "profile update writes a profile" test $RC -eq 0 -a -s "$TMP/p1"
check "profile is at most 1 KB" test "$(stat -c %s "$TMP/p1")" -le 1024
IN=/dev/null; run $E profile show "$TMP/p1"
check "profile show is JSON with the item" test "$RC:$(jq_py "$OUT" 'len(d["items"])')" = 0:1
IN=$TMP/empty.json; run $E recommend --bundle $S --profile "$TMP/p1" --unit recently-viewed
check "a binary profile feeds recently-viewed" test "$(jq_py "$OUT" 'd["items"][0]["sku"]')" = ER-MJ-01
printf '{"type":"teleport","item":"X"}' >"$TMP/e2.json"; IN=$TMP/e2.json; run $E profile update --bundle $S
check "bad event type: exit 3 naming the field" test $RC -eq 3 -a -n "$(grep "'type'" <<<"$ERR")"
head -c 10 "$TMP/p1" >"$TMP/pbad"; IN=$TMP/empty.json; run $E recommend --bundle $S --profile "$TMP/pbad"
check "truncated profile: exit 3" test $RC -eq 3

# rerank
CTX='{"recent":["ER-MJ-01"],"page":{"type":"category","category":"Men/Tops/Jackets"}}'
$E rerank --bundle $S --context "$CTX" <$R/venia-category-men.json >"$TMP/out.json" 2>"$TMP/err"; RC=$?
check "rerank exits 0" test $RC -eq 0
check "rerank keeps the byte length" test "$(stat -c %s "$TMP/out.json")" -eq "$(stat -c %s $R/venia-category-men.json)"
check "rerank changes the order for this shopper" bash -c "! cmp -s $TMP/out.json $R/venia-category-men.json"
check "rerank output is valid JSON with the same items and same non-item JSON" python3 - "$R/venia-category-men.json" "$TMP/out.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
ia, ib = a["data"]["products"]["items"], b["data"]["products"]["items"]
assert sorted(json.dumps(x, sort_keys=True) for x in ia) == sorted(json.dumps(x, sort_keys=True) for x in ib)
a["data"]["products"]["items"] = b["data"]["products"]["items"] = None
assert a == b
PY
check "rerank bytes outside the items array are unchanged" python3 - "$R/venia-category-men.json" "$TMP/out.json" <<'PY'
import sys
a = open(sys.argv[1], 'rb').read(); b = open(sys.argv[2], 'rb').read()
s = a.index(b'"items"', a.index(b'"products"'))
# prefix up to the first item and the suffix after the array are identical
p = a.index(b'[', s) + 1
assert a[:p] == b[:p]
# find the end of the items array by matching brackets (strings have no brackets issue: check quotes)
depth, i, instr = 1, p, False
while depth:
    c = a[i:i+1]
    if instr:
        if c == b'\\': i += 1
        elif c == b'"': instr = False
    elif c == b'"': instr = True
    elif c in b'[{': depth += 1
    elif c in b']}': depth -= 1
    i += 1
assert a[i-1:] == b[i-1:]
PY
check "rerank with a context file works the same" bash -c "printf '%s' '$CTX' >$TMP/ctx.json && $E rerank --bundle $S --context $TMP/ctx.json <$R/venia-category-men.json | cmp -s - $TMP/out.json"
IN=$R/venia-errors.json
$E rerank --bundle $S --context '{}' <"$IN" >"$TMP/o2" 2>"$TMP/err"; RC=$?; ERR=$(cat "$TMP/err")
check "rerank of a response with errors: byte-identical, exit 0, reason on stderr" both "test $RC -eq 0 -a -n '$(grep 'reason=errors' <<<"$ERR")'" 'cmp -s "$TMP/o2" "$IN"'
run $E rerank --bundle $S --context '{}' --strict
check "--strict: exit 3 when it cannot re-rank" test $RC -eq 3
IN=$R/venia-single.json; run $E rerank --bundle $S --context '{}'
check "single item: unchanged with reason no-items" test $RC -eq 0 -a -n "$(grep 'reason=no-items' <<<"$ERR")"
printf '{"data":{"products":{"items":[{"sku":"ER-BAG-01"},{"sku":"ER-BAG-02"}' >"$TMP/trunc.json"; IN=$TMP/trunc.json
check "malformed response passes through byte-identical" cmp -s <($E rerank --bundle $S --context '{}' <"$IN" 2>/dev/null) "$IN"
IN=$R/venia-category-men.json; run $E rerank --bundle $S --context '{"k":'
check "bad context: response unchanged, reason=context" test $RC -eq 0 -a -n "$(grep 'reason=context' <<<"$ERR")"

# bundles
IN=/dev/null; run $E inspect $S
check "inspect: valid JSON, checksum ok, two request sizes" test "$(jq_py "$OUT" 'd["checksum_ok"] and d["valid"] and [r["candidates"] for r in d["requests"]]==[50,200] and all(r["work_units"]>0 for r in d["requests"])')" = True
printf 'NOTABUNDLE-NOTABUNDLE' >"$TMP/bad.erb"; run $E inspect "$TMP/bad.erb"
check "inspect of garbage: exit 4, bad magic" test $RC -eq 4 -a -n "$(grep -i 'magic' <<<"$OUT$ERR")"
head -c 1000 $S >"$TMP/trunc.erb"; IN=$TMP/empty.json; run $E recommend --bundle "$TMP/trunc.erb"
check "truncated bundle: exit 4, truncated" test $RC -eq 4 -a -n "$(grep -i 'truncated' <<<"$ERR")"
cp $S "$TMP/flip.erb"; printf '\x55' | dd of="$TMP/flip.erb" bs=1 seek=2000 conv=notrunc 2>/dev/null; run $E recommend --bundle "$TMP/flip.erb"
check "flipped byte: exit 4, checksum mismatch" test $RC -eq 4 -a -n "$(grep -i 'checksum' <<<"$ERR")"
run $E recommend --bundle "$TMP/none.erb"
check "missing bundle file: exit 4 naming it" test $RC -eq 4 -a -n "$(grep 'none.erb' <<<"$ERR")"

# pack
run $E pack --model tests/data/sample-linear.json --catalog tests/data/sample-catalog.json --out "$TMP/re.erb"
check "pack reproduces build/sample.erb byte for byte" cmp -s "$TMP/re.erb" $S
printf '{"version":"x","kind":"linear","bits":30}' >"$TMP/m.json"; run $E pack --model "$TMP/m.json" --catalog tests/data/sample-catalog.json --out "$TMP/x.erb"
check "pack rejects bits 30: exit 3 naming the field" test $RC -eq 3 -a -n "$(grep -i 'bits' <<<"$ERR")" -a ! -e "$TMP/x.erb"
run $E pack --model tests/data/sample-linear.json --catalog "$TMP/missing.json" --out "$TMP/x.erb"
check "pack with a missing catalog: exit 3" test $RC -eq 3

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
