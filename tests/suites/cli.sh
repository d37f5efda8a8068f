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

# ---- unit rules (docs/context.md): Adobe type ids, cart, purchased, filter, backfill ----
# cat_py JSON EXPR: EXPR over d (the output), skus (its skus), C (the sample catalog by sku)
cat_py() { python3 -c "import json,sys
d=json.loads(sys.stdin.read()); skus=[i['sku'] for i in d['items']]
C={i['sku']:i for i in json.load(open('tests/data/sample-catalog.json'))['items']}
under=lambda s,p: any(c==p or c.startswith(p+'/') for c in C[s].get('categories',[]))
print($2)" <<<"$1"; }
rec() { printf '%s' "$1" >"$TMP/u.json"; IN=$TMP/u.json; run $E recommend --bundle ${2:-$S}; }
for pair in just-for-you:recommended-for-you viewed-viewed:viewed-this-viewed-that viewed-bought:viewed-this-bought-that bought-bought:bought-this-bought-that; do
  alias=${pair%%:*} canon=${pair#*:}
  for B in $S $T; do
    rec "{\"unit\":\"$canon\",\"page\":{\"type\":\"product\",\"sku\":\"ER-FIT-01\"},\"recent\":[\"ER-BAG-01\"],\"k\":12}" $B; OUT_C=$OUT
    rec "{\"unit\":\"$alias\",\"page\":{\"type\":\"product\",\"sku\":\"ER-FIT-01\"},\"recent\":[\"ER-BAG-01\"],\"k\":12}" $B
    check "alias $alias ($(basename $B)): the same bytes as $canon, named $canon" test "$RC:$OUT" = "0:$OUT_C" -a "$(cat_py "$OUT" 'd["unit"]')" = "$canon"
    check "alias $alias ($(basename $B)): gives items" test "$(cat_py "$OUT" 'len(skus) > 0')" = True
  done
  IN=$TMP/empty.json; run $E recommend --bundle $S --unit $alias --k 3
  check "--unit $alias answers as $canon" test "$RC:$(cat_py "$OUT" 'd["unit"]')" = "0:$canon"
done

rec '{"unit":"bought-bought","page":{"type":"cart"},"cart":["ER-FIT-01","ER-WS-01"]}'
check "cart page, bought-bought: anchored on the cart's items, which are never returned" test "$(cat_py "$OUT" '",".join(skus)')" = "ER-FIT-07,ER-WT-02,ER-FIT-05,ER-FIT-04"
rec '{"unit":"viewed-bought","cart":["ER-MJ-01-M"]}'
check "cart: a configurable's child anchors as its parent (viewed-bought of ER-MJ-01)" test "$(cat_py "$OUT" '",".join(skus)')" = "ER-MP-01,ER-BAG-03"
rec '{"unit":"viewed-viewed","page":{"type":"product","sku":"ER-MJ-01"},"cart":["ER-MJ-02"]}'
check "cart with a page sku: the page anchors, the cart item is still never returned" test "$(cat_py "$OUT" '",".join(skus)')" = "ER-MJ-04,ER-MP-01,ER-BAG-03"
CART='"ER-FIT-01","ER-BAG-01","ER-MJ-01","ER-WS-01"'
for u in recommended-for-you most-viewed trending more-like-this recently-viewed viewed-viewed; do
  rec "{\"unit\":\"$u\",\"k\":200,\"recent\":[\"ER-MJ-01\",\"ER-FIT-01\",\"ER-WT-02\"],\"cart\":[$CART]}"
  check "cart items are never returned ($u)" test "$RC:$(cat_py "$OUT" 'not set(skus) & {"ER-FIT-01","ER-BAG-01","ER-MJ-01","ER-WS-01"}')" = 0:True
done
rec '{"k":5}'; OUT0=$OUT; rec '{"k":5,"cart":["ER-FIT-01","ER-BAG-01"]}'
check "cart anchors recommended-for-you: the cart's neighbours lead" test "$OUT" != "$OUT0" -a "$(cat_py "$OUT" 'skus[0]')" = ER-FIT-07

rec '{"unit":"most-viewed","k":200,"purchased":["ER-FIT-01","ER-MP-01"]}'
check "purchased items are dropped" test "$(cat_py "$OUT" '"ER-FIT-01" not in skus and "ER-MP-01" not in skus and len(skus) > 20')" = True
rec '{"unit":"recently-viewed","recent":["ER-BAG-01","ER-FIT-01"],"purchased":["ER-FIT-01"]}'
check "purchased items stay in recently-viewed" test "$(cat_py "$OUT" '",".join(skus)')" = "ER-BAG-01,ER-FIT-01"
rec '{"unit":"bought-bought","purchased":["ER-MP-01"]}'
check "purchased items anchor bought-bought" test "$(cat_py "$OUT" '",".join(skus)')" = "ER-MJ-01,ER-WCH-02"

for u in recommended-for-you most-viewed trending viewed-viewed; do
  rec "{\"unit\":\"$u\",\"k\":200,\"page\":{\"type\":\"product\",\"sku\":\"ER-WT-02\"},\"filter\":{\"price_min\":30,\"price_max\":50}}"
  check "filter: a price window, 30..50 inclusive ($u)" test "$RC:$(cat_py "$OUT" 'len(skus) > 0 and all(30 <= C[s]["price"] <= 50 for s in skus)')" = 0:True
  rec "{\"unit\":\"$u\",\"k\":200,\"page\":{\"type\":\"product\",\"sku\":\"ER-MJ-01\"},\"filter\":{\"categories\":[\"Men/Tops\"]}}"
  check "filter: a category subtree, Men/Tops and under ($u)" test "$RC:$(cat_py "$OUT" 'len(skus) > 0 and all(under(s, "Men/Tops") for s in skus)')" = 0:True
  rec "{\"unit\":\"$u\",\"k\":200,\"page\":{\"type\":\"product\",\"sku\":\"ER-BAG-01\"},\"filter\":{\"exclude_categories\":[\"Gear\"]}}"
  check "filter: exclude a subtree, Gear ($u)" test "$RC:$(cat_py "$OUT" 'not any(under(s, "Gear") for s in skus)')" = 0:True
done
rec '{"unit":"most-viewed","k":200,"filter":{"categories":["Men/Tops"]}}'
check "filter: the subtree is every Men/Tops item of the list, in list order" test "$(cat_py "$OUT" '",".join(skus)')" = "ER-MH-04,ER-MJ-03,ER-MJ-04,ER-MJ-01,ER-MH-01,ER-MH-03,ER-MH-02,ER-MJ-02"
rec '{"unit":"most-viewed","k":200,"filter":{"categories":["Men/Top"]}}'
check "filter: a path matches whole segments (Men/Top is not Men/Tops)" test "$RC:$(cat_py "$OUT" 'len(skus)')" = 0:0
rec '{"unit":"bought-bought","page":{"type":"product","sku":"ER-BAG-08"},"filter":{"in_stock_only":false}}'
check "filter: in_stock_only false lets an out-of-stock item through" test "$(cat_py "$OUT" '",".join(skus)')" = "ER-BAG-09,ER-BAG-05"
rec '{"unit":"bought-bought","page":{"type":"product","sku":"ER-BAG-08"}}'
check "filter: out-of-stock items are dropped by default" test "$(cat_py "$OUT" '",".join(skus)')" = "ER-BAG-09"

rec '{"unit":"viewed-viewed","page":{"type":"product","sku":"ER-BAG-01"},"k":10,"backfill":"most-viewed"}'
check "backfill: the primary items first, unmarked" test "$(cat_py "$OUT" '[i.get("backup") for i in d["items"][:4]] == [None]*4 and skus[:4] == ["ER-BAG-03","ER-BAG-09","ER-BAG-06","ER-FIT-04"]')" = True
check "backfill: the rest marked backup, up to k, counted" test "$(cat_py "$OUT" 'len(skus) == 10 and all(i["backup"] is True for i in d["items"][4:]) and d["backfilled"] == 6')" = True
check "backfill: never an item twice, never the page item" test "$(cat_py "$OUT" 'len(set(skus)) == 10 and "ER-BAG-01" not in skus')" = True
rec '{"unit":"viewed-viewed","page":{"type":"product","sku":"ER-BAG-01"},"k":200,"backfill":"trending","cart":["ER-MP-04"],"filter":{"categories":["Gear","Men/Bottoms"]}}'
check "backfill: under the same exclusions and filters" test "$(cat_py "$OUT" 'len(set(skus)) == len(skus) > 4 and "ER-MP-04" not in skus and all(under(s, "Gear") or under(s, "Men/Bottoms") for s in skus)')" = True
rec '{"unit":"viewed-viewed","page":{"type":"product","sku":"ER-BAG-01"},"k":4,"backfill":"most-viewed"}'; OUT1=$OUT
rec '{"unit":"viewed-viewed","page":{"type":"product","sku":"ER-BAG-01"},"k":4}'
check "backfill: nothing to fill, the same bytes as without it" test "$OUT1" = "$OUT" -a -z "$(grep backup <<<"$OUT")"

for bad in '{"cart":"ER-BAG-01"}|cart|8' '{"cart":[1]}|cart|9' '{"purchased":{"a":1}}|purchased|13' '{"filter":true}|filter|10' \
  '{"filter":{"categories":"Gear"}}|filter.categories|24' '{"filter":{"exclude_categories":[null]}}|filter.exclude_categories|33' \
  '{"filter":{"price_min":"10"}}|filter.price_min|23' '{"filter":{"price_max":-5}}|filter.price_max|23' \
  '{"filter":{"in_stock_only":0}}|filter.in_stock_only|27' '{"backfill":"best-sellers"}|backfill|12' '{"backfill":1}|backfill|12'; do
  IFS='|' read -r ctx field byte <<<"$bad"
  rec "$ctx"
  check "bad $field: exit 3 naming the field and byte $byte" test $RC -eq 3 -a -n "$(grep "field '$field'" <<<"$ERR" | grep "byte $byte")"
done
rec "{\"cart\":[$(python3 -c 'print(",".join("\"S%d\"" % i for i in range(257)))')]}"
check "cart over its limit of 256: exit 3 naming it" test $RC -eq 3 -a -n "$(grep "field 'cart' has 257 entries, more than the limit of 256" <<<"$ERR")"

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
# the recommendation-unit events and wishlist (docs/events.md)
U='"unit":"pdp-1","unit_type":"viewed-viewed","rank":3'
printf '{"type":"recs-unit-view","items":["ER-MJ-01","ER-BAG-01"],%s,"ts":1700000001}' "$U" >"$TMP/u1.json"; IN=$TMP/u1.json
run $E profile update --bundle $S --profile "$TMP/p1" --out "$TMP/p2"
IN=/dev/null; run $E profile show "$TMP/p2"
check "recs-unit-view only counts (no new item, events 2)" test "$(jq_py "$OUT" '"%d:%d" % (len(d["items"]), d["events"])')" = 1:2
printf '{"type":"recs-item-click","item":"ER-BAG-01",%s,"ts":1700000002}' "$U" >"$TMP/u2.json"; IN=$TMP/u2.json
run $E profile update --bundle $S --profile "$TMP/p2" --out "$TMP/p3"
IN=/dev/null; run $E profile show "$TMP/p3"
check "recs-item-click: two items, the clicked one viewed" test "$(jq_py "$OUT" '"%d:%s" % (len(d["items"]), ",".join(d["items"][0]["types"]))')" = 2:view
printf '{"type":"wishlist","item":"ER-BAG-02","ts":1700000003}' >"$TMP/u3.json"; IN=$TMP/u3.json
run $E profile update --bundle $S --profile "$TMP/p3" --out "$TMP/p4"
check "wishlist updates a profile (exit 0)" test $RC -eq 0 -a -s "$TMP/p4"
printf '{"type":"recs-item-click","item":"ER-BAG-01","unit":"pdp-1","unit_type":"viewed-viewed","rank":0}' >"$TMP/u4.json"; IN=$TMP/u4.json
run $E profile update --bundle $S
check "recs-item-click with rank 0: exit 3 naming rank and 1..200" test $RC -eq 3 -a -n "$(grep "field 'rank' must be an integer in 1..200" <<<"$ERR")"
printf '{"type":"recs-unit-view","items":["ER-BAG-01"],"unit_type":"viewed-viewed","rank":1}' >"$TMP/u5.json"; IN=$TMP/u5.json
run $E profile update --bundle $S
check "recs-unit-view without unit: exit 3 naming it" test $RC -eq 3 -a -n "$(grep "field 'unit' is required for type 'recs-unit-view'" <<<"$ERR")"
printf '{"type":"recs-item-add-to-cart-click","item":"ER-BAG-01","unit":"%s","unit_type":"x","rank":1}' "$(printf 'u%.0s' $(seq 65))" >"$TMP/u6.json"; IN=$TMP/u6.json
run $E profile update --bundle $S
check "a 65-byte unit: exit 3 naming unit and 1..64" test $RC -eq 3 -a -n "$(grep "field 'unit' must be 1..64 bytes" <<<"$ERR")"
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
check "inspect: valid JSON, checksum ok, two request sizes and generated candidates, load time, p50 <= p99" test "$(jq_py "$OUT" 'd["checksum_ok"] and d["valid"] and [r["candidates"] for r in d["requests"]]==[50,200,"generated"] and all(r["work_units"]>0 and 0<r["us_p50"]<=r["us_p99"] for r in d["requests"]) and d["load_us"]>=0')" = True
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

