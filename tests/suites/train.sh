#!/usr/bin/env bash
# train.sh — `edgerec train`, `eval` and `features` on real data from
# ../shared/data (the first 150,000 Online Retail rows through `xzcat | head`,
# the full OTTO fixture): both model kinds train, evaluate against every peer
# and beat popularity; a trained bundle is deterministic for a seed and gives
# the same recommendations natively, in the reactor and under node:wasi;
# XGBoost (python3-xgboost) trains on the exported features; bad input gets
# exit codes and messages that name what is wrong.  Nothing is skipped: missing
# data or tools are failures.  Prints "train: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
source tests/lib/checks.sh
E=build/edgerec
DATA=../shared/data
OR=$DATA/online-retail/onlineretail.csv.xz
OTTO=$DATA/otto-fixture/train.jsonl
finish() { echo "train: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
for f in "$E" "$OR" "$OTTO" wasm/edgerec.wasm wasm/edgerec-cli.wasm /usr/bin/python3; do
  [ -e "$f" ] || no "missing $f (nothing is skipped)"
done
[ "$fail" -eq 0 ] || finish
json() { "$NODE" -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); const v=process.argv[1].split(".").reduce((o,k)=>o?.[k],d); console.log(typeof v==="object"?JSON.stringify(v):v)' "$1"; }

# ---- Online Retail (first 150,000 rows) -------------------------------------
xzcat "$OR" | head -n 150001 | "$E" import online-retail - >"$TMP/or.ndjson" 2>/dev/null
check "import: the Online Retail sample has events" test "$(wc -l <"$TMP/or.ndjson")" -gt 100000

for model in trees linear; do
  "$E" train --events "$TMP/or.ndjson" --test-days 14 --model $model --out "$TMP/$model.erb" >"$TMP/$model.json" 2>"$TMP/$model.err"; rc=$?
  check "$model: train exits 0" test $rc -eq 0
  [ $rc -eq 0 ] || { cat "$TMP/$model.err"; continue; }
  check "$model: the report names the model" test "$(json model <"$TMP/$model.json")" = $model
  check "$model: progress and peak RSS on stderr" grep -q 'peak RSS' "$TMP/$model.err"
  check "$model: int8 keeps the float model's validation AUC (within 0.01)" "$NODE" -e '
    const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
    process.exit(Math.abs(d.auc_int8-d.auc_float)<=0.01 && d.auc_float>0.7 ? 0 : 1)' "$TMP/$model.json"
  check "$model: int8 vs float top-10 agreement >= 0.9" "$NODE" -e '
    const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.exit(d.top10_agreement>=0.9?0:1)' "$TMP/$model.json"
  "$E" inspect "$TMP/$model.erb" >"$TMP/$model.inspect" 2>&1
  check "$model: the bundle loads (checksum ok)" grep -q '"checksum_ok":true' "$TMP/$model.inspect"
  "$E" eval --bundle "$TMP/$model.erb" --events "$TMP/or.ndjson" --test-days 14 >"$TMP/$model.eval" 2>"$TMP/$model.eval.err"; rc=$?
  check "$model: eval exits 0" test $rc -eq 0
  check "$model: eval reports edgerec and the seven peers" "$NODE" -e '
    const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
    const m=d.models; process.exit(["edgerec","pop","spop","ar","sr","vsknn","stan","vstan"].every(k=>m[k] && m[k].predictions===d.split.predictions && d.split.predictions>1000)?0:1)' "$TMP/$model.eval"
  check "$model: every model has coverage@20, pop_bias@20 and bootstrap intervals around HR@20 / MRR@20" "$NODE" -e '
    const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).models;
    process.exit(Object.values(m).every(x=>x["coverage@20"]>0 && x["coverage@20"]<=1 && x["pop_bias@20"]>0 && x["pop_bias@20"]<=1 &&
      x["hr@20_ci"][0]<=x["hr@20"] && x["hr@20"]<=x["hr@20_ci"][1] && x["mrr@20_ci"][0]<=x["mrr@20"] && x["mrr@20"]<=x["mrr@20_ci"][1] &&
      x["hr@20_ci"][1]>x["hr@20_ci"][0])?0:1)' "$TMP/$model.eval"
  check "$model: stan and vstan were tuned on a validation split (params in the JSON)" "$NODE" -e '
    const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).models;
    process.exit([m.stan,m.vstan].every(x=>x.params.tuned && x.params.configs>5 && x.params.validation.predictions>0 && x.params.k>0) && m.vstan.params.lambda_idf>0 ? 0 : 1)' "$TMP/$model.eval"
  check "$model: stderr shows the tuning grid and the chosen parameters" test "$(grep -cE '^eval: v?stan: (tune +[0-9]+|chose k)' "$TMP/$model.eval.err")" -gt 12
  check "$model: eval prints the table, one row per model" test "$(grep -cE '^eval: (edgerec|pop|spop|ar|sr|vsknn|stan|vstan) +[0-9]\.[0-9]{4}\*? +[0-9]\.[0-9]{4}' "$TMP/$model.eval.err")" -eq 8
  check "$model: the table flags the best per column" bash -c "grep -E '^eval: (edgerec|pop|spop|ar|sr|vsknn|stan|vstan) +[0-9]\.[0-9]{4}\*? +[0-9]\.[0-9]{4}' '$TMP/$model.eval.err' | grep -q '[0-9]\*'"
  check "$model: no engine errors or work-budget fallbacks during eval" "$NODE" -e '
    const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.exit(d.models.edgerec.errors===0&&d.models.edgerec.fallbacks===0?0:1)' "$TMP/$model.eval"
  check "$model: beats POP and AR on HR@20 and MRR@20" "$NODE" -e '
    const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).models;
    process.exit(["pop","ar"].every(p=>m.edgerec["hr@20"]>m[p]["hr@20"] && m.edgerec["mrr@20"]>m[p]["mrr@20"])?0:1)' "$TMP/$model.eval"
  echo "$model: $(grep -E '^eval: (edgerec|sr|vsknn|stan|vstan) +[0-9]+ predictions' "$TMP/$model.eval.err" | tr '\n' ' ')"
