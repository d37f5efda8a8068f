// js-scorers.mjs — the engine's linear and tree scorers in plain JavaScript, for the benchmark's
// "plain JS" peer.  Same arithmetic as src/engine/er_score.c: int8 weights / leaves, int32 accumulation,
// Q16 margin = base + (acc × mul) >> shift (the shift rounds toward zero), saturated to int32.
// They read the model from the .erb bundle bytes (docs/bundle.md) — the tree scorer walks the very
// 8-byte node layout the C code walks — and score features the engine computed (er_features, see
// er_features_for in src/engine/edgerec.h), so only scoring is compared, never feature extraction.
//
// Typed-array views assume a little-endian host (every V8 platform in practice).

const SEC_MODEL = 14, SEC_LINEAR = 15, SEC_TREES = 16, SEC_THRESHOLDS = 17;
const NODE_LEAF = 1, NODE_DEFAULT_LEFT = 2;

/** The model of a bundle: header fields and views of its model sections (no copies). */
export function readBundleModel(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== 'EDGERECB') throw new Error('js-scorers: not an .erb bundle');
  const nsec = dv.getUint32(36, true);
  const sec = {};
  for (let k = 0; k < nsec; k++) {
    const o = 64 + 16 * k;
    sec[dv.getUint32(o, true)] = { off: dv.getUint32(o + 4, true), len: dv.getUint32(o + 8, true), count: dv.getUint32(o + 12, true) };
  }
  const mo = sec[SEC_MODEL].off;
  const m = {
    kind: bytes[mo], bits: bytes[mo + 1], nDense: bytes[mo + 2], shift: bytes[mo + 3],
    mul: dv.getInt32(mo + 4, true), base: dv.getInt32(mo + 8, true),
    nTrees: dv.getUint32(mo + 12, true), nNodes: dv.getUint32(mo + 16, true),
  };
  m.div = 2 ** m.shift; // constants of marginQ16
  m.mulHi = Math.floor(m.mul / 65536);
  m.mulLo = m.mul % 65536;
  m.divHi = 2 ** Math.max(0, m.shift - 16);
  const at = (off) => bytes.byteOffset + off;
  if (m.kind === 1) {
    m.weights = new Int8Array(bytes.buffer, at(sec[SEC_LINEAR].off), sec[SEC_LINEAR].len);
  } else if (m.kind === 2) {
    const t = sec[SEC_TREES].off, h = sec[SEC_THRESHOLDS].off;
    m.roots = new Uint32Array(bytes.buffer, at(t), m.nTrees);
    // node k: u16[4k] = feature | flags << 8, u16[4k+1] = threshold index (low byte: int8 leaf),
    //         u16[4k+2] = left, u16[4k+3] = right (relative to the tree's first node)
    m.nodes = new Uint16Array(bytes.buffer, at(t + 4 * m.nTrees), 4 * m.nNodes);
    m.nodeBytes = new Int8Array(bytes.buffer, at(t + 4 * m.nTrees), 8 * m.nNodes);
    m.thrOff = new Uint32Array(bytes.buffer, at(h), m.nDense + 1);
    m.thr = new Float32Array(bytes.buffer, at(h + 4 * (m.nDense + 1)), sec[SEC_THRESHOLDS].count);
  } else throw new Error(`js-scorers: unknown model kind ${m.kind}`);
  return m;
}

/** er_score_margin: base + (acc × mul) >> shift, the shift on the magnitude, saturated to int32.
 * acc × mul can exceed 2^53, so it is split: mul = hi·2^16 + lo (both partial products are exact). */
export function marginQ16(m, acc) {
  const neg = acc < 0, a = neg ? -acc : acc;
  const prod = a * m.mul;
  const s = prod <= 9007199254740991 ? Math.floor(prod / m.div)
    : m.shift >= 16 ? Math.floor((a * m.mulHi + Math.floor((a * m.mulLo) / 65536)) / m.divHi)
    : Number((BigInt(a) * BigInt(m.mul)) >> BigInt(m.shift));
  const r = m.base + (neg ? -s : s);
  return r > 2147483647 ? 2147483647 : r < -2147483648 ? -2147483648 : r;
}

/** Decode er_features output: u32 n, u32 n_dense, u32 bits, then per candidate u32 m,
 * m × {u32 bucket, i32 value_q8}, n_dense × f32.  Into flat typed arrays. */
export function decodeFeatures(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(0, true), nDense = dv.getUint32(4, true), bits = dv.getUint32(8, true);
  const off = new Uint32Array(n + 1);
  const bucket = [], value = [];
  const dense = new Float32Array(n * nDense);
  let p = 12;
  for (let c = 0; c < n; c++) {
    const m = dv.getUint32(p, true);
    p += 4;
    for (let k = 0; k < m; k++, p += 8) {
      bucket.push(dv.getUint32(p, true));
      value.push(dv.getInt32(p + 4, true));
    }
    off[c + 1] = off[c] + m;
    for (let k = 0; k < nDense; k++, p += 4) dense[c * nDense + k] = dv.getFloat32(p, true);
  }
  if (p !== bytes.byteLength) throw new Error(`js-scorers: features: ${bytes.byteLength - p} trailing bytes`);
  let maxM = 0;
  for (let c = 0; c < n; c++) maxM = Math.max(maxM, off[c + 1] - off[c]);
  return { n, nDense, bits, off, bucket: Uint32Array.from(bucket), value: Int32Array.from(value), dense, maxM };
}

/** Linear scorer: out[c] = Q16 margin of candidate c. */
export function scoreLinear(m, f, out) {
  const w = m.weights, off = f.off, bucket = f.bucket, value = f.value;
  const mask = m.weights.length - 1;
  for (let c = 0; c < f.n; c++) {
    let acc = 0; // |w| <= 127, |v| <= 32767, <= 32 features: fits int32
    for (let k = off[c], e = off[c + 1]; k < e; k++) acc = (acc + w[bucket[k] & mask] * value[k]) | 0;
    out[c] = marginQ16(m, acc);
  }
  return out;
}

/** Tree scorer: walks the bundle's nodes exactly as er_score_trees does. */
export function scoreTrees(m, f, out) {
  const nodes = m.nodes, nb = m.nodeBytes, roots = m.roots, thrOff = m.thrOff, thr = m.thr, nT = m.nTrees;
  const x = f.dense, nd = f.nDense;
  for (let c = 0; c < f.n; c++) {
    const xb = c * nd;
    let acc = 0;
    for (let t = 0; t < nT; t++) {
      const base = roots[t];
      let k = base, h = nodes[4 * k];
      while (!((h >> 8) & NODE_LEAF)) {
        const v = x[xb + (h & 255)];
        let left;
        if (v !== v) left = (h >> 8) & NODE_DEFAULT_LEFT;
        else left = v < thr[thrOff[h & 255] + nodes[4 * k + 1]];
        k = base + nodes[4 * k + (left ? 2 : 3)];
        h = nodes[4 * k];
      }
      acc += nb[8 * k + 2]; // int8 leaf
    }
    out[c] = marginQ16(m, acc);
  }
  return out;
}

/** The engine's score formatter (er_buf_q16): 4 decimals, round half up on the magnitude. */
export function formatQ16(q) {
  const m = Math.abs(q);
  const d = Math.floor((m * 10000 + 32768) / 65536);
  const s = `${Math.floor(d / 10000)}.${String(d % 10000).padStart(4, '0')}`;
  return q < 0 && d !== 0 ? `-${s}` : s; // -0.0000 prints as 0.0000, as in C
}
