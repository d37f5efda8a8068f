// guardrails.test.mjs — worker-shim/core/guardrails.js: the canary/holdout statistics.
//
// Simulations use a seeded PRNG, so every figure below is deterministic; they are printed as
// test diagnostics (run with the spec reporter to see them).  Budget: the whole file < ~20 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decide, uplift, sequentialTest, resolveConfig, DEFAULTS,
  mixtureLogLambda, mixtureBoundary, optimalMixtureRatio, normCdf, logNormCdf, normQuantile,
} from '../../worker-shim/core/guardrails.js';

const MIN = 60_000, HOUR = 3_600_000, DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1);

// ── Helpers ───────────────────────────────────────────────────────────────────────────────────

/** mulberry32: small, fast, deterministic. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Binomial(n, p), exactly, by geometric waiting times (≈ np + 1 draws instead of n). */
function binomial(rand, n, p) {
  if (p <= 0) return 0;
  if (p >= 1) return n;
  const lq = Math.log1p(-p);
  let x = 0, pos = 0;
  for (;;) {
    pos += Math.floor(Math.log(1 - rand()) / lq) + 1;
    if (pos > n) return x;
    x++;
  }
}

const arm = (shoppers, converted, extra = {}) =>
  ({ shoppers, converted, requests: 3 * shoppers, errors: 0, bypasses: 0, ...extra });

/** Classic pooled two-proportion z statistic (canary − control), the naive test. */
function naiveZ(xc, nc, xt, nt) {
  const p = (xc + xt) / (nc + nt);
  const se = Math.sqrt(p * (1 - p) * (1 / nc + 1 / nt));
  return se > 0 ? (xc / nc - xt / nt) / se : 0;
}

const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b), k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
};

/**
 * Runs `sims` experiments.  Each look adds `batch` = [canary, control] shoppers and calls
 * decide() at T0 + look × lookMs.  stopAtAction: the real cron (the first rollback or promote
 * ends the experiment); otherwise every look is made and the first look of each kind recorded
 * (for A/A: "ever rolls back" over all looks, promotions notwithstanding).
 */
function simulate({ pc, pt, batch: [bc, bt], looks, sims, seed, config = {}, lookMs = 5 * MIN, stopAtAction }) {
  const rand = prng(seed);
  const zNaive = normQuantile(1 - (config.alpha ?? DEFAULTS.alpha));
  const out = [];
  for (let e = 0; e < sims; e++) {
    let nc = 0, nt = 0, xc = 0, xt = 0;
    const r = { rollback: null, promote: null, naive: null, ms: null };
    for (let k = 1; k <= looks; k++) {
      nc += bc; nt += bt;
      xc += binomial(rand, bc, pc);
      xt += binomial(rand, bt, pt);
      if (r.naive === null && naiveZ(xc, nc, xt, nt) <= -zNaive) r.naive = nc;
      const d = decide(arm(nc, xc), arm(nt, xt), config, T0, T0 + k * lookMs);
      if (d.action === 'rollback' && r.rollback === null) r.rollback = nc;
      if (d.action === 'promote' && r.promote === null) { r.promote = nc; r.ms = k * lookMs; }
      if (stopAtAction && d.action !== 'continue') break;
    }
    out.push(r);
  }
  return out;
}

const rate = (rs, key) => rs.filter((r) => r[key] !== null).length / rs.length;

/** Every number anywhere in v is finite (null is fine). */
function assertFinite(v, path = 'figures') {
  if (typeof v === 'number') assert.ok(Number.isFinite(v), `${path} = ${v}`);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) assertFinite(x, `${path}.${k}`);
}

// ── Numerics ──────────────────────────────────────────────────────────────────────────────────

