#!/usr/bin/python3
"""make-models.py — the benchmark's synthetic models (deterministic: fixed seeds).

Writes to build/bench/ (never committed):
  catalog.json        ~2,000 items in the packer's catalog format (categories, prices,
                      popularity, attributes, viewed/bought neighbour lists)
  linear.json         a linear model (bits 16, a few hundred weights over the namespaces)
  xgb.json            an XGBoost model (binary:logistic, 128 trees, max_depth 6) trained on
                      synthetic dense vectors whose features are named as er_dense_names
  trees.json          the model.json that goes with xgb.json (version, budget)
  linear.erb          build/edgerec pack --model linear.json --catalog catalog.json
  trees.erb           build/edgerec pack --model trees.json --xgboost xgb.json --catalog catalog.json
  linear.onnx         the SAME linear model as linear.erb: int64 idx [N,M] (the engine's buckets,
                      padded with 0) and float val [N,M] (the engine's Q8 values / 256, padded
                      with 0) -> Gather(W) -> Mul -> ReduceSum + bias; W = the bundle's int8
                      weights x the engine's scale (mul / 2^shift / 256)
  trees.onnx          the SAME trees as trees.erb as ai.onnx.ml TreeEnsembleRegressor over float
                      [N,16]: BRANCH_LT (x < t goes to the "true" = left child), NaN follows
                      default-left via nodes_missing_value_tracks_true, leaves = the bundle's int8
                      leaves x the engine's scale, base_values = the bundle's base margin
  models.json         what was made: sizes, quantization, the candidate pools the bench uses

The ONNX graphs are exported from the packed bundle bytes (not from the float sources), so they
are the very models the engine runs; the trees are also checked against build/edgerec score-dense
(exact Q16) and against XGBoost's own margins (within the int8 quantization error).

Run with /usr/bin/python3 (Debian python3-xgboost, python3-onnx, python3-numpy).
"""
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench")
EDGEREC = os.environ.get("EDGEREC_CLI") or os.path.join(ROOT, "build", "edgerec")  # override: dev only

DENSE_NAMES = ["pop_view", "pop_cart", "pop_purchase", "trending", "cooc_last", "cooc_recent", "content_last",
               "recency", "carted", "cat_affinity", "price_ratio", "price", "page_category", "hour", "mobile", "viewed",
               "seen_count", "seen_age", "wished", "repeat", "purchased"]
N_DENSE = len(DENSE_NAMES)  # er_dense_names (src/engine/er_features.c), in order

N_ITEMS = 2000
SEED = 20241124

# ---------------------------------------------------------------------------------------------
# catalog
# ---------------------------------------------------------------------------------------------
TAXONOMY = {
    "Men": {"Tops": ["Jackets", "Hoodies", "Tees", "Tanks"], "Bottoms": ["Pants", "Shorts"]},
    "Women": {"Tops": ["Jackets", "Hoodies", "Tees", "Bras"], "Bottoms": ["Pants", "Shorts", "Leggings"]},
    "Gear": {"Bags": [], "Fitness": [], "Watches": [], "Bottles": []},
    "Home": {"Kitchen": ["Cookware", "Knives"], "Bath": ["Towels"], "Decor": ["Lamps", "Rugs"]},
    "Kids": {"Tops": ["Tees"], "Bottoms": ["Shorts"], "Toys": []},
    "Sale": {"Clearance": []},
}
COLORS = ["Black", "White", "Gray", "Blue", "Red", "Green", "Orange", "Purple", "Yellow", "Brown", "Pink", "Navy"]
MATERIALS = ["Cotton", "Polyester", "Nylon", "Wool", "Leather", "Canvas", "Steel", "Bamboo"]
ACTIVITIES = ["Running", "Yoga", "Hiking", "Gym", "Travel", "Urban", "Cycling", "Swimming"]
NOUNS = ["Pro", "Classic", "Trail", "Studio", "Metro", "Summit", "Harbor", "Nomad", "Lumen", "Pulse", "Drift", "Echo"]


def leaf_paths():
    out = []
    for top, mids in TAXONOMY.items():
        for mid, leaves in mids.items():
            if leaves:
                for leaf in leaves:
                    out.append([top, f"{top}/{mid}", f"{top}/{mid}/{leaf}"])
            else:
                out.append([top, f"{top}/{mid}"])
    return out