# ---- input size limits (docs/limits.md) --------------------------------------
# Every input at exactly its limit is not refused for its size; at limit + 1,
# 2x and a large multiple it is refused naming the limit; and the peak RSS of
# the large run is within 2 MiB of the 2x run's: memory follows the limit,
# never the input.  The large multiple is 100x, at least 4 MiB (100x a small
# limit would hide a whole-input read inside the margin).  Inputs are made
# here, never committed: stdin inputs come through a pipe, files are sparse
# where they can be (the reader sizes a file with fstat and refuses it unread).
cat >"$TMP/pad.py" <<'PY'
# pad.py N FILE: FILE's bytes with spaces before its last byte, N bytes in all
# (JSON stays valid).  Stops quietly when the reader stops reading.
import os, sys
n, data = int(sys.argv[1]), open(sys.argv[2], 'rb').read()
out, k, chunk = sys.stdout.buffer, n - len(data), b' ' * 65536
try:
    out.write(data[:-1])
    while k > 0:
        out.write(chunk[:k])
        k -= len(chunk)
    out.write(data[-1:])
    out.flush()
except BrokenPipeError:
    os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
PY
pad() { python3 "$TMP/pad.py" "$@"; }
# measure CMD...: run it (stdin inherited, stdout discarded); sets RC, ERR and
# KIB, its peak RSS in KiB: GNU time, else the rusage of a python3 parent (whose
# own size then floors the figure: a weaker check, still a check).
if /usr/bin/time -f %M -o "$TMP/rss" true 2>/dev/null; then
  measure() { /usr/bin/time -f %M -o "$TMP/rss" "$@" >/dev/null 2>"$TMP/err"; RC=$?; ERR=$(cat "$TMP/err"); KIB=$(tail -n1 "$TMP/rss"); }
