// guardrails.js — the statistics of the model lifecycle: canary rollback / promotion and
// uplift over the holdout.  Pure functions: no imports, no I/O, no clock, no randomness.
//
//   decide(canary, control, config = {}, startedAt, now)
//     → { action: 'rollback'|'promote'|'continue', reason: string, figures: {...} }
//   uplift(arm, holdout, { level = 0.95 } = {})
//     → { arm, holdout, level, absolute: {estimate, lower, upper}, relative: {...}, revenue, method }
//   sequentialTest(canary, control, config)  → the always-valid part of decide()'s figures
//                                               (throws TypeError on invalid arms)
//   resolveConfig(config) → the config decide() uses (DEFAULTS filled in, checked)
//   mixtureLogLambda(z, s), mixtureBoundary(s, alpha), optimalMixtureRatio(alpha)
//   normCdf(x), logNormCdf(x), normQuantile(p)
//   DEFAULTS, METRICS (the values of config.metric)
//
// An arm is what the D1 aggregates hold for it since the canary started (SQLite's SUM over no
// rows is NULL: null/undefined count as 0):
//   { shoppers, converted, requests, errors, bypasses, revenue_sum?, revenue_sumsq?,
//     unit_viewers?, unit_clickers? }   (the unit fields: for config.metric 'unit-ctr' / 'both')
// shoppers: distinct shoppers exposed; converted: those with ≥ 1 success event attributed to
// the arm (so converted ≤ shoppers, a proportion); errors / bypasses: engine errors or traps and
// fail-open bypasses on the arm's requests.  Counts must be finite and ≥ 0, converted ≤ shoppers,
// errors and bypasses ≤ requests: anything else gives 'continue' with reason "invalid input: …"
// (bad data never promotes and never rolls back).  startedAt / now: epoch ms (or Dates).
//
// ── What decide() does, in order ────────────────────────────────────────────────────────────
// 1. Hard guardrail (at once, no statistics): once the canary has ≥ minRequests (200) requests,
//    errors/requests > maxErrorRate (1 %) or bypasses/requests > maxBypassRate (1 %) → rollback.
//    Below minRequests the guardrail is not evaluated (1 error in 3 requests is not a verdict;
//    3 errors in 200 is).  Count only engine-attributable bypasses (trap, budget, exception), not
//    explicit-sort / opt-out, which are normal, nor origin errors, which hit both arms alike.
// 2. Sequential test on the conversion proportion, shopper level (the unit of randomization),
//    θ = p_canary − p_control:
//      rollback  when H0: θ ≥ 0 is rejected (canary worse), one-sided, level alpha;
//      promote   when H0: θ ≤ −margin is rejected (non-inferiority, level alphaPromote = alpha)
//                AND both arms have ≥ minShoppers AND now − startedAt ≥ minDurationMs AND the
//                canary has ≥ minRequests requests (so step 1 has had its chance);
//      continue  otherwise.  Rollback is checked before promotion.
//    Both tests are always valid: the probability that a look EVER rolls back a canary that is
//    not worse (or ever promotes one worse by more than the margin) is ≤ alpha, however often
//    and for however long the cron looks, so they may be evaluated every 5 minutes forever.
//
// ── Method: mixture sequential probability ratio test (mSPRT), one-sided normal mixture ──────
// Normal approximation (Johari, Pekelis & Walsh; Optimizely's stats engine): with n_i shoppers
// and x_i conversions per arm, θ̂ = x_c/n_c − x_t/n_t, V = v_c + v_t with v_i = p̃_i(1 − p̃_i)/n_i
// and p̃_i = (x_i + 1)/(n_i + 2) (Agresti–Caffo: one success and one failure added for the
// VARIANCE only, so an arm at 0 % or 100 % still has a positive variance; θ̂ itself is raw).
// In information time I = 1/V the score S = θ̂/V is approximately a Brownian motion with drift θ.
// Mixing its likelihood ratio against θ = θ0 over a half-normal prior of scale τ on the
// alternative side gives the one-sided normal mixture (Robbins 1970; Howard et al. 2021; the
// reference implementation is confseq's OneSidedNormalMixture, with ρ = 1/τ²).  With
// z = (θ̂ − θ0)/√V and s = τ²/V, for the alternative θ > θ0:
//     log Λ = log 2 − ½·log(1 + s) + s·z²/(2(1 + s)) + log Φ(z·√(s/(1 + s)))
// and for θ < θ0 the same with −z.  Λ is a nonnegative supermartingale under every θ in the
// composite null (a mixture of likelihood ratios each with mean ≤ 1), so by Ville's inequality
// P(sup Λ ≥ 1/α) ≤ α: reject the first time Λ ≥ 1/α.  Reported:
//   pValue     = min(1, 1/Λ) at this look (the always-valid p-value is the running minimum of
//                these; decide() acts at the first crossing, so the current one is what matters);
//   upperBound / lowerBound: the one-sided always-valid confidence sequence for θ at level α
//                (θ̂ ± b·√V, b solving log Λ(b, s) = log(1/α)); rollback ⇔ upperBound < 0,
//                non-inferior ⇔ lowerBound > −margin.
// Mixture parameter: τ² = r·V·m/tuneShoppers, m = min(n_c, n_t), so s = r·m/tuneShoppers.  V·m
// is the per-shopper variance of θ̂ (constant while the traffic split is), so this is a fixed
// prior on the effect in standard-deviation units; r = 2L + log(1 + 2L), L = log(1/(2α)) makes
// the boundary (nearly) tightest when the smaller arm has tuneShoppers shoppers (Howard et al.
// 2021's two-sided choice taken at 2α, as confseq's OneSidedNormalMixture.best_rho does).
// config.tau (absolute, on θ) replaces this with a fixed τ.  Default tuneShoppers 10,000: in
// simulation a 0.05 → 0.04 drop is caught at a median of ~6,000 shoppers per arm, 0.20 → 0.17
// at ~2,800.  A larger value favours small effects found late; a smaller one, large effects early.
//
// ── Assumptions and what happens at the edges ───────────────────────────────────────────────
// * Shoppers are independent and each converts with the arm's probability; the arms come from a
//   fixed HMAC split, so the canary/control ratio is constant during a canary (the Brownian
//   approximation in information time needs that; a changed split needs a new canary).
// * `converted` should be settled: a shopper's outcome should not keep changing long after
//   exposure (count success events within a fixed window after first exposure, or within the
//   first session).  Both arms age alike, so there is no bias, but the martingale argument is
//   for outcomes that arrive with the shopper.
// * The normal approximation needs enough successes and failures: no sequential verdict until,
//   at the pooled rate, every arm expects ≥ minExpected (5) conversions and ≥ 5 non-conversions.
//   Tiny counts, zero shoppers, all or none converted → 'continue' with that reason.  Early on
//   s is small and the boundary very wide, so the plug-in variance matters little there; the
//   A/A simulations in tests/js/guardrails.test.mjs measure the real false-rollback rate:
//   0.021–0.026 at α = 0.05 over 200 looks to 20,000 shoppers per arm (0.31–0.35 for a naive
//   z-test repeated at each look), in line with an exact Gaussian process over the same looks
//   (0.023).  It creeps towards α as the horizon grows (Gaussian: 0.034 by 100,000), never past.
// * Margin: absolute on the conversion proportion (default 0.01 = one percentage point).  The
//   null hypothesis is then exact and needs no estimate; note that 0.01 is 20 % relative at a 5 %
//   baseline but 5 % at 20 %.  config.relativeMargin (e.g. 0.05) instead uses
//   margin = relativeMargin × observed control rate, a plug-in (approximate) margin.
// * Revenue (revenue_sum, revenue_sumsq) is reported, never decided on (heavy tails).
//
// ── Which metric (config.metric, default 'conversion') ─────────────────────────────────────────
// 'conversion': the above, on { shoppers, converted }, exactly as before the setting existed.
// 'unit-ctr': the same test on the shopper-level unit CTR, from the arm's optional
//   unit_viewers (shoppers who viewed a recommendation unit) and unit_clickers (of those, who
//   clicked an item of one): θ = CTR_canary − CTR_control, the same margin, minimum sample (in unit
//   viewers) and hard guardrail.  Its figures carry metric: 'unit-ctr' and reuse the conversion
//   names (canary.shoppers = unit viewers, converted = clickers, conversionRate = the unit CTR).
// 'both': each metric tested as above; rollback when either is shown worse, each at alpha / 2
//   (Bonferroni: a canary worse on neither is ever rolled back with probability ≤ alpha); promote
//   only when both are shown non-inferior, each at alphaPromote (an intersection-union test, level
//   alphaPromote with no correction).  Figures: { metric: 'both', conversion, unitCtr }.
//
// uplift(arm, holdout): fixed-sample intervals for the status page (not for decisions: viewed
// repeatedly they are not always valid).  Absolute: Newcombe's hybrid score interval (method
// 10, Wilson limits per arm; fine at 0 % and 100 %).  Relative (p_arm/p_holdout − 1): Katz log
// risk ratio, 0.5 added to the counts when an arm has no conversions; null when the holdout has
// none.  Revenue per shopper: Welch normal interval, relative by the delta method on log means.
//
// Every number in figures is finite or null (never NaN or ±Infinity), so it serializes as is.
//
// References
//   R. Johari, P. Koomen, L. Pekelis, D. Walsh, "Always valid inference: continuous monitoring of
//     A/B tests", Operations Research 70(3), 2022 (arXiv:1512.04922; "Peeking at A/B tests",
//     KDD 2017) — the mSPRT and its normal approximation for two proportions.
//   S. R. Howard, A. Ramdas, J. McAuliffe, J. Sekhon, "Time-uniform, nonparametric,
//     nonasymptotic confidence sequences", Annals of Statistics 49(2), 2021 — one-sided normal
//     mixture, tuning ρ; reference implementation: github.com/gostevehoward/confseq.
//   H. Robbins, "Statistical methods related to the law of the iterated logarithm", Ann. Math.
//     Statist. 41, 1970;  J. Ville, "Étude critique de la notion de collectif", 1939.
//   A. Agresti, B. Caffo, "Simple and effective confidence intervals for proportions and
//     differences of proportions…", The American Statistician 54(4), 2000.
//   R. G. Newcombe, "Interval estimation for the difference between independent proportions",
//     Statistics in Medicine 17, 1998;  D. Katz et al., Biometrics 34, 1978 (log risk ratio).