def sku_of(i):
    return f"BN-{i:05d}"


def make_catalog(rng):
    leaves = leaf_paths()
    nl = len(leaves)
    leaf_of = rng.integers(0, nl, N_ITEMS)
    base_price = {k: float(rng.uniform(12, 180)) for k in range(nl)}
    view_rank = rng.permutation(N_ITEMS)  # Zipf-like popularity by a random rank
    items = []
    for i in range(N_ITEMS):
        lf = int(leaf_of[i])
        cats = list(leaves[lf])
        if rng.random() < 0.08:
            cats.append("Sale/Clearance")
        price = round(base_price[lf] * float(rng.lognormal(0, 0.35)), 2)
        views = int(200000 / (1 + view_rank[i]) ** 0.9 + rng.integers(0, 40))
        cart = int(views * float(rng.uniform(0.02, 0.12)))
        purchase = int(cart * float(rng.uniform(0.1, 0.5)))
        acts = sorted(set(ACTIVITIES[int(a)] for a in rng.integers(0, len(ACTIVITIES), int(rng.integers(1, 3)))))
        items.append({
            "sku": sku_of(i),
            "name": f"{NOUNS[i % len(NOUNS)]} {cats[-1].split('/')[-1]} {i}",
            "url_key": f"bench-item-{i:05d}",
            "parent": None,
            "categories": cats,
            "price": price,
            "in_stock": bool(rng.random() > 0.04),
            "visible": True,
            "attributes": {"color": COLORS[int(rng.integers(0, len(COLORS)))],
                           "material": MATERIALS[int(rng.integers(0, len(MATERIALS)))], "activity": acts},
            "popularity": {"view": views, "cart": cart, "purchase": purchase,
                           "trending": round(float(rng.lognormal(0, 0.6)), 3)},
        })
    # neighbour lists: mostly the same leaf category, weights falling off
    by_leaf = {}
    for i in range(N_ITEMS):
        by_leaf.setdefault(int(leaf_of[i]), []).append(i)

    def nbrs(i, count):
        same = by_leaf[int(leaf_of[i])]
        out = []
        seen = {i}
        for _ in range(count * 3):
            if len(out) >= count:
                break
            j = int(same[int(rng.integers(0, len(same)))]) if rng.random() < 0.7 else int(rng.integers(0, N_ITEMS))
            if j in seen:
                continue
            seen.add(j)
            out.append(j)
        ws = np.sort(rng.uniform(0.02, 1.0, len(out)))[::-1]
        return [[sku_of(j), round(float(w), 4)] for j, w in zip(out, ws)]

    neighbours = {"viewed_viewed": {}, "viewed_bought": {}, "bought_bought": {}}
    for i in range(N_ITEMS):
        neighbours["viewed_viewed"][sku_of(i)] = nbrs(i, int(rng.integers(12, 30)))
        neighbours["viewed_bought"][sku_of(i)] = nbrs(i, int(rng.integers(5, 15)))
        if rng.random() < 0.7:
            neighbours["bought_bought"][sku_of(i)] = nbrs(i, int(rng.integers(3, 10)))
    return {"items": items, "neighbours": neighbours}, leaves


