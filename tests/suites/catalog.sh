#!/usr/bin/env bash
# `edgerec import luma-catalog DIR`: Magento Luma sample CSVs -> catalog.json.
# Synthetic fixtures (quoting, folding, links, errors) and, when present, the
# real Luma data (LUMA_DIR, default ../shared/data/luma next to the repo):
# import, pack, inspect, recommend.  Last line "N passed, N failed".
#   EDGEREC         the CLI (default build/edgerec)
#   EDGEREC_IMPORT  the binary that runs `import` (default: $EDGEREC)
set -uo pipefail
cd "$(dirname "$0")/../.."
E=${EDGEREC:-build/edgerec}
I=${EDGEREC_IMPORT:-$E}
LUMA=${LUMA_DIR:-../shared/data/luma}
source tests/lib/checks.sh
# py FILE EXPR: evaluate EXPR with d = the JSON in FILE, it = items by sku
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); it={i['sku']:i for i in d['items']}; print($2)" "$1" 2>&1; }
run() { "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; ERR=$(cat "$TMP/err"); }

if grep -q "unknown command 'import'" <<<"$("$I" import 2>&1)"; then
  echo "FAIL - $I has no import command yet (wire er_catalog_import_main, or set EDGEREC_IMPORT)"
  echo "0 passed, 1 failed"
  exit 1
fi

# ---- usage --------------------------------------------------------------------
run "$I" import; check "import without a source: exit 2" test $RC -eq 2
run "$I" import luma-catalog; check "no directory: exit 2" test $RC -eq 2
run "$I" import nope "$TMP"; check "unknown source: exit 2" test $RC -eq 2
run "$I" import luma-catalog "$TMP" --frob; check "unknown option: exit 2 naming it" test $RC -eq 2 -a -n "$(grep -- --frob <<<"$ERR")"
run "$I" import luma-catalog "$TMP/none"
check "missing directory/configurable_products.csv: exit 3 naming the file" test $RC -eq 3 -a -n "$(grep configurable_products.csv <<<"$ERR")"

# ---- synthetic fixture ----------------------------------------------------------
F=$TMP/luma; mkdir -p "$F"
H='sku,store_view_code,product_type,categories,name,description,price,url_key,visibility,additional_attributes,configurable_variations'
{
  printf '\xEF\xBB\xBF%s\r\n' "$H"
  printf 'P1-S-Red,,simple,"Default Category/Men/Tops/Tees,Default Category",P1-S-Red,"<p>a ""quoted""\r\nline, two</p>",20,p1-s-red,Not Visible Individually,"has_options=0,size=S,color=Red",\r\n'
  printf 'P1-M-Blue,,simple,"Default Category/Men/Tops/Tees",P1-M-Blue,,20,p1-m-blue,Not Visible Individually,"size=M,color=Blue",\r\n'
  printf 'P1,,configurable,"Default Category/Men/Tops/Tees,Default Category/Collections/Eco Friendly,Default Category",Tee One,"multi\nline\n",20.5,,"Catalog, Search","has_options=1,material=Cotton|Organic Cotton,climate=Warm,sale=No,new=Yes","sku=P1-S-Red,size=S,color=Red|sku=P1-M-Blue,size=M,color=Blue"\r\n'
  printf 'P1,default,configurable,,Store override,,99,,,,\r\n'
  printf 'P2,,configurable,"Default Category/Women/Tops",Tee Two,,30,,"Catalog, Search","material=Cotton",\r\n'
} >"$F/configurable_products.csv"
{
  echo 'category,name,sku,price,qty,description,activity,gender,erin_recommends,new,visibility,url_key'
  printf '"Gear\nBags\nCollections\nErin Recommends","Bag One ",G1,34,100,"<ul>\n<li>x</li>\n</ul>","Yoga\nGym","Men\nWomen",1,,,\n'
  printf '"Gear\nBags",Ball,G2,7.25,100,,Gym,,,0,1,Ball 55 cm Gray\n'
} >"$F/gear_bags.csv"
printf 'sku,rating_code,rating_value\nG1,Rating,5\nG1,Rating,4\nP1,Rating,3\nNOPE,Rating,1\n' >"$F/products_reviews.csv"
printf 'sku,linked_sku\n"P1","G1\nG2\nNOPE"\nP1-S-Red,P2\n' >"$F/links_configurable_related.csv"
printf 'sku,linked_sku\nP1,"G1"\n' >"$F/links_configurable_crosssell.csv"
printf 'sku,linked_sku\nP1,"P2"\n' >"$F/links_configurable_upsell.csv"

run "$I" import luma-catalog "$F" --out "$TMP/f.json"
check "fixture imports (exit 0)" test $RC -eq 0
check "fixture: valid JSON" test "$(py "$TMP/f.json" 1)" = 1
check "fixture: 6 items in order (store override skipped)" test "$(py "$TMP/f.json" '",".join(i["sku"] for i in d["items"])')" = "P1-S-Red,P1-M-Blue,P1,P2,G1,G2"
check "fixture: children get parent and visible false" test "$(py "$TMP/f.json" '[it["P1-S-Red"]["parent"], it["P1-M-Blue"]["visible"], "parent" in it["P1"]]')" = "['P1', False, False]"
check "fixture: parent visible with the children's sizes and colors" test "$(py "$TMP/f.json" '[it["P1"]["visible"], it["P1"]["attributes"]["size"], it["P1"]["attributes"]["color"]]')" = "[True, ['S', 'M'], ['Red', 'Blue']]"
check "fixture: Default Category root stripped, ancestors added" test "$(py "$TMP/f.json" 'it["P1"]["categories"]')" = "['Men', 'Men/Tops', 'Men/Tops/Tees', 'Collections', 'Collections/Eco Friendly']"
check "fixture: additional_attributes split on '|', has_options and No dropped" test "$(py "$TMP/f.json" 'sorted(it["P1"]["attributes"].items())')" = "[('climate', 'Warm'), ('color', ['Red', 'Blue']), ('material', ['Cotton', 'Organic Cotton']), ('new', 'Yes'), ('size', ['S', 'M'])]"
check "fixture: price and url_key (slug of the name when empty)" test "$(py "$TMP/f.json" '[it["P1"]["price"], it["P1"]["url_key"], it["P1-S-Red"]["url_key"], it["G2"]["url_key"], it["G2"]["price"]]')" = "[20.5, 'tee-one', 'p1-s-red', 'ball-55-cm-gray', 7.25]"
check "fixture: gear categories as pairs, name trimmed" test "$(py "$TMP/f.json" '[it["G1"]["categories"], it["G1"]["name"]]')" = "[['Gear', 'Gear/Bags', 'Collections', 'Collections/Erin Recommends'], 'Bag One']"
check "fixture: gear columns become attributes (newline lists, 1 -> Yes, 0 dropped)" test "$(py "$TMP/f.json" '[sorted(it["G1"]["attributes"].items()), it["G2"]["attributes"]]')" = "[[('activity', ['Yoga', 'Gym']), ('erin_recommends', 'Yes'), ('gender', ['Men', 'Women'])], {'activity': 'Gym'}]"
check "fixture: gear visibility 1 is not visible" test "$(py "$TMP/f.json" '[it["G1"]["visible"], it["G2"]["visible"]]')" = "[True, False]"
check "fixture: review counts -> popularity.view" test "$(py "$TMP/f.json" '[it["G1"].get("popularity"), it["P1"].get("popularity"), "popularity" in it["P2"]]')" = "[{'view': 2}, {'view': 1}, False]"
check "fixture: related -> viewed_viewed by position, upsell at half weight, child folded" test "$(py "$TMP/f.json" 'd["neighbours"]["viewed_viewed"]')" = "{'P1': [['G1', 1.0], ['G2', 0.95], ['P2', 1.0], ['P2', 0.5]]}"
check "fixture: crosssell -> viewed_bought; no content (packer computes it)" test "$(py "$TMP/f.json" '[d["neighbours"]["viewed_bought"], "content" in d["neighbours"]]')" = "[{'P1': [['G1', 1.0]]}, False]"
check "fixture: summary counts unknown skus" test -n "$(grep '6 items' <<<"$ERR" | grep '1 for unknown skus' | grep '1 to or from unknown skus dropped')"
run "$I" import luma-catalog "$F"; cp "$TMP/out" "$TMP/f2.json"
check "fixture: stdout output equals --out, deterministic" cmp -s "$TMP/f.json" "$TMP/f2.json"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m.pop("rules",None); json.dump(m,open(sys.argv[2],"w"))' tests/data/sample-linear.json "$TMP/model.json"
run "$E" pack --model "$TMP/model.json" --catalog "$TMP/f.json" --out "$TMP/f.erb"
check "fixture catalog packs" test $RC -eq 0

# ---- bad input -------------------------------------------------------------------
bad() { # name, file content (printf), expected message part
  local d=$TMP/bad$pass$fail; mkdir -p "$d"; printf "$2" >"$d/configurable_products.csv"
  run "$I" import luma-catalog "$d"
  check "$1: exit 3 naming file and line" test $RC -eq 3 -a -n "$(grep "configurable_products.csv" <<<"$ERR" | grep "$3")"
}
bad "duplicate sku" 'sku,name\nA,x\nB,y\nA,z\n' "line 4: duplicate sku 'A'"
bad "bad price" 'sku,name,price\nA,x,1\nB,y,12x\n' "line 3: bad price '12x'"
bad "unterminated quote" 'sku,name\nA,x\nB,"y\n\nz\n' "line 3: end of file inside a quoted field"
bad "garbage after a closing quote" 'sku,name\nA,"x"y\n' "line 2: unexpected character"
bad "no sku column" 'id,name\nA,x\n' "line 1: no 'sku' column"
bad "over-long sku" "sku,name\n$(printf 'S%.0s' {1..129}),x\n" "line 2: sku longer than 128"

# ---- the real Luma sample data -------------------------------------------------
if [ ! -f "$LUMA/configurable_products.csv" ]; then
  no "Luma data not found in $LUMA (set LUMA_DIR)"
else
  L=$TMP/luma.json
  run "$I" import luma-catalog "$LUMA" --out "$L"
  check "Luma imports (exit 0)" test $RC -eq 0
  echo "# $ERR"
  check "Luma: 2038 items = 147 configurable + 1847 children + 44 gear" test "$(py "$L" 'len(d["items"])')" = 2038
  check "Luma: 147 configurable parents visible, 1847 children folded into them" test "$(py "$L" '[sum(1 for i in d["items"] if "parent" in i), sum(1 for i in d["items"] if "parent" in i and i["visible"]), len({i["parent"] for i in d["items"] if "parent" in i})]')" = "[1847, 0, 147]"
  check "Luma: 179 visible items (147 parents + 32 gear; 12 ball/strap variants not visible)" test "$(py "$L" 'sum(1 for i in d["items"] if i["visible"])')" = 179
  check "Luma: MH01 is the Chaz Kangeroo Hoodie" test "$(py "$L" 'it["MH01"]["name"]+"|"+it["MH01"]["url_key"]')" = "Chaz Kangeroo Hoodie|chaz-kangeroo-hoodie"
  check "Luma: MH01 categories" test "$(py "$L" 'it["MH01"]["categories"]')" = "['Men', 'Men/Tops', 'Men/Tops/Hoodies & Sweatshirts', 'Collections', 'Collections/Eco Friendly']"
  check "Luma: MH01 colors and sizes from its 15 children" test "$(py "$L" '[it["MH01"]["attributes"]["color"], it["MH01"]["attributes"]["size"], sum(1 for i in d["items"] if i.get("parent")=="MH01")]')" = "[['Black', 'Gray', 'Orange'], ['XS', 'S', 'M', 'L', 'XL'], 15]"
  check "Luma: a child keeps its own size/color" test "$(py "$L" 'it["MH01-XS-Black"]["attributes"]')" = "{'size': 'XS', 'color': 'Black'}"
  check "Luma: url_keys unique" test "$(py "$L" 'len([i for i in d["items"] if "url_key" in i]) == len({i["url_key"] for i in d["items"] if "url_key" in i}) == 2038')" = True
  check "Luma: 348 reviews on 125 items, 1404 links kept" test -n "$(grep '348 reviews on 125 items' <<<"$ERR" | grep '1404 links')"
  run "$E" pack --model "$TMP/model.json" --catalog "$L" --out "$TMP/luma.erb"
  check "Luma catalog packs with the sample model" test $RC -eq 0
  run "$E" inspect "$TMP/luma.erb"
  check "inspect: valid, 2038 items" test "$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["valid"], d["items"])' <"$TMP/out")" = "True 2038"
  echo '{"page":{"type":"product","sku":"MH01"}}' >"$TMP/ctx.json"
  run "$E" recommend --bundle "$TMP/luma.erb" --unit more-like-this <"$TMP/ctx.json"
  check "more-like-this on MH01 returns 10 items, not MH01" test "$(python3 -c 'import json,sys; s=[i["sku"] for i in json.loads(sys.stdin.read())["items"]]; print(len(s), "MH01" in s)' <"$TMP/out")" = "10 False"
  check "more-like-this on MH01 starts with hoodies" test "$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["items"][0]["sku"][:2])' <"$TMP/out")" = MH
  run "$E" recommend --bundle "$TMP/luma.erb" --unit viewed-this-bought-that <"$TMP/ctx.json"
  check "viewed-this-bought-that on MH01 gives its cross-sells" test -n "$(grep '24-UG0\|24-WG0' "$TMP/out")"
  run "$I" import luma-catalog "$LUMA" --out "$TMP/luma2.json"
  check "Luma import is deterministic" cmp -s "$L" "$TMP/luma2.json"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