const HOUR_MS = 3_600_000;

export const DEFAULTS = Object.freeze({
  alpha: 0.05,              // false-rollback rate (canary not worse, rolled back), always valid
  alphaPromote: null,       // false-promotion rate (canary worse by > margin, promoted); null = alpha
  margin: 0.01,             // non-inferiority margin, absolute on the conversion proportion
  relativeMargin: null,     // e.g. 0.05: margin = 0.05 × control rate (plug-in), overrides margin
  minShoppers: 1000,        // per arm, before promotion
  minDurationMs: 24 * HOUR_MS,
  maxErrorRate: 0.01,       // hard guardrail on canary errors/requests
  maxBypassRate: 0.01,      // hard guardrail on canary bypasses/requests
  minRequests: 200,         // canary requests before the hard guardrail is evaluated (and promotion)
  tuneShoppers: 10_000,     // the mixture is tightest when the smaller arm has this many shoppers
  tau: null,                // fixed mixture scale on θ instead (absolute); null = from tuneShoppers
  minExpected: 5,           // expected conversions and non-conversions per arm (pooled) for a verdict
  metric: 'conversion',     // what the sequential test judges: 'conversion' | 'unit-ctr' | 'both'
});

/** The metrics decide() can judge a canary on (config.metric). */
export const METRICS = Object.freeze(['conversion', 'unit-ctr', 'both']);