# ---------------------------------------------------------------------------------------------
# linear model (hand-made weights, like a trained model's strongest ones)
# ---------------------------------------------------------------------------------------------
def make_linear(rng, catalog, leaves):
    w = []
    r3 = lambda x: round(float(x), 4)
    for b in range(1, 17):
        w.append({"ns": "cooc", "a": b, "w": r3(0.08 * b)})
        w.append({"ns": "cooc_recent", "a": b, "w": r3(0.05 * b)})
        w.append({"ns": "content", "a": b, "w": r3(0.03 * b)})
    for b in range(0, 13):
        w.append({"ns": "pop_view", "a": b, "w": r3(0.02 * b)})
        w.append({"ns": "pop_purchase", "a": b, "w": r3(0.03 * b)})
        w.append({"ns": "trending", "a": b, "w": r3(0.015 * b - 0.05)})
    for b, x in enumerate([-0.4, 0.15, 0.1, 0.05, 0.02, 0.0]):
        w.append({"ns": "recency", "a": b, "w": x})
    for b in range(0, 10):
        w.append({"ns": "aff_band", "a": b, "w": r3(0.04 * b)})
    w.append({"ns": "carted", "a": 1, "w": -1.2})
    cats = sorted({c for it in catalog["items"] for c in it["categories"]})
    for c in cats:
        w.append({"ns": "cat", "a": c, "w": r3(rng.normal(0, 0.15))})
    leaf_cats = sorted({p[-1] for p in leaves})
    for c in leaf_cats:  # affinity to the same category, and a few cross-sells
        w.append({"ns": "affx", "a": c, "b": c, "w": r3(0.4 + rng.uniform(0, 0.2))})
        o = leaf_cats[int(rng.integers(0, len(leaf_cats)))]
        if o != c:
            w.append({"ns": "affx", "a": c, "b": o, "w": r3(rng.uniform(0.05, 0.2))})
    for sb in range(8, 18):
        for cb in range(8, 18):
            w.append({"ns": "pricex", "a": sb, "b": cb, "w": r3(-0.03 * abs(sb - cb))})
    tops = sorted({p[0] for p in leaves})
    for d in ["desktop", "mobile", "tablet", "app"]:
        for c in tops:
            w.append({"ns": "device_cat", "a": d, "b": c, "w": r3(rng.normal(0, 0.05))})
    for h in range(8):
        for c in tops:
            w.append({"ns": "hour_cat", "a": h, "b": c, "w": r3(rng.normal(0, 0.04))})
    for p in ["home", "category", "search", "product", "cart"]:
        w.append({"ns": "page", "a": p, "b": 1, "w": 0.25})
        w.append({"ns": "page", "a": p, "b": 0, "w": -0.05})
    for k in ["US", "GB", "DE", "FR"]:
        for c in tops:
            w.append({"ns": "country_cat", "a": k, "b": c, "w": r3(rng.normal(0, 0.03))})
    for i in rng.choice(N_ITEMS, 60, replace=False):
        w.append({"ns": "item", "a": sku_of(int(i)), "w": r3(rng.normal(0, 0.2))})
    w.append({"ns": "bias", "w": 0.0})
    return {"version": "bench-linear-1", "kind": "linear", "bits": 16, "bias": -1.5, "weights": w}


# ---------------------------------------------------------------------------------------------
# XGBoost model on synthetic dense vectors
# ---------------------------------------------------------------------------------------------
def synth_dense(rng, n):
    nan = np.nan
    X = np.zeros((n, N_DENSE), dtype=np.float32)
    u = rng.random(n)
    X[:, 0] = np.floor(65535 * u ** 3)
    X[:, 1] = np.floor(X[:, 0] * rng.uniform(0.3, 1.2, n)).clip(0, 65535)
    X[:, 2] = np.floor(X[:, 1] * rng.uniform(0.2, 1.0, n)).clip(0, 65535)
    X[:, 3] = np.round(1000 * rng.lognormal(0, 0.6, n)).clip(0, 65535)
    has = rng.random(n) < 0.3
    X[:, 4] = np.where(has, np.floor(rng.uniform(0, 65535, n)), 0)
    X[:, 5] = np.where(has | (rng.random(n) < 0.2), np.floor(rng.uniform(0, 120000, n)), 0)
    X[:, 6] = np.where(rng.random(n) < 0.25, np.floor(rng.uniform(6553, 65535, n)), 0)
    X[:, 7] = np.where(rng.random(n) < 0.15, rng.integers(0, 24, n), nan)
    X[:, 8] = (rng.random(n) < 0.05).astype(np.float32)
    X[:, 9] = np.floor(rng.uniform(0, 2048, n) * (rng.random(n) < 0.6))
    X[:, 10] = np.where(rng.random(n) < 0.6, np.floor(rng.uniform(20, 400, n)), nan)
    X[:, 11] = np.round(rng.lognormal(3.8, 0.7, n), 2).astype(np.float32)
    X[:, 12] = np.where(rng.random(n) < 0.5, (rng.random(n) < 0.4).astype(np.float32), nan)
    X[:, 13] = np.where(rng.random(n) < 0.8, rng.integers(0, 24, n), nan)
    X[:, 14] = np.where(rng.random(n) < 0.9, (rng.random(n) < 0.55).astype(np.float32), nan)
    X[:, 15] = (rng.random(n) < 0.2).astype(np.float32)
    X[:, 16] = np.where(X[:, 15] > 0, rng.integers(1, 6, n), 0)
    X[:, 17] = np.where(X[:, 15] > 0, np.floor(rng.uniform(0, 86400 * 7, n)), nan)
    X[:, 18] = (rng.random(n) < 0.03).astype(np.float32)
    X[:, 19] = np.floor(rng.uniform(0, 65535, n) * (rng.random(n) < 0.2))
    X[:, 20] = (rng.random(n) < 0.03).astype(np.float32)
    z = (-2.0 + 1.2 * X[:, 0] / 65535 + 0.8 * X[:, 2] / 65535 + 0.3 * np.log1p(X[:, 3] / 1000)
         + 1.5 * X[:, 4] / 65535 + 0.6 * X[:, 5] / 120000 + 0.8 * X[:, 6] / 65535
         + np.where(np.isnan(X[:, 7]), 0, 0.4 - 0.05 * np.nan_to_num(X[:, 7]))
         - 1.2 * X[:, 8] + 0.8 * X[:, 9] / 2048
         + np.where(np.isnan(X[:, 10]), 0, -0.004 * np.abs(np.nan_to_num(X[:, 10]) - 100))
         + np.where(np.isnan(X[:, 12]), 0, 0.5 * np.nan_to_num(X[:, 12]))
         + 0.2 * np.where(np.isnan(X[:, 14]), 0, np.nan_to_num(X[:, 14])) * (X[:, 11] < 50)
         - 0.3 * X[:, 15] + 0.2 * X[:, 16] - 0.3 * X[:, 20] * (X[:, 19] < 6554))
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float32)
    return X, y


