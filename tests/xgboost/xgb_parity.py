#!/usr/bin/python3
"""XGBoost import parity: train with Debian's python3-xgboost on dense vectors
shaped like edgerec's (its named dense features, missing values), import the model
with `edgerec pack --xgboost`, score the same vectors with `edgerec
score-dense`, and compare with xgboost's own predictions.

Checks (each one test):
  * the import is accepted and the bundle loads;
  * split decisions are exact: for every row, xgboost's leaf indices
    (pred_leaf) reconstruct the engine's margin to within fixed-point rounding,
    using the int8-quantized leaves the bundle stores;
  * |engine margin − xgboost margin| <= n_trees * scale / 2 + 2^-16 (the
    documented int8 tolerance) for every row;
  * top-10 agreement of the 200-row ranking >= 9/10;
  * binary:logistic base_score becomes its logit (checked through a model with
    base_score 0.2).
Prints one 'N passed, N failed' line; exits non-zero on failure."""
import json, math, os, shutil, subprocess, sys, tempfile

import numpy as np
import xgboost as xgb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EDGEREC = os.path.join(ROOT, "build", "edgerec")
DENSE = ["pop_view", "pop_cart", "pop_purchase", "trending", "cooc_last", "cooc_recent", "content_last", "recency",
         "carted", "cat_affinity", "price_ratio", "price", "page_category", "hour", "mobile", "viewed",
         "seen_count", "seen_age", "wished", "repeat", "purchased"]
N_DENSE = len(DENSE)
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok -", name, detail)
    else:
        failed += 1
        print("FAIL -", name, detail)


def dataset(rng, n):
    x = np.zeros((n, N_DENSE), dtype=np.float32)
    x[:, 0:4] = rng.integers(0, 65536, (n, 4))
    x[:, 4:7] = rng.integers(0, 65536, (n, 3)) * (rng.random((n, 3)) < 0.4)
    x[:, 7] = rng.integers(0, 24, n)
    x[:, 8] = rng.random(n) < 0.1
    x[:, 9] = rng.integers(0, 4000, n)
    x[:, 10] = rng.integers(10, 400, n)
    x[:, 11] = np.round(rng.random(n) * 200, 2)
    x[:, 12] = rng.random(n) < 0.3
    x[:, 13] = rng.integers(0, 24, n)
    x[:, 14] = rng.random(n) < 0.5
    x[:, 15] = rng.random(n) < 0.2
    x[:, 16] = rng.integers(0, 6, n)                        # seen_count
    x[:, 17] = rng.integers(0, 86400 * 30, n)               # seen_age (s)
    x[:, 18] = rng.random(n) < 0.05                         # wished
    x[:, 19] = rng.integers(0, 65536, n) * (rng.random(n) < 0.3)  # repeat
    x[:, 20] = rng.random(n) < 0.05                         # purchased
    # missing values where edgerec has them
    for col, p in ((7, 0.7), (10, 0.3), (11, 0.05), (12, 0.4), (13, 0.2), (14, 0.2), (17, 0.7)):
        x[rng.random(n) < p, col] = np.nan
    logit = (x[:, 4] / 20000.0 + np.nan_to_num(x[:, 9]) / 2000.0 - np.nan_to_num(x[:, 7], nan=30) / 30.0
             + 0.5 * x[:, 8] - 1.0 + rng.normal(0, 0.5, n))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return x, y


def run(args, stdin=None):
    return subprocess.run([EDGEREC] + args, input=stdin, capture_output=True, text=True)


def main():
    rng = np.random.default_rng(7)
    x, y = dataset(rng, 4000)
    xt, _ = dataset(rng, 200)
    tmp = tempfile.mkdtemp()
    model_json = os.path.join(tmp, "model.json")
    with open(model_json, "w") as f:
        json.dump({"version": "xgb-parity", "budget": 0}, f)
    catalog = os.path.join(ROOT, "tests", "data", "sample-catalog.json")
    for base_score, trees, depth in ((0.5, 60, 6), (0.2, 20, 4)):
        d = xgb.DMatrix(x, label=y, missing=np.nan, feature_names=DENSE)
        booster = xgb.train({"objective": "binary:logistic", "max_depth": depth, "eta": 0.2, "base_score": base_score,
                             "tree_method": "hist", "seed": 1, "nthread": 1}, d, num_boost_round=trees)
        xgb_path = os.path.join(tmp, f"xgb-{trees}.json")
        booster.save_model(xgb_path)
        erb = os.path.join(tmp, f"xgb-{trees}.erb")
        r = run(["pack", "--model", model_json, "--catalog", catalog, "--xgboost", xgb_path, "--out", erb])
        check(f"import of a {trees}-tree depth-{depth} binary:logistic model (base_score {base_score})", r.returncode == 0, r.stderr.strip()[:200])
        if r.returncode:
            continue
        info = json.loads(run(["inspect", erb]).stdout)
        scale = info["meta"]["quantization"]["scale"]
        dt = xgb.DMatrix(xt, missing=np.nan, feature_names=DENSE)
        margin = booster.predict(dt, output_margin=True)
        leaves = booster.predict(dt, pred_leaf=True).astype(int)
        csv = "\n".join(",".join("" if math.isnan(v) else repr(float(v)) for v in row) for row in xt) + "\n"
        r = run(["score-dense", "--bundle", erb], csv)
        ours = np.array([int(v) for v in r.stdout.split()], dtype=np.int64) / 65536.0
        check("score-dense scores every row", r.returncode == 0 and len(ours) == len(xt), r.stderr.strip()[:200])
        if len(ours) != len(xt):
            continue
        # exact split decisions: rebuild the engine's margin from xgboost's leaf ids and the quantized leaves
        dump = [json.loads(t) for t in booster.get_dump(dump_format="json")]
        leaf_value = []
        for t in dump:
            vals, stack = {}, [t]
            while stack:
                n = stack.pop()
                if "leaf" in n:
                    vals[n["nodeid"]] = n["leaf"]
                else:
                    stack.extend(n["children"])
            leaf_value.append(vals)
        base = math.log(base_score / (1 - base_score))
        rebuilt = np.array([base + sum(round(leaf_value[t][leaves[i][t]] / scale) * scale for t in range(len(dump)))
                            for i in range(len(xt))])
        worst_path = float(np.max(np.abs(rebuilt - ours)))
        check("split decisions match xgboost exactly (leaf ids rebuild the margin)", worst_path <= 4.0 / 65536,
              f"(max diff {worst_path:.2e})")
        bound = len(dump) * scale / 2 + 2.0 / 65536
        worst = float(np.max(np.abs(margin - ours)))
        check(f"|margin − xgboost| within the int8 tolerance {bound:.4f}", worst <= bound, f"(max {worst:.4f})")
        top = lambda s: set(np.argsort(-s, kind="stable")[:10].tolist())
        agree = len(top(margin) & top(ours))
        check("top-10 agreement >= 9/10", agree >= 9, f"({agree}/10)")
        # base_score → logit: a row that takes no trees' weight is not available, so compare the mean offset
        check("base_score becomes its logit", abs(float(np.mean(ours - (margin - base))) - base) < bound,
              f"(logit {base:.4f})")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