// ── Normal distribution ───────────────────────────────────────────────────────────────────────

const LN2 = Math.LN2;
const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/** log erfc(x) for x ≥ 0 (Numerical Recipes' erfcc, fractional error < 1.2e-7; never underflows). */
function logErfcPos(x) {
  const t = 1 / (1 + 0.5 * x);
  return Math.log(t) - x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
}

/** log Φ(x), accurate in both tails. */
export function logNormCdf(x) {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -LN2 + logErfcPos(-x / Math.SQRT2);
  return Math.log1p(-0.5 * Math.exp(logErfcPos(x / Math.SQRT2)));
}

/** Φ(x), the standard normal distribution function. */
export function normCdf(x) {
  return Math.exp(logNormCdf(x));
}

/** Φ⁻¹(p) (Acklam's rational approximation, relative error < 1.2e-9). */
export function normQuantile(p) {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
    -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572];
  const c = [-7.784894002430293e-03, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-03, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo || p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(p < lo ? p : 1 - p));
    const x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < lo ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

// ── The one-sided normal mixture ──────────────────────────────────────────────────────────────

/**
 * log Λ of the one-sided (half-normal) mixture for the alternative "θ above θ0", given the
 * standardized statistic z = (θ̂ − θ0)/√V and s = τ²/V.  Increasing and convex in z.
 */
export function mixtureLogLambda(z, s) {
  if (!(s > 0)) return 0;               // no information yet: Λ = 1
  const c = Math.sqrt(s / (1 + s));
  return LN2 - 0.5 * Math.log1p(s) + (s * z * z) / (2 * (1 + s)) + logNormCdf(z * c);
}