def make_xgb(rng, path):
    import xgboost as xgb
    X, y = synth_dense(rng, 40000)
    d = xgb.DMatrix(X, label=y, missing=np.nan, feature_names=DENSE_NAMES)
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "seed": 7, "nthread": 1,
              "tree_method": "hist", "max_bin": 256, "min_child_weight": 1.0, "base_score": 0.5}
    bst = xgb.train(params, d, num_boost_round=128)
    bst.save_model(path)
    Xc, _ = synth_dense(rng, 256)
    margins = bst.predict(xgb.DMatrix(Xc, missing=np.nan, feature_names=DENSE_NAMES), output_margin=True)
    return Xc, margins.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# bundle reader (docs/bundle.md, src/engine/er_bundle.h)
# ---------------------------------------------------------------------------------------------
SEC_MODEL, SEC_LINEAR, SEC_TREES, SEC_THRESHOLDS = 14, 15, 16, 17


def read_bundle(path):
    b = open(path, "rb").read()
    assert b[:8] == b"EDGERECB", path
    nsec = struct.unpack_from("<I", b, 36)[0]
    sec = {}
    for k in range(nsec):
        sid, off, ln, cnt = struct.unpack_from("<IIII", b, 64 + 16 * k)
        sec[sid] = (off, ln, cnt)
    mo = sec[SEC_MODEL][0]
    kind, bits, n_dense, shift = struct.unpack_from("<BBBB", b, mo)
    mul, base_q16, n_trees, n_nodes = struct.unpack_from("<iiII", b, mo + 4)
    m = {"bytes": b, "sec": sec, "kind": kind, "bits": bits, "n_dense": n_dense, "shift": shift, "mul": mul,
         "base_q16": base_q16, "n_trees": n_trees, "n_nodes": n_nodes,
         "unit": mul / 2.0 ** shift / 65536.0}  # real margin of one accumulator step
    return m


def margin_q16(m, acc):  # er_score_margin
    prod = acc * m["mul"]
    scaled = prod >> m["shift"] if prod >= 0 else -((-prod) >> m["shift"])
    return max(-2 ** 31, min(2 ** 31 - 1, m["base_q16"] + scaled))