done

# ---- ranking quality on a browsing log (issue 15's target): the clothing clickstream, last 14 days ----
# the README's commands with the defaults (no tuning flags): edgerec first on HR@20 and MRR@20 against
# every peer, STAN and VSTAN tuned on a validation split of the training sessions
ES=$DATA/eshop-clickstream/eshop-clothing-2008.csv.xz
xzcat "$ES" | "$E" import csv --sep ';' --session 'session ID' --item 'page 2 (clothing model)' --ts year,month,day \
  --ts-format ymd --order 'order(sells)' --category 'page 1 (main category)' --price price - >"$TMP/es.ndjson" 2>/dev/null
"$E" train --events "$TMP/es.ndjson" --test-days 14 --out "$TMP/es.erb" >/dev/null 2>&1
"$E" eval --bundle "$TMP/es.erb" --events "$TMP/es.ndjson" --test-days 14 >"$TMP/es.eval" 2>"$TMP/es.eval.err"; rc=$?
check "clickstream: train and eval with every peer exit 0" test $rc -eq 0
check "clickstream: edgerec's default model beats every peer (STAN and VSTAN included) on HR@20 and MRR@20" "$NODE" -e '
  const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).models, peers=["pop","spop","ar","sr","vsknn","stan","vstan"];
  const bad=peers.filter(p=>!m[p] || !(m.edgerec["hr@20"]>m[p]["hr@20"] && m.edgerec["mrr@20"]>m[p]["mrr@20"]));
  if (bad.length) console.error("not beaten:", bad.join(","), JSON.stringify(m.edgerec));
  process.exit(bad.length?1:0)' "$TMP/es.eval"
echo "clickstream: $(grep -E '^eval: (edgerec|sr|stan|vstan) +[0-9]\.' "$TMP/es.eval.err" | tr -s ' ' | tr '\n' ' ')"