/**
 * The z at which mixtureLogLambda(z, s) = log(1/alpha): the always-valid one-sided critical
 * value at this look.  Infinity when s = 0.  Newton on an increasing convex function, started
 * left of the root: one step lands right of it, then it descends monotonically.
 */
export function mixtureBoundary(s, alpha) {
  if (!(s > 0)) return Infinity;
  const target = Math.log(1 / alpha);
  const c = Math.sqrt(s / (1 + s));
  const k = s / (1 + s);
  // Without the Φ factor (≤ 1) the root is z0, so the root is ≥ z0.
  let z = Math.sqrt((2 * (1 + s) / s) * Math.max(0, target - LN2 + 0.5 * Math.log1p(s)));
  for (let i = 0; i < 100; i++) {
    const f = mixtureLogLambda(z, s) - target;
    const y = z * c;
    const mills = Math.exp(-0.5 * y * y - HALF_LN_2PI - logNormCdf(y)); // φ(y)/Φ(y)
    const df = k * z + c * mills;
    const step = f / df;
    z -= step;
    if (Math.abs(step) <= 1e-13 * (1 + Math.abs(z))) break;
  }
  return z;
}

/** r = τ²/V at the tuning sample that makes the one-sided boundary tightest there (Howard et al.). */
export function optimalMixtureRatio(alpha) {
  const l2 = 2 * Math.log(1 / (2 * alpha));
  return l2 + Math.log(1 + l2);
}

// ── Inputs ────────────────────────────────────────────────────────────────────────────────────

const COUNT_FIELDS = ['shoppers', 'converted', 'requests', 'errors', 'bypasses'];

/** Normalizes one arm; returns { arm } or { error }. */
function readArm(raw, name) {
  if (raw == null || typeof raw !== 'object') return { error: `${name} is not an object` };
  const arm = {};
  for (const f of COUNT_FIELDS) {
    const v = raw[f] ?? 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      return { error: `${name}.${f} is not a finite count ≥ 0 (${String(v)})` };
    }
    arm[f] = v;
  }
  if (arm.converted > arm.shoppers) return { error: `${name}.converted > ${name}.shoppers` };
  if (arm.errors > arm.requests) return { error: `${name}.errors > ${name}.requests` };
  if (arm.bypasses > arm.requests) return { error: `${name}.bypasses > ${name}.requests` };
  const rs = raw.revenue_sum, rq = raw.revenue_sumsq;
  arm.revenueSum = typeof rs === 'number' && Number.isFinite(rs) ? rs : null;
  arm.revenueSumsq = typeof rq === 'number' && Number.isFinite(rq) && rq >= 0 ? rq : null;
  return { arm };
}

/** The config decide() uses: DEFAULTS filled in; throws RangeError on a value out of range. */
export function resolveConfig(config = {}) {
  const c = { ...DEFAULTS };
  for (const [k, v] of Object.entries(config ?? {})) if (v !== undefined && k in DEFAULTS) c[k] = v;
  c.alphaPromote ??= c.alpha;
  const prob = (k) => {
    if (!(typeof c[k] === 'number' && c[k] > 0 && c[k] < 0.5)) throw new RangeError(`${k} must be in (0, 0.5): ${c[k]}`);
  };
  const nonneg = (k) => {
    if (!(typeof c[k] === 'number' && Number.isFinite(c[k]) && c[k] >= 0)) throw new RangeError(`${k} must be a finite number ≥ 0: ${c[k]}`);
  };
  prob('alpha'); prob('alphaPromote');
  for (const k of ['margin', 'minShoppers', 'minDurationMs', 'maxErrorRate', 'maxBypassRate', 'minRequests', 'minExpected']) nonneg(k);
  if (!(typeof c.tuneShoppers === 'number' && c.tuneShoppers > 0 && Number.isFinite(c.tuneShoppers))) {
    throw new RangeError(`tuneShoppers must be a finite number > 0: ${c.tuneShoppers}`);
  }
  if (c.tau !== null && !(typeof c.tau === 'number' && c.tau > 0 && Number.isFinite(c.tau))) {
    throw new RangeError(`tau must be null or a finite number > 0: ${c.tau}`);
  }
  if (c.relativeMargin !== null && !(typeof c.relativeMargin === 'number' && c.relativeMargin >= 0 && c.relativeMargin < 1)) {
    throw new RangeError(`relativeMargin must be null or in [0, 1): ${c.relativeMargin}`);
  }
  if (!METRICS.includes(c.metric)) throw new RangeError(`metric must be one of ${METRICS.join(', ')}: ${c.metric}`);
  return c;
}