def bundle_trees(m):
    b = m["bytes"]
    to, _, _ = m["sec"][SEC_TREES]
    ho, _, _ = m["sec"][SEC_THRESHOLDS]
    nt, nn = m["n_trees"], m["n_nodes"]
    roots = list(struct.unpack_from(f"<{nt}I", b, to))
    nodes = to + 4 * nt
    foff = struct.unpack_from(f"<{m['n_dense'] + 1}I", b, ho)
    thv = ho + 4 * (m["n_dense"] + 1)
    trees = []
    for t in range(nt):
        end = roots[t + 1] if t + 1 < nt else nn
        tn = []
        for k in range(roots[t], end):
            f, flags, th, l, r = struct.unpack_from("<BBHHH", b, nodes + 8 * k)
            if flags & 1:
                tn.append(("leaf", struct.unpack("<b", bytes([th & 0xFF]))[0]))
            else:
                thr = struct.unpack_from("<f", b, thv + 4 * (foff[f] + th))[0]
                tn.append(("split", f, thr, bool(flags & 2), l, r))
        trees.append(tn)
    return trees


def eval_trees_acc(trees, x):
    f32 = np.float32
    acc = 0
    for tn in trees:
        k = 0
        while tn[k][0] == "split":
            _, f, thr, dl, l, r = tn[k]
            v = x[f]
            left = dl if math.isnan(v) else (f32(v) < f32(thr))
            k = l if left else r
        acc += tn[k][1]
    return acc


# ---------------------------------------------------------------------------------------------
# ONNX export
# ---------------------------------------------------------------------------------------------
def onnx_linear(m, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    lo, ln, _ = m["sec"][SEC_LINEAR]
    w8 = np.frombuffer(m["bytes"], dtype=np.int8, count=ln, offset=lo)
    # margin = base + s * sum(w_q * v_q8): with val = v_q8 / 256, W = w_q * s * 256
    W = (w8.astype(np.float64) * (m["unit"] * 256.0)).astype(np.float32)
    bias = np.array(m["base_q16"] / 65536.0, dtype=np.float32)
    g = helper.make_graph(
        [helper.make_node("Gather", ["W", "idx"], ["wg"], axis=0),
         helper.make_node("Mul", ["wg", "val"], ["wv"]),
         helper.make_node("ReduceSum", ["wv", "axes"], ["acc"], keepdims=0),
         helper.make_node("Add", ["acc", "bias"], ["margin"])],
        "edgerec_linear",
        [helper.make_tensor_value_info("idx", TensorProto.INT64, ["N", "M"]),
         helper.make_tensor_value_info("val", TensorProto.FLOAT, ["N", "M"])],
        [helper.make_tensor_value_info("margin", TensorProto.FLOAT, ["N"])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
         numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="edgerec-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def onnx_trees(m, trees, path):
    import onnx
    from onnx import TensorProto, helper
    unit = m["unit"]
    a = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                         "target_treeids", "target_nodeids", "target_ids", "target_weights"]}
    for t, tn in enumerate(trees):
        for k, nd in enumerate(tn):
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(k)
            if nd[0] == "leaf":
                a["nodes_featureids"].append(0)
                a["nodes_modes"].append("LEAF")
                a["nodes_values"].append(0.0)
                a["nodes_truenodeids"].append(0)
                a["nodes_falsenodeids"].append(0)
                a["nodes_missing_value_tracks_true"].append(0)
                a["target_treeids"].append(t)
                a["target_nodeids"].append(k)
                a["target_ids"].append(0)
                a["target_weights"].append(float(np.float32(nd[1] * unit)))
            else:
                _, f, thr, dl, l, r = nd
                a["nodes_featureids"].append(f)
                a["nodes_modes"].append("BRANCH_LT")  # x < t: true branch = XGBoost's left
                a["nodes_values"].append(thr)         # a float32 already: stored exactly
                a["nodes_truenodeids"].append(l)
                a["nodes_falsenodeids"].append(r)
                a["nodes_missing_value_tracks_true"].append(1 if dl else 0)  # NaN -> left iff default_left
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml", n_targets=1,
                            aggregate_function="SUM", post_transform="NONE",
                            base_values=[float(m["base_q16"] / 65536.0)], **a)
    g = helper.make_graph([node], "edgerec_trees", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", N_DENSE])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 1])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 3)],
                              producer_name="edgerec-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


# ---------------------------------------------------------------------------------------------
def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))


