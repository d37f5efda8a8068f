#!/usr/bin/python3
"""features_compare.py — XGBoost (Debian's python3-xgboost) trained on exactly
the pairs `edgerec features` exports, against edgerec's own trees, on the same
validation requests.

  /usr/bin/python3 tests/xgboost/features_compare.py EDGEREC EVENTS BUNDLE OUTDIR [--until TS | --test-days N]

EDGEREC is the native CLI, EVENTS the event NDJSON, BUNDLE the tree bundle
`edgerec train` made from the same events and split.  Steps:
  1. `edgerec features --part train` / `--part valid` (libsvm with qid: the
     positive and the sampled negatives of each request, dense features);
  2. XGBoost rank:pairwise with edgerec's tree settings (32 trees, depth 5,
     eta 0.1, hist, 64 bins) on the train part;
  3. pairwise AUC on the valid part (positive vs each negative of its request)
     for: XGBoost float (output margins), XGBoost imported into an int8 bundle
     (`edgerec pack --xgboost`, scored by `edgerec score-dense`), and
     edgerec's own trees (int8, `score-dense` on BUNDLE).
Prints one JSON line with the three AUCs and the counts, and checks that the
imported XGBoost margins agree with XGBoost's within the int8 bound.
Exit 0 when every check holds.
"""
import json
import re
import subprocess
import sys
import os

import numpy as np
import xgboost as xgb



def dense_count(edgerec):
    # `edgerec version`: "... features 2 with 21 dense, schema ..."
    out = subprocess.run([edgerec, "version"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"with (\d+) dense", out).group(1))


N_DENSE = None  # set in main from the binary


def read_libsvm(path):
    rows, labels, qids = [], [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            labels.append(float(parts[0]))
            qids.append(int(parts[1].split(":")[1]))
            x = np.full(N_DENSE, np.nan, dtype=np.float32)
            for kv in parts[2:]:
                k, v = kv.split(":")
                k = int(k)
                if k < N_DENSE:
                    x[k] = np.float32(float(v))
            rows.append(x)
    return np.array(rows, dtype=np.float32).reshape(-1, N_DENSE), np.array(labels), np.array(qids)


def pairwise_auc(scores, labels, qids):
    num = den = 0.0
    start = 0
    n = len(labels)
    while start < n:
        end = start
        while end < n and qids[end] == qids[start]:
            end += 1
        s, y = scores[start:end], labels[start:end]
        for p in np.where(y == 1)[0]:
            neg = s[y == 0]
            num += np.sum(s[p] > neg) + 0.5 * np.sum(s[p] == neg)
            den += len(neg)
        start = end
    return num / den if den else 0.0


def score_dense(edgerec, bundle, X, tmp):
    path = os.path.join(tmp, "dense.csv")
    with open(path, "w") as f:
        for x in X:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in x) + "\n")
    with open(path) as f:
        out = subprocess.run([edgerec, "score-dense", "--bundle", bundle], stdin=f, capture_output=True, text=True, check=True)
    return np.array([int(v) for v in out.stdout.split()], dtype=np.float64) / 65536.0


def main():
    edgerec, events, bundle, out = sys.argv[1:5]
    global N_DENSE
    N_DENSE = dense_count(edgerec)
    split = sys.argv[5:]
    os.makedirs(out, exist_ok=True)
    parts = {}
    for part in ("train", "valid"):
        path = os.path.join(out, f"{part}.libsvm")
        with open(path, "w") as f:
            subprocess.run([edgerec, "features", "--events", events, "--part", part, "--format", "libsvm", "--quiet"] + split,
                           stdout=f, check=True)
        parts[part] = read_libsvm(path)
    Xt, yt, qt = parts["train"]
    Xv, yv, qv = parts["valid"]
    _, group_sizes = np.unique(qt, return_counts=True)
    dtrain = xgb.DMatrix(Xt, label=yt, missing=np.nan)
    dtrain.set_group(group_sizes)  # qids are ascending and contiguous
    params = {"objective": "rank:pairwise", "max_depth": 5, "eta": 0.1, "tree_method": "hist", "max_bin": 64,
              "seed": 1, "nthread": 1}
    bst = xgb.train(params, dtrain, num_boost_round=32)
    model_path = os.path.join(out, "xgb.json")
    bst.save_model(model_path)
    margin = bst.predict(xgb.DMatrix(Xv, missing=np.nan), output_margin=True)
    # import into an int8 bundle with the catalog of the trained bundle's sources (the sample catalog is enough:
    # score-dense only needs the trees)
    model_json = os.path.join(out, "model.json")
    with open(model_json, "w") as f:
        json.dump({"version": "xgb-compare", "kind": "trees"}, f)
    xb = os.path.join(out, "xgb.erb")
    subprocess.run([edgerec, "pack", "--model", model_json, "--xgboost", model_path, "--catalog",
                    "tests/data/sample-catalog.json", "--out", xb], check=True, capture_output=True)
    xq = score_dense(edgerec, xb, Xv, out)
    ours = score_dense(edgerec, bundle, Xv, out)
    # int8 bound: every tree's leaf within s/2, s = max|leaf| / 127
    dump = json.loads(open(model_path).read())
    leaves = [v for t in dump["learner"]["gradient_booster"]["model"]["trees"]
              for v, l in zip(t["split_conditions"], t["left_children"]) if l == -1]
    s = max(abs(v) for v in leaves) / 127.0
    bound = 32 * s / 2 + 2.0 / 65536
    max_err = float(np.max(np.abs(xq - margin)))
    res = {
        "train_rows": int(len(yt)), "valid_rows": int(len(yv)), "valid_requests": int(len(np.unique(qv))),
        "xgboost_auc_float": round(pairwise_auc(margin, yv, qv), 4),
        "xgboost_auc_int8": round(pairwise_auc(xq, yv, qv), 4),
        "edgerec_trees_auc_int8": round(pairwise_auc(ours, yv, qv), 4),
        "xgboost_int8_max_margin_error": round(max_err, 5), "int8_bound": round(bound, 5),
    }
    print(json.dumps(res))
    ok = True
    for name, cond in [("train and valid parts are non-empty", len(yt) > 0 and len(yv) > 0),
                       ("every request has one positive", all(np.sum(yv[qv == q]) == 1 for q in np.unique(qv)[:500])),
                       ("imported XGBoost margins within the int8 bound", max_err <= bound),
                       ("XGBoost learns something (AUC > 0.6)", res["xgboost_auc_float"] > 0.6),
                       ("int8 import keeps XGBoost's AUC within 0.01", abs(res["xgboost_auc_int8"] - res["xgboost_auc_float"]) <= 0.01),
                       ("edgerec's trees learn something (AUC > 0.6)", res["edgerec_trees_auc_int8"] > 0.6)]:
        print(("ok - " if cond else "FAIL - ") + name)
        ok &= bool(cond)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