// ── Helpers ───────────────────────────────────────────────────────────────────────────────────

/** a/b, or null when b is 0. */
const ratio = (a, b) => (b > 0 ? a / b : null);

/**
 * Replaces NaN and ±Infinity by null, deeply and in place (the objects are this module's own,
 * freshly built), so they never reach the audit log.  Returns v.
 */
function clean(v) {
  if (v && typeof v === 'object') {
    for (const k in v) {
      const x = v[k];
      if (typeof x === 'number') { if (!Number.isFinite(x)) v[k] = null; }
      else if (x && typeof x === 'object') clean(x);
    }
  }
  return v;
}

const pct = (x, digits = 2) => (x == null ? 'n/a' : `${(100 * x).toFixed(digits)} %`);
const num = (x, digits = 4) => (x == null || !Number.isFinite(x) ? 'n/a' : Number(x.toPrecision(digits)).toString());

function armFigures(a) {
  const mean = a.revenueSum != null ? ratio(a.revenueSum, a.shoppers) : null;
  return {
    shoppers: a.shoppers, converted: a.converted, conversionRate: ratio(a.converted, a.shoppers),
    requests: a.requests, errors: a.errors, errorRate: ratio(a.errors, a.requests),
    bypasses: a.bypasses, bypassRate: ratio(a.bypasses, a.requests),
    revenuePerShopper: mean,
  };
}

// ── The sequential test ───────────────────────────────────────────────────────────────────────

/**
 * The always-valid comparison of conversion, canary vs control (arms as decide() takes them,
 * config resolved or not).  Returns figures; `rollback` / `nonInferior` say whether each test
 * rejects at this look (both false while the normal approximation is not yet trusted).
 */
export function sequentialTest(canaryRaw, controlRaw, config = {}) {
  const cfg = resolveConfig(config);
  const ca = readArm(canaryRaw, 'canary'), co = readArm(controlRaw, 'control');
  if (ca.error || co.error) throw new TypeError(ca.error ?? co.error);
  return clean(test(ca.arm, co.arm, cfg));
}

function test(can, con, cfg) {
  const nc = can.shoppers, nt = con.shoppers, xc = can.converted, xt = con.converted;
  const pc = ratio(xc, nc), pt = ratio(xt, nt);
  const m = Math.min(nc, nt);
  const pooled = ratio(xc + xt, nc + nt);
  const minExpectedCount = pooled == null ? 0 : Math.min(m * pooled, m * (1 - pooled));
  const approxOk = m > 0 && minExpectedCount >= cfg.minExpected && minExpectedCount > 0;

  const margin = cfg.relativeMargin != null ? (pt == null ? null : cfg.relativeMargin * pt) : cfg.margin;
  const r = optimalMixtureRatio(cfg.alpha);
  const out = {
    difference: null, standardError: null, z: null,
    mixture: {
      kind: 'one-sided normal mixture (half-normal prior on the effect)',
      r, tuneShoppers: cfg.tau == null ? cfg.tuneShoppers : null, tau: cfg.tau, s: 0,
      tauSource: cfg.tau == null ? 'tuneShoppers' : 'config',
    },
    normalApprox: { pooledRate: pooled, minExpectedCount, required: cfg.minExpected, ok: approxOk },
    rollback: {
      alpha: cfg.alpha, threshold: 1 / cfg.alpha, logLambda: 0, pValue: 1, boundaryZ: null,
      upperBound: null, signal: false,
    },
    promote: {
      alpha: cfg.alphaPromote, threshold: 1 / cfg.alphaPromote,
      margin, marginKind: cfg.relativeMargin != null ? 'relative (plug-in)' : 'absolute',
      relativeMargin: cfg.relativeMargin,
      z: null, logLambda: 0, pValue: 1, boundaryZ: null, lowerBound: null, nonInferior: false,
    },
  };
  if (!(m > 0)) return out;

  const adj = (x, n) => { const p = (x + 1) / (n + 2); return (p * (1 - p)) / n; };
  const V = adj(xc, nc) + adj(xt, nt);
  const se = Math.sqrt(V);
  const diff = pc - pt;
  const z = diff / se;
  const tauSq = cfg.tau != null ? cfg.tau * cfg.tau : (r * V * m) / cfg.tuneShoppers;
  const s = tauSq / V;
  out.difference = diff;
  out.standardError = se;
  out.z = z;
  out.mixture.s = s;
  out.mixture.tau = Math.sqrt(tauSq);

  // Rollback: H0 θ ≥ 0 against θ < 0 (the statistic is −z for the "above" form).
  const lr = mixtureLogLambda(-z, s);
  const bR = mixtureBoundary(s, cfg.alpha);
  out.rollback.logLambda = lr;
  out.rollback.pValue = Math.min(1, Math.exp(-lr));
  out.rollback.boundaryZ = bR;
  out.rollback.upperBound = diff + bR * se;
  out.rollback.signal = approxOk && lr >= Math.log(1 / cfg.alpha);

  // Non-inferiority: H0 θ ≤ −margin against θ > −margin.
  if (margin != null) {
    const zNI = (diff + margin) / se;
    const ln = mixtureLogLambda(zNI, s);
    const bP = mixtureBoundary(s, cfg.alphaPromote);
    out.promote.z = zNI;
    out.promote.logLambda = ln;
    out.promote.pValue = Math.min(1, Math.exp(-ln));
    out.promote.boundaryZ = bP;
    out.promote.lowerBound = diff - bP * se;
    out.promote.nonInferior = approxOk && ln >= Math.log(1 / cfg.alphaPromote);
  }
  return out;
}