def pack(args):
    r = subprocess.run([EDGEREC, "pack"] + args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make-models: edgerec pack {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")


def main():
    if not os.access(EDGEREC, os.X_OK):
        sys.exit("make-models: build/edgerec is missing (run ./build.sh first)")
    os.makedirs(OUT, exist_ok=True)
    p = lambda n: os.path.join(OUT, n)
    rng = np.random.default_rng(SEED)
    catalog, leaves = make_catalog(rng)
    dump(catalog, p("catalog.json"))
    dump(make_linear(np.random.default_rng(SEED + 1), catalog, leaves), p("linear.json"))
    Xc, xgb_margins = make_xgb(np.random.default_rng(SEED + 2), p("xgb.json"))
    dump({"version": "bench-trees-1", "kind": "trees"}, p("trees.json"))
    pack(["--model", p("linear.json"), "--catalog", p("catalog.json"), "--out", p("linear.erb")])
    pack(["--model", p("trees.json"), "--xgboost", p("xgb.json"), "--catalog", p("catalog.json"), "--out", p("trees.erb")])

    lin = read_bundle(p("linear.erb"))
    tr = read_bundle(p("trees.erb"))
    assert lin["kind"] == 1 and lin["bits"] == 16, "linear.erb is not a 16-bit linear bundle"
    assert tr["kind"] == 2 and tr["n_trees"] == 128, "trees.erb does not hold 128 trees"
    trees = bundle_trees(tr)

    # check our reading of the bundle's trees: exact against the engine (score-dense), close to XGBoost
    csv = "\n".join(",".join("" if math.isnan(v) else repr(float(v)) for v in row) for row in Xc) + "\n"
    r = subprocess.run([EDGEREC, "score-dense", "--bundle", p("trees.erb")], input=csv, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make-models: edgerec score-dense failed: {r.stderr.strip()}")
    engine_q16 = [int(s) for s in r.stdout.split()]
    mine_q16 = [margin_q16(tr, eval_trees_acc(trees, row)) for row in Xc]
    if engine_q16 != mine_q16:
        bad = next(k for k in range(len(Xc)) if engine_q16[k] != mine_q16[k])
        sys.exit(f"make-models: tree reader disagrees with score-dense on row {bad}: {mine_q16[bad]} vs {engine_q16[bad]}")
    qerr = max(abs(e / 65536.0 - x) for e, x in zip(engine_q16, xgb_margins))
    qscale = tr["unit"]
    tol = 128 * qscale / 2 + 1e-3  # each leaf is off by at most half a step
    if qerr > tol:
        sys.exit(f"make-models: bundle trees differ from XGBoost by {qerr:.5f} (tolerance {tol:.5f})")

    onnx_linear(lin, p("linear.onnx"))
    onnx_trees(tr, trees, p("trees.onnx"))

    # candidate pools for the bench: visible, in stock, no parent, distinct (generation order =
    # the given order), in a fixed shuffled order
    pool = [it["sku"] for it in catalog["items"] if it["in_stock"] and it["visible"] and not it["parent"]]
    order = np.random.default_rng(SEED + 3).permutation(len(pool))
    pool = [pool[int(k)] for k in order]
    info = {
        "seed": SEED, "items": N_ITEMS, "candidate_pool": pool,
        "leaf_categories": [l[-1] for l in leaves],
        "linear": {"bytes": len(lin["bytes"]), "bits": lin["bits"], "shift": lin["shift"], "mul": lin["mul"],
                   "base_q16": lin["base_q16"], "weights": len(json.load(open(p("linear.json")))["weights"])},
        "trees": {"bytes": len(tr["bytes"]), "trees": tr["n_trees"], "nodes": tr["n_nodes"], "shift": tr["shift"],
                  "mul": tr["mul"], "base_q16": tr["base_q16"], "max_abs_vs_xgboost": qerr},
    }
    dump(info, p("models.json"))
    print(f"make-models: {N_ITEMS} items; linear.erb {len(lin['bytes'])} B ({info['linear']['weights']} weights, "
          f"bits 16); trees.erb {len(tr['bytes'])} B ({tr['n_trees']} trees, {tr['n_nodes']} nodes, "
          f"max |bundle - xgboost| margin {qerr:.5f}); ONNX peers written", file=sys.stderr)


if __name__ == "__main__":
    main()
