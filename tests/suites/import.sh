#!/usr/bin/env bash
# import.sh — `edgerec import` on the real data in ../shared/data (OTTO fixture,
# Online Retail, the clothing clickstream) plus small CSV inputs and `edgerec
# synth` logs imported back: counts, exit codes, every output line a
# JSON event with id/ts/session/item/type.  Skips nothing: missing data or a
# missing binary is a failure.  EDGEREC overrides the binary (default
# build/edgerec).  Prints "import: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
E=${EDGEREC:-build/edgerec}
DATA=../shared/data
OTTO=$DATA/otto-fixture/train.jsonl
OR=$DATA/online-retail/onlineretail.csv.xz
ES=$DATA/eshop-clickstream/eshop-clothing-2008.csv.xz
source tests/lib/checks.sh
finish() { echo "import: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

for f in "$E" "$OTTO" "$OR" "$ES"; do
  [ -e "$f" ] || { no "missing $f (the suite needs the built CLI and ../shared/data; nothing is skipped)"; }
done
command -v python3 >/dev/null || no "python3 is needed to validate the output"
command -v xzcat >/dev/null || no "xzcat is needed to read $OR"
[ "$fail" -eq 0 ] || finish

# validate FILE: every line a JSON object with string id/session/item/type and numeric ts;
# prints "lines views carts purchases sessions unique_ids"
validate() {
  python3 - "$1" <<'PY'
import json, sys, collections
n = 0; types = collections.Counter(); sessions = set(); ids = set()
for ln in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(ln)
    assert isinstance(e, dict), ln
    for k in ("id", "session", "item", "type"):
        assert isinstance(e.get(k), str) and (k == "session" or e[k]), (k, ln)
    assert isinstance(e.get("ts"), (int, float)) and not isinstance(e["ts"], bool) and 0 <= e["ts"] < 2**32, ln
    assert e["type"] in ("view", "click", "cart", "purchase", "wishlist"), ln
    assert 1 <= len(e["item"].encode()) <= 128, ln
    if "price" in e: assert isinstance(e["price"], (int, float)) and e["price"] >= 0, ln
    if "qty" in e: assert isinstance(e["qty"], int) and -10**6 <= e["qty"] <= 10**6, ln
    n += 1; types[e["type"]] += 1; sessions.add(e["session"]); ids.add(e["id"])
print(n, types["view"], types["cart"], types["purchase"], len(sessions), len(ids))
PY
}
# summary FIELD: the number before FIELD in the last stderr summary line
summary() { grep -aE '^import [a-z-]+: ' "$TMP/err" | tail -n1 | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+'; }

# ---- OTTO fixture ----------------------------------------------------------
"$E" import otto "$OTTO" >"$TMP/otto.ndjson" 2>"$TMP/err"; rc=$?
check "otto: exit 0" test $rc -eq 0
V=$(validate "$TMP/otto.ndjson" 2>&1); echo "otto: $V"
check "otto: every line is a valid event (862 events: 800 view, 52 cart, 10 purchase, 20 sessions, unique ids)" \
  test "$V" = "862 800 52 10 20 862"
check "otto: summary says 20 rows, 862 events, 0 malformed" \
  test "$(summary 'rows read') $(summary 'events written') $(summary malformed)" = "20 862 0"
check "otto: first event converted exactly" test "$(head -n1 "$TMP/otto.ndjson")" = \
  '{"type":"view","item":"1517085","ts":1659304800.025,"session":"0","id":"otto-0-0"}'
"$E" import otto - <"$OTTO" >"$TMP/otto2.ndjson" 2>/dev/null
check "otto: stdin gives the same bytes (deterministic)" cmp -s "$TMP/otto.ndjson" "$TMP/otto2.ndjson"
{ head -n 3 "$OTTO"; echo '{"session":99,"events":[{"aid":1,"ts":2,"type":"likes"}]}'; echo 'not json'; } >"$TMP/otto-bad.jsonl"
"$E" import otto "$TMP/otto-bad.jsonl" >/dev/null 2>"$TMP/err"; rc=$?
both_ok() { test $rc -eq 0 && test "$(summary malformed)" = 2 && grep -q 'lines 4, 5' "$TMP/err"; }
check "otto: malformed lines counted with their line numbers (exit 0)" both_ok

# ---- Online Retail -----------------------------------------------------------
xzcat "$OR" | head -n 20001 | "$E" import online-retail - >"$TMP/or.ndjson" 2>"$TMP/err"; rc=${PIPESTATUS[2]}
check "online-retail (20,000 rows): exit 0" test $rc -eq 0
cat "$TMP/err"
R=$(summary 'rows read'); W=$(summary 'events written'); C=$(summary 'cancellations dropped')
S=$(summary 'without stock code dropped'); M=$(summary malformed)
check "online-retail: 20000 rows read" test "$R" = 20000
check "online-retail: rows = events + cancellations + no stock code + malformed" test $((W + C + S + M)) -eq "$R"
check "online-retail: some cancellations dropped" test "$C" -gt 0
V=$(validate "$TMP/or.ndjson" 2>&1); echo "online-retail: $V"
set -- $V
check "online-retail: every line a valid event, all purchases, one line per event, unique ids" \
  test "${1:-x}" = "$W" -a "${4:-x}" = "$W" -a "${6:-x}" = "$W"
check "online-retail: first row converted exactly (2010-12-01T08:26:00 → 1291191960)" test "$(head -n1 "$TMP/or.ndjson")" = \
  '{"type":"purchase","item":"85123A","ts":1291191960,"session":"536365","user":"17850","price":2.55,"qty":6,"country":"United Kingdom","id":"or-2"}'
check "online-retail: no cancelled invoice in the output" bash -c "! grep -q '\"session\":\"C' '$TMP/or.ndjson'"
xzcat "$OR" | "$E" import online-retail - >"$TMP/or-all.ndjson" 2>"$TMP/err"; rc=${PIPESTATUS[1]}
check "online-retail (whole file): exit 0" test $rc -eq 0
cat "$TMP/err"
check "online-retail (whole file): 541909 rows = 532619 events + 9288 cancellations + 0 + 2 malformed" \
  test "$(summary 'rows read') $(summary 'events written') $(summary 'cancellations dropped') $(summary 'without stock code dropped') $(summary malformed)" = "541909 532619 9288 0 2"
check "online-retail (whole file): output lines = events" test "$(wc -l <"$TMP/or-all.ndjson")" -eq 532619

# ---- csv ---------------------------------------------------------------------
# the OTTO events as a CSV, imported back: the same events (ids aside)
python3 - "$TMP/otto.ndjson" "$TMP/otto.csv" <<'PY'
import json, sys, csv
w = csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\r\n")
w.writerow(["sess", "aid", "when", "kind"])
for ln in open(sys.argv[1]):
    e = json.loads(ln)
    w.writerow([e["session"], e["item"], repr(e["ts"]) if isinstance(e["ts"], float) else e["ts"], {"view": "clk", "cart": "crt", "purchase": "buy"}[e["type"]]])
PY
"$E" import csv --session sess --item aid --ts when --type kind --type-map clk=view,crt=cart,buy=purchase "$TMP/otto.csv" \
  >"$TMP/csv.ndjson" 2>"$TMP/err"; rc=$?
check "csv: OTTO as CSV imports back (exit 0, 862 events)" test $rc -eq 0 -a "$(summary 'events written')" = 862
strip() { python3 -c 'import json,sys
for l in open(sys.argv[1]): e=json.loads(l); e.pop("id"); print(json.dumps(e, sort_keys=True))' "$1"; }
check "csv: round trip gives the same events" cmp -s <(strip "$TMP/otto.ndjson") <(strip "$TMP/csv.ndjson")
printf 'user;sku;time;price\r\nu1;"A;1";2010-12-01 08:26:00;1.5\r\nu1;B;2010-12-01 09:00:00;2\r\nu1;C;2010-12-01 10:00:01;x\r\nu1;D;2010-12-01 10:00:02\r\nu1;E;2010-12-01 12:00:00;\r\n' >"$TMP/semi.csv"
"$E" import csv --user user --item sku --ts time --ts-format iso8601 --price price --sep ';' --session-gap 3600 - \
  <"$TMP/semi.csv" >"$TMP/semi.ndjson" 2>"$TMP/err"; rc=$?
cat "$TMP/err"
check "csv: ';' separator, iso8601, session gap (exit 0, 3 events, 2 malformed on lines 4, 5)" \
  test $rc -eq 0 -a "$(summary 'events written') $(summary malformed)" = "3 2" -a -n "$(grep 'lines 4, 5' "$TMP/err")"
check "csv: sessions split at the gap" test "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["session"] for l in open(sys.argv[1])))' "$TMP/semi.ndjson")" = "u1-1 u1-1 u1-2"
check "csv: output valid" test "$(validate "$TMP/semi.ndjson" | cut -d' ' -f1)" = 3

# the clothing clickstream: a date in three columns plus the click's order in seconds
xzcat "$ES" | "$E" import csv --sep ';' --session 'session ID' --item 'page 2 (clothing model)' --ts year,month,day \
  --ts-format ymd --order 'order(sells)' --category 'page 1 (main category)' --price price - >"$TMP/es.ndjson" 2>"$TMP/err"
rc=${PIPESTATUS[1]}; cat "$TMP/err"
check "eshop clickstream: exit 0, 165474 rows, 165474 events, 0 malformed" \
  test $rc -eq 0 -a "$(summary 'rows read') $(summary 'events written') $(summary malformed)" = "165474 165474 0"
V=$(validate "$TMP/es.ndjson" 2>&1); echo "eshop clickstream: $V"
check "eshop clickstream: every line a valid view, 24026 sessions, unique ids" test "$V" = "165474 165474 0 0 24026 165474"
# ts = midnight UTC of year/month/day + order: checked against the source row by row
ES_CHECK=$(python3 - "$ES" "$TMP/es.ndjson" <<'PY'
import calendar, json, lzma, sys, collections
rows = [l.rstrip("\n").split(";") for l in lzma.open(sys.argv[1], "rt")][1:]
evs = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == len(evs)
last = {}; wrong = 0; unordered = 0; sessions = collections.defaultdict(list)
for r, e in zip(rows, evs):
    y, m, d, order, sess, item, price = int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[5], r[7], int(r[11])
    if e["ts"] != calendar.timegm((y, m, d, 0, 0, 0)) + order or e["item"] != item or e["session"] != sess or e["price"] != price:
        wrong += 1
    sessions[sess].append((order, e["ts"]))
for v in sessions.values():
    v.sort()
    unordered += any(b[1] <= a[1] for a, b in zip(v, v[1:]))
print(wrong, unordered)
PY
)
check "eshop clickstream: ts = date + order, item/session/price as in the source; ts strictly follows order in every session" \
  test "$ES_CHECK" = "0 0"
printf 'y;m;d;o;s;i\n2008;2;30;1;1;A\n2008;4;1;-2;1;B\n2008;4;1;1;1;C\n' >"$TMP/ymd.csv"
"$E" import csv --sep ';' --session s --item i --ts y,m,d --ts-format ymd --order o "$TMP/ymd.csv" >/dev/null 2>"$TMP/err"; rc=$?
check "ymd: bad day and bad order reported with line and column (exit 0, 1 event)" test $rc -eq 0 -a "$(summary 'events written')" = 1 \
  -a -n "$(grep "line 2: column 'd': '30'" "$TMP/err")" -a -n "$(grep "line 3: column 'o': '-2'" "$TMP/err")"
"$E" import csv --sep ';' --session s --item i --ts y,m --ts-format ymd "$TMP/ymd.csv" >/dev/null 2>"$TMP/err"; rc=$?
check "ymd: --ts with two columns: exit 2 naming --ts" test $rc -eq 2 -a -n "$(grep -- '--ts' "$TMP/err")"

# ---- synth: the seeded synthetic browsing log, through import csv --------------
"$E" synth --preset browsing --seed 3 >"$TMP/syn.csv" 2>"$TMP/syn.err"; rc=$?; cat "$TMP/syn.err"
check "synth: exit 0, labelled synthetic with its seed" test $rc -eq 0 -a -n "$(grep 'synthetic (edgerec synth, seed 3)' "$TMP/syn.err")"
"$E" synth --preset browsing --seed 3 2>/dev/null | cmp -s - "$TMP/syn.csv"; check "synth: the same seed gives the same bytes" test $? -eq 0
"$E" synth --preset browsing --seed 4 2>/dev/null | cmp -s - "$TMP/syn.csv"; check "synth: another seed gives other bytes" test $? -ne 0
SYN_EV=$(grep -oE '^synth: [0-9]+ events' "$TMP/syn.err" | grep -oE '[0-9]+'); SYN_S=$(grep -oE '[0-9]+ sessions' "$TMP/syn.err" | grep -oE '[0-9]+')
"$E" import csv --user user_id --session-gap 1800 --item item_id --category category_id --type behavior_type \
  --type-map pv=view,cart=cart,fav=wishlist,buy=purchase --ts timestamp "$TMP/syn.csv" >"$TMP/syn.ndjson" 2>"$TMP/err"; rc=$?
check "synth → import csv: exit 0, every row an event, 0 malformed" \
  test $rc -eq 0 -a "$(summary 'rows read') $(summary 'events written') $(summary malformed)" = "$SYN_EV $SYN_EV 0"
V=$(validate "$TMP/syn.ndjson" 2>&1); set -- $V
check "synth → import csv: valid events; the 30-minute cut gives the generator's $SYN_S sessions" test "${1:-x} ${5:-x}" = "$SYN_EV $SYN_S"
"$E" synth --preset browsing --seed 3 --format ndjson 2>/dev/null >"$TMP/syn-direct.ndjson"
check "synth --format ndjson: the same events as the CSV imported (ids and prices aside)" cmp -s \
  <(python3 -c 'import json,sys
for l in open(sys.argv[1]): e=json.loads(l); e.pop("id"); e.pop("price", None); print(json.dumps(e, sort_keys=True))' "$TMP/syn.ndjson") \
  <(python3 -c 'import json,sys
for l in open(sys.argv[1]): e=json.loads(l); e.pop("id"); e.pop("price", None); print(json.dumps(e, sort_keys=True))' "$TMP/syn-direct.ndjson")
"$E" synth --preset shop --events 3000 --catalog-out "$TMP/syn-cat.json" 2>/dev/null | "$E" import csv --user user_id --item item_id \
  --type behavior_type --type-map pv=view,cart=cart,fav=wishlist,buy=purchase --ts timestamp - >"$TMP/shop.ndjson" 2>/dev/null
"$E" train --events "$TMP/shop.ndjson" --catalog "$TMP/syn-cat.json" --test-days 3 --out "$TMP/shop.erb" >"$TMP/train.json" 2>/dev/null; rc=$?
check "synth --events 3000 --catalog-out: 3000 events; train reads the catalogue (2000 items)" \
  test $rc -eq 0 -a "$(wc -l <"$TMP/shop.ndjson")" -eq 3000 -a -n "$(grep '"items":2000' "$TMP/train.json")"
for bad in "--revisit 1.5" "--items 3" "--format xml" "--preset outlet" "--seed -1" "--frobnicate 1" "--neighbour 0.9"; do
  "$E" synth $bad >/dev/null 2>"$TMP/err"; rc=$?
  check "synth $bad: exit 2 naming the option" test $rc -eq 2 -a -n "$(grep -- "${bad%% *}" "$TMP/err")"
done

# ---- exit codes ----------------------------------------------------------------
"$E" import >/dev/null 2>&1; check "no format: exit 2" test $? -eq 2
"$E" import parquet x >/dev/null 2>&1; check "unknown format: exit 2" test $? -eq 2
"$E" import otto >/dev/null 2>&1; check "no file: exit 2" test $? -eq 2
"$E" import csv --item a --ts b "$TMP/otto.csv" >/dev/null 2>"$TMP/err"; rc=$?
check "csv with neither --session nor --user: exit 2 with usage" test $rc -eq 2 -a -n "$(grep usage "$TMP/err")"
"$E" import csv --session s --item a --ts b --sep '|' x >/dev/null 2>&1; check "bad --sep: exit 2" test $? -eq 2
"$E" import csv --session s --item a --ts b --type-map a=b x >/dev/null 2>&1; check "--type-map without --type: exit 2" test $? -eq 2
"$E" import otto "$TMP/does-not-exist" >/dev/null 2>&1; check "missing file: exit 3" test $? -eq 3
"$E" import csv --session nope --item aid --ts when "$TMP/otto.csv" >/dev/null 2>"$TMP/err"; rc=$?
check "csv with an unknown column: exit 3 naming it" test $rc -eq 3 -a -n "$(grep "'nope'" "$TMP/err")"
"$E" import online-retail "$OTTO" >/dev/null 2>&1; check "online-retail on a non-CSV: exit 3" test $? -eq 3

finish