// ── decide ────────────────────────────────────────────────────────────────────────────────────

// The wording of each metric's verdicts (conversion's is the original, unchanged).
const METRIC_TEXT = {
  conversion: { worse: 'canary converts worse than control', events: 'conversions', shoppers: 'shoppers' },
  'unit-ctr': { worse: 'canary\'s unit CTR is worse than control\'s', events: 'unit clicks', shoppers: 'shoppers who viewed a unit' },
};

/** The unit-CTR view of an arm: unit_viewers as shoppers, unit_clickers as converted; { arm } or { error }. */
function unitArm(raw, arm, name) {
  const v = raw.unit_viewers ?? 0, c = raw.unit_clickers ?? 0;
  for (const [f, x] of [['unit_viewers', v], ['unit_clickers', c]]) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) return { error: `${name}.${f} is not a finite count ≥ 0 (${String(x)})` };
  }
  if (c > v) return { error: `${name}.unit_clickers > ${name}.unit_viewers` };
  return { arm: { ...arm, shoppers: v, converted: c, revenueSum: null, revenueSumsq: null } };
}

/**
 * One look of the lifecycle cron.  See the header for the rules.  Never throws on data; throws
 * RangeError only for an invalid config (a deployment error, not a shopper's).
 */
export function decide(canaryRaw, controlRaw, config = {}, startedAt, now) {
  const cfg = resolveConfig(config);
  const t0 = startedAt instanceof Date ? startedAt.getTime() : startedAt;
  const t1 = now instanceof Date ? now.getTime() : now;
  const elapsedMs = typeof t0 === 'number' && typeof t1 === 'number' && Number.isFinite(t1 - t0) ? t1 - t0 : null;
  const base = {
    elapsedMs, minDurationMs: cfg.minDurationMs, minShoppers: cfg.minShoppers,
    config: { ...cfg },
  };
  const done = (action, reason, figures) => ({ action, reason, figures: clean({ ...figures, ...base }) });

  const ca = readArm(canaryRaw, 'canary'), co = readArm(controlRaw, 'control');
  if (ca.error || co.error) return done('continue', `invalid input: ${ca.error ?? co.error}`, {});
  if (cfg.metric === 'conversion') return decideOn('conversion', ca.arm, co.arm, cfg, elapsedMs, done);
  const ua = unitArm(canaryRaw, ca.arm, 'canary'), uo = unitArm(controlRaw, co.arm, 'control');
  if (ua.error || uo.error) return done('continue', `invalid input: ${ua.error ?? uo.error}`, { metric: cfg.metric });
  const part = (action, reason, figures) => ({ action, reason, figures });
  if (cfg.metric === 'unit-ctr') {
    const d = decideOn('unit-ctr', ua.arm, uo.arm, cfg, elapsedMs, part);
    return done(d.action, d.figures.guardrail?.tripped ? d.reason : `unit CTR: ${d.reason}`, d.figures);
  }

  // both: roll back when either metric is shown worse, each tested at alpha / 2 (so a canary worse on
  // neither is rolled back with probability ≤ alpha); promote only when both are shown non-inferior,
  // each at alphaPromote (an intersection-union test: its level is alphaPromote without a correction)
  const half = { ...cfg, alpha: cfg.alpha / 2 };
  const c = decideOn('conversion', ca.arm, co.arm, half, elapsedMs, part);
  const u = decideOn('unit-ctr', ua.arm, uo.arm, half, elapsedMs, part);
  const figures = { metric: 'both', conversion: c.figures, unitCtr: u.figures };
  const say = (d, name) => `${name}: ${d.reason}`;
  if (c.figures.guardrail?.tripped) return done('rollback', c.reason, figures); // the same hard limit for both
  if (c.action === 'rollback' || u.action === 'rollback') {
    const why = [c.action === 'rollback' ? say(c, 'conversion') : null, u.action === 'rollback' ? say(u, 'unit CTR') : null];
    return done('rollback', why.filter(Boolean).join('; '), figures);
  }
  const action = c.action === 'promote' && u.action === 'promote' ? 'promote' : 'continue';
  return done(action, `${say(c, 'conversion')}; ${say(u, 'unit CTR')}`, figures);
}