test('normal distribution helpers', () => {
  assert.ok(Math.abs(normCdf(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(normCdf(1.959963985) - 0.975) < 1e-7);
  assert.ok(Math.abs(normCdf(-3) - 0.0013498980) < 1e-9);
  assert.ok(Math.abs(normQuantile(0.975) - 1.959963985) < 1e-8);
  assert.ok(Math.abs(normQuantile(0.05) + 1.644853627) < 1e-8);
  // The far tail stays finite in log space (Φ(−40) underflows a double; its log does not).
  assert.ok(Math.abs(logNormCdf(-40) - (-804.6084420137538)) < 1e-3);
  assert.ok(logNormCdf(40) <= 0 && logNormCdf(40) > -1e-300);
});

test('one-sided normal mixture matches confseq (Howard et al.) reference values', () => {
  // confseq's tests (values from its R reference): v_opt = 100, alpha_opt = 0.05,
  // normal_log_mixture(s = 10, v = 100) = −0.06502391 and normal_mixture_bound(v = 100,
  // alpha = 0.05) = 27.66071.  In this module's units: z = s/√v = 1, s_here = v/ρ = r.
  const r = optimalMixtureRatio(0.05);
  assert.ok(Math.abs(mixtureLogLambda(1, r) - (-0.06502391)) < 1e-6, String(mixtureLogLambda(1, r)));
  assert.ok(Math.abs(mixtureBoundary(r, 0.05) * 10 - 27.66071) < 1e-4, String(mixtureBoundary(r, 0.05)));
});

test('mixtureBoundary solves log Λ = log(1/α) (checked by bisection) and shrinks with information', () => {
  for (const s of [1e-4, 0.01, 0.3, 1, 6.3, 100, 1e4]) {
    for (const alpha of [0.2, 0.05, 0.01, 0.001]) {
      let lo = 0, hi = 1e4;
      for (let i = 0; i < 200; i++) {
        const mid = (lo + hi) / 2;
        if (mixtureLogLambda(mid, s) >= Math.log(1 / alpha)) hi = mid; else lo = mid;
      }
      const b = mixtureBoundary(s, alpha);
      assert.ok(Math.abs(b - lo) <= 1e-8 * (1 + lo), `s=${s} α=${alpha}: ${b} vs ${lo}`);
    }
  }
  assert.equal(mixtureBoundary(0, 0.05), Infinity);
  assert.equal(mixtureLogLambda(5, 0), 0);
  // Always-valid boundaries are wider than the fixed-sample 1.645 everywhere.
  for (const s of [0.01, 1, 6.3, 100, 1e6]) assert.ok(mixtureBoundary(s, 0.05) > 1.645);
  // With τ fixed, the half-width in θ units is b(s)·√V ∝ b(s)/√s: it shrinks as shoppers come.
  let prev = Infinity;
  for (const s of [0.01, 0.1, 1, 10, 100, 1e3, 1e4, 1e6]) {
    const w = mixtureBoundary(s, 0.05) / Math.sqrt(s);
    assert.ok(w < prev, `s=${s}`);
    prev = w;
  }
  // r = τ²/V_tune is (close to) the best choice for the tuning sample, where s = r.
  const r = optimalMixtureRatio(0.05);
  for (const k of [0.5, 0.8, 1.25, 2]) assert.ok(mixtureBoundary(r, 0.05) <= mixtureBoundary(r * k, 0.05) + 1e-3, `r×${k}`);
});

// ── Hard guardrails ───────────────────────────────────────────────────────────────────────────

test('hard guardrail: 2 % errors or bypasses → immediate rollback', () => {
  const control = arm(300, 15);
  const e = decide({ shoppers: 100, converted: 5, requests: 300, errors: 6, bypasses: 0 }, control, {}, T0, T0 + 5 * MIN);
  assert.equal(e.action, 'rollback');
  assert.match(e.reason, /hard guardrail: canary error rate 2\.00 %/);
  assert.equal(e.figures.guardrail.tripped, 'error');
  assert.equal(e.figures.canary.errorRate, 0.02);
  const b = decide({ shoppers: 100, converted: 5, requests: 300, errors: 0, bypasses: 6 }, control, {}, T0, T0 + 5 * MIN);
  assert.equal(b.action, 'rollback');
  assert.equal(b.figures.guardrail.tripped, 'bypass');
  // Exactly 1 % is not > 1 %.
  assert.equal(decide({ shoppers: 100, converted: 5, requests: 300, errors: 3 }, control, {}, T0, T0).action, 'continue');
  // The guardrail does not wait for min duration, min shoppers or the normal approximation.
  assert.equal(decide({ shoppers: 10, converted: 0, requests: 1000, errors: 20 }, arm(0, 0), {}, T0, T0).action, 'rollback');
  // And it beats a promotable canary.
  const big = { shoppers: 50_000, converted: 2600, requests: 150_000, errors: 1600, bypasses: 0 };
  assert.equal(decide(big, arm(50_000, 2500), {}, T0, T0 + 3 * DAY).action, 'rollback');
});

test('hard guardrail: under the request minimum → continue', () => {
  const d = decide({ shoppers: 3, converted: 0, requests: 3, errors: 1 }, arm(3, 0), {}, T0, T0 + MIN);
  assert.equal(d.action, 'continue');
  assert.equal(d.figures.guardrail.evaluated, false);
  const d2 = decide({ shoppers: 60, converted: 3, requests: 199, errors: 50 }, arm(60, 3), {}, T0, T0 + MIN);
  assert.equal(d2.action, 'continue');
  // The minimum is configurable.
  assert.equal(decide({ shoppers: 60, converted: 3, requests: 199, errors: 50 }, arm(60, 3), { minRequests: 100 }, T0, T0).action, 'rollback');
});

// ── Edge cases ────────────────────────────────────────────────────────────────────────────────

test('edge cases: zero shoppers, all converted, none converted, tiny counts; figures NaN-free', () => {
  const cases = [
    ['zero shoppers', arm(0, 0), arm(0, 0), /no shoppers yet/],
    ['empty canary', arm(0, 0), arm(5000, 250), /no shoppers yet/],
    ['none converted', arm(5000, 0), arm(5000, 0), /too few conversions/],
    ['all converted', arm(5000, 5000), arm(5000, 5000), /too few conversions/],
    ['tiny counts', arm(20, 0), arm(20, 1), /too few conversions/],
    ['D1 nulls', { shoppers: null, converted: null, requests: null, errors: null, bypasses: null }, {}, /no shoppers yet/],
  ];
  for (const [name, c, t, re] of cases) {
    const d = decide(c, t, {}, T0, T0 + 30 * DAY);
    assert.equal(d.action, 'continue', name);
    assert.match(d.reason, re, name);
    assertFinite(d.figures);
    assert.doesNotMatch(JSON.stringify(d), /NaN|Infinity/, name);
  }
  // All converted on both arms for a while, then a canary that stops converting: rolled back
  // (the Agresti–Caffo variance keeps 0 % and 100 % arms usable).
  const broken = decide(arm(5000, 0), arm(5000, 250), {}, T0, T0 + HOUR);
  assert.equal(broken.action, 'rollback', broken.reason);
  assertFinite(broken.figures);
  // Canary all converted vs control half: not worse → promotable after duration.
  const allConv = decide(arm(5000, 5000), arm(5000, 2500), {}, T0, T0 + 2 * DAY);
  assert.equal(allConv.action, 'promote', allConv.reason);
  assertFinite(allConv.figures);
  // Invalid data never acts.
  for (const [c, t] of [
    [{ shoppers: 10, converted: 11 }, arm(10, 1)],
    [{ shoppers: -1, converted: 0 }, arm(10, 1)],
    [{ shoppers: NaN, converted: 0 }, arm(10, 1)],
    [{ shoppers: '10', converted: 0 }, arm(10, 1)],
    [{ shoppers: 10, converted: 0, requests: 5, errors: 6 }, arm(10, 1)],
    [arm(10, 1), null],
  ]) {
    const d = decide(c, t, {}, T0, T0 + 30 * DAY);
    assert.equal(d.action, 'continue');
    assert.match(d.reason, /^invalid input: /);
    assertFinite(d.figures);
  }
  // Unknown start → never promoted; known numbers only in figures.
  const noStart = decide(arm(50_000, 2500), arm(50_000, 2500), {}, undefined, T0);
  assert.equal(noStart.action, 'continue');
  assert.equal(noStart.figures.elapsedMs, null);
  // A bad config is a deployment error: it throws.
  assert.throws(() => decide(arm(1, 0), arm(1, 0), { alpha: 0 }, T0, T0), RangeError);
  assert.throws(() => resolveConfig({ tuneShoppers: 0 }), RangeError);
});

test('figures carry every number used, and agree with the decision', () => {
  const d = decide(arm(12_000, 480), arm(12_000, 600), {}, T0, T0 + 2 * DAY);
  assert.equal(d.action, 'rollback');
  const f = d.figures;
  assert.equal(f.canary.shoppers, 12_000);
  assert.equal(f.control.conversionRate, 0.05);
  assert.ok(Math.abs(f.difference - (0.04 - 0.05)) < 1e-12);
  assert.ok(f.standardError > 0 && f.z < 0);
  assert.equal(f.mixture.r, optimalMixtureRatio(0.05));
  assert.ok(Math.abs(f.mixture.s - f.mixture.r * 12_000 / 10_000) < 1e-12);
  assert.ok(f.mixture.tau > 0);
  assert.ok(f.rollback.pValue <= 0.05 && f.rollback.upperBound < 0 && f.rollback.signal);
  assert.ok(Math.abs(f.rollback.upperBound - (f.difference + f.rollback.boundaryZ * f.standardError)) < 1e-12);
  assert.ok(f.promote.lowerBound < f.difference);
  assert.equal(f.config.alpha, 0.05);
  // p ≤ α exactly when the bound excludes the null, on a grid of outcomes.
  for (let xc = 300; xc <= 700; xc += 7) {
    const s = sequentialTest(arm(10_000, xc), arm(10_000, 500));
    assert.equal(s.rollback.signal, s.rollback.upperBound < 0, `xc=${xc}`);
    assert.equal(s.rollback.signal, s.rollback.pValue <= 0.05 + 1e-12, `xc=${xc}`);
    assert.equal(s.promote.nonInferior, s.promote.lowerBound > -0.01, `xc=${xc}`);
  }
  // A fixed τ and a relative margin are honoured and reported.
  const g = decide(arm(20_000, 4100), arm(20_000, 4000), { tau: 0.02, relativeMargin: 0.05 }, T0, T0 + 2 * DAY);
  assert.equal(g.figures.mixture.tauSource, 'config');
  assert.equal(g.figures.mixture.tau, 0.02);
  assert.ok(Math.abs(g.figures.promote.margin - 0.01) < 1e-12);
  assert.equal(g.figures.promote.marginKind, 'relative (plug-in)');
});

test('promotion waits for min shoppers and min duration', () => {
  // Clearly non-inferior data; only the gates differ.
  const c = arm(40_000, 2100), t = arm(40_000, 2000);
  assert.equal(decide(c, t, {}, T0, T0 + 23 * HOUR).action, 'continue');
  assert.match(decide(c, t, {}, T0, T0 + 23 * HOUR).reason, /running 23 h < 24 h/);
  assert.equal(decide(c, t, {}, T0, T0 + 24 * HOUR).action, 'promote');
  assert.equal(decide(c, t, { minShoppers: 50_000 }, T0, T0 + 48 * HOUR).action, 'continue');
  assert.equal(decide(c, t, { minDurationMs: 0, minShoppers: 0 }, T0, T0).action, 'promote');
});

// ── Simulations ───────────────────────────────────────────────────────────────────────────────

test('A/A: the always-valid test keeps false rollbacks ≤ alpha over 200 looks; the naive z-test does not', (t) => {
  const alpha = DEFAULTS.alpha;
  const settings = [
    { name: 'p=0.05, 100+100 per look', pc: 0.05, pt: 0.05, batch: [100, 100], seed: 1 },
    { name: 'p=0.20, 100+100 per look', pc: 0.2, pt: 0.2, batch: [100, 100], seed: 2 },
    { name: 'p=0.05, canary 10 % (50+450 per look)', pc: 0.05, pt: 0.05, batch: [50, 450], seed: 3 },
  ];
  for (const s of settings) {
    const rs = simulate({ ...s, looks: 200, sims: 1000, stopAtAction: false });
    const mixture = rate(rs, 'rollback'), naive = rate(rs, 'naive');
    t.diagnostic(`A/A ${s.name}, 200 looks to ${200 * s.batch[0]} canary shoppers, 1000 experiments: ` +
      `false rollback ${mixture.toFixed(3)} (mSPRT, α = ${alpha}) vs ${naive.toFixed(3)} (naive repeated one-sided z-test)`);
    assert.ok(mixture <= alpha, `${s.name}: mSPRT false-rollback rate ${mixture} > ${alpha}`);
    assert.ok(naive >= 3 * alpha, `${s.name}: naive rate ${naive} should be clearly inflated`);
    assert.ok(naive > 3 * mixture, `${s.name}: naive ${naive} vs mixture ${mixture}`);
  }
});

test('A/A over a longer horizon: 500 looks to 50,000 shoppers per arm', (t) => {
  // "However often it looks, forever": Ville's inequality has no horizon.  The crossing
  // probability grows with the horizon towards α (continuous paths reach α only in the limit),
  // never beyond.  For reference, the same looks on an exact Gaussian process (known variance,
  // 40,000 runs) cross with probability 0.023 by look 200, 0.031 by 500, 0.034 by 1000; this
  // binomial run's 1000 experiments carry a Monte Carlo standard error of ~0.006.
  // sequentialTest is decide()'s statistics without the gates.
  const rand = prng(4);
  const sims = 1000, looks = 500, b = 100;
  let ever = 0;
  for (let e = 0; e < sims; e++) {
    let n = 0, xc = 0, xt = 0;
    for (let k = 1; k <= looks; k++) {
      n += b;
      xc += binomial(rand, b, 0.05);
      xt += binomial(rand, b, 0.05);
      if (sequentialTest(arm(n, xc), arm(n, xt)).rollback.signal) { ever++; break; }
    }
  }
  t.diagnostic(`A/A p=0.05, ${looks} looks to ${looks * b} per arm, ${sims} experiments: false rollback ${(ever / sims).toFixed(3)}`);
  assert.ok(ever / sims <= DEFAULTS.alpha);
});

test('non-inferiority is always valid too: a canary exactly at the margin is rarely "shown non-inferior"', (t) => {
  // θ = −margin is the worst case of H0: θ ≤ −margin.  Count looks where the promote test
  // alone rejects (ignoring rollback priority and the gates): must stay ≤ alphaPromote.
  const rand = prng(7);
  const sims = 500, looks = 150, bc = 100;
  let ever = 0;
  for (let e = 0; e < sims; e++) {
    let n = 0, xc = 0, xt = 0;
    for (let k = 1; k <= looks; k++) {
      n += bc;
      xc += binomial(rand, bc, 0.04);
      xt += binomial(rand, bc, 0.05);
      if (sequentialTest(arm(n, xc), arm(n, xt)).promote.nonInferior) { ever++; break; }
    }
  }
  t.diagnostic(`canary 0.04 vs control 0.05 (margin 0.01), ${looks} looks to ${looks * bc} per arm, ${sims} experiments: ` +
    `ever shown non-inferior ${(ever / sims).toFixed(3)} (α = 0.05)`);
  assert.ok(ever / sims <= 0.05);
});

test('power: a worse canary is rolled back; an equal or better one is promoted after the gates', (t) => {
  const scenarios = [
    // worse
    { name: '0.05 → 0.04', pc: 0.04, pt: 0.05, batch: [100, 100], looks: 300, seed: 11, want: 'rollback' },
    { name: '0.20 → 0.17', pc: 0.17, pt: 0.2, batch: [100, 100], looks: 300, seed: 12, want: 'rollback' },
    // equal or better; 100 shoppers per arm per 5-minute look = 28,800 per arm per day
    { name: '0.05 = 0.05', pc: 0.05, pt: 0.05, batch: [100, 100], looks: 600, seed: 13, want: 'promote' },
    { name: '0.20 → 0.21', pc: 0.21, pt: 0.2, batch: [100, 100], looks: 600, seed: 14, want: 'promote' },
    { name: '0.20 = 0.20', pc: 0.2, pt: 0.2, batch: [100, 100], looks: 600, seed: 15, want: 'promote' },
    // a slower store: 20 per arm per look (5,760 per arm per day), so the statistics, not the
    // 24 h gate, decide when
    { name: '0.05 = 0.05, slow', pc: 0.05, pt: 0.05, batch: [20, 20], looks: 2000, seed: 16, want: 'promote' },
  ];
  for (const s of scenarios) {
    const rs = simulate({ ...s, sims: 300, stopAtAction: true });
    const got = rs.filter((r) => r[s.want] !== null);
    const wrong = rs.filter((r) => r[s.want === 'rollback' ? 'promote' : 'rollback'] !== null).length / rs.length;
    const frac = got.length / rs.length;
    const n = median(got.map((r) => r[s.want]));
    const hours = s.want === 'promote' ? median(got.map((r) => r.ms / HOUR)) : null;
    t.diagnostic(`${s.name}: ${s.want} in ${(100 * frac).toFixed(1)} % of 300 (cap ${s.looks * s.batch[0]} per arm), ` +
      `median ${n} shoppers per arm${hours === null ? '' : `, ${hours.toFixed(1)} h`}; opposite action ${(100 * wrong).toFixed(1)} %`);
    assert.ok(frac >= 0.8, `${s.name}: ${s.want} only in ${frac}`);
    if (s.want === 'promote') {
      for (const r of got) {
        assert.ok(r.ms >= DEFAULTS.minDurationMs, 'promoted before min duration');
        assert.ok(r.promote >= DEFAULTS.minShoppers, 'promoted before min shoppers');
      }
    }
    assert.ok(wrong <= 0.05, `${s.name}: wrong action in ${wrong}`);
  }
});

// ── Uplift ────────────────────────────────────────────────────────────────────────────────────

// ── The metric: conversion | unit-ctr | both ──────────────────────────────────────────────────

/** An arm with unit figures: n shoppers, x converted, v unit viewers, c of them clicked a unit. */
const unitsArm = (n, x, v, c, extra = {}) => arm(n, x, { unit_viewers: v, unit_clickers: c, ...extra });

test('metric: the default (conversion) ignores the unit figures; decide() is what it was without the setting', () => {
  const pairs = [[arm(12_000, 480), arm(12_000, 600)], [arm(40_000, 2100), arm(40_000, 2000)], [arm(3000, 900), arm(3000, 900)]];
  for (const [c, t] of pairs) {
    const plain = decide(c, t, {}, T0, T0 + 2 * DAY);
    const withUnits = decide({ ...c, unit_viewers: 100, unit_clickers: 1 }, { ...t, unit_viewers: 100, unit_clickers: 90 }, { metric: 'conversion' }, T0, T0 + 2 * DAY);
    assert.deepEqual(withUnits, plain);
    assert.equal(plain.figures.metric, undefined);
    assert.equal(plain.figures.config.metric, 'conversion');
  }
  assert.equal(DEFAULTS.metric, 'conversion');
  assert.throws(() => resolveConfig({ metric: 'ctr' }), /metric must be one of conversion, unit-ctr, both/);
});

test('metric unit-ctr: a canary whose unit CTR is clearly worse is rolled back though its conversion is equal', () => {
  // conversion 30 % in both arms; unit CTR 8 % (canary) vs 30 % (control) of 2,000 shoppers who viewed a unit
  const c = unitsArm(4000, 1200, 2000, 160), t = unitsArm(4000, 1200, 2000, 600);
  const conv = decide(c, t, {}, T0, T0 + 2 * HOUR);
  assert.equal(conv.action, 'continue', conv.reason);
  const d = decide(c, t, { metric: 'unit-ctr' }, T0, T0 + 2 * HOUR);
  assert.equal(d.action, 'rollback', d.reason);
  assert.match(d.reason, /^unit CTR: canary's unit CTR is worse than control's: canary 8\.00 % vs control 30\.00 %/);
  assert.equal(d.figures.metric, 'unit-ctr');
  assert.deepEqual([d.figures.canary.shoppers, d.figures.canary.converted, d.figures.control.converted], [2000, 160, 600]);
  assert.ok(Math.abs(d.figures.difference - (0.08 - 0.30)) < 1e-12);
  assert.ok(d.figures.rollback.upperBound < 0);
  assertFinite(d.figures);
  // the same sequential test as conversion's on the same counts (the figures, not the wording)
  const same = sequentialTest(arm(2000, 160), arm(2000, 600));
  assert.equal(d.figures.rollback.pValue, same.rollback.pValue);
  // a clearly better unit CTR with the gates met promotes; the gates count unit viewers
  const good = decide(unitsArm(4000, 1200, 2000, 700), unitsArm(4000, 1200, 2000, 600), { metric: 'unit-ctr' }, T0, T0 + 2 * DAY);
  assert.equal(good.action, 'promote', good.reason);
  const few = decide(unitsArm(4000, 1200, 900, 400), unitsArm(4000, 1200, 900, 300), { metric: 'unit-ctr' }, T0, T0 + 2 * DAY);
  assert.equal(few.action, 'continue');
  assert.match(few.reason, /shoppers who viewed a unit 900\/900 < 1000 per arm/);
  // no unit figures yet → continue; bad ones → continue naming them; the hard guardrail still applies
  assert.match(decide(arm(100, 10), arm(100, 10), { metric: 'unit-ctr' }, T0, T0).reason, /^unit CTR: no shoppers who viewed a unit yet/);
  for (const [bad, why] of [[{ unit_viewers: 5, unit_clickers: 6 }, /canary\.unit_clickers > canary\.unit_viewers/],
    [{ unit_viewers: -1 }, /canary\.unit_viewers is not a finite count/], [{ unit_clickers: NaN }, /canary\.unit_clickers is not a finite count/]]) {
    const r = decide({ ...arm(100, 10), ...bad }, arm(100, 10), { metric: 'unit-ctr' }, T0, T0);
    assert.equal(r.action, 'continue');
    assert.match(r.reason, why);
  }
  const hard = decide(unitsArm(400, 120, 400, 120, { errors: 30 }), unitsArm(400, 120, 400, 120), { metric: 'unit-ctr' }, T0, T0);
  assert.equal(hard.action, 'rollback');
  assert.match(hard.reason, /^hard guardrail: canary error rate/);
});

test('metric both: rollback when either metric is worse (each at alpha / 2); promote only when both are non-inferior', () => {
  const cfg = { metric: 'both' };
  const worseCtr = decide(unitsArm(4000, 1200, 2000, 160), unitsArm(4000, 1200, 2000, 600), cfg, T0, T0 + 2 * HOUR);
  assert.equal(worseCtr.action, 'rollback');
  assert.match(worseCtr.reason, /^unit CTR: canary's unit CTR is worse/);
  assert.equal(worseCtr.figures.metric, 'both');
  assert.equal(worseCtr.figures.unitCtr.rollback.alpha, 0.025);
  assert.equal(worseCtr.figures.conversion.rollback.alpha, 0.025);
  assert.equal(worseCtr.figures.conversion.promote.alpha, 0.05);
  const worseConv = decide(unitsArm(12_000, 480, 2000, 600), unitsArm(12_000, 600, 2000, 600), cfg, T0, T0 + 2 * DAY);
  assert.equal(worseConv.action, 'rollback');
  assert.match(worseConv.reason, /^conversion: canary converts worse than control/);
  // both fine → promote; one fine and one undecided → continue
  const fine = decide(unitsArm(40_000, 2100, 4000, 1300), unitsArm(40_000, 2000, 4000, 1200), cfg, T0, T0 + 2 * DAY);
  assert.equal(fine.action, 'promote', fine.reason);
  const half = decide(unitsArm(40_000, 2100, 1500, 450), unitsArm(40_000, 2000, 1500, 450), cfg, T0, T0 + 2 * DAY);
  assert.equal(decide(unitsArm(40_000, 2100, 1500, 450), unitsArm(40_000, 2000, 1500, 450), {}, T0, T0 + 2 * DAY).action, 'promote');
  assert.equal(half.action, 'continue');
  assert.match(half.reason, /^conversion: canary not worse .*; unit CTR: canary 30\.00 % vs control 30\.00 %/);
  assertFinite(fine.figures);
  // the hard guardrail is reported once
  const hard = decide(unitsArm(400, 120, 400, 120, { bypasses: 30 }), unitsArm(400, 120, 400, 120), cfg, T0, T0);
  assert.equal(hard.action, 'rollback');
  assert.match(hard.reason, /^hard guardrail: canary bypass rate [^;]*$/);
});

test('A/A on both metrics: false rollbacks ≤ alpha over 100 looks (Bonferroni over the two tests)', (t) => {
  const rand = prng(20260402);
  const sims = 400, looks = 100, batch = 100;
  let ever = 0, everConv = 0, everCtr = 0;
  for (let e = 0; e < sims; e++) {
    const a = { canary: { n: 0, x: 0, v: 0, c: 0 }, control: { n: 0, x: 0, v: 0, c: 0 } };
    let rolled = false, rc = false, ru = false;
    for (let k = 1; k <= looks; k++) {
      for (const s of Object.values(a)) {
        s.n += batch; s.x += binomial(rand, batch, 0.2);
        const viewed = binomial(rand, batch, 0.5);
        s.v += viewed; s.c += binomial(rand, viewed, 0.1);
      }
      const [c, ct] = [a.canary, a.control];
      const d = decide(unitsArm(c.n, c.x, c.v, c.c), unitsArm(ct.n, ct.x, ct.v, ct.c), { metric: 'both' }, T0, T0 + k * 5 * MIN);
      if (d.action === 'rollback') { rolled = true; rc ||= /^conversion:/.test(d.reason); ru ||= /unit CTR:/.test(d.reason); break; }
    }
    ever += rolled; everConv += rc; everCtr += ru;
  }
  t.diagnostic(`A/A (both): ${ever} of ${sims} runs ever rolled back (conversion ${everConv}, unit CTR ${everCtr}), rate ${(ever / sims).toFixed(3)} ≤ α = ${DEFAULTS.alpha}`);
  assert.ok(ever / sims <= DEFAULTS.alpha, `false rollback rate ${ever / sims}`);
});

test('uplift: absolute and relative difference over the holdout with fixed-sample intervals', () => {
  const u = uplift(arm(95_000, 5700), arm(5000, 250));
  assert.ok(Math.abs(u.absolute.estimate - 0.01) < 1e-12);
  assert.ok(u.absolute.lower < 0.01 && u.absolute.upper > 0.01);
  assert.ok(u.absolute.lower > 0, 'a 6 % vs 5 % difference on 5,000 holdout shoppers is significant');
  assert.ok(Math.abs(u.relative.estimate - 0.2) < 1e-12);
  assert.ok(u.relative.lower < 0.2 && u.relative.upper > 0.2 && u.relative.lower > 0);
  assert.equal(u.level, 0.95);
  assertFinite(u);
  // Wider at a higher level.
  const u99 = uplift(arm(95_000, 5700), arm(5000, 250), { level: 0.99 });
  assert.ok(u99.absolute.lower < u.absolute.lower && u99.absolute.upper > u.absolute.upper);
  // Coverage of the absolute interval (fixed sample): ~95 % over 2000 draws.
  const rand = prng(21);
  let covered = 0;
  for (let i = 0; i < 2000; i++) {
    const x = uplift(arm(2000, binomial(rand, 2000, 0.06)), arm(500, binomial(rand, 500, 0.05)));
    if (x.absolute.lower <= 0.01 && 0.01 <= x.absolute.upper) covered++;
  }
  assert.ok(covered / 2000 > 0.93 && covered / 2000 < 0.975, `coverage ${covered / 2000}`);
  // Edge cases: no holdout conversions → no relative figure; empty arms → nulls; never NaN.
  for (const [a, h] of [[arm(100, 5), arm(100, 0)], [arm(100, 0), arm(100, 3)], [arm(0, 0), arm(0, 0)],
    [arm(100, 100), arm(100, 100)], [arm(100, 0), arm(100, 0)]]) {
    const x = uplift(a, h);
    assertFinite(x);
    assert.doesNotMatch(JSON.stringify(x), /NaN|Infinity/);
  }
  assert.equal(uplift(arm(100, 5), arm(100, 0)).relative.estimate, null);
  assert.equal(uplift(arm(100, 0), arm(100, 3)).relative.estimate, -1);
  assert.equal(uplift(arm(0, 0), arm(100, 3)).absolute.estimate, null);
  // Revenue per shopper when both arms carry it.
  const r = uplift(arm(1000, 50, { revenue_sum: 5000, revenue_sumsq: 1_000_000 }),
    arm(1000, 40, { revenue_sum: 4000, revenue_sumsq: 800_000 }));
  assert.equal(r.revenue.armMean, 5);
  assert.equal(r.revenue.holdoutMean, 4);
  assert.ok(Math.abs(r.revenue.absolute.estimate - 1) < 1e-12);
  assert.ok(r.revenue.absolute.lower < 1 && r.revenue.absolute.upper > 1);
  assert.ok(Math.abs(r.revenue.relative.estimate - 0.25) < 1e-12);
  assert.equal(uplift(arm(1000, 50), arm(1000, 40)).revenue, null);
});