# ---- re-visits across sessions (a seeded synthetic browsing log where a tenth of the steps return to an
# item of the shopper's earlier sessions: a development check, not evidence) ----
"$E" synth --preset browsing --seed 5 --users 400 --return 0.1 2>/dev/null | "$E" import csv --user user_id --session-gap 1800 --item item_id \
  --category category_id --type behavior_type --type-map pv=view,cart=cart,fav=wishlist,buy=purchase --ts timestamp - \
  >"$TMP/syn.ndjson" 2>/dev/null
"$E" train --events "$TMP/syn.ndjson" --test-days 2 --out "$TMP/syn.erb" >/dev/null 2>&1
for h in shopper session; do
  "$E" eval --bundle "$TMP/syn.erb" --events "$TMP/syn.ndjson" --test-days 2 --baseline spop --history $h >"$TMP/syn-$h.eval" 2>/dev/null
done
check "synthetic: the shopper's earlier sessions in the profile find more next items than the session alone" "$NODE" -e '
  const r=(f)=>JSON.parse(require("fs").readFileSync(f,"utf8")).models;
  const a=r(process.argv[1]), b=r(process.argv[2]); console.log("shopper", a.edgerec["hr@20"], "session", b.edgerec["hr@20"], "spop", a.spop["hr@20"]);
  process.exit(a.edgerec["hr@20"]>b.edgerec["hr@20"] && a.edgerec["mrr@20"]>b.edgerec["mrr@20"] && a.edgerec["mrr@20"]>a.spop["mrr@20"]?0:1)' "$TMP/syn-shopper.eval" "$TMP/syn-session.eval"
check "eval: a bad --history is a usage error naming it" bash -c "'$E' eval --events '$TMP/syn.ndjson' --history all 2>&1 >/dev/null | grep -q -- '--history must be shopper or session'"

# determinism: same seed → same bytes; another seed → another bundle
"$E" train --events "$TMP/or.ndjson" --test-days 14 --quiet --out "$TMP/again.erb" >/dev/null 2>&1
check "train is deterministic for a seed (same bytes twice)" cmp -s "$TMP/trees.erb" "$TMP/again.erb"
"$E" train --events - --test-days 14 --quiet --out "$TMP/stdin.erb" <"$TMP/or.ndjson" >/dev/null 2>&1
check "train reads standard input (same bytes)" cmp -s "$TMP/trees.erb" "$TMP/stdin.erb"
"$E" train --events "$TMP/or.ndjson" --test-days 14 --quiet --seed 2 --out "$TMP/seed2.erb" >/dev/null 2>&1
check "another seed gives another bundle" bash -c "! cmp -s '$TMP/trees.erb' '$TMP/seed2.erb'"

# the trained bundle in WASM: reactor and node:wasi against native, on test-window sessions
tail -n 4000 "$TMP/or.ndjson" >"$TMP/tail.ndjson"
mkdir -p build/train-suite # the WASI CLI sees the working directory only (like wasmtime --dir=.)
cp "$TMP/trees.erb" "$TMP/linear.erb" build/train-suite/
"$NODE" tests/js/trained-parity.mjs build/train-suite/trees.erb "$TMP/tail.ndjson" 6 >"$TMP/parity.log" 2>&1
line=$(grep -aE '^trained-parity: ' "$TMP/parity.log" | tail -n1)
check "trees bundle: native == reactor == node:wasi ($line)" grep -q 'passed, 0 failed' <<<"$line"
"$NODE" tests/js/trained-parity.mjs build/train-suite/linear.erb "$TMP/tail.ndjson" 4 >"$TMP/parity2.log" 2>&1
line=$(grep -aE '^trained-parity: ' "$TMP/parity2.log" | tail -n1)
check "linear bundle: native == reactor == node:wasi ($line)" grep -q 'passed, 0 failed' <<<"$line"
grep FAIL "$TMP/parity.log" "$TMP/parity2.log" | head -5