/** decide() on one metric: arms normalized (for unit-ctr, unitArm's), cfg resolved. */
function decideOn(metric, can, con, cfg, elapsedMs, done) {
  const text = METRIC_TEXT[metric];
  const tag = metric === 'conversion' ? {} : { metric };
  const canary = armFigures(can), control = armFigures(con);

  // 1. Hard guardrail.
  const guardrail = {
    minRequests: cfg.minRequests, maxErrorRate: cfg.maxErrorRate, maxBypassRate: cfg.maxBypassRate,
    evaluated: can.requests >= cfg.minRequests && can.requests > 0, tripped: null,
  };
  if (guardrail.evaluated) {
    const er = can.errors / can.requests, br = can.bypasses / can.requests;
    const trip = er > cfg.maxErrorRate ? ['error', er, cfg.maxErrorRate, can.errors]
      : br > cfg.maxBypassRate ? ['bypass', br, cfg.maxBypassRate, can.bypasses] : null;
    if (trip) {
      guardrail.tripped = trip[0];
      return done('rollback',
        `hard guardrail: canary ${trip[0]} rate ${pct(trip[1])} (${trip[3]} of ${can.requests} requests) > ${pct(trip[2])}`,
        { ...tag, canary, control, guardrail });
    }
  }

  // 2. Sequential test.
  const seq = test(can, con, cfg);
  const figures = { ...tag, canary, control, guardrail, ...seq };
  const m = Math.min(can.shoppers, con.shoppers);
  if (!(m > 0)) {
    return done('continue', `no ${text.shoppers} yet (canary ${can.shoppers}, control ${con.shoppers})`, figures);
  }
  if (!seq.normalApprox.ok) {
    return done('continue',
      `too few ${text.events} for the normal approximation: expected ${num(seq.normalApprox.minExpectedCount, 3)} ` +
      `(pooled ${pct(seq.normalApprox.pooledRate)} of ${m} ${text.shoppers}) < ${cfg.minExpected} per arm`, figures);
  }
  const diffText = `canary ${pct(canary.conversionRate)} vs control ${pct(control.conversionRate)} ` +
    `(difference ${num(100 * seq.difference, 3)} pp)`;
  if (seq.rollback.signal) {
    return done('rollback',
      `${text.worse}: ${diffText}; always-valid p = ${num(seq.rollback.pValue, 3)} ≤ α = ${cfg.alpha}, ` +
      `upper bound ${num(100 * seq.rollback.upperBound, 3)} pp < 0`, figures);
  }

  const missing = [];
  if (!seq.promote.nonInferior) {
    missing.push(`non-inferiority not shown (lower bound ${num(100 * seq.promote.lowerBound, 3)} pp, ` +
      `needs > −${num(100 * seq.promote.margin, 3)} pp; p = ${num(seq.promote.pValue, 3)})`);
  }
  if (can.shoppers < cfg.minShoppers || con.shoppers < cfg.minShoppers) {
    missing.push(`${text.shoppers} ${can.shoppers}/${con.shoppers} < ${cfg.minShoppers} per arm`);
  }
  if (elapsedMs == null || elapsedMs < cfg.minDurationMs) {
    missing.push(`running ${elapsedMs == null ? 'for an unknown time' : `${num(elapsedMs / HOUR_MS, 3)} h`} < ${num(cfg.minDurationMs / HOUR_MS, 3)} h`);
  }
  if (can.requests < cfg.minRequests) missing.push(`canary requests ${can.requests} < ${cfg.minRequests}`);
  if (missing.length === 0) {
    return done('promote',
      `canary not worse than control by more than ${num(100 * seq.promote.margin, 3)} pp: ${diffText}; ` +
      `always-valid p = ${num(seq.promote.pValue, 3)} ≤ α = ${cfg.alphaPromote}, lower bound ${num(100 * seq.promote.lowerBound, 3)} pp; ` +
      `${can.shoppers}/${con.shoppers} ${text.shoppers}, ${num(elapsedMs / HOUR_MS, 3)} h`, figures);
  }
  return done('continue', `${diffText}; ${missing.join('; ')}`, figures);
}