else
  echo "# no GNU time: peak RSS through python3 resource.getrusage(RUSAGE_CHILDREN)"
  measure() {
    local r
    r=$(python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "wb"))
print(rc if rc >= 0 else 128 - rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$TMP/err" "$@")
    RC=${r% *}; KIB=${r#* }; ERR=$(cat "$TMP/err")
  }
fi
# limits NAME LIMIT RC_AT RC_OVER RUN: RUN N runs a command on an input of N
# bytes (through measure); RC_AT is its exit at the limit, RC_OVER past it.
limits() {
  local name=$1 limit=$2 rc_at=$3 rc_over=$4 run=$5 big=$(($2 * 100)) n kib2=0
  [ $big -ge $((4 << 20)) ] || big=$((4 << 20))
  $run "$limit"
  check "$name: $limit bytes (the limit): exit $rc_at, not refused for its size" test "$RC" -eq "$rc_at" -a -z "$(grep -- "$limit bytes" <<<"$ERR")"
  for n in $((limit + 1)) $((2 * limit)) $big; do
    $run "$n"
    check "$name: $n bytes: exit $rc_over naming the limit" test "$RC" -eq "$rc_over" -a -n "$(grep -- "$limit bytes" <<<"$ERR")"
    [ "$n" -eq $((2 * limit)) ] && kib2=$KIB
  done
  echo "# $name: peak RSS $kib2 KiB at 2x the limit, $KIB KiB at $big bytes"
  check "$name: peak RSS at $big bytes within 2 MiB of 2x the limit" test "$KIB" -le $((kib2 + 2048))
}
printf '{"k":5}' >"$TMP/ctx-min.json"
printf '{"type":"view","item":"ER-MJ-01","ts":1700000000}' >"$TMP/ev-min.json"
printf '{"type":"view","item":"ER-MJ-01","ts":1700000000,"session":"s-pad","id":"pad"}' >"$TMP/logev.json"
python3 -c 'import json
for s in range(60):
    for k in range(3):
        print(json.dumps({"type": "view", "item": "ER-MJ-0%d" % ((s + k) % 4 + 1), "ts": 1700000000 + s * 86400 + k * 60, "session": "s%d" % s, "id": "%d-%d" % (s, k)}))' >"$TMP/log.ndjson"
# one value per dense feature (`edgerec version`: "features N with D dense")
ND=$($E version | sed -n 's/.* with \([0-9]*\) dense.*/\1/p')
printf '1%.0s,' $(seq 2 "${ND:-0}") >"$TMP/dense.csv"; printf '1' >>"$TMP/dense.csv"
M=$R/venia-category-men.json

run_context() { measure $E recommend --bundle $S < <(pad "$1" "$TMP/ctx-min.json"); }
run_context_file() { pad "$1" "$TMP/ctx-min.json" >"$TMP/ctx-big.json"; measure $E rerank --strict --bundle $S --context "$TMP/ctx-big.json" <$M; }
run_response() { measure $E rerank --strict --bundle $S --context '{}' < <(pad "$1" $M); }
run_event() { measure $E profile update --bundle $S < <(pad "$1" "$TMP/ev-min.json"); }
run_profile() { rm -f "$TMP/prof.bin"; truncate -s "$1" "$TMP/prof.bin"; measure $E profile show "$TMP/prof.bin"; }
run_bundle() { rm -f "$TMP/big.erb"; truncate -s "$1" "$TMP/big.erb"; measure $E inspect "$TMP/big.erb"; }
run_log_eval() { measure $E eval --events - --baseline pop < <(pad "$1" "$TMP/logev.json"; echo; cat "$TMP/log.ndjson"); }
run_log_train() { measure $E train --events - --out "$TMP/t.erb" < <(pad "$1" "$TMP/logev.json"; echo; cat "$TMP/log.ndjson"); }
run_dense() { measure $E score-dense --bundle $T < <({ pad "$1" "$TMP/dense.csv"; echo; } 2>/dev/null); }

limits "context (recommend stdin)" 65536 0 3 run_context
limits "context file (rerank --strict)" 65536 0 3 run_context_file
limits "response (rerank --strict stdin)" 4194304 0 3 run_response
limits "event (profile update stdin)" 16384 0 3 run_event
limits "profile file (profile show; zeros: bad magic at the limit)" 548 3 3 run_profile
limits "bundle file (inspect; zeros: bad magic at the limit)" 268435456 4 3 run_bundle
rm -f "$TMP/big.erb"
limits "event-log line (eval: a bad line, not fatal)" 16384 0 0 run_log_eval
check "event-log line (eval): an over-long line is a bad line with its number" grep -q 'line 1: event larger than 16384 bytes' <<<"$ERR"
check "event-log line (eval): the other 180 events are read" grep -q '180 events' <<<"$ERR"
limits "event-log line (train: a bad line, not fatal)" 16384 0 0 run_log_train
check "event-log line (train): an over-long line is a bad line with its number" grep -q 'line 1: event larger than 16384 bytes' <<<"$ERR"
limits "score-dense line" 4096 0 3 run_dense
check "score-dense: an over-long line is an error naming it, not two records" grep -q 'line 1: .* more than the limit of 4096 bytes' <<<"$ERR"

# rerank keeps its rule past the limit: the response goes out unchanged (exit 0,
# --strict 3), streamed from a pipe, and from a file that fstat refused unread
pad $((4194304 + 1)) $M >"$TMP/r-over.json"
cat "$TMP/r-over.json" | $E rerank --bundle $S --context '{}' >"$TMP/o" 2>"$TMP/err"; RC=$?
check "response over the limit (pipe): passed through byte-identical, exit 0, reason=limit" both "test $RC -eq 0 -a -n '$(grep 'reason=limit.*4194304 bytes' "$TMP/err")'" 'cmp -s "$TMP/o" "$TMP/r-over.json"'
$E rerank --bundle $S --context '{}' <"$TMP/r-over.json" >"$TMP/o" 2>"$TMP/err"; RC=$?
check "response over the limit (file): passed through byte-identical, exit 0, names its size" both "test $RC -eq 0 -a -n '$(grep '4194305 bytes, more than the limit of 4194304 bytes' "$TMP/err")'" 'cmp -s "$TMP/o" "$TMP/r-over.json"'
pad $((2 * 4194304)) $M | $E rerank --strict --bundle $S --context '{}' >"$TMP/o" 2>/dev/null; RC=$?
check "response at 2x the limit, --strict: exit 3, still passed through byte-identical" both "test $RC -eq 3" 'cmp -s "$TMP/o" <(pad $((2 * 4194304)) $M)'
rm -f "$TMP/r-over.json"
pad 65537 "$TMP/ctx-min.json" >"$TMP/ctx-big.json"
$E rerank --bundle $S --context "$TMP/ctx-big.json" <$M >"$TMP/o" 2>"$TMP/err"; RC=$?
check "context file over the limit: response unchanged, exit 0, reason=context naming the limit" both "test $RC -eq 0 -a -n '$(grep 'reason=context.*limit of 65536 bytes' "$TMP/err")'" 'cmp -s "$TMP/o" $M'
IN=$TMP/empty.json; run $E recommend --bundle $S --profile "$TMP/prof.bin"
check "recommend --profile over the limit: exit 3 naming it" test $RC -eq 3 -a -n "$(grep "profile $TMP/prof.bin: .*limit of 548 bytes" <<<"$ERR")"

# the other bundle and JSON readers: over the limit is exit 3 (sparse files, refused unread)
truncate -s $((268435456 + 1)) "$TMP/big.erb"
IN=$TMP/empty.json; run $E recommend --bundle "$TMP/big.erb"
check "recommend --bundle over the limit: exit 3 (not 4) naming it" test $RC -eq 3 -a -n "$(grep 'bundle .*: 268435457 bytes, more than the limit of 268435456 bytes' <<<"$ERR")"
IN=/dev/null; run $E eval --bundle "$TMP/big.erb" --events "$TMP/log.ndjson"
check "eval --bundle over the limit: exit 3 naming it" test $RC -eq 3 -a -n "$(grep 'limit of 268435456 bytes' <<<"$ERR")"
run env EDGEREC_ADMIN_TOKEN=t $E publish "$TMP/big.erb" --url http://127.0.0.1:9
check "publish of a bundle over the limit: exit 3 naming it, nothing sent" test $RC -eq 3 -a -n "$(grep 'limit of 268435456 bytes' <<<"$ERR")"
rm -f "$TMP/big.erb"
truncate -s $((268435456 + 1)) "$TMP/model.json"
run $E pack --model "$TMP/model.json" --catalog tests/data/sample-catalog.json --out "$TMP/x.erb"
check "pack --model over the limit: exit 3 naming it" test $RC -eq 3 -a -n "$(grep 'model .*limit of 268435456 bytes' <<<"$ERR")"
run $E pack --model tests/data/sample-trees.json --xgboost "$TMP/model.json" --catalog tests/data/sample-catalog.json --out "$TMP/x.erb"
check "pack --xgboost over the limit: exit 3 naming it" test $RC -eq 3 -a -n "$(grep 'XGBoost model .*limit of 268435456 bytes' <<<"$ERR")"
rm -f "$TMP/model.json"
truncate -s $((1073741824 + 1)) "$TMP/catalog.json"
run $E pack --model tests/data/sample-linear.json --catalog "$TMP/catalog.json" --out "$TMP/x.erb"
check "pack --catalog over the limit: exit 3 naming it" test $RC -eq 3 -a -n "$(grep 'catalog .*limit of 1073741824 bytes' <<<"$ERR")"
run $E train --events "$TMP/log.ndjson" --catalog "$TMP/catalog.json" --out "$TMP/x.erb"
check "train --catalog over the limit: exit 3 naming it" test $RC -eq 3 -a -n "$(grep 'catalog .*limit of 1073741824 bytes' <<<"$ERR")"
rm -f "$TMP/catalog.json"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