# features: libsvm with qid, one positive per request, the same pairs as train
"$E" features --events "$TMP/or.ndjson" --test-days 14 --part train --quiet >"$TMP/f.libsvm" 2>"$TMP/f.err"; rc=$?
check "features exits 0" test $rc -eq 0
check "features: libsvm lines 'label qid:N i:v ...' with 0-based dense indices" \
  awk 'NF < 2 || ($1 != 0 && $1 != 1) || $2 !~ /^qid:[0-9]+$/ { bad = 1 } END { exit bad || NR < 1000 }' "$TMP/f.libsvm"
check "features: one positive per request, as many requests as train used" "$NODE" -e '
  const fs=require("fs"); const pos=new Map();
  for (const l of fs.readFileSync(process.argv[1],"utf8").split("\n")) { if(!l) continue; const [y,q]=l.split(" "); pos.set(q,(pos.get(q)||0)+Number(y)); }
  const r=JSON.parse(fs.readFileSync(process.argv[2],"utf8")).requests;
  process.exit([...pos.values()].every(v=>v===1) && pos.size===r ? 0 : 1)' "$TMP/f.libsvm" "$TMP/trees.json"

# XGBoost on the exported features (python3-xgboost), and its int8 import
/usr/bin/python3 tests/xgboost/features_compare.py "$E" "$TMP/or.ndjson" "$TMP/trees.erb" "$TMP/xgb" --test-days 14 >"$TMP/xgb.log" 2>&1
cat "$TMP/xgb.log" | sed 's/^/  /'
check "XGBoost on edgerec's exported features: every check holds" test "$(grep -c '^ok - ' "$TMP/xgb.log")" -eq 6

# ---- OTTO fixture: clicks / carts / orders, another shape of log -------------
"$E" import otto "$OTTO" >"$TMP/otto.ndjson" 2>/dev/null
"$E" train --events "$TMP/otto.ndjson" --test-days 1 --out "$TMP/otto.erb" >"$TMP/otto.json" 2>"$TMP/otto.err"; rc=$?
check "otto: the same defaults train on a click/cart/order log (exit 0)" test $rc -eq 0
"$E" eval --bundle "$TMP/otto.erb" --events "$TMP/otto.ndjson" --test-days 1 >"$TMP/otto.eval" 2>&1; rc=$?
check "otto: eval runs (exit 0)" test $rc -eq 0

# ---- recommendation units: seen units + clicks become training requests ----
# 600 sessions: a unit rendered, seen (recs-unit-view) with six items of which
# one is from the good set P0..P9, and a click on the good one (recs-item-click
# or, every other session, recs-item-add-to-cart-click).  Planted like the
# listing impressions of tests/unit/test_train.c; the seen units must become
# the training requests and the bundle must rank a good item first.
"$NODE" -e '
  let r = 5n; const mix = () => { r = (r * 6364136223846793005n + 1442695040888963407n) & 0xFFFFFFFFFFFFFFFFn; return Number(r >> 33n); };
  const out = []; let id = 0;
  for (let s = 0; s < 600; s++) {
    const t = 1600000000 + s * 4000, good = mix() % 10, slot = mix() % 6;
    const items = [...Array(6)].map((_, k) => "P" + (k === slot ? good : 10 + mix() % 30));
    const u = { unit: "pdp-1", unit_type: "viewed-viewed", rank: 1, session: "u" + s };
    out.push({ type: "recs-unit-impression-render", items, ...u, ts: t, id: "r" + id++ });
    out.push({ type: "recs-unit-view", items, ...u, ts: t + 2, id: "r" + id++ });
    out.push({ type: s % 2 ? "recs-item-add-to-cart-click" : "recs-item-click", item: "P" + good, ...u, rank: slot + 1, ts: t + 5, id: "r" + id++ });
  }
  process.stdout.write(out.map((e) => JSON.stringify(e)).join("\n") + "\n");' >"$TMP/units.ndjson"
"$E" train --events "$TMP/units.ndjson" --model linear --bits 14 --out "$TMP/units.erb" >"$TMP/units.json" 2>"$TMP/units.err"; rc=$?
check "units: train on a unit log exits 0" test $rc -eq 0
check "units: the reading summary counts the unit events" grep -q 'recs-unit-impression-render 600, recs-unit-view 600, recs-item-click 300, recs-item-add-to-cart-click 300' "$TMP/units.err"
# requests come from the pair sessions (the last quarter: 150), at most one per seen unit
check "units: every request is a seen unit (100..150 of the 150 pair sessions)" "$NODE" -e '
  const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  process.exit(d.impression_requests>=100 && d.impression_requests<=150 && d.impression_requests===d.requests ? 0 : 1)' "$TMP/units.json"