// ── uplift ────────────────────────────────────────────────────────────────────────────────────

function wilson(x, n, z) {
  const p = x / n, z2 = z * z, den = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

function revenueStats(a) {
  if (a.revenueSum == null || a.revenueSumsq == null || a.shoppers < 2) return null;
  const n = a.shoppers, mean = a.revenueSum / n;
  const variance = Math.max(0, (a.revenueSumsq - n * mean * mean) / (n - 1));
  return { n, mean, variance };
}

/**
 * Uplift of an arm (control or canary) over the holdout, for the status page: conversion rate
 * difference (absolute, Newcombe) and ratio − 1 (relative, Katz), and revenue per shopper when
 * both arms carry revenue_sum / revenue_sumsq.  Fixed-sample intervals at `level`.
 */
export function uplift(armRaw, holdoutRaw, { level = 0.95 } = {}) {
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1): ${level}`);
  const A = readArm(armRaw, 'arm'), H = readArm(holdoutRaw, 'holdout');
  const method = 'absolute: Newcombe hybrid score (Wilson) interval; relative: Katz log risk ratio; revenue: Welch normal, delta method on log means';
  const empty = { estimate: null, lower: null, upper: null };
  if (A.error || H.error) {
    return clean({ error: A.error ?? H.error, level, absolute: { ...empty }, relative: { ...empty }, revenue: null, method });
  }
  const a = A.arm, h = H.arm;
  const z = normQuantile(0.5 + level / 2);
  const res = {
    arm: { shoppers: a.shoppers, converted: a.converted, rate: ratio(a.converted, a.shoppers) },
    holdout: { shoppers: h.shoppers, converted: h.converted, rate: ratio(h.converted, h.shoppers) },
    level, absolute: { ...empty }, relative: { ...empty }, revenue: null, method,
  };
  if (a.shoppers > 0 && h.shoppers > 0) {
    const p1 = a.converted / a.shoppers, p2 = h.converted / h.shoppers;
    const [l1, u1] = wilson(a.converted, a.shoppers, z), [l2, u2] = wilson(h.converted, h.shoppers, z);
    const d = p1 - p2;
    res.absolute = {
      estimate: d,
      lower: d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
      upper: d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    };
    if (h.converted > 0) {
      const zeroCell = a.converted === 0;
      const x1 = a.converted + (zeroCell ? 0.5 : 0), n1 = a.shoppers + (zeroCell ? 0.5 : 0);
      const x2 = h.converted + (zeroCell ? 0.5 : 0), n2 = h.shoppers + (zeroCell ? 0.5 : 0);
      const se = Math.sqrt(Math.max(0, 1 / x1 - 1 / n1 + 1 / x2 - 1 / n2));
      const logRR = Math.log((x1 / n1) / (x2 / n2));
      res.relative = {
        estimate: p1 / p2 - 1,
        lower: Math.exp(logRR - z * se) - 1,
        upper: Math.exp(logRR + z * se) - 1,
      };
    }
  }
  const ra = revenueStats(a), rh = revenueStats(h);
  if (ra && rh) {
    const d = ra.mean - rh.mean;
    const se = Math.sqrt(ra.variance / ra.n + rh.variance / rh.n);
    const rev = {
      armMean: ra.mean, holdoutMean: rh.mean,
      absolute: { estimate: d, lower: d - z * se, upper: d + z * se },
      relative: { ...empty },
    };
    if (ra.mean > 0 && rh.mean > 0) {
      const l = Math.log(ra.mean / rh.mean);
      const sl = Math.sqrt(ra.variance / (ra.n * ra.mean ** 2) + rh.variance / (rh.n * rh.mean ** 2));
      rev.relative = { estimate: ra.mean / rh.mean - 1, lower: Math.exp(l - z * sl) - 1, upper: Math.exp(l + z * sl) - 1 };
    }
    res.revenue = rev;
  }
  return clean(res);
}