good=0
for k in 0 1 2 3 4 5 6 7 8 9; do
  ctx="{\"now\":1604000000,\"hour\":3,\"weekday\":1,\"k\":1,\"candidates\":[\"P1$k\",\"P2$k\",\"P$k\",\"P3$k\",\"P1$((9-k))\",\"P2$((9-k))\"]}"
  top=$("$E" recommend --bundle "$TMP/units.erb" <<<"$ctx" 2>/dev/null | "$NODE" -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).items[0].sku)')
  [ "$top" = "P$k" ] && good=$((good + 1))
done
check "units: the good item first in >= 9 of 10 fresh units ($good)" test "$good" -ge 9
grep -v '"type":"recs-unit-view"' "$TMP/units.ndjson" >"$TMP/render-only.ndjson"
"$E" train --events "$TMP/render-only.ndjson" --model linear --bits 14 --out "$TMP/render.erb" >"$TMP/render.json" 2>/dev/null
check "units: a unit only rendered, never seen, trains nothing" test "$(json impression_requests <"$TMP/render.json")" = 0

# ---- bad input ----------------------------------------------------------------
"$E" train --out "$TMP/x.erb" >/dev/null 2>"$TMP/err"; rc=$?
check "train without --events: exit 2 naming it" bash -c "test $rc -eq 2 && grep -q -- '--events is required' '$TMP/err'"
"$E" train --events "$TMP/or.ndjson" --model forest --out "$TMP/x.erb" >/dev/null 2>"$TMP/err"; rc=$?
check "train --model forest: exit 2 naming the choices" bash -c "test $rc -eq 2 && grep -q 'linear or trees' '$TMP/err'"
"$E" train --events "$TMP/or.ndjson" --bits 40 --out "$TMP/x.erb" >/dev/null 2>"$TMP/err"; rc=$?
check "train --bits 40: exit 2" bash -c "test $rc -eq 2 && grep -q '10..24' '$TMP/err'"
"$E" train --events "$TMP/nope.ndjson" --out "$TMP/x.erb" >/dev/null 2>"$TMP/err"; rc=$?
check "train on a missing file: exit 3 naming it" bash -c "test $rc -eq 3 && grep -q 'nope.ndjson' '$TMP/err'"
"$E" train --events "$TMP/or.ndjson" --until 1000 --out "$TMP/x.erb" >/dev/null 2>"$TMP/err"; rc=$?
check "train --until before every session: exit 3 'training sessions'" bash -c "test $rc -eq 3 && grep -q 'training sessions' '$TMP/err'"
{ head -n 2000 "$TMP/or.ndjson"; echo '{"type":"view"}'; echo 'garbage'; } >"$TMP/bad.ndjson"
"$E" train --events "$TMP/bad.ndjson" --quiet --out "$TMP/x.erb" >/dev/null 2>"$TMP/err"; rc=$?
check "malformed lines are reported with their numbers, not fatal" bash -c "test $rc -eq 0 && grep -q 'line 2001: ' '$TMP/err' && grep -q 'line 2002: ' '$TMP/err' && grep -q '2 malformed' '$TMP/err'"
printf 'x\ny\n' | "$E" train --events - --out "$TMP/x.erb" >/dev/null 2>"$TMP/err"; rc=$?
check "an input with no valid event: exit 3" bash -c "test $rc -eq 3 && grep -q 'no valid event' '$TMP/err'"
"$E" eval --events "$TMP/or.ndjson" --bundle "$TMP/nope.erb" >/dev/null 2>"$TMP/err"; rc=$?
check "eval with a missing bundle: non-zero exit naming it" bash -c "test $rc -ne 0 && grep -q 'nope.erb' '$TMP/err'"
finish
